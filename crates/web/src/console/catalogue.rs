//! 派单目录 pages: the active version's tree (expanded level by level with htmx), search of its
//! leaves, one item's routing and limits, the versions with activate and export, and the
//! upload form for a new version.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use linli_app::catalogue::{self as cat, Node, Version};
use linli_app::{AppError, Principal};
use linli_domain::calendar::TimeLimit;
use serde::Deserialize;
use uuid::Uuid;

use super::{FragmentWrap, PageError, Shell, back, fail, fragment_error, render};
use crate::AppState;
use crate::auth::{ApiForm, ApiPath, ApiQuery, ConsoleAuth, urlencode};

const ACTIVE: &str = "/console/catalogue";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(ACTIVE, get(page))
        .route("/console/catalogue/children", get(children_rows))
        .route("/console/catalogue/items/{id}", get(item_page))
        .route("/console/catalogue/versions/{id}/activate", post(activate))
        .route(
            "/console/catalogue/import",
            post(import).layer(DefaultBodyLimit::max(crate::api::catalogue::UPLOAD_LIMIT)),
        )
}

/// The nav entry is for whoever may read a catalogue.
pub(super) fn may_see(p: &Principal) -> bool {
    cat::READ.iter().any(|x| p.authz.has(*x))
}

fn status_badge(status: &str) -> (&'static str, &'static str) {
    match status {
        "active" => ("启用中", "bg-green-lt"),
        "draft" => ("草稿", "bg-yellow-lt"),
        "retired" => ("已停用", "bg-secondary-lt"),
        _ => ("未知", "bg-secondary-lt"),
    }
}

fn limit_label(l: Option<TimeLimit>) -> String {
    l.map(TimeLimit::label).unwrap_or_default()
}

struct VersionRow {
    id: Uuid,
    version: i64,
    status: (&'static str, &'static str),
    active: bool,
    source: String,
    note: String,
    items: i64,
    created: String,
    activated: String,
}

impl VersionRow {
    fn of(v: &Version) -> VersionRow {
        VersionRow {
            id: v.id,
            version: v.version,
            status: status_badge(&v.status),
            active: v.status == "active",
            source: v.source.clone(),
            note: v.note.clone(),
            items: v.item_count,
            created: v.created_at.display_cst(),
            activated: v.activated_at.map(|t| t.display_cst()).unwrap_or_default(),
        }
    }
}

/// One row of the tree or of search results.
struct ItemRow {
    id: Uuid,
    code: String,
    name: String,
    full_name: String,
    children: i64,
    leaf: bool,
    handler: String,
    urgency: &'static str,
    limit: String,
    community_may: bool,
    /// Indentation level in the displayed tree.
    depth: usize,
}

impl ItemRow {
    fn of(n: Node, names: &HashMap<String, String>, depth: usize) -> ItemRow {
        let e = &n.entry;
        let handler = if !e.handler_code.is_empty() {
            names
                .get(&e.handler_code)
                .cloned()
                .unwrap_or_else(|| e.handler_code.clone())
        } else if let Some(k) = e.handler_kind {
            format!("（{}）", k.label())
        } else if e.leaf {
            "派单时确定".into()
        } else {
            String::new()
        };
        ItemRow {
            id: e.id,
            handler,
            urgency: e.urgency.label(),
            limit: limit_label(e.normal),
            community_may: e.community_may,
            leaf: e.leaf,
            code: e.code.clone(),
            full_name: e.full_name.clone(),
            name: n.name,
            children: n.children,
            depth,
        }
    }
    /// `data-path` for the tree script: the code with a trailing dot, so a node's descendants
    /// are exactly the rows whose path starts with its path.
    fn path(&self) -> String {
        format!("{}.", self.code)
    }
    fn indent(&self) -> String {
        format!("{:.2}", self.depth as f64 * 1.5)
    }
}

async fn rows_of(
    s: &AppState,
    p: &Principal,
    tenant: &str,
    nodes: Vec<Node>,
    depth: usize,
) -> Result<Vec<ItemRow>, AppError> {
    let mut codes: Vec<String> = nodes
        .iter()
        .map(|n| n.entry.handler_code.clone())
        .filter(|c| !c.is_empty())
        .collect();
    codes.sort();
    codes.dedup();
    let names = cat::unit_names(&s.app, p, tenant, &codes).await?;
    Ok(nodes
        .into_iter()
        .map(|n| ItemRow::of(n, &names, depth))
        .collect())
}

