//! 居民公告 page: community, street and district staff publish notices to the resident portal
//! (阳光社区) and withdraw them.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use linli_app::{AppError, Principal};
use serde::Deserialize;
use uuid::Uuid;

use super::{PageError, Shell, back, fail, parse_id, render};
use crate::AppState;
use crate::auth::{ApiForm, ApiPath, ApiQuery, ConsoleAuth};
use crate::error::status_of;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/notices", get(page).post(create))
        .route("/console/notices/{tenant}/{id}/withdraw", post(withdraw))
}

const HREF: &str = "/console/notices";

struct NoticeView {
    id: Uuid,
    tenant: String,
    title: String,
    unit: String,
    published: String,
    withdrawn: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NoticeForm {
    unit_id: String,
    unit_q: String,
    title: String,
    body: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PageQuery {
    ok: Option<String>,
    err: Option<String>,
}

#[derive(Template)]
#[template(path = "notices.html")]
struct NoticesPage {
    shell: Shell,
    rows: Vec<NoticeView>,
    f: NoticeForm,
}

fn shell(s: &AppState, p: &Principal) -> Shell {
    Shell::new(p, &s.app, "居民公告", HREF)
}

async fn view(
    s: &AppState,
    p: &Principal,
    shell: Shell,
    f: NoticeForm,
) -> Result<NoticesPage, AppError> {
    let list = linli_app::portal::managed_notices(&s.app, p).await?;
    let mut ids: Vec<Uuid> = list.iter().map(|n| n.unit_id).collect();
    ids.sort();
    ids.dedup();
    let names = linli_app::cases::unit_names(&s.app, p, &ids).await?;
    let rows = list
        .into_iter()
        .map(|n| NoticeView {
            unit: names.get(&n.unit_id).cloned().unwrap_or_default(),
            id: n.id,
            tenant: n.tenant,
            title: n.title,
            published: n.published_at.display_cst(),
            withdrawn: n.withdrawn_at.is_some(),
        })
        .collect();
    Ok(NoticesPage { shell, rows, f })
}

async fn page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Response, PageError> {
    let sh = shell(&s, &p).flash_from(q.ok.as_deref(), q.err.as_deref());
    let page = view(&s, &p, sh, NoticeForm::default())
        .await
        .map_err(fail(&s, &p, HREF))?;
    Ok(render(&page))
}

async fn create(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiForm(f): ApiForm<NoticeForm>,
) -> Result<Response, PageError> {
    let attempt = async {
        let unit = parse_id(&f.unit_id, "发布单位")?;
        linli_app::portal::publish(&s.app, &p, unit, &f.title, &f.body).await
    }
    .await;
    let (status, sh, form) = match attempt {
        Ok(n) => (
            axum::http::StatusCode::OK,
            shell(&s, &p).flash("success", format!("已发布“{}”，居民端即可看到", n.title)),
            NoticeForm::default(),
        ),
        Err(e) => (status_of(&e), shell(&s, &p).flash("danger", e.message()), f),
    };
    let page = view(&s, &p, sh, form).await.map_err(fail(&s, &p, HREF))?;
    Ok((status, render(&page)).into_response())
}

async fn withdraw(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath((tenant, id)): ApiPath<(String, Uuid)>,
) -> Response {
    let r = linli_app::portal::withdraw(&s.app, &p, &tenant, id)
        .await
        .map(|()| "已撤回公告，居民端不再显示".to_string());
    back(HREF, r)
}
