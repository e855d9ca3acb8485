//! Open311 API keys (系统管理员): list, issue (the key is shown once), revoke.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use linli_store::repo::open311::ApiKey;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::ok_empty;
use crate::AppState;
use crate::auth::{ApiAuth, ApiJson, ApiPath};
use crate::error::ApiError;

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyUnitDto {
    pub id: Uuid,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Open311KeyDto {
    pub id: Uuid,
    /// The district the key files in.
    pub tenant: String,
    pub name: String,
    /// The first characters of the key.
    pub prefix: String,
    /// The receiving units it may report for; the first is the default.
    pub units: Vec<KeyUnitDto>,
    pub created_at: String,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
}

pub fn key_dto(k: ApiKey) -> Open311KeyDto {
    Open311KeyDto {
        id: k.id,
        tenant: k.tenant,
        name: k.name,
        prefix: k.prefix,
        units: k
            .units
            .into_iter()
            .map(|u| KeyUnitDto {
                id: u.unit_id,
                code: u.code,
                name: u.name,
            })
            .collect(),
        created_at: k.created_at.rfc3339(),
        revoked_at: k.revoked_at.map(|x| x.rfc3339()),
        last_used_at: k.last_used_at.map(|x| x.rfc3339()),
    }
}

#[utoipa::path(get, path = "/api/v1/open311-keys", tag = "admin",
    responses((status = 200, body = Vec<Open311KeyDto>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
) -> Result<Json<Vec<Open311KeyDto>>, ApiError> {
    Ok(Json(
        linli_app::open311::keys(&s.app, &p)
            .await?
            .into_iter()
            .map(key_dto)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOpen311Key {
    /// Who uses it, e.g. 某某随手拍 App.
    pub name: String,
    /// 1–20 districts or streets of one district; the first is the default receiving unit.
    pub unit_ids: Vec<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedOpen311Key {
    /// Shown once; store it now. Clients send it as `api_key`.
    pub api_key: String,
    pub info: Open311KeyDto,
}

/// Issue an Open311 API key (系统管理员). The key is returned once and stored only as a hash.
#[utoipa::path(post, path = "/api/v1/open311-keys", tag = "admin", request_body = CreateOpen311Key,
    responses((status = 201, body = CreatedOpen311Key), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(b): ApiJson<CreateOpen311Key>,
) -> Response {
    match linli_app::open311::create_key(&s.app, &p, &b.name, &b.unit_ids).await {
        Ok((k, secret)) => (
            StatusCode::CREATED,
            Json(CreatedOpen311Key {
                api_key: secret,
                info: key_dto(k),
            }),
        )
            .into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

/// Revoke a key; its client can no longer file requests.
#[utoipa::path(delete, path = "/api/v1/open311-keys/{id}", tag = "admin", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn revoke(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    linli_app::open311::revoke_key(&s.app, &p, id).await?;
    Ok(ok_empty())
}
