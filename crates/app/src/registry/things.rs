//! Things (物) and organisations (组织) of the registry.
//!
//! - City components (部件): the 16-digit identification code of GB/T 30428 / CJ/T 214 is
//!   parsed by [`linli_domain::component::ComponentCode`] and must name the district the
//!   component is registered in and be unique there; its point is WGS84 (GCJ-02 and BD-09 are
//!   converted at the edge, as `grids/locate` does) and decides the grid when none is given;
//!   its state (完好/损坏/丢失/占用/拆除/其他) is what patrols change.
//! - Organisations (驻区单位, 社会组织, 物业公司, 业主委员会, 党组织): their contact phone is
//!   sealed like residents' phones ([`super::ORGANISATION_PHONE`]) and only its mask is ever
//!   returned; the buildings they serve are links to buildings the writer may see.
//!
//! Scope is the residents' and buildings': rows carry the unit path of their grid (or
//! community), reads filter by the caller's `registry.read` ranges, writes need
//! `registry.write` over the unit, and a row outside scope is "not found". Every write is
//! version-checked and audited in its transaction.

use linli_domain::auth::{Permission, Target};
use linli_domain::component::{ComponentCode, ComponentMajor, ComponentState};
use linli_domain::org::{OrgKind, tenant_of_path};
use linli_domain::registry::OrganisationKind;
use linli_store::repo::org::OrgUnit;
use linli_store::repo::registry::{self as repo, ComponentRow, OrganisationRow};
use linli_store::repo::registry_things::{self as things, ComponentQuery, OrganisationQuery};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::places::BuildingView;
use super::{MAX_PAGE, ORGANISATION_PHONE, text_field};
use crate::audit::{Event, record};
use crate::{App, AppError, Principal, Result, pi};

/// A value of a closed vocabulary given by key or by its Chinese label.
fn by_key_or_label<T: Copy>(
    raw: &str,
    all: &[T],
    key: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
) -> Option<T> {
    let r = raw.trim();
    all.iter().copied().find(|v| key(*v) == r || label(*v) == r)
}

fn e6(v: f64) -> i64 {
    (v * 1e6).round() as i64
}

fn unit_name_of(u: Option<OrgUnit>) -> String {
    u.map(|u| u.name).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Components

/// A component as lists and pages show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ComponentView {
    pub id: Uuid,
    /// The 16-digit identification code.
    pub code: String,
    /// Four digits: major and minor class (`0118` 路灯).
    pub class_code: String,
    /// The minor class's name, or empty for a local class the standard table lacks.
    pub class_name: String,
    /// The major class's name (公用设施, 道路交通…).
    pub major_name: String,
    pub name: String,
    /// `good`, `damaged`, `lost`, `occupied`, `removed`, `other`.
    pub state: String,
    pub state_label: String,
    pub unit_id: Uuid,
    /// The department that owns and maintains it (权属部门), if recorded.
    pub owner_id: Option<Uuid>,
    pub address: String,
    /// WGS84.
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub updated_at: String,
    pub version: i64,
}

pub fn component_view(c: ComponentRow) -> ComponentView {
    let code = ComponentCode::parse(&c.code).ok();
    ComponentView {
        class_name: code
            .as_ref()
            .and_then(|k| k.minor_class())
            .map(|m| m.name.to_string())
            .unwrap_or_default(),
        major_name: c
            .class_code
            .get(..2)
            .and_then(ComponentMajor::from_code)
            .map(|m| m.label().to_string())
            .unwrap_or_default(),
        state_label: ComponentState::parse(&c.state)
            .map(|s| s.label().to_string())
            .unwrap_or_default(),
        id: c.id,
        code: c.code,
        class_code: c.class_code,
        name: c.name,
        state: c.state,
        unit_id: c.unit_id,
        owner_id: c.owner_id,
        address: c.address,
        lat: c.lat_e6.map(|v| v as f64 / 1e6),
        lng: c.lng_e6.map(|v| v as f64 / 1e6),
        updated_at: c.updated_at.display_cst(),
        version: c.version,
    }
}

