//! Tests of `parse` and `valid`: every kind of refusal, all problems at once, the store round trip,
//! and that the crate's own validity checks are at least as strict as geo's.

use geo::{Coord, LineString, MultiPolygon, Polygon, Validation};
use proptest::prelude::*;

use crate::parse::{GridShape, Limits, Problem, parse, parse_with};
use crate::valid;

fn feature(code: &str, geometry: &str) -> String {
    format!(
        r#"{{"type":"Feature","properties":{{"code":"{code}","name":"网格{code}"}},"geometry":{geometry}}}"#
    )
}

fn collection(features: &[String]) -> String {
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",")
    )
}

fn polygon(rings: &str) -> String {
    format!(r#"{{"type":"Polygon","coordinates":{rings}}}"#)
}

const SQUARE: &str =
    "[[[116.40,39.90],[116.41,39.90],[116.41,39.91],[116.40,39.91],[116.40,39.90]]]";

fn errors(text: &str) -> Vec<Problem> {
    parse(text).expect_err("should be refused")
}

fn keys(problems: &[Problem]) -> Vec<&'static str> {
    problems.iter().map(|p| p.key).collect()
}

#[test]
fn valid_collection_with_hole_and_multipolygon() {
    let holed = polygon(
        "[[[116.40,39.90],[116.42,39.90],[116.42,39.92],[116.40,39.92],[116.40,39.90]],\
          [[116.405,39.905],[116.405,39.915],[116.415,39.915],[116.415,39.905],[116.405,39.905]]]",
    );
    let multi = r#"{"type":"MultiPolygon","coordinates":[
        [[[116.50,39.90],[116.51,39.90],[116.51,39.91],[116.50,39.91],[116.50,39.90]]],
        [[[116.52,39.90],[116.53,39.90],[116.53,39.91],[116.52,39.91],[116.52,39.90]]]]}"#;
    let text = collection(&[feature("A1", &holed), feature("A2", multi)]);
    let shapes = parse(&text).unwrap();
    assert_eq!(shapes.len(), 2);
    assert_eq!(shapes[0].code, "A1");
    assert_eq!(shapes[0].name.as_deref(), Some("网格A1"));
    assert_eq!(shapes[0].bbox, (116.40, 39.90, 116.42, 39.92));
    assert_eq!(shapes[0].polygon.0[0].interiors().len(), 1);
    assert_eq!(shapes[1].polygon.0.len(), 2);
    assert_eq!(shapes[1].bbox, (116.50, 39.90, 116.53, 39.91));
}

