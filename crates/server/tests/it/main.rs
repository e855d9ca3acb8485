//! Integration tests of the whole platform through HTTP, on SQLite by default and on PostgreSQL
//! when `TEST_DATABASE_URL` is set. One test binary (each extra one is another full link).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod assessment;
mod audit;
mod auth;
mod bad_input;
mod cases;
mod catalogue;
mod console;
mod console_cases;
mod console_registry;
mod duplicates;
mod import;
mod intake;
mod keys;
mod notify;
mod open311;
mod permissions;
mod portal;
mod process;
mod registry;
mod registry_import;
mod registry_things;
mod search;
mod support;
