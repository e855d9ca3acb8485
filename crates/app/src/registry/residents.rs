//! People (人): registering a resident, the scoped and masked lists, the person page, unmasking
//! with a stated reason, life-cycle events that keep history, corrections, and the residents'
//! rights of PIPL Art. 45–47 (a copy of the whole record; anonymisation).
//!
//! Rows are built by [`seal`], the one place that turns a validated person into stored form
//! (ID number and phone sealed under the resident's id, blind indexes, masks, tags in stored
//! form); registration, the importer and the demo loader all go through it.

use linli_domain::auth::Permission;
use linli_domain::idnumber::IdNumber;
use linli_domain::org::{OrgKind, tenant_of_path};
use linli_domain::registry::{
    AGE_BANDS, LifeEvent, Relation, Residency, ResidentField, ResidentStatus,
};
use linli_store::repo::org::OrgUnit;
use linli_store::repo::registry::{self as repo, EventRow, ResidentQuery, ResidentRow};
use serde::Serialize;
use time::Date;
use uuid::Uuid;

use super::{
    MAX_PAGE, RESIDENT_ID_NUMBER, RESIDENT_PHONE, TagBook, TagView, reason, text_field, today,
};
use crate::audit::{Event, record};
use crate::{App, AppError, Principal, Result, pi};

/// A resident as every list and response shows them: masked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResidentView {
    pub id: Uuid,
    /// `张*`.
    pub name: String,
    pub sex: String,
    pub age: u32,
    /// `110105********002X`.
    pub id_number: String,
    /// `138****8000`, or empty.
    pub phone: String,
    pub residency: String,
    pub residency_label: String,
    pub relation: String,
    pub status: String,
    pub status_label: String,
    pub unit_id: Uuid,
    pub house_id: Option<Uuid>,
    pub household_id: Option<Uuid>,
    pub tags: Vec<TagView>,
    pub version: i64,
}

/// The full values, for a holder of `registry.unmask` who gave a reason.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Unmasked {
    pub name: String,
    pub id_number: String,
    pub phone: String,
}

/// A person as typed (form, API, import row), before validation.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct NewResident {
    /// The grid (or community) the person lives in.
    pub unit_id: Uuid,
    pub name: String,
    pub id_number: String,
    #[serde(default)]
    pub phone: String,
    /// `registered`, `resident`, `floating` or `overseas` (or the Chinese label).
    pub residency: String,
    /// Relation to the household head; default `head`.
    #[serde(default)]
    pub relation: String,
    #[serde(default)]
    pub house_id: Option<Uuid>,
    #[serde(default)]
    pub household_id: Option<Uuid>,
    /// Tag keys or labels.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A validated person, ready to seal.
pub struct Person {
    pub name: String,
    pub id_number: IdNumber,
    pub phone: Option<String>,
    pub residency: Residency,
    pub relation: Relation,
    /// Stored tag values.
    pub tags: Vec<String>,
    /// Things worth telling that do not stop registration (an unknown address code).
    pub warnings: Vec<String>,
}

fn parse_keyed<T: Copy>(
    raw: &str,
    all: &[T],
    key: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
) -> Option<T> {
    let r = raw.trim();
    all.iter().copied().find(|v| key(*v) == r || label(*v) == r)
}

/// Check a typed person against the rules (GB 11643, phone format, vocabularies).
pub fn validate(app: &App, book: &TagBook, n: &NewResident, today: Date) -> Result<Person> {
    let name = text_field(&n.name, "姓名", 50, true)?;
    let id_number = IdNumber::parse(&n.id_number, today)
        .map_err(|e| AppError::invalid(e.key(), e.message()))?;
    let phone = match n.phone.trim() {
        "" => None,
        p => Some(pi::normalize_phone(p)?),
    };
    let residency = parse_keyed(
        &n.residency,
        Residency::ALL,
        Residency::key,
        Residency::label,
    )
    .ok_or_else(|| {
        AppError::invalid("invalid_residency", "人口类型应为 户籍、常住、流动 或 境外")
    })?;
    let relation = if n.relation.trim().is_empty() {
        Relation::Head
    } else {
        parse_keyed(&n.relation, Relation::ALL, Relation::key, Relation::label).ok_or_else(
            || {
                AppError::invalid(
                    "invalid_relation",
                    "与户主关系应为 户主、配偶、子女、父母、孙子女 或 其他",
                )
            },
        )?
    };
    let mut tags = Vec::new();
    for t in n.tags.iter().filter(|t| !t.trim().is_empty()) {
        let stored = book.store(app, t).ok_or_else(|| {
            AppError::invalid("unknown_tag", format!("标签“{}”不在标签目录中", t.trim()))
        })?;
        if !tags.contains(&stored) {
            tags.push(stored);
        }
    }
    let mut warnings = Vec::new();
    if !app.places.knows_county(id_number.address_code()) {
        warnings.push(format!(
            "身份证号码的地址码 {} 不在现行行政区划中（旧代码仍然有效，请核对）",
            id_number.address_code()
        ));
    }
    Ok(Person {
        name,
        id_number,
        phone,
        residency,
        relation,
        tags,
        warnings,
    })
}

