//! The staff console: server-rendered pages (askama) with htmx for partial updates.
//!
//! Every page struct holds a [`Shell`] (navigation filtered by the caller's permissions, the
//! CSRF token for forms and htmx, breadcrumbs, a flash message). Handlers call `app` use cases
//! and render; errors become a page ([`PageError`]) with the same Chinese message the API gives.

mod admin;
mod assessment;
mod attachments;
mod audit;
mod cases;
mod catalogue;
mod duplicates;
pub(crate) mod login;
mod notices;
mod notify;
mod open311;
mod org;
mod profile;
mod registry;
mod registry_forms;
mod registry_import;
mod registry_things;
mod users;
mod whistle;

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use linli_app::{AppError, Principal};
use linli_domain::auth::Permission;
use linli_domain::org::OrgKind;
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{ConsoleAuth, urlencode};
use crate::error::status_of;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(home))
        .merge(login::routes())
        .merge(org::routes())
        .merge(users::routes())
        .merge(admin::routes())
        .merge(open311::routes())
        .merge(notify::routes())
        .merge(notices::routes())
        .merge(audit::routes())
        .merge(cases::routes())
        .merge(duplicates::routes())
        .merge(whistle::routes())
        .merge(attachments::routes())
        .merge(catalogue::routes())
        .merge(assessment::routes())
        .merge(profile::routes())
        .merge(registry::routes())
        .merge(registry_forms::routes())
        .merge(registry_things::routes())
        .merge(registry_import::routes())
}

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub active: bool,
}

/// The frame around every console page.
pub struct Shell {
    pub title: String,
    pub username: String,
    pub display_name: String,
    pub initial: String,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    /// (href, label) from the top down, not including the current page.
    pub crumbs: Vec<(String, String)>,
    /// (Tabler alert colour, text): `success`, `danger`, `warning`, `info`.
    pub flash: Option<(String, String)>,
    pub version: &'static str,
    pub platform: String,
}

/// (href, label, hint, permission needed — None for everyone)
const NAV: &[(&str, &str, &str, Option<Permission>)] = &[
    ("/console", "工作台", "", None),
    (
        "/console/cases",
        "工单工作台",
        "待立案、待派遣、待签收、办理中与超期工单",
        Some(Permission::CaseRead),
    ),
    (
        "/console/cases/new",
        "热线受理",
        "登记来电诉求，查看来电人以往工单",
        Some(Permission::CaseCreate),
    ),
    (
        "/console/assessment",
        "考核统计",
        "响应率、解决率、满意率与综合得分排名",
        Some(Permission::AssessmentRead),
    ),
    (
        "/console/registry",
        "基础信息",
        "人口、房屋楼栋、网格地图与社区概况",
        Some(Permission::RegistryRead),
    ),
    (
        "/console/org",
        "组织架构",
        "区、街道、社区、网格与职能部门",
        Some(Permission::OrgRead),
    ),
    (
        "/console/catalogue",
        "派单目录",
        "分类、责任单位与时限；导入导出与版本",
        Some(Permission::CatalogueManage),
    ),
    (
        "/console/users",
        "人员账号",
        "账号、角色授权、锁定与停用",
        Some(Permission::UserRead),
    ),
    (
        "/console/roles",
        "角色权限",
        "角色的权限与二次验证要求",
        Some(Permission::UserRead),
    ),
    (
        "/console/tokens",
        "接口令牌",
        "对接系统的访问令牌",
        Some(Permission::TokenManage),
    ),
    (
        "/console/open311-keys",
        "Open311 密钥",
        "外部 311 客户端提交诉求的接入密钥",
        Some(Permission::Open311Manage),
    ),
    (
        "/console/notify",
        "消息推送",
        "Webhook 订阅与短信、推送的投递记录",
        Some(Permission::NotifyManage),
    ),
    (
        "/console/notices",
        "居民公告",
        "向居民端发布社区、街道公告（阳光社区）",
        Some(Permission::NoticePublish),
    ),
    (
        "/console/audit",
        "审计日志",
        "所有操作与登录记录，防篡改校验",
        Some(Permission::AuditRead),
    ),
    ("/api/docs", "接口文档", "OpenAPI / Swagger", None),
    (
        "/console/profile",
        "个人中心",
        "修改密码、动态验证码、登录设备",
        None,
    ),
];

