//! The demo district's registry: grid polygons cut from 东城区's real boundary, and generated but
//! realistic buildings, houses, households, residents (valid ID numbers), organisations and
//! components ([`linli_domain::registry_demo`]), stored through the same sealing as real data.
//!
//! The boundary comes from `../shared/data/geo/beijing_districts.geojson` (or the file named by
//! `LINLI_DEMO_BOUNDARIES`); without it the registry loads without polygons or coordinates.
//! Loads once: a district that has residents is left alone.

use std::collections::HashMap;
use std::path::PathBuf;

use linli_domain::Ts;
use linli_domain::auth::ScopeFilter;
use linli_domain::org::OrgKind;
use linli_domain::registry::{LifeEvent, OrganisationKind, Residency};
use linli_domain::registry_demo::{DemoConfig, DemoGrid, SplitMix64, generate};
use linli_gis::{GridIndex, MultiPolygon};
use linli_store::repo::org::{self as org_repo, OrgUnit};
use linli_store::repo::registry::{
    self as repo, BuildingRow, ComponentRow, EntranceRow, EventRow, HouseRow, HouseholdRow,
    OrganisationRow, ResidentRow, ShapeRow,
};
use uuid::Uuid;

use super::residents::{Person, event, seal};
use super::{ORGANISATION_PHONE, TagBook, today};
use crate::{App, AppError, Result, pi};

const DISTRICT: &str = "110101";
const SEED: u64 = 2026;

