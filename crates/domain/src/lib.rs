//! Linli's domain: the types, state machines, rules and formulas the platform is made of.
//!
//! Nothing here does IO, spawns tasks or speaks SQL, so every rule can be tested exhaustively
//! and fast. The `store` crate persists these types; the `app` crate orchestrates them.
#![forbid(unsafe_code)]

pub mod assessment;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod case;
pub mod catalogue;
pub mod clock;
pub mod component;
pub mod geo;
pub mod idnumber;
pub mod ids;
mod keyed;
pub mod media;
pub mod notify;
pub mod open311;
pub mod org;
pub mod password;
pub mod registry;
pub mod registry_demo;
pub mod totp;
pub mod whistle;

pub use clock::{Clock, FakeClock, SystemClock, Ts};