impl Shell {
    /// `active` is the href of the nav entry to highlight.
    pub fn new(
        p: &Principal,
        app: &linli_app::App,
        title: impl Into<String>,
        active: &str,
    ) -> Shell {
        let nav = NAV
            .iter()
            .filter(|(href, _, _, perm)| match perm {
                None => true,
                // The roles page is also the security administrator's.
                Some(Permission::UserRead) if *href == "/console/roles" => {
                    p.authz.has(Permission::UserRead) || p.authz.has(Permission::RoleManage)
                }
                // The catalogue is read by everyone who takes or dispatches requests.
                Some(Permission::CatalogueManage) if *href == "/console/catalogue" => {
                    catalogue::may_see(p)
                }
                Some(perm) => p.authz.has(*perm),
            })
            .map(|(href, label, hint, _)| NavItem {
                href,
                label,
                hint,
                active: *href == active,
            })
            .collect();
        Shell {
            title: title.into(),
            username: p.username.clone(),
            display_name: p.display_name.clone(),
            initial: p
                .display_name
                .chars()
                .next()
                .map(String::from)
                .unwrap_or_default(),
            csrf: p.csrf.clone().unwrap_or_default(),
            nav,
            crumbs: vec![],
            flash: None,
            version: env!("CARGO_PKG_VERSION"),
            platform: app.cfg.platform_name.clone(),
        }
    }
    pub fn crumbs(mut self, c: Vec<(String, String)>) -> Self {
        self.crumbs = c;
        self
    }
    pub fn flash(mut self, kind: &str, text: impl Into<String>) -> Self {
        self.flash = Some((kind.to_string(), text.into()));
        self
    }
    /// A flash from a `?ok=` / `?err=` query parameter after a redirect.
    pub fn flash_from(self, ok: Option<&str>, err: Option<&str>) -> Self {
        match (ok, err) {
            (_, Some(e)) if !e.is_empty() => {
                self.flash("danger", e.chars().take(200).collect::<String>())
            }
            (Some(o), _) if !o.is_empty() => {
                self.flash("success", o.chars().take(200).collect::<String>())
            }
            _ => self,
        }
    }
}

/// Render a template, or a plain 500 if rendering fails.
pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template render failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "页面渲染失败").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub shell: Shell,
    pub heading: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "bare_message.html")]
pub struct BareMessage {
    pub heading: String,
    pub detail: String,
}

/// An error while serving a console page: shown as a page inside the frame.
pub struct PageError {
    pub shell: Shell,
    pub err: AppError,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = status_of(&self.err);
        if status.is_server_error() {
            tracing::error!(error = ?self.err, "console request failed");
        }
        let heading = match status {
            StatusCode::NOT_FOUND => "未找到".to_string(),
            StatusCode::FORBIDDEN => "无权访问".to_string(),
            _ => "操作未完成".to_string(),
        };
        let mut shell = self.shell;
        shell.title = heading.clone();
        (
            status,
            render(&MessagePage {
                shell,
                heading,
                detail: self.err.message(),
            }),
        )
            .into_response()
    }
}

pub fn not_found_page() -> Response {
    (
        StatusCode::NOT_FOUND,
        render(&BareMessage {
            heading: "页面不存在".into(),
            detail: "请检查地址是否正确。".into(),
        }),
    )
        .into_response()
}

pub fn csrf_failed_page() -> Response {
    (
        StatusCode::FORBIDDEN,
        render(&BareMessage {
            heading: "安全校验失败".into(),
            detail: "页面已过期或来源不明，请返回后刷新页面再试。".into(),
        }),
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    shell: Shell,
    greeting: &'static str,
    home_unit: String,
    stats: Vec<Stat>,
    roles: Vec<(String, String, &'static str)>,
}

struct Stat {
    label: String,
    value: String,
    href: String,
}

fn greeting(now: linli_domain::Ts) -> &'static str {
    match now.to_datetime().to_offset(linli_domain::clock::CST).hour() {
        5..=10 => "早上好",
        11..=12 => "中午好",
        13..=17 => "下午好",
        _ => "晚上好",
    }
}

async fn home(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
) -> Result<Response, PageError> {
    let shell = Shell::new(&p, &s.app, "工作台", "/console");
    let home_unit = unit_names(&s, &p, [p.unit_id])
        .await
        .remove(&p.unit_id)
        .unwrap_or_default();
    let mut stats = Vec::new();
    if p.authz.has(Permission::OrgRead) {
        let roots = linli_app::org::roots(&s.app, &p)
            .await
            .map_err(|err| PageError {
                shell: Shell::new(&p, &s.app, "工作台", "/console"),
                err,
            })?;
        let mut by_kind = std::collections::BTreeMap::new();
        for r in &roots {
            let counts = linli_app::org::descendant_counts(&s.app, &p, &r.unit)
                .await
                .unwrap_or_default();
            for (k, n) in counts {
                *by_kind.entry(k).or_insert(0i64) += n;
            }
        }
        for (kind, label) in [
            (linli_domain::org::OrgKind::Street, "街道乡镇"),
            (linli_domain::org::OrgKind::Community, "社区村"),
            (linli_domain::org::OrgKind::Grid, "网格"),
            (linli_domain::org::OrgKind::Department, "职能部门"),
        ] {
            stats.push(Stat {
                label: label.into(),
                value: by_kind.get(&kind).copied().unwrap_or(0).to_string(),
                href: "/console/org".into(),
            });
        }
    }
    let roles = linli_app::users::my_assignments(&s.app, &p)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|a| (a.role_name, a.unit_name, a.scope.label()))
        .collect();
    Ok(render(&HomePage {
        shell,
        greeting: greeting(s.app.now()),
        home_unit,
        stats,
        roles,
    }))
}