/// The stored form of a person, sealed under `id`.
#[allow(clippy::too_many_arguments)]
pub fn seal(
    app: &App,
    id: Uuid,
    unit: &OrgUnit,
    person: &Person,
    house_id: Option<Uuid>,
    household_id: Option<Uuid>,
    now: linli_domain::Ts,
) -> ResidentRow {
    let idn = person.id_number.as_str();
    ResidentRow {
        tenant: unit.tenant.clone(),
        id,
        unit_id: unit.id,
        unit_path: unit.path.clone(),
        house_id,
        household_id,
        relation: person.relation.key().into(),
        name: person.name.clone(),
        sex: person.id_number.sex().key().into(),
        birth_date: person.id_number.birth_date().to_string(),
        id_number: app.keys.seal(RESIDENT_ID_NUMBER, id, idn),
        id_hash: app.keys.index_of(&[b"id\0", idn.as_bytes()]),
        id_masked: person.id_number.masked(),
        phone: person
            .phone
            .as_deref()
            .map(|p| app.keys.seal(RESIDENT_PHONE, id, p)),
        phone_hash: person.phone.as_deref().map(|p| app.keys.index(p)),
        phone_masked: person
            .phone
            .as_deref()
            .map(pi::mask_phone)
            .unwrap_or_default(),
        residency: person.residency.key().into(),
        status: ResidentStatus::Active.key().into(),
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

/// The blind index an ID number is found by.
pub fn id_index(app: &App, id: &IdNumber) -> String {
    app.keys.index_of(&[b"id\0", id.as_str().as_bytes()])
}

/// The masked view of a row, with only the fields `p` may read (a department's token may be
/// granted fewer, see [`ResidentField`]): what is not granted is left empty.
fn view(
    p: &Principal,
    r: &ResidentRow,
    tags: &[&str],
    book: &TagBook,
    today: Date,
) -> ResidentView {
    let household = p.reads(ResidentField::Household);
    let age = Date::parse(
        &r.birth_date,
        &time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map(|b| linli_domain::idnumber::age_between(b, today))
    .unwrap_or(0);
    let residency = Residency::parse(&r.residency);
    let status = ResidentStatus::parse(&r.status);
    ResidentView {
        id: r.id,
        name: pi::mask_name(&r.name),
        sex: match r.sex.as_str() {
            "male" => "男".into(),
            "female" => "女".into(),
            _ => String::new(),
        },
        age,
        id_number: if p.reads(ResidentField::IdNumber) {
            r.id_masked.clone()
        } else {
            String::new()
        },
        phone: if p.reads(ResidentField::Phone) {
            r.phone_masked.clone()
        } else {
            String::new()
        },
        residency: r.residency.clone(),
        residency_label: residency.map(|x| x.label().to_string()).unwrap_or_default(),
        relation: Relation::parse(&r.relation)
            .filter(|_| household)
            .map(|x| x.label().to_string())
            .unwrap_or_default(),
        status: r.status.clone(),
        status_label: status.map(|x| x.label().to_string()).unwrap_or_default(),
        unit_id: r.unit_id,
        house_id: r.house_id.filter(|_| household),
        household_id: r.household_id.filter(|_| household),
        tags: tags
            .iter()
            .filter_map(|t| book.read(t))
            .filter(|t| p.reads(t.field()))
            .cloned()
            .collect(),
        version: r.version,
    }
}

pub async fn views_of(
    app: &App,
    p: &Principal,
    rows: &[ResidentRow],
    book: &TagBook,
) -> Result<Vec<ResidentView>> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let tags = repo::tags_of(&app.db, &first.tenant, &ids).await?;
    let today = today(app);
    Ok(rows
        .iter()
        .map(|r| {
            let mine: Vec<&str> = tags
                .iter()
                .filter(|(id, _)| *id == r.id)
                .map(|(_, t)| t.as_str())
                .collect();
            view(p, r, &mine, book, today)
        })
        .collect())
}

/// One history row of a resident, recorded by `actor` now.
pub(super) fn event(
    r: (&str, Uuid),
    kind: LifeEvent,
    on: String,
    note: String,
    actor: Option<Uuid>,
    now: linli_domain::Ts,
) -> EventRow {
    EventRow {
        tenant: r.0.to_string(),
        id: Uuid::now_v7(),
        resident_id: r.1,
        kind: kind.key().into(),
        on_date: on,
        note,
        actor_id: actor,
        created_at: now,
    }
}

/// The masked view of one row.
async fn view_of(
    app: &App,
    p: &Principal,
    r: &ResidentRow,
    book: &TagBook,
) -> Result<ResidentView> {
    views_of(app, p, std::slice::from_ref(r), book)
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound("居民"))
}

/// Register a resident. Returns the masked view and any warnings.
pub async fn create(
    app: &App,
    p: &Principal,
    n: NewResident,
) -> Result<(ResidentView, Vec<String>)> {
    p.require(Permission::RegistryWrite)?;
    let unit = super::home_unit(app, p, n.unit_id).await?;
    let book = TagBook::load(app).await?;
    let person = validate(app, &book, &n, today(app))?;
    let hash = id_index(app, &person.id_number);
    if !repo::residents_with_id_hashes(&app.db, &unit.tenant, std::slice::from_ref(&hash))
        .await?
        .is_empty()
    {
        return Err(AppError::Conflict(
            "该身份证号码已在本区登记，请在人口列表中按身份证号查找".into(),
        ));
    }
    // A house or household to join must be one the caller may write to.
    let writable = |unit_id: Uuid, unit_path: &str| {
        p.authz.allows(
            Permission::RegistryWrite,
            linli_domain::auth::Target {
                unit_id,
                unit_path,
                owner: None,
            },
        )
    };
    if let Some(h) = n.house_id {
        repo::house(&app.db, &unit.tenant, h)
            .await?
            .filter(|h| writable(h.unit_id, &h.unit_path))
            .ok_or(AppError::NotFound("房屋"))?;
    }
    if let Some(h) = n.household_id {
        repo::household(&app.db, &unit.tenant, h)
            .await?
            .filter(|h| writable(h.unit_id, &h.unit_path))
            .ok_or(AppError::NotFound("户"))?;
    }
    let now = app.now();
    let id = Uuid::now_v7();
    let row = seal(app, id, &unit, &person, n.house_id, n.household_id, now);
    let tag_rows: Vec<(Uuid, String)> = person.tags.iter().map(|t| (id, t.clone())).collect();
    let ev = event(
        (&unit.tenant, id),
        LifeEvent::Registered,
        today(app).to_string(),
        String::new(),
        Some(p.user_id),
        now,
    );
    write_tx!(app, |tx| {
        repo::insert_residents(&mut tx, std::slice::from_ref(&row)).await?;
        repo::insert_tags(&mut tx, &unit.tenant, &tag_rows).await?;
        repo::insert_events(&mut tx, std::slice::from_ref(&ev)).await?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("resident.create", "resident", id),
        )
        .await?;
    })?;
    Ok((view_of(app, p, &row, &book).await?, person.warnings))
}

