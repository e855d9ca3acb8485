//! Assessment (考核统计): the figures of a unit's subtree over a period by unit, grid, category
//! or channel, with every count linkable to the cases behind it; and the score weights.

use axum::Json;
use axum::extract::State;
use linli_app::AppError;
use linli_app::assessment::{AssessmentQuery, Dimension, Report, Row};
use linli_domain::assessment::{Measure, Rate, Tally, Weights};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::{ApiAuth, ApiJson, ApiQuery};
use crate::error::{ApiError, ErrorBody};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// The unit assessed (its whole subtree); the caller's own unit by default.
    pub unit: Option<Uuid>,
    /// unit (default), grid, category (level 1), category2 (level 2), channel.
    pub by: Option<String>,
    /// `2026-11` (month), `2026-Q4` (quarter) or `2026` (year), China time; the current month
    /// when neither this nor from/to is given.
    pub period: Option<String>,
    /// First day (`2026-11-01`, China time), with `to`.
    pub from: Option<String>,
    /// Last day, included.
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodDto {
    pub key: String,
    pub label: String,
    /// Start (included), RFC 3339 UTC.
    pub from: String,
    /// End (excluded), RFC 3339 UTC.
    pub to: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RateDto {
    pub rate: Rate,
    pub label: String,
    /// Fraction 0–1; null when the denominator is 0.
    pub value: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RowDto {
    pub key: String,
    pub label: String,
    /// Query string for `GET /api/v1/cases` (add `&measure=<count key>`) selecting this row's
    /// cases; null when the list cannot express the group (no grid, no category).
    pub cases_query: Option<String>,
    pub counts: Tally,
    pub rates: Vec<RateDto>,
    /// Average hours from 受理 to 结案 over closed cases.
    pub average_hours: Option<f64>,
    /// Weighted score 0–100.
    pub score: Option<f64>,
    /// 1 is best; tied scores share a rank; null without a score.
    pub rank: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeasureDto {
    pub key: String,
    pub label: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportDto {
    pub unit_id: Uuid,
    pub unit_name: String,
    pub by: String,
    pub period: PeriodDto,
    /// The moment the figures were taken (states and overdue are as of then).
    pub at: String,
    pub weights: Weights,
    pub rows: Vec<RowDto>,
    pub total: RowDto,
    /// The counts' keys and labels (each is a `measure` filter of the case list).
    pub measures: Vec<MeasureDto>,
}

pub fn row_dto(r: Row) -> RowDto {
    RowDto {
        key: r.key,
        label: r.label,
        cases_query: r.filter,
        counts: r.tally,
        rates: r
            .rates
            .into_iter()
            .map(|(rate, value)| RateDto {
                rate,
                label: rate.label().into(),
                value,
            })
            .collect(),
        average_hours: r.average_hours,
        score: r.score,
        rank: r.rank,
    }
}

fn report_dto(r: Report) -> ReportDto {
    ReportDto {
        unit_id: r.unit.id,
        unit_name: r.unit.name.clone(),
        by: r.dimension.key().into(),
        period: PeriodDto {
            key: r.period.key.clone(),
            label: r.period.label.clone(),
            from: r.period.from.rfc3339(),
            to: r.period.to.rfc3339(),
        },
        at: r.at.rfc3339(),
        weights: r.weights,
        rows: r.rows.into_iter().map(row_dto).collect(),
        total: row_dto(r.total),
        measures: Measure::ALL
            .iter()
            .map(|m| MeasureDto {
                key: m.key().into(),
                label: m.label().into(),
            })
            .collect(),
    }
}

pub fn dimension_of(by: Option<&str>) -> Result<Dimension, AppError> {
    match by.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Dimension::Unit),
        Some(b) => Dimension::parse(b).ok_or_else(|| {
            AppError::invalid(
                "invalid_dimension",
                "统计维度应为 unit、grid、category、category2 或 channel",
            )
        }),
    }
}

/// The assessment of a unit's subtree over a period.
#[utoipa::path(get, path = "/api/v1/assessment", tag = "assessment", params(ReportParams),
    responses((status = 200, body = ReportDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn report(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(q): ApiQuery<ReportParams>,
) -> Result<Json<ReportDto>, ApiError> {
    let dimension = dimension_of(q.by.as_deref())?;
    let period = linli_app::assessment::period_of(
        &s.app,
        q.period.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
    )?;
    let r = linli_app::assessment::report(
        &s.app,
        &p,
        AssessmentQuery {
            unit_id: q.unit,
            dimension,
            period,
        },
    )
    .await?;
    Ok(Json(report_dto(r)))
}

/// The score weights in force.
#[utoipa::path(get, path = "/api/v1/assessment/weights", tag = "assessment",
    responses((status = 200, body = Weights), (status = 403, body = ErrorBody)))]
pub async fn weights(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
) -> Result<Json<Weights>, ApiError> {
    Ok(Json(linli_app::assessment::weights(&s.app, &p).await?))
}

/// Replace the score weights (needs `catalogue.manage`; audited).
#[utoipa::path(put, path = "/api/v1/assessment/weights", tag = "assessment", request_body = Weights,
    responses((status = 200, body = Weights), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_weights(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(w): ApiJson<Weights>,
) -> Result<Json<Weights>, ApiError> {
    Ok(Json(
        linli_app::assessment::set_weights(&s.app, &p, w).await?,
    ))
}
