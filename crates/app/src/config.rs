//! Policy an operator tunes (configuration file or `LINLI_*` environment), with safe defaults.

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
        }
    }
}
