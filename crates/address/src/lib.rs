//! Address resolution for Linli: free text such as `山东省临沂市蒙阴县常路镇薛家官庄` or
//! `东城区东华门街道多福巷社区某楼3单元` to province, city, county, town and community with their
//! official division codes (NBS 统计用区划代码).
//!
//! [`Gazetteer`] holds the division units and an index of every spelling of their names
//! (official, short, alias; see `names`); [`Gazetteer::resolve`] scans a text for those
//! spellings, scores every chain of units consistent with the codes' parent links and returns the
//! best with a confidence. [`eval`] measures it on labelled addresses; [`bench`] times it.
//! The method and the measured figures are in docs/address.md.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod bench;
mod error;
pub mod eval;
mod gazetteer;
mod load;
mod names;
mod normalize;
mod resolve;

pub use error::AddressError;
pub use eval::{EvalReport, Tally, eval};
pub use gazetteer::{Division, Gazetteer, Level, Unit};
pub use normalize::{MAX_CHARS, normalize_str};
pub use resolve::{Resolution, is_placeholder_city};

#[cfg(test)]
mod tests;
