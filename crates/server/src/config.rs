//! Configuration: built-in defaults < configuration file (`--config` / `LINLI_CONFIG`) <
//! environment (`LINLI_*`, nested keys with `__`, e.g. `LINLI_APP__SESSION_IDLE_SECS`) < flags.
//! Every key is documented in `config/linli.example.toml`.

use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use linli_app::AppConfig;
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
    pub web: WebSection,
    pub app: AppConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct WebSection {
    pub cookie_secure: bool,
    pub body_limit_bytes: usize,
    pub request_timeout_secs: u64,
    pub trust_proxy: bool,
}

impl Default for WebSection {
    fn default() -> Self {
        let d = linli_web::WebConfig::default();
        WebSection {
            cookie_secure: d.cookie_secure,
            body_limit_bytes: d.body_limit,
            request_timeout_secs: d.request_timeout.as_secs(),
            trust_proxy: d.trust_proxy,
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
            web: WebSection::default(),
            app: AppConfig::default(),
        }
    }
}

impl Config {
    pub fn load(file: Option<&std::path::Path>) -> anyhow::Result<Config> {
        let mut f = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                anyhow::bail!("配置文件不存在：{}", path.display());
            }
            f = f.merge(Toml::file(path));
        }
        f = f.merge(Env::prefixed("LINLI_").split("__").ignore(&["admin_password", "demo_password", "config"]));
        Ok(f.extract()?)
    }

    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("linli.db").display())
        } else {
            self.database_url.clone()
        }
    }

    pub fn web_config(&self) -> linli_web::WebConfig {
        linli_web::WebConfig {
            cookie_secure: self.web.cookie_secure,
            body_limit: self.web.body_limit_bytes,
            request_timeout: std::time::Duration::from_secs(self.web.request_timeout_secs.max(1)),
            trust_proxy: self.web.trust_proxy,
        }
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