#[test]
fn geojson_text_round_trips_exactly() {
    // Awkward decimals and an inner ring written clockwise-first, to exercise orientation.
    let text = collection(&[feature(
        "R1",
        &polygon(
            "[[[116.123456789,39.987654321],[116.2,39.9876],[116.2,40.1],[116.1234,40.1],[116.123456789,39.987654321]],\
              [[116.15,40.0],[116.16,40.0],[116.16,40.01],[116.15,40.0]]]",
        ),
    )]);
    let shape = parse(&text).unwrap().remove(0);
    let stored = shape.to_geojson();
    assert!(
        stored.starts_with(r#"{"type":"Polygon","coordinates":[[[116.123456789,39.987654321],"#),
        "{stored}"
    );
    assert!(!stored.contains(' '), "compact: {stored}");
    let back = GridShape::from_geojson_geometry("R1", None, &stored).unwrap();
    assert_eq!(back.polygon, shape.polygon);
    assert_eq!(back.bbox, shape.bbox);

    let multi = collection(&[feature(
        "M1",
        r#"{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[2,0],[3,0],[3,1],[2,0]]]]}"#,
    )]);
    let shape = parse(&multi).unwrap().remove(0);
    let stored = shape.to_geojson();
    assert!(stored.contains(r#""type":"MultiPolygon""#));
    assert_eq!(
        crate::geometry_from_geojson(&stored).unwrap(),
        shape.polygon
    );
}

#[test]
fn reading_back_bad_text_is_an_error_with_problems() {
    let e = GridShape::from_geojson_geometry("X", None, "[1,2]").unwrap_err();
    assert_eq!(e.key(), "geojson_invalid");
    assert_eq!(e.problems()[0].key, "not_geojson");
    let open = polygon("[[[116.40,39.90],[116.41,39.90],[116.41,39.91],[116.40,39.91]]]");
    let e = GridShape::from_geojson_geometry("X", None, &open).unwrap_err();
    assert!(e.to_string().contains("外环未闭合"), "{e}");
    let two = collection(&[
        feature("A", &polygon(SQUARE)),
        feature("B", &polygon(SQUARE)),
    ]);
    assert_eq!(
        crate::geometry_from_geojson(&two).unwrap_err().key(),
        "geometry_not_single"
    );
}

#[test]
fn exterior_is_counter_clockwise_after_parse() {
    use geo::Winding;
    let cw = "[[[116.40,39.90],[116.40,39.91],[116.41,39.91],[116.41,39.90],[116.40,39.90]]]";
    let s = parse(&polygon(cw)).unwrap().remove(0);
    assert!(s.polygon.0[0].exterior().is_ccw());
    assert_eq!(s.code, "");
}

#[test]
fn unclosed_ring_is_refused_not_closed() {
    let open = "[[[116.40,39.90],[116.41,39.90],[116.41,39.91],[116.40,39.91]]]";
    let p = errors(&collection(&[feature("110101001001001", &polygon(open))]));
    assert_eq!(keys(&p), ["ring_not_closed"]);
    assert_eq!(p[0].index, 0);
    assert_eq!(p[0].code.as_deref(), Some("110101001001001"));
    assert!(
        p[0].message
            .starts_with("第 1 个要素（110101001001001）的外环未闭合"),
        "{}",
        p[0].message
    );
}

#[test]
fn bow_tie_is_a_self_intersection() {
    let bow = "[[[116.40,39.90],[116.41,39.91],[116.41,39.90],[116.40,39.91],[116.40,39.90]]]";
    let p = errors(&collection(&[feature("B1", &polygon(bow))]));
    assert_eq!(keys(&p), ["ring_self_intersection"]);
    assert!(p[0].message.contains("外环自相交"), "{}", p[0].message);
    // The crossing is at the middle, and the message says where.
    assert!(p[0].message.contains("116.405"), "{}", p[0].message);
}

#[test]
fn ring_with_three_positions() {
    let tri = "[[[116.40,39.90],[116.41,39.90],[116.40,39.90]]]";
    let p = errors(&collection(&[feature("T1", &polygon(tri))]));
    assert_eq!(keys(&p), ["ring_too_few_positions"]);
    assert!(p[0].message.contains("只有 3 个坐标"), "{}", p[0].message);
}

#[test]
fn four_positions_but_two_distinct_points() {
    let flat = "[[[116.40,39.90],[116.41,39.90],[116.41,39.90],[116.40,39.90]]]";
    assert_eq!(keys(&errors(&polygon(flat))), ["ring_degenerate"]);
}

#[test]
fn out_of_range_coordinates_with_hints() {
    // Latitude first (a common mistake) and a projected (metre) coordinate.
    let swapped = "[[[39.90,116.40],[39.90,116.41],[39.91,116.41],[39.90,116.40]]]";
    let p = errors(&polygon(swapped));
    assert_eq!(keys(&p), ["coordinate_out_of_range"]);
    assert!(p[0].message.contains("经纬度写反"), "{}", p[0].message);
    assert!(p[0].message.contains("共 4 处"), "{}", p[0].message);
    let metres = "[[[448000,4417000],[449000,4417000],[449000,4418000],[448000,4417000]]]";
    let p = errors(&polygon(metres));
    assert!(p[0].message.contains("投影坐标"), "{}", p[0].message);
    let lng = "[[[181,39.9],[116.41,39.90],[116.41,39.91],[181,39.9]]]";
    assert_eq!(keys(&errors(&polygon(lng))), ["coordinate_out_of_range"]);
}

#[test]
fn coordinates_must_be_numbers() {
    let text = r#"[[["116.40",39.90],[116.41,39.90],[116.41,39.91],[116.40],[116.40,39.90]]]"#;
    let p = errors(&polygon(text));
    assert_eq!(keys(&p), ["coordinates_malformed", "coordinate_not_number"]);
}

#[test]
fn other_geometry_types_are_refused() {
    for g in [
        r#"{"type":"Point","coordinates":[116.4,39.9]}"#,
        r#"{"type":"LineString","coordinates":[[116.4,39.9],[116.5,39.9]]}"#,
        r#"{"type":"GeometryCollection","geometries":[]}"#,
    ] {
        let p = errors(&collection(&[feature("P1", g)]));
        assert_eq!(keys(&p), ["geometry_type_unsupported"], "{g}");
        assert!(p[0].message.contains("只接受 Polygon 或 MultiPolygon"));
    }
    let p = errors(r#"{"type":"Point","coordinates":[116.4,39.9]}"#);
    assert_eq!(keys(&p), ["geometry_type_unsupported"]);
    assert!(p[0].message.starts_with("几何图形"), "{}", p[0].message);
}

#[test]
fn duplicate_codes_are_reported_on_the_repeat() {
    let other = SQUARE
        .replace("116.40", "116.30")
        .replace("116.41", "116.31");
    let text = collection(&[
        feature("D1", &polygon(SQUARE)),
        feature("D2", &polygon(&other)),
        feature("D1", &polygon(&other)),
    ]);
    let p = errors(&text);
    assert_eq!(keys(&p), ["code_duplicate"]);
    assert_eq!(p[0].index, 2);
    assert_eq!(p[0].message, "第 3 个要素（D1）的编码与第 1 个要素重复");
}

#[test]
fn every_problem_is_collected() {
    let open = "[[[116.40,39.90],[116.41,39.90],[116.41,39.91],[116.40,39.91]]]";
    let bow = "[[[116.40,39.90],[116.41,39.91],[116.41,39.90],[116.40,39.91],[116.40,39.90]]]";
    let tri = "[[[116.40,39.90],[116.41,39.90],[116.40,39.90]]]";
    let far = "[[[200,39.90],[116.41,39.90],[116.41,39.91],[200,39.90]]]";
    // One feature with two bad rings: an unclosed shell and a three-position hole.
    let two_bad_rings = "[[[116.40,39.90],[116.41,39.90],[116.41,39.91],[116.40,39.91]],\
                         [[116.402,39.902],[116.403,39.902],[116.402,39.902]]]";
    let text = format!(
        r#"{{"type":"FeatureCollection","features":[{},{},{},{},{},{},{},{}]}}"#,
        feature("E1", &polygon(open)),
        feature("E2", &polygon(bow)),
        feature("E3", &polygon(tri)),
        feature("E4", &polygon(far)),
        feature("E5", r#"{"type":"Point","coordinates":[116.4,39.9]}"#),
        feature("OK", &polygon(SQUARE)),
        r#"{"type":"Feature","properties":{"name":"无编码"},"geometry":null}"#,
        feature("E8", &polygon(two_bad_rings)),
    );
    let p = errors(&text);
    let got: Vec<(usize, &str)> = p.iter().map(|p| (p.index, p.key)).collect();
    assert_eq!(
        got,
        [
            (0, "ring_not_closed"),
            (1, "ring_self_intersection"),
            (2, "ring_too_few_positions"),
            (3, "coordinate_out_of_range"),
            (4, "geometry_type_unsupported"),
            (6, "code_missing"),
            (6, "geometry_missing"),
            (7, "ring_not_closed"),
            (7, "ring_too_few_positions"),
        ]
    );
    assert!(
        p[8].message.contains("第 1 个内环只有 3 个坐标"),
        "{}",
        p[8].message
    );
    assert!(p.iter().all(|p| !p.message.is_empty()));
}

#[test]
fn file_level_problems() {
    assert_eq!(keys(&errors("{\"type\":")), ["invalid_json"]);
    assert!(errors("{\"type\":")[0].message.contains("第 1 行"));
    assert_eq!(
        keys(&errors(r#"{"type":"FeatureCollection","features":[]}"#)),
        ["empty_collection"]
    );
    assert_eq!(keys(&errors(r#"{"features":[]}"#)), ["not_geojson"]);
    let limits = Limits {
        max_bytes: 100,
        ..Limits::default()
    };
    let big = collection(&[feature("L1", &polygon(SQUARE))]);
    let p = parse_with(&big, &limits).unwrap_err();
    assert_eq!(keys(&p), ["input_too_large"]);
    assert!(p[0].message.contains("上限为 100 字节"));
}

#[test]
fn vertex_limit_per_feature() {
    let limits = Limits {
        max_vertices_per_feature: 4,
        ..Limits::default()
    };
    let p = parse_with(&collection(&[feature("V1", &polygon(SQUARE))]), &limits).unwrap_err();
    assert_eq!(keys(&p), ["too_many_vertices"]);
    assert!(
        p[0].message.contains("有 5 个坐标点，超过上限 4"),
        "{}",
        p[0].message
    );
}

#[test]
fn codes_and_single_features() {
    // A lone Feature may omit its code; a collection may not; numeric codes are text.
    let lone =
        r#"{"type":"Feature","properties":null,"geometry":GEOM}"#.replace("GEOM", &polygon(SQUARE));
    assert_eq!(parse(&lone).unwrap()[0].code, "");
    let numeric = collection(&[
        r#"{"type":"Feature","properties":{"code":110101001001001},"geometry":GEOM}"#
            .replace("GEOM", &polygon(SQUARE)),
    ]);
    assert_eq!(parse(&numeric).unwrap()[0].code, "110101001001001");
    let nocode =
        collection(&[r#"{"type":"Feature","properties":{},"geometry":GEOM}"#
            .replace("GEOM", &polygon(SQUARE))]);
    assert_eq!(keys(&errors(&nocode)), ["code_missing"]);
    let badcode = collection(&[
        r#"{"type":"Feature","properties":{"code":[1]},"geometry":GEOM}"#
            .replace("GEOM", &polygon(SQUARE)),
    ]);
    assert_eq!(keys(&errors(&badcode)), ["code_invalid"]);
}

#[test]
fn holes_and_parts_must_be_well_placed() {
    let hole_outside = polygon(
        "[[[116.40,39.90],[116.41,39.90],[116.41,39.91],[116.40,39.91],[116.40,39.90]],\
          [[116.50,39.90],[116.51,39.90],[116.51,39.91],[116.50,39.90]]]",
    );
    assert_eq!(keys(&errors(&hole_outside)), ["hole_outside_shell"]);
    let overlapping_parts = r#"{"type":"MultiPolygon","coordinates":[
        [[[116.40,39.90],[116.42,39.90],[116.42,39.92],[116.40,39.92],[116.40,39.90]]],
        [[[116.41,39.91],[116.43,39.91],[116.43,39.93],[116.41,39.93],[116.41,39.91]]]]}"#;
    assert_eq!(keys(&errors(overlapping_parts)), ["parts_overlap"]);
    let touching_parts = r#"{"type":"MultiPolygon","coordinates":[
        [[[116.40,39.90],[116.41,39.90],[116.41,39.91],[116.40,39.91],[116.40,39.90]]],
        [[[116.41,39.90],[116.42,39.90],[116.42,39.91],[116.41,39.91],[116.41,39.90]]]]}"#;
    let p = errors(touching_parts);
    assert_eq!(keys(&p), ["parts_touch_on_line"]);
    assert!(
        p[0].message.contains("第 1 个与第 2 个多边形"),
        "{}",
        p[0].message
    );
}

#[test]
fn spikes_and_zero_area_rings_are_refused() {
    // geo's pairwise test accepts both; a grid with no area or a needle is a drawing mistake.
    let spike = "[[[116.40,39.90],[116.41,39.90],[116.42,39.90],[116.41,39.90],[116.41,39.91],[116.40,39.90]]]";
    assert_eq!(keys(&errors(&polygon(spike))), ["ring_self_intersection"]);
    let flat = "[[[116.40,39.90],[116.41,39.90],[116.42,39.90],[116.40,39.90]]]";
    assert_eq!(keys(&errors(&polygon(flat))), ["ring_self_intersection"]);
}

/// A ring of `n` vertices on a circle around Beijing (closed).
fn circle(n: usize, r: f64) -> Vec<[f64; 2]> {
    let mut pts: Vec<[f64; 2]> = (0..n)
        .map(|i| {
            let a = i as f64 / n as f64 * std::f64::consts::TAU;
            [116.4 + r * a.cos(), 39.9 + r * a.sin()]
        })
        .collect();
    pts.push(pts[0]);
    pts
}

#[test]
fn large_features_are_validated_quickly() {
    // 60,000 vertices: geo's pairwise test would compare 3.6e9 segment pairs.
    let ring = circle(60_000, 0.05);
    let text = polygon(&serde_json::to_string(&[&ring]).unwrap());
    let t = std::time::Instant::now();
    let shape = parse(&text).unwrap();
    assert_eq!(shape[0].polygon.0[0].exterior().0.len(), 60_001);
    // Swap two neighbouring vertices far from the seam: a tiny bow-tie.
    let mut bad = ring.clone();
    bad.swap(30_000, 30_001);
    let text = polygon(&serde_json::to_string(&[&bad]).unwrap());
    assert_eq!(keys(&errors(&text)), ["ring_self_intersection"]);
    eprintln!("two 60,000-vertex features validated in {:?}", t.elapsed());
}

fn ring_of(points: &[(i32, i32)]) -> LineString<f64> {
    let mut c: Vec<Coord<f64>> = points
        .iter()
        .map(|&(x, y)| Coord {
            x: f64::from(x),
            y: f64::from(y),
        })
        .collect();
    c.push(c[0]);
    LineString(c)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever geo's Validation refuses, this crate's own checks (the only ones applied to
    /// features too large for geo's pairwise test) refuse too. Small integer coordinates make
    /// touching vertices, collinear edges and shared lines common.
    #[test]
    fn own_checks_are_at_least_as_strict_as_geo(
        shell in prop::collection::vec((0i32..6, 0i32..6), 3..8),
        hole in prop::option::of(prop::collection::vec((0i32..6, 0i32..6), 3..5)),
        second in prop::option::of(prop::collection::vec((0i32..6, 0i32..6), 3..5)),
    ) {
        let mut first = Polygon::new(ring_of(&shell), vec![]);
        if let Some(h) = hole {
            first = Polygon::new(ring_of(&shell), vec![ring_of(&h)]);
        }
        let mut parts = vec![first];
        if let Some(s) = second {
            parts.push(Polygon::new(ring_of(&s), vec![]));
        }
        let mp = MultiPolygon(parts);
        // geo's relate panics on some invalid inputs; that counts as refusing them.
        let geo_valid = std::panic::catch_unwind(|| mp.is_valid()).unwrap_or(false);
        if !geo_valid {
            prop_assert!(!valid::own_defects(&mp).is_empty(), "{:?}", mp.validation_errors());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Whatever rings a file holds, parse answers (shapes or problems) and never panics.
    #[test]
    fn parse_never_panics(
        rings in prop::collection::vec(prop::collection::vec((0i32..5, 0i32..5), 0..7), 0..4),
        multi in any::<bool>(),
    ) {
        let rings: Vec<Vec<[f64; 2]>> = rings
            .iter()
            .map(|r| r.iter().map(|&(x, y)| [116.0 + f64::from(x) / 100.0, 39.0 + f64::from(y) / 100.0]).collect())
            .collect();
        let coords = serde_json::to_string(&rings).unwrap();
        let text = if multi {
            format!(r#"{{"type":"MultiPolygon","coordinates":[{coords},{coords}]}}"#)
        } else {
            polygon(&coords)
        };
        match parse(&text) {
            Ok(shapes) => prop_assert_eq!(shapes.len(), 1),
            Err(problems) => prop_assert!(!problems.is_empty()),
        }
    }
}
