//! Linli's use cases. Each public function takes the acting [`Principal`] (or, for log-in, the
//! request [`Ctx`]), checks permission and scope, applies domain rules, and writes the change
//! together with its audit row in one transaction through [`linli_store::retry`].
//! HTTP handlers and CLI commands are thin callers of these functions.
#![forbid(unsafe_code)]

/// `write_tx!(app, |tx| { … })`: run the block in a write transaction bound to `tx` and commit
/// it; the whole attempt starts again from scratch on serialization failures, deadlocks and a
/// busy SQLite file ([`linli_store::retry`]). A `?` inside the block abandons the attempt (the
/// transaction rolls back) and returns the error. Evaluates to `Result<T, AppError>` where `T`
/// is the block's value. A macro rather than a function so the block may borrow freely from the
/// caller, exactly as the written-out form would.
macro_rules! write_tx {
    ($app:expr, |$tx:ident| $body:block) => {
        linli_store::retry(|| async {
            let mut $tx = $app.db.begin_write().await?;
            let out = $body;
            $tx.commit().await?;
            Ok::<_, $crate::AppError>(out)
        })
        .await
    };
}

pub mod assessment;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod blobs;
pub mod bootstrap;
pub mod calendar;
pub mod cases;
pub mod catalogue;
pub mod config;
pub mod divisions;
pub mod duplicates;
pub mod error;
pub mod filer;
pub mod intake;
pub mod jobs;
pub mod keyring;
pub mod keys;
pub mod notify;
pub mod open311;
pub mod org;
pub mod pi;
pub mod places;
pub mod portal;
pub mod principal;
pub mod registry;
pub mod search;
pub mod sheet;
pub mod tokens;
pub mod units;
pub mod users;
pub mod whistle;

use std::sync::Arc;

use linli_domain::Clock;
use linli_domain::media::MediaLimits;
use linli_store::Db;

pub use blobs::BlobStore;
pub use config::AppConfig;
pub use error::AppError;
pub use principal::{Ctx, Principal};

/// Everything a use case needs: the database, the clock, the tunable policy, the key that seals
/// personal data, where attachment content is kept with the sizes it may have, and the
/// process-local caches.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub cfg: Arc<AppConfig>,
    pub blobs: Arc<BlobStore>,
    pub media: MediaLimits,
    pub keys: Arc<keyring::Keyring>,
    pub calendar: Arc<calendar::CalendarCache>,
    pub numbers: Arc<cases::NumberBlocks>,
    pub units: Arc<units::UnitCache>,
    pub entries: Arc<catalogue::EntryCache>,
    pub grants: Arc<auth::GrantCache>,
    /// Each district's intake classifier, as loaded ([`intake`]).
    pub models: Arc<intake::Models>,
    /// New cases, written in groups ([`filer`]).
    pub filer: Arc<filer::Filer>,
    /// Workbench tab counts, briefly reused ([`cases::queue_counts`]).
    pub counts: Arc<cases::CountCache>,
    /// The HTTP client of webhook and SMS deliveries ([`notify`]).
    pub notifier: Arc<notify::Notifier>,
    /// The full-text search dictionary ([`search`]).
    pub search: Arc<search::SearchDict>,
    /// The address resolver over the deployment's divisions ([`places`]).
    pub places: Arc<places::Places>,
    /// The grid polygons' point-to-grid index ([`registry::grids`]).
    pub grids: Arc<registry::grids::Grids>,
}

impl App {
    /// An app with the default attachment size limits (see [`App::with_media_limits`]) and a
    /// throw-away personal-data key (tests, benchmarks); the server sets the persistent one
    /// with [`App::with_keys`].
    pub fn new(db: Db, clock: Arc<dyn Clock>, cfg: AppConfig, blobs: BlobStore) -> Self {
        App {
            db,
            clock,
            cfg: Arc::new(cfg),
            blobs: Arc::new(blobs),
            media: MediaLimits::default(),
            keys: Arc::new(keyring::Keyring::ephemeral()),
            calendar: Arc::default(),
            numbers: Arc::default(),
            units: Arc::default(),
            entries: Arc::default(),
            grants: Arc::default(),
            models: Arc::default(),
            filer: Arc::default(),
            counts: Arc::default(),
            notifier: Arc::default(),
            search: Arc::default(),
            places: Arc::default(),
            grids: Arc::default(),
        }
    }

    /// Largest accepted image and audio files (`[attachments]` in the configuration).
    pub fn with_media_limits(mut self, limits: MediaLimits) -> Self {
        self.media = limits;
        self
    }

    pub fn with_keys(mut self, keys: keyring::Keyring) -> Self {
        self.keys = Arc::new(keys);
        self
    }

    pub fn now(&self) -> linli_domain::Ts {
        self.clock.now()
    }
}

pub type Result<T> = std::result::Result<T, AppError>;
