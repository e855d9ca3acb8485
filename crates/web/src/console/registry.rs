//! 基础信息 pages (人、地): a unit's overview (社区概况), the resident list with its filters, the
//! person page with the audited unmasking and the life-cycle events, buildings with their houses,
//! and the grid map.
//!
//! The pages only present and collect: scope, masking and every rule are the
//! `linli_app::registry` use cases'. Every value shown is masked, except in the response to an
//! unmask request (which the use case audits with its reason).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use linli_app::registry::overview::{self, Overview};
use linli_app::registry::places::{self, BuildingFilter, BuildingView, HouseView};
use linli_app::registry::residents::{self, ListFilter, ResidentDetail, ResidentView, Unmasked};
use linli_app::registry::{TagBook, TagView};
use linli_app::{AppError, Principal};
use linli_domain::auth::{Permission, Target};
use linli_domain::registry::{AGE_BANDS, LifeEvent, Residency, ResidentStatus};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    FlashQuery, FragmentWrap, PageError, Shell, back, fail, fragment_error, parse_id, render,
    unit_names,
};
use crate::AppState;
use crate::auth::{ApiForm, ApiPath, ApiQuery, ConsoleAuth, urlencode};
use crate::error::status_of;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/registry", get(overview_page))
        .route(
            "/console/registry/residents",
            get(residents_page).post(residents_lookup),
        )
        .route("/console/registry/residents/export", post(residents_export))
        .route("/console/registry/residents/{id}", get(person_page))
        .route("/console/registry/residents/{id}/unmask", post(unmask))
        .route(
            "/console/registry/residents/{id}/events",
            post(record_event),
        )
        .route("/console/registry/buildings", get(buildings_page))
        .route("/console/registry/buildings/export", post(buildings_export))
        .route("/console/registry/buildings/{id}", get(building_page))
        .route("/console/registry/map", get(map_page))
}

pub(super) const ACTIVE: &str = "/console/registry";
const RESIDENTS: &str = "/console/registry/residents";
const BUILDINGS: &str = "/console/registry/buildings";
pub(super) const IMPORT: &str = "/console/registry/import";
/// Rows per page of the resident and building lists.
const PAGE: i64 = 50;

/// The registry pages' own tabs: (href, label).
const TABS: &[(&str, &str)] = &[
    (ACTIVE, "社区概况"),
    (RESIDENTS, "人口"),
    (super::registry_things::HOUSEHOLDS, "户"),
    (BUILDINGS, "房屋楼栋"),
    (super::registry_things::ORGANISATIONS, "组织"),
    (super::registry_things::COMPONENTS, "部件"),
    ("/console/registry/map", "网格地图"),
    (IMPORT, "批量导入"),
];

/// The tabs with the current one marked: (href, label, current).
pub(super) fn tabs(current: &str) -> Vec<(&'static str, &'static str, bool)> {
    TABS.iter().map(|(h, l)| (*h, *l, *h == current)).collect()
}

pub(super) fn shell(s: &AppState, p: &Principal, title: &str) -> Shell {
    Shell::new(p, &s.app, title, ACTIVE)
}

/// A select option: (key, label, selected).
pub(super) type Opt = (String, String, bool);

pub(super) fn opt_list<'a>(
    items: impl IntoIterator<Item = (&'a str, &'a str)>,
    cur: &str,
) -> Vec<Opt> {
    items
        .into_iter()
        .map(|(k, l)| (k.to_string(), l.to_string(), k == cur))
        .collect()
}

/// An optional text filter: trimmed, at most `max` characters, empty is none.
pub(super) fn text(v: &str, max: usize) -> Option<String> {
    let v: String = v.trim().chars().take(max).collect();
    (!v.is_empty()).then_some(v)
}

pub(super) fn optional_id(v: &str, what: &str) -> Result<Option<Uuid>, AppError> {
    match v.trim() {
        "" => Ok(None),
        x => parse_id(x, what).map(Some),
    }
}

/// The console's wording of an error (a stale version names what to do).
pub(super) fn say(e: AppError) -> AppError {
    match e {
        AppError::Stale => AppError::Conflict("已被他人更新，请刷新页面后重试".into()),
        other => other,
    }
}

