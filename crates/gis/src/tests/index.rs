//! Tests of `index`: shared edges, holes, outside points, and proptests against a lattice whose
//! right answer is arithmetic.

use std::sync::LazyLock;

use geo::{LineString, MultiPolygon, Polygon};
use proptest::prelude::*;

use super::rect;
use crate::bench::Lattice;
use crate::index::GridIndex;

/// Two unit squares (in 0.01°) sharing the edge x = 116.01.
fn pair(first: &'static str, second: &'static str) -> GridIndex<&'static str> {
    let (a, b) = (rect(0.0, 0.0, 1.0, 1.0), rect(1.0, 0.0, 2.0, 1.0));
    let grids = if first == "A" {
        vec![(first, a), (second, b)]
    } else {
        vec![(first, b), (second, a)]
    };
    GridIndex::new(grids)
}

#[test]
fn shared_edge_resolves_on_both_sides_and_once_on_the_edge() {
    let idx = pair("A", "B");
    let edge: f64 = 116.0 + 1.0 * 0.01;
    let lat = 39.905;
    // The nearest floats either side of the edge.
    assert_eq!(idx.locate(edge.next_down(), lat), Some(&"A"));
    assert_eq!(idx.locate(edge.next_up(), lat), Some(&"B"));
    assert_eq!(idx.locate(edge - 1e-9, lat), Some(&"A"));
    assert_eq!(idx.locate(edge + 1e-9, lat), Some(&"B"));
    // On the edge: the grid given first, every time.
    for _ in 0..3 {
        assert_eq!(idx.locate(edge, lat), Some(&"A"));
    }
    // The caller's order decides: given B first, the edge is B's.
    let swapped = pair("B", "A");
    assert_eq!(swapped.locate(edge, lat), Some(&"B"));
    assert_eq!(swapped.locate(edge.next_down(), lat), Some(&"A"));
    // Shared corner on the outer boundary: also exactly one.
    assert_eq!(idx.locate(edge, 39.9), Some(&"A"));
    assert_eq!(idx.locate_index(edge, lat), Some(0));
    assert_eq!(idx.candidates(edge, lat), 2);
}

#[test]
fn outside_everything_is_none() {
    let idx = pair("A", "B");
    assert_eq!(idx.locate(116.5, 39.905), None);
    assert_eq!(idx.locate(116.005, 39.92), None);
    assert_eq!(idx.locate(f64::NAN, 39.905), None);
    assert_eq!(idx.locate(116.005, f64::INFINITY), None);
    // Latitude first by mistake: nowhere near.
    assert_eq!(idx.locate(39.905, 116.005), None);
    let empty: GridIndex<u32> = GridIndex::new(Vec::new());
    assert_eq!(empty.locate(116.0, 39.9), None);
    assert!(empty.is_empty());
    assert_eq!(idx.len(), 2);
}

#[test]
fn a_hole_excludes_its_points() {
    let outer = rect(0.0, 0.0, 3.0, 3.0).0.remove(0).exterior().clone();
    let hole = rect(1.0, 1.0, 2.0, 2.0).0.remove(0).exterior().clone();
    let ring = MultiPolygon(vec![Polygon::new(outer, vec![hole])]);
    let idx = GridIndex::new(vec![("ring", ring.clone())]);
    assert_eq!(idx.locate(116.015, 39.915), None);
    assert_eq!(idx.locate(116.005, 39.915), Some(&"ring"));
    // The hole's boundary belongs to the ring grid.
    assert_eq!(idx.locate(116.01, 39.915), Some(&"ring"));
    // A second grid filling the hole gets its inside; the shared boundary stays with the first.
    let idx = GridIndex::new(vec![("ring", ring), ("core", rect(1.0, 1.0, 2.0, 2.0))]);
    assert_eq!(idx.locate(116.015, 39.915), Some(&"core"));
    assert_eq!(idx.locate(116.01, 39.915), Some(&"ring"));
}

#[test]
fn inside_beats_boundary_and_parts_are_found() {
    // Overlapping grids (refused by `check`, but the index must still be deterministic): a point
    // on A's edge and inside B is B's, whichever comes first.
    let idx = GridIndex::new(vec![
        ("A", rect(0.0, 0.0, 1.0, 1.0)),
        ("B", rect(0.5, 0.0, 2.0, 1.0)),
    ]);
    assert_eq!(idx.locate(116.01, 39.905), Some(&"B"));
    assert_eq!(idx.locate(116.007, 39.905), Some(&"A"));
    let mut two = rect(0.0, 0.0, 1.0, 1.0);
    two.0.extend(rect(5.0, 5.0, 6.0, 6.0).0);
    let idx = GridIndex::new(vec![("exclave", two)]);
    assert_eq!(idx.locate(116.055, 39.955), Some(&"exclave"));
    assert_eq!(idx.parts(), 2);
}

