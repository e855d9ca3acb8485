//! Duplicate detection (重复诉求) and address placement for intake: the open cases a case or a
//! draft looks like, merging a case into its original, dismissing a proposal, and where an
//! address lies (`[app.duplicates]`, docs/duplicates.md).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use linli_app::duplicates::{self, Candidate, Draft};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::cases::{CaseDto, dto};
use crate::AppState;
use crate::auth::{ApiAuth, ApiJson, ApiPath};
use crate::error::{ApiError, ErrorBody};

#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateDto {
    /// The open case proposed as the original (requester masked as in every list).
    pub case: CaseDto,
    /// Text similarity, 0–1.
    pub score: f32,
    /// Metres between the two map points, when both have one.
    pub distance_m: Option<f64>,
    /// The words both share, heaviest first.
    pub shared_terms: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CandidatesDto {
    /// Best first, at most five.
    pub items: Vec<CandidateDto>,
}

fn candidates(s: &AppState, found: Vec<Candidate>) -> CandidatesDto {
    let now = s.app.now();
    CandidatesDto {
        items: found
            .into_iter()
            .map(|c| CandidateDto {
                case: dto(c.case, now),
                score: c.score,
                distance_m: c.distance_m,
                shared_terms: c.shared,
            })
            .collect(),
    }
}

/// Open cases that look like the original of this one (received before it, in the window,
/// place and category the deployment sets). A case past 待立案/待派遣 has none.
#[utoipa::path(get, path = "/api/v1/cases/{id}/duplicates", tag = "cases", params(("id" = Uuid, Path)),
    responses((status = 200, body = CandidatesDto), (status = 404, body = ErrorBody)))]
pub async fn of_case(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<CandidatesDto>, ApiError> {
    let c = linli_app::cases::get(&s.app, &p, id).await?;
    let found = duplicates::for_case(&s.app, &p, &c).await?;
    Ok(Json(candidates(&s, found)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftBody {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub address: String,
    /// WGS84.
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    /// A leaf of the dispatch catalogue.
    pub category_id: Option<Uuid>,
    pub grid_id: Option<Uuid>,
}

/// Open cases a request being taken looks like (the hotline form asks while the operator
/// types). Empty or wordless text finds none.
#[utoipa::path(post, path = "/api/v1/intake/duplicates", tag = "intake", request_body = DraftBody,
    responses((status = 200, body = CandidatesDto), (status = 403, body = ErrorBody)))]
pub async fn of_draft(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(b): ApiJson<DraftBody>,
) -> Result<Json<CandidatesDto>, ApiError> {
    let d = Draft {
        title: b.title,
        description: b.description,
        address: b.address,
        lat: b.lat,
        lng: b.lng,
        category_id: b.category_id,
        grid_id: b.grid_id,
    };
    let found = duplicates::for_draft(&s.app, &p, &d).await?;
    Ok(Json(candidates(&s, found)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The case this one repeats.
    pub original_id: Uuid,
    /// The `version` of this case as you last read it.
    pub version: i64,
    /// Remark for the timeline; by default "与工单 … 反映的问题相同，并入该工单办理".
    #[serde(default)]
    pub note: String,
}

/// Merge this case into its original: it is disposed of as 重复诉求 linked to the original (the
/// `dispose` step, with its permission and version check), and its requester is told the
/// original's progress now and when the original is answered and closed.
#[utoipa::path(post, path = "/api/v1/cases/{id}/merge", tag = "cases", params(("id" = Uuid, Path)),
    request_body = MergeBody,
    responses((status = 200, body = CaseDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn merge(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<MergeBody>,
) -> Result<Json<CaseDto>, ApiError> {
    let c = duplicates::merge(&s.app, &p, id, b.original_id, b.version, &b.note).await?;
    Ok(Json(dto(c, s.app.now())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DismissBody {
    /// The proposed case that is not the original of this one.
    pub other_id: Uuid,
}

/// Say a proposed case is not the original of this one; it is not proposed for it again.
#[utoipa::path(post, path = "/api/v1/cases/{id}/duplicates/dismiss", tag = "cases", params(("id" = Uuid, Path)),
    request_body = DismissBody,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn dismiss(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<DismissBody>,
) -> Result<StatusCode, ApiError> {
    duplicates::dismiss(&s.app, &p, id, b.other_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    pub address: String,
    pub grid_id: Option<Uuid>,
    /// The map point (WGS84), placed in its grid when the grid polygons hold it.
    pub lat: Option<f64>,
    pub lng: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnitRef {
    pub id: Uuid,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceDto {
    /// The street (街道/乡镇) the address lies in, among the deployment's units.
    pub street: Option<UnitRef>,
    /// The community (社区/村).
    pub community: Option<UnitRef>,
    pub grid: Option<UnitRef>,
}

/// Where an address lies among the caller's units (the hotline form shows it as the operator
/// types, and intake files the case there).
#[utoipa::path(post, path = "/api/v1/intake/place", tag = "intake", request_body = AddressBody,
    responses((status = 200, body = PlaceDto), (status = 403, body = ErrorBody)))]
pub async fn place(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(b): ApiJson<AddressBody>,
) -> Result<Json<PlaceDto>, ApiError> {
    p.require(linli_domain::auth::Permission::CaseCreate)?;
    let address: String = b
        .address
        .chars()
        .take(linli_app::cases::MAX_ADDRESS_CHARS)
        .collect();
    let point = b
        .lat
        .zip(b.lng)
        .filter(|(a, b)| a.is_finite() && b.is_finite());
    let at = linli_app::cases::locate(&s.app, &p, b.grid_id, point, &address).await?;
    let r = |u: linli_store::repo::org::OrgUnit| UnitRef {
        id: u.id,
        code: u.code,
        name: u.name,
    };
    Ok(Json(PlaceDto {
        street: at.street.map(r),
        community: at.community.map(r),
        grid: at.grid.map(r),
    }))
}
