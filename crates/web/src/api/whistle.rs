//! 吹哨报到: the whistle catalogue, whistles on cases, department responses and report-ins, and
//! the street's closing ratings.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use linli_app::AppError;
use linli_app::whistle::{BlowInput, ReportInput, WhistleView};
use linli_domain::whistle::Situation;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::{ApiAuth, ApiJson, ApiPath, ApiQuery};
use crate::error::{ApiError, ErrorBody};

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemDto {
    pub id: Uuid,
    pub code: String,
    pub category: String,
    pub item: String,
    pub level: u8,
    /// Org codes of the departments summoned at this level.
    pub departments: Vec<String>,
    pub respond_minutes: u32,
    pub report_minutes: u32,
    pub catalogue_version: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ItemParams {
    /// District code; defaults to the caller's own district.
    pub tenant: Option<String>,
}

/// The active whistle catalogue (吹哨事项清单).
#[utoipa::path(get, path = "/api/v1/whistle-items", tag = "whistle", params(ItemParams),
    responses((status = 200, body = Vec<ItemDto>)))]
pub async fn items(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(q): ApiQuery<ItemParams>,
) -> Result<Json<Vec<ItemDto>>, ApiError> {
    let tenant = q
        .tenant
        .unwrap_or_else(|| linli_domain::org::tenant_of_path(&p.unit_path));
    let rows = linli_app::whistle::items(&s.app, &p, &tenant).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| ItemDto {
                id: r.id,
                code: r.item.code,
                category: r.item.category,
                item: r.item.item,
                level: r.item.level,
                departments: r.item.departments,
                respond_minutes: r.item.respond_minutes,
                report_minutes: r.item.report_minutes,
                catalogue_version: r.version,
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallDto {
    pub dept_id: Uuid,
    pub dept_name: String,
    pub respond_due: String,
    pub report_due: String,
    pub responded_at: Option<String>,
    pub response_note: String,
    pub reported_at: Option<String>,
    pub report_person: String,
    pub report_photo: Option<Uuid>,
    pub late_response: Option<bool>,
    pub late_report: Option<bool>,
    /// 1–5, given when the street closes the whistle (一哨一考).
    pub rating: Option<u8>,
    pub rating_note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WhistleDto {
    pub id: Uuid,
    pub case_id: Uuid,
    pub street_id: Uuid,
    pub item: String,
    pub level: i64,
    pub situation: String,
    pub reason: String,
    /// open or closed.
    pub state: String,
    pub blown_at: String,
    pub closed_at: Option<String>,
    pub close_note: String,
    pub calls: Vec<CallDto>,
}

pub fn dto(v: WhistleView) -> WhistleDto {
    let w = v.whistle;
    WhistleDto {
        id: w.id,
        case_id: w.case_id,
        street_id: w.street_id,
        item: w.item_name,
        level: w.level,
        situation: w.situation,
        reason: w.reason,
        state: w.state,
        blown_at: w.blown_at.rfc3339(),
        closed_at: w.closed_at.map(|t| t.rfc3339()),
        close_note: w.close_note,
        calls: v
            .calls
            .into_iter()
            .map(|(c, name)| CallDto {
                dept_id: c.call.dept,
                dept_name: name,
                respond_due: c.call.respond_due.rfc3339(),
                report_due: c.call.report_due.rfc3339(),
                responded_at: c.call.responded_at.map(|t| t.rfc3339()),
                response_note: c.response_note,
                reported_at: c.call.reported_at.map(|t| t.rfc3339()),
                report_person: c.report_person,
                report_photo: c.report_photo,
                late_response: c.call.late_response,
                late_report: c.call.late_report,
                rating: c.call.rating,
                rating_note: c.rating_note,
            })
            .collect(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlowBody {
    /// A row (item at a level) of the active whistle catalogue.
    pub item_id: Uuid,
    pub situation: Situation,
    /// Why the street cannot settle it alone.
    pub note: String,
}

/// A street blows the whistle on a case it handles or received (`whistle.blow`).
#[utoipa::path(post, path = "/api/v1/cases/{id}/whistles", tag = "whistle", params(("id" = Uuid, Path)), request_body = BlowBody,
    responses((status = 201, body = WhistleDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn blow(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<BlowBody>,
) -> Result<(StatusCode, Json<WhistleDto>), ApiError> {
    let v = linli_app::whistle::blow(
        &s.app,
        &p,
        id,
        BlowInput {
            item_id: b.item_id,
            situation: b.situation,
            reason: b.note,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(dto(v))))
}

/// Whistles blown on a case, with every department's response, report-in and rating.
#[utoipa::path(get, path = "/api/v1/cases/{id}/whistles", tag = "whistle", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<WhistleDto>), (status = 404, body = ErrorBody)))]
pub async fn of_case(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Vec<WhistleDto>>, ApiError> {
    let v = linli_app::whistle::for_case(&s.app, &p, id).await?;
    Ok(Json(v.into_iter().map(dto).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RespondBody {
    /// Which summoned department answers (needed only if the caller answers for several).
    pub dept_id: Option<Uuid>,
    #[serde(default)]
    pub note: String,
}

/// A summoned department responds (`whistle.respond`); a response after the limit is flagged late.
#[utoipa::path(post, path = "/api/v1/whistles/{id}/respond", tag = "whistle", params(("id" = Uuid, Path)), request_body = RespondBody,
    responses((status = 200, body = WhistleDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn respond(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<RespondBody>,
) -> Result<Json<WhistleDto>, ApiError> {
    let v = linli_app::whistle::respond(&s.app, &p, id, b.dept_id, &b.note).await?;
    Ok(Json(dto(v)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    pub dept_id: Option<Uuid>,
    /// Who reported in on site.
    pub person: String,
    #[serde(default)]
    pub note: String,
    /// An image attachment of this case taken on site.
    pub photo: Option<Uuid>,
}

/// A summoned department reports in on site (报到): time, person, photo.
#[utoipa::path(post, path = "/api/v1/whistles/{id}/report", tag = "whistle", params(("id" = Uuid, Path)), request_body = ReportBody,
    responses((status = 200, body = WhistleDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn report(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<ReportBody>,
) -> Result<Json<WhistleDto>, ApiError> {
    let v = linli_app::whistle::report(
        &s.app,
        &p,
        id,
        ReportInput {
            dept: b.dept_id,
            person: b.person,
            note: b.note,
            photo: b.photo,
        },
    )
    .await?;
    Ok(Json(dto(v)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    pub dept_id: Uuid,
    /// 1–5.
    pub score: u8,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    /// One rating per summoned department.
    pub ratings: Vec<Rating>,
    #[serde(default)]
    pub note: String,
}

/// The street closes the whistle and rates each department (一哨一考).
#[utoipa::path(post, path = "/api/v1/whistles/{id}/close", tag = "whistle", params(("id" = Uuid, Path)), request_body = CloseBody,
    responses((status = 200, body = WhistleDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn close(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<CloseBody>,
) -> Result<Json<WhistleDto>, ApiError> {
    if b.ratings.len() > 20 {
        return Err(AppError::invalid("bad_rating", "评价条目过多").into());
    }
    let ratings: Vec<(Uuid, u8, String)> = b
        .ratings
        .into_iter()
        .map(|r| (r.dept_id, r.score, r.note))
        .collect();
    let v = linli_app::whistle::close(&s.app, &p, id, &ratings, &b.note).await?;
    Ok(Json(dto(v)))
}
