//! One error type for every use case. Each variant has a stable snake_case key (API clients and
//! the console key on it) and a Chinese message for people. Internal details are logged, never
//! returned.

use linli_store::{Retryable, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input failed validation; the message says what to fix.
    #[error("{message}")]
    Invalid { key: &'static str, message: String },
    #[error("未登录或登录已过期")]
    Unauthenticated,
    #[error("用户名或密码错误")]
    BadCredentials,
    #[error("账号已锁定，请 {minutes} 分钟后再试或联系安全管理员")]
    Locked { minutes: i64 },
    #[error("账号已停用")]
    Disabled,
    #[error("动态验证码错误或已使用")]
    BadTotp,
    #[error("无权执行此操作")]
    Forbidden,
    /// Missing, or outside the caller's scope: the two are indistinguishable on purpose.
    #[error("{0}不存在")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("数据已被他人修改，请刷新后重试")]
    Stale,
    /// A step the case's state (or the rules) do not admit now; `key` is specific.
    #[error("{message}")]
    Refused { key: &'static str, message: String },
    /// Too many requests from one phone number or one address; try again later.
    #[error("{0}")]
    RateLimited(String),
    /// An outside service the request needs (the SMS gateway) did not answer.
    #[error("{0}")]
    Unavailable(String),
    #[error("服务器内部错误")]
    Internal(String),
    #[error("数据库错误")]
    Store(#[from] StoreError),
}

impl AppError {
    pub fn invalid(key: &'static str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            key,
            message: message.into(),
        }
    }

    pub fn key(&self) -> &'static str {
        match self {
            AppError::Invalid { key, .. } => key,
            AppError::Unauthenticated => "unauthenticated",
            AppError::BadCredentials => "bad_credentials",
            AppError::Locked { .. } => "account_locked",
            AppError::Disabled => "account_disabled",
            AppError::BadTotp => "bad_totp",
            AppError::Forbidden => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::Stale => "stale_version",
            AppError::Refused { key, .. } => key,
            AppError::RateLimited(_) => "rate_limited",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal",
            AppError::Store(StoreError::Unique(_)) => "conflict",
            AppError::Store(_) => "internal",
        }
    }

    /// The Chinese message shown to people.
    pub fn message(&self) -> String {
        match self {
            AppError::Store(StoreError::Unique(_)) => "数据重复：已存在相同的记录".to_string(),
            other => other.to_string(),
        }
    }
}

/// A rule of the domain said no: malformed input is 422 `Invalid`, a step out of turn 409
/// `Refused`, each with the rule's own key.
impl From<linli_domain::case::Refusal> for AppError {
    fn from(r: linli_domain::case::Refusal) -> Self {
        if r.is_bad_input() {
            AppError::invalid(r.key, r.message)
        } else {
            AppError::Refused {
                key: r.key,
                message: r.message,
            }
        }
    }
}

impl Retryable for AppError {
    fn is_retryable(&self) -> bool {
        matches!(self, AppError::Store(e) if e.is_retryable())
    }
}