/// A point as typed: latitude, longitude and the datum they are in.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointIn {
    pub lat: f64,
    pub lng: f64,
    /// `wgs84` (default), `gcj02` (AMap, Tencent) or `bd09` (Baidu).
    #[serde(default)]
    pub datum: String,
}

/// A component as registered (API or form), before validation.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComponent {
    /// 16 digits: county (the district's code), major class, minor class, serial.
    pub code: String,
    /// Default: the minor class's name.
    #[serde(default)]
    pub name: String,
    /// The grid (or community); when absent, the grid the point lies in.
    #[serde(default)]
    pub unit_id: Option<Uuid>,
    #[serde(default)]
    pub point: Option<PointIn>,
    #[serde(default)]
    pub address: String,
    /// A department (`org_units` of kind department).
    #[serde(default)]
    pub owner_id: Option<Uuid>,
    /// Key or label; default `good` (完好).
    #[serde(default)]
    pub state: String,
}

/// The point in WGS84 micro-degrees, validated.
fn point_e6(pt: &PointIn) -> Result<(i64, i64)> {
    let (lat, lng) = super::grids::to_wgs84(pt.lat, pt.lng, &pt.datum)?;
    Ok((e6(lat), e6(lng)))
}

fn parse_state(raw: &str) -> Result<ComponentState> {
    if raw.trim().is_empty() {
        return Ok(ComponentState::Good);
    }
    by_key_or_label(
        raw,
        ComponentState::ALL,
        ComponentState::key,
        ComponentState::label,
    )
    .ok_or_else(|| {
        AppError::invalid(
            "invalid_state",
            "部件状态应为 完好、损坏、丢失、占用、拆除 或 其他",
        )
    })
}

/// The owner department: an active unit of kind department.
async fn owner_of(app: &App, id: Uuid) -> Result<OrgUnit> {
    crate::units::get(app, id)
        .await?
        .filter(|u| u.active && u.kind == OrgKind::Department)
        .ok_or_else(|| AppError::invalid("invalid_owner", "权属部门应为已登记的职能部门"))
}

/// The unit a component belongs to: the one given, or the grid its point lies in.
async fn component_unit(
    app: &App,
    p: &Principal,
    unit_id: Option<Uuid>,
    point: Option<(i64, i64)>,
) -> Result<OrgUnit> {
    let id = match (unit_id, point) {
        (Some(u), _) => u,
        (None, Some((lat, lng))) => {
            app.grids
                .locate(lng as f64 / 1e6, lat as f64 / 1e6)
                .ok_or_else(|| {
                    AppError::invalid("point_outside_grids", "该位置不在任何网格内，请选择网格")
                })?
                .grid_id
        }
        (None, None) => {
            return Err(AppError::invalid(
                "unit_or_point_required",
                "请选择网格或标注部件位置",
            ));
        }
    };
    super::home_unit(app, p, id).await
}