/// Responses carrying full personal values must not be kept by browsers or proxies.
pub(super) fn no_store(r: Response) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], r).into_response()
}

/// The age bands of the filter: the overview's bands and 60 岁及以上.
fn age_options(cur: &str) -> Vec<Opt> {
    let mut o: Vec<Opt> = AGE_BANDS
        .iter()
        .map(|(k, _, _)| (k.to_string(), age_label(k), *k == cur))
        .collect();
    o.push(("60+".into(), "60 岁及以上".into(), cur == "60+"));
    o
}

fn age_label(band: &str) -> String {
    match band.strip_suffix('+') {
        Some(lo) => format!("{lo} 岁及以上"),
        None => format!("{} 岁", band.replace('-', "–")),
    }
}

// ---------------------------------------------------------------------------------------------
// 人口: the resident list.

struct PersonRow {
    r: ResidentView,
    grid: String,
}

/// The plain filters. They travel in the URL (bookmarkable; the map links here with `?unit=`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListParams {
    unit: String,
    tag: String,
    age: String,
    residency: String,
    sex: String,
    name: String,
    status: String,
    before: String,
}

/// The exact lookups by ID number or phone. They are only ever sent by POST (the lookup form
/// has `method="post"`; a GET never reads these fields), so a typed ID number or phone does not
/// end up in a URL, the browser history, a `Referer` or an access log. The use case turns them
/// into blind indexes; they are not stored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LookupForm {
    id_number: String,
    phone: String,
    before: String,
}

#[derive(Template)]
#[template(path = "registry_residents.html")]
struct ResidentsPage {
    shell: Shell,
    tabs: Vec<(&'static str, &'static str, bool)>,
    /// The plain filters as typed, for the form.
    f: ListParams,
    unit_name: String,
    tags: Vec<Opt>,
    ages: Vec<Opt>,
    residencies: Vec<Opt>,
    sexes: Vec<Opt>,
    statuses: Vec<Opt>,
    /// The exact lookup as typed (only after a POST).
    lookup: LookupForm,
    lookup_mode: bool,
    filtered: bool,
    /// None when the filters were refused.
    count: Option<i64>,
    rows: Vec<PersonRow>,
    /// The plain filters as a query string, for the next page's link.
    query: String,
    next: Option<Uuid>,
    paged: bool,
    /// The caller may export the list (`registry.export`).
    can_export: bool,
}

impl ResidentsPage {
    fn new(shell: Shell, book: &TagBook, f: ListParams, lookup: Option<LookupForm>) -> Self {
        let lookup_mode = lookup.is_some();
        let lookup = lookup.unwrap_or_default();
        let query = [
            ("unit", &f.unit),
            ("tag", &f.tag),
            ("age", &f.age),
            ("residency", &f.residency),
            ("sex", &f.sex),
            ("name", &f.name),
            ("status", &f.status),
        ]
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(v.trim())))
        .collect::<Vec<_>>()
        .join("&");
        ResidentsPage {
            shell,
            tabs: tabs(RESIDENTS),
            tags: opt_list(
                book.all()
                    .iter()
                    .map(|t| (t.key.as_str(), t.label.as_str())),
                f.tag.trim(),
            ),
            ages: age_options(f.age.trim()),
            residencies: opt_list(
                Residency::ALL.iter().map(|r| (r.key(), r.label())),
                f.residency.trim(),
            ),
            sexes: opt_list([("male", "男"), ("female", "女")], f.sex.trim()),
            statuses: opt_list(
                ResidentStatus::ALL
                    .iter()
                    .filter(|s| **s != ResidentStatus::Active)
                    .map(|s| (s.key(), s.label())),
                f.status.trim(),
            ),
            filtered: !query.is_empty(),
            paged: if lookup_mode {
                !lookup.before.trim().is_empty()
            } else {
                !f.before.trim().is_empty()
            },
            query,
            unit_name: String::new(),
            f,
            lookup,
            lookup_mode,
            count: None,
            rows: vec![],
            next: None,
            can_export: false,
        }
    }
}