/// Filters of the resident list (all optional).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[serde(default)]
pub struct ListFilter {
    /// Only under this unit (street, community or grid).
    pub unit: Option<Uuid>,
    /// Tag key or label; repeat with commas for "all of".
    pub tag: Option<String>,
    /// An age band: `0-6`, `7-17`, `18-34`, `35-59`, `60-79`, `80+`, or `60+`.
    pub age: Option<String>,
    pub residency: Option<String>,
    /// `male` or `female`.
    pub sex: Option<String>,
    /// Name starts with.
    pub name: Option<String>,
    /// Exact ID number (found through the blind index; never stored or logged as typed).
    pub id_number: Option<String>,
    /// Exact phone number (blind index).
    pub phone: Option<String>,
    /// `active` (default), `moved_out`, `deceased`, `anonymised`.
    pub status: Option<String>,
    pub house: Option<Uuid>,
    pub household: Option<Uuid>,
    /// The last id of the previous page.
    pub before: Option<Uuid>,
    pub limit: Option<i64>,
}

pub struct Page {
    pub items: Vec<ResidentView>,
    pub next: Option<Uuid>,
}

/// Birth-date bounds [from, to) for ages in [lo, hi).
fn birth_bounds(today: Date, lo: u32, hi: u32) -> (String, String) {
    let years_ago = |n: u32| {
        let y = today.year() - n as i32;
        Date::from_calendar_date(y, today.month(), today.day())
            .or_else(|_| Date::from_calendar_date(y, today.month(), 28))
            .unwrap_or(today)
    };
    // age >= lo  ⇔ born on or before `lo` years ago; age < hi ⇔ born after `hi` years ago.
    let to = years_ago(lo).next_day().unwrap_or(today);
    let from = years_ago(hi.min(150)).next_day().unwrap_or(today);
    (from.to_string(), to.to_string())
}