/// Register a component. Returns its view and warnings (a minor class the standard table lacks).
pub async fn create_component(
    app: &App,
    p: &Principal,
    n: NewComponent,
) -> Result<(ComponentDetail, Vec<String>)> {
    p.require(Permission::RegistryWrite)?;
    let code =
        ComponentCode::parse(&n.code).map_err(|e| AppError::invalid(e.key(), e.message()))?;
    let state = parse_state(&n.state)?;
    let point = n.point.as_ref().map(point_e6).transpose()?;
    let address = text_field(&n.address, "地址", 200, false)?;
    let mut warnings = Vec::new();
    let class_name = match code.minor_class() {
        Some(c) => c.name.to_string(),
        None => {
            warnings.push(format!(
                "小类代码 {} 不在标准部件分类中（地方扩展分类请核对）",
                code.class_code()
            ));
            String::new()
        }
    };
    let name = match text_field(&n.name, "部件名称", 50, false)? {
        s if s.is_empty() && class_name.is_empty() => {
            return Err(AppError::invalid("missing_field", "请填写部件名称"));
        }
        s if s.is_empty() => class_name,
        s => s,
    };
    let owner = match n.owner_id {
        Some(o) => Some(owner_of(app, o).await?.id),
        None => None,
    };
    let unit = component_unit(app, p, n.unit_id, point).await?;
    if code.county() != unit.tenant {
        return Err(AppError::invalid(
            "component_county_mismatch",
            format!(
                "部件标识码的区县代码 {} 与所在区县 {} 不一致",
                code.county(),
                unit.tenant
            ),
        ));
    }
    let now = app.now();
    let row = ComponentRow {
        tenant: unit.tenant.clone(),
        id: Uuid::now_v7(),
        code: code.as_str().to_string(),
        class_code: code.class_code().to_string(),
        name,
        owner_id: owner,
        state: state.key().into(),
        unit_id: unit.id,
        unit_path: unit.path.clone(),
        address,
        lat_e6: point.map(|p| p.0),
        lng_e6: point.map(|p| p.1),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    write_tx!(app, |tx| {
        if things::component_code_taken(&mut tx, &row.tenant, &row.code).await? {
            return Err(AppError::Conflict(format!(
                "部件标识码 {} 已登记",
                row.code
            )));
        }
        repo::insert_components(&mut tx, std::slice::from_ref(&row)).await?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("component.create", "component", row.id)
                .detail(serde_json::json!({"code": row.code})),
        )
        .await?;
    })?;
    Ok((component_detail(app, p, row).await?, warnings))
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct ComponentFilter {
    /// Only under this unit (street, community or grid).
    pub unit: Option<Uuid>,
    /// A major class (`01`…`06`) or a minor class (`0118`), or a minor class's name (`路灯`).
    pub class: Option<String>,
    /// `good`, `damaged`, `lost`, `occupied`, `removed`, `other` (or the label).
    pub state: Option<String>,
    /// The identification code starts with (digits).
    pub code: Option<String>,
    pub before: Option<Uuid>,
    pub limit: Option<i64>,
}

/// The class filter as a prefix of the class code.
fn class_prefix(raw: &str) -> Result<String> {
    let r = raw.trim();
    if let Some(c) = linli_domain::component::class_named(r) {
        return Ok(c.class_code());
    }
    if let Some(m) = by_key_or_label(
        r,
        ComponentMajor::ALL,
        ComponentMajor::key,
        ComponentMajor::label,
    ) {
        return Ok(m.code().to_string());
    }
    if matches!(r.len(), 2 | 4) && r.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(r.to_string());
    }
    Err(AppError::invalid(
        "invalid_class",
        "部件类别应为大类代码（2 位）、小类代码（4 位）或小类名称",
    ))
}

/// The repository query of a component list (the page and its export read the same rows):
/// the filters validated, the range from [`super::list_range`].
pub(crate) async fn component_query(
    app: &App,
    p: &Principal,
    f: &ComponentFilter,
) -> Result<ComponentQuery> {
    p.require(Permission::RegistryRead)?;
    let (tenant, unit) = super::list_range(app, p, f.unit).await?;
    let code = f.code.as_deref().map(str::trim).filter(|c| !c.is_empty());
    if let Some(c) = code
        && (c.len() > 16 || !c.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(AppError::invalid(
            "invalid_code_prefix",
            "部件标识码只能由数字组成，最多 16 位",
        ));
    }
    let state = match f.state.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => Some(parse_state(s)?.key().to_string()),
        None => None,
    };
    let class = match f.class.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(c) => Some(class_prefix(c)?),
        None => None,
    };
    Ok(ComponentQuery {
        tenant,
        under: unit.map(|u| u.path),
        class_prefix: class,
        state,
        code_prefix: code.map(String::from),
        before: f.before,
        limit: f.limit.unwrap_or(50).clamp(1, MAX_PAGE),
    })
}