fn list_filter(f: &ListParams) -> Result<ListFilter, AppError> {
    Ok(ListFilter {
        unit: optional_id(&f.unit, "单位")?,
        tag: text(&f.tag, 64),
        age: text(&f.age, 16),
        residency: text(&f.residency, 16),
        sex: text(&f.sex, 16),
        name: text(&f.name, 50),
        status: text(&f.status, 16),
        before: optional_id(&f.before, "分页位置")?,
        limit: Some(PAGE),
        ..Default::default()
    })
}

fn lookup_filter(l: &LookupForm) -> Result<ListFilter, AppError> {
    let id_number = text(&l.id_number, 32);
    let phone = text(&l.phone, 32);
    if id_number.is_none() && phone.is_none() {
        return Err(AppError::invalid(
            "missing_field",
            "请填写要查找的身份证号或手机号",
        ));
    }
    Ok(ListFilter {
        id_number,
        phone,
        before: optional_id(&l.before, "分页位置")?,
        limit: Some(PAGE),
        ..Default::default()
    })
}

async fn show_residents(
    s: &AppState,
    p: &Principal,
    f: ListParams,
    lookup: Option<LookupForm>,
    flash: Option<String>,
) -> Result<Response, PageError> {
    let fail = fail(s, p, ACTIVE);
    p.require(Permission::RegistryRead).map_err(&fail)?;
    let book = TagBook::load(&s.app).await.map_err(&fail)?;
    let filter = match &lookup {
        Some(l) => lookup_filter(l),
        None => list_filter(&f),
    };
    let mut page = ResidentsPage::new(shell(s, p, "人口信息"), &book, f, lookup);
    page.can_export = p.authz.has(Permission::RegistryExport);
    let attempt = async {
        let filter = filter?;
        let count = residents::count(
            &s.app,
            p,
            &ListFilter {
                before: None,
                ..filter.clone()
            },
        )
        .await?;
        let found = residents::list(&s.app, p, &filter).await?;
        Ok::<_, AppError>((filter.unit, count, found))
    }
    .await;
    let status = match attempt {
        Ok((unit, count, found)) => {
            let names = unit_names(s, p, found.items.iter().map(|r| r.unit_id).chain(unit)).await;
            page.unit_name = unit
                .and_then(|u| names.get(&u).cloned())
                .unwrap_or_default();
            page.count = Some(count);
            page.next = found.next;
            page.rows = found
                .items
                .into_iter()
                .map(|r| PersonRow {
                    grid: names.get(&r.unit_id).cloned().unwrap_or_default(),
                    r,
                })
                .collect();
            StatusCode::OK
        }
        // A refused filter (an unknown tag, a malformed ID number, a unit out of reach): the
        // form again with what was typed and the reason.
        Err(e) => {
            let status = status_of(&e);
            if status.is_server_error() {
                tracing::error!(error = ?e, "resident list failed");
            }
            page.shell = page.shell.flash("danger", e.message());
            status
        }
    };
    if let Some(m) = flash {
        page.shell = page.shell.flash("danger", m);
    }
    Ok((status, render(&page)).into_response())
}

async fn residents_page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(f): ApiQuery<ListParams>,
) -> Result<Response, PageError> {
    show_residents(&s, &p, f, None, None).await
}

/// The exact lookup (POST, see [`LookupForm`]).
async fn residents_lookup(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiForm(l): ApiForm<LookupForm>,
) -> Result<Response, PageError> {
    let r = show_residents(&s, &p, ListParams::default(), Some(l), None).await?;
    Ok(no_store(r))
}

/// 导出 Excel: the list's plain filters (posted, with the CSRF token) as a masked workbook; a
/// refused export (too many rows, no permission) shows the list again with the reason.
async fn residents_export(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiForm(f): ApiForm<ListParams>,
) -> Result<Response, PageError> {
    let r = async {
        let filter = ListFilter {
            before: None,
            limit: None,
            ..list_filter(&f)?
        };
        linli_app::registry::export::residents(&s.app, &p, &filter).await
    }
    .await;
    exported(r, |err| show_residents(&s, &p, f, None, Some(err))).await
}