#[test]
fn references_can_be_any_type() {
    #[derive(Debug, PartialEq)]
    struct Grid {
        code: &'static str,
        community: &'static str,
        street: &'static str,
    }
    let g = Grid {
        code: "110101001001001",
        community: "110101001001",
        street: "110101001",
    };
    let idx = GridIndex::new(vec![(g, rect(0.0, 0.0, 1.0, 1.0))]);
    let found = idx.locate(116.005, 39.905).unwrap();
    assert_eq!(
        (found.code, found.community, found.street),
        ("110101001001001", "110101001001", "110101001")
    );
}

#[test]
fn straight_lattice_cells_are_what_arithmetic_says() {
    let lattice = Lattice::around_beijing(37, false);
    assert_eq!((lattice.cols, lattice.rows), (7, 6));
    let poly = &lattice.polygons()[8];
    let ls: &LineString<f64> = poly.0[0].exterior();
    assert_eq!(ls.0.len(), 21);
    let (x0, y0) = lattice.origin;
    let (dx, dy) = lattice.cell;
    // Cell 8 is row 1, column 1.
    assert!(
        ls.0.iter().all(|c| (x0 + dx..=x0 + 2.0 * dx).contains(&c.x)
            && (y0 + dy..=y0 + 2.0 * dy).contains(&c.y))
    );
}

fn lattice_index(l: &Lattice) -> GridIndex<usize> {
    GridIndex::new(l.polygons().into_iter().enumerate().collect::<Vec<_>>())
}

/// Built once for all proptest cases: the straight 37-cell lattice and the jittered 400-cell one.
static STRAIGHT: LazyLock<(Lattice, GridIndex<usize>)> = LazyLock::new(|| {
    let l = Lattice::around_beijing(37, false);
    let idx = lattice_index(&l);
    (l, idx)
});
static JITTERED: LazyLock<(Lattice, GridIndex<usize>)> = LazyLock::new(|| {
    let l = Lattice::around_beijing(400, true);
    let idx = lattice_index(&l);
    (l, idx)
});

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Random points over (and a little beyond) a straight lattice with a partial last row land
    /// in the cell arithmetic says, or nowhere.
    #[test]
    fn random_points_resolve_to_the_arithmetic_cell(fx in -0.05f64..1.05, fy in -0.05f64..1.05) {
        let (l, idx) = &*STRAIGHT;
        let (x0, y0, x1, y1) = l.bounds();
        let (x, y) = (x0 + (x1 - x0) * fx, y0 + (y1 - y0) * fy);
        prop_assert_eq!(idx.locate(x, y).copied(), l.cell_at(x, y));
    }

    /// Points on a fine grid that includes every lattice line and corner: on an edge or corner the
    /// lowest-numbered cell wins, exactly as `cell_at` computes it.
    #[test]
    fn edge_and_corner_points_resolve_to_the_lowest_cell(i in -2i32..60, j in -2i32..52) {
        let (l, idx) = &*STRAIGHT;
        // Eighths of a cell: multiples of 8 are lattice lines.
        let x = l.origin.0 + f64::from(i) * l.cell.0 / 8.0;
        let y = l.origin.1 + f64::from(j) * l.cell.1 / 8.0;
        prop_assert_eq!(idx.locate(x, y).copied(), l.cell_at(x, y));
    }

    /// On the jittered (benchmark) lattice, points near a cell's nominal centre are in that cell:
    /// edges move at most 17% of a cell, so 30% around the centre is safe.
    #[test]
    fn jittered_cells_hold_their_centres(cell in 0usize..400, fx in 0.2f64..0.8, fy in 0.2f64..0.8) {
        let (l, idx) = &*JITTERED;
        let (row, col) = (cell / l.cols, cell % l.cols);
        let x = l.origin.0 + (col as f64 + fx) * l.cell.0;
        let y = l.origin.1 + (row as f64 + fy) * l.cell.1;
        prop_assert_eq!(idx.locate(x, y).copied(), Some(cell));
    }
}