/// A page of components within scope, newest first.
pub async fn list_components(
    app: &App,
    p: &Principal,
    f: &ComponentFilter,
) -> Result<(Vec<ComponentView>, Option<Uuid>)> {
    let q = component_query(app, p, f).await?;
    let rows =
        things::list_components(&app.db, &p.authz.filter(Permission::RegistryRead), &q).await?;
    let next = (rows.len() as i64 == q.limit)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    Ok((rows.into_iter().map(component_view).collect(), next))
}

/// The component page: the component, its grid and its owner department by name.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ComponentDetail {
    pub component: ComponentView,
    pub unit_name: String,
    pub owner_name: String,
    /// Whether the reader may change it (`registry.write` over its unit).
    pub writable: bool,
}

async fn load_component(
    app: &App,
    p: &Principal,
    perm: Permission,
    id: Uuid,
) -> Result<ComponentRow> {
    p.require(perm)?;
    let tenant = tenant_of_path(&p.unit_path);
    things::component(&app.db, &p.authz.filter(perm), &tenant, id)
        .await?
        .ok_or(AppError::NotFound("部件"))
}

async fn component_detail(app: &App, p: &Principal, c: ComponentRow) -> Result<ComponentDetail> {
    let writable = may_write(p, c.unit_id, &c.unit_path);
    let unit_name = unit_name_of(crate::units::get(app, c.unit_id).await?);
    let owner_name = match c.owner_id {
        Some(o) => unit_name_of(crate::units::get(app, o).await?),
        None => String::new(),
    };
    Ok(ComponentDetail {
        component: component_view(c),
        unit_name,
        owner_name,
        writable,
    })
}

pub async fn get_component(app: &App, p: &Principal, id: Uuid) -> Result<ComponentDetail> {
    let c = load_component(app, p, Permission::RegistryRead, id).await?;
    component_detail(app, p, c).await
}

/// A change to a component: any of the fields, with the version read.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentChange {
    pub name: Option<String>,
    /// Key or label: 完好, 损坏, 丢失, 占用, 拆除, 其他.
    pub state: Option<String>,
    pub address: Option<String>,
    /// Move to another grid the caller may write to.
    pub unit_id: Option<Uuid>,
    /// A new point; the grid follows it unless `unit_id` is given.
    pub point: Option<PointIn>,
    pub owner_id: Option<Uuid>,
    /// A note kept in the audit trail (why the state changed).
    #[serde(default)]
    pub note: String,
    pub version: i64,
}

pub async fn update_component(
    app: &App,
    p: &Principal,
    id: Uuid,
    c: ComponentChange,
) -> Result<ComponentDetail> {
    let mut r = load_component(app, p, Permission::RegistryWrite, id).await?;
    let note = text_field(&c.note, "说明", 200, false)?;
    let mut fields = Vec::new();
    let before_state = r.state.clone();
    if let Some(n) = &c.name {
        r.name = text_field(n, "部件名称", 50, true)?;
        fields.push("name");
    }
    if let Some(s) = &c.state {
        r.state = parse_state(s)?.key().into();
        fields.push("state");
    }
    if let Some(a) = &c.address {
        r.address = text_field(a, "地址", 200, false)?;
        fields.push("address");
    }
    let point = c.point.as_ref().map(point_e6).transpose()?;
    if let Some((lat, lng)) = point {
        r.lat_e6 = Some(lat);
        r.lng_e6 = Some(lng);
        fields.push("point");
    }
    if let Some(o) = c.owner_id {
        r.owner_id = Some(owner_of(app, o).await?.id);
        fields.push("owner");
    }
    if c.unit_id.is_some() || point.is_some() {
        let unit = component_unit(app, p, c.unit_id, point).await?;
        if unit.tenant != r.tenant {
            return Err(AppError::invalid(
                "component_county_mismatch",
                "部件不能移到其他区县",
            ));
        }
        if unit.id != r.unit_id {
            r.unit_id = unit.id;
            r.unit_path = unit.path;
            fields.push("unit");
        }
    }
    if fields.is_empty() {
        return Err(AppError::invalid("nothing_to_change", "没有要修改的内容"));
    }
    let now = app.now();
    r.updated_at = now;
    r.version = c.version + 1;
    write_tx!(app, |tx| {
        if !things::update_component(&mut tx, &r, c.version).await? {
            return Err(AppError::Stale);
        }
        let mut ev = Event::ok("component.update", "component", r.id).detail(serde_json::json!({
            "fields": fields, "state_from": before_state, "state_to": r.state,
        }));
        if !note.is_empty() {
            ev = ev.reason(&note);
        }
        record(&mut tx, now, p.into(), ev).await?;
    })?;
    component_detail(app, p, r).await
}

