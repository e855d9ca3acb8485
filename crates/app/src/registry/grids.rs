//! Grid polygons (网格边界): imported from GeoJSON, validated ([`linli_gis::parse`]), checked
//! against their siblings for overlaps and gaps, stored as GeoJSON text with a bounding box,
//! and held in memory in an R-tree so that a WGS84 point resolves to its grid, community and
//! street in microseconds.
//!
//! The index is rebuilt after an import on this server and, on every server, when the
//! polygons' stamp (count and newest change) moves ([`refresh`], run periodically by `serve`).

use std::sync::{Arc, RwLock};

use linli_domain::auth::Permission;
use linli_domain::geo::Datum;
use linli_domain::org::OrgKind;
use linli_gis::{GridIndex, GridShape};
use linli_store::repo::org::OrgUnit;
use linli_store::repo::registry::{self as repo, ShapeRow};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{Event, record};
use crate::{App, AppError, Principal, Result};

/// What a point resolves to.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GridRef {
    pub tenant: String,
    pub grid_id: Uuid,
    pub grid_code: String,
    pub grid_name: String,
    pub path: String,
    pub community_id: Option<Uuid>,
    pub street_id: Option<Uuid>,
}

struct Loaded {
    index: GridIndex<GridRef>,
    stamp: (i64, i64),
}

/// The process's grid index.
#[derive(Default)]
pub struct Grids(RwLock<Option<Arc<Loaded>>>);

impl Grids {
    fn get(&self) -> Option<Arc<Loaded>> {
        match self.0.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn set(&self, l: Loaded) {
        let l = Some(Arc::new(l));
        match self.0.write() {
            Ok(mut w) => *w = l,
            Err(p) => *p.into_inner() = l,
        }
    }

    /// The grid a WGS84 point lies in (longitude first, as in GeoJSON).
    pub fn locate(&self, lng: f64, lat: f64) -> Option<GridRef> {
        self.get()?.index.locate(lng, lat).cloned()
    }

    pub fn len(&self) -> usize {
        self.get().map(|l| l.index.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn e6(v: f64) -> i64 {
    (v * 1e6).round() as i64
}

/// Rebuild the index from the stored polygons. Returns the number of grids in it.
pub async fn load(app: &App) -> Result<usize> {
    let stamp = repo::shapes_stamp(&app.db).await?;
    let shapes = repo::all_shapes_system(&app.db).await?;
    let mut entries = Vec::with_capacity(shapes.len());
    for s in &shapes {
        let Some(unit) = crate::units::get(app, s.unit_id)
            .await?
            .filter(|u| u.active)
        else {
            continue;
        };
        let poly = match linli_gis::geometry_from_geojson(&s.geojson) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(grid = %unit.code, error = %e.key(), "stored grid polygon unreadable");
                continue;
            }
        };
        let community = crate::units::ancestors(app, &unit)
            .await?
            .into_iter()
            .filter(|a| matches!(a.kind, OrgKind::Community | OrgKind::Street))
            .collect::<Vec<_>>();
        entries.push((
            GridRef {
                tenant: unit.tenant.clone(),
                grid_id: unit.id,
                grid_code: unit.code.clone(),
                grid_name: unit.name.clone(),
                path: unit.path.clone(),
                community_id: community
                    .iter()
                    .find(|a| a.kind == OrgKind::Community)
                    .map(|a| a.id),
                street_id: community
                    .iter()
                    .find(|a| a.kind == OrgKind::Street)
                    .map(|a| a.id),
            },
            poly,
        ));
    }
    // Lowest code first: a point on a shared edge goes to the lower-coded grid.
    entries.sort_by(|a, b| a.0.grid_code.cmp(&b.0.grid_code));
    let n = entries.len();
    app.grids.set(Loaded {
        index: GridIndex::new(entries),
        stamp,
    });
    Ok(n)
}

/// Reload when another server changed the polygons.
pub async fn refresh(app: &App) -> Result<bool> {
    let stamp = repo::shapes_stamp(&app.db).await?;
    if app.grids.get().is_some_and(|l| l.stamp == stamp) {
        return Ok(false);
    }
    load(app).await?;
    Ok(true)
}

/// A point as a phone map SDK gives it, converted to WGS84 at the edge.
pub fn to_wgs84(lat: f64, lng: f64, datum: &str) -> Result<(f64, f64)> {
    let d = Datum::parse(datum)
        .ok_or_else(|| AppError::invalid("invalid_datum", "坐标系应为 wgs84、gcj02 或 bd09"))?;
    if !(lat.is_finite()
        && lng.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lng))
    {
        return Err(AppError::invalid("invalid_point", "经纬度超出范围"));
    }
    Ok(linli_domain::geo::to_wgs84(d, lat, lng))
}

/// The outcome of an import: what was stored, and what the sibling check found.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub stored: usize,
    pub findings: Vec<FindingView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FindingView {
    pub key: String,
    pub message: String,
    pub codes: Vec<String>,
    pub area_m2: f64,
}

/// Problems that stop an import, one per feature and rule.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProblemView {
    pub index: usize,
    pub code: Option<String>,
    pub key: String,
    pub message: String,
}

