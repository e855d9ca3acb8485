//! `gis grid_lookup`: how fast [`GridIndex`] resolves points, on a synthetic lattice of grids
//! around Beijing, with a same-run baseline (the bare R-tree envelope query, the least any
//! lookup must do) because absolute rates vary between machines. Also the lattice itself, which
//! tests use with straight edges to know the right answer arithmetically.

use std::hint::black_box;
use std::time::Instant;

use geo::{Coord, CoordsIter, LineString, MultiPolygon, Polygon};

use crate::index::GridIndex;

/// Segments per cell side: 4 sides × 5 = 20 vertices a grid, like a simple hand-drawn grid.
const SEGMENTS_PER_SIDE: usize = 5;

/// A lattice of `count` cells in rows of `cols`, row 0 southernmost, cell `i` at row `i / cols`,
/// column `i % cols` (the last row may be partial).
///
/// Straight (`jitter = false`) cells are exact squares in degrees on a dyadic grid (origin and
/// cell size are exact binary fractions), so [`Lattice::cell_at`] is exact arithmetic; jittered
/// cells move every lattice node and bend every edge, but neighbours still share their edges
/// vertex for vertex, as grids from one drawing do.
#[derive(Debug, Clone, PartialEq)]
pub struct Lattice {
    pub cols: usize,
    pub rows: usize,
    pub count: usize,
    /// South-west corner `(lng, lat)`.
    pub origin: (f64, f64),
    /// Cell width and height in degrees.
    pub cell: (f64, f64),
    pub jitter: bool,
}

impl Lattice {
    /// `count` cells of 1/256° (about 340 m × 430 m), rows of ⌈√count⌉, from (116.25°E, 39.75°N).
    pub fn around_beijing(count: usize, jitter: bool) -> Lattice {
        let cols = ((count as f64).sqrt().ceil() as usize).max(1);
        Lattice {
            cols,
            rows: count.div_ceil(cols),
            count,
            origin: (116.25, 39.75),
            cell: (1.0 / 256.0, 1.0 / 256.0),
            jitter,
        }
    }

    /// `(min_lng, min_lat, max_lng, max_lat)` of the nominal (unjittered) lattice.
    pub fn bounds(&self) -> (f64, f64, f64, f64) {
        let (x0, y0) = self.origin;
        (
            x0,
            y0,
            x0 + self.cols as f64 * self.cell.0,
            y0 + self.rows as f64 * self.cell.1,
        )
    }

    /// The cells' polygons, cell `i` at position `i`.
    pub fn polygons(&self) -> Vec<MultiPolygon<f64>> {
        (0..self.count)
            .map(|i| {
                let (row, col) = (i / self.cols, i % self.cols);
                let mut ring: Vec<Coord<f64>> = Vec::with_capacity(4 * SEGMENTS_PER_SIDE + 1);
                // Counter-clockwise: south edge west to east, east edge northwards, north edge
                // back west, west edge southwards. Each edge's points are computed once per edge
                // (from its lower node), so both neighbours get the very same floats.
                ring.extend(half_open(self.edge(Side::Horizontal, col, row), false));
                ring.extend(half_open(self.edge(Side::Vertical, col + 1, row), false));
                ring.extend(half_open(self.edge(Side::Horizontal, col, row + 1), true));
                ring.extend(half_open(self.edge(Side::Vertical, col, row), true));
                ring.push(ring[0]);
                MultiPolygon(vec![Polygon::new(LineString(ring), vec![])])
            })
            .collect()
    }

    /// The cell a point falls in, by arithmetic, for a lattice without jitter; a point on an edge
    /// or corner gets the lowest-numbered cell containing it, the rule of [`GridIndex`] when the
    /// cells are given in order.
    pub fn cell_at(&self, lng: f64, lat: f64) -> Option<usize> {
        let col = axis(lng, self.origin.0, self.cell.0, self.cols)?;
        let row = axis(lat, self.origin.1, self.cell.1, self.rows)?;
        let i = row * self.cols + col;
        (i < self.count).then_some(i)
    }

    fn node(&self, i: usize, j: usize) -> Coord<f64> {
        let (x0, y0) = self.origin;
        let (dx, dy) = self.cell;
        let mut c = Coord {
            x: x0 + i as f64 * dx,
            y: y0 + j as f64 * dy,
        };
        if self.jitter {
            // At most 12% of a cell each way, so cells stay simple polygons.
            c.x += signed(hash(&[1, i as u64, j as u64])) * 0.12 * dx;
            c.y += signed(hash(&[2, i as u64, j as u64])) * 0.12 * dy;
        }
        c
    }

    /// The points of the edge leaving node `(i, j)` eastwards (horizontal) or northwards
    /// (vertical), both end nodes included.
    fn edge(&self, side: Side, i: usize, j: usize) -> Vec<Coord<f64>> {
        let a = self.node(i, j);
        let b = match side {
            Side::Horizontal => self.node(i + 1, j),
            Side::Vertical => self.node(i, j + 1),
        };
        let mut out = Vec::with_capacity(SEGMENTS_PER_SIDE + 1);
        out.push(a);
        for k in 1..SEGMENTS_PER_SIDE {
            let t = k as f64 / SEGMENTS_PER_SIDE as f64;
            let mut c = Coord {
                x: a.x + (b.x - a.x) * t,
                y: a.y + (b.y - a.y) * t,
            };
            if self.jitter {
                // Bend across the edge by at most 5% of a cell.
                let s = signed(hash(&[3 + side as u64, i as u64, j as u64, k as u64])) * 0.05;
                match side {
                    Side::Horizontal => c.y += s * self.cell.1,
                    Side::Vertical => c.x += s * self.cell.0,
                }
            } else {
                // Keep straight edges exactly straight (the interpolation may round off them).
                match side {
                    Side::Horizontal => c.y = a.y,
                    Side::Vertical => c.x = a.x,
                }
            }
            out.push(c);
        }
        out.push(b);
        out
    }
}

