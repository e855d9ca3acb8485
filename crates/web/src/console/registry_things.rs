//! 基础信息 pages for things and organisations: 部件 (list with filters and 导出 Excel, the
//! component page with its state change), 组织 (list with 导出 Excel, the organisation page
//! with the buildings and grids it serves and the audited contact reveal) and 户 (the
//! household list and the household page linked from the person and building pages). The
//! create and edit forms are [`super::registry_forms`]'.
//!
//! Like the other registry pages they only present and collect; scope, masking and rules are
//! the `linli_app::registry::{things, households}` use cases'.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use linli_app::AppError;
use linli_app::Principal;
use linli_app::registry::households::{self, HouseholdDetail, HouseholdFilter, HouseholdItem};
use linli_app::registry::things::{
    self, ComponentChange, ComponentDetail, ComponentFilter, ComponentView, OrganisationContact,
    OrganisationDetail, OrganisationFilter, OrganisationView,
};
use linli_domain::auth::Permission;
use linli_domain::component::{ComponentMajor, ComponentState};
use linli_domain::registry::OrganisationKind;
use serde::Deserialize;
use uuid::Uuid;

use super::registry::{
    ACTIVE, Opt, ReasonForm, exported, opt_list, optional_id, revealed, say, shell, tabs, text,
};
use super::{FlashQuery, PageError, Shell, back, fail, render, unit_names};
use crate::AppState;
use crate::auth::{ApiForm, ApiPath, ApiQuery, ConsoleAuth, urlencode};
use crate::error::status_of;

pub const COMPONENTS: &str = "/console/registry/components";
pub const ORGANISATIONS: &str = "/console/registry/organisations";
pub const HOUSEHOLDS: &str = "/console/registry/households";
/// Rows per page of the lists.
const PAGE: i64 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(COMPONENTS, get(components_page))
        .route(
            "/console/registry/components/export",
            post(components_export),
        )
        .route("/console/registry/components/{id}", get(component_page))
        .route(
            "/console/registry/components/{id}/state",
            post(component_state),
        )
        .route(ORGANISATIONS, get(organisations_page))
        .route(
            "/console/registry/organisations/export",
            post(organisations_export),
        )
        .route(
            "/console/registry/organisations/{id}",
            get(organisation_page),
        )
        .route(
            "/console/registry/organisations/{id}/unmask",
            post(organisation_unmask),
        )
        .route(HOUSEHOLDS, get(households_page))
        .route(&format!("{HOUSEHOLDS}/{{id}}"), get(household_page))
}

/// The query string of the filters that are set (for paging links).
fn query_of(pairs: &[(&str, &String)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(v.trim())))
        .collect::<Vec<_>>()
        .join("&")
}

// ---------------------------------------------------------------------------------------------
// 部件.

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ComponentParams {
    unit: String,
    class: String,
    state: String,
    code: String,
    before: String,
}

struct ComponentRow {
    c: ComponentView,
    grid: String,
}

#[derive(Template)]
#[template(path = "registry_components.html")]
struct ComponentsPage {
    shell: Shell,
    tabs: Vec<(&'static str, &'static str, bool)>,
    f: ComponentParams,
    unit_name: String,
    classes: Vec<Opt>,
    states: Vec<Opt>,
    rows: Vec<ComponentRow>,
    listed: bool,
    query: String,
    next: Option<Uuid>,
    filtered: bool,
    can_export: bool,
    can_write: bool,
}

fn component_filter(f: &ComponentParams) -> Result<ComponentFilter, AppError> {
    Ok(ComponentFilter {
        unit: optional_id(&f.unit, "单位")?,
        class: text(&f.class, 20),
        state: text(&f.state, 20),
        code: text(&f.code, 16),
        before: optional_id(&f.before, "分页位置")?,
        limit: Some(PAGE),
    })
}

async fn components_page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(f): ApiQuery<ComponentParams>,
    ApiQuery(fq): ApiQuery<FlashQuery>,
) -> Result<Response, PageError> {
    show_components(&s, &p, f, fq).await
}

/// 导出 Excel of the component list: the list's filters, posted with the CSRF token; a refused
/// export shows the list again with the reason.
async fn components_export(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiForm(f): ApiForm<ComponentParams>,
) -> Result<Response, PageError> {
    let r = async {
        let filter = ComponentFilter {
            before: None,
            limit: None,
            ..component_filter(&f)?
        };
        linli_app::registry::export::components(&s.app, &p, &filter).await
    }
    .await;
    exported(r, |err| {
        let fq = FlashQuery {
            ok: None,
            err: Some(err),
        };
        show_components(&s, &p, f, fq)
    })
    .await
}

