//! Linli's use cases. Each public function takes the acting [`Principal`] (or, for log-in, the
//! request [`Ctx`]), checks permission and scope, applies domain rules, and writes the change
//! together with its audit row in one transaction through [`linli_store::retry`].
//! HTTP handlers and CLI commands are thin callers of these functions.
#![forbid(unsafe_code)]

pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod config;
pub mod divisions;
pub mod error;
pub mod org;
pub mod principal;
pub mod tokens;
pub mod users;

use std::sync::Arc;

use linli_domain::Clock;
use linli_store::Db;

pub use config::AppConfig;
pub use error::AppError;
pub use principal::{Ctx, Principal};

/// Everything a use case needs: the database, the clock and the tunable policy.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub cfg: Arc<AppConfig>,
}

impl App {
    pub fn new(db: Db, clock: Arc<dyn Clock>, cfg: AppConfig) -> Self {
        App {
            db,
            clock,
            cfg: Arc::new(cfg),
        }
    }
    pub fn now(&self) -> linli_domain::Ts {
        self.clock.now()
    }
}

pub type Result<T> = std::result::Result<T, AppError>;
