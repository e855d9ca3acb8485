//! Staff accounts and role grants.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use linli_domain::auth::DataScope;
use linli_store::repo::roles::Assignment;
use linli_store::repo::users::{ListQuery, User};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Page, decode_cursor, limit_of, ok_empty, page};
use crate::AppState;
use crate::auth::{ApiAuth, ApiJson, ApiPath, ApiQuery};
use crate::error::ApiError;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserDto {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    /// `staff` or `service`.
    pub kind: String,
    pub unit_id: Uuid,
    pub disabled: bool,
    pub locked: bool,
    pub totp_enabled: bool,
    pub must_change_password: bool,
    pub created_at: String,
}

pub fn dto(u: User, now: linli_domain::Ts) -> UserDto {
    UserDto {
        id: u.id,
        locked: u.locked_until.is_some_and(|t| t > now),
        totp_enabled: u.totp_secret.is_some(),
        username: u.username,
        display_name: u.display_name,
        kind: u.kind,
        unit_id: u.unit_id,
        disabled: u.disabled,
        must_change_password: u.must_change_password,
        created_at: u.created_at.rfc3339(),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Username or name contains.
    pub q: Option<String>,
    /// Only accounts homed under this unit.
    pub under: Option<Uuid>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// Accounts homed in units within the caller's scope.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(ListParams), responses((status = 200, body = Page<UserDto>)))]
pub async fn list(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(q): ApiQuery<ListParams>,
) -> Result<Json<Page<UserDto>>, ApiError> {
    let limit = limit_of(q.limit);
    if q.q.as_deref().is_some_and(|x| x.chars().count() > 64) {
        return Err(linli_app::AppError::invalid("query_too_long", "搜索词最多 64 个字符").into());
    }
    let under = match q.under {
        Some(id) => Some(linli_app::org::get(&s.app, &p, id).await?.path),
        None => None,
    };
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let rows = linli_app::users::list(
        &s.app,
        &p,
        &ListQuery {
            q: q.q,
            under,
            after_username: after,
            limit: limit + 1,
        },
    )
    .await?;
    let now = s.app.now();
    Ok(Json(page(
        rows,
        limit,
        |u| u.username.clone(),
        |u| dto(u, now),
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    pub display_name: String,
    pub unit_id: Uuid,
    /// At least 10 characters, three of: lower case, upper case, digits, symbols; not the username.
    pub password: String,
    /// `staff` (default) or `service` (integration account for API tokens).
    pub kind: Option<String>,
    /// Require a new password at first log-in (default true).
    pub must_change_password: Option<bool>,
}

/// Create an account in a unit the caller manages.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = UserDto), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(b): ApiJson<CreateUser>,
) -> Response {
    let r = linli_app::users::create(
        &s.app,
        &p,
        linli_app::users::NewUser {
            username: b.username,
            display_name: b.display_name,
            unit_id: b.unit_id,
            password: b.password,
            kind: b.kind.unwrap_or_else(|| "staff".into()),
            must_change_password: b.must_change_password.unwrap_or(true),
        },
    )
    .await;
    match r {
        Ok(u) => (StatusCode::CREATED, Json(dto(u, s.app.now()))).into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 200, body = UserDto), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_one(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<UserDto>, ApiError> {
    Ok(Json(dto(
        linli_app::users::get(&s.app, &p, id).await?,
        s.app.now(),
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    pub password: String,
}

/// Set a temporary password (the user must change it) and end the user's sessions.
#[utoipa::path(post, path = "/api/v1/users/{id}/reset-password", tag = "users", params(("id" = Uuid, Path)), request_body = ResetPassword,
    responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn reset_password(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<ResetPassword>,
) -> Result<StatusCode, ApiError> {
    linli_app::users::reset_password(&s.app, &p, id, &b.password).await?;
    Ok(ok_empty())
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub reason: Option<String>,
}

/// Disable an account (its sessions end).
#[utoipa::path(post, path = "/api/v1/users/{id}/disable", tag = "users", params(("id" = Uuid, Path)), request_body = Reason,
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn disable(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<Reason>,
) -> Result<StatusCode, ApiError> {
    let reason: String = b.reason.unwrap_or_default().chars().take(200).collect();
    linli_app::users::set_disabled(&s.app, &p, id, true, &reason).await?;
    Ok(ok_empty())
}

/// Re-enable an account.
#[utoipa::path(post, path = "/api/v1/users/{id}/enable", tag = "users", params(("id" = Uuid, Path)), request_body = Reason,
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn enable(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<Reason>,
) -> Result<StatusCode, ApiError> {
    let reason: String = b.reason.unwrap_or_default().chars().take(200).collect();
    linli_app::users::set_disabled(&s.app, &p, id, false, &reason).await?;
    Ok(ok_empty())
}

/// Clear a lockout (安全管理员).
#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn unlock(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    linli_app::users::unlock(&s.app, &p, id).await?;
    Ok(ok_empty())
}

/// End every session of an account (安全管理员).
#[utoipa::path(post, path = "/api/v1/users/{id}/logout", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn force_logout(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    linli_app::users::force_logout(&s.app, &p, id).await?;
    Ok(ok_empty())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentDto {
    pub id: Uuid,
    pub role: String,
    pub role_name: String,
    pub unit_id: Uuid,
    pub unit_name: String,
    pub scope: DataScope,
    pub granted_at: String,
}

fn assignment_dto(a: Assignment) -> AssignmentDto {
    AssignmentDto {
        id: a.id,
        role: a.role_key,
        role_name: a.role_name,
        unit_id: a.unit_id,
        unit_name: a.unit_name,
        scope: a.scope,
        granted_at: a.granted_at.rfc3339(),
    }
}

/// Roles an account holds, where, and how far they reach.
#[utoipa::path(get, path = "/api/v1/users/{id}/roles", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<AssignmentDto>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn roles_of(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Vec<AssignmentDto>>, ApiError> {
    Ok(Json(
        linli_app::users::assignments(&s.app, &p, id)
            .await?
            .into_iter()
            .map(assignment_dto)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    pub role: String,
    pub unit_id: Uuid,
    /// `unit`, `subtree` or `own`.
    pub scope: DataScope,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    pub id: Uuid,
}

/// Grant a role at a unit. Nobody grants to themselves; without `role.grant_any` only roles
/// within one's own permissions.
#[utoipa::path(post, path = "/api/v1/users/{id}/roles", tag = "users", params(("id" = Uuid, Path)), request_body = GrantRequest,
    responses((status = 201, body = Created), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn grant(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<GrantRequest>,
) -> Response {
    match linli_app::users::grant_role(&s.app, &p, id, &b.role, b.unit_id, b.scope).await {
        Ok(gid) => (StatusCode::CREATED, Json(Created { id: gid })).into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

/// Revoke a role grant.
#[utoipa::path(delete, path = "/api/v1/role-assignments/{id}", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    linli_app::users::revoke_role(&s.app, &p, id).await?;
    Ok(ok_empty())
}