async fn show_components(
    s: &AppState,
    p: &Principal,
    f: ComponentParams,
    fq: FlashQuery,
) -> Result<Response, PageError> {
    p.require(Permission::RegistryRead)
        .map_err(fail(s, p, ACTIVE))?;
    let query = query_of(&[
        ("unit", &f.unit),
        ("class", &f.class),
        ("state", &f.state),
        ("code", &f.code),
    ]);
    let attempt = async {
        let filter = component_filter(&f)?;
        let (items, next) = things::list_components(&s.app, p, &filter).await?;
        Ok::<_, AppError>((filter.unit, items, next))
    }
    .await;
    let classes = opt_list(
        ComponentMajor::ALL.iter().map(|m| (m.code(), m.label())),
        f.class.trim(),
    );
    let states = opt_list(
        ComponentState::ALL.iter().map(|m| (m.key(), m.label())),
        f.state.trim(),
    );
    let mut page = ComponentsPage {
        shell: shell(s, p, "部件").flash_from(fq.ok.as_deref(), None),
        can_export: p.authz.has(Permission::RegistryExport),
        can_write: p.authz.has(Permission::RegistryWrite),
        tabs: tabs(COMPONENTS),
        unit_name: String::new(),
        classes,
        states,
        rows: vec![],
        listed: false,
        filtered: !query.is_empty(),
        query,
        next: None,
        f,
    };
    let status = match attempt {
        Ok((unit, items, next)) => {
            let names = unit_names(s, p, items.iter().map(|c| c.unit_id).chain(unit)).await;
            page.unit_name = unit
                .and_then(|u| names.get(&u).cloned())
                .unwrap_or_default();
            page.rows = items
                .into_iter()
                .map(|c| ComponentRow {
                    grid: names.get(&c.unit_id).cloned().unwrap_or_default(),
                    c,
                })
                .collect();
            page.next = next;
            page.listed = true;
            StatusCode::OK
        }
        Err(e) => {
            let status = status_of(&e);
            if status.is_server_error() {
                tracing::error!(error = ?e, "component list failed");
            }
            page.shell = page.shell.flash("danger", e.message());
            status
        }
    };
    if let Some(m) = fq.err {
        page.shell = page.shell.flash("danger", m);
    }
    Ok((status, render(&page)).into_response())
}

#[derive(Template)]
#[template(path = "registry_component.html")]
struct ComponentPage {
    shell: Shell,
    tabs: Vec<(&'static str, &'static str, bool)>,
    d: ComponentDetail,
    states: Vec<Opt>,
}