// ---------------------------------------------------------------------------------------------
// Organisations

/// An organisation as lists and pages show it: the contact phone masked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrganisationView {
    pub id: Uuid,
    pub kind: String,
    pub kind_label: String,
    pub name: String,
    pub unit_id: Uuid,
    pub address: String,
    /// Masked like residents' names (`王**`): the contact is a person.
    pub contact_name: String,
    /// `138****8000`, or empty.
    pub contact_phone: String,
    pub member_count: Option<i64>,
    pub updated_at: String,
    pub version: i64,
}

/// The view `p` gets: a department token granted no `phone` field sees no contact phone, not
/// even masked (as with residents' phones).
pub fn organisation_view_for(p: &Principal, o: OrganisationRow) -> OrganisationView {
    let mut v = organisation_view(o);
    if !p.reads(linli_domain::registry::ResidentField::Phone) {
        v.contact_phone = String::new();
    }
    v
}

pub fn organisation_view(o: OrganisationRow) -> OrganisationView {
    OrganisationView {
        kind_label: OrganisationKind::parse(&o.kind)
            .map(|k| k.label().to_string())
            .unwrap_or_default(),
        id: o.id,
        kind: o.kind,
        name: o.name,
        unit_id: o.unit_id,
        address: o.address,
        contact_name: pi::mask_name(&o.contact_name),
        contact_phone: o.phone_masked,
        member_count: o.member_count,
        updated_at: o.updated_at.display_cst(),
        version: o.version,
    }
}

/// An organisation as registered, before validation.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisation {
    /// `resident_unit` 驻区单位, `social_organisation` 社会组织, `property_company` 物业公司,
    /// `owners_committee` 业主委员会, `party_organisation` 党组织 (key or label).
    pub kind: String,
    pub name: String,
    /// The grid (or community) it sits in.
    pub unit_id: Uuid,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub contact_name: String,
    /// Sealed at rest; only its mask is returned.
    #[serde(default)]
    pub contact_phone: String,
    /// Members (党组织, 社会组织), if known.
    #[serde(default)]
    pub member_count: Option<i64>,
    /// Buildings it serves (物业公司, 业主委员会…), each one the caller may see.
    #[serde(default)]
    pub building_ids: Vec<Uuid>,
}

fn parse_kind(raw: &str) -> Result<OrganisationKind> {
    by_key_or_label(
        raw,
        OrganisationKind::ALL,
        OrganisationKind::key,
        OrganisationKind::label,
    )
    .ok_or_else(|| {
        AppError::invalid(
            "invalid_kind",
            "组织类型应为 驻区单位、社会组织、物业公司、业主委员会 或 党组织",
        )
    })
}

fn member_count(n: Option<i64>) -> Result<Option<i64>> {
    match n {
        Some(v) if !(0..=10_000_000).contains(&v) => Err(AppError::invalid(
            "invalid_member_count",
            "成员人数应在 0 至 10000000 之间",
        )),
        v => Ok(v),
    }
}

/// The served buildings, deduplicated; each must be one the caller may write to in `tenant`.
async fn served(app: &App, p: &Principal, tenant: &str, ids: &[Uuid]) -> Result<Vec<Uuid>> {
    if ids.len() > 500 {
        return Err(AppError::invalid(
            "too_many_buildings",
            "服务楼栋最多 500 栋",
        ));
    }
    let scope = p.authz.filter(Permission::RegistryWrite);
    let mut out = Vec::new();
    for id in ids {
        if out.contains(id) {
            continue;
        }
        repo::building(&app.db, &scope, tenant, *id)
            .await?
            .ok_or(AppError::NotFound("楼栋"))?;
        out.push(*id);
    }
    Ok(out)
}

