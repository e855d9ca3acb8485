//! Request authentication, CSRF enforcement and the extractors handlers use.
//!
//! [`authenticate`] runs on every request: it builds the audit [`Ctx`], resolves a bearer token
//! or the session cookie to a [`Principal`] (once), and refuses unsafe methods from cookie
//! sessions that do not carry the session's CSRF token (header `X-CSRF-Token`, or form field
//! `csrf` for plain HTML forms). Bearer requests are not CSRF-prone and skip the check.

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use linli_app::{AppError, Ctx, Principal};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::{ApiError, raw};

pub const SESSION_COOKIE: &str = "linli_session";
/// Pre-session cookie for the log-in form's double-submit CSRF token.
pub const LOGIN_COOKIE: &str = "linli_login";
/// Half-open session (password accepted, second factor pending).
pub const PENDING_COOKIE: &str = "linli_pending";
pub const CSRF_HEADER: &str = "x-csrf-token";

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<i64>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(a) = max_age {
        c.push_str(&format!("; Max-Age={a}"));
    }
    c
}

pub fn clear_cookie(name: &str) -> String {
    format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .map(str::trim)
}

fn client_ip(req: &Request, trust_proxy: bool) -> String {
    if trust_proxy
        && let Some(xff) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
        && let Some(first) = xff.split(',').next()
    {
        return first.trim().chars().take(64).collect();
    }
    req.extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default()
}

/// Constant-time comparison for secrets.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn is_unsafe(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

pub async fn authenticate(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let ctx = Ctx {
        request_id: req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(64)
            .collect(),
        ip: client_ip(&req, s.web.trust_proxy),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(256)
            .collect(),
    };
    // Open311 clients authenticate with their api_key, never with a session or a bearer token,
    // so neither is looked at (nor is a session's CSRF token asked of them).
    // The resident portal has its own session and CSRF token ([`crate::portal`]).
    if req.uri().path().starts_with("/open311/") || crate::portal::is_portal_path(req.uri().path())
    {
        let mut req = req;
        req.extensions_mut().insert(ctx);
        return next.run(req).await;
    }
    let is_api = req.uri().path().starts_with("/api/");
    let mut principal = None;
    let mut via_cookie = false;
    if let Some(tok) = bearer(req.headers()) {
        match linli_app::auth::resolve_api_token(&s.app, tok, ctx.clone()).await {
            Ok(p) => principal = Some(p),
            Err(e) => return ApiError(e).into_response(),
        }
    } else if let Some(tok) = cookie(req.headers(), SESSION_COOKIE) {
        match linli_app::auth::resolve_session(&s.app, tok, ctx.clone()).await {
            Ok(p) => {
                principal = Some(p);
                via_cookie = true;
            }
            Err(AppError::Unauthenticated) => {}
            Err(e) => return ApiError(e).into_response(),
        }
    }

    let mut req = req;
    // Log-in endpoints authenticate by password and carry their own protection (JSON content
    // type; the form's double-submit token), so an old session cookie must not block them.
    let is_login = matches!(
        req.uri().path(),
        "/api/v1/session" | "/login" | "/login/totp"
    ) && req.method() == Method::POST;
    if via_cookie && is_unsafe(req.method()) && !is_login {
        let expected = principal
            .as_ref()
            .and_then(|p| p.csrf.clone())
            .unwrap_or_default();
        let (ok, rebuilt) = csrf_ok(req, &expected, s.web.body_limit).await;
        req = match rebuilt {
            Some(r) => r,
            None => {
                return raw(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    "请求体过大",
                );
            }
        };
        if !ok {
            return if is_api {
                raw(
                    StatusCode::FORBIDDEN,
                    "csrf_failed",
                    "安全校验失败，请刷新页面后重试",
                )
            } else {
                crate::console::csrf_failed_page().into_response()
            };
        }
    }
    req.extensions_mut().insert(ctx);
    if let Some(p) = principal {
        req.extensions_mut().insert(p);
    }
    next.run(req).await
}

/// Check the CSRF token in the header, or in a url-encoded form body (which is buffered and put
/// back for the handler). Returns the request to continue with (None if the body was too big).
async fn csrf_ok(req: Request, expected: &str, limit: usize) -> (bool, Option<Request>) {
    if let Some(h) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        let ok = !expected.is_empty() && same(h, expected);
        return (ok, Some(req));
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return (false, Some(req));
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return (false, None);
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let ok = !expected.is_empty() && fields.iter().any(|(k, v)| k == "csrf" && same(v, expected));
    (
        ok,
        Some(Request::from_parts(parts, axum::body::Body::from(bytes))),
    )
}

/// The authenticated principal, for API handlers: absent → 401 JSON.
pub struct ApiAuth(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for ApiAuth {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(ApiAuth)
            .ok_or_else(|| ApiError(AppError::Unauthenticated).into_response())
    }
}

/// The authenticated principal, for console pages: absent → redirect to the log-in page; an
/// account that must change its password is sent to the profile page first.
pub struct ConsoleAuth(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for ConsoleAuth {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(p) = parts.extensions.get::<Principal>().cloned() else {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/console");
            let target = format!("/login?next={}", urlencode(next));
            // htmx follows HX-Redirect instead of swapping a log-in page into a fragment.
            if parts.headers.contains_key("hx-request") {
                return Err(([("HX-Redirect", target)], StatusCode::UNAUTHORIZED).into_response());
            }
            return Err(Redirect::to(&target).into_response());
        };
        if p.must_change_password
            && !parts.uri.path().starts_with("/console/profile")
            && parts.method == Method::GET
        {
            return Err(Redirect::to("/console/profile?must_change=1").into_response());
        }
        Ok(ConsoleAuth(p))
    }
}

/// Audit facts of the request (always present after [`authenticate`]).
pub struct ReqCtx(pub Ctx);

impl<S: Send + Sync> FromRequestParts<S> for ReqCtx {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ReqCtx(
            parts.extensions.get::<Ctx>().cloned().unwrap_or_default(),
        ))
    }
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Only local paths may be redirect targets (no open redirects).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.starts_with("/login") =>
        {
            n.to_string()
        }
        _ => "/console".to_string(),
    }
}

/// JSON body with our error format on rejection.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(v)| ApiJson(v))
            .map_err(crate::error::json_rejection)
    }
}

/// Query string with our error format on rejection.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(crate::error::query_rejection)
    }
}

/// Path parameters; a malformed id is simply "not found".
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(crate::error::path_rejection)
    }
}

/// Url-encoded form with our error format on rejection.
pub struct ApiForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiForm<T> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Form::<T>::from_request(req, state)
            .await
            .map(|axum::Form(v)| ApiForm(v))
            .map_err(crate::error::form_rejection)
    }
}
