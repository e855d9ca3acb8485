//! The dispatch catalogue (派单目录): versions (list, import, activate, export), browsing the
//! active tree level by level, and searching its leaves. Every call works on one tenant (6-digit
//! district code): `tenant` in the query, by default the caller's own district.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use linli_app::catalogue::{self as cat, FileFormat, Imported, Node, Version};
use linli_app::{AppError, Principal};
use linli_domain::case::Urgency;
use linli_domain::org::OrgKind;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Page, decode_cursor, encode_cursor, limit_of};
use crate::AppState;
use crate::auth::{ApiAuth, ApiPath, ApiQuery};
use crate::error::ApiError;

/// Largest upload accepted by the import endpoint: the file plus multipart framing.
pub const UPLOAD_LIMIT: usize = linli_domain::catalogue::MAX_FILE_BYTES + (64 << 10);

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionDto {
    pub id: Uuid,
    /// District code the catalogue belongs to.
    pub tenant: String,
    /// 1, 2, … per tenant.
    pub version: i64,
    /// `draft` (imported, not in use), `active` (the one in use), `retired`.
    pub status: String,
    /// File it was imported from.
    pub source: String,
    pub note: String,
    /// Nodes on all three levels.
    pub item_count: i64,
    pub created_at: String,
    pub activated_at: Option<String>,
}

