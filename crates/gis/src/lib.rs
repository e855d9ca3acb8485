//! Grid polygons for Linli: the shapes of 网格 as the street office draws them, and the lookup
//! from a WGS84 point (a resident's report, a patrol's position) to the grid it falls in.
//!
//! - [`parse`](mod@parse) reads GeoJSON (a FeatureCollection, one Feature or a bare Polygon/MultiPolygon)
//!   with serde_json, validates every feature and reports *all* problems in Chinese with a stable
//!   key; [`GridShape::to_geojson`] is the portable form the store keeps (GeoJSON text plus
//!   bounding-box columns).
//! - [`check`] compares sibling grids: overlaps between them, and, given the parent (community
//!   or street) boundary, the gaps no grid covers and the parts of grids outside the parent.
//! - [`index`] holds the grids in an R-tree for point lookup; it is cheap to rebuild, so the
//!   server rebuilds it when grids change and swaps it behind an `Arc`.
//! - [`demo`] cuts a real district boundary into contiguous demo grids.
//! - [`bench`](mod@bench) times lookups on a synthetic 10,000-grid lattice.
//!
//! Coordinates are always `(lng, lat)` — longitude first, as in GeoJSON — in degrees (WGS84;
//! CGCS2000 differs from it by centimetres, far below grid precision). Areas are square metres
//! on the WGS84 ellipsoid ([`area`]).
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod area;
pub mod bench;
pub mod check;
pub mod demo;
mod error;
pub mod index;
mod pairs;
pub mod parse;
mod valid;

pub use bench::{BenchReport, Lattice, lookup_bench};
pub use check::{DEFAULT_TOLERANCE_M2, Finding, siblings, siblings_with_tolerance};
pub use demo::{district_from_file, partition};
pub use error::GisError;
pub use index::GridIndex;
pub use parse::{
    BBox, GridShape, Limits, Problem, geometry_from_geojson, geometry_to_geojson, parse, parse_with,
};

/// The polygon type every module works with: coordinates are `x` = longitude, `y` = latitude.
pub use geo::MultiPolygon;

#[cfg(test)]
mod tests;