/// Store the polygons of a GeoJSON FeatureCollection whose features name grids by code
/// (`properties.code`). Every feature must be valid and name a grid the caller manages, or
/// nothing is stored; overlaps and gaps between sibling grids are reported, not refused.
pub async fn import(
    app: &App,
    p: &Principal,
    text: &str,
) -> std::result::Result<ImportReport, ImportError> {
    p.require(Permission::GridManage)?;
    let shapes = linli_gis::parse(text).map_err(|ps| {
        ImportError::Problems(
            ps.into_iter()
                .map(|p| ProblemView {
                    index: p.index,
                    code: p.code,
                    key: p.key.to_string(),
                    message: p.message,
                })
                .collect(),
        )
    })?;
    let mut units: Vec<(GridShape, OrgUnit)> = Vec::with_capacity(shapes.len());
    let mut problems = Vec::new();
    for (i, s) in shapes.into_iter().enumerate() {
        let unit = linli_store::repo::org::get_by_code(&app.db, &s.code).await?;
        match unit {
            Some(u) if u.kind == OrgKind::Grid && u.active => {
                if p.require_on(Permission::GridManage, &u, "网格").is_err() {
                    problems.push(problem(
                        i,
                        &s.code,
                        "grid_out_of_scope",
                        "不在您可维护的范围内",
                    ));
                } else {
                    units.push((s, u));
                }
            }
            _ => problems.push(problem(i, &s.code, "grid_unknown", "不是已登记的网格编码")),
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Problems(problems));
    }
    let now = app.now();
    let rows: Vec<ShapeRow> = units
        .iter()
        .map(|(s, u)| ShapeRow {
            tenant: u.tenant.clone(),
            unit_id: u.id,
            geojson: s.to_geojson(),
            bbox_e6: (e6(s.bbox.0), e6(s.bbox.1), e6(s.bbox.2), e6(s.bbox.3)),
            area_m2: linli_gis::area::area_m2(&s.polygon).round() as i64,
            updated_at: now,
            version: 1,
        })
        .collect();
    let findings = sibling_findings(app, &units).await?;
    let n = rows.len();
    write_tx!(app, |tx| {
        for r in &rows {
            repo::put_shape(&mut tx, r).await?;
        }
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("grid.import", "grid_shapes", n)
                .detail(serde_json::json!({"grids": n, "findings": findings.len()})),
        )
        .await?;
    })?;
    load(app).await?;
    Ok(ImportReport {
        stored: n,
        findings,
    })
}

fn problem(i: usize, code: &str, key: &str, what: &str) -> ProblemView {
    ProblemView {
        index: i,
        code: Some(code.to_string()),
        key: key.to_string(),
        message: format!("第 {} 个要素（{code}）{what}", i + 1),
    }
}

/// Overlaps and gaps among the imported grids and their stored siblings, per community.
async fn sibling_findings(app: &App, units: &[(GridShape, OrgUnit)]) -> Result<Vec<FindingView>> {
    let mut parents: Vec<Uuid> = units.iter().filter_map(|(_, u)| u.parent_id).collect();
    parents.sort();
    parents.dedup();
    let mut out = Vec::new();
    for parent in parents {
        let mut siblings: Vec<GridShape> = units
            .iter()
            .filter(|(_, u)| u.parent_id == Some(parent))
            .map(|(s, _)| s.clone())
            .collect();
        // Stored siblings not in this file take part too.
        let all = linli_domain::auth::ScopeFilter::everything();
        for c in linli_store::repo::org::children(&app.db, parent, &all).await? {
            let child = c.unit;
            if child.kind != OrgKind::Grid || siblings.iter().any(|s| s.code == child.code) {
                continue;
            }
            if let Some(row) = repo::shape_of(&app.db, &child.tenant, child.id).await?
                && let Ok(s) = GridShape::from_geojson_geometry(
                    &child.code,
                    Some(child.name.clone()),
                    &row.geojson,
                )
            {
                siblings.push(s);
            }
        }
        for f in linli_gis::siblings(None, &siblings) {
            out.push(FindingView {
                key: f.key.to_string(),
                message: f.message,
                codes: f.codes,
                area_m2: f.area_m2,
            });
        }
    }
    Ok(out)
}

#[derive(Debug)]
pub enum ImportError {
    /// The file is refused: each problem with its feature.
    Problems(Vec<ProblemView>),
    Other(AppError),
}

impl From<AppError> for ImportError {
    fn from(e: AppError) -> Self {
        ImportError::Other(e)
    }
}

impl From<linli_store::StoreError> for ImportError {
    fn from(e: linli_store::StoreError) -> Self {
        ImportError::Other(e.into())
    }
}

/// One grid's polygon for the map: a GeoJSON Feature with name, code and resident count.
pub async fn features(app: &App, p: &Principal, tenant: &str) -> Result<serde_json::Value> {
    p.require(Permission::RegistryRead)?;
    let scope = p.authz.filter(Permission::RegistryRead);
    let counts: std::collections::HashMap<Uuid, i64> =
        repo::residents_per_unit(&app.db, &scope, tenant)
            .await?
            .into_iter()
            .collect();
    let mut feats = Vec::new();
    for s in repo::all_shapes_system(&app.db).await? {
        if s.tenant != tenant {
            continue;
        }
        let Some(u) = crate::units::get(app, s.unit_id).await? else {
            continue;
        };
        if !p.authz.allows(
            Permission::RegistryRead,
            linli_domain::auth::Target {
                unit_id: u.id,
                unit_path: &u.path,
                owner: None,
            },
        ) {
            continue;
        }
        let geometry: serde_json::Value =
            serde_json::from_str(&s.geojson).unwrap_or(serde_json::Value::Null);
        feats.push(serde_json::json!({
            "type": "Feature",
            "properties": {
                "id": u.id,
                "code": u.code,
                "name": u.name,
                "residents": counts.get(&u.id).copied().unwrap_or(0),
                "area_m2": s.area_m2,
            },
            "geometry": geometry,
        }));
    }
    Ok(serde_json::json!({"type": "FeatureCollection", "features": feats}))
}
