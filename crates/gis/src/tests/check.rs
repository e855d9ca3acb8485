//! Tests of `check`: overlaps, gaps and overhangs with known areas, tolerance, 1,000 siblings.

use super::{rect, shape};
use crate::area::area_m2;
use crate::bench::Lattice;
use crate::check::{siblings, siblings_with_tolerance};
use crate::parse::bbox;

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs()
}

#[test]
fn overlap_gap_and_outside_with_plausible_areas() {
    // Parent 3 × 1 units (0.03° × 0.01°, about 2.6 km × 1.1 km). A overlaps B by 0.2 units; the
    // strip from 2 to 2.5 is nobody's; C sticks 0.3 units out of the parent.
    let parent = rect(0.0, 0.0, 3.0, 1.0);
    let children = vec![
        shape("A", rect(0.0, 0.0, 1.2, 1.0)),
        shape("B", rect(1.0, 0.0, 2.0, 1.0)),
        shape("C", rect(2.5, 0.0, 3.3, 1.0)),
    ];
    let f = siblings(Some(&parent), &children);
    let got: Vec<(&str, Vec<&str>)> = f
        .iter()
        .map(|f| (f.key, f.codes.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        got,
        [
            ("grid_overlap", vec!["A", "B"]),
            ("grid_outside_parent", vec!["C"]),
            ("grid_gap", vec!["B", "C"]),
        ]
    );
    let overlap = area_m2(&rect(1.0, 0.0, 1.2, 1.0));
    let outside = area_m2(&rect(3.0, 0.0, 3.3, 1.0));
    let gap = area_m2(&rect(2.0, 0.0, 2.5, 1.0));
    // 0.002° × 0.01° at 39.9°N: about 170 m × 1110 m.
    assert!(close(overlap, 189_700.0, 0.01), "{overlap}");
    assert!(
        close(f[0].area_m2, overlap, 0.001),
        "{} vs {overlap}",
        f[0].area_m2
    );
    assert!(
        close(f[1].area_m2, outside, 0.001),
        "{} vs {outside}",
        f[1].area_m2
    );
    assert!(close(f[2].area_m2, gap, 0.001), "{} vs {gap}", f[2].area_m2);
    assert!(
        f[0].message.starts_with("网格 A 与网格 B 重叠约 18."),
        "{}",
        f[0].message
    );
    assert!(f[0].message.contains("公顷"), "{}", f[0].message);
    assert!(f[2].message.contains("未划入任何网格"), "{}", f[2].message);
    assert!(f[2].message.contains("相邻网格：B、C"), "{}", f[2].message);
    let (x, y) = f[2].at.unwrap();
    assert!(
        (116.02..=116.025).contains(&x) && (39.9..=39.91).contains(&y),
        "{x} {y}"
    );
}

#[test]
fn siblings_sharing_edges_are_clean() {
    let children = vec![
        shape("A", rect(0.0, 0.0, 1.0, 1.0)),
        shape("B", rect(1.0, 0.0, 2.0, 1.0)),
        shape("C", rect(0.0, 1.0, 2.0, 2.0)),
    ];
    assert!(siblings(Some(&rect(0.0, 0.0, 2.0, 2.0)), &children).is_empty());
    assert!(siblings(None, &children).is_empty());
}

#[test]
fn small_pieces_are_within_tolerance() {
    // A 0.4 mm-wide overlap along a 1.1 km edge (about 0.5 m²) is below the default tolerance,
    // reported at tolerance 0.
    let children = vec![
        shape("A", rect(0.0, 0.0, 1.0, 1.0)),
        shape("B", rect(0.999_999_5, 0.0, 2.0, 1.0)),
    ];
    assert!(siblings(None, &children).is_empty());
    let f = siblings_with_tolerance(None, &children, 0.0);
    assert_eq!(f.len(), 1);
    assert!(f[0].area_m2 > 0.4 && f[0].area_m2 < 0.6, "{}", f[0].area_m2);
}

#[test]
fn a_thousand_jittered_siblings() {
    let l = Lattice::around_beijing(1_000, true);
    let children: Vec<_> = l
        .polygons()
        .into_iter()
        .enumerate()
        .map(|(i, p)| shape(&format!("G{i:04}"), p))
        .collect();
    let t = std::time::Instant::now();
    let f = siblings(None, &children);
    assert!(f.is_empty(), "{:?}", &f[..f.len().min(3)]);
    // Move one grid half a cell east: it now overlaps its neighbours.
    let mut moved = children.clone();
    let p = &mut moved[500].polygon;
    geo::Translate::translate_mut(p, l.cell.0 / 2.0, 0.0);
    moved[500].bbox = bbox(p).unwrap();
    let f = siblings(None, &moved);
    assert!(
        f.iter()
            .all(|f| f.key == "grid_overlap" && f.codes.contains(&"G0500".to_string()))
    );
    assert!(f.len() >= 2, "{f:?}");
    eprintln!("1,000 siblings checked twice in {:?}", t.elapsed());
}
