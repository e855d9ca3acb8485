//! 基础信息 forms: register (新增) and change (编辑) an organisation or a component.
//!
//! The form is checked at the edge first — what only the form can get wrong (a number that is
//! not one, a code that is not 16 digits, a required field left empty), each message next to
//! its field — and then the use case decides (scope, vocabulary, uniqueness, version). A use
//! case's refusal is shown next to the field it concerns ([`field_of`]); a stale version is a
//! 409 with the form as typed. Success goes to the record's page with a flash.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use linli_app::registry::places::BuildingFilter;
use linli_app::registry::things::{
    self, ComponentChange, ComponentDetail, GridName, NewComponent, NewOrganisation,
    OrganisationChange, OrganisationDetail, PointIn,
};
use linli_app::{AppError, Principal};
use linli_domain::auth::Permission;
use linli_domain::component::{ComponentCode, ComponentState};
use linli_domain::registry::OrganisationKind;
use serde::Deserialize;
use uuid::Uuid;

use super::registry::{ACTIVE, Opt, opt_list, shell, tabs};
use super::registry_things::{COMPONENTS, ORGANISATIONS};
use super::{PageError, Shell, fail, render};
use crate::AppState;
use crate::auth::{ApiForm, ApiPath, ConsoleAuth, urlencode};
use crate::error::status_of;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/console/registry/organisations/new",
            get(organisation_new).post(organisation_create),
        )
        .route(
            "/console/registry/organisations/{id}/edit",
            get(organisation_edit).post(organisation_save),
        )
        .route(
            "/console/registry/components/new",
            get(component_new).post(component_create),
        )
        .route(
            "/console/registry/components/{id}/edit",
            get(component_edit).post(component_save),
        )
}

/// Messages by field name; the form-level one under `""`.
#[derive(Debug, Default)]
pub(super) struct Errors(Vec<(&'static str, String)>);

impl Errors {
    fn add(&mut self, field: &'static str, m: impl Into<String>) {
        if self.get(field).is_empty() {
            self.0.push((field, m.into()));
        }
    }

    /// The message of `field`, or "".
    pub(super) fn get(&self, field: &str) -> &str {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map_or("", |(_, m)| m.as_str())
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A use case's refusal, next to its field (or above the form).
    fn refused(&mut self, e: &AppError) {
        match e {
            AppError::Stale => self.add("", "已被他人更新，请刷新页面后重试"),
            AppError::NotFound("网格") => {
                self.add("unit", "所选网格不存在，或不在您可登记的范围内")
            }
            AppError::NotFound("楼栋") => {
                self.add("buildings", "所选楼栋不存在，或不在您可登记的范围内")
            }
            other => self.add(field_of(other), other.message()),
        }
    }
}

/// The form field a use case's refusal concerns ("" for the form as a whole).
fn field_of(e: &AppError) -> &'static str {
    let key = e.key();
    if key.starts_with("component_") && key != "component_county_mismatch" {
        return "code";
    }
    match key {
        "component_county_mismatch" | "conflict" => "code",
        "invalid_state" => "state",
        "invalid_point" | "invalid_datum" => "point",
        "point_outside_grids" | "unit_or_point_required" | "not_a_grid" | "other_district" => {
            "unit"
        }
        "invalid_owner" => "owner",
        "invalid_kind" => "kind",
        "invalid_phone" => "contact_phone",
        "invalid_member_count" => "member_count",
        "too_many_buildings" => "buildings",
        // The text fields' refusals name the field in their message.
        "missing_field" | "too_long" | "bad_characters" => {
            let m = e.message();
            [
                ("部件名称", "name"),
                ("组织名称", "name"),
                ("联系人", "contact_name"),
                ("地址", "address"),
                ("说明", "note"),
            ]
            .into_iter()
            .find(|(label, _)| m.contains(label))
            .map_or("", |(_, f)| f)
        }
        _ => "",
    }
}

fn parse_uuid(v: &str) -> Option<Uuid> {
    Uuid::parse_str(v.trim()).ok()
}

fn parse_version(v: &str, errs: &mut Errors) -> i64 {
    v.trim().parse::<i64>().unwrap_or_else(|_| {
        errs.add("", "页面版本无效，请刷新页面后重试");
        0
    })
}

fn created(to: String, what: &str) -> Response {
    Redirect::to(&format!("{to}?ok={}", urlencode(what))).into_response()
}

// ---------------------------------------------------------------------------------------------
// 组织.

/// The organisation form as typed. Read as pairs: the served buildings are checkboxes of one
/// name.
#[derive(Debug, Default)]
struct OrgForm {
    kind: String,
    name: String,
    unit: String,
    unit_q: String,
    address: String,
    contact_name: String,
    contact_phone: String,
    clear_contact: bool,
    member_count: String,
    version: String,
    /// Whether the form had the buildings list (the edit form).
    with_buildings: bool,
    buildings: Vec<String>,
}

impl OrgForm {
    fn of(pairs: Vec<(String, String)>) -> OrgForm {
        let mut f = OrgForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "kind" => f.kind = v,
                "name" => f.name = v,
                "unit" => f.unit = v,
                "unit_q" => f.unit_q = v,
                "address" => f.address = v,
                "contact_name" => f.contact_name = v,
                "contact_phone" => f.contact_phone = v,
                "clear_contact" => f.clear_contact = !v.is_empty(),
                "member_count" => f.member_count = v,
                "version" => f.version = v,
                "buildings_shown" => f.with_buildings = true,
                "building" if f.buildings.len() < 1000 => f.buildings.push(v),
                _ => {}
            }
        }
        f
    }
}

