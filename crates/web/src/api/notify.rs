//! Notifications (系统管理员, `notify.manage`): webhook subscriptions (the signing secret is
//! shown once) and the delivery outbox, with dead letters sent again by hand.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use linli_domain::notify::DeliveryState;
use linli_store::repo::notify::{Delivery, Webhook};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::ok_empty;
use crate::AppState;
use crate::auth::{ApiAuth, ApiJson, ApiPath, ApiQuery};
use crate::error::ApiError;

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDto {
    pub id: Uuid,
    /// The district whose case events it receives.
    pub tenant: String,
    pub name: String,
    pub url: String,
    /// `*` or a comma list of topics (`case.received`, `case.registered`, `case.dispatched`,
    /// `case.replied`, `case.closed`, `case.reopened`, `case.warning`, `case.overdue`).
    pub topics: String,
    pub active: bool,
    pub created_at: String,
}

fn hook_dto(w: Webhook) -> WebhookDto {
    WebhookDto {
        id: w.id,
        tenant: w.tenant,
        name: w.name,
        url: w.url,
        topics: w.topics,
        active: w.active,
        created_at: w.created_at.rfc3339(),
    }
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "admin",
    responses((status = 200, body = Vec<WebhookDto>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
) -> Result<Json<Vec<WebhookDto>>, ApiError> {
    Ok(Json(
        linli_app::notify::webhooks(&s.app, &p)
            .await?
            .into_iter()
            .map(hook_dto)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Who receives it, e.g. 区网格化服务管理中心.
    pub name: String,
    /// The district (区县) unit whose case events it receives.
    pub district_id: Uuid,
    /// `http(s)://…`, where each event is POSTed as JSON.
    pub url: String,
    /// `*` (default) or a comma list of topics.
    #[serde(default)]
    pub topics: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    /// Shown once: the HMAC-SHA256 key of the `X-Linli-Signature` header.
    pub secret: String,
    pub info: WebhookDto,
}

/// Subscribe an outside system to a district's case events (docs/notifications.md).
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "admin", request_body = CreateWebhook,
    responses((status = 201, body = CreatedWebhook), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(b): ApiJson<CreateWebhook>,
) -> Response {
    match linli_app::notify::create_webhook(&s.app, &p, b.district_id, &b.name, &b.url, &b.topics)
        .await
    {
        Ok((w, secret)) => (
            StatusCode::CREATED,
            Json(CreatedWebhook {
                secret,
                info: hook_dto(w),
            }),
        )
            .into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

/// Stop a subscription; it receives nothing new.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "admin", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    linli_app::notify::delete_webhook(&s.app, &p, id).await?;
    Ok(ok_empty())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDto {
    pub id: Uuid,
    pub tenant: String,
    /// The same for every destination and every try of one event.
    pub event_id: Uuid,
    pub topic: String,
    pub case_id: Option<Uuid>,
    /// `sms` or `webhook`.
    pub sink: String,
    pub webhook_id: Option<Uuid>,
    /// `pending`, `delivered` or `dead`.
    pub state: String,
    pub attempts: i64,
    pub next_at: String,
    pub last_error: String,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

fn delivery_dto(d: Delivery) -> DeliveryDto {
    DeliveryDto {
        id: d.id,
        tenant: d.tenant,
        event_id: d.event_id,
        topic: d.topic,
        case_id: d.case_id,
        sink: d.sink,
        webhook_id: d.webhook_id,
        state: d.state,
        attempts: d.attempts,
        next_at: d.next_at.rfc3339(),
        last_error: d.last_error,
        created_at: d.created_at.rfc3339(),
        delivered_at: d.delivered_at.map(|t| t.rfc3339()),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// `pending`, `delivered` or `dead` (default `dead`).
    #[serde(default)]
    pub state: String,
    /// Keyset cursor: the last id of the previous page.
    pub before: Option<Uuid>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

/// Deliveries of the districts whose subscriptions the caller administers, newest first.
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "admin", params(DeliveryQuery),
    responses((status = 200, body = Vec<DeliveryDto>), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn deliveries(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> Result<Json<Vec<DeliveryDto>>, ApiError> {
    let state = match q.state.trim() {
        "" => DeliveryState::Dead,
        s => DeliveryState::parse(s).ok_or_else(|| {
            linli_app::AppError::invalid("invalid_state", "state 应为 pending、delivered 或 dead")
        })?,
    };
    Ok(Json(
        linli_app::notify::deliveries(&s.app, &p, state, q.before, q.limit.unwrap_or(50))
            .await?
            .into_iter()
            .map(delivery_dto)
            .collect(),
    ))
}

/// Send a dead letter again: a fresh round of tries, due now.
#[utoipa::path(post, path = "/api/v1/deliveries/{tenant}/{id}/retry", tag = "admin",
    params(("tenant" = String, Path), ("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn retry(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath((tenant, id)): ApiPath<(String, Uuid)>,
) -> Result<StatusCode, ApiError> {
    linli_app::notify::retry(&s.app, &p, &tenant, id).await?;
    Ok(ok_empty())
}
