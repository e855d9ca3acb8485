//! Tests of `demo` on the real 东城区 boundary (skipped when shared/data is absent).

use geo::{Distance, Euclidean, Validation};

use super::{shape, shared_data};
use crate::area::area_m2;
use crate::check::siblings;
use crate::demo::{district_from_file, partition};

/// 169 communities of 2 or 3 grids, 420 grids in all, like 东城区's.
fn groups() -> Vec<(String, usize)> {
    (0..169)
        .map(|i| (format!("110101{:06}", i + 1), if i < 82 { 3 } else { 2 }))
        .collect()
}

#[test]
fn dongcheng_cut_into_420_grids() {
    let Some(path) = shared_data("geo/beijing_districts.geojson") else {
        return;
    };
    let district = district_from_file(&path, "110101").unwrap();
    let groups = groups();
    assert_eq!(groups.iter().map(|g| g.1).sum::<usize>(), 420);
    let t = std::time::Instant::now();
    let cells = partition(&district, &groups);
    let took = t.elapsed();
    assert_eq!(cells.len(), 420);

    // Communities in order, each with ordinals 1..=count.
    let mut at = 0;
    for (code, count) in &groups {
        for ordinal in 1..=*count {
            assert_eq!((&cells[at].0, cells[at].1), (code, ordinal));
            at += 1;
        }
    }
    for (_, _, cell) in &cells {
        assert!(cell.is_valid(), "{:?}", cell.validation_errors());
        assert_eq!(
            cell.0.len(),
            1,
            "東城 is one polygon, so every cell is contiguous"
        );
    }

    // No overlaps, nothing outside the district, no gaps, beyond 1 m².
    let shapes: Vec<_> = cells
        .iter()
        .enumerate()
        .map(|(i, (_, _, p))| shape(&format!("C{i:03}"), p.clone()))
        .collect();
    let findings = siblings(Some(&district), &shapes);
    assert!(findings.is_empty(), "{findings:?}");
    let total: f64 = cells.iter().map(|c| area_m2(&c.2)).sum();
    let whole = area_m2(&district);
    assert!((total - whole).abs() < 0.005 * whole, "{total} vs {whole}");
    // 东城区 is about 41.8 km².
    assert!((40e6..44e6).contains(&whole), "{whole}");

    // A community's grids are mostly neighbours (the serpentine walk).
    let mut pairs = 0;
    let mut touching = 0;
    for w in cells.windows(2) {
        if w[0].0 == w[1].0 {
            pairs += 1;
            if Euclidean.distance(&w[0].2, &w[1].2) < 1e-9 {
                touching += 1;
            }
        }
    }
    let sizes: Vec<f64> = cells.iter().map(|c| area_m2(&c.2)).collect();
    let (min, max) = sizes
        .iter()
        .fold((f64::MAX, 0.0f64), |(a, b), &s| (a.min(s), b.max(s)));
    eprintln!(
        "东城区 420 cells in {took:?}: {touching}/{pairs} same-community neighbours touch; cell area {min:.0}–{max:.0} m²"
    );
    assert!(touching * 10 >= pairs * 9, "{touching}/{pairs}");
}

#[test]
fn partition_is_deterministic_and_handles_edges() {
    let Some(path) = shared_data("geo/beijing_districts.geojson") else {
        return;
    };
    let district = district_from_file(&path, "110101").unwrap();
    let groups: Vec<(String, usize)> = (0..10).map(|i| (format!("C{i}"), 3)).collect();
    let a = partition(&district, &groups);
    let b = partition(&district, &groups);
    assert_eq!(a.len(), 30);
    assert_eq!(a, b);
    assert!(partition(&district, &[]).is_empty());
    assert_eq!(partition(&district, &[("X".into(), 1)]).len(), 1);
}

#[test]
fn districts_file_errors() {
    let Some(path) = shared_data("geo/beijing_districts.geojson") else {
        return;
    };
    let e = district_from_file(&path, "999999").unwrap_err();
    assert_eq!(e.key(), "district_not_found");
    assert!(e.to_string().contains("999999"));
    let e = district_from_file(path.with_file_name("absent.geojson"), "110101").unwrap_err();
    assert_eq!(e.key(), "gis_file_unreadable");
    // Every district in the file is valid and has area.
    for code in ["110102", "110105", "110119"] {
        assert!(area_m2(&district_from_file(&path, code).unwrap()) > 1e7);
    }
}
