//! The audit trail (审计管理员).

use axum::Json;
use axum::extract::State;
use linli_domain::Ts;
use linli_domain::audit::AuditRecord;
use linli_store::repo::audit::ListQuery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Page, decode_cursor, limit_of, page};
use crate::AppState;
use crate::auth::{ApiAuth, ApiQuery};
use crate::error::ApiError;

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditDto {
    pub id: Uuid,
    pub chain: String,
    pub seq: i64,
    pub at: String,
    pub user_id: Option<Uuid>,
    pub username: String,
    pub unit_id: Option<Uuid>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// ok / failed / denied
    pub result: String,
    pub reason: String,
    pub request_id: String,
    pub ip: String,
    pub detail: String,
}

pub fn dto(r: AuditRecord) -> AuditDto {
    AuditDto {
        id: r.id,
        chain: r.chain,
        seq: r.seq,
        at: r.at.rfc3339(),
        user_id: r.user_id,
        username: r.username,
        unit_id: r.unit_id,
        action: r.action,
        target_type: r.target_type,
        target_id: r.target_id,
        result: r.result,
        reason: r.reason,
        request_id: r.request_id,
        ip: r.ip,
        detail: r.detail,
    }
}

#[derive(Debug, Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub username: Option<String>,
    /// Action prefix, e.g. `login` or `user.`.
    pub action: Option<String>,
    pub result: Option<String>,
    pub target: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD` (China time), inclusive.
    pub from: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD` (China time), inclusive of that day.
    pub to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// Parse `2026-11-21` (a China-time day; `end` means the day after) or an RFC 3339 instant.
pub fn parse_time(s: &str, end: bool) -> Result<Ts, linli_app::AppError> {
    let bad =
        || linli_app::AppError::invalid("invalid_time", "时间格式应为 YYYY-MM-DD 或 RFC 3339");
    if let Ok(dt) = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Ok(Ts::from_datetime(dt));
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(s, &fmt).map_err(|_| bad())?;
    let d = if end {
        d.next_day().ok_or_else(bad)?
    } else {
        d
    };
    Ok(Ts::from_datetime(
        d.midnight().assume_offset(linli_domain::clock::CST),
    ))
}

pub fn to_query(q: &ListParams, limit: i64) -> Result<ListQuery, linli_app::AppError> {
    let before = match q.cursor.as_deref() {
        Some(c) => {
            let s = decode_cursor(c)?;
            let (at, id) = s
                .split_once(':')
                .ok_or_else(|| linli_app::AppError::invalid("invalid_cursor", "分页游标无效"))?;
            let at: i64 = at
                .parse()
                .map_err(|_| linli_app::AppError::invalid("invalid_cursor", "分页游标无效"))?;
            let id: Uuid = id
                .parse()
                .map_err(|_| linli_app::AppError::invalid("invalid_cursor", "分页游标无效"))?;
            Some((Ts(at), id))
        }
        None => None,
    };
    Ok(ListQuery {
        username: q.username.clone().map(|s| s.chars().take(64).collect()),
        action: q.action.clone().map(|s| s.chars().take(64).collect()),
        result: q.result.clone().map(|s| s.chars().take(16).collect()),
        target: q.target.clone().map(|s| s.chars().take(64).collect()),
        from: q
            .from
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| parse_time(s, false))
            .transpose()?,
        to: q
            .to
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| parse_time(s, true))
            .transpose()?,
        before,
        limit,
    })
}

pub fn cursor_of(r: &AuditRecord) -> String {
    format!("{}:{}", r.at.0, r.id)
}

/// Browse the audit trail, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(ListParams),
    responses((status = 200, body = Page<AuditDto>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(q): ApiQuery<ListParams>,
) -> Result<Json<Page<AuditDto>>, ApiError> {
    p.require(linli_domain::auth::Permission::AuditRead)?;
    let limit = limit_of(q.limit);
    let lq = to_query(&q, limit + 1)?;
    let rows = linli_app::audit::list(&s.app, &p, &lq).await?;
    Ok(Json(page(rows, limit, cursor_of, dto)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChainDto {
    pub chain: String,
    pub verified: i64,
    pub ok: bool,
    /// Where the chain first breaks, in words.
    pub broken: Option<String>,
}

/// Verify every hash chain of the trail.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", responses((status = 200, body = Vec<ChainDto>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn verify(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
) -> Result<Json<Vec<ChainDto>>, ApiError> {
    p.require(linli_domain::auth::Permission::AuditRead)?;
    let reports = linli_app::audit::verify(&s.app).await?;
    Ok(Json(
        reports
            .into_iter()
            .map(|r| ChainDto {
                ok: r.broken.is_none(),
                broken: r.broken.as_ref().map(ToString::to_string),
                chain: r.chain,
                verified: r.verified,
            })
            .collect(),
    ))
}
