//! Tests of the crate, one file per module.

mod bench;
mod check;
mod demo;
mod index;
mod parse;

use geo::{LineString, MultiPolygon, Polygon};

use crate::parse::GridShape;

/// A rectangle near Beijing in units of 0.01° from (116.0°E, 39.9°N).
pub(crate) fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    let (ox, oy, u) = (116.0, 39.9, 0.01);
    let ring = vec![
        (ox + x0 * u, oy + y0 * u),
        (ox + x1 * u, oy + y0 * u),
        (ox + x1 * u, oy + y1 * u),
        (ox + x0 * u, oy + y1 * u),
        (ox + x0 * u, oy + y0 * u),
    ];
    MultiPolygon(vec![Polygon::new(LineString::from(ring), vec![])])
}

pub(crate) fn shape(code: &str, polygon: MultiPolygon<f64>) -> GridShape {
    let bbox = crate::parse::bbox(&polygon).unwrap();
    GridShape {
        code: code.into(),
        name: None,
        polygon,
        bbox,
    }
}

/// Path of a file under the repository's `shared/data`, if present.
pub(crate) fn shared_data(rel: &str) -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipped: {} not found", p.display());
        None
    }
}