/// The answer to an 导出 Excel form: the workbook, or the list again (`relist`, given the
/// reason) with the refusal's status.
pub(super) async fn exported<Fut>(
    r: Result<linli_app::registry::export::Export, AppError>,
    relist: impl FnOnce(String) -> Fut,
) -> Result<Response, PageError>
where
    Fut: std::future::Future<Output = Result<Response, PageError>>,
{
    match r {
        Ok(e) => Ok(crate::api::registry::download(e)),
        Err(e) => {
            let status = status_of(&e);
            let page = relist(e.message()).await?;
            Ok((status, page).into_response())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One person.

#[derive(Template)]
#[template(path = "registry_person.html")]
struct PersonPage {
    shell: Shell,
    tabs: Vec<(&'static str, &'static str, bool)>,
    d: ResidentDetail,
    can_unmask: bool,
    can_write: bool,
    /// The full values, in the response to an unmask request only.
    unmasked: Option<Unmasked>,
    /// The reason typed into a refused unmask request.
    reason: String,
    /// (key, label) of the events a person may be given here.
    events: Vec<(&'static str, &'static str)>,
    today: String,
}

const EVENTS: &[LifeEvent] = &[
    LifeEvent::MovedIn,
    LifeEvent::MovedOut,
    LifeEvent::Born,
    LifeEvent::Died,
    LifeEvent::Corrected,
];

async fn person_of(
    s: &AppState,
    p: &Principal,
    id: Uuid,
    shell: Shell,
    unmasked: Option<Unmasked>,
    reason: String,
) -> Result<Response, PageError> {
    let d = residents::get(&s.app, p, id)
        .await
        .map_err(fail(s, p, ACTIVE))?;
    let mut shell = shell.crumbs(vec![
        (ACTIVE.into(), "基础信息".into()),
        (RESIDENTS.into(), "人口".into()),
    ]);
    shell.title = format!("居民 {}", d.resident.name);
    Ok(render(&PersonPage {
        shell,
        tabs: tabs(RESIDENTS),
        can_unmask: p.authz.has(Permission::RegistryUnmask),
        can_write: p.authz.has(Permission::RegistryWrite),
        unmasked,
        reason,
        events: EVENTS.iter().map(|e| (e.key(), e.label())).collect(),
        today: linli_app::registry::today(&s.app).to_string(),
        d,
    }))
}

async fn person_page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(fq): ApiQuery<FlashQuery>,
) -> Result<Response, PageError> {
    let sh = shell(&s, &p, "").flash_from(fq.ok.as_deref(), fq.err.as_deref());
    person_of(&s, &p, id, sh, None, String::new()).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ReasonForm {
    pub reason: String,
}

#[derive(Template)]
#[template(path = "_registry_unmasked.html")]
struct UnmaskedFragment {
    u: Unmasked,
}

/// The full name, ID number and phone, after a stated reason; the use case checks
/// `registry.unmask` over the resident's unit and audits the reason.
async fn unmask(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    ApiForm(f): ApiForm<ReasonForm>,
) -> Response {
    let r = residents::unmask(&s.app, &p, id, &f.reason).await;
    revealed(
        &s,
        &p,
        &headers,
        r,
        &f.reason,
        |u| UnmaskedFragment { u },
        |sh, u, reason| person_of(&s, &p, id, sh, u, reason),
    )
    .await
}

/// The answer to a reveal form (full values after a stated reason), never cached: htmx gets
/// the box of values (`fragment`) or the alert; a plain form post gets the record's page
/// (`page`) with the box, or with the refusal and the reason as typed.
pub(super) async fn revealed<T, F, Fut>(
    s: &AppState,
    p: &Principal,
    headers: &HeaderMap,
    r: Result<T, AppError>,
    reason: &str,
    fragment: impl FnOnce(T) -> F,
    page: impl FnOnce(Shell, Option<T>, String) -> Fut,
) -> Response
where
    F: Template,
    Fut: std::future::Future<Output = Result<Response, PageError>>,
{
    if headers.contains_key("hx-request") {
        return match r {
            Ok(v) => no_store(render(&fragment(v))),
            Err(e) => fragment_error(FragmentWrap::Alert, &e),
        };
    }
    let (status, sh, values, reason) = match r {
        Ok(v) => (StatusCode::OK, shell(s, p, ""), Some(v), String::new()),
        Err(e) => (
            status_of(&e),
            shell(s, p, "").flash("danger", e.message()),
            None,
            reason.chars().take(200).collect(),
        ),
    };
    match page(sh, values, reason).await {
        Ok(page) => no_store((status, page).into_response()),
        Err(pe) => pe.into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EventForm {
    kind: String,
    on_date: String,
    note: String,
    version: String,
}

/// A life-cycle event from the person page's form; back to the page with the outcome.
async fn record_event(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiForm(f): ApiForm<EventForm>,
) -> Response {
    let here = format!("{RESIDENTS}/{id}#history");
    let r = async {
        let version =
            f.version.trim().parse::<i64>().map_err(|_| {
                AppError::invalid("invalid_version", "页面版本无效，请刷新页面后重试")
            })?;
        let v =
            residents::record_event(&s.app, &p, id, &f.kind, &f.on_date, &f.note, version).await?;
        let label = LifeEvent::parse(&f.kind).map_or("事件", LifeEvent::label);
        Ok(format!("已登记「{label}」，当前状态：{}", v.status_label))
    }
    .await
    .map_err(say);
    back(&here, r)
}

// ---------------------------------------------------------------------------------------------
// 房屋楼栋.

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct BuildingParams {
    unit: String,
    q: String,
    before: String,
}

struct BuildingRow {
    b: BuildingView,
    grid: String,
}

#[derive(Template)]
#[template(path = "registry_buildings.html")]
struct BuildingsPage {
    shell: Shell,
    tabs: Vec<(&'static str, &'static str, bool)>,
    f: BuildingParams,
    unit_name: String,
    rows: Vec<BuildingRow>,
    /// Refused filters leave no list.
    listed: bool,
    query: String,
    next: Option<Uuid>,
    filtered: bool,
    can_export: bool,
}

async fn buildings_page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(f): ApiQuery<BuildingParams>,
) -> Result<Response, PageError> {
    show_buildings(&s, &p, f, None).await
}

fn building_filter(f: &BuildingParams) -> Result<BuildingFilter, AppError> {
    Ok(BuildingFilter {
        unit: optional_id(&f.unit, "单位")?,
        q: text(&f.q, 50),
        before: optional_id(&f.before, "分页位置")?,
        limit: Some(PAGE),
    })
}

/// 导出 Excel of the building list (see [`residents_export`]).
async fn buildings_export(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiForm(f): ApiForm<BuildingParams>,
) -> Result<Response, PageError> {
    let r = async {
        let filter = BuildingFilter {
            before: None,
            ..building_filter(&f)?
        };
        linli_app::registry::export::buildings(&s.app, &p, &filter).await
    }
    .await;
    exported(r, |err| show_buildings(&s, &p, f, Some(err))).await
}

async fn show_buildings(
    s: &AppState,
    p: &Principal,
    f: BuildingParams,
    flash: Option<String>,
) -> Result<Response, PageError> {
    p.require(Permission::RegistryRead)
        .map_err(fail(s, p, ACTIVE))?;
    let query = [("unit", &f.unit), ("q", &f.q)]
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(v.trim())))
        .collect::<Vec<_>>()
        .join("&");
    let attempt = async {
        let filter = building_filter(&f)?;
        let (items, next) = places::list(&s.app, p, &filter).await?;
        Ok::<_, AppError>((filter.unit, items, next))
    }
    .await;
    let mut page = BuildingsPage {
        can_export: p.authz.has(Permission::RegistryExport),
        shell: shell(s, p, "房屋楼栋"),
        tabs: tabs(BUILDINGS),
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
            let names = unit_names(s, p, items.iter().map(|b| b.unit_id).chain(unit)).await;
            page.unit_name = unit
                .and_then(|u| names.get(&u).cloned())
                .unwrap_or_default();
            page.rows = items
                .into_iter()
                .map(|b| BuildingRow {
                    grid: names.get(&b.unit_id).cloned().unwrap_or_default(),
                    b,
                })
                .collect();
            page.next = next;
            page.listed = true;
            StatusCode::OK
        }
        Err(e) => {
            let status = status_of(&e);
            if status.is_server_error() {
                tracing::error!(error = ?e, "building list failed");
            }
            page.shell = page.shell.flash("danger", e.message());
            status
        }
    };
    if let Some(m) = flash {
        page.shell = page.shell.flash("danger", m);
    }
    Ok((status, render(&page)).into_response())
}

/// One entrance (单元/楼门) of a building with its houses.
struct Entrance {
    name: String,
    houses: Vec<HouseView>,
}

#[derive(Template)]
#[template(path = "registry_building.html")]
struct BuildingPage {
    shell: Shell,
    tabs: Vec<(&'static str, &'static str, bool)>,
    b: BuildingView,
    unit_name: String,
    entrances: Vec<Entrance>,
    houses: usize,
    residents: usize,
}

/// Houses grouped by entrance, the entrances in the order they first appear, houses from the
/// lowest floor up.
fn by_entrance(houses: Vec<HouseView>) -> Vec<Entrance> {
    let mut out: Vec<Entrance> = Vec::new();
    for h in houses {
        match out.iter_mut().find(|e| e.name == h.entrance) {
            Some(e) => e.houses.push(h),
            None => out.push(Entrance {
                name: h.entrance.clone(),
                houses: vec![h],
            }),
        }
    }
    for e in &mut out {
        e.houses
            .sort_by(|a, b| a.floor.cmp(&b.floor).then_with(|| a.number.cmp(&b.number)));
    }
    out
}

async fn building_page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, PageError> {
    let d = places::get(&s.app, &p, id)
        .await
        .map_err(fail(&s, &p, ACTIVE))?;
    let sh = shell(&s, &p, &format!("楼栋 {}", d.building.name)).crumbs(vec![
        (ACTIVE.into(), "基础信息".into()),
        (BUILDINGS.into(), "房屋楼栋".into()),
    ]);
    Ok(render(&BuildingPage {
        shell: sh,
        tabs: tabs(BUILDINGS),
        houses: d.houses.len(),
        residents: d.residents,
        entrances: by_entrance(d.houses),
        unit_name: d.unit_name,
        b: d.building,
    }))
}

// ---------------------------------------------------------------------------------------------
// 网格地图.

#[derive(Template)]
#[template(path = "registry_map.html")]
struct MapPage {
    shell: Shell,
    tabs: Vec<(&'static str, &'static str, bool)>,
    /// The configured tile URL template; empty: a plain background (no outside requests).
    tiles: String,
    /// Where the map opens before the polygons arrive (WGS84 lat, lng).
    center: (f64, f64),
}

/// The map page; the polygons come from `/api/v1/grids/shapes` (same origin, the session
/// cookie), which limits them to the grids the caller may see.
async fn map_page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
) -> Result<Response, PageError> {
    p.require(Permission::RegistryRead)
        .map_err(fail(&s, &p, ACTIVE))?;
    Ok(render(&MapPage {
        shell: shell(&s, &p, "网格地图"),
        tabs: tabs("/console/registry/map"),
        tiles: s.web.map_tile_url.clone(),
        center: s.web.map_center,
    }))
}

