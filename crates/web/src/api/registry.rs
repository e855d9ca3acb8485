//! The base registry over HTTP (人、地、物、组织, docs/registry.md): residents with masked
//! values everywhere and unmasking only with a reason, buildings with their houses, the community
//! overview, and grid polygons (import, map features, point-to-grid).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use linli_app::registry::grids::{self, GridRef, ImportError, ImportReport, ProblemView};
use linli_app::registry::import::jobs::{self, JobView};
use linli_app::registry::import::{KindName, Mode};
use linli_app::registry::overview::{self, Overview};
use linli_app::registry::places::{self, BuildingDetail, BuildingFilter, BuildingView};
use linli_app::registry::residents::{
    self, Correction, ListFilter, NewResident, ResidentDetail, ResidentView, Unmasked,
};
use linli_app::registry::{TagBook, TagView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{ApiAuth, ApiJson, ApiPath, ApiQuery};
use crate::error::{ApiError, ErrorBody};

/// Largest GeoJSON file of grid polygons accepted.
pub const SHAPES_LIMIT: usize = 32 * 1024 * 1024;

#[derive(Debug, Serialize, ToSchema)]
pub struct ResidentPage {
    pub items: Vec<ResidentView>,
    /// Pass as `before` for the next page; absent on the last.
    pub next: Option<Uuid>,
}

/// Residents within the caller's scope, newest first, every value masked.
#[utoipa::path(get, path = "/api/v1/residents", tag = "registry", params(ListFilter),
    responses((status = 200, body = ResidentPage), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(f): ApiQuery<ListFilter>,
) -> Result<Json<ResidentPage>, ApiError> {
    let page = residents::list(&s.app, &p, &f).await?;
    Ok(Json(ResidentPage {
        items: page.items,
        next: page.next,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CountDto {
    pub count: i64,
}

/// How many residents match the same filters as the list.
#[utoipa::path(get, path = "/api/v1/residents/count", tag = "registry", params(ListFilter),
    responses((status = 200, body = CountDto)))]
pub async fn count(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(f): ApiQuery<ListFilter>,
) -> Result<Json<CountDto>, ApiError> {
    Ok(Json(CountDto {
        count: residents::count(&s.app, &p, &f).await?,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedResident {
    pub resident: ResidentView,
    /// Things to check that did not stop registration (e.g. an address code no longer current).
    pub warnings: Vec<String>,
}

/// Register a resident (ID number validated per GB 11643, sealed at rest).
#[utoipa::path(post, path = "/api/v1/residents", tag = "registry", request_body = NewResident,
    responses((status = 201, body = CreatedResident), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(n): ApiJson<NewResident>,
) -> Result<(StatusCode, Json<CreatedResident>), ApiError> {
    let (resident, warnings) = residents::create(&s.app, &p, n).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedResident { resident, warnings }),
    ))
}

/// The person page: the resident, household, house and history (masked).
#[utoipa::path(get, path = "/api/v1/residents/{id}", tag = "registry", params(("id" = Uuid, Path)),
    responses((status = 200, body = ResidentDetail), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ResidentDetail>, ApiError> {
    Ok(Json(residents::get(&s.app, &p, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Why (4–200 characters); kept in the audit trail.
    pub reason: String,
}

/// The full name, ID number and phone — `registry.unmask` and a reason; audited.
#[utoipa::path(post, path = "/api/v1/residents/{id}/unmask", tag = "registry", params(("id" = Uuid, Path)),
    request_body = ReasonBody,
    responses((status = 200, body = Unmasked), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn unmask(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<ReasonBody>,
) -> Result<Json<Unmasked>, ApiError> {
    Ok(Json(residents::unmask(&s.app, &p, id, &b.reason).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    /// `moved_in`, `moved_out`, `born`, `died` or `corrected`.
    pub kind: String,
    /// YYYY-MM-DD, not in the future.
    pub on_date: String,
    #[serde(default)]
    pub note: String,
    /// The version read; a stale one gets 409.
    pub version: i64,
}

/// Record a life-cycle event (迁入/迁出/出生/死亡/更正); the status follows it.
#[utoipa::path(post, path = "/api/v1/residents/{id}/events", tag = "registry", params(("id" = Uuid, Path)),
    request_body = EventBody,
    responses((status = 200, body = ResidentView), (status = 409, body = ErrorBody)))]
pub async fn event(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<EventBody>,
) -> Result<Json<ResidentView>, ApiError> {
    Ok(Json(
        residents::record_event(&s.app, &p, id, &b.kind, &b.on_date, &b.note, b.version).await?,
    ))
}

/// Correct a record (更正): name, phone, residency type, tags — with a reason.
#[utoipa::path(patch, path = "/api/v1/residents/{id}", tag = "registry", params(("id" = Uuid, Path)),
    request_body = Correction,
    responses((status = 200, body = ResidentView), (status = 409, body = ErrorBody)))]
pub async fn correct(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(c): ApiJson<Correction>,
) -> Result<Json<ResidentView>, ApiError> {
    Ok(Json(residents::correct(&s.app, &p, id, c).await?))
}

/// 查阅/复制: the person's whole record, unmasked, as a document — `registry.rights`; audited.
#[utoipa::path(post, path = "/api/v1/residents/{id}/copy", tag = "registry", params(("id" = Uuid, Path)),
    request_body = ReasonBody, responses((status = 200, description = "个人信息副本（JSON）")))]
pub async fn copy(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<ReasonBody>,
) -> Result<Response, ApiError> {
    let doc = residents::copy_record(&s.app, &p, id, &b.reason).await?;
    Ok((
        [(
            axum::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"record-{id}.json\""),
        )],
        Json(doc),
    )
        .into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnonymiseBody {
    pub reason: String,
    pub version: i64,
}

/// 删除: anonymise the record for good (name, ID number, phone, tags) — `registry.rights`.
#[utoipa::path(post, path = "/api/v1/residents/{id}/anonymise", tag = "registry", params(("id" = Uuid, Path)),
    request_body = AnonymiseBody, responses((status = 204), (status = 409, body = ErrorBody)))]
pub async fn anonymise(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<AnonymiseBody>,
) -> Result<StatusCode, ApiError> {
    residents::anonymise(&s.app, &p, id, &b.reason, b.version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tag vocabulary (sensitive tags are stored blind).
#[utoipa::path(get, path = "/api/v1/registry/tags", tag = "registry",
    responses((status = 200, body = [TagView])))]
pub async fn tags(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
) -> Result<Json<Vec<TagView>>, ApiError> {
    p.require(linli_domain::auth::Permission::RegistryRead)?;
    Ok(Json(TagBook::load(&s.app).await?.all().to_vec()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UnitParam {
    pub unit: Uuid,
}

/// A unit's population, households, buildings, organisations and components (counts only).
#[utoipa::path(get, path = "/api/v1/registry/overview", tag = "registry", params(UnitParam),
    responses((status = 200, body = Overview), (status = 404, body = ErrorBody)))]
pub async fn overview_of(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(q): ApiQuery<UnitParam>,
) -> Result<Json<Overview>, ApiError> {
    Ok(Json(overview::of(&s.app, &p, q.unit).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BuildingPage {
    pub items: Vec<BuildingView>,
    pub next: Option<Uuid>,
}

#[utoipa::path(get, path = "/api/v1/buildings", tag = "registry", params(BuildingFilter),
    responses((status = 200, body = BuildingPage)))]
pub async fn buildings(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(f): ApiQuery<BuildingFilter>,
) -> Result<Json<BuildingPage>, ApiError> {
    let (items, next) = places::list(&s.app, &p, &f).await?;
    Ok(Json(BuildingPage { items, next }))
}

/// A building with its houses and who lives in each (masked).
#[utoipa::path(get, path = "/api/v1/buildings/{id}", tag = "registry", params(("id" = Uuid, Path)),
    responses((status = 200, body = BuildingDetail), (status = 404, body = ErrorBody)))]
pub async fn building(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<BuildingDetail>, ApiError> {
    Ok(Json(places::get(&s.app, &p, id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PointParams {
    pub lat: f64,
    pub lng: f64,
    /// `wgs84` (default), `gcj02` (AMap, Tencent) or `bd09` (Baidu).
    #[serde(default)]
    pub datum: String,
}

/// The grid, community and street a point lies in.
#[utoipa::path(get, path = "/api/v1/grids/locate", tag = "registry", params(PointParams),
    responses((status = 200, body = GridRef), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn locate(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(q): ApiQuery<PointParams>,
) -> Result<Json<GridRef>, ApiError> {
    p.require(linli_domain::auth::Permission::OrgRead)?;
    let (lat, lng) = grids::to_wgs84(q.lat, q.lng, &q.datum)?;
    s.app
        .grids
        .locate(lng, lat)
        .map(Json)
        .ok_or(ApiError(linli_app::AppError::NotFound("该位置所在网格")))
}

/// The grids the caller may see, as a GeoJSON FeatureCollection with names and resident counts.
#[utoipa::path(get, path = "/api/v1/grids/shapes", tag = "registry",
    responses((status = 200, description = "GeoJSON FeatureCollection")))]
pub async fn shapes(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tenant = linli_domain::org::tenant_of_path(&p.unit_path);
    Ok(Json(grids::features(&s.app, &p, &tenant).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShapeProblems {
    pub error: String,
    pub message: String,
    pub problems: Vec<ProblemView>,
}

/// Import grid polygons: a GeoJSON FeatureCollection whose features carry `properties.code`
/// (the grid's code). All valid or nothing stored; sibling overlaps and gaps are reported.
#[utoipa::path(put, path = "/api/v1/grids/shapes", tag = "registry",
    request_body(content = String, content_type = "application/geo+json"),
    responses((status = 200, body = ImportReport), (status = 422, body = ShapeProblems)))]
pub async fn import_shapes(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Ok(text) = std::str::from_utf8(&body) else {
        return Err(linli_app::AppError::invalid(
            "invalid_encoding",
            "文件须为 UTF-8 编码的 GeoJSON",
        )
        .into());
    };
    match grids::import(&s.app, &p, text).await {
        Ok(r) => Ok(Json(r).into_response()),
        Err(ImportError::Problems(problems)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(ShapeProblems {
                error: "invalid_shapes".into(),
                message: format!("文件有 {} 处问题，未导入任何网格", problems.len()),
                problems,
            }),
        )
            .into_response()),
        Err(ImportError::Other(e)) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ImportParams {
    /// `residents`, `households`, `buildings`, `organisations` or `components`.
    pub kind: String,
    /// `check` (default): validate only, write nothing; `valid`: import the valid rows.
    #[serde(default)]
    pub mode: Option<String>,
    /// The file's name (its extension picks CSV or xlsx when the content does not).
    #[serde(default)]
    pub filename: Option<String>,
}

/// Largest import file accepted.
pub const IMPORT_LIMIT: usize = 64 * 1024 * 1024;

/// Start an import (or a check) of the template's CSV (UTF-8) or xlsx as a job: 202 with the
/// job; `GET /api/v1/imports/{id}` follows it to its report.
#[utoipa::path(post, path = "/api/v1/imports", tag = "registry", params(ImportParams),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 202, body = JobView), (status = 422, body = ErrorBody)))]
pub async fn import(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(q): ApiQuery<ImportParams>,
    body: Bytes,
) -> Result<(StatusCode, Json<JobView>), ApiError> {
    let kind = KindName::parse(&q.kind)?;
    let mode = Mode::parse(q.mode.as_deref().unwrap_or("check"))?;
    let job = jobs::start(
        &s.app,
        &p,
        kind,
        mode,
        q.filename.as_deref().unwrap_or(""),
        body.to_vec(),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// An import job of the caller's: state, rows read, and the report when done.
#[utoipa::path(get, path = "/api/v1/imports/{id}", tag = "registry",
    responses((status = 200, body = JobView), (status = 404, body = ErrorBody)))]
pub async fn import_job(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<JobView>, ApiError> {
    Ok(Json(jobs::get(&s.app, &p, id).await?))
}

/// The caller's latest import jobs (at most 20).
#[utoipa::path(get, path = "/api/v1/imports", tag = "registry",
    responses((status = 200, body = Vec<JobView>)))]
pub async fn import_jobs(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
) -> Result<Json<Vec<JobView>>, ApiError> {
    Ok(Json(jobs::mine(&s.app, &p, 20).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TemplateParams {
    /// `xlsx` (default) or `csv`.
    #[serde(default)]
    pub format: Option<String>,
}

/// An export as a download: never cached, the Chinese file name in `filename*` (RFC 6266).
pub(crate) fn download(e: linli_app::registry::export::Export) -> Response {
    use axum::http::header;
    (
        [
            (
                header::CONTENT_TYPE,
                linli_app::registry::export::XLSX_TYPE.to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"export.xlsx\"; filename*=UTF-8''{}",
                    crate::auth::urlencode(&e.file_name)
                ),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        e.bytes,
    )
        .into_response()
}

/// The residents of a filtered list as an .xlsx workbook, every value masked as in the list (at
/// most 100,000 rows; narrow the filters for more). The filters travel in the body, so an exact
/// ID number or phone never appears in a URL. Needs `registry.export`; audited
/// (`resident.export`, with the filters and the row count).
#[utoipa::path(post, path = "/api/v1/residents/export", tag = "registry", request_body = ListFilter,
    responses((status = 200, description = "xlsx 文件（脱敏）"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export_residents(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(f): ApiJson<ListFilter>,
) -> Result<Response, ApiError> {
    Ok(download(
        linli_app::registry::export::residents(&s.app, &p, &f).await?,
    ))
}

/// The buildings of a filtered list as an .xlsx workbook (at most 100,000 rows). Needs
/// `registry.export`; audited (`building.export`).
#[utoipa::path(get, path = "/api/v1/buildings/export", tag = "registry", params(BuildingFilter),
    responses((status = 200, description = "xlsx 文件"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export_buildings(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(f): ApiQuery<BuildingFilter>,
) -> Result<Response, ApiError> {
    Ok(download(
        linli_app::registry::export::buildings(&s.app, &p, &f).await?,
    ))
}

/// A kind's import template.
#[utoipa::path(get, path = "/api/v1/import-templates/{kind}", tag = "registry", params(TemplateParams),
    responses((status = 200, description = "模板文件")))]
pub async fn template(
    ApiAuth(p): ApiAuth,
    ApiPath(kind): ApiPath<String>,
    ApiQuery(q): ApiQuery<TemplateParams>,
) -> Result<Response, ApiError> {
    p.require(linli_domain::auth::Permission::RegistryImport)?;
    let kind = KindName::parse(&kind)?;
    let csv = q.format.as_deref() == Some("csv");
    Ok(template_file(kind, csv)?)
}

/// The template as a download (also served by the console).
pub fn template_file(kind: KindName, csv: bool) -> Result<Response, linli_app::AppError> {
    let bytes = linli_app::registry::import::template(kind.spec(), !csv)?;
    let name = kind.spec().name;
    let (ctype, file) = if csv {
        ("text/csv; charset=utf-8", format!("{name}-template.csv"))
    } else {
        (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            format!("{name}-template.xlsx"),
        )
    };
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, ctype.to_string()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
