//! Open311 接入密钥 page: the keys outside 311 clients file requests with (list, issue,
//! revoke). A new key is shown once on the page the POST renders.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use linli_app::{AppError, Principal};
use linli_domain::auth::Permission;
use serde::Deserialize;
use uuid::Uuid;

use super::{FlashQuery, PageError, Shell, back, fail, parse_id, render};
use crate::AppState;
use crate::auth::{ApiForm, ApiPath, ApiQuery, ConsoleAuth};
use crate::error::status_of;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/open311-keys", get(page).post(create))
        .route("/console/open311-keys/{id}/revoke", post(revoke))
}

struct KeyView {
    id: Uuid,
    name: String,
    prefix: String,
    tenant: String,
    /// (unit id, name, code)
    units: Vec<(Uuid, String, String)>,
    created: String,
    last_used: String,
    /// (label, badge class)
    state: (&'static str, &'static str),
    active: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct KeyForm {
    name: String,
    unit_id: String,
    unit_q: String,
    /// More receiving units by code, one a line.
    more_units: String,
}

struct Issued {
    name: String,
    secret: String,
}

#[derive(Template)]
#[template(path = "open311_keys.html")]
struct KeysPage {
    shell: Shell,
    keys: Vec<KeyView>,
    f: KeyForm,
    issued: Option<Issued>,
}

const HREF: &str = "/console/open311-keys";

fn shell(s: &AppState, p: &Principal) -> Shell {
    Shell::new(p, &s.app, "Open311 接入密钥", HREF)
}

async fn view(
    s: &AppState,
    p: &Principal,
    shell: Shell,
    f: KeyForm,
    issued: Option<Issued>,
) -> Result<KeysPage, AppError> {
    let keys = linli_app::open311::keys(&s.app, p)
        .await?
        .into_iter()
        .map(|k| {
            let active = k.revoked_at.is_none();
            KeyView {
                id: k.id,
                name: k.name,
                prefix: k.prefix,
                tenant: k.tenant,
                units: k
                    .units
                    .into_iter()
                    .map(|u| (u.unit_id, u.name, u.code))
                    .collect(),
                created: k.created_at.display_cst(),
                last_used: k
                    .last_used_at
                    .map(|x| x.display_cst())
                    .unwrap_or_else(|| "从未使用".into()),
                state: if active {
                    ("有效", "bg-green-lt")
                } else {
                    ("已吊销", "bg-secondary-lt")
                },
                active,
            }
        })
        .collect();
    Ok(KeysPage {
        shell,
        keys,
        f,
        issued,
    })
}

async fn page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(fq): ApiQuery<FlashQuery>,
) -> Result<Response, PageError> {
    let sh = shell(&s, &p).flash_from(fq.ok.as_deref(), fq.err.as_deref());
    let page = view(&s, &p, sh, KeyForm::default(), None)
        .await
        .map_err(fail(&s, &p, HREF))?;
    Ok(render(&page))
}

/// The units the form names: the picked one first, then the codes typed below it.
async fn units_of(s: &AppState, f: &KeyForm) -> Result<Vec<Uuid>, AppError> {
    let mut ids = vec![parse_id(&f.unit_id, "受理单位")?];
    for code in f
        .more_units
        .split(|c: char| c.is_whitespace() || c == ',' || c == '，')
        .filter(|c| !c.is_empty())
        .take(linli_app::open311::MAX_KEY_UNITS)
    {
        if code.len() > 20 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(AppError::invalid("invalid_code", "单位代码无效"));
        }
        // Scope is checked by the use case: a unit out of reach is "not found" either way.
        let u = linli_store::repo::org::get_by_code(&s.app.db, code)
            .await?
            .ok_or(AppError::NotFound("单位"))?;
        ids.push(u.id);
    }
    Ok(ids)
}

async fn create(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiForm(f): ApiForm<KeyForm>,
) -> Result<Response, PageError> {
    let attempt = async {
        p.require(Permission::Open311Manage)?;
        let ids = units_of(&s, &f).await?;
        linli_app::open311::create_key(&s.app, &p, &f.name, &ids).await
    }
    .await;
    match attempt {
        Ok((k, secret)) => {
            let sh = shell(&s, &p).flash("success", format!("已签发密钥“{}”", k.name));
            let page = view(
                &s,
                &p,
                sh,
                KeyForm::default(),
                Some(Issued {
                    name: k.name,
                    secret,
                }),
            )
            .await
            .map_err(fail(&s, &p, HREF))?;
            Ok(render(&page))
        }
        Err(e) => {
            let status = status_of(&e);
            let sh = shell(&s, &p).flash("danger", e.message());
            let page = view(&s, &p, sh, f, None)
                .await
                .map_err(fail(&s, &p, HREF))?;
            Ok((status, render(&page)).into_response())
        }
    }
}

async fn revoke(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Response {
    let r = linli_app::open311::revoke_key(&s.app, &p, id)
        .await
        .map(|()| "已吊销密钥，使用它的客户端将无法再提交诉求".to_string());
    back(HREF, r)
}
