//! Geometric validity of one feature once its rings are well-formed (closed, ≥ 4 positions,
//! coordinates in range — checked on the raw JSON in `parse`): rings must be simple, holes inside
//! their shell, rings and parts may meet only at points, parts must not overlap (OGC simple
//! features, the rules of geo's `Validation`).
//!
//! geo 0.33's `Validation` tests ring self-intersection by comparing every pair of segments
//! (5·10⁹ pairs, minutes, for a 100,000-vertex ring); so the rules are checked here with geo's
//! sweep-line segment intersector and its `Relate`, and geo's `Validation` itself is run as the
//! final word on features small enough for it (all real grids), in case it knows a rule this
//! module does not. One rule here is stricter than geo's: a ring that doubles back on itself (a
//! spike, or a ring with no area) is refused. geo's relate can panic on invalid input, so the
//! calls into it are guarded.

use geo::algorithm::coordinate_position::CoordPos;
use geo::algorithm::dimensions::Dimensions;
use geo::algorithm::line_intersection::LineIntersection;
use geo::algorithm::sweep::{Cross, Intersections};
use geo::algorithm::validation::{GeometryIndex, InvalidMultiPolygon, InvalidPolygon, RingRole};
use geo::{
    BoundingRect, Coord, CoordsIter, Line, LineString, MultiPolygon, Polygon, PreparedGeometry,
    Relate, Validation,
};

use crate::pairs;

/// Features with at most this many vertices also go through geo's own `Validation`.
pub(crate) const GEO_VALIDATION_MAX_VERTICES: usize = 1_000;

/// One reason a feature is invalid: a stable key and the Chinese text that follows the
/// feature's label (so it starts with “的” or a verb).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Defect {
    pub key: &'static str,
    pub detail: String,
}

fn defect(key: &'static str, detail: String) -> Defect {
    Defect { key, detail }
}

/// “第 2 个多边形的” for a part of a multipolygon with several parts, else nothing.
pub(crate) fn part_label(part: Option<usize>) -> String {
    part.map(|k| format!("第 {} 个多边形的", k + 1))
        .unwrap_or_default()
}

/// “外环” for ring 0, “第 h 个内环” for hole h (counting from 1).
pub(crate) fn ring_label(ring: usize) -> String {
    if ring == 0 {
        "外环".to_string()
    } else {
        format!("第 {ring} 个内环")
    }
}

pub(crate) fn point(c: Coord<f64>) -> String {
    format!("({}, {})", c.x, c.y)
}

/// Every defect of `mp`, whose rings are closed and have at least 4 positions.
pub(crate) fn defects(mp: &MultiPolygon<f64>) -> Vec<Defect> {
    let mut out = own_defects(mp);
    if out.is_empty() && mp.coords_count() <= GEO_VALIDATION_MAX_VERTICES {
        let multi = mp.0.len() > 1;
        out = guarded(|| {
            mp.validation_errors()
                .into_iter()
                .map(|e| from_geo(e, multi))
                .collect()
        });
    }
    out
}

/// The checks of this module alone, fast at any size; tests hold them to be at least as strict
/// as geo's `Validation`.
pub(crate) fn own_defects(mp: &MultiPolygon<f64>) -> Vec<Defect> {
    let multi = mp.0.len() > 1;
    let label = |k: usize| part_label(multi.then_some(k));
    let mut out = Vec::new();
    let mut simple = Vec::with_capacity(mp.0.len());
    for (k, p) in mp.0.iter().enumerate() {
        let mut rings_ok = true;
        for (r, ring) in std::iter::once(p.exterior())
            .chain(p.interiors())
            .enumerate()
        {
            let pts = dedup(ring);
            if pts.len() < 4 {
                out.push(defect(
                    "ring_degenerate",
                    format!("的{}{}少于 3 个不同的点", label(k), ring_label(r)),
                ));
                rings_ok = false;
            } else if let Some(at) = self_intersection(&pts) {
                out.push(defect(
                    "ring_self_intersection",
                    format!(
                        "的{}{}自相交（在 {} 处）",
                        label(k),
                        ring_label(r),
                        point(at)
                    ),
                ));
                rings_ok = false;
            }
        }
        simple.push(rings_ok);
    }
    // Relate assumes simple rings (on others it may panic), so holes are placed only in polygons
    // whose rings passed, and parts compared only when everything before passed.
    out.extend(guarded(|| {
        let mut topo = Vec::new();
        for (k, p) in mp.0.iter().enumerate() {
            if simple[k] {
                hole_defects(p, &label(k), &mut topo);
            }
        }
        if out.is_empty() && topo.is_empty() && multi {
            part_defects(mp, &mut topo);
        }
        topo
    }));
    out
}

/// Run a check built on geo's topology code, turning a panic into a defect: geo's relate
/// panics on some invalid inputs ("topology position conflict"), and an uploaded file must
/// never take the server down.
fn guarded(check: impl FnOnce() -> Vec<Defect>) -> Vec<Defect> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(check)).unwrap_or_else(|_| {
        vec![defect(
            "geometry_invalid",
            "的几何图形无效：边界的拓扑关系自相矛盾（常见于边重叠或自相交）".to_string(),
        )]
    })
}

/// The ring without consecutive repeated positions (a repeated vertex is harmless but would make
/// a zero-length segment that "intersects" its neighbours).
fn dedup(ring: &LineString<f64>) -> Vec<Coord<f64>> {
    let mut pts: Vec<Coord<f64>> = ring.0.clone();
    pts.dedup();
    pts
}

#[derive(Clone, Copy)]
struct Segment {
    line: Line<f64>,
    index: usize,
}

