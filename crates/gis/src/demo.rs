//! Demo grids cut from a real district boundary, so a demo installation shows a plausible map:
//! [`partition`] cuts the district into as many contiguous cells as there are grids and hands
//! each community a run of neighbouring cells. [`district_from_file`] reads the district
//! boundaries file (a FeatureCollection of MultiPolygons with `code`/`name`).

use std::path::Path;

use geo::orient::{Direction, Orient};
use geo::{Area, BooleanOps, BoundingRect, MultiPolygon, Rect};

use crate::error::GisError;
use crate::parse::{Limits, parse_with};

/// Pieces with a planar area below this many square degrees (about 0.01 m²) are float dust
/// from clipping, not cells.
const DUST_DEG2: f64 = 1e-12;

/// The boundary of division `code` in a FeatureCollection file such as
/// `shared/data/geo/beijing_districts.geojson`. The whole file is validated.
pub fn district_from_file(
    path: impl AsRef<Path>,
    code: &str,
) -> Result<MultiPolygon<f64>, GisError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| GisError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // A boundaries file may be bigger than any grid upload; the vertex limit still applies.
    let limits = Limits {
        max_bytes: text.len().max(Limits::default().max_bytes),
        ..Limits::default()
    };
    let shapes = parse_with(&text, &limits).map_err(GisError::Invalid)?;
    shapes
        .into_iter()
        .find(|s| s.code == code)
        .map(|s| s.polygon)
        .ok_or_else(|| GisError::DistrictNotFound(code.to_string()))
}

/// One lattice piece (or several merged) on its way to becoming a cell.
struct Piece {
    polygon: MultiPolygon<f64>,
    /// Lattice cells `(row, col)` it covers, to find its neighbours.
    cells: Vec<(usize, usize)>,
    /// Position in the serpentine walk: row, then column in the row's direction, then the
    /// piece's number within its cell (a concave boundary can split one cell in two).
    order: (usize, usize, usize),
    area: f64,
}

/// Cut `district` into `Σ count` cells and give them out as `(community code, grid ordinal from
/// 1, cell)`, communities in the order given, each taking consecutive cells.
///
/// A lattice of roughly square cells (in metres) over the district's bounding box is clipped to
/// the district; the lattice is made just fine enough to give at least as many pieces as grids,
/// then the smallest pieces are merged into a neighbour they share an edge with until the counts
/// match. Cells are ordered in a serpentine walk (west to east along the northernmost row, back
/// east to west along the next), so consecutive cells — one community's grids — are normally
/// neighbours (not always: a concave district can interrupt a row). The cells do not overlap and
/// cover the district up to float noise. Deterministic. Empty if the district has no area or no
/// grids are asked for; fewer cells than asked only if the district is too small to cut.
pub fn partition(
    district: &MultiPolygon<f64>,
    groups: &[(String, usize)],
) -> Vec<(String, usize, MultiPolygon<f64>)> {
    let total: usize = groups.iter().map(|g| g.1).sum();
    let district = district.orient(Direction::Default);
    let (Some(bounds), true) = (district.bounding_rect(), total > 0) else {
        return Vec::new();
    };
    let area = district.unsigned_area();
    if area <= DUST_DEG2 {
        return Vec::new();
    }
    // A degree of longitude is cos(lat) as long as a degree of latitude.
    let shrink = bounds.center().y.to_radians().cos().max(0.1);
    // Side (in degrees of latitude) of a square cell when the district is split `total` ways;
    // start a little coarser, since boundary cells only count partly.
    let mut side = (area * shrink / total as f64).sqrt() * 1.2;
    let mut pieces = Vec::new();
    for _ in 0..200 {
        pieces = cut(&district, bounds, side, shrink);
        if pieces.len() >= total {
            break;
        }
        side *= 0.97;
    }
    merge(&mut pieces, total);
    pieces.sort_by_key(|p| p.order);
    let mut cells = pieces.into_iter().map(|p| p.polygon);
    let mut out = Vec::with_capacity(total);
    for (code, count) in groups {
        for ordinal in 1..=*count {
            let Some(cell) = cells.next() else {
                return out;
            };
            out.push((code.clone(), ordinal, cell));
        }
    }
    out
}