#[derive(Clone, Copy)]
enum Side {
    Horizontal = 0,
    Vertical = 1,
}

/// An edge's points from its start up to, not including, its end; walked backwards if `back`.
fn half_open(mut edge: Vec<Coord<f64>>, back: bool) -> Vec<Coord<f64>> {
    if back {
        edge.reverse();
    }
    edge.pop();
    edge
}

/// Cell number along one axis with the lowest-wins rule on lines; `None` outside.
fn axis(v: f64, origin: f64, size: f64, n: usize) -> Option<usize> {
    // Exact for the dyadic lattice: v - origin is exact (Sterbenz) and size is a power of two.
    let f = (v - origin) / size;
    if !(0.0..=n as f64).contains(&f) {
        return None;
    }
    let k = f.floor();
    let k = if k == f && k > 0.0 { k - 1.0 } else { k };
    Some((k as usize).min(n - 1))
}

/// splitmix64: a tiny, good, deterministic generator (no `rand` needed for a benchmark).
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn hash(parts: &[u64]) -> u64 {
    let mut s = 0x5EED_u64;
    for &p in parts {
        s ^= p;
        splitmix64(&mut s);
    }
    splitmix64(&mut s)
}

/// A uniform number in [-1, 1).
fn signed(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

/// A uniform number in [0, 1).
pub fn unit(state: &mut u64) -> f64 {
    (splitmix64(state) >> 11) as f64 / (1u64 << 53) as f64
}

/// The figures of one benchmark run.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    pub grids: usize,
    pub vertices_per_grid: f64,
    pub lookups: usize,
    /// Time to build the [`GridIndex`] from the polygons.
    pub build_ms: f64,
    /// Full lookups (R-tree plus point-in-polygon) per second.
    pub rate_per_s: f64,
    /// Bare R-tree envelope queries per second, on the same points.
    pub baseline_per_s: f64,
    /// Fraction of the points that fell in a grid (points are drawn over the nominal lattice, so
    /// the jittered outer boundary loses a few).
    pub found_fraction: f64,
    /// Bounding boxes containing the point, on average: the point-in-polygon tests per lookup.
    pub candidates_per_lookup: f64,
}

impl BenchReport {
    /// One line per figure group, `gis <name> key=value …`.
    pub fn lines(&self) -> Vec<String> {
        vec![
            format!(
                "gis grid_lookup grids={} lookups={} rate={:.0}/s baseline_rtree={:.0}/s build_ms={:.1}",
                self.grids, self.lookups, self.rate_per_s, self.baseline_per_s, self.build_ms
            ),
            format!(
                "gis grid_lookup_found grids={} fraction={:.4}",
                self.grids, self.found_fraction
            ),
            format!(
                "gis grid_lookup_work grids={} vertices_per_grid={:.1} candidates_per_lookup={:.2}",
                self.grids, self.vertices_per_grid, self.candidates_per_lookup
            ),
        ]
    }
}

/// Build a jittered lattice of `grids` cells, index it, and time `lookups` random points
/// (deterministic), first through the bare R-tree, then through [`GridIndex::locate`].
pub fn lookup_bench(grids: usize, lookups: usize) -> BenchReport {
    let lattice = Lattice::around_beijing(grids, true);
    let polygons = lattice.polygons();
    let vertices: usize = polygons
        .iter()
        .map(|p| p.coords_count().saturating_sub(1))
        .sum();
    let items: Vec<(usize, MultiPolygon<f64>)> = polygons.into_iter().enumerate().collect();
    let t = Instant::now();
    let index = GridIndex::new(items);
    let build = t.elapsed().as_secs_f64();

    let (x0, y0, x1, y1) = lattice.bounds();
    let mut state = 0x1234_5678_u64;
    let points: Vec<(f64, f64)> = (0..lookups)
        .map(|_| {
            let x = x0 + (x1 - x0) * unit(&mut state);
            let y = y0 + (y1 - y0) * unit(&mut state);
            (x, y)
        })
        .collect();

    // Warm caches and branch predictors on both paths before timing either.
    for &(x, y) in points.iter().take(10_000) {
        black_box(index.candidates(x, y));
        black_box(index.locate(x, y));
    }
    let t = Instant::now();
    let mut candidates = 0usize;
    for &(x, y) in &points {
        candidates += black_box(index.candidates(black_box(x), black_box(y)));
    }
    let base = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut found = 0usize;
    for &(x, y) in &points {
        if black_box(index.locate(black_box(x), black_box(y))).is_some() {
            found += 1;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let n = lookups.max(1) as f64;
    BenchReport {
        grids,
        vertices_per_grid: vertices as f64 / grids.max(1) as f64,
        lookups,
        build_ms: build * 1e3,
        rate_per_s: lookups as f64 / secs.max(1e-9),
        baseline_per_s: lookups as f64 / base.max(1e-9),
        found_fraction: found as f64 / n,
        candidates_per_lookup: candidates as f64 / n,
    }
}