fn tenant_of(p: &Principal, t: Option<&str>) -> String {
    t.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.chars().take(6).collect())
        .unwrap_or_else(|| cat::home_tenant(p))
}

#[derive(Template)]
#[template(path = "catalogue.html")]
struct CataloguePage {
    shell: Shell,
    tenant: String,
    can_manage: bool,
    /// The version whose tree is shown (the active one unless `?version=`).
    shown: Option<VersionRow>,
    rows: Vec<ItemRow>,
    versions: Vec<VersionRow>,
    q: String,
    results: Option<Vec<ItemRow>>,
}

#[derive(Template)]
#[template(path = "_catalogue_rows.html")]
struct TreeRows {
    rows: Vec<ItemRow>,
    tenant: String,
    version_id: Uuid,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PageQuery {
    tenant: Option<String>,
    version: Option<Uuid>,
    q: Option<String>,
    ok: Option<String>,
    err: Option<String>,
}

const SEARCH_LIMIT: i64 = 50;

async fn page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Response, PageError> {
    let fail = fail(&s, &p, ACTIVE);
    let tenant = tenant_of(&p, q.tenant.as_deref());
    let versions = cat::versions(&s.app, &p, &tenant, None, 100)
        .await
        .map_err(&fail)?;
    let shown = match q.version {
        Some(id) => Some(cat::version(&s.app, &p, &tenant, id).await.map_err(&fail)?),
        None => versions.iter().find(|v| v.status == "active").cloned(),
    };
    let rows = match &shown {
        Some(v) => {
            let (_, nodes) = cat::children(&s.app, &p, &tenant, Some(v.id), "")
                .await
                .map_err(&fail)?;
            rows_of(&s, &p, &tenant, nodes, 0).await.map_err(&fail)?
        }
        None => vec![],
    };
    let text: String =
        q.q.as_deref()
            .unwrap_or("")
            .trim()
            .chars()
            .take(64)
            .collect();
    let results = if text.is_empty() {
        None
    } else {
        let nodes = cat::search_nodes(&s.app, &p, &tenant, &text, SEARCH_LIMIT)
            .await
            .map_err(&fail)?;
        Some(rows_of(&s, &p, &tenant, nodes, 0).await.map_err(&fail)?)
    };
    let can_manage = cat::can_manage(&s.app, &p, &tenant).await;
    let shell =
        Shell::new(&p, &s.app, "派单目录", ACTIVE).flash_from(q.ok.as_deref(), q.err.as_deref());
    Ok(render(&CataloguePage {
        shell,
        can_manage,
        shown: shown.as_ref().map(VersionRow::of),
        rows,
        versions: versions.iter().map(VersionRow::of).collect(),
        q: text,
        results,
        tenant,
    }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ChildrenQuery {
    tenant: Option<String>,
    version: Option<Uuid>,
    parent: String,
    level: Option<usize>,
}

/// `<tr>` rows of a category's children, inserted by htmx after the category's row.
async fn children_rows(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(q): ApiQuery<ChildrenQuery>,
) -> Response {
    let tenant = tenant_of(&p, q.tenant.as_deref());
    let depth = q.level.unwrap_or(1).clamp(1, 3);
    let r = async {
        let (v, nodes) = cat::children(&s.app, &p, &tenant, q.version, &q.parent).await?;
        Ok::<_, AppError>((v.id, rows_of(&s, &p, &tenant, nodes, depth).await?))
    }
    .await;
    match r {
        Ok((version_id, rows)) => render(&TreeRows {
            rows,
            tenant,
            version_id,
        }),
        Err(e) => fragment_error(FragmentWrap::Row, &e),
    }
}

#[derive(Template)]
#[template(path = "catalogue_item.html")]
struct ItemPage {
    shell: Shell,
    tenant: String,
    version: VersionRow,
    code: String,
    full_name: String,
    level: i64,
    leaf: bool,
    handler_kind: String,
    handler: String,
    handler_code: String,
    urgency: &'static str,
    /// (label, limit text or empty for "default")
    limits: Vec<(&'static str, String)>,
    community_may: bool,
    keywords: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TenantQuery {
    tenant: Option<String>,
}

async fn item_page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<TenantQuery>,
) -> Result<Response, PageError> {
    let fail = fail(&s, &p, ACTIVE);
    let tenant = tenant_of(&p, q.tenant.as_deref());
    let (v, n) = cat::item(&s.app, &p, &tenant, id).await.map_err(&fail)?;
    let e = &n.entry;
    let handler = if e.handler_code.is_empty() {
        String::new()
    } else {
        cat::unit_names(&s.app, &p, &tenant, std::slice::from_ref(&e.handler_code))
            .await
            .map_err(&fail)?
            .remove(&e.handler_code)
            .unwrap_or_default()
    };
    let back_to = format!("/console/catalogue?tenant={tenant}&version={}", v.id);
    let shell = Shell::new(&p, &s.app, n.name.clone(), ACTIVE)
        .crumbs(vec![(back_to, format!("派单目录 · 第 {} 版", v.version))]);
    Ok(render(&ItemPage {
        shell,
        tenant,
        version: VersionRow::of(&v),
        code: e.code.clone(),
        full_name: e.full_name.clone(),
        level: n.level,
        leaf: e.leaf,
        handler_kind: e
            .handler_kind
            .map(|k| k.label().to_string())
            .unwrap_or_default(),
        handler,
        handler_code: e.handler_code.clone(),
        urgency: e.urgency.label(),
        limits: vec![
            ("签收时限", limit_label(e.sign)),
            ("首次联系时限", limit_label(e.contact)),
            ("一般办理时限", limit_label(e.normal)),
            ("紧急办理时限", limit_label(e.urgent)),
            ("特急办理时限", limit_label(e.critical)),
        ],
        community_may: e.community_may,
        keywords: n.keywords.clone(),
    }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ActivateForm {
    tenant: String,
}

async fn activate(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiForm(f): ApiForm<ActivateForm>,
) -> Response {
    let tenant = tenant_of(&p, Some(&f.tenant));
    let to = format!("{ACTIVE}?tenant={}", urlencode(&tenant));
    let r = cat::activate(&s.app, &p, &tenant, id)
        .await
        .map(|v| format!("已启用第 {} 版派单目录，新派单将按此版本执行", v.version));
    back(&to, r)
}

#[derive(Template)]
#[template(path = "_catalogue_import_result.html")]
struct ImportError {
    message: String,
}

/// The upload form posts here with htmx (multipart, CSRF token in the header). Success sends
/// the browser back to the page with a message; a refusal is shown in place of the form's
/// result area.
async fn import(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(q): ApiQuery<TenantQuery>,
    req: Request,
) -> Response {
    let tenant = tenant_of(&p, q.tenant.as_deref());
    let up = match crate::api::catalogue::read_upload(req, &s).await {
        Ok(u) => u,
        Err(r) => {
            let status = r.status();
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!(
                    "文件过大（上限 {} MB）",
                    linli_domain::catalogue::MAX_FILE_BYTES >> 20
                )
            } else {
                "请选择要导入的 CSV 或 xlsx 文件".to_string()
            };
            return (status, render(&ImportError { message })).into_response();
        }
    };
    let r = cat::import(
        &s.app,
        &p,
        cat::ImportInput {
            tenant: &tenant,
            bytes: &up.bytes,
            file_name: &up.file_name,
            note: up.note.as_deref().unwrap_or(""),
            activate: up.activate.unwrap_or(false),
        },
    )
    .await;
    match r {
        Ok(i) => {
            let v = &i.version;
            let msg = format!(
                "已导入第 {} 版（{} 个一级分类、{} 个二级分类、{} 个条目）{}",
                v.version,
                i.counts.0,
                i.counts.1,
                i.counts.2,
                if v.status == "active" {
                    "，已启用"
                } else {
                    "，为草稿，核对后可启用"
                }
            );
            let to = format!(
                "{ACTIVE}?tenant={}&version={}&ok={}",
                urlencode(&tenant),
                v.id,
                urlencode(&msg)
            );
            (StatusCode::OK, [("HX-Redirect", to)]).into_response()
        }
        Err(e) => {
            let status = crate::error::status_of(&e);
            if status.is_server_error() {
                tracing::error!(error = ?e, "catalogue import failed");
            }
            (
                status,
                render(&ImportError {
                    message: e.message(),
                }),
            )
                .into_response()
        }
    }
}
