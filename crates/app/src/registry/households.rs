//! Households (户): the household page — its head and members (masked, through the resident
//! views), its house and building, and its history (the life-cycle events of its members) —
//! and the households of a unit or a building.
//!
//! A household carries the unit path of its grid like every registry row; one outside the
//! reader's `registry.read` scope is "not found". Members are read within the same scope, so
//! a member registered in a grid the reader does not see is left out rather than shown.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use linli_domain::auth::Permission;
use linli_domain::org::tenant_of_path;
use linli_domain::registry::{HouseholdKind, LifeEvent, Relation, ResidentStatus};
use linli_store::repo::registry::{self as repo, HouseholdRow, ResidentRow};
use linli_store::repo::registry_things::{self as things, HouseholdQuery};
use serde::Serialize;
use uuid::Uuid;

use super::residents::{HouseRef, ResidentView, views_of};
use super::{MAX_PAGE, TagBook};
use crate::{App, AppError, Principal, Result, pi};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HouseholdView {
    pub id: Uuid,
    /// `family` 家庭户 or `collective` 集体户.
    pub kind: String,
    pub kind_label: String,
    pub unit_id: Uuid,
    pub house_id: Option<Uuid>,
    pub registered_at: String,
    pub version: i64,
}

fn view(h: &HouseholdRow) -> HouseholdView {
    HouseholdView {
        id: h.id,
        kind: h.kind.clone(),
        kind_label: HouseholdKind::parse(&h.kind)
            .map(|k| k.label().to_string())
            .unwrap_or_default(),
        unit_id: h.unit_id,
        house_id: h.house_id,
        registered_at: h.created_at.display_cst(),
        version: h.version,
    }
}

/// One line of a household's history: which member, what happened, when.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HouseholdEvent {
    pub resident_id: Uuid,
    /// Masked (`张*`).
    pub name: String,
    pub kind: String,
    pub label: String,
    pub on_date: String,
    pub note: String,
    pub recorded_at: String,
}

/// The household page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HouseholdDetail {
    pub household: HouseholdView,
    pub unit_name: String,
    pub house: Option<HouseRef>,
    pub building_name: String,
    /// The member whose relation is 户主, if registered and in scope.
    pub head: Option<ResidentView>,
    /// Every member in scope, the head first, then active members, then those moved out or
    /// deceased.
    pub members: Vec<ResidentView>,
    pub history: Vec<HouseholdEvent>,
}

/// Members in page order: the head first, active before the others, then by registration.
fn order(members: &mut [ResidentView]) {
    let head = Relation::Head.label();
    members.sort_by_key(|m| {
        (
            m.relation != head,
            m.status != ResidentStatus::Active.key(),
            m.id,
        )
    });
}

/// A building's (address, name) by id, read once per page.
type Buildings = HashMap<Uuid, (String, String)>;

/// A house and its building's address and name, if the house is known.
async fn house_ref(
    app: &App,
    p: &Principal,
    tenant: &str,
    house_id: Option<Uuid>,
    seen: &mut Buildings,
) -> Result<(Option<HouseRef>, String)> {
    let Some(hid) = house_id else {
        return Ok((None, String::new()));
    };
    let Some(h) = repo::house(&app.db, tenant, hid).await? else {
        return Ok((None, String::new()));
    };
    if let Entry::Vacant(slot) = seen.entry(h.building_id) {
        let b = repo::building(
            &app.db,
            &p.authz.filter(Permission::RegistryRead),
            tenant,
            h.building_id,
        )
        .await?;
        slot.insert(b.map(|b| (b.address, b.name)).unwrap_or_default());
    }
    let (address, name) = seen.get(&h.building_id).cloned().unwrap_or_default();
    Ok((
        Some(HouseRef {
            id: h.id,
            building_id: h.building_id,
            number: h.number,
            address,
        }),
        name,
    ))
}