// ---------------------------------------------------------------------------------------------
// 社区概况.

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OverviewParams {
    unit: String,
}

/// One bar of a breakdown: label, count, share of the population (text), bar width (percent
/// of the largest in the breakdown), link to the residents it counts.
struct Bar {
    label: String,
    n: i64,
    share: String,
    width: u32,
    href: String,
}

#[derive(Template)]
#[template(path = "registry_overview.html")]
struct OverviewPage {
    shell: Shell,
    tabs: Vec<(&'static str, &'static str, bool)>,
    o: Overview,
    /// (label, value, link, class)
    stats: Vec<(&'static str, i64, String, &'static str)>,
    residency: Vec<Bar>,
    tags: Vec<Bar>,
    ages: Vec<Bar>,
    /// The age bands for the chart (JSON, `<` escaped for a script element).
    chart: String,
}

fn bars(
    items: &[(String, i64)],
    total: i64,
    href: impl Fn(&str) -> Option<String>,
    label: impl Fn(&str) -> String,
) -> Vec<Bar> {
    let max = items.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    items
        .iter()
        .map(|(l, n)| Bar {
            label: label(l),
            n: *n,
            share: if total > 0 {
                format!("{:.1}%", *n as f64 * 100.0 / total as f64)
            } else {
                "—".into()
            },
            width: ((*n as f64 * 100.0 / max as f64).round() as u32).min(100),
            href: href(l).unwrap_or_default(),
        })
        .collect()
}