/// Where the district boundaries are looked for.
fn boundary_file(configured: &str) -> Option<PathBuf> {
    if !configured.is_empty() {
        return Some(PathBuf::from(configured));
    }
    if let Ok(p) = std::env::var("LINLI_DEMO_BOUNDARIES")
        && !p.is_empty()
    {
        return Some(PathBuf::from(p));
    }
    [
        "../shared/data/geo/beijing_districts.geojson",
        "shared/data/geo/beijing_districts.geojson",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// A deterministic point inside cell `i` of `index` (rejection sampling in its bounding box).
fn point_in(
    index: &GridIndex<usize>,
    cell: &MultiPolygon<f64>,
    i: usize,
    rng: &mut SplitMix64,
) -> Option<(f64, f64)> {
    let (x0, y0, x1, y1) = linli_gis::parse::bbox(cell)?;
    for _ in 0..200 {
        let x = x0 + (x1 - x0) * rng.unit();
        let y = y0 + (y1 - y0) * rng.unit();
        if index.locate(x, y) == Some(&i) {
            return Some((x, y));
        }
    }
    None
}

fn e6(v: f64) -> i64 {
    (v * 1e6).round() as i64
}

/// Load the demo registry if the district has none. Returns the number of residents made.
pub async fn load(app: &App, scale: f64) -> Result<usize> {
    if repo::has_residents(&app.db, DISTRICT).await? {
        return Ok(0);
    }
    let district = org_repo::get_by_code(&app.db, DISTRICT)
        .await?
        .ok_or(AppError::NotFound("演示区"))?;
    let all = ScopeFilter::everything();
    let units = org_repo::list(
        &app.db,
        &all,
        &org_repo::ListQuery {
            under: Some(district.path.clone()),
            limit: 100_000,
            ..Default::default()
        },
    )
    .await?;
    let by_id: HashMap<Uuid, &OrgUnit> = units.iter().map(|u| (u.id, u)).collect();
    let mut grids: Vec<&OrgUnit> = units.iter().filter(|u| u.kind == OrgKind::Grid).collect();
    grids.sort_by(|a, b| a.code.cmp(&b.code));
    let parent = |u: &OrgUnit| u.parent_id.and_then(|p| by_id.get(&p).copied());
    let demo_grids: Vec<DemoGrid> = grids
        .iter()
        .map(|g| {
            let community = parent(g);
            let street = community.and_then(parent);
            DemoGrid::new(
                g.code.clone(),
                street.map(|s| s.name.clone()).unwrap_or_default(),
                community.map(|c| c.name.clone()).unwrap_or_default(),
            )
        })
        .collect();
    let now = app.now();
    let today = today(app);

    // Polygons: the district cut into one cell per grid, a community's grids side by side.
    let mut cells: HashMap<String, MultiPolygon<f64>> = HashMap::new();
    if let Some(file) = boundary_file(&app.cfg.demo_boundaries) {
        match linli_gis::district_from_file(&file, DISTRICT) {
            Ok(boundary) => {
                let mut groups: Vec<(String, usize)> = Vec::new();
                for g in &grids {
                    let c = parent(g).map(|c| c.code.clone()).unwrap_or_default();
                    match groups.last_mut() {
                        Some((code, n)) if *code == c => *n += 1,
                        _ => groups.push((c, 1)),
                    }
                }
                let mut per_group: HashMap<String, Vec<&OrgUnit>> = HashMap::new();
                for g in &grids {
                    let c = parent(g).map(|c| c.code.clone()).unwrap_or_default();
                    per_group.entry(c).or_default().push(g);
                }
                for (community, ordinal, poly) in linli_gis::partition(&boundary, &groups) {
                    if let Some(g) = per_group.get(&community).and_then(|v| v.get(ordinal - 1)) {
                        cells.insert(g.code.clone(), poly);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e.key(), "demo boundaries unreadable; no polygons"),
        }
    } else {
        tracing::warn!(
            "demo boundaries not found (../shared/data/geo); the registry loads without polygons"
        );
    }
    let ordered: Vec<(usize, &MultiPolygon<f64>)> = grids
        .iter()
        .enumerate()
        .filter_map(|(i, g)| cells.get(&g.code).map(|c| (i, c)))
        .collect();
    let index = GridIndex::new(ordered.iter().map(|(i, c)| (*i, (*c).clone())));
    let grid_index: HashMap<&str, usize> = grids
        .iter()
        .enumerate()
        .map(|(i, g)| (g.code.as_str(), i))
        .collect();
    let mut rng = SplitMix64::new(SEED ^ 0x9e37);
    let mut place = |code: &str| -> (Option<i64>, Option<i64>) {
        let Some(i) = grid_index.get(code).copied() else {
            return (None, None);
        };
        match cells
            .get(code)
            .and_then(|c| point_in(&index, c, i, &mut rng))
        {
            Some((x, y)) => (Some(e6(y)), Some(e6(x))),
            None => (None, None),
        }
    };

    let reg = generate(
        &demo_grids,
        DemoConfig {
            seed: SEED,
            scale,
            today,
        },
    );
    let book = TagBook::load(app).await?;
    let unit_of: HashMap<&str, &OrgUnit> = grids.iter().map(|g| (g.code.as_str(), *g)).collect();
    let mut shapes = Vec::new();
    for g in &grids {
        if let Some(c) = cells.get(&g.code)
            && let Some(b) = linli_gis::parse::bbox(c)
        {
            shapes.push(ShapeRow {
                tenant: g.tenant.clone(),
                unit_id: g.id,
                geojson: linli_gis::geometry_to_geojson(c),
                bbox_e6: (e6(b.0), e6(b.1), e6(b.2), e6(b.3)),
                area_m2: linli_gis::area::area_m2(c).round() as i64,
                updated_at: now,
                version: 1,
            });
        }
    }
    let (mut buildings, mut entrances, mut houses, mut households) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut residents, mut tags, mut events) = (Vec::new(), Vec::new(), Vec::new());
    for b in &reg.buildings {
        let Some(unit) = unit_of.get(b.grid_code.as_str()) else {
            continue;
        };
        let (lat, lng) = place(&b.grid_code);
        let bid = Uuid::now_v7();
        buildings.push(BuildingRow {
            tenant: unit.tenant.clone(),
            id: bid,
            unit_id: unit.id,
            unit_path: unit.path.clone(),
            name: b.name.clone(),
            address: b.address.clone(),
            kind: b.kind.key().into(),
            floors: i64::from(b.floors),
            build_year: Some(i64::from(b.build_year)),
            lat_e6: lat,
            lng_e6: lng,
            created_at: now,
            updated_at: now,
            version: 1,
        });
        for (ei, e) in b.entrances.iter().enumerate() {
            let eid = Uuid::now_v7();
            entrances.push(EntranceRow {
                tenant: unit.tenant.clone(),
                id: eid,
                building_id: bid,
                name: e.name.clone(),
                sort: ei as i64,
            });
            for h in &e.houses {
                let hid = Uuid::now_v7();
                houses.push(HouseRow {
                    tenant: unit.tenant.clone(),
                    id: hid,
                    building_id: bid,
                    entrance_id: Some(eid),
                    unit_id: unit.id,
                    unit_path: unit.path.clone(),
                    number: h.number.clone(),
                    floor: i64::from(h.floor),
                    area_m2_x100: (h.area_m2 * 100.0).round() as i64,
                    house_use: h.use_.key().into(),
                    created_at: now,
                    updated_at: now,
                    version: 1,
                });
                let Some(hh) = &h.household else { continue };
                let hhid = Uuid::now_v7();
                households.push(HouseholdRow {
                    tenant: unit.tenant.clone(),
                    id: hhid,
                    house_id: Some(hid),
                    unit_id: unit.id,
                    unit_path: unit.path.clone(),
                    kind: hh.kind.key().into(),
                    created_at: now,
                    updated_at: now,
                    version: 1,
                });
                for m in &hh.members {
                    let rid = Uuid::now_v7();
                    let person = Person {
                        name: m.name.clone(),
                        id_number: m.id_number.clone(),
                        phone: m.phone.clone(),
                        residency: m.residency,
                        relation: m.relation_to_head,
                        tags: m.tags.iter().filter_map(|t| book.store(app, t)).collect(),
                        warnings: Vec::new(),
                    };
                    residents.push(seal(app, rid, unit, &person, Some(hid), Some(hhid), now));
                    tags.extend(person.tags.iter().map(|t| (rid, t.clone())));
                    let kind = if m.residency == Residency::Registered {
                        LifeEvent::Registered
                    } else {
                        LifeEvent::MovedIn
                    };
                    events.push(event(
                        (&unit.tenant, rid),
                        kind,
                        today.to_string(),
                        "演示数据".into(),
                        None,
                        now,
                    ));
                }
            }
        }
    }
    let organisations: Vec<OrganisationRow> = reg
        .organisations
        .iter()
        .filter_map(|o| {
            let unit = unit_of.get(o.grid_code.as_str())?;
            let id = Uuid::now_v7();
            let phone = pi::normalize_phone(&o.contact_phone).ok();
            Some(OrganisationRow {
                tenant: unit.tenant.clone(),
                id,
                kind: o.kind.key().into(),
                name: o.name.clone(),
                unit_id: unit.id,
                unit_path: unit.path.clone(),
                address: String::new(),
                contact_name: o.contact_name.clone(),
                phone_masked: phone.as_deref().map(pi::mask_phone).unwrap_or_default(),
                contact_phone: phone.map(|p| app.keys.seal(ORGANISATION_PHONE, id, &p)),
                member_count: o.member_count.map(i64::from),
                created_at: now,
                updated_at: now,
                version: 1,
            })
        })
        .collect();
    let components: Vec<ComponentRow> = reg
        .components
        .iter()
        .filter_map(|c| {
            let unit = unit_of.get(c.grid_code.as_str())?;
            let (lat, lng) = place(&c.grid_code);
            Some(ComponentRow {
                tenant: unit.tenant.clone(),
                id: Uuid::now_v7(),
                code: c.code.as_str().to_string(),
                class_code: c.class.class_code(),
                name: c.name.clone(),
                owner_id: None,
                state: c.state.key().into(),
                unit_id: unit.id,
                unit_path: unit.path.clone(),
                address: c.address.clone(),
                lat_e6: lat,
                lng_e6: lng,
                created_at: now,
                updated_at: now,
                version: 1,
            })
        })
        .collect();
    // Property companies and owners' committees serve the buildings of their grid (a few
    // each), so the organisation pages have buildings to list.
    let served: Vec<(Uuid, Uuid)> = organisations
        .iter()
        .filter(|o| {
            matches!(
                OrganisationKind::parse(&o.kind),
                Some(OrganisationKind::PropertyCompany | OrganisationKind::OwnersCommittee)
            )
        })
        .flat_map(|o| {
            buildings
                .iter()
                .filter(|b| b.unit_id == o.unit_id)
                .take(6)
                .map(|b| (o.id, b.id))
        })
        .collect();
    let n = residents.len();
    store(
        app,
        now,
        Rows {
            shapes,
            buildings,
            entrances,
            houses,
            households,
            residents,
            tags,
            events,
            organisations,
            served,
            components,
        },
    )
    .await?;
    super::grids::load(app).await?;
    Ok(n)
}

struct Rows {
    shapes: Vec<ShapeRow>,
    buildings: Vec<BuildingRow>,
    entrances: Vec<EntranceRow>,
    houses: Vec<HouseRow>,
    households: Vec<HouseholdRow>,
    residents: Vec<ResidentRow>,
    tags: Vec<(Uuid, String)>,
    events: Vec<EventRow>,
    organisations: Vec<OrganisationRow>,
    served: Vec<(Uuid, Uuid)>,
    components: Vec<ComponentRow>,
}

async fn store(app: &App, now: Ts, r: Rows) -> Result<()> {
    write_tx!(app, |tx| {
        for s in &r.shapes {
            repo::put_shape(&mut tx, s).await?;
        }
        repo::insert_buildings(&mut tx, &r.buildings).await?;
        repo::insert_entrances(&mut tx, &r.entrances).await?;
        repo::insert_houses(&mut tx, &r.houses).await?;
        repo::insert_households(&mut tx, &r.households).await?;
        repo::insert_residents(&mut tx, &r.residents).await?;
        repo::insert_tags(&mut tx, DISTRICT, &r.tags).await?;
        repo::insert_events(&mut tx, &r.events).await?;
        repo::insert_organisations(&mut tx, &r.organisations).await?;
        linli_store::repo::registry_things::insert_served_buildings(&mut tx, DISTRICT, &r.served)
            .await?;
        repo::insert_components(&mut tx, &r.components).await?;
        crate::audit::record(
            &mut tx,
            now,
            crate::audit::Actor {
                user_id: None,
                username: "system",
                unit_id: None,
                chain: DISTRICT.into(),
                ctx: &crate::Ctx::cli(),
            },
            crate::audit::Event::ok("demo.registry", "registry", DISTRICT).detail(
                serde_json::json!({"residents": r.residents.len(), "grids": r.shapes.len()}),
            ),
        )
        .await?;
    })?;
    Ok(())
}
