//! Policy an operator tunes (configuration file or `LINLI_*` environment), with safe defaults.

use linli_domain::media::MediaLimits;
use linli_domain::password::{LockoutPolicy, PasswordPolicy};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AppConfig {
    pub password: PasswordPolicy,
    pub lockout: LockoutPolicy,
    /// A session unused for this long is over (等保: 登录超时).
    pub session_idle_secs: i64,
    /// A session ends this long after log-in whatever happens.
    pub session_max_secs: i64,
    /// Name shown in authenticator apps.
    pub totp_issuer: String,
    /// Chain count per tenant is 1 today; kept configurable for very busy tenants.
    pub platform_name: String,
    /// Retrain each district's intake classifier from its finished cases this often (hours);
    /// 0 turns the schedule off (training on demand still works).
    pub classifier_retrain_hours: i64,
    /// Notifications: SMS to requesters, webhooks to outside systems.
    pub notify: NotifyConfig,
    /// Duplicate detection: which open cases a request is compared with, and how alike is alike.
    pub duplicates: DuplicatesConfig,
    /// Size of the generated demo registry (`serve --demo`): 1.0 gives about 20,000 residents
    /// in the demo district's 425 grids.
    pub demo_registry_scale: f64,
    /// District boundaries (GeoJSON) the demo cuts its grid polygons from; empty:
    /// `LINLI_DEMO_BOUNDARIES`, else `../shared/data/geo/beijing_districts.geojson`.
    pub demo_boundaries: String,
    /// The retention rule (PIPL Art. 47): a resident who moved out or died is anonymised once
    /// their record has not changed for this many years; 0 keeps records for ever.
    pub registry_retention_years: i64,
}

/// The `[app.duplicates]` section (docs/duplicates.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DuplicatesConfig {
    /// Compare with cases received this many days before the request (0 turns detection off).
    pub window_days: i64,
    /// When both have a map point, they must lie within this many metres.
    pub distance_m: f64,
    /// When both are categorised, they must share the first-level category.
    pub same_category: bool,
    /// Text similarity (0–1) from which a case is proposed ([`linli_text::similarity`]).
    pub threshold: f32,
    /// Most cases of the window one request is compared with (newest first).
    pub pool: i64,
}

impl Default for DuplicatesConfig {
    fn default() -> Self {
        DuplicatesConfig {
            window_days: 15,
            distance_m: 500.0,
            same_category: true,
            threshold: 0.4,
            pool: 500,
        }
    }
}

/// The `[app.notify]` section (docs/notifications.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct NotifyConfig {
    /// Tries before a delivery becomes a dead letter.
    pub max_attempts: i64,
    /// How long a worker holds a claimed delivery before another may take it (seconds).
    pub lease_secs: i64,
    /// How long one webhook or gateway request may take (seconds).
    pub timeout_secs: u64,
    /// The SMS gateway: empty logs each message (development); otherwise an HTTPS endpoint
    /// that takes `POST {"id","phone","text"}` with `Authorization: Bearer <sms_token>`.
    pub sms_url: String,
    pub sms_token: String,
    /// The signature at the head of every text message (短信签名).
    pub sms_sign: String,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            max_attempts: 8,
            lease_secs: 60,
            timeout_secs: 10,
            sms_url: String::new(),
            sms_token: String::new(),
            sms_sign: "邻里".to_string(),
        }
    }
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            password: PasswordPolicy::default(),
            lockout: LockoutPolicy::default(),
            session_idle_secs: 30 * 60,
            session_max_secs: 12 * 3600,
            totp_issuer: "邻里".to_string(),
            platform_name: "邻里社区综合管理服务平台".to_string(),
            classifier_retrain_hours: 24,
            notify: NotifyConfig::default(),
            duplicates: DuplicatesConfig::default(),
            demo_registry_scale: 1.0,
            demo_boundaries: String::new(),
            registry_retention_years: 5,
        }
    }
}

/// Where attachment content is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobBackend {
    /// Files under `<data_dir>/attachments` (or `dir`).
    Fs,
    /// An S3-compatible object store (MinIO, Ceph RGW, cloud object storage).
    S3,
}

/// The `[attachments]` section: accepted sizes and the blob store.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AttachmentsConfig {
    pub store: BlobBackend,
    /// Largest accepted image, in bytes.
    pub max_image_bytes: u64,
    /// Largest accepted audio file, in bytes.
    pub max_audio_bytes: u64,
    /// Directory of the `fs` store; empty means `<data_dir>/attachments`.
    pub dir: String,
    pub s3: S3Config,
}

impl Default for AttachmentsConfig {
    fn default() -> Self {
        let l = MediaLimits::default();
        AttachmentsConfig {
            store: BlobBackend::Fs,
            max_image_bytes: l.max_image_bytes,
            max_audio_bytes: l.max_audio_bytes,
            dir: String::new(),
            s3: S3Config::default(),
        }
    }
}

impl AttachmentsConfig {
    pub fn limits(&self) -> MediaLimits {
        MediaLimits {
            max_image_bytes: self.max_image_bytes,
            max_audio_bytes: self.max_audio_bytes,
        }
    }
}

/// Connection to an S3-compatible store. The secret key is never serialized or printed; set it
/// through `LINLI_ATTACHMENTS_S3_SECRET_KEY` rather than in a file.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct S3Config {
    /// `https://s3.example.gov.cn` or `http://10.0.0.5:9000`.
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key: String,
    #[serde(skip_serializing)]
    pub secret_key: String,
    /// `https://endpoint/bucket/key` (MinIO, Ceph) instead of `https://bucket.endpoint/key`.
    pub path_style: bool,
    /// Give up on one request after this long.
    pub timeout_secs: u64,
}

impl Default for S3Config {
    fn default() -> Self {
        S3Config {
            endpoint: String::new(),
            region: "us-east-1".to_string(),
            bucket: String::new(),
            access_key: String::new(),
            secret_key: String::new(),
            path_style: true,
            timeout_secs: 60,
        }
    }
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key", &self.access_key)
            .field("secret_key", &"***")
            .field("path_style", &self.path_style)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}
