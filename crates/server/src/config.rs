//! Configuration: built-in defaults < configuration file (`--config` / `LINLI_CONFIG`) <
//! environment (`LINLI_*`, nested keys with `__`, e.g. `LINLI_APP__SESSION_IDLE_SECS`) < flags.
//! Every key is documented in `config/linli.example.toml`.

use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use linli_app::AppConfig;
use linli_app::config::AttachmentsConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Where the embedded SQLite database and other local files live.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; empty means `sqlite://<data_dir>/linli.db`.
    pub database_url: String,
    /// Log filter (tracing `EnvFilter` syntax), e.g. `info` or `linli=debug,tower_http=info`.
    pub log: String,
    /// How often each server tries to run the deadline sweeper (one at a time holds the lease).
    pub sweep_every_secs: u64,
    pub web: WebSection,
    pub app: AppConfig,
    pub attachments: AttachmentsConfig,
    pub open311: Open311Section,
    pub crypto: CryptoSection,
}

/// The `[crypto]` section: the keyring that seals personal information (docs/security.md).
/// The keys themselves are never in this file: they are in `key_file`, or in the environment
/// variable `LINLI_KEYS` (the key file's JSON text), which wins.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CryptoSection {
    /// The key file; empty: `<data_dir>/keys.json` (made 0600 at first start).
    pub key_file: String,
    /// The algorithm of keys made at first start and by `linli keys rotate`:
    /// `aes-256-gcm` or `sm4-gcm` (国密).
    pub cipher: String,
}

impl Default for CryptoSection {
    fn default() -> Self {
        CryptoSection {
            key_file: String::new(),
            cipher: "aes-256-gcm".into(),
        }
    }
}

/// The `[open311]` section: the GeoReport v2 endpoints under `/open311/v2/` (docs/open311.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Open311Section {
    /// The district (6-digit code) the endpoints serve; empty: the only district there is.
    pub jurisdiction: String,
    /// A GeoJSON file of district boundaries (`properties.code`); empty: locations are only
    /// checked to lie in China.
    pub boundaries: String,
    /// Channels whose cases the public feed shows.
    pub public_channels: Vec<String>,
}