impl Cross for Segment {
    type Scalar = f64;
    fn line(&self) -> Line<f64> {
        self.line
    }
}

/// Where a closed ring (first == last, no consecutive repeats) touches or crosses itself: two
/// non-adjacent segments meeting anywhere, or adjacent segments folding back over each other (a
/// spike, which geo's pairwise test lets through).
fn self_intersection(pts: &[Coord<f64>]) -> Option<Coord<f64>> {
    let n = pts.len() - 1;
    let segments = pts.windows(2).enumerate().map(|(index, w)| Segment {
        line: Line::new(w[0], w[1]),
        index,
    });
    for (a, b, meet) in Intersections::from_iter(segments) {
        let (i, j) = (a.index.min(b.index), a.index.max(b.index));
        let adjacent = j == i + 1 || (i == 0 && j == n - 1);
        match meet {
            // Adjacent segments always meet at their shared vertex, and only there unless
            // they are collinear and overlap (the case below).
            LineIntersection::SinglePoint { intersection, .. } if !adjacent => {
                return Some(intersection);
            }
            LineIntersection::SinglePoint { .. } => {}
            LineIntersection::Collinear { intersection } => return Some(intersection.start),
        }
    }
    None
}

fn hole_defects(p: &Polygon<f64>, part: &str, out: &mut Vec<Defect>) {
    if p.interiors().is_empty() {
        return;
    }
    let shell = Polygon::new(p.exterior().clone(), vec![]);
    let shell = PreparedGeometry::from(&shell);
    let holes: Vec<Polygon<f64>> = p
        .interiors()
        .iter()
        .map(|h| Polygon::new(h.clone(), vec![]))
        .collect();
    for (h, hole) in holes.iter().enumerate() {
        let m = shell.relate(hole);
        if !m.is_contains() {
            out.push(defect(
                "hole_outside_shell",
                format!("的{part}{}不在外环之内", ring_label(h + 1)),
            ));
        }
        if m.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional {
            out.push(defect(
                "rings_touch_on_line",
                format!("的{part}{}与外环共用一段边界", ring_label(h + 1)),
            ));
        }
    }
    let rects: Vec<_> = holes
        .iter()
        .filter_map(BoundingRect::bounding_rect)
        .collect();
    if rects.len() != holes.len() {
        return;
    }
    for (a, b) in pairs::touching(&rects) {
        let m = holes[a].relate(&holes[b]);
        let (ra, rb) = (ring_label(a + 1), ring_label(b + 1));
        if m.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional {
            out.push(defect("holes_overlap", format!("的{part}{ra}与{rb}重叠")));
        }
        if m.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional {
            out.push(defect(
                "rings_touch_on_line",
                format!("的{part}{ra}与{rb}共用一段边界"),
            ));
        }
    }
}

fn part_defects(mp: &MultiPolygon<f64>, out: &mut Vec<Defect>) {
    let rects: Vec<_> =
        mp.0.iter()
            .filter_map(BoundingRect::bounding_rect)
            .collect();
    if rects.len() != mp.0.len() {
        return;
    }
    for (a, b) in pairs::touching(&rects) {
        let m = mp.0[a].relate(&mp.0[b]);
        if m.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional {
            out.push(parts_overlap(a, b));
        }
        if m.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional {
            out.push(parts_touch(a, b));
        }
    }
}

fn parts_overlap(a: usize, b: usize) -> Defect {
    defect(
        "parts_overlap",
        format!("的第 {} 个与第 {} 个多边形重叠", a + 1, b + 1),
    )
}

fn parts_touch(a: usize, b: usize) -> Defect {
    defect(
        "parts_touch_on_line",
        format!(
            "的第 {} 个与第 {} 个多边形共用一段边界（应合并为一个多边形）",
            a + 1,
            b + 1
        ),
    )
}

fn role(r: &RingRole) -> String {
    match r {
        RingRole::Exterior => ring_label(0),
        RingRole::Interior(h) => ring_label(h + 1),
    }
}

fn from_geo(e: InvalidMultiPolygon, multi: bool) -> Defect {
    match e {
        InvalidMultiPolygon::ElementsOverlaps(GeometryIndex(a), GeometryIndex(b)) => {
            parts_overlap(a, b)
        }
        InvalidMultiPolygon::ElementsTouchOnALine(GeometryIndex(a), GeometryIndex(b)) => {
            parts_touch(a, b)
        }
        InvalidMultiPolygon::InvalidPolygon(GeometryIndex(k), e) => {
            let part = part_label(multi.then_some(k));
            match e {
                InvalidPolygon::TooFewPointsInRing(r) => defect(
                    "ring_degenerate",
                    format!("的{part}{}少于 3 个不同的点", role(&r)),
                ),
                InvalidPolygon::SelfIntersection(r) => defect(
                    "ring_self_intersection",
                    format!("的{part}{}自相交", role(&r)),
                ),
                InvalidPolygon::NonFiniteCoord(r, i) => defect(
                    "coordinate_not_finite",
                    format!("的{part}{}第 {} 个坐标不是有限数", role(&r), i.0 + 1),
                ),
                InvalidPolygon::InteriorRingNotContainedInExteriorRing(r) => defect(
                    "hole_outside_shell",
                    format!("的{part}{}不在外环之内", role(&r)),
                ),
                InvalidPolygon::IntersectingRingsOnALine(a, b) => defect(
                    "rings_touch_on_line",
                    format!("的{part}{}与{}共用一段边界", role(&a), role(&b)),
                ),
                InvalidPolygon::IntersectingRingsOnAnArea(a, b) => defect(
                    "holes_overlap",
                    format!("的{part}{}与{}重叠", role(&a), role(&b)),
                ),
            }
        }
    }
}
