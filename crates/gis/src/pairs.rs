//! Candidate pairs among many rectangles (bounding boxes that touch or overlap), through an
//! R-tree so that a thousand sibling grids or polygon parts cost n·log n, not n².

use geo::Rect;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

/// Pairs `(i, j)` with `i < j` whose rectangles intersect (touching counts), in ascending order.
pub(crate) fn touching(rects: &[Rect<f64>]) -> Vec<(usize, usize)> {
    let tree = RTree::bulk_load(
        rects
            .iter()
            .enumerate()
            .map(|(i, r)| GeomWithData::new(Rectangle::from_aabb(aabb(r)), i))
            .collect(),
    );
    let mut out = Vec::new();
    for (i, r) in rects.iter().enumerate() {
        let mut js: Vec<usize> = tree
            .locate_in_envelope_intersecting(&aabb(r))
            .map(|g| g.data)
            .filter(|&j| j > i)
            .collect();
        js.sort_unstable();
        out.extend(js.into_iter().map(|j| (i, j)));
    }
    out
}

pub(crate) fn aabb(r: &Rect<f64>) -> AABB<[f64; 2]> {
    AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y])
}
