//! Intake suggestions for the hotline form and integrations: the catalogue categories the
//! district's classifier proposes for a request text (top three, with confidence, and one to
//! pre-fill when sure), and training that classifier on demand. Work on one tenant (6-digit
//! district code), by default the caller's own.

use axum::Json;
use axum::extract::State;
use linli_app::intake::{self, CategorySuggestions};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{ApiAuth, ApiJson};
use crate::error::ApiError;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuggestRequest {
    /// District code; default the caller's own.
    pub tenant: Option<String>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryDto {
    /// The model's label: a catalogue code.
    pub code: String,
    /// Probability, 0–1.
    pub score: f32,
    /// The item with that code in the active catalogue (absent when the catalogue no longer
    /// has it).
    pub item_id: Option<Uuid>,
    pub full_name: Option<String>,
    pub leaf: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestResponse {
    /// Up to three, most likely first.
    pub categories: Vec<CategoryDto>,
    /// The first category's item when the model is sure enough (≥ 0.8) to fill the form.
    pub prefill_item_id: Option<Uuid>,
    /// Why there are no suggestions (no model trained yet, unreadable model file).
    pub problem: Option<String>,
}

pub fn suggestions_dto(s: CategorySuggestions) -> SuggestResponse {
    SuggestResponse {
        prefill_item_id: s.prefill.map(|e| e.id),
        problem: s.problem,
        categories: s
            .items
            .into_iter()
            .map(|c| CategoryDto {
                code: c.code,
                score: c.score,
                leaf: c.item.as_ref().is_some_and(|e| e.leaf),
                item_id: c.item.as_ref().map(|e| e.id),
                full_name: c.item.map(|e| e.full_name),
            })
            .collect(),
    }
}

/// Categories for a request text. Empty or wordless text gets no suggestions (not an error);
/// long text is read up to its first 4,000 characters.
#[utoipa::path(post, path = "/api/v1/intake/suggest", tag = "intake", request_body = SuggestRequest,
    responses((status = 200, body = SuggestResponse)))]
pub async fn suggest(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(b): ApiJson<SuggestRequest>,
) -> Result<Json<SuggestResponse>, ApiError> {
    let tenant = super::catalogue::tenant_or_home(&p, b.tenant);
    let text = format!("{} {}", b.title, b.description);
    let found = intake::suggest_categories(&s.app, &p, &tenant, &text).await?;
    Ok(Json(suggestions_dto(found)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainRequest {
    pub tenant: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrainResponse {
    pub tenant: String,
    /// Finished cases learnt from.
    pub samples: usize,
    /// Distinct categories among them.
    pub labels: usize,
    /// Where the model is stored (blob key).
    pub model: String,
    pub seconds: f64,
}

/// Train the district's classifier now from its finished cases (a catalogue manager of the
/// district). Every server picks the new model up within five minutes.
#[utoipa::path(post, path = "/api/v1/intake/classifier/train", tag = "intake", request_body = TrainRequest,
    responses((status = 200, body = TrainResponse), (status = 422, body = crate::error::ErrorBody)))]
pub async fn train(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(b): ApiJson<TrainRequest>,
) -> Result<Json<TrainResponse>, ApiError> {
    let tenant = super::catalogue::tenant_or_home(&p, b.tenant);
    let t = intake::train(&s.app, &p, &tenant).await?;
    Ok(Json(TrainResponse {
        tenant: t.tenant,
        samples: t.samples,
        labels: t.labels,
        model: t.key,
        seconds: t.seconds,
    }))
}