/// Turn list filters into a repository query: tags to stored form, the ID number and phone to
/// their blind indexes, the age band to birth dates.
pub async fn query(
    app: &App,
    p: &Principal,
    f: &ListFilter,
    tenant: &str,
    book: &TagBook,
) -> Result<ResidentQuery> {
    // A token granted fewer fields may not filter by the others either (a match would tell).
    let not_granted = |f: ResidentField| {
        AppError::invalid(
            "field_not_granted",
            format!("此接口令牌未获授权读取“{}”，不能按其查询", f.label()),
        )
    };
    let given = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
    for (asked, field) in [
        (given(&f.id_number), ResidentField::IdNumber),
        (given(&f.phone), ResidentField::Phone),
        (
            f.house.is_some() || f.household.is_some(),
            ResidentField::Household,
        ),
    ] {
        if asked && !p.reads(field) {
            return Err(not_granted(field));
        }
    }
    let mut q = ResidentQuery {
        tenant: tenant.to_string(),
        limit: f.limit.unwrap_or(50).clamp(1, MAX_PAGE),
        before: f.before,
        house_id: f.house,
        household_id: f.household,
        ..Default::default()
    };
    if let Some(u) = f.unit {
        let unit = crate::units::get(app, u)
            .await?
            .ok_or(AppError::NotFound("单位"))?;
        p.require_on(Permission::RegistryRead, &unit, "单位")?;
        q.under_is_leaf = unit.kind == OrgKind::Grid;
        q.under = Some(unit.path);
    }
    for t in f
        .tag
        .iter()
        .flat_map(|t| t.split([',', '，']))
        .filter(|t| !t.trim().is_empty())
    {
        let unknown =
            || AppError::invalid("unknown_tag", format!("标签“{}”不在标签目录中", t.trim()));
        let tag = book.find(t).ok_or_else(unknown)?;
        if !p.reads(tag.field()) {
            return Err(not_granted(tag.field()));
        }
        q.tags
            .push(super::stored_form(app, &tag.key, tag.sensitive));
    }
    if let Some(a) = f.age.as_deref().filter(|a| !a.is_empty()) {
        let (lo, hi) = if a == "60+" {
            (60, 200)
        } else {
            AGE_BANDS
                .iter()
                .find(|(l, _, _)| *l == a)
                .map(|(_, lo, hi)| (*lo, *hi))
                .ok_or_else(|| AppError::invalid("invalid_age_band", "年龄段无效"))?
        };
        let (from, to) = birth_bounds(today(app), lo, hi);
        q.born_from = Some(from);
        q.born_to = Some(to);
    }
    if let Some(r) = f.residency.as_deref().filter(|r| !r.is_empty()) {
        q.residency = Some(
            parse_keyed(r, Residency::ALL, Residency::key, Residency::label)
                .ok_or_else(|| AppError::invalid("invalid_residency", "人口类型无效"))?
                .key()
                .into(),
        );
    }
    if let Some(s) = f.sex.as_deref().filter(|s| !s.is_empty()) {
        q.sex = Some(match s {
            "male" | "男" => "male".into(),
            "female" | "女" => "female".into(),
            _ => return Err(AppError::invalid("invalid_sex", "性别无效")),
        });
    }
    if let Some(s) = f.status.as_deref().filter(|s| !s.is_empty()) {
        q.status = Some(
            ResidentStatus::parse(s)
                .ok_or_else(|| AppError::invalid("invalid_status", "状态无效"))?
                .key()
                .into(),
        );
    }
    q.name = f
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(String::from);
    if let Some(raw) = f.id_number.as_deref().filter(|s| !s.trim().is_empty()) {
        let idn = IdNumber::parse(raw, today(app))
            .map_err(|e| AppError::invalid(e.key(), e.message()))?;
        q.id_hash = Some(id_index(app, &idn));
    }
    if let Some(raw) = f.phone.as_deref().filter(|s| !s.trim().is_empty()) {
        q.phone_hash = Some(app.keys.index(&pi::normalize_phone(raw)?));
    }
    Ok(q)
}