/// A phone as typed → (sealed, masked), sealed under the organisation's id.
fn seal_phone(app: &App, id: Uuid, raw: &str) -> Result<(Option<Vec<u8>>, String)> {
    match raw.trim() {
        "" => Ok((None, String::new())),
        r => {
            let d = pi::normalize_phone(r)?;
            Ok((
                Some(app.keys.seal(ORGANISATION_PHONE, id, &d)),
                pi::mask_phone(&d),
            ))
        }
    }
}

pub async fn create_organisation(
    app: &App,
    p: &Principal,
    n: NewOrganisation,
) -> Result<OrganisationDetail> {
    p.require(Permission::RegistryWrite)?;
    let kind = parse_kind(&n.kind)?;
    let name = text_field(&n.name, "组织名称", 100, true)?;
    let address = text_field(&n.address, "地址", 200, false)?;
    let contact_name = text_field(&n.contact_name, "联系人", 50, false)?;
    let members = member_count(n.member_count)?;
    let id = Uuid::now_v7();
    let (phone, masked) = seal_phone(app, id, &n.contact_phone)?;
    let unit = super::home_unit(app, p, n.unit_id).await?;
    let buildings = served(app, p, &unit.tenant, &n.building_ids).await?;
    let now = app.now();
    let row = OrganisationRow {
        tenant: unit.tenant.clone(),
        id,
        kind: kind.key().into(),
        name,
        unit_id: unit.id,
        unit_path: unit.path.clone(),
        address,
        contact_name,
        contact_phone: phone,
        phone_masked: masked,
        member_count: members,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    write_tx!(app, |tx| {
        repo::insert_organisations(&mut tx, std::slice::from_ref(&row)).await?;
        things::set_served_buildings(&mut tx, &row.tenant, row.id, &buildings).await?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("organisation.create", "organisation", row.id)
                .detail(serde_json::json!({"kind": row.kind, "buildings": buildings.len()})),
        )
        .await?;
    })?;
    organisation_detail(app, p, row).await
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct OrganisationFilter {
    pub unit: Option<Uuid>,
    /// Kind key or label.
    pub kind: Option<String>,
    /// Name contains.
    pub name: Option<String>,
    pub before: Option<Uuid>,
    pub limit: Option<i64>,
}

/// The repository query of an organisation list (the page and its export read the same rows).
pub(crate) async fn organisation_query(
    app: &App,
    p: &Principal,
    f: &OrganisationFilter,
) -> Result<OrganisationQuery> {
    p.require(Permission::RegistryRead)?;
    let (tenant, unit) = super::list_range(app, p, f.unit).await?;
    let kind = match f.kind.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(k) => Some(parse_kind(k)?.key().to_string()),
        None => None,
    };
    Ok(OrganisationQuery {
        tenant,
        under: unit.map(|u| u.path),
        kind,
        name: name_filter(f),
        before: f.before,
        limit: f.limit.unwrap_or(50).clamp(1, MAX_PAGE),
    })
}

/// The name filter as the query uses it: trimmed, at most 50 characters, empty is none.
pub(crate) fn name_filter(f: &OrganisationFilter) -> Option<String> {
    f.name
        .as_deref()
        .map(|s| s.trim().chars().take(50).collect::<String>())
        .filter(|s| !s.is_empty())
}

pub async fn list_organisations(
    app: &App,
    p: &Principal,
    f: &OrganisationFilter,
) -> Result<(Vec<OrganisationView>, Option<Uuid>)> {
    let q = organisation_query(app, p, f).await?;
    let rows =
        things::list_organisations(&app.db, &p.authz.filter(Permission::RegistryRead), &q).await?;
    let next = (rows.len() as i64 == q.limit)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    Ok((
        rows.into_iter()
            .map(|o| organisation_view_for(p, o))
            .collect(),
        next,
    ))
}