async fn component_page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(fq): ApiQuery<FlashQuery>,
) -> Result<Response, PageError> {
    let d = things::get_component(&s.app, &p, id)
        .await
        .map_err(fail(&s, &p, ACTIVE))?;
    let sh = shell(&s, &p, &format!("部件 {}", d.component.name))
        .crumbs(vec![
            (ACTIVE.into(), "基础信息".into()),
            (COMPONENTS.into(), "部件".into()),
        ])
        .flash_from(fq.ok.as_deref(), fq.err.as_deref());
    let states = opt_list(
        ComponentState::ALL.iter().map(|m| (m.key(), m.label())),
        &d.component.state,
    );
    Ok(render(&ComponentPage {
        shell: sh,
        tabs: tabs(COMPONENTS),
        states,
        d,
    }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StateForm {
    state: String,
    note: String,
    version: String,
}

/// A state change (巡查: 损坏、丢失、占用…) from the component page; back with the outcome.
async fn component_state(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiForm(f): ApiForm<StateForm>,
) -> Response {
    let here = format!("{COMPONENTS}/{id}");
    let r = async {
        let version =
            f.version.trim().parse::<i64>().map_err(|_| {
                AppError::invalid("invalid_version", "页面版本无效，请刷新页面后重试")
            })?;
        let d = things::update_component(
            &s.app,
            &p,
            id,
            ComponentChange {
                state: Some(f.state.clone()),
                note: f.note.clone(),
                version,
                ..Default::default()
            },
        )
        .await?;
        Ok(format!("已更新，当前状态：{}", d.component.state_label))
    }
    .await
    .map_err(say);
    back(&here, r)
}

// ---------------------------------------------------------------------------------------------
// 组织.

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OrganisationParams {
    unit: String,
    kind: String,
    name: String,
    before: String,
}

struct OrganisationRow {
    o: OrganisationView,
    grid: String,
}

#[derive(Template)]
#[template(path = "registry_organisations.html")]
struct OrganisationsPage {
    shell: Shell,
    tabs: Vec<(&'static str, &'static str, bool)>,
    f: OrganisationParams,
    unit_name: String,
    kinds: Vec<Opt>,
    rows: Vec<OrganisationRow>,
    listed: bool,
    query: String,
    next: Option<Uuid>,
    filtered: bool,
    can_export: bool,
    can_write: bool,
}

fn organisation_filter(f: &OrganisationParams) -> Result<OrganisationFilter, AppError> {
    Ok(OrganisationFilter {
        unit: optional_id(&f.unit, "单位")?,
        kind: text(&f.kind, 30),
        name: text(&f.name, 50),
        before: optional_id(&f.before, "分页位置")?,
        limit: Some(PAGE),
    })
}

async fn organisations_page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(f): ApiQuery<OrganisationParams>,
    ApiQuery(fq): ApiQuery<FlashQuery>,
) -> Result<Response, PageError> {
    show_organisations(&s, &p, f, fq).await
}

/// 导出 Excel of the organisation list (see [`components_export`]); contacts masked.
async fn organisations_export(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiForm(f): ApiForm<OrganisationParams>,
) -> Result<Response, PageError> {
    let r = async {
        let filter = OrganisationFilter {
            before: None,
            limit: None,
            ..organisation_filter(&f)?
        };
        linli_app::registry::export::organisations(&s.app, &p, &filter).await
    }
    .await;
    exported(r, |err| {
        let fq = FlashQuery {
            ok: None,
            err: Some(err),
        };
        show_organisations(&s, &p, f, fq)
    })
    .await
}

async fn show_organisations(
    s: &AppState,
    p: &Principal,
    f: OrganisationParams,
    fq: FlashQuery,
) -> Result<Response, PageError> {
    p.require(Permission::RegistryRead)
        .map_err(fail(s, p, ACTIVE))?;
    let query = query_of(&[("unit", &f.unit), ("kind", &f.kind), ("name", &f.name)]);
    let attempt = async {
        let filter = organisation_filter(&f)?;
        let (items, next) = things::list_organisations(&s.app, p, &filter).await?;
        Ok::<_, AppError>((filter.unit, items, next))
    }
    .await;
    let kinds = opt_list(
        OrganisationKind::ALL.iter().map(|k| (k.key(), k.label())),
        f.kind.trim(),
    );
    let mut page = OrganisationsPage {
        shell: shell(s, p, "组织").flash_from(fq.ok.as_deref(), None),
        can_export: p.authz.has(Permission::RegistryExport),
        can_write: p.authz.has(Permission::RegistryWrite),
        tabs: tabs(ORGANISATIONS),
        unit_name: String::new(),
        kinds,
        rows: vec![],
        listed: false,
        filtered: !query.is_empty(),
        query,
        next: None,
        f,
    };
    let status = match attempt {
        Ok((unit, items, next)) => {
            let names = unit_names(s, p, items.iter().map(|o| o.unit_id).chain(unit)).await;
            page.unit_name = unit
                .and_then(|u| names.get(&u).cloned())
                .unwrap_or_default();
            page.rows = items
                .into_iter()
                .map(|o| OrganisationRow {
                    grid: names.get(&o.unit_id).cloned().unwrap_or_default(),
                    o,
                })
                .collect();
            page.next = next;
            page.listed = true;
            StatusCode::OK
        }
        Err(e) => {
            let status = status_of(&e);
            if status.is_server_error() {
                tracing::error!(error = ?e, "organisation list failed");
            }
            page.shell = page.shell.flash("danger", e.message());
            status
        }
    };
    if let Some(m) = fq.err {
        page.shell = page.shell.flash("danger", m);
    }
    Ok((status, render(&page)).into_response())
}

#[derive(Template)]
#[template(path = "registry_organisation.html")]
struct OrganisationPage {
    shell: Shell,
    tabs: Vec<(&'static str, &'static str, bool)>,
    d: OrganisationDetail,
    /// The full contact, in the response to a reveal request only.
    contact: Option<OrganisationContact>,
    /// The reason typed into a refused reveal request.
    reason: String,
}

async fn organisation_of(
    s: &AppState,
    p: &Principal,
    id: Uuid,
    sh: Shell,
    contact: Option<OrganisationContact>,
    reason: String,
) -> Result<Response, PageError> {
    let d = things::get_organisation(&s.app, p, id)
        .await
        .map_err(fail(s, p, ACTIVE))?;
    let mut sh = sh.crumbs(vec![
        (ACTIVE.into(), "基础信息".into()),
        (ORGANISATIONS.into(), "组织".into()),
    ]);
    sh.title = d.organisation.name.clone();
    Ok(render(&OrganisationPage {
        shell: sh,
        tabs: tabs(ORGANISATIONS),
        d,
        contact,
        reason,
    }))
}

async fn organisation_page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(fq): ApiQuery<FlashQuery>,
) -> Result<Response, PageError> {
    let sh = shell(&s, &p, "").flash_from(fq.ok.as_deref(), fq.err.as_deref());
    organisation_of(&s, &p, id, sh, None, String::new()).await
}

#[derive(Template)]
#[template(path = "_organisation_contact.html")]
struct ContactFragment {
    c: OrganisationContact,
}

/// The contact's full name and phone after a stated reason (the use case checks
/// `registry.unmask` over the organisation's unit and audits the reason).
async fn organisation_unmask(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    ApiForm(f): ApiForm<ReasonForm>,
) -> Response {
    let r = things::unmask_contact(&s.app, &p, id, &f.reason).await;
    revealed(
        &s,
        &p,
        &headers,
        r,
        &f.reason,
        |c| ContactFragment { c },
        |sh, c, reason| organisation_of(&s, &p, id, sh, c, reason),
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// 户.

#[derive(Template)]
#[template(path = "registry_household.html")]
struct HouseholdPage {
    shell: Shell,
    tabs: Vec<(&'static str, &'static str, bool)>,
    d: HouseholdDetail,
}

async fn household_page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, PageError> {
    let d = households::get(&s.app, &p, id)
        .await
        .map_err(fail(&s, &p, ACTIVE))?;
    let title = match &d.head {
        Some(h) => format!("户 · 户主 {}", h.name),
        None => "户".to_string(),
    };
    let sh = shell(&s, &p, &title).crumbs(vec![
        (ACTIVE.into(), "基础信息".into()),
        (HOUSEHOLDS.into(), "户".into()),
    ]);
    Ok(render(&HouseholdPage {
        shell: sh,
        tabs: tabs(HOUSEHOLDS),
        d,
    }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HouseholdParams {
    unit: String,
    q: String,
    before: String,
}

struct HouseholdListRow {
    h: HouseholdItem,
    grid: String,
}

#[derive(Template)]
#[template(path = "registry_households.html")]
struct HouseholdsPage {
    shell: Shell,
    tabs: Vec<(&'static str, &'static str, bool)>,
    f: HouseholdParams,
    unit_name: String,
    rows: Vec<HouseholdListRow>,
    listed: bool,
    query: String,
    next: Option<Uuid>,
    filtered: bool,
}

/// 户: the households in scope, filtered by unit and by 户号/address prefix, newest first.
async fn households_page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(f): ApiQuery<HouseholdParams>,
) -> Result<Response, PageError> {
    p.require(Permission::RegistryRead)
        .map_err(fail(&s, &p, ACTIVE))?;
    let query = query_of(&[("unit", &f.unit), ("q", &f.q)]);
    let attempt = async {
        let filter = HouseholdFilter {
            unit: optional_id(&f.unit, "单位")?,
            q: text(&f.q, 50),
            before: optional_id(&f.before, "分页位置")?,
            limit: Some(PAGE),
            ..Default::default()
        };
        let (items, next) = households::list(&s.app, &p, &filter).await?;
        Ok::<_, AppError>((filter.unit, items, next))
    }
    .await;
    let mut page = HouseholdsPage {
        shell: shell(&s, &p, "户"),
        tabs: tabs(HOUSEHOLDS),
        unit_name: String::new(),
        rows: vec![],
        listed: false,
        filtered: !query.is_empty(),
        query,
        next: None,
        f,
    };
    let status = match attempt {
        Ok((unit, items, next)) => {
            let names = unit_names(
                &s,
                &p,
                items.iter().map(|h| h.household.unit_id).chain(unit),
            )
            .await;
            page.unit_name = unit
                .and_then(|u| names.get(&u).cloned())
                .unwrap_or_default();
            page.rows = items
                .into_iter()
                .map(|h| HouseholdListRow {
                    grid: names.get(&h.household.unit_id).cloned().unwrap_or_default(),
                    h,
                })
                .collect();
            page.next = next;
            page.listed = true;
            StatusCode::OK
        }
        Err(e) => {
            let status = status_of(&e);
            if status.is_server_error() {
                tracing::error!(error = ?e, "household list failed");
            }
            page.shell = page.shell.flash("danger", e.message());
            status
        }
    };
    Ok((status, render(&page)).into_response())
}