/// The district a reader's registry lists are in: the tenant of their own unit, or of the unit
/// filtered on.
pub(super) async fn tenant_for(app: &App, p: &Principal, f: &ListFilter) -> Result<String> {
    Ok(super::list_range(app, p, f.unit).await?.0)
}

/// A page of residents within the caller's scope, masked.
pub async fn list(app: &App, p: &Principal, f: &ListFilter) -> Result<Page> {
    p.require(Permission::RegistryRead)?;
    let tenant = tenant_for(app, p, f).await?;
    let book = TagBook::load(app).await?;
    let q = query(app, p, f, &tenant, &book).await?;
    let scope = p.authz.filter(Permission::RegistryRead);
    let rows = repo::list_residents(&app.db, &scope, &q).await?;
    let next = (rows.len() as i64 == q.limit)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    Ok(Page {
        items: views_of(app, p, &rows, &book).await?,
        next,
    })
}

/// How many residents match the filters (the list's heading).
pub async fn count(app: &App, p: &Principal, f: &ListFilter) -> Result<i64> {
    p.require(Permission::RegistryRead)?;
    let tenant = tenant_for(app, p, f).await?;
    let book = TagBook::load(app).await?;
    let q = query(app, p, f, &tenant, &book).await?;
    Ok(repo::count_residents(&app.db, &p.authz.filter(Permission::RegistryRead), &q).await?)
}

/// One resident within scope (the stored row; callers show it through views).
async fn load(app: &App, p: &Principal, perm: Permission, id: Uuid) -> Result<ResidentRow> {
    p.require(perm)?;
    let scope = p.authz.filter(perm);
    // Residents are found by id across the caller's districts.
    for tenant in tenants_of(p, perm) {
        if let Some(r) = repo::resident(&app.db, &scope, &tenant, id).await? {
            return Ok(r);
        }
    }
    Err(AppError::NotFound("居民"))
}

/// The districts a principal's grants for `perm` reach (usually one).
fn tenants_of(p: &Principal, perm: Permission) -> Vec<String> {
    let f = p.authz.filter(perm);
    let mut t: Vec<String> = f
        .ranges
        .iter()
        .map(|(lo, _)| tenant_of_path(lo))
        .filter(|t| !t.chars().all(|c| c == '0'))
        .collect();
    t.push(tenant_of_path(&p.unit_path));
    t.sort();
    t.dedup();
    t.retain(|x| !x.chars().all(|c| c == '0'));
    t
}

/// The person page: the resident, their household, their house and their history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResidentDetail {
    pub resident: ResidentView,
    pub unit_name: String,
    pub house: Option<HouseRef>,
    pub household: Vec<ResidentView>,
    pub events: Vec<EventView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HouseRef {
    pub id: Uuid,
    pub building_id: Uuid,
    pub number: String,
    pub address: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub kind: String,
    pub label: String,
    pub on_date: String,
    pub note: String,
    pub recorded_at: String,
}

