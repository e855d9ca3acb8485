//! Linli over HTTP.
//!
//! - `/api/v1/…`: JSON API (OpenAPI at `/api/v1/openapi.json`, Swagger UI at `/api/docs`),
//!   authenticated by session cookie (+ `X-CSRF-Token` on writes) or `Authorization: Bearer`.
//! - `/console/…` and `/login`: the staff console, server-rendered (askama + htmx).
//! - `/` and `/signin`, `/report`, `/my`, `/notices`, `/nearby`, `/c/…`: the resident portal
//!   (its own phone-code session; [`portal`]).
//! - `/open311/v2/…`: Open311 GeoReport v2 (JSON and XML) for outside 311 clients; reads are
//!   public, filing takes an Open311 API key.
//! - `/healthz`, `/readyz`, `/metrics`, `/static/…`.
//!
//! One middleware ([`auth::authenticate`]) resolves the principal once per request and enforces
//! CSRF on unsafe methods; handlers are thin: parse, call an `app` use case, render.
#![forbid(unsafe_code)]

pub mod api;
pub mod assets;
pub mod auth;
pub mod console;
pub mod error;
pub mod metrics;
pub mod open311;
pub mod portal;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use linli_app::App;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Mark cookies `Secure` (set when served over HTTPS, directly or behind a proxy).
    pub cookie_secure: bool,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Requests taking longer are answered 408.
    pub request_timeout: Duration,
    /// Trust `X-Forwarded-For` from a reverse proxy for the client address in audit rows.
    pub trust_proxy: bool,
    /// The Open311 endpoints: jurisdiction, boundaries, public channels (the resident portal
    /// files into the same jurisdiction and shows the same public cases).
    pub open311: linli_app::open311::Settings,
    /// Where the portal's map opens (WGS84 lat, lng).
    pub map_center: (f64, f64),
    /// A map tile URL template (`https://…/{z}/{x}/{y}.png`, WGS84/Web Mercator tiles); empty:
    /// a plain background with a scale (intranets without a tile server).
    pub map_tile_url: String,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            cookie_secure: false,
            body_limit: 1 << 20,
            request_timeout: Duration::from_secs(30),
            trust_proxy: false,
            open311: linli_app::open311::Settings::default(),
            map_center: (39.9288, 116.4164),
            map_tile_url: String::new(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub web: Arc<WebConfig>,
    pub metrics: Arc<metrics::Metrics>,
}

pub fn router(app: App, web: WebConfig) -> Router {
    let state = AppState {
        app,
        web: Arc::new(web.clone()),
        metrics: Arc::new(metrics::Metrics::default()),
    };
    let x_request_id = header::HeaderName::from_static("x-request-id");
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::render))
        .route("/static/{*path}", get(assets::serve))
        .merge(api::routes())
        .merge(console::routes())
        .merge(open311::routes())
        .merge(portal::routes())
        .fallback(fallback)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(web.body_limit))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            web.request_timeout,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .with_state(state)
}

async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    match s.app.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

async fn fallback(uri: axum::http::Uri) -> axum::response::Response {
    if uri.path().starts_with("/api/") {
        error::ApiError(linli_app::AppError::NotFound("接口")).into_response()
    } else if uri.path().starts_with("/open311/") {
        open311::not_found()
    } else {
        console::not_found_page().into_response()
    }
}