/// A grid an organisation is in or serves.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct GridName {
    pub id: Uuid,
    pub name: String,
}

/// The organisation page: the organisation (phone masked), its unit, the buildings it serves
/// and the grids those are in.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrganisationDetail {
    pub organisation: OrganisationView,
    pub unit_name: String,
    pub buildings: Vec<BuildingView>,
    pub grids: Vec<GridName>,
    /// Whether the reader may change it.
    pub writable: bool,
    /// Whether the reader may see the contact in full (`registry.unmask` over its unit).
    pub unmaskable: bool,
}

async fn organisation_detail(
    app: &App,
    p: &Principal,
    o: OrganisationRow,
) -> Result<OrganisationDetail> {
    let scope = p.authz.filter(Permission::RegistryRead);
    let rows = things::served_buildings(&app.db, &scope, &o.tenant, o.id).await?;
    let mut grids: Vec<GridName> = Vec::new();
    for uid in std::iter::once(o.unit_id).chain(rows.iter().map(|b| b.unit_id)) {
        if grids.iter().any(|g| g.id == uid) {
            continue;
        }
        if let Some(u) = crate::units::get(app, uid).await? {
            grids.push(GridName {
                id: u.id,
                name: u.name,
            });
        }
    }
    let unit_name = grids
        .first()
        .filter(|g| g.id == o.unit_id)
        .map(|g| g.name.clone())
        .unwrap_or_default();
    let buildings = rows.into_iter().map(super::places::view).collect();
    let writable = may_write(p, o.unit_id, &o.unit_path);
    let unmaskable = may_unmask(p, o.unit_id, &o.unit_path);
    Ok(OrganisationDetail {
        organisation: organisation_view_for(p, o),
        unit_name,
        buildings,
        grids,
        writable,
        unmaskable,
    })
}

async fn load_organisation(
    app: &App,
    p: &Principal,
    perm: Permission,
    id: Uuid,
) -> Result<OrganisationRow> {
    p.require(perm)?;
    let tenant = tenant_of_path(&p.unit_path);
    things::organisation(&app.db, &p.authz.filter(perm), &tenant, id)
        .await?
        .ok_or(AppError::NotFound("组织"))
}

pub async fn get_organisation(app: &App, p: &Principal, id: Uuid) -> Result<OrganisationDetail> {
    let o = load_organisation(app, p, Permission::RegistryRead, id).await?;
    organisation_detail(app, p, o).await
}

/// An organisation's contact in full, for a holder of `registry.unmask` who gave a reason.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrganisationContact {
    pub contact_name: String,
    /// Empty when none is registered.
    pub contact_phone: String,
}

/// The contact's full name and phone, for a holder of `registry.unmask` over the
/// organisation's unit who states why; audited (`organisation.unmask`) with the reason and
/// never the values, through the same path as a resident's unmasking.
pub async fn unmask_contact(
    app: &App,
    p: &Principal,
    id: Uuid,
    why: &str,
) -> Result<OrganisationContact> {
    p.require(Permission::RegistryUnmask)?;
    // A department's token granted no phones sees none, masked or full.
    if !p.reads(linli_domain::registry::ResidentField::Phone) {
        return Err(AppError::Forbidden);
    }
    let why = super::reason(why)?;
    let o = load_organisation(app, p, Permission::RegistryUnmask, id).await?;
    let contact_phone = match &o.contact_phone {
        Some(b) => app.keys.open(ORGANISATION_PHONE, o.id, b)?,
        None => String::new(),
    };
    super::audit_reveal(app, p, "organisation.unmask", "organisation", o.id, &why).await?;
    Ok(OrganisationContact {
        contact_name: o.contact_name,
        contact_phone,
    })
}

/// Whether `p` may see this organisation's contact in full (the console shows the form only
/// then).
pub fn may_unmask(p: &Principal, unit_id: Uuid, unit_path: &str) -> bool {
    p.reads(linli_domain::registry::ResidentField::Phone)
        && p.authz.allows(
            Permission::RegistryUnmask,
            Target {
                unit_id,
                unit_path,
                owner: None,
            },
        )
}