pub async fn get(app: &App, p: &Principal, id: Uuid) -> Result<ResidentDetail> {
    let r = load(app, p, Permission::RegistryRead, id).await?;
    let book = TagBook::load(app).await?;
    let scope = p.authz.filter(Permission::RegistryRead);
    let resident = view_of(app, p, &r, &book).await?;
    // The view leaves out house and household when they are not granted.
    let household = match resident.household_id {
        Some(h) => {
            let rows = repo::list_residents(
                &app.db,
                &scope,
                &ResidentQuery {
                    tenant: r.tenant.clone(),
                    household_id: Some(h),
                    limit: MAX_PAGE,
                    ..Default::default()
                },
            )
            .await?;
            views_of(app, p, &rows, &book).await?
        }
        None => Vec::new(),
    };
    let house = match resident.house_id {
        Some(h) => match repo::house(&app.db, &r.tenant, h).await? {
            Some(h) => {
                let b = repo::building(&app.db, &scope, &r.tenant, h.building_id).await?;
                Some(HouseRef {
                    id: h.id,
                    building_id: h.building_id,
                    number: h.number,
                    address: b.map(|b| b.address).unwrap_or_default(),
                })
            }
            None => None,
        },
        None => None,
    };
    let events = repo::events_of(&app.db, &r.tenant, r.id)
        .await?
        .into_iter()
        .map(|e| EventView {
            label: LifeEvent::parse(&e.kind)
                .map(|k| k.label().to_string())
                .unwrap_or_default(),
            kind: e.kind,
            on_date: e.on_date,
            note: e.note,
            recorded_at: e.created_at.display_cst(),
        })
        .collect();
    let unit_name = crate::units::get(app, r.unit_id)
        .await?
        .map(|u| u.name)
        .unwrap_or_default();
    Ok(ResidentDetail {
        resident,
        unit_name,
        house,
        household,
        events,
    })
}

/// Open a resident's ID number and phone for `p`, and record why in the audit trail (the
/// values never enter it). Every path that shows full values goes through here.
async fn reveal(
    app: &App,
    p: &Principal,
    r: &ResidentRow,
    action: &str,
    why: &str,
) -> Result<(String, String)> {
    let id_number = app.keys.open(RESIDENT_ID_NUMBER, r.id, &r.id_number)?;
    let phone = match &r.phone {
        Some(b) => app.keys.open(RESIDENT_PHONE, r.id, b)?,
        None => String::new(),
    };
    super::audit_reveal(app, p, action, "resident", r.id, why).await?;
    Ok((id_number, phone))
}

/// The full name, ID number and phone, for a holder of `registry.unmask` over the resident's
/// unit who states why; each unmasking is audited with the reason.
pub async fn unmask(app: &App, p: &Principal, id: Uuid, why: &str) -> Result<Unmasked> {
    let why = reason(why)?;
    let r = load(app, p, Permission::RegistryUnmask, id).await?;
    let (id_number, phone) = reveal(app, p, &r, "resident.unmask", &why).await?;
    Ok(Unmasked {
        name: r.name,
        id_number,
        phone,
    })
}

/// A life-cycle event (迁入/迁出/出生/死亡…): kept in the history, and the status follows it.
pub async fn record_event(
    app: &App,
    p: &Principal,
    id: Uuid,
    kind: &str,
    on_date: &str,
    note: &str,
    version: i64,
) -> Result<ResidentView> {
    let kind = LifeEvent::parse(kind)
        .filter(|k| !matches!(k, LifeEvent::Anonymised | LifeEvent::Registered))
        .ok_or_else(|| {
            AppError::invalid(
                "invalid_event",
                "事件类型应为 迁入、迁出、出生、死亡 或 更正",
            )
        })?;
    let on = Date::parse(
        on_date.trim(),
        &time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| AppError::invalid("invalid_date", "日期格式应为 YYYY-MM-DD"))?;
    if on > today(app) {
        return Err(AppError::invalid("date_in_future", "日期不能晚于今天"));
    }
    let note = text_field(note, "说明", 500, false)?;
    let mut r = load(app, p, Permission::RegistryWrite, id).await?;
    if r.status == ResidentStatus::Anonymised.key() {
        return Err(AppError::Refused {
            key: "anonymised",
            message: "该记录已匿名化，不能再登记事件".into(),
        });
    }
    let now = app.now();
    if let Some(s) = kind.status_after() {
        r.status = s.key().into();
    }
    r.updated_at = now;
    r.version = version + 1;
    let ev = event(
        (&r.tenant, r.id),
        kind,
        on.to_string(),
        note,
        Some(p.user_id),
        now,
    );
    write_tx!(app, |tx| {
        if !repo::update_resident(&mut tx, &r, version).await? {
            return Err(AppError::Stale);
        }
        repo::insert_events(&mut tx, std::slice::from_ref(&ev)).await?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("resident.event", "resident", r.id)
                .detail(serde_json::json!({"kind": kind.key()})),
        )
        .await?;
    })?;
    let book = TagBook::load(app).await?;
    view_of(app, p, &r, &book).await
}

