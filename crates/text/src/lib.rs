//! Chinese text for machines: [`normalize`] folds what people type (full-width digits and
//! letters, compatibility forms, upper case, emoji, control characters) into one canonical form,
//! and [`Segmenter`] cuts it into words with jieba plus a user dictionary, so that the names a
//! deployment cares about (streets, communities, roads, catalogue terms) stay whole.
//!
//! [`similarity`] compares two requests' terms for duplicate detection.
//!
//! Both the request classifier and full-text search (FTS5 / `tsvector`) use the same terms, so a
//! word the classifier sees is a word search can find.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod normalize;
mod search;
mod segment;
mod similar;

pub use normalize::{DEFAULT_MAX_CHARS, is_term_char, normalize, normalize_capped};
pub use search::{MAX_DOC_TERMS, MAX_QUERY_GROUPS, highlight, index_terms, query_groups, snippet};
pub use segment::Segmenter;
pub use similar::{Fingerprint, similarity};
