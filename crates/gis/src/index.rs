//! Point-to-grid lookup: an R-tree (rstar) over the bounding box of every polygon part, then an
//! exact point-in-polygon test (geo's robust predicates) on the few candidates.
//!
//! The index is immutable and cheap to build (10,000 grids in milliseconds), so it is rebuilt
//! whole when grids change and swapped behind an `Arc` rather than edited in place.
//!
//! Boundary rule: a point on a grid's boundary counts as in that grid; a point strictly inside
//! some grid resolves to it even if it also lies on another grid's boundary; among equals the
//! grid given first to [`GridIndex::new`] wins. So a point on an edge shared by two grids
//! resolves to exactly one of them, the same one every time — sort the input (say by code) to
//! choose which.

use geo::algorithm::coordinate_position::{CoordPos, CoordinatePosition};
use geo::{BoundingRect, Coord, MultiPolygon, Polygon};
use rstar::RTree;
use rstar::primitives::{GeomWithData, Rectangle};

use crate::pairs;

/// Grids of reference type `R` (an id, a code, or a struct with the grid's community and street)
/// indexed for [`GridIndex::locate`].
#[derive(Clone)]
pub struct GridIndex<R> {
    refs: Vec<R>,
    /// Every polygon part with the position of its grid in `refs`.
    parts: Vec<(Polygon<f64>, usize)>,
    /// Bounding box of each part; the data is the part's position in `parts`.
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
}

impl<R> GridIndex<R> {
    /// Index `grids` in the order given (which decides shared boundaries, see the module
    /// docs). Coordinates are `x` = longitude, `y` = latitude. Grids with no area are kept (their
    /// reference is counted in [`GridIndex::len`]) but never found.
    pub fn new(grids: impl IntoIterator<Item = (R, MultiPolygon<f64>)>) -> Self {
        let mut refs = Vec::new();
        let mut parts = Vec::new();
        for (r, mp) in grids {
            let grid = refs.len();
            refs.push(r);
            parts.extend(mp.0.into_iter().map(|p| (p, grid)));
        }
        let tree = RTree::bulk_load(
            parts
                .iter()
                .enumerate()
                .filter_map(|(i, (p, _))| {
                    p.bounding_rect()
                        .map(|r| GeomWithData::new(Rectangle::from_aabb(pairs::aabb(&r)), i))
                })
                .collect(),
        );
        GridIndex { refs, parts, tree }
    }

    /// The grid containing the point at longitude `lng`, latitude `lat` (WGS84 degrees; note the
    /// order, longitude first as in GeoJSON), or `None` outside every grid.
    pub fn locate(&self, lng: f64, lat: f64) -> Option<&R> {
        self.locate_index(lng, lat).and_then(|i| self.refs.get(i))
    }

    /// Like [`GridIndex::locate`], but the grid's position in the input.
    pub fn locate_index(&self, lng: f64, lat: f64) -> Option<usize> {
        if !lng.is_finite() || !lat.is_finite() {
            return None;
        }
        let c = Coord { x: lng, y: lat };
        let (mut inside, mut boundary): (Option<usize>, Option<usize>) = (None, None);
        // Every candidate is examined (not just the first hit) because the R-tree yields them in
        // no particular order and the answer must not depend on it.
        for e in self.tree.locate_all_at_point(&[lng, lat]) {
            let Some((polygon, grid)) = self.parts.get(e.data) else {
                continue;
            };
            let slot = match polygon.coordinate_position(&c) {
                CoordPos::Inside => &mut inside,
                CoordPos::OnBoundary => &mut boundary,
                CoordPos::Outside => continue,
            };
            *slot = Some(slot.map_or(*grid, |g| g.min(*grid)));
        }
        inside.or(boundary)
    }

    /// How many polygon parts' bounding boxes contain the point: the R-tree's work alone, without
    /// the point-in-polygon tests (the lookup benchmark's baseline).
    pub fn candidates(&self, lng: f64, lat: f64) -> usize {
        self.tree.locate_all_at_point(&[lng, lat]).count()
    }

    /// The reference of the grid at position `i` of the input.
    pub fn get(&self, i: usize) -> Option<&R> {
        self.refs.get(i)
    }

    /// All references, in input order.
    pub fn refs(&self) -> &[R] {
        &self.refs
    }

    /// Number of grids.
    pub fn len(&self) -> usize {
        self.refs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.refs.is_empty()
    }

    /// Number of polygon parts (a grid with an exclave has two).
    pub fn parts(&self) -> usize {
        self.parts.len()
    }
}

impl<R> std::fmt::Debug for GridIndex<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GridIndex")
            .field("grids", &self.refs.len())
            .field("parts", &self.parts.len())
            .finish()
    }
}