/// A correction (更正): name, phone, residency, tags. The ID number is corrected by
/// registering the right one and recording the wrong one's 更正 event, never silently.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct Correction {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub residency: Option<String>,
    pub tags: Option<Vec<String>>,
    pub reason: String,
    pub version: i64,
}

pub async fn correct(app: &App, p: &Principal, id: Uuid, c: Correction) -> Result<ResidentView> {
    let why = text_field(&c.reason, "更正理由", 200, true)?;
    let mut r = load(app, p, Permission::RegistryWrite, id).await?;
    if r.status == ResidentStatus::Anonymised.key() {
        return Err(AppError::Refused {
            key: "anonymised",
            message: "该记录已匿名化，不能更正".into(),
        });
    }
    let book = TagBook::load(app).await?;
    let mut fields = Vec::new();
    if let Some(n) = &c.name {
        r.name = text_field(n, "姓名", 50, true)?;
        fields.push("name");
    }
    if let Some(ph) = &c.phone {
        match ph.trim() {
            "" => {
                r.phone = None;
                r.phone_hash = None;
                r.phone_masked = String::new();
            }
            raw => {
                let d = pi::normalize_phone(raw)?;
                r.phone = Some(app.keys.seal(RESIDENT_PHONE, r.id, &d));
                r.phone_hash = Some(app.keys.index(&d));
                r.phone_masked = pi::mask_phone(&d);
            }
        }
        fields.push("phone");
    }
    if let Some(x) = &c.residency {
        r.residency = parse_keyed(x, Residency::ALL, Residency::key, Residency::label)
            .ok_or_else(|| AppError::invalid("invalid_residency", "人口类型无效"))?
            .key()
            .into();
        fields.push("residency");
    }
    let tags = match &c.tags {
        Some(list) => {
            let mut out = Vec::new();
            for t in list.iter().filter(|t| !t.trim().is_empty()) {
                let s = book.store(app, t).ok_or_else(|| {
                    AppError::invalid("unknown_tag", format!("标签“{}”不在标签目录中", t.trim()))
                })?;
                if !out.contains(&s) {
                    out.push(s);
                }
            }
            fields.push("tags");
            Some(out)
        }
        None => None,
    };
    let now = app.now();
    r.updated_at = now;
    r.version = c.version + 1;
    let note = format!("更正：{}", fields.join("、"));
    let ev = event(
        (&r.tenant, r.id),
        LifeEvent::Corrected,
        today(app).to_string(),
        note,
        Some(p.user_id),
        now,
    );
    write_tx!(app, |tx| {
        if !repo::update_resident(&mut tx, &r, c.version).await? {
            return Err(AppError::Stale);
        }
        if let Some(t) = &tags {
            repo::delete_tags(&mut tx, &r.tenant, r.id).await?;
            let rows: Vec<(Uuid, String)> = t.iter().map(|s| (r.id, s.clone())).collect();
            repo::insert_tags(&mut tx, &r.tenant, &rows).await?;
        }
        repo::insert_events(&mut tx, std::slice::from_ref(&ev)).await?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("resident.correct", "resident", r.id)
                .reason(&why)
                .detail(serde_json::json!({"fields": fields})),
        )
        .await?;
    })?;
    view_of(app, p, &r, &book).await
}