/// The departments a component's owner (权属部门) may be chosen from: the active departments
/// of the caller's district, by name (not personal data; the form's choice list).
pub async fn owner_choices(app: &App, p: &Principal) -> Result<Vec<GridName>> {
    let tenant = tenant_of_path(&p.unit_path);
    let Some(district) = linli_store::repo::org::get_by_code(&app.db, &tenant).await? else {
        return Ok(vec![]);
    };
    let all = linli_domain::auth::ScopeFilter::everything();
    Ok(linli_store::repo::org::children(&app.db, district.id, &all)
        .await?
        .into_iter()
        .filter(|c| c.unit.active && c.unit.kind == OrgKind::Department)
        .map(|c| GridName {
            id: c.unit.id,
            name: c.unit.name,
        })
        .collect())
}

/// A change to an organisation: any of the fields, with the version read. `building_ids`
/// replaces the served buildings; an empty `contact_phone` removes the phone.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationChange {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub unit_id: Option<Uuid>,
    pub address: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub member_count: Option<i64>,
    pub building_ids: Option<Vec<Uuid>>,
    pub version: i64,
}

pub async fn update_organisation(
    app: &App,
    p: &Principal,
    id: Uuid,
    c: OrganisationChange,
) -> Result<OrganisationDetail> {
    let mut o = load_organisation(app, p, Permission::RegistryWrite, id).await?;
    let mut fields = Vec::new();
    if let Some(k) = &c.kind {
        o.kind = parse_kind(k)?.key().into();
        fields.push("kind");
    }
    if let Some(n) = &c.name {
        o.name = text_field(n, "组织名称", 100, true)?;
        fields.push("name");
    }
    if let Some(a) = &c.address {
        o.address = text_field(a, "地址", 200, false)?;
        fields.push("address");
    }
    if let Some(n) = &c.contact_name {
        o.contact_name = text_field(n, "联系人", 50, false)?;
        fields.push("contact_name");
    }
    if let Some(ph) = &c.contact_phone {
        let (sealed, masked) = seal_phone(app, o.id, ph)?;
        o.contact_phone = sealed;
        o.phone_masked = masked;
        fields.push("contact_phone");
    }
    if c.member_count.is_some() {
        o.member_count = member_count(c.member_count)?;
        fields.push("member_count");
    }
    if let Some(u) = c.unit_id {
        let unit = super::home_unit(app, p, u).await?;
        if unit.tenant != o.tenant {
            return Err(AppError::invalid("other_district", "组织不能移到其他区县"));
        }
        o.unit_id = unit.id;
        o.unit_path = unit.path;
        fields.push("unit");
    }
    let buildings = match &c.building_ids {
        Some(ids) => {
            fields.push("buildings");
            Some(served(app, p, &o.tenant, ids).await?)
        }
        None => None,
    };
    if fields.is_empty() {
        return Err(AppError::invalid("nothing_to_change", "没有要修改的内容"));
    }
    let now = app.now();
    o.updated_at = now;
    o.version = c.version + 1;
    write_tx!(app, |tx| {
        if !things::update_organisation(&mut tx, &o, c.version).await? {
            return Err(AppError::Stale);
        }
        if let Some(b) = &buildings {
            things::set_served_buildings(&mut tx, &o.tenant, o.id, b).await?;
        }
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("organisation.update", "organisation", o.id)
                .detail(serde_json::json!({"fields": fields})),
        )
        .await?;
    })?;
    organisation_detail(app, p, o).await
}

/// Whether `p` may write to rows of this unit (the console shows the forms only then).
pub fn may_write(p: &Principal, unit_id: Uuid, unit_path: &str) -> bool {
    p.authz.allows(
        Permission::RegistryWrite,
        Target {
            unit_id,
            unit_path,
            owner: None,
        },
    )
}