/// Households need `registry.read` and, for a department's token, the `household` field.
fn readable(p: &Principal) -> Result<()> {
    p.require(Permission::RegistryRead)?;
    if !p.reads(linli_domain::registry::ResidentField::Household) {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

pub async fn get(app: &App, p: &Principal, id: Uuid) -> Result<HouseholdDetail> {
    readable(p)?;
    let scope = p.authz.filter(Permission::RegistryRead);
    let tenant = tenant_of_path(&p.unit_path);
    let h = things::household_in_scope(&app.db, &scope, &tenant, id)
        .await?
        .ok_or(AppError::NotFound("户"))?;
    let rows = things::members_of_households(&app.db, &scope, &h.tenant, &[h.id]).await?;
    let book = TagBook::load(app).await?;
    let mut members = views_of(app, p, &rows, &book).await?;
    order(&mut members);
    let head = members
        .iter()
        .find(|m| m.relation == Relation::Head.label())
        .cloned();
    let mut history = Vec::new();
    for r in &rows {
        for e in repo::events_of(&app.db, &h.tenant, r.id).await? {
            history.push((
                e.created_at,
                HouseholdEvent {
                    resident_id: r.id,
                    name: pi::mask_name(&r.name),
                    label: LifeEvent::parse(&e.kind)
                        .map(|k| k.label().to_string())
                        .unwrap_or_default(),
                    kind: e.kind,
                    on_date: e.on_date,
                    note: e.note,
                    recorded_at: e.created_at.display_cst(),
                },
            ));
        }
    }
    history.sort_by(|a, b| (a.0, &a.1.on_date).cmp(&(b.0, &b.1.on_date)));
    let (house, building_name) =
        house_ref(app, p, &h.tenant, h.house_id, &mut Buildings::new()).await?;
    let unit_name = crate::units::get(app, h.unit_id)
        .await?
        .map(|u| u.name)
        .unwrap_or_default();
    Ok(HouseholdDetail {
        household: view(&h),
        unit_name,
        house,
        building_name,
        head,
        members,
        history: history.into_iter().map(|(_, e)| e).collect(),
    })
}

#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct HouseholdFilter {
    /// Only under this unit (street, community or grid).
    pub unit: Option<Uuid>,
    /// Only the households in this building's houses.
    pub building: Option<Uuid>,
    /// 户号 or address: the house number (房号), building name or building address starts
    /// with this (at most 50 characters).
    pub q: Option<String>,
    pub before: Option<Uuid>,
    pub limit: Option<i64>,
}

/// One household in a list: where it lives, its head (masked) and how many members are active.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HouseholdItem {
    pub household: HouseholdView,
    pub house: Option<HouseRef>,
    /// The building the house is in, by name (empty when unknown or out of sight).
    pub building_name: String,
    /// Masked, or empty when no head is registered.
    pub head_name: String,
    pub members: usize,
}

pub async fn list(
    app: &App,
    p: &Principal,
    f: &HouseholdFilter,
) -> Result<(Vec<HouseholdItem>, Option<Uuid>)> {
    readable(p)?;
    let (tenant, unit) = super::list_range(app, p, f.unit).await?;
    let scope = p.authz.filter(Permission::RegistryRead);
    if let Some(b) = f.building {
        repo::building(&app.db, &scope, &tenant, b)
            .await?
            .ok_or(AppError::NotFound("楼栋"))?;
    }
    let limit = f.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let rows = things::list_households(
        &app.db,
        &scope,
        &HouseholdQuery {
            tenant: tenant.clone(),
            under: unit.map(|u| u.path),
            building_id: f.building,
            place_prefix: f
                .q
                .as_deref()
                .map(|s| s.trim().chars().take(50).collect::<String>())
                .filter(|s| !s.is_empty()),
            before: f.before,
            limit,
        },
    )
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|h| h.id).collect();
    let members = things::members_of_households(&app.db, &scope, &tenant, &ids).await?;
    let mut by_household: HashMap<Uuid, Vec<&ResidentRow>> = HashMap::new();
    for m in &members {
        if let Some(h) = m.household_id {
            by_household.entry(h).or_default().push(m);
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    let mut seen = Buildings::new();
    for h in &rows {
        let mine = by_household.get(&h.id).map(Vec::as_slice).unwrap_or(&[]);
        let active: Vec<&&ResidentRow> = mine
            .iter()
            .filter(|m| m.status == ResidentStatus::Active.key())
            .collect();
        let head_name = active
            .iter()
            .find(|m| m.relation == Relation::Head.key())
            .map(|m| pi::mask_name(&m.name))
            .unwrap_or_default();
        let (house, building_name) = house_ref(app, p, &tenant, h.house_id, &mut seen).await?;
        out.push(HouseholdItem {
            household: view(h),
            house,
            building_name,
            head_name,
            members: active.len(),
        });
    }
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    Ok((out, next))
}
