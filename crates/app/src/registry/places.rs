//! Places (地): buildings (楼栋) with their entrances (单元/楼门) and houses (房屋), each in a
//! grid; the building page lists its houses with who lives there (masked).

use linli_domain::auth::Permission;
use linli_domain::registry::{BuildingKind, HouseUse};
use linli_store::repo::registry::{self as repo, BuildingQuery, BuildingRow, ResidentQuery};
use serde::Serialize;
use uuid::Uuid;

use super::residents::ResidentView;
use super::{MAX_PAGE, TagBook};
use crate::{App, AppError, Principal, Result};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BuildingView {
    pub id: Uuid,
    pub unit_id: Uuid,
    pub name: String,
    pub address: String,
    pub kind: String,
    pub kind_label: String,
    pub floors: i64,
    pub build_year: Option<i64>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
}

pub(crate) fn view(b: BuildingRow) -> BuildingView {
    BuildingView {
        kind_label: BuildingKind::parse(&b.kind)
            .map(|k| k.label().to_string())
            .unwrap_or_default(),
        id: b.id,
        unit_id: b.unit_id,
        name: b.name,
        address: b.address,
        kind: b.kind,
        floors: b.floors,
        build_year: b.build_year,
        lat: b.lat_e6.map(|v| v as f64 / 1e6),
        lng: b.lng_e6.map(|v| v as f64 / 1e6),
    }
}

#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct BuildingFilter {
    pub unit: Option<Uuid>,
    /// Name or address contains.
    pub q: Option<String>,
    pub before: Option<Uuid>,
    pub limit: Option<i64>,
}

/// The name-or-address text filter, trimmed and bounded.
pub(super) fn contains(f: &BuildingFilter) -> Option<String> {
    f.q.as_deref()
        .map(|s| s.trim().chars().take(50).collect::<String>())
        .filter(|s| !s.is_empty())
}

pub async fn list(
    app: &App,
    p: &Principal,
    f: &BuildingFilter,
) -> Result<(Vec<BuildingView>, Option<Uuid>)> {
    p.require(Permission::RegistryRead)?;
    let (tenant, unit) = super::list_range(app, p, f.unit).await?;
    let under = unit.map(|u| u.path);
    let limit = f.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let rows = repo::list_buildings(
        &app.db,
        &p.authz.filter(Permission::RegistryRead),
        &BuildingQuery {
            tenant,
            under,
            q: contains(f),
            before: f.before,
            limit,
        },
    )
    .await?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    Ok((rows.into_iter().map(view).collect(), next))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HouseView {
    pub id: Uuid,
    pub entrance: String,
    pub number: String,
    pub floor: i64,
    pub area_m2: f64,
    pub house_use: String,
    pub residents: Vec<ResidentView>,
    /// The households living in the house (their pages are scoped like the building's).
    pub households: Vec<Uuid>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BuildingDetail {
    pub building: BuildingView,
    pub unit_name: String,
    pub houses: Vec<HouseView>,
    pub residents: usize,
}

/// The building page: its houses by entrance with their residents, masked.
pub async fn get(app: &App, p: &Principal, id: Uuid) -> Result<BuildingDetail> {
    p.require(Permission::RegistryRead)?;
    let scope = p.authz.filter(Permission::RegistryRead);
    let tenant = linli_domain::org::tenant_of_path(&p.unit_path);
    let b = repo::building(&app.db, &scope, &tenant, id)
        .await?
        .ok_or(AppError::NotFound("楼栋"))?;
    let entrances = repo::entrances_of(&app.db, &b.tenant, b.id).await?;
    let houses = repo::houses_of_building(&app.db, &b.tenant, b.id).await?;
    let book = TagBook::load(app).await?;
    let q = ResidentQuery {
        tenant: b.tenant.clone(),
        in_houses: houses.iter().map(|h| h.id).collect(),
        limit: 5000,
        ..Default::default()
    };
    let rows = if q.in_houses.is_empty() {
        Vec::new()
    } else {
        repo::list_residents(&app.db, &scope, &q).await?
    };
    let people = super::residents::views_of(app, p, &rows, &book).await?;
    let house_ids: Vec<Uuid> = houses.iter().map(|h| h.id).collect();
    let households =
        linli_store::repo::registry_things::households_in_houses(&app.db, &b.tenant, &house_ids)
            .await?;
    let total = people.len();
    let out = houses
        .into_iter()
        .map(|h| HouseView {
            id: h.id,
            entrance: entrances
                .iter()
                .find(|e| Some(e.id) == h.entrance_id)
                .map(|e| e.name.clone())
                .unwrap_or_default(),
            residents: people
                .iter()
                .filter(|r| r.house_id == Some(h.id))
                .cloned()
                .collect(),
            households: households
                .iter()
                .filter(|(house, _)| *house == h.id)
                .map(|(_, hh)| *hh)
                .collect(),
            number: h.number,
            floor: h.floor,
            area_m2: h.area_m2_x100 as f64 / 100.0,
            house_use: HouseUse::parse(&h.house_use)
                .map(|u| u.label().to_string())
                .unwrap_or_default(),
        })
        .collect();
    let unit_name = crate::units::get(app, b.unit_id)
        .await?
        .map(|u| u.name)
        .unwrap_or_default();
    Ok(BuildingDetail {
        building: view(b),
        unit_name,
        houses: out,
        residents: total,
    })
}