impl Default for Open311Section {
    fn default() -> Self {
        Open311Section {
            jurisdiction: String::new(),
            boundaries: String::new(),
            public_channels: linli_app::open311::Settings::default()
                .public_channels
                .iter()
                .map(|c| c.key().to_string())
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct WebSection {
    pub cookie_secure: bool,
    pub body_limit_bytes: usize,
    pub request_timeout_secs: u64,
    pub trust_proxy: bool,
    /// Where the resident portal's map opens: [lat, lng] (WGS84).
    pub map_center: [f64; 2],
    /// Map tile URL template for the portal (`https://tiles.example/{z}/{x}/{y}.png`); empty: a
    /// plain background.
    pub map_tile_url: String,
}

impl Default for WebSection {
    fn default() -> Self {
        let d = linli_web::WebConfig::default();
        WebSection {
            cookie_secure: d.cookie_secure,
            body_limit_bytes: d.body_limit,
            request_timeout_secs: d.request_timeout.as_secs(),
            trust_proxy: d.trust_proxy,
            map_center: [d.map_center.0, d.map_center.1],
            map_tile_url: d.map_tile_url,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            database_url: String::new(),
            log: "info,sqlx=warn".into(),
            sweep_every_secs: 15,
            web: WebSection::default(),
            app: AppConfig::default(),
            attachments: AttachmentsConfig::default(),
            open311: Open311Section::default(),
            crypto: CryptoSection::default(),
        }
    }
}

/// Environment variable holding the S3 secret key of the attachment store.
pub const S3_SECRET_ENV: &str = "LINLI_ATTACHMENTS_S3_SECRET_KEY";

impl Config {
    pub fn load(file: Option<&std::path::Path>) -> anyhow::Result<Config> {
        let mut f = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                anyhow::bail!("配置文件不存在：{}", path.display());
            }
            f = f.merge(Toml::file(path));
        }
        f = f.merge(Env::prefixed("LINLI_").split("__").ignore(&[
            "admin_password",
            "demo_password",
            "config",
            "pi_key",
            "keys",
            "attachments_s3_secret_key",
        ]));
        let mut cfg: Config = f.extract()?;
        cfg.apply_s3_secret(std::env::var(S3_SECRET_ENV).ok());
        Ok(cfg)
    }

    /// The one secret of the file gets a plain environment name of its own
    /// ([`S3_SECRET_ENV`]), so that it can come from a secret store without being written into
    /// the configuration file. A non-empty value wins over the file.
    fn apply_s3_secret(&mut self, from_env: Option<String>) {
        if let Some(secret) = from_env.filter(|s| !s.is_empty()) {
            self.attachments.s3.secret_key = secret;
        }
    }

    /// Where the keyring is read from (see [`CryptoSection`]).
    pub fn key_source(&self) -> anyhow::Result<linli_app::keys::Source> {
        let cipher = linli_app::keyring::Cipher::parse(&self.crypto.cipher).ok_or_else(|| {
            anyhow::anyhow!(
                "crypto.cipher 只能是 aes-256-gcm 或 sm4-gcm，而不是 {}",
                self.crypto.cipher
            )
        })?;
        let file = if self.crypto.key_file.is_empty() {
            self.data_dir.join("keys.json")
        } else {
            PathBuf::from(&self.crypto.key_file)
        };
        Ok(linli_app::keys::Source {
            env: std::env::var("LINLI_KEYS").ok(),
            file,
            cipher,
            legacy: Some(self.data_dir.join("pi.key")),
        })
    }

    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("linli.db").display())
        } else {
            self.database_url.clone()
        }
    }

    /// The attachment store this configuration names, with the size limits applied by
    /// [`linli_app::App::with_media_limits`].
    pub fn blob_store(&self) -> anyhow::Result<linli_app::BlobStore> {
        if self.attachments.max_image_bytes == 0 || self.attachments.max_audio_bytes == 0 {
            anyhow::bail!("attachments.max_image_bytes 与 max_audio_bytes 必须大于 0");
        }
        linli_app::BlobStore::from_config(&self.attachments, &self.data_dir)
            .map_err(|e| anyhow::anyhow!("附件存储配置错误：{e}"))
    }

    pub fn web_config(&self) -> anyhow::Result<linli_web::WebConfig> {
        Ok(linli_web::WebConfig {
            cookie_secure: self.web.cookie_secure,
            body_limit: self.web.body_limit_bytes,
            request_timeout: std::time::Duration::from_secs(self.web.request_timeout_secs.max(1)),
            trust_proxy: self.web.trust_proxy,
            open311: self.open311_settings()?,
            map_center: (self.web.map_center[0], self.web.map_center[1]),
            map_tile_url: self.web.map_tile_url.trim().to_string(),
        })
    }

    /// The Open311 settings, with the boundary file read and checked (a bad file stops the
    /// start rather than letting every location through).
    pub fn open311_settings(&self) -> anyhow::Result<linli_app::open311::Settings> {
        let o = &self.open311;
        let j = o.jurisdiction.trim();
        if !j.is_empty() && (j.len() != 6 || !j.bytes().all(|b| b.is_ascii_digit())) {
            anyhow::bail!("open311.jurisdiction 应为 6 位区县代码：{j:?}");
        }
        let boundaries = if o.boundaries.trim().is_empty() {
            Default::default()
        } else {
            let path = std::path::Path::new(o.boundaries.trim());
            let bytes = std::fs::read(path).map_err(|e| {
                anyhow::anyhow!("无法读取 open311.boundaries {}：{e}", path.display())
            })?;
            linli_app::open311::parse_boundaries(&bytes)
                .map_err(|e| anyhow::anyhow!("open311.boundaries {}：{e}", path.display()))?
        };
        let mut channels = Vec::new();
        for c in &o.public_channels {
            channels.push(
                linli_domain::case::Channel::parse(c.trim()).ok_or_else(|| {
                    anyhow::anyhow!("open311.public_channels 中的渠道 {c:?} 不存在")
                })?,
            );
        }
        Ok(linli_app::open311::Settings::new(
            (!j.is_empty()).then(|| j.to_string()),
            boundaries,
            channels,
        ))
    }
}

/// Hide the password in a database URL for printing.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented example must parse and state exactly the defaults.
    #[test]
    fn example_file_matches_defaults() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../config/linli.example.toml");
        let from_file: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(&path))
            .extract()
            .unwrap_or_else(|e| panic!("{e}"));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for key in [
            "listen",
            "data_dir",
            "database_url",
            "log",
            "cookie_secure",
            "body_limit_bytes",
            "session_idle_secs",
            "min_length",
            "max_failures",
            "lock_secs",
            "max_image_bytes",
            "max_audio_bytes",
            "store",
            "endpoint",
            "bucket",
            "path_style",
        ] {
            assert!(text.contains(&format!("{key} =")), "{key} documented");
        }
        assert_eq!(
            serde_json::to_value(&from_file).unwrap_or_default(),
            serde_json::to_value(Config::default()).unwrap_or_default()
        );
    }

    #[test]
    fn s3_secret_comes_from_the_environment_and_is_never_shown() {
        let mut cfg = Config::default();
        cfg.attachments.s3.secret_key = "from-file".into();
        cfg.apply_s3_secret(Some(String::new()));
        assert_eq!(cfg.attachments.s3.secret_key, "from-file");
        cfg.apply_s3_secret(Some("s3cr3t-from-env".into()));
        assert_eq!(cfg.attachments.s3.secret_key, "s3cr3t-from-env");
        assert!(!format!("{cfg:?}").contains("s3cr3t"));
        let json = serde_json::to_string(&cfg).unwrap_or_default();
        assert!(!json.contains("s3cr3t"), "{json}");

        cfg.attachments.store = linli_app::config::BlobBackend::S3;
        cfg.attachments.s3.secret_key = String::new();
        let e = cfg
            .blob_store()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("endpoint") && e.contains("secret_key"), "{e}");
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://linli:secret@db:5432/linli"),
            "postgres://linli:***@db:5432/linli"
        );
        assert_eq!(
            redact_url("sqlite://./data/linli.db"),
            "sqlite://./data/linli.db"
        );
    }
}
