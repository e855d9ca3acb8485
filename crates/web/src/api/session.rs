//! `POST /api/v1/session` (log in), `DELETE /api/v1/session` (log out), `GET /api/v1/me`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use linli_app::auth::LoginOutcome;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{ApiAuth, ApiJson, ReqCtx, SESSION_COOKIE, clear_cookie, set_cookie};
use crate::error::ApiError;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// Six-digit code from the authenticator app, when the account has a second factor.
    pub totp: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Session token (also set as the `linli_session` cookie). Send it back as the cookie.
    pub session: String,
    /// Send as `X-CSRF-Token` with every write made with the cookie.
    pub csrf_token: String,
    pub expires_at: String,
    pub user: MeResponse,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub id: uuid::Uuid,
    pub username: String,
    pub display_name: String,
    pub unit_id: uuid::Uuid,
    pub permissions: Vec<String>,
    pub must_change_password: bool,
    pub totp_enabled: bool,
}

pub fn me_of(p: &linli_app::Principal) -> MeResponse {
    MeResponse {
        id: p.user_id,
        username: p.username.clone(),
        display_name: p.display_name.clone(),
        unit_id: p.unit_id,
        permissions: p
            .authz
            .permissions()
            .into_iter()
            .map(|x| x.key().to_string())
            .collect(),
        must_change_password: p.must_change_password,
        totp_enabled: p.totp_enabled,
    }
}

/// Log in with username and password (and `totp` when the account has a second factor).
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = LoginRequest,
    responses((status = 201, body = LoginResponse), (status = 401, body = crate::error::ErrorBody, description = "bad_credentials / bad_totp / totp_required"),
              (status = 423, body = crate::error::ErrorBody, description = "account_locked")))]
pub async fn login(
    State(s): State<AppState>,
    ReqCtx(ctx): ReqCtx,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Response {
    let outcome = linli_app::auth::login(
        &s.app,
        &req.username,
        &req.password,
        req.totp.as_deref(),
        &ctx,
    )
    .await;
    match outcome {
        Ok(LoginOutcome::Active { token, session }) => {
            let p = match linli_app::auth::resolve_session(&s.app, &token, ctx).await {
                Ok(p) => p,
                Err(e) => return ApiError(e).into_response(),
            };
            let body = LoginResponse {
                session: token.clone(),
                csrf_token: session.csrf_token.clone(),
                expires_at: session.expires_at.rfc3339(),
                user: me_of(&p),
            };
            (
                StatusCode::CREATED,
                [(
                    header::SET_COOKIE,
                    set_cookie(SESSION_COOKIE, &token, s.web.cookie_secure, None),
                )],
                Json(body),
            )
                .into_response()
        }
        Ok(LoginOutcome::NeedTotp { .. }) | Ok(LoginOutcome::NeedEnrol { .. }) => {
            crate::error::raw(
                StatusCode::UNAUTHORIZED,
                "totp_required",
                "该账号需要动态验证码：请在 totp 字段提供；尚未绑定的请先在控制台登录完成绑定",
            )
        }
        Err(e) => ApiError(e).into_response(),
    }
}

/// End the current session.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session", responses((status = 204), (status = 401, body = crate::error::ErrorBody)))]
pub async fn logout(State(s): State<AppState>, ApiAuth(p): ApiAuth) -> Response {
    match linli_app::auth::logout(&s.app, &p).await {
        Ok(()) => (
            StatusCode::NO_CONTENT,
            [(header::SET_COOKIE, clear_cookie(SESSION_COOKIE))],
        )
            .into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

/// Who am I, with my effective permissions.
#[utoipa::path(get, path = "/api/v1/me", tag = "session", responses((status = 200, body = MeResponse), (status = 401, body = crate::error::ErrorBody)))]
pub async fn me(ApiAuth(p): ApiAuth) -> Json<MeResponse> {
    Json(me_of(&p))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Ended {
    /// How many sessions were ended.
    pub ended: u64,
}

/// End every session of the caller, on every device (this one included).
#[utoipa::path(delete, path = "/api/v1/sessions", tag = "session", responses((status = 200, body = Ended), (status = 401, body = crate::error::ErrorBody)))]
pub async fn logout_everywhere(State(s): State<AppState>, ApiAuth(p): ApiAuth) -> Response {
    match linli_app::auth::logout_everywhere(&s.app, &p).await {
        Ok(n) => (
            [(header::SET_COOKIE, clear_cookie(SESSION_COOKIE))],
            Json(Ended { ended: n }),
        )
            .into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}
