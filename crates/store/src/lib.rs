//! Linli's persistence layer.
//!
//! One [`Db`] holds a concrete SQLite or PostgreSQL pool (never `sqlx::Any`). Repositories are
//! written once: the same SQL text runs on both engines (SQLite accepts `$1` placeholders),
//! arguments are passed as typed [`Arg`]s and rows read through [`Row`], and where the engines
//! differ a repository matches on [`Engine`] explicitly. Writes go through [`Tx`], opened with
//! [`Db::begin_write`], inside the [`retry`] helper.
#![forbid(unsafe_code)]

mod db;
pub mod migrate;
pub mod repo;

pub use db::{
    Arg, Db, Engine, Params, Retryable, Row, Sql, StoreError, Tx, replace_db_name, retry,
};
