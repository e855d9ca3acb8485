//! 重复诉求 in the console: the open cases a case (on its page) or a call being taken (beside
//! the intake form) looks like, merging from the case page (the ordinary 不派单办结 step with
//! 重复诉求 and the original's number) or dismissing a proposal, and where the typed address
//! lies. Rules and scoring are `linli_app::duplicates`'.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use linli_app::duplicates::{self, Candidate, Draft};
use linli_app::{AppError, Principal};
use linli_store::repo::cases::CaseRow;
use serde::Deserialize;
use uuid::Uuid;

use super::{FragmentWrap, back, fragment_error, parse_id, render};
use crate::AppState;
use crate::auth::{ApiForm, ApiPath, ConsoleAuth};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/cases/duplicates", post(draft))
        .route("/console/cases/place", post(place))
        .route("/console/cases/{id}/duplicates/dismiss", post(dismiss))
}

/// One proposed original, as listed.
pub struct DupView {
    pub id: Uuid,
    pub number: String,
    pub title: String,
    pub state: &'static str,
    pub received: String,
    pub percent: u32,
    /// "约 120 米", or empty.
    pub distance: String,
    pub shared: String,
}

fn views(found: Vec<Candidate>) -> Vec<DupView> {
    found
        .into_iter()
        .map(|c| DupView {
            id: c.case.id,
            number: c.case.number.clone(),
            title: c.case.title.clone(),
            state: c.case.life.state.label(),
            received: c.case.received_at.display_cst(),
            percent: (c.score * 100.0).round() as u32,
            distance: c
                .distance_m
                .map(|m| format!("相距约 {} 米", m.round() as i64))
                .unwrap_or_default(),
            shared: c.shared.join("、"),
        })
        .collect()
}

/// What the case page shows about duplicates: proposals (when the case may still be disposed
/// of), the original of a merged case, and the cases merged into this one.
#[derive(Default)]
pub struct Panel {
    pub proposals: Vec<DupView>,
    /// (id, number) of the original.
    pub original: Option<(Uuid, String)>,
    /// (id, number, title, state) of the cases merged into this one.
    pub merged: Vec<(Uuid, String, String, &'static str)>,
}

/// The case page's duplicates panel. A failure to look (it is a help, not the page) is
/// logged and shows nothing.
pub async fn panel(s: &AppState, p: &Principal, c: &CaseRow, may_dispose: bool) -> Panel {
    let proposals = if may_dispose {
        duplicates::for_case(&s.app, p, c).await.map(views)
    } else {
        Ok(Vec::new())
    };
    let original = match c.life.duplicate_of {
        Some(o) => linli_app::cases::get(&s.app, p, o)
            .await
            .map(|o| Some((o.id, o.number))),
        None => Ok(None),
    };
    let merged = duplicates::merged_into(&s.app, p, c).await.map(|m| {
        m.into_iter()
            .map(|d| (d.id, d.number, d.title, d.life.state.label()))
            .collect()
    });
    match (proposals, original, merged) {
        (Ok(proposals), Ok(original), Ok(merged)) => Panel {
            proposals,
            original,
            merged,
        },
        (a, b, c) => {
            for e in [a.err(), b.err(), c.err()].into_iter().flatten() {
                tracing::warn!(error = %e, "duplicates panel not shown");
            }
            Panel::default()
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DraftForm {
    title: String,
    description: String,
    address: String,
    category_id: String,
}

#[derive(Template)]
#[template(path = "_case_duplicates.html")]
struct DraftFragment {
    items: Vec<DupView>,
    /// Nothing typed yet.
    empty: bool,
}

/// Open cases the call being taken looks like, while the operator types.
async fn draft(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiForm(f): ApiForm<DraftForm>,
) -> Response {
    if f.title.trim().is_empty() && f.description.trim().is_empty() {
        return render(&DraftFragment {
            items: Vec::new(),
            empty: true,
        });
    }
    let d = Draft {
        title: f.title,
        description: f.description,
        address: f.address,
        category_id: Uuid::parse_str(f.category_id.trim()).ok(),
        ..Default::default()
    };
    match duplicates::for_draft(&s.app, &p, &d).await {
        Ok(found) => render(&DraftFragment {
            items: views(found),
            empty: false,
        }),
        Err(e) => fragment_error(FragmentWrap::Alert, &e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PlaceForm {
    address: String,
}

#[derive(Template)]
#[template(path = "_case_place.html")]
struct PlaceFragment {
    typed: bool,
    street: String,
    community: String,
}

/// Where the typed address lies (the street and community intake will file the case under).
async fn place(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiForm(f): ApiForm<PlaceForm>,
) -> Response {
    let address: String = f
        .address
        .chars()
        .take(linli_app::cases::MAX_ADDRESS_CHARS)
        .collect();
    if address.trim().is_empty() {
        return render(&PlaceFragment {
            typed: false,
            street: String::new(),
            community: String::new(),
        });
    }
    match linli_app::cases::locate(&s.app, &p, None, None, &address).await {
        Ok(at) => render(&PlaceFragment {
            typed: true,
            street: at.street.map(|u| u.name).unwrap_or_default(),
            community: at.community.map(|c| c.name).unwrap_or_default(),
        }),
        Err(e) => fragment_error(FragmentWrap::Alert, &e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DismissForm {
    other: String,
}

/// "不是重复": the proposal is not made again for this case.
async fn dismiss(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiForm(f): ApiForm<DismissForm>,
) -> Response {
    let here = format!("/console/cases/{id}");
    let r: Result<String, AppError> = async {
        let other = parse_id(&f.other, "工单")?;
        duplicates::dismiss(&s.app, &p, id, other).await?;
        Ok("已标记为不是重复诉求，不再提示".to_string())
    }
    .await;
    back(&here, r)
}