/// 查阅/复制 (PIPL Art. 45): the whole record of one person, unmasked, as a JSON document for
/// the person who asked. Needs `registry.rights`; audited with the reason.
pub async fn copy_record(
    app: &App,
    p: &Principal,
    id: Uuid,
    why: &str,
) -> Result<serde_json::Value> {
    let why = reason(why)?;
    p.require(Permission::RegistryRights)?;
    let r = load(app, p, Permission::RegistryRights, id).await?;
    let book = TagBook::load(app).await?;
    let tags: Vec<String> = repo::tags_of(&app.db, &r.tenant, &[r.id])
        .await?
        .iter()
        .filter_map(|(_, t)| book.read(t).map(|t| t.label.clone()))
        .collect();
    let events: Vec<serde_json::Value> = repo::events_of(&app.db, &r.tenant, r.id)
        .await?
        .into_iter()
        .map(|e| {
            serde_json::json!({
                "event": LifeEvent::parse(&e.kind).map(|k| k.label()).unwrap_or(""),
                "date": e.on_date,
                "note": e.note,
                "recorded_at": e.created_at.display_cst(),
            })
        })
        .collect();
    let unit = crate::units::get(app, r.unit_id)
        .await?
        .map(|u| u.name)
        .unwrap_or_default();
    let (id_number, phone) = reveal(app, p, &r, "resident.copy", &why).await?;
    let now = app.now();
    Ok(serde_json::json!({
        "title": "个人信息副本（依《个人信息保护法》第四十五条提供）",
        "produced_at": now.display_cst(),
        "name": r.name,
        "id_number": id_number,
        "sex": if r.sex == "male" { "男" } else { "女" },
        "birth_date": r.birth_date,
        "phone": phone,
        "residency": Residency::parse(&r.residency).map(|x| x.label()).unwrap_or(""),
        "relation": Relation::parse(&r.relation).map(|x| x.label()).unwrap_or(""),
        "status": ResidentStatus::parse(&r.status).map(|x| x.label()).unwrap_or(""),
        "grid": unit,
        "tags": tags,
        "history": events,
    }))
}

/// 删除 (PIPL Art. 47): anonymise a record whose retention has ended or whose person asked —
/// the name, ID number, phone and tags are removed for good; the history keeps its dates so the
/// population figures of the past stay true. Needs `registry.rights`; audited with the reason.
pub async fn anonymise(app: &App, p: &Principal, id: Uuid, why: &str, version: i64) -> Result<()> {
    let why = reason(why)?;
    let r = load(app, p, Permission::RegistryRights, id).await?;
    if !erase(app, p, r, &why, version).await? {
        return Err(AppError::Stale);
    }
    Ok(())
}

/// Anonymise one stored row if it is still at `version`, with its 匿名化 event and audit row in
/// the same transaction. False: the row changed meanwhile.
async fn erase(
    app: &App,
    actor: &Principal,
    mut r: ResidentRow,
    why: &str,
    version: i64,
) -> Result<bool> {
    let now = app.now();
    r.name = "（已匿名化）".into();
    r.id_number = app.keys.seal(RESIDENT_ID_NUMBER, r.id, "");
    // The blind index must stay unique and must not be the person's: a random one.
    r.id_hash = format!("anonymised:{}", Uuid::now_v7().simple());
    r.id_masked = "******************".into();
    r.phone = None;
    r.phone_hash = None;
    r.phone_masked = String::new();
    r.status = ResidentStatus::Anonymised.key().into();
    r.updated_at = now;
    r.version = version + 1;
    let ev = event(
        (&r.tenant, r.id),
        LifeEvent::Anonymised,
        today(app).to_string(),
        String::new(),
        Some(actor.user_id).filter(|u| !u.is_nil()),
        now,
    );
    let done = write_tx!(app, |tx| {
        if !repo::update_resident(&mut tx, &r, version).await? {
            return Ok(false);
        }
        repo::delete_tags(&mut tx, &r.tenant, r.id).await?;
        repo::insert_events(&mut tx, std::slice::from_ref(&ev)).await?;
        record(
            &mut tx,
            now,
            actor.into(),
            Event::ok("resident.anonymise", "resident", r.id).reason(why),
        )
        .await?;
        true
    })?;
    Ok(done)
}

/// The retention rule: residents who moved out or died, and whose record has not changed for
/// `years`, are anonymised (at most `batch` per call; the sweeper calls it every round).
/// Returns how many were. `years` 0 keeps records for ever.
pub async fn sweep_retention(app: &App, sys: &Principal, years: i64, batch: i64) -> Result<usize> {
    if years <= 0 {
        return Ok(0);
    }
    let before = app.now().plus_secs(-years * 365 * 86_400);
    let why = format!("保存期限届满：迁出或死亡后 {years} 年未再变更（自动匿名化）");
    let mut done = 0;
    for r in repo::past_retention(&app.db, before, batch).await? {
        let version = r.version;
        if erase(app, sys, r, &why, version).await? {
            done += 1;
        }
    }
    Ok(done)
}
