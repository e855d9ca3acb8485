//! Log-in (password, then TOTP or TOTP enrolment) and log-out pages.
//!
//! The log-in form is protected by a double-submit token: GET sets a random `linli_login`
//! cookie and puts the same value in the form; POST requires both to match.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use linli_app::AppError;
use linli_app::auth::LoginOutcome;
use serde::Deserialize;

use super::render;
use crate::AppState;
use crate::auth::{
    ApiForm, ApiQuery, LOGIN_COOKIE, PENDING_COOKIE, ReqCtx, SESSION_COOKIE, clear_cookie, cookie,
    safe_next, same, set_cookie,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/login/totp", get(totp_page).post(totp_submit))
        .route("/logout", post(logout))
}

pub enum LoginStep {
    Password,
    Totp,
    Enrol,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    platform: String,
    step: LoginStep,
    csrf: String,
    next: String,
    username: String,
    error: Option<String>,
    secret: String,
    qr_svg: String,
    max_failures: i64,
    lock_minutes: i64,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

fn page(s: &AppState, step: LoginStep, csrf: String, next: String) -> LoginPage {
    LoginPage {
        platform: s.app.cfg.platform_name.clone(),
        step,
        csrf,
        next,
        username: String::new(),
        error: None,
        secret: String::new(),
        qr_svg: String::new(),
        max_failures: s.app.cfg.lockout.max_failures,
        lock_minutes: (s.app.cfg.lockout.lock_secs / 60).max(1),
    }
}

fn with_login_cookie(s: &AppState, p: &LoginPage, status: axum::http::StatusCode) -> Response {
    (
        status,
        [(
            header::SET_COOKIE,
            set_cookie(LOGIN_COOKIE, &p.csrf, s.web.cookie_secure, Some(3600)),
        )],
        render(p),
    )
        .into_response()
}

async fn login_page(State(s): State<AppState>, ApiQuery(q): ApiQuery<NextQuery>) -> Response {
    let p = page(
        &s,
        LoginStep::Password,
        linli_app::auth::random_token(),
        safe_next(q.next.as_deref()),
    );
    with_login_cookie(&s, &p, axum::http::StatusCode::OK)
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: String,
    username: String,
    password: String,
    next: Option<String>,
}

fn login_csrf_ok(headers: &HeaderMap, form_csrf: &str) -> bool {
    cookie(headers, LOGIN_COOKIE).is_some_and(|c| !c.is_empty() && same(c, form_csrf))
}

async fn login_submit(
    State(s): State<AppState>,
    ReqCtx(ctx): ReqCtx,
    headers: HeaderMap,
    ApiForm(f): ApiForm<LoginForm>,
) -> Response {
    if !login_csrf_ok(&headers, &f.csrf) {
        return super::csrf_failed_page();
    }
    let next = safe_next(f.next.as_deref());
    match linli_app::auth::login(&s.app, &f.username, &f.password, None, &ctx).await {
        Ok(LoginOutcome::Active { token, .. }) => (
            [(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &token, s.web.cookie_secure, None),
            )],
            Redirect::to(&next),
        )
            .into_response(),
        Ok(LoginOutcome::NeedTotp { token }) | Ok(LoginOutcome::NeedEnrol { token, .. }) => (
            [(
                header::SET_COOKIE,
                set_cookie(PENDING_COOKIE, &token, s.web.cookie_secure, Some(600)),
            )],
            Redirect::to(&format!(
                "/login/totp?next={}",
                crate::auth::urlencode(&next)
            )),
        )
            .into_response(),
        Err(e) => {
            let mut p = page(
                &s,
                LoginStep::Password,
                linli_app::auth::random_token(),
                next,
            );
            p.username = f.username.chars().take(64).collect();
            p.error = Some(e.message());
            with_login_cookie(&s, &p, crate::error::status_of(&e))
        }
    }
}

async fn totp_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<NextQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    totp_render(&s, &headers, next, None, axum::http::StatusCode::OK).await
}

async fn totp_render(
    s: &AppState,
    headers: &HeaderMap,
    next: String,
    error: Option<String>,
    status: axum::http::StatusCode,
) -> Response {
    let Some(token) = cookie(headers, PENDING_COOKIE) else {
        return Redirect::to("/login").into_response();
    };
    let Ok((session, user)) = linli_app::auth::pending_session(&s.app, token).await else {
        return Redirect::to("/login").into_response();
    };
    let mut p = page(s, LoginStep::Totp, linli_app::auth::random_token(), next);
    p.error = error;
    if session.stage == linli_app::auth::STAGE_ENROL
        && let Some(secret) = &session.pending_secret
    {
        p.step = LoginStep::Enrol;
        p.secret = linli_domain::totp::secret_base32(secret);
        p.qr_svg = qr_svg(&linli_domain::totp::otpauth_uri(
            &s.app.cfg.totp_issuer,
            &user.username,
            secret,
        ));
    }
    with_login_cookie(s, &p, status)
}

/// An SVG QR code of `data` (the otpauth URI), rendered on the server.
pub fn qr_svg(data: &str) -> String {
    match qrcode::QrCode::new(data.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(180, 180)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

#[derive(Deserialize)]
struct TotpForm {
    csrf: String,
    code: String,
    next: Option<String>,
}

async fn totp_submit(
    State(s): State<AppState>,
    ReqCtx(ctx): ReqCtx,
    headers: HeaderMap,
    ApiForm(f): ApiForm<TotpForm>,
) -> Response {
    if !login_csrf_ok(&headers, &f.csrf) {
        return super::csrf_failed_page();
    }
    let next = safe_next(f.next.as_deref());
    let Some(token) = cookie(&headers, PENDING_COOKIE) else {
        return Redirect::to("/login").into_response();
    };
    match linli_app::auth::complete_totp(&s.app, token, &f.code, &ctx).await {
        Ok((new_token, _)) => {
            let mut resp = Redirect::to(&next).into_response();
            let h = resp.headers_mut();
            if let Ok(v) = set_cookie(SESSION_COOKIE, &new_token, s.web.cookie_secure, None).parse()
            {
                h.append(header::SET_COOKIE, v);
            }
            if let Ok(v) = clear_cookie(PENDING_COOKIE).parse() {
                h.append(header::SET_COOKIE, v);
            }
            resp
        }
        Err(AppError::Unauthenticated) => Redirect::to("/login").into_response(),
        Err(e) => {
            totp_render(
                &s,
                &headers,
                next,
                Some(e.message()),
                crate::error::status_of(&e),
            )
            .await
        }
    }
}

async fn logout(
    State(s): State<AppState>,
    principal: Option<axum::Extension<linli_app::Principal>>,
) -> Response {
    if let Some(axum::Extension(p)) = principal
        && let Err(e) = linli_app::auth::logout(&s.app, &p).await
    {
        tracing::warn!(error = %e, "logout failed");
    }
    (
        [(header::SET_COOKIE, clear_cookie(SESSION_COOKIE))],
        Redirect::to("/login"),
    )
        .into_response()
}