// Shared helpers for console pages.

/// `?ok=` / `?err=` after a redirect.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct FlashQuery {
    pub ok: Option<String>,
    pub err: Option<String>,
}

/// After a POST: back to `to` (a local path, optionally with `#anchor`) with a flash.
pub(super) fn back(to: &str, r: Result<String, AppError>) -> Response {
    let (path, anchor) = match to.split_once('#') {
        Some((p, a)) => (p, format!("#{a}")),
        None => (to, String::new()),
    };
    let sep = if path.contains('?') { '&' } else { '?' };
    let (key, text) = match r {
        Ok(msg) => ("ok", msg),
        Err(e) => {
            if crate::error::status_of(&e).is_server_error() {
                tracing::error!(error = ?e, "console action failed");
            }
            ("err", e.message())
        }
    };
    Redirect::to(&format!("{path}{sep}{key}={}{anchor}", urlencode(&text))).into_response()
}

/// A closure turning a use-case error into an error page inside the frame.
pub(super) fn fail<'a>(
    s: &'a AppState,
    p: &'a Principal,
    active: &'static str,
) -> impl Fn(AppError) -> PageError + 'a {
    move |err| PageError {
        shell: Shell::new(p, &s.app, "", active),
        err,
    }
}

/// A UUID from a form field; `what` names the field in the message.
pub(super) fn parse_id(s: &str, what: &str) -> Result<Uuid, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(AppError::invalid("missing_field", format!("请选择{what}")));
    }
    s.parse()
        .map_err(|_| AppError::invalid("invalid_id", format!("{what}无效，请重新选择")))
}

/// A checkbox is present (any value) when ticked.
pub(super) fn ticked(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|v| !v.is_empty())
}

pub(super) fn kind_class(k: OrgKind) -> &'static str {
    match k {
        OrgKind::Root | OrgKind::Province | OrgKind::City => "bg-purple-lt",
        OrgKind::District => "bg-blue-lt",
        OrgKind::Street => "bg-azure-lt",
        OrgKind::Community => "bg-green-lt",
        OrgKind::Grid => "bg-teal-lt",
        OrgKind::Department => "bg-orange-lt",
    }
}

/// Unit names by id for display, limited to units the caller may see (one query).
pub(super) async fn unit_names(
    s: &AppState,
    p: &Principal,
    ids: impl IntoIterator<Item = Uuid>,
) -> HashMap<Uuid, String> {
    let ids: Vec<Uuid> = ids.into_iter().collect();
    linli_app::org::names(&s.app, p, &ids)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "unit names lookup failed");
            HashMap::new()
        })
}

/// Where an htmx error fragment goes.
pub(super) enum FragmentWrap {
    /// A table row in the org tree.
    Row,
    /// An item of the unit picker's list.
    ListItem,
    /// A block alert.
    Alert,
}

#[derive(Template)]
#[template(path = "_fragment_error.html")]
struct FragmentError {
    wrap: FragmentWrap,
    message: String,
}

/// An error as an htmx fragment, with its real status (static/js/linli.js tells htmx to swap
/// error responses in place, so the message shows where the content would have).
pub(super) fn fragment_error(wrap: FragmentWrap, e: &AppError) -> Response {
    let status = crate::error::status_of(e);
    if status.is_server_error() {
        tracing::error!(error = ?e, "console fragment failed");
    }
    (
        status,
        render(&FragmentError {
            wrap,
            message: e.message(),
        }),
    )
        .into_response()
}