/// The district clipped to a lattice of cells `side` degrees of latitude tall that exactly
/// covers `bounds` (so every clip shares the district's bounding box, and i_overlay snaps the
/// shared lattice lines of neighbouring cells identically).
fn cut(district: &MultiPolygon<f64>, bounds: Rect<f64>, side: f64, shrink: f64) -> Vec<Piece> {
    let cols = ((bounds.width() * shrink / side).ceil() as usize).max(1);
    let rows = ((bounds.height() / side).ceil() as usize).max(1);
    let line = |lo: f64, hi: f64, n: usize, i: usize| {
        if i == n {
            hi
        } else {
            lo + (hi - lo) * i as f64 / n as f64
        }
    };
    let xs: Vec<f64> = (0..=cols)
        .map(|i| line(bounds.min().x, bounds.max().x, cols, i))
        .collect();
    // Row 0 is the northernmost.
    let ys: Vec<f64> = (0..=rows)
        .map(|i| line(bounds.max().y, bounds.min().y, rows, i))
        .collect();
    let mut out = Vec::new();
    for row in 0..rows {
        for col in 0..cols {
            let cell = Rect::new((xs[col], ys[row + 1]), (xs[col + 1], ys[row])).to_polygon();
            let walk = if row % 2 == 0 { col } else { cols - 1 - col };
            let clipped = district.intersection(&cell);
            let mut sub = 0;
            for p in clipped.0 {
                let area = p.unsigned_area();
                if area > DUST_DEG2 {
                    out.push(Piece {
                        polygon: MultiPolygon(vec![p]),
                        cells: vec![(row, col)],
                        order: (row, walk, sub),
                        area,
                    });
                    sub += 1;
                }
            }
        }
    }
    out
}

fn neighbours(a: &Piece, b: &Piece) -> bool {
    a.cells.iter().any(|&(r, c)| {
        b.cells
            .iter()
            .any(|&(r2, c2)| r.abs_diff(r2) + c.abs_diff(c2) <= 1)
    })
}

/// Merge the smallest piece into a neighbour until `target` remain: into the smallest neighbour
/// it shares an edge with (the union is one polygon), or, for an exclave with no such neighbour,
/// into the next piece in the walk.
fn merge(pieces: &mut Vec<Piece>, target: usize) {
    let mut stuck = vec![false; pieces.len()];
    while pieces.len() > target {
        let Some(i) = (0..pieces.len())
            .filter(|&i| !stuck[i])
            .min_by(|&a, &b| pieces[a].area.total_cmp(&pieces[b].area))
        else {
            break;
        };
        let mut candidates: Vec<usize> = (0..pieces.len())
            .filter(|&j| j != i && neighbours(&pieces[i], &pieces[j]))
            .collect();
        candidates.sort_by(|&a, &b| pieces[a].area.total_cmp(&pieces[b].area));
        let joined = candidates.into_iter().find_map(|j| {
            let u = pieces[i].polygon.union(&pieces[j].polygon);
            (u.0.len() == 1).then_some((j, u))
        });
        let (j, union) = match joined {
            Some(found) => found,
            None if stuck.iter().filter(|s| !**s).count() > 1 => {
                stuck[i] = true;
                continue;
            }
            None => {
                // Nothing can merge into one polygon any more: accept a two-part cell.
                let Some(j) = nearest_in_walk(pieces, i) else {
                    break;
                };
                let u = pieces[i].polygon.union(&pieces[j].polygon);
                (j, u)
            }
        };
        let small = pieces.remove(i);
        stuck.remove(i);
        let j = if j > i { j - 1 } else { j };
        let keep = &mut pieces[j];
        keep.polygon = union;
        keep.cells.extend(small.cells);
        keep.area += small.area;
        // The merged cell's neighbours changed; let stuck pieces try again.
        stuck.iter_mut().for_each(|s| *s = false);
    }
}

fn nearest_in_walk(pieces: &[Piece], i: usize) -> Option<usize> {
    let o = pieces[i].order;
    (0..pieces.len()).filter(|&j| j != i).min_by_key(|&j| {
        let p = pieces[j].order;
        (o.0.abs_diff(p.0), o.1.abs_diff(p.1))
    })
}
