//! 消息推送 page: the district webhook subscriptions (list, add — the signing secret is shown
//! once — and stop) and the deliveries by state, with dead letters sent again by hand.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use linli_app::{AppError, Principal};
use linli_domain::notify::{DeliveryState, Sink, Topic};
use serde::Deserialize;
use uuid::Uuid;

use super::{PageError, Shell, back, fail, parse_id, render};
use crate::AppState;
use crate::auth::{ApiForm, ApiPath, ApiQuery, ConsoleAuth};
use crate::error::status_of;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/notify", get(page).post(create))
        .route("/console/notify/webhooks/{id}/stop", post(stop))
        .route(
            "/console/notify/deliveries/{tenant}/{id}/retry",
            post(retry),
        )
}

const HREF: &str = "/console/notify";

struct HookView {
    id: Uuid,
    name: String,
    url: String,
    tenant: String,
    topics: String,
    created: String,
    active: bool,
}

struct DeliveryView {
    id: Uuid,
    tenant: String,
    topic: &'static str,
    sink: &'static str,
    case_id: Option<Uuid>,
    attempts: i64,
    when: String,
    error: String,
    dead: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HookForm {
    name: String,
    unit_id: String,
    unit_q: String,
    url: String,
    topics: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PageQuery {
    state: String,
    ok: Option<String>,
    err: Option<String>,
}

#[derive(Template)]
#[template(path = "notify.html")]
struct NotifyPage {
    shell: Shell,
    hooks: Vec<HookView>,
    /// (key, label, active)
    states: Vec<(&'static str, &'static str, bool)>,
    deliveries: Vec<DeliveryView>,
    f: HookForm,
    /// (name, secret) of a subscription just made.
    issued: Option<(String, String)>,
}

fn shell(s: &AppState, p: &Principal) -> Shell {
    Shell::new(p, &s.app, "消息推送", HREF)
}

fn topics_label(t: &str) -> String {
    if t == "*" {
        return "全部事件".into();
    }
    t.split(',')
        .filter_map(Topic::parse)
        .map(Topic::label)
        .collect::<Vec<_>>()
        .join("、")
}

async fn view(
    s: &AppState,
    p: &Principal,
    shell: Shell,
    state: DeliveryState,
    f: HookForm,
    issued: Option<(String, String)>,
) -> Result<NotifyPage, AppError> {
    let hooks = linli_app::notify::webhooks(&s.app, p)
        .await?
        .into_iter()
        .map(|w| HookView {
            id: w.id,
            topics: topics_label(&w.topics),
            name: w.name,
            url: w.url,
            tenant: w.tenant,
            created: w.created_at.display_cst(),
            active: w.active,
        })
        .collect();
    let deliveries = linli_app::notify::deliveries(&s.app, p, state, None, 100)
        .await?
        .into_iter()
        .map(|d| DeliveryView {
            id: d.id,
            topic: Topic::parse(&d.topic).map_or("其他", Topic::label),
            sink: Sink::parse(&d.sink).map_or("其他", Sink::label),
            case_id: d.case_id,
            attempts: d.attempts,
            when: d.delivered_at.unwrap_or(d.next_at).display_cst(),
            error: d.last_error,
            dead: d.state == DeliveryState::Dead.key(),
            tenant: d.tenant,
        })
        .collect();
    Ok(NotifyPage {
        shell,
        hooks,
        states: DeliveryState::ALL
            .iter()
            .map(|x| (x.key(), x.label(), *x == state))
            .collect(),
        deliveries,
        f,
        issued,
    })
}

async fn page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Response, PageError> {
    let state = DeliveryState::parse(q.state.trim()).unwrap_or(DeliveryState::Dead);
    let sh = shell(&s, &p).flash_from(q.ok.as_deref(), q.err.as_deref());
    let page = view(&s, &p, sh, state, HookForm::default(), None)
        .await
        .map_err(fail(&s, &p, HREF))?;
    Ok(render(&page))
}

async fn create(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiForm(f): ApiForm<HookForm>,
) -> Result<Response, PageError> {
    let attempt = async {
        let district = parse_id(&f.unit_id, "区县")?;
        linli_app::notify::create_webhook(&s.app, &p, district, &f.name, &f.url, &f.topics).await
    }
    .await;
    match attempt {
        Ok((w, secret)) => {
            let sh = shell(&s, &p).flash("success", format!("已添加订阅“{}”", w.name));
            let page = view(
                &s,
                &p,
                sh,
                DeliveryState::Dead,
                HookForm::default(),
                Some((w.name, secret)),
            )
            .await
            .map_err(fail(&s, &p, HREF))?;
            Ok(render(&page))
        }
        Err(e) => {
            let status = status_of(&e);
            let sh = shell(&s, &p).flash("danger", e.message());
            let page = view(&s, &p, sh, DeliveryState::Dead, f, None)
                .await
                .map_err(fail(&s, &p, HREF))?;
            Ok((status, render(&page)).into_response())
        }
    }
}

async fn stop(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Response {
    let r = linli_app::notify::delete_webhook(&s.app, &p, id)
        .await
        .map(|()| "已停用订阅，不再向它推送新事件".to_string());
    back(HREF, r)
}

async fn retry(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath((tenant, id)): ApiPath<(String, Uuid)>,
) -> Response {
    let r = linli_app::notify::retry(&s.app, &p, &tenant, id)
        .await
        .map(|()| "已重新排入投递队列".to_string());
    back(HREF, r)
}