/// One served-building checkbox: (id, label, checked).
type BuildingChoice = (String, String, bool);

#[derive(Template)]
#[template(path = "registry_organisation_form.html")]
struct OrgFormPage {
    shell: Shell,
    tabs: Vec<(&'static str, &'static str, bool)>,
    /// None: a new organisation.
    d: Option<OrganisationDetail>,
    f: OrgForm,
    kinds: Vec<Opt>,
    buildings: Vec<BuildingChoice>,
    errs: Errors,
    action: String,
}

fn kinds(cur: &str) -> Vec<Opt> {
    opt_list(
        OrganisationKind::ALL.iter().map(|k| (k.key(), k.label())),
        cur.trim(),
    )
}

/// The edge checks of the organisation form: the fields a number or a choice must be.
fn check_org(f: &OrgForm, errs: &mut Errors, new: bool) -> (Option<Uuid>, Option<i64>) {
    if f.kind.trim().is_empty() {
        errs.add("kind", "请选择组织类型");
    }
    if f.name.trim().is_empty() {
        errs.add("name", "请填写组织名称");
    }
    let unit = parse_uuid(&f.unit);
    if unit.is_none() && (new || !f.unit.trim().is_empty()) {
        errs.add("unit", "请选择所在网格或社区");
    }
    let members = match f.member_count.trim() {
        "" => None,
        m => match m.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errs.add("member_count", "成员人数应为整数");
                None
            }
        },
    };
    if !f.contact_phone.trim().is_empty()
        && let Err(e) = linli_app::pi::normalize_phone(&f.contact_phone)
    {
        errs.add("contact_phone", e.message());
    }
    (unit, members)
}