/// The unit an overview opens on: the caller's own, or else where they were granted the
/// registry.
fn default_unit(p: &Principal) -> Uuid {
    let own = Target {
        unit_id: p.unit_id,
        unit_path: &p.unit_path,
        owner: None,
    };
    if p.authz.allows(Permission::RegistryRead, own) {
        return p.unit_id;
    }
    p.authz
        .grants
        .iter()
        .find(|g| g.permissions.contains(&Permission::RegistryRead))
        .map_or(p.unit_id, |g| g.unit_id)
}

async fn overview_page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(q): ApiQuery<OverviewParams>,
) -> Result<Response, PageError> {
    let fail = fail(&s, &p, ACTIVE);
    p.require(Permission::RegistryRead).map_err(&fail)?;
    let unit = match optional_id(&q.unit, "单位").map_err(&fail)? {
        Some(u) => u,
        None => default_unit(&p),
    };
    let o = overview::of(&s.app, &p, unit).await.map_err(&fail)?;
    let book = TagBook::load(&s.app).await.map_err(&fail)?;
    let people = |extra: &str| format!("{RESIDENTS}?unit={}&{extra}", o.unit_id);
    let residency = bars(
        &o.by_residency,
        o.residents,
        |l| {
            Residency::ALL
                .iter()
                .find(|r| r.label() == l)
                .map(|r| people(&format!("residency={}", r.key())))
        },
        str::to_string,
    );
    let tags = bars(
        &o.by_tag,
        o.residents,
        |l| {
            book.find(l)
                .map(|t: &TagView| people(&format!("tag={}", urlencode(&t.key))))
        },
        str::to_string,
    );
    let ages = bars(
        &o.by_age,
        o.residents,
        |l| Some(people(&format!("age={}", urlencode(l)))),
        age_label,
    );
    let chart = serde_json::json!({
        "labels": ages.iter().map(|b| b.label.clone()).collect::<Vec<_>>(),
        "values": ages.iter().map(|b| b.n).collect::<Vec<_>>(),
    })
    .to_string()
    .replace('<', "\\u003c");
    let here = o.unit_id;
    let stats = vec![
        (
            "实有人口",
            o.residents,
            format!("{RESIDENTS}?unit={here}"),
            "stat-residents",
        ),
        ("户数", o.households, String::new(), "stat-households"),
        (
            "楼栋",
            o.buildings,
            format!("{BUILDINGS}?unit={here}"),
            "stat-buildings",
        ),
        ("房屋", o.houses, String::new(), "stat-houses"),
        (
            "组织",
            o.organisations,
            format!("{}?unit={here}", super::registry_things::ORGANISATIONS),
            "stat-organisations",
        ),
        (
            "部件",
            o.components,
            format!("{}?unit={here}", super::registry_things::COMPONENTS),
            "stat-components",
        ),
    ];
    let sh = shell(&s, &p, "社区概况");
    Ok(render(&OverviewPage {
        shell: sh,
        tabs: tabs(ACTIVE),
        stats,
        residency,
        tags,
        ages,
        chart,
        o,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_labels() {
        assert_eq!(age_label("0-6"), "0–6 岁");
        assert_eq!(age_label("80+"), "80 岁及以上");
        assert_eq!(age_options("60+").iter().filter(|o| o.2).count(), 1);
        assert_eq!(age_options("").len(), AGE_BANDS.len() + 1);
    }

    #[test]
    fn bars_scale_to_the_largest() {
        let b = bars(
            &[("a".into(), 5), ("b".into(), 10), ("c".into(), 0)],
            20,
            |_| None,
            str::to_string,
        );
        assert_eq!(b[1].width, 100);
        assert_eq!(b[0].width, 50);
        assert_eq!(b[0].share, "25.0%");
        assert_eq!(b[2].width, 0);
        let none = bars(&[("a".into(), 0)], 0, |_| None, str::to_string);
        assert_eq!(none[0].share, "—");
    }
}
