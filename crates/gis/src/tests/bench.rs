//! Tests of `bench`: the report's shape (no timing assertions) and the lattice's validity.

use geo::Validation;

use crate::bench::{Lattice, lookup_bench};
use crate::check::siblings;
use crate::parse::parse;

#[test]
fn bench_runs_and_reports() {
    let r = lookup_bench(400, 5_000);
    assert_eq!((r.grids, r.lookups), (400, 5_000));
    assert!(r.found_fraction > 0.95, "{r:?}");
    assert!(r.candidates_per_lookup >= 1.0, "{r:?}");
    assert_eq!(r.vertices_per_grid, 20.0);
    let lines = r.lines();
    assert!(
        lines[0].starts_with("gis grid_lookup grids=400 lookups=5000 rate="),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("/s baseline_rtree=") && lines[0].contains(" build_ms="));
}

#[test]
fn jittered_lattice_is_valid_and_survives_the_store() {
    let l = Lattice::around_beijing(900, true);
    let polygons = l.polygons();
    assert!(polygons.iter().all(Validation::is_valid));
    // Through GeoJSON text and parse validation, bit for bit.
    let features: Vec<String> = polygons
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                r#"{{"type":"Feature","properties":{{"code":"G{i}"}},"geometry":{}}}"#,
                crate::geometry_to_geojson(p)
            )
        })
        .collect();
    let text = format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",")
    );
    let shapes = parse(&text).unwrap();
    for (s, p) in shapes.iter().zip(&polygons) {
        assert_eq!(&s.polygon, p);
    }
    assert!(siblings(None, &shapes).is_empty());
}
