//! Org units.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use linli_domain::org::OrgKind;
use linli_store::repo::org::{ListQuery, OrgUnit, UnitWithCounts};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Page, decode_cursor, limit_of, page};
use crate::AppState;
use crate::auth::{ApiAuth, ApiJson, ApiPath, ApiQuery};
use crate::error::ApiError;

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgUnitDto {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub kind: OrgKind,
    /// Official statistical code (区 6, 街道 9, 社区 12 digits), grid 15 digits, department `…B01`.
    pub code: String,
    pub name: String,
    pub path: String,
    pub subtype: String,
    pub active: bool,
    pub version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub children: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<i64>,
}

pub fn dto(u: OrgUnit) -> OrgUnitDto {
    OrgUnitDto {
        id: u.id,
        parent_id: u.parent_id,
        kind: u.kind,
        code: u.code,
        name: u.name,
        path: u.path,
        subtype: u.subtype,
        active: u.active,
        version: u.version,
        children: None,
        users: None,
    }
}

fn dto_counts(w: UnitWithCounts) -> OrgUnitDto {
    let mut d = dto(w.unit);
    d.children = Some(w.children);
    d.users = Some(w.users);
    d
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// province / city / district / street / community / grid / department
    pub kind: Option<String>,
    /// Name contains, or code starts with.
    pub q: Option<String>,
    /// Only units under this unit.
    pub under: Option<Uuid>,
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

/// Units in the caller's scope, in tree order.
#[utoipa::path(get, path = "/api/v1/org-units", tag = "org", params(ListParams),
    responses((status = 200, body = Page<OrgUnitDto>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(q): ApiQuery<ListParams>,
) -> Result<Json<Page<OrgUnitDto>>, ApiError> {
    let limit = limit_of(q.limit);
    let kind = match q.kind.as_deref() {
        Some(k) => Some(
            OrgKind::parse(k)
                .ok_or_else(|| linli_app::AppError::invalid("invalid_kind", "未知的单位层级"))?,
        ),
        None => None,
    };
    let under = match q.under {
        Some(id) => Some(linli_app::org::get(&s.app, &p, id).await?.path),
        None => None,
    };
    let after_path = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let rows = linli_app::org::list(
        &s.app,
        &p,
        &ListQuery {
            kind,
            q: q.q,
            under,
            after_path,
            limit: limit + 1,
        },
    )
    .await?;
    Ok(Json(page(rows, limit, |u| u.path.clone(), dto)))
}

/// One unit (404 when outside the caller's scope).
#[utoipa::path(get, path = "/api/v1/org-units/{id}", tag = "org", params(("id" = Uuid, Path)),
    responses((status = 200, body = OrgUnitDto), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_one(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<OrgUnitDto>, ApiError> {
    Ok(Json(dto(linli_app::org::get(&s.app, &p, id).await?)))
}

/// Direct children with child and account counts.
#[utoipa::path(get, path = "/api/v1/org-units/{id}/children", tag = "org", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<OrgUnitDto>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn children(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Vec<OrgUnitDto>>, ApiError> {
    Ok(Json(
        linli_app::org::children(&s.app, &p, id)
            .await?
            .into_iter()
            .map(dto_counts)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUnit {
    pub parent_id: Uuid,
    pub kind: OrgKind,
    pub code: String,
    pub name: String,
}

/// Add a unit (grid, department, …) under a parent the caller manages.
#[utoipa::path(post, path = "/api/v1/org-units", tag = "org", request_body = CreateUnit,
    responses((status = 201, body = OrgUnitDto), (status = 422, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(b): ApiJson<CreateUnit>,
) -> Response {
    let r = linli_app::org::create(
        &s.app,
        &p,
        linli_app::org::NewUnit {
            parent_id: b.parent_id,
            kind: b.kind,
            code: b.code,
            name: b.name,
        },
    )
    .await;
    match r {
        Ok(u) => (StatusCode::CREATED, Json(dto(u))).into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUnit {
    /// The version you read; a stale one is refused with 409 `stale_version`.
    pub version: i64,
    pub name: String,
    pub active: Option<bool>,
}

/// Rename or (de)activate a unit.
#[utoipa::path(patch, path = "/api/v1/org-units/{id}", tag = "org", params(("id" = Uuid, Path)), request_body = UpdateUnit,
    responses((status = 200, body = OrgUnitDto), (status = 409, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn update(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<UpdateUnit>,
) -> Result<Json<OrgUnitDto>, ApiError> {
    let u = linli_app::org::update(&s.app, &p, id, b.version, &b.name, b.active.unwrap_or(true))
        .await?;
    Ok(Json(dto(u)))
}