pub fn version_dto(v: Version) -> VersionDto {
    VersionDto {
        id: v.id,
        tenant: v.tenant,
        version: v.version,
        status: v.status,
        source: v.source,
        note: v.note,
        item_count: v.item_count,
        created_at: v.created_at.rfc3339(),
        activated_at: v.activated_at.map(|t| t.rfc3339()),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    pub version: VersionDto,
    pub level1: usize,
    pub level2: usize,
    pub level3: usize,
}

fn imported_dto(i: Imported) -> ImportResult {
    ImportResult {
        version: version_dto(i.version),
        level1: i.counts.0,
        level2: i.counts.1,
        level3: i.counts.2,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemDto {
    pub id: Uuid,
    pub version_id: Uuid,
    /// Number of the version the item belongs to.
    pub version: i64,
    /// Dotted code: `01`, `01.02`, `01.02.003`.
    pub code: String,
    /// Empty for level 1.
    pub parent_code: String,
    /// 1–3; level 3 items are the leaves cases are filed under.
    pub level: i64,
    pub name: String,
    /// Names from level 1 down, joined by `/`.
    pub full_name: String,
    pub leaf: bool,
    /// Kind of unit responsible (leaves); absent: the dispatcher chooses.
    pub handler_kind: Option<OrgKind>,
    /// Code of a definite responsible unit, or empty.
    pub handler_code: String,
    pub urgency: Urgency,
    /// Time limits as `24h` (natural hours) or `5wd` (working days); absent: the defaults for
    /// the request type and urgency.
    pub sign_limit: Option<String>,
    pub contact_limit: Option<String>,
    pub limit_normal: Option<String>,
    pub limit_urgent: Option<String>,
    pub limit_critical: Option<String>,
    /// The community may be the handler.
    pub community_may: bool,
    pub keywords: String,
    /// Direct children (browse only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub children: Option<i64>,
}

fn item_dto(n: Node, with_children: bool) -> ItemDto {
    let e = n.entry;
    let s = |l: Option<linli_domain::calendar::TimeLimit>| l.map(|l| l.to_string());
    ItemDto {
        id: e.id,
        version_id: n.version_id,
        version: e.version,
        code: e.code,
        parent_code: n.parent_code,
        level: n.level,
        name: n.name,
        full_name: e.full_name,
        leaf: e.leaf,
        handler_kind: e.handler_kind,
        handler_code: e.handler_code,
        urgency: e.urgency,
        sign_limit: s(e.sign),
        contact_limit: s(e.contact),
        limit_normal: s(e.normal),
        limit_urgent: s(e.urgent),
        limit_critical: s(e.critical),
        community_may: e.community_may,
        keywords: n.keywords,
        children: with_children.then_some(n.children),
    }
}

pub(crate) fn tenant_or_home(p: &Principal, t: Option<String>) -> String {
    t.map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| cat::home_tenant(p))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct VersionsParams {
    /// District code; default: the caller's district.
    pub tenant: Option<String>,
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

/// Catalogue versions, newest first.
#[utoipa::path(get, path = "/api/v1/catalogue/versions", tag = "catalogue", params(VersionsParams),
    responses((status = 200, body = Page<VersionDto>), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn list_versions(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(q): ApiQuery<VersionsParams>,
) -> Result<Json<Page<VersionDto>>, ApiError> {
    let limit = limit_of(q.limit);
    let before = match q.cursor.as_deref() {
        Some(c) => Some(
            decode_cursor(c)?
                .parse::<i64>()
                .map_err(|_| AppError::invalid("invalid_cursor", "分页游标无效"))?,
        ),
        None => None,
    };
    let tenant = tenant_or_home(&p, q.tenant);
    let mut rows = cat::versions(&s.app, &p, &tenant, before, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|v| encode_cursor(&v.version.to_string()))
    } else {
        None
    };
    Ok(Json(Page {
        items: rows.into_iter().map(version_dto).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    /// District code; default: the caller's district.
    pub tenant: Option<String>,
    /// Make the new version active at once (default: a draft to check and activate later).
    pub activate: Option<bool>,
    /// A note kept with the version (at most 200 characters).
    pub note: Option<String>,
    /// The file's name, kept as the version's source (raw uploads).
    pub filename: Option<String>,
}

/// The multipart form of an upload.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The catalogue file: CSV (UTF-8) or xlsx.
    #[schema(content_media_type = "application/octet-stream")]
    file: Vec<u8>,
    /// `true` to activate at once.
    activate: Option<String>,
    note: Option<String>,
}

/// What an upload carried: the file bytes and its name, plus form fields that override the
/// query.
pub(crate) struct Upload {
    pub bytes: Bytes,
    pub file_name: String,
    pub activate: Option<bool>,
    pub note: Option<String>,
}

fn truthy(s: &str) -> bool {
    matches!(s.trim(), "true" | "1" | "on" | "yes" | "是")
}

pub(crate) async fn read_upload(req: Request, state: &AppState) -> Result<Upload, Response> {
    let too_large = || {
        crate::error::raw(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "文件过大（上限 {} MB）",
                linli_domain::catalogue::MAX_FILE_BYTES >> 20
            ),
        )
    };
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_multipart {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| too_large())?;
        return Ok(Upload {
            bytes,
            file_name: String::new(),
            activate: None,
            note: None,
        });
    }
    let bad_form = || {
        crate::error::raw(
            StatusCode::BAD_REQUEST,
            "invalid_form",
            "上传内容无法解析（multipart/form-data）",
        )
    };
    let mut form = Multipart::from_request(req, state)
        .await
        .map_err(|_| bad_form())?;
    let mut up = Upload {
        bytes: Bytes::new(),
        file_name: String::new(),
        activate: None,
        note: None,
    };
    let mut got_file = false;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(_) => return Err(bad_form()),
        };
        match field.name().unwrap_or("") {
            "file" => {
                up.file_name = field.file_name().unwrap_or("").to_string();
                up.bytes = field.bytes().await.map_err(|e| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        too_large()
                    } else {
                        bad_form()
                    }
                })?;
                got_file = true;
            }
            "activate" => up.activate = Some(truthy(&field.text().await.map_err(|_| bad_form())?)),
            "note" => up.note = Some(field.text().await.map_err(|_| bad_form())?),
            // The console's form also carries its CSRF token; other fields are ignored.
            _ => {}
        }
    }
    if !got_file {
        return Err(
            ApiError(AppError::invalid("missing_file", "请选择要导入的文件")).into_response(),
        );
    }
    Ok(up)
}

