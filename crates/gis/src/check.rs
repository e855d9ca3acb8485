//! Consistency of sibling grids (the grids of one community, or the communities of one street):
//! overlaps between siblings, and — given the parent boundary — the gaps no sibling covers and
//! the parts of siblings outside the parent. Areas are m² on the ellipsoid; pieces at or below a
//! tolerance are float noise from the boolean operations, or hand-drawn slivers nobody cares
//! about, and are not reported.

use geo::orient::{Direction, Orient};
use geo::{
    BooleanOps, BoundingRect, Distance, Euclidean, InteriorPoint, Intersects, MultiPolygon,
    Polygon, Rect, unary_union,
};
use serde::Serialize;

use crate::area::{area_m2, polygon_m2};
use crate::pairs;
use crate::parse::GridShape;

/// Pieces up to this many m² are not reported by [`siblings`].
pub const DEFAULT_TOLERANCE_M2: f64 = 1.0;

/// One inconsistency between sibling grids.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// `grid_overlap`, `grid_gap` or `grid_outside_parent`.
    pub key: &'static str,
    pub message: String,
    /// The grids involved: the two overlapping ones, the one sticking out, or the ones bordering
    /// a gap.
    pub codes: Vec<String>,
    pub area_m2: f64,
    /// A point inside the (largest) piece, `(lng, lat)`, to show on the map.
    pub at: Option<(f64, f64)>,
}

/// [`siblings_with_tolerance`] with [`DEFAULT_TOLERANCE_M2`].
pub fn siblings(parent: Option<&MultiPolygon<f64>>, children: &[GridShape]) -> Vec<Finding> {
    siblings_with_tolerance(parent, children, DEFAULT_TOLERANCE_M2)
}

/// Overlaps between `children` (pairs found through their bounding boxes, so a thousand
/// siblings cost a few thousand intersections, not half a million), then, if `parent` is given,
/// each child's area outside it and each gap inside it. Findings come in that order, overlaps by
/// child position, gaps largest first.
pub fn siblings_with_tolerance(
    parent: Option<&MultiPolygon<f64>>,
    children: &[GridShape],
    tolerance_m2: f64,
) -> Vec<Finding> {
    // unary_union needs one winding throughout; GridShape fields are public, so do not assume
    // parse oriented them.
    let polys: Vec<MultiPolygon<f64>> = children
        .iter()
        .map(|c| c.polygon.orient(Direction::Default))
        .collect();
    // Boxes from the polygons themselves rather than the `bbox` field, which a caller may have
    // left stale.
    let rects: Vec<Rect<f64>> = polys
        .iter()
        .map(|p| {
            p.bounding_rect()
                .unwrap_or(Rect::new((0.0, 0.0), (0.0, 0.0)))
        })
        .collect();
    let mut out = Vec::new();
    for (a, b) in pairs::touching(&rects) {
        let piece = polys[a].intersection(&polys[b]);
        let area = area_m2(&piece);
        if area > tolerance_m2 {
            let (ca, cb) = (&children[a].code, &children[b].code);
            out.push(Finding {
                key: "grid_overlap",
                message: format!("网格 {ca} 与网格 {cb} 重叠约 {}", m2(area)),
                codes: vec![ca.clone(), cb.clone()],
                area_m2: area,
                at: inside_point(&piece),
            });
        }
    }
    let Some(parent) = parent else {
        return out;
    };
    let parent = parent.orient(Direction::Default);
    for (c, p) in children.iter().zip(&polys) {
        let piece = p.difference(&parent);
        let area = area_m2(&piece);
        if area > tolerance_m2 {
            out.push(Finding {
                key: "grid_outside_parent",
                message: format!("网格 {} 有约 {}超出上级边界", c.code, m2(area)),
                codes: vec![c.code.clone()],
                area_m2: area,
                at: inside_point(&piece),
            });
        }
    }
    let covered = unary_union(polys.iter());
    let mut gaps: Vec<(f64, Polygon<f64>)> = parent
        .difference(&covered)
        .0
        .into_iter()
        .map(|g| (polygon_m2(&g), g))
        .filter(|(a, _)| *a > tolerance_m2)
        .collect();
    gaps.sort_by(|x, y| y.0.total_cmp(&x.0));
    for (area, gap) in gaps {
        let codes = bordering(&gap, children, &polys, &rects);
        let at = gap.interior_point().map(|p| (p.x(), p.y()));
        let place = at
            .map(|(x, y)| format!("（{x:.6}, {y:.6} 附近）"))
            .unwrap_or_default();
        let next_to = if codes.is_empty() {
            String::new()
        } else {
            format!("，相邻网格：{}", codes.join("、"))
        };
        out.push(Finding {
            key: "grid_gap",
            message: format!("上级边界内有约 {} 未划入任何网格{place}{next_to}", m2(area)),
            codes,
            area_m2: area,
            at,
        });
    }
    out
}

/// Codes of the children touching `gap`.
fn bordering(
    gap: &Polygon<f64>,
    children: &[GridShape],
    polys: &[MultiPolygon<f64>],
    rects: &[Rect<f64>],
) -> Vec<String> {
    let Some(g) = gap.bounding_rect() else {
        return Vec::new();
    };
    // The gap's edges are the children's edges snapped by the boolean operations, so "touching"
    // means within about a centimetre (1e-7°), and the box is grown by about a metre.
    let e = 1e-5;
    let grown = Rect::new(
        (g.min().x - e, g.min().y - e),
        (g.max().x + e, g.max().y + e),
    );
    children
        .iter()
        .zip(polys)
        .zip(rects)
        .filter(|((_, p), r)| grown.intersects(*r) && Euclidean.distance(*p, gap) <= 1e-7)
        .map(|((c, _), _)| c.code.clone())
        .collect()
}

fn inside_point(mp: &MultiPolygon<f64>) -> Option<(f64, f64)> {
    mp.0.iter()
        .max_by(|a, b| polygon_m2(a).total_cmp(&polygon_m2(b)))
        .and_then(InteriorPoint::interior_point)
        .map(|p| (p.x(), p.y()))
}

/// An area for a message: 平方米 below a hectare, else 公顷.
fn m2(area: f64) -> String {
    if area >= 10_000.0 {
        format!("{:.2} 公顷", area / 10_000.0)
    } else if area >= 10.0 {
        format!("{area:.0} 平方米")
    } else {
        format!("{area:.1} 平方米")
    }
}