async fn show_org_form(
    s: &AppState,
    p: &Principal,
    d: Option<OrganisationDetail>,
    f: OrgForm,
    errs: Errors,
    status: StatusCode,
) -> Response {
    let title = match &d {
        Some(d) => format!("编辑组织 {}", d.organisation.name),
        None => "新增组织".to_string(),
    };
    let mut buildings: Vec<BuildingChoice> = Vec::new();
    if let Some(d) = &d {
        let checked = |id: &str| {
            if f.with_buildings {
                f.buildings.iter().any(|b| b == id)
            } else {
                d.buildings.iter().any(|b| b.id.to_string() == id)
            }
        };
        for b in &d.buildings {
            let id = b.id.to_string();
            buildings.push((
                id.clone(),
                format!("{} {}", b.name, b.address),
                checked(&id),
            ));
        }
        // The buildings of its grid it may be linked to (the first 200).
        let filter = BuildingFilter {
            unit: Some(d.organisation.unit_id),
            limit: Some(200),
            ..Default::default()
        };
        match linli_app::registry::places::list(&s.app, p, &filter).await {
            Ok((items, _)) => {
                for b in items {
                    let id = b.id.to_string();
                    if !buildings.iter().any(|x| x.0 == id) {
                        let on = checked(&id);
                        buildings.push((id, format!("{} {}", b.name, b.address), on));
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "building choices failed"),
        }
    }
    let action = match &d {
        Some(d) => format!("{ORGANISATIONS}/{}/edit", d.organisation.id),
        None => format!("{ORGANISATIONS}/new"),
    };
    let mut sh = shell(s, p, &title).crumbs(vec![
        (ACTIVE.into(), "基础信息".into()),
        (ORGANISATIONS.into(), "组织".into()),
    ]);
    if !errs.is_empty() {
        let top = errs.get("");
        sh = sh.flash(
            "danger",
            if top.is_empty() {
                "请按提示修改后再提交"
            } else {
                top
            },
        );
    }
    let page = OrgFormPage {
        shell: sh,
        tabs: tabs(ORGANISATIONS),
        kinds: kinds(&f.kind),
        d,
        f,
        buildings,
        errs,
        action,
    };
    (status, render(&page)).into_response()
}

async fn organisation_new(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
) -> Result<Response, PageError> {
    p.require(Permission::RegistryWrite)
        .map_err(fail(&s, &p, ACTIVE))?;
    Ok(show_org_form(
        &s,
        &p,
        None,
        OrgForm::default(),
        Errors::default(),
        StatusCode::OK,
    )
    .await)
}

async fn organisation_create(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiForm(pairs): ApiForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    p.require(Permission::RegistryWrite)
        .map_err(fail(&s, &p, ACTIVE))?;
    let f = OrgForm::of(pairs);
    let mut errs = Errors::default();
    let (unit, members) = check_org(&f, &mut errs, true);
    let (Some(unit_id), true) = (unit, errs.is_empty()) else {
        return Ok(show_org_form(&s, &p, None, f, errs, StatusCode::UNPROCESSABLE_ENTITY).await);
    };
    let n = NewOrganisation {
        kind: f.kind.clone(),
        name: f.name.clone(),
        unit_id,
        address: f.address.clone(),
        contact_name: f.contact_name.clone(),
        contact_phone: f.contact_phone.clone(),
        member_count: members,
        building_ids: vec![],
    };
    match things::create_organisation(&s.app, &p, n).await {
        Ok(d) => Ok(created(
            format!("{ORGANISATIONS}/{}", d.organisation.id),
            "已登记组织",
        )),
        Err(e) => {
            let status = status_of(&e);
            errs.refused(&e);
            Ok(show_org_form(&s, &p, None, f, errs, status).await)
        }
    }
}

/// The edit form of an organisation: its values (the contact masked: left empty it stays).
fn org_form_of(d: &OrganisationDetail) -> OrgForm {
    let o = &d.organisation;
    OrgForm {
        kind: o.kind.clone(),
        name: o.name.clone(),
        unit: o.unit_id.to_string(),
        unit_q: d.unit_name.clone(),
        address: o.address.clone(),
        member_count: o.member_count.map(|n| n.to_string()).unwrap_or_default(),
        version: o.version.to_string(),
        ..Default::default()
    }
}

async fn writable_organisation(
    s: &AppState,
    p: &Principal,
    id: Uuid,
) -> Result<OrganisationDetail, PageError> {
    let d = things::get_organisation(&s.app, p, id)
        .await
        .map_err(fail(s, p, ACTIVE))?;
    if !d.writable {
        return Err(fail(s, p, ACTIVE)(AppError::Forbidden));
    }
    Ok(d)
}

async fn organisation_edit(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, PageError> {
    let d = writable_organisation(&s, &p, id).await?;
    let f = org_form_of(&d);
    Ok(show_org_form(&s, &p, Some(d), f, Errors::default(), StatusCode::OK).await)
}

async fn organisation_save(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiForm(pairs): ApiForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let d = writable_organisation(&s, &p, id).await?;
    let f = OrgForm::of(pairs);
    let mut errs = Errors::default();
    let (unit, members) = check_org(&f, &mut errs, false);
    let version = parse_version(&f.version, &mut errs);
    let mut buildings = Vec::new();
    for b in &f.buildings {
        match parse_uuid(b) {
            Some(u) => buildings.push(u),
            None => errs.add("buildings", "服务楼栋无效，请刷新页面后重试"),
        }
    }
    if !errs.is_empty() {
        return Ok(show_org_form(&s, &p, Some(d), f, errs, StatusCode::UNPROCESSABLE_ENTITY).await);
    }
    let o = &d.organisation;
    let changed = |new: &str, old: &str| (new.trim() != old).then(|| new.to_string());
    let served_before: Vec<Uuid> = d.buildings.iter().map(|b| b.id).collect();
    let same_buildings = buildings.len() == served_before.len()
        && buildings.iter().all(|b| served_before.contains(b));
    let c = OrganisationChange {
        kind: changed(&f.kind, &o.kind),
        name: changed(&f.name, &o.name),
        unit_id: unit.filter(|u| *u != o.unit_id),
        address: changed(&f.address, &o.address),
        contact_name: if f.clear_contact {
            Some(String::new())
        } else {
            Some(f.contact_name.clone()).filter(|v| !v.trim().is_empty())
        },
        contact_phone: if f.clear_contact {
            Some(String::new())
        } else {
            Some(f.contact_phone.clone()).filter(|v| !v.trim().is_empty())
        },
        member_count: members.filter(|m| Some(*m) != o.member_count),
        building_ids: (f.with_buildings && !same_buildings).then_some(buildings),
        version,
    };
    match things::update_organisation(&s.app, &p, id, c).await {
        Ok(d) => Ok(created(
            format!("{ORGANISATIONS}/{}", d.organisation.id),
            "已保存",
        )),
        Err(e) => {
            let status = status_of(&e);
            errs.refused(&e);
            Ok(show_org_form(&s, &p, Some(d), f, errs, status).await)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 部件.

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CompForm {
    code: String,
    name: String,
    unit: String,
    unit_q: String,
    address: String,
    owner: String,
    state: String,
    lat: String,
    lng: String,
    datum: String,
    note: String,
    version: String,
}

#[derive(Template)]
#[template(path = "registry_component_form.html")]
struct CompFormPage {
    shell: Shell,
    tabs: Vec<(&'static str, &'static str, bool)>,
    d: Option<ComponentDetail>,
    f: CompForm,
    states: Vec<Opt>,
    owners: Vec<Opt>,
    datums: Vec<Opt>,
    errs: Errors,
    action: String,
}

/// The edge checks of the component form: the code's form (GB/T 30428: 16 digits, county,
/// major and minor class, serial), the point's numbers, a grid or a point.
fn check_comp(f: &CompForm, errs: &mut Errors, new: bool) -> (Option<Uuid>, Option<PointIn>) {
    if new {
        match f.code.trim() {
            "" => errs.add("code", "请填写部件标识码（16 位）"),
            c => {
                if let Err(e) = ComponentCode::parse(c) {
                    errs.add("code", e.message());
                }
            }
        }
    }
    let unit = match f.unit.trim() {
        "" => None,
        u => match parse_uuid(u) {
            Some(u) => Some(u),
            None => {
                errs.add("unit", "请从列表中选择网格");
                None
            }
        },
    };
    let point = match (f.lat.trim(), f.lng.trim()) {
        ("", "") => None,
        (lat, lng) => match (lat.parse::<f64>(), lng.parse::<f64>()) {
            (Ok(lat), Ok(lng)) if lat.is_finite() && lng.is_finite() => Some(PointIn {
                lat,
                lng,
                datum: f.datum.trim().to_string(),
            }),
            _ => {
                errs.add(
                    "point",
                    "纬度和经度应同时填写，且为数字（如 39.916527、116.397128）",
                );
                None
            }
        },
    };
    if new && unit.is_none() && point.is_none() && errs.get("unit").is_empty() {
        errs.add("unit", "请选择网格或标注部件位置");
    }
    if !f.owner.trim().is_empty() && parse_uuid(&f.owner).is_none() {
        errs.add("owner", "权属部门无效，请从列表中选择");
    }
    (unit, point)
}

async fn show_comp_form(
    s: &AppState,
    p: &Principal,
    d: Option<ComponentDetail>,
    f: CompForm,
    errs: Errors,
    status: StatusCode,
) -> Response {
    let title = match &d {
        Some(d) => format!("编辑部件 {}", d.component.code),
        None => "新增部件".to_string(),
    };
    let choices: Vec<GridName> = things::owner_choices(&s.app, p).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "owner choices failed");
        vec![]
    });
    let owners = choices
        .iter()
        .map(|g| {
            let id = g.id.to_string();
            let on = id == f.owner.trim();
            (id, g.name.clone(), on)
        })
        .collect();
    let state = if f.state.trim().is_empty() {
        "good"
    } else {
        f.state.trim()
    };
    let states = opt_list(
        ComponentState::ALL.iter().map(|m| (m.key(), m.label())),
        state,
    );
    let datums = opt_list(
        [
            ("wgs84", "WGS84（GPS）"),
            ("gcj02", "GCJ-02（高德、腾讯）"),
            ("bd09", "BD-09（百度）"),
        ],
        if f.datum.trim().is_empty() {
            "wgs84"
        } else {
            f.datum.trim()
        },
    );
    let action = match &d {
        Some(d) => format!("{COMPONENTS}/{}/edit", d.component.id),
        None => format!("{COMPONENTS}/new"),
    };
    let mut sh = shell(s, p, &title).crumbs(vec![
        (ACTIVE.into(), "基础信息".into()),
        (COMPONENTS.into(), "部件".into()),
    ]);
    if !errs.is_empty() {
        let top = errs.get("");
        sh = sh.flash(
            "danger",
            if top.is_empty() {
                "请按提示修改后再提交"
            } else {
                top
            },
        );
    }
    let page = CompFormPage {
        shell: sh,
        tabs: tabs(COMPONENTS),
        d,
        f,
        states,
        owners,
        datums,
        errs,
        action,
    };
    (status, render(&page)).into_response()
}

async fn component_new(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
) -> Result<Response, PageError> {
    p.require(Permission::RegistryWrite)
        .map_err(fail(&s, &p, ACTIVE))?;
    Ok(show_comp_form(
        &s,
        &p,
        None,
        CompForm::default(),
        Errors::default(),
        StatusCode::OK,
    )
    .await)
}

async fn component_create(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiForm(f): ApiForm<CompForm>,
) -> Result<Response, PageError> {
    p.require(Permission::RegistryWrite)
        .map_err(fail(&s, &p, ACTIVE))?;
    let mut errs = Errors::default();
    let (unit, point) = check_comp(&f, &mut errs, true);
    if !errs.is_empty() {
        return Ok(show_comp_form(&s, &p, None, f, errs, StatusCode::UNPROCESSABLE_ENTITY).await);
    }
    let n = NewComponent {
        code: f.code.trim().to_string(),
        name: f.name.clone(),
        unit_id: unit,
        point,
        address: f.address.clone(),
        owner_id: parse_uuid(&f.owner),
        state: f.state.clone(),
    };
    match things::create_component(&s.app, &p, n).await {
        Ok((d, warnings)) => {
            let mut msg = "已登记部件".to_string();
            for w in warnings {
                msg.push('；');
                msg.push_str(&w);
            }
            Ok(created(format!("{COMPONENTS}/{}", d.component.id), &msg))
        }
        Err(e) => {
            let status = status_of(&e);
            errs.refused(&e);
            Ok(show_comp_form(&s, &p, None, f, errs, status).await)
        }
    }
}

fn comp_form_of(d: &ComponentDetail) -> CompForm {
    let c = &d.component;
    CompForm {
        code: c.code.clone(),
        name: c.name.clone(),
        unit: c.unit_id.to_string(),
        unit_q: d.unit_name.clone(),
        address: c.address.clone(),
        owner: c.owner_id.map(|o| o.to_string()).unwrap_or_default(),
        state: c.state.clone(),
        lat: c.lat.map(|v| format!("{v:.6}")).unwrap_or_default(),
        lng: c.lng.map(|v| format!("{v:.6}")).unwrap_or_default(),
        datum: "wgs84".into(),
        note: String::new(),
        version: c.version.to_string(),
    }
}

async fn writable_component(
    s: &AppState,
    p: &Principal,
    id: Uuid,
) -> Result<ComponentDetail, PageError> {
    let d = things::get_component(&s.app, p, id)
        .await
        .map_err(fail(s, p, ACTIVE))?;
    if !d.writable {
        return Err(fail(s, p, ACTIVE)(AppError::Forbidden));
    }
    Ok(d)
}

async fn component_edit(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, PageError> {
    let d = writable_component(&s, &p, id).await?;
    let f = comp_form_of(&d);
    Ok(show_comp_form(&s, &p, Some(d), f, Errors::default(), StatusCode::OK).await)
}

async fn component_save(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiForm(f): ApiForm<CompForm>,
) -> Result<Response, PageError> {
    let d = writable_component(&s, &p, id).await?;
    let mut errs = Errors::default();
    let (unit, point) = check_comp(&f, &mut errs, false);
    let version = parse_version(&f.version, &mut errs);
    if !errs.is_empty() {
        return Ok(
            show_comp_form(&s, &p, Some(d), f, errs, StatusCode::UNPROCESSABLE_ENTITY).await,
        );
    }
    let was = comp_form_of(&d);
    let changed = |new: &str, old: &str| (new.trim() != old.trim()).then(|| new.to_string());
    let moved = (f.lat.trim() != was.lat
        || f.lng.trim() != was.lng
        || !f.datum.trim().is_empty() && f.datum.trim() != "wgs84")
        .then_some(point)
        .flatten();
    let c = ComponentChange {
        name: changed(&f.name, &was.name),
        state: Some(f.state.trim().to_string()).filter(|v| !v.is_empty() && *v != was.state),
        address: changed(&f.address, &was.address),
        unit_id: unit.filter(|u| *u != d.component.unit_id),
        point: moved,
        owner_id: parse_uuid(&f.owner).filter(|o| Some(*o) != d.component.owner_id),
        note: f.note.clone(),
        version,
    };
    match things::update_component(&s.app, &p, id, c).await {
        Ok(d) => Ok(created(
            format!("{COMPONENTS}/{}", d.component.id),
            "已保存",
        )),
        Err(e) => {
            let status = status_of(&e);
            errs.refused(&e);
            Ok(show_comp_form(&s, &p, Some(d), f, errs, status).await)
        }
    }
}