/// Import a catalogue file (CSV or xlsx) as a new version. Send the file as the raw body
/// (`Content-Type: text/csv` or the xlsx type) or as the field `file` of a multipart form. The
/// whole file is checked first; a bad file is refused with the first bad line and nothing is
/// written.
#[utoipa::path(post, path = "/api/v1/catalogue/versions", tag = "catalogue", params(ImportParams),
    request_body(description = "目录文件：CSV（UTF-8）或 xlsx，列见 docs/catalogue.md", content(
        ("text/csv"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (inline(UploadForm) = "multipart/form-data"),
    )),
    responses((status = 201, body = ImportResult), (status = 403, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn import(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(q): ApiQuery<ImportParams>,
    req: Request,
) -> Response {
    let up = match read_upload(req, &s).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let tenant = tenant_or_home(&p, q.tenant);
    let file_name = if up.file_name.is_empty() {
        q.filename.unwrap_or_default()
    } else {
        up.file_name
    };
    let note = up.note.or(q.note).unwrap_or_default();
    let r = cat::import(
        &s.app,
        &p,
        cat::ImportInput {
            tenant: &tenant,
            bytes: &up.bytes,
            file_name: &file_name,
            note: &note,
            activate: up.activate.or(q.activate).unwrap_or(false),
        },
    )
    .await;
    match r {
        Ok(i) => (StatusCode::CREATED, Json(imported_dto(i))).into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TenantParams {
    /// District code; default: the caller's district.
    pub tenant: Option<String>,
}

/// Make a version the active one (a draft, or a retired one to roll back to); the version
/// that was active retires. Cases already dispatched are not affected.
#[utoipa::path(post, path = "/api/v1/catalogue/versions/{id}/activate", tag = "catalogue",
    params(("id" = Uuid, Path), TenantParams),
    responses((status = 200, body = VersionDto), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn activate(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<TenantParams>,
) -> Result<Json<VersionDto>, ApiError> {
    let tenant = tenant_or_home(&p, q.tenant);
    Ok(Json(version_dto(
        cat::activate(&s.app, &p, &tenant, id).await?,
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    pub tenant: Option<String>,
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
}

/// `attachment` with an ASCII fallback name and the real (Chinese) name per RFC 6266/5987.
pub fn attachment(name: &str, ascii_fallback: &str) -> String {
    let mut enc = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            enc.push(char::from(b));
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii_fallback}\"; filename*=UTF-8''{enc}")
}

/// A version as a file in the full layout (re-importable as it is).
#[utoipa::path(get, path = "/api/v1/catalogue/versions/{id}/export", tag = "catalogue",
    params(("id" = Uuid, Path), ExportParams),
    responses((status = 200, description = "目录文件", content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn export(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let format = match q.format.as_deref() {
        None => FileFormat::Csv,
        Some(f) => FileFormat::parse(f)
            .ok_or_else(|| AppError::invalid("invalid_format", "导出格式只能是 csv 或 xlsx"))?,
    };
    let tenant = tenant_or_home(&p, q.tenant);
    let (v, bytes) = cat::export(&s.app, &p, &tenant, id, format).await?;
    let name = cat::export_file_name(&v, format);
    let ascii = format!(
        "catalogue-{}-v{}.{}",
        v.tenant,
        v.version,
        format.extension()
    );
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, attachment(&name, &ascii)),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ItemsParams {
    pub tenant: Option<String>,
    /// Code of the parent category; absent or empty: the level-1 categories.
    pub parent: Option<String>,
    /// A version id; default: the active version.
    pub version: Option<Uuid>,
}

/// The children of one category (at most 999 by the catalogue's rules, so not paged), each
/// with its own number of children.
#[utoipa::path(get, path = "/api/v1/catalogue/items", tag = "catalogue", params(ItemsParams),
    responses((status = 200, body = Vec<ItemDto>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn items(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(q): ApiQuery<ItemsParams>,
) -> Result<Json<Vec<ItemDto>>, ApiError> {
    let tenant = tenant_or_home(&p, q.tenant);
    let (_, nodes) = cat::children(
        &s.app,
        &p,
        &tenant,
        q.version,
        q.parent.as_deref().unwrap_or(""),
    )
    .await?;
    Ok(Json(nodes.into_iter().map(|n| item_dto(n, true)).collect()))
}

/// One item by id, in whichever version it belongs to.
#[utoipa::path(get, path = "/api/v1/catalogue/items/{id}", tag = "catalogue",
    params(("id" = Uuid, Path), TenantParams),
    responses((status = 200, body = ItemDto), (status = 404, body = crate::error::ErrorBody)))]
pub async fn item(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<TenantParams>,
) -> Result<Json<ItemDto>, ApiError> {
    let tenant = tenant_or_home(&p, q.tenant);
    let (_, n) = cat::item(&s.app, &p, &tenant, id).await?;
    Ok(Json(item_dto(n, false)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    pub tenant: Option<String>,
    /// Words from the request, separated by spaces; each must occur in the item's path or
    /// keywords (at most 5 words, 64 characters).
    pub q: String,
    /// 1–50, default 20.
    pub limit: Option<i64>,
}

/// Leaves of the active version matching the words, best first (name matches before path and
/// keyword matches).
#[utoipa::path(get, path = "/api/v1/catalogue/search", tag = "catalogue", params(SearchParams),
    responses((status = 200, body = Vec<ItemDto>), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn search(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(q): ApiQuery<SearchParams>,
) -> Result<Json<Vec<ItemDto>>, ApiError> {
    let tenant = tenant_or_home(&p, q.tenant);
    let nodes = cat::search_nodes(
        &s.app,
        &p,
        &tenant,
        &q.q,
        q.limit.unwrap_or(20).clamp(1, 50),
    )
    .await?;
    Ok(Json(
        nodes.into_iter().map(|n| item_dto(n, false)).collect(),
    ))
}
