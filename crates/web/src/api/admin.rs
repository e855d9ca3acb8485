//! Roles and API tokens.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use linli_store::repo::roles::Role;
use linli_store::repo::tokens::ApiToken;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::ok_empty;
use crate::AppState;
use crate::auth::{ApiAuth, ApiJson, ApiPath};
use crate::error::ApiError;

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleDto {
    pub key: String,
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub require_totp: bool,
    pub permissions: Vec<String>,
}

fn role_dto(r: Role) -> RoleDto {
    RoleDto {
        key: r.key,
        name: r.name,
        description: r.description,
        builtin: r.builtin,
        require_totp: r.require_totp,
        permissions: r
            .permissions
            .into_iter()
            .map(|p| p.key().to_string())
            .collect(),
    }
}

#[utoipa::path(get, path = "/api/v1/roles", tag = "admin", responses((status = 200, body = Vec<RoleDto>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn roles(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
) -> Result<Json<Vec<RoleDto>>, ApiError> {
    Ok(Json(
        linli_app::users::roles(&s.app, &p)
            .await?
            .into_iter()
            .map(role_dto)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpRequirement {
    pub require: bool,
}

/// Require (or stop requiring) a second factor for holders of a role (安全管理员).
#[utoipa::path(put, path = "/api/v1/roles/{key}/totp", tag = "admin", params(("key" = String, Path)), request_body = TotpRequirement,
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn role_totp(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(key): ApiPath<String>,
    ApiJson(b): ApiJson<TotpRequirement>,
) -> Result<StatusCode, ApiError> {
    linli_app::users::set_role_totp(&s.app, &p, &key, b.require).await?;
    Ok(ok_empty())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenDto {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub user_id: Uuid,
    pub username: String,
    pub unit_id: Uuid,
    pub unit_name: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
    /// The resident fields granted (absent: all the account's role shows).
    pub registry_fields: Option<Vec<String>>,
}

fn token_dto(t: ApiToken) -> TokenDto {
    TokenDto {
        id: t.id,
        name: t.name,
        prefix: t.prefix,
        user_id: t.user_id,
        username: t.username,
        unit_id: t.unit_id,
        unit_name: t.unit_name,
        created_at: t.created_at.rfc3339(),
        expires_at: t.expires_at.map(|x| x.rfc3339()),
        revoked_at: t.revoked_at.map(|x| x.rfc3339()),
        last_used_at: t.last_used_at.map(|x| x.rfc3339()),
        registry_fields: linli_app::tokens::granted(t.registry_fields.as_deref())
            .map(|f| f.iter().map(|f| f.key().to_string()).collect()),
    }
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "admin", responses((status = 200, body = Vec<TokenDto>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn tokens(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
) -> Result<Json<Vec<TokenDto>>, ApiError> {
    Ok(Json(
        linli_app::tokens::list(&s.app, &p)
            .await?
            .into_iter()
            .map(token_dto)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    /// The account the token acts as (usually a `service` account).
    pub user_id: Uuid,
    /// The token only reaches this unit and below.
    pub unit_id: Uuid,
    /// Days until expiry (omit for none).
    pub expires_in_days: Option<i64>,
    /// A department's grant: only these resident fields (`id_number`, `phone`, `tags`,
    /// `sensitive_tags`, `household`; the masked name, sex, age, residency, status and grid are
    /// always readable), and no registry writes, unmasking or imports. Omit for the account's
    /// full reach.
    pub registry_fields: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    /// Shown once; store it now. Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub info: TokenDto,
}

/// Issue an API token (系统管理员). The secret is returned once and stored only as a hash.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "admin", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_token(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(b): ApiJson<CreateToken>,
) -> Response {
    if let Some(d) = b.expires_in_days
        && !(1..=3650).contains(&d)
    {
        return ApiError(linli_app::AppError::invalid(
            "invalid_expiry",
            "有效期须为 1–3650 天",
        ))
        .into_response();
    }
    let expires = b.expires_in_days.map(|d| s.app.now().plus_secs(d * 86400));
    let t = linli_app::tokens::NewToken {
        name: &b.name,
        user_id: b.user_id,
        unit_id: b.unit_id,
        expires_at: expires,
        registry_fields: b.registry_fields,
    };
    match linli_app::tokens::create(&s.app, &p, t).await {
        Ok((t, secret)) => (
            StatusCode::CREATED,
            Json(CreatedToken {
                token: secret,
                info: token_dto(t),
            }),
        )
            .into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "admin", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke_token(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    linli_app::tokens::revoke(&s.app, &p, id).await?;
    Ok(ok_empty())
}
