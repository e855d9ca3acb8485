//! The base registry's rows (issue 4): grid polygons, buildings with entrances and houses,
//! households, residents with tags and life-cycle events, components and organisations.
//!
//! Every list takes a [`ScopeFilter`] over the row's `unit_path`/`unit_id` (the grid or
//! community it belongs to) and pages by id (keyset, newest first). Sealed values are opaque
//! bytes here; the application seals, opens and masks them.

use linli_domain::Ts;
use linli_domain::auth::ScopeFilter;
use uuid::Uuid;

use super::scope_sql;
use crate::args;
use crate::db::{Arg, Db, Engine, Params, Row, StoreError, Tx};

/// Most bound values per statement each engine allows: SQLite's `SQLITE_MAX_VARIABLE_NUMBER`
/// (32,766 since 3.32) and PostgreSQL's protocol limit (65,535). Fewer, larger statements are
/// what makes bulk imports fast on both.
fn max_params(engine: Engine) -> usize {
    match engine {
        Engine::Sqlite => 32_766,
        Engine::Postgres => 65_535,
    }
}

/// `INSERT INTO table (columns) VALUES ($1, …), …` for `n` rows of `width` values.
fn values_sql(table: &str, columns: &str, width: usize, n: usize) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(64 + table.len() + columns.len() + n * width * 8);
    let _ = write!(s, "INSERT INTO {table} ({columns}) VALUES ");
    let mut k = 1usize;
    for r in 0..n {
        s.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..width {
            if c > 0 {
                s.push_str(", ");
            }
            let _ = write!(s, "${k}");
            k += 1;
        }
        s.push(')');
    }
    s
}

/// Insert `rows` (each one value per column of `columns`): on PostgreSQL by one `COPY … FROM
/// STDIN`, on SQLite in as few statements as its parameter limit allows (every full statement
/// has the same text, so the prepared statement is reused).
pub async fn insert_rows(
    tx: &mut Tx,
    table: &str,
    columns: &str,
    rows: Vec<Vec<Arg>>,
) -> Result<(), StoreError> {
    let Some(width) = rows.first().map(Vec::len) else {
        return Ok(());
    };
    // PostgreSQL: COPY, no parameters and no statement to plan.
    if let Some(done) = tx.copy_in(table, columns, &rows).await {
        return done.map(|_| ());
    }
    let per = (max_params(tx.engine()) / width.max(1)).max(1);
    let mut full: Option<String> = None;
    let mut it = rows.into_iter().peekable();
    while it.peek().is_some() {
        let mut args = Vec::with_capacity(per.min(it.len()) * width);
        let mut n = 0;
        for row in it.by_ref().take(per) {
            args.extend(row);
            n += 1;
        }
        let sql = if n == per {
            full.get_or_insert_with(|| values_sql(table, columns, width, n))
                .clone()
        } else {
            values_sql(table, columns, width, n)
        };
        tx.execute(sql, args).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Grid polygons

#[derive(Debug, Clone)]
pub struct ShapeRow {
    pub tenant: String,
    pub unit_id: Uuid,
    pub geojson: String,
    /// (min_lng, min_lat, max_lng, max_lat) in micro-degrees.
    pub bbox_e6: (i64, i64, i64, i64),
    pub area_m2: i64,
    pub updated_at: Ts,
    pub version: i64,
}

const SHAPE_COLS: &str = "tenant, unit_id, geojson, min_lng_e6, min_lat_e6, max_lng_e6, \
                          max_lat_e6, area_m2, updated_at, version";

fn shape(r: Row<'_>) -> Result<ShapeRow, StoreError> {
    Ok(ShapeRow {
        tenant: r.text("tenant")?,
        unit_id: r.uuid("unit_id")?,
        geojson: r.text("geojson")?,
        bbox_e6: (
            r.i64("min_lng_e6")?,
            r.i64("min_lat_e6")?,
            r.i64("max_lng_e6")?,
            r.i64("max_lat_e6")?,
        ),
        area_m2: r.i64("area_m2")?,
        updated_at: r.ts("updated_at")?,
        version: r.i64("version")?,
    })
}

/// Replace a grid's polygon (a new one starts at version 1).
pub async fn put_shape(tx: &mut Tx, s: &ShapeRow) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM grid_shapes WHERE tenant = $1 AND unit_id = $2",
        args![s.tenant.clone(), s.unit_id],
    )
    .await?;
    tx.execute(
        format!("INSERT INTO grid_shapes ({SHAPE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
        args![
            s.tenant.clone(),
            s.unit_id,
            s.geojson.clone(),
            s.bbox_e6.0,
            s.bbox_e6.1,
            s.bbox_e6.2,
            s.bbox_e6.3,
            s.area_m2,
            s.updated_at.0,
            s.version
        ],
    )
    .await
    .map(|_| ())
}

/// Every grid polygon of every district, for the in-memory index (system).
pub async fn all_shapes_system(db: &Db) -> Result<Vec<ShapeRow>, StoreError> {
    db.fetch_all(
        format!("SELECT {SHAPE_COLS} FROM grid_shapes ORDER BY tenant, unit_id"),
        vec![],
        shape,
    )
    .await
}

/// The polygon of one grid, if it has one.
pub async fn shape_of(
    db: &Db,
    tenant: &str,
    unit_id: Uuid,
) -> Result<Option<ShapeRow>, StoreError> {
    db.fetch_optional(
        format!("SELECT {SHAPE_COLS} FROM grid_shapes WHERE tenant = $1 AND unit_id = $2"),
        args![tenant, unit_id],
        shape,
    )
    .await
}

/// The newest change to any polygon (the index reloads when it moves).
pub async fn shapes_stamp(db: &Db) -> Result<(i64, i64), StoreError> {
    db.fetch_all(
        "SELECT COUNT(*) AS n, COALESCE(MAX(updated_at), 0) AS t FROM grid_shapes",
        vec![],
        |r| Ok((r.i64("n")?, r.i64("t")?)),
    )
    .await
    .map(|v| v.first().copied().unwrap_or((0, 0)))
}

// ---------------------------------------------------------------------------------------------
// Buildings, entrances, houses, households

#[derive(Debug, Clone)]
pub struct BuildingRow {
    pub tenant: String,
    pub id: Uuid,
    pub unit_id: Uuid,
    pub unit_path: String,
    pub name: String,
    pub address: String,
    pub kind: String,
    pub floors: i64,
    pub build_year: Option<i64>,
    pub lat_e6: Option<i64>,
    pub lng_e6: Option<i64>,
    pub created_at: Ts,
    pub updated_at: Ts,
    pub version: i64,
}

pub(super) const BUILDING_COLS: &str = "tenant, id, unit_id, unit_path, name, address, kind, floors, \
                             build_year, lat_e6, lng_e6, created_at, updated_at, version";

pub(super) fn building_row(r: Row<'_>) -> Result<BuildingRow, StoreError> {
    Ok(BuildingRow {
        tenant: r.text("tenant")?,
        id: r.uuid("id")?,
        unit_id: r.uuid("unit_id")?,
        unit_path: r.text("unit_path")?,
        name: r.text("name")?,
        address: r.text("address")?,
        kind: r.text("kind")?,
        floors: r.i64("floors")?,
        build_year: r.opt_i64("build_year")?,
        lat_e6: r.opt_i64("lat_e6")?,
        lng_e6: r.opt_i64("lng_e6")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
        version: r.i64("version")?,
    })
}

pub async fn insert_buildings(tx: &mut Tx, rows: &[BuildingRow]) -> Result<(), StoreError> {
    let v = rows
        .iter()
        .map(|b| {
            args![
                b.tenant.clone(),
                b.id,
                b.unit_id,
                b.unit_path.clone(),
                b.name.clone(),
                b.address.clone(),
                b.kind.clone(),
                b.floors,
                b.build_year,
                b.lat_e6,
                b.lng_e6,
                b.created_at.0,
                b.updated_at.0,
                b.version
            ]
        })
        .collect();
    insert_rows(tx, "buildings", BUILDING_COLS, v).await
}

#[derive(Debug, Clone)]
pub struct EntranceRow {
    pub tenant: String,
    pub id: Uuid,
    pub building_id: Uuid,
    pub name: String,
    pub sort: i64,
}

pub async fn insert_entrances(tx: &mut Tx, rows: &[EntranceRow]) -> Result<(), StoreError> {
    let v = rows
        .iter()
        .map(|e| {
            args![
                e.tenant.clone(),
                e.id,
                e.building_id,
                e.name.clone(),
                e.sort
            ]
        })
        .collect();
    insert_rows(tx, "entrances", "tenant, id, building_id, name, sort", v).await
}

pub async fn entrances_of(
    db: &Db,
    tenant: &str,
    building_id: Uuid,
) -> Result<Vec<EntranceRow>, StoreError> {
    db.fetch_all(
        "SELECT tenant, id, building_id, name, sort FROM entrances \
         WHERE tenant = $1 AND building_id = $2 ORDER BY sort",
        args![tenant, building_id],
        |r| {
            Ok(EntranceRow {
                tenant: r.text("tenant")?,
                id: r.uuid("id")?,
                building_id: r.uuid("building_id")?,
                name: r.text("name")?,
                sort: r.i64("sort")?,
            })
        },
    )
    .await
}

#[derive(Debug, Clone)]
pub struct HouseRow {
    pub tenant: String,
    pub id: Uuid,
    pub building_id: Uuid,
    pub entrance_id: Option<Uuid>,
    pub unit_id: Uuid,
    pub unit_path: String,
    pub number: String,
    pub floor: i64,
    pub area_m2_x100: i64,
    pub house_use: String,
    pub created_at: Ts,
    pub updated_at: Ts,
    pub version: i64,
}

pub(super) const HOUSE_COLS: &str = "tenant, id, building_id, entrance_id, unit_id, unit_path, number, \
                          floor, area_m2_x100, house_use, created_at, updated_at, version";

pub(super) fn house_row(r: Row<'_>) -> Result<HouseRow, StoreError> {
    Ok(HouseRow {
        tenant: r.text("tenant")?,
        id: r.uuid("id")?,
        building_id: r.uuid("building_id")?,
        entrance_id: r.opt_uuid("entrance_id")?,
        unit_id: r.uuid("unit_id")?,
        unit_path: r.text("unit_path")?,
        number: r.text("number")?,
        floor: r.i64("floor")?,
        area_m2_x100: r.i64("area_m2_x100")?,
        house_use: r.text("house_use")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
        version: r.i64("version")?,
    })
}

pub async fn insert_houses(tx: &mut Tx, rows: &[HouseRow]) -> Result<(), StoreError> {
    let v = rows
        .iter()
        .map(|h| {
            args![
                h.tenant.clone(),
                h.id,
                h.building_id,
                h.entrance_id,
                h.unit_id,
                h.unit_path.clone(),
                h.number.clone(),
                h.floor,
                h.area_m2_x100,
                h.house_use.clone(),
                h.created_at.0,
                h.updated_at.0,
                h.version
            ]
        })
        .collect();
    insert_rows(tx, "houses", HOUSE_COLS, v).await
}

pub async fn houses_of_building(
    db: &Db,
    tenant: &str,
    building_id: Uuid,
) -> Result<Vec<HouseRow>, StoreError> {
    db.fetch_all(
        format!(
            "SELECT {HOUSE_COLS} FROM houses WHERE tenant = $1 AND building_id = $2 \
             ORDER BY number"
        ),
        args![tenant, building_id],
        house_row,
    )
    .await
}

pub async fn house(db: &Db, tenant: &str, id: Uuid) -> Result<Option<HouseRow>, StoreError> {
    db.fetch_optional(
        format!("SELECT {HOUSE_COLS} FROM houses WHERE tenant = $1 AND id = $2"),
        args![tenant, id],
        house_row,
    )
    .await
}

#[derive(Debug, Clone)]
pub struct HouseholdRow {
    pub tenant: String,
    pub id: Uuid,
    pub house_id: Option<Uuid>,
    pub unit_id: Uuid,
    pub unit_path: String,
    pub kind: String,
    pub created_at: Ts,
    pub updated_at: Ts,
    pub version: i64,
}

pub async fn insert_households(tx: &mut Tx, rows: &[HouseholdRow]) -> Result<(), StoreError> {
    let v = rows
        .iter()
        .map(|h| {
            args![
                h.tenant.clone(),
                h.id,
                h.house_id,
                h.unit_id,
                h.unit_path.clone(),
                h.kind.clone(),
                h.created_at.0,
                h.updated_at.0,
                h.version
            ]
        })
        .collect();
    insert_rows(
        tx,
        "households",
        "tenant, id, house_id, unit_id, unit_path, kind, created_at, updated_at, version",
        v,
    )
    .await
}

/// One household by id (the caller checks its unit).
pub async fn household(
    db: &Db,
    tenant: &str,
    id: Uuid,
) -> Result<Option<HouseholdRow>, StoreError> {
    db.fetch_optional(
        "SELECT tenant, id, house_id, unit_id, unit_path, kind, created_at, updated_at, version \
         FROM households WHERE tenant = $1 AND id = $2",
        args![tenant, id],
        |r| {
            Ok(HouseholdRow {
                tenant: r.text("tenant")?,
                id: r.uuid("id")?,
                house_id: r.opt_uuid("house_id")?,
                unit_id: r.uuid("unit_id")?,
                unit_path: r.text("unit_path")?,
                kind: r.text("kind")?,
                created_at: r.ts("created_at")?,
                updated_at: r.ts("updated_at")?,
                version: r.i64("version")?,
            })
        },
    )
    .await
}

/// One building by id, within scope.
pub async fn building(
    db: &Db,
    f: &ScopeFilter,
    tenant: &str,
    id: Uuid,
) -> Result<Option<BuildingRow>, StoreError> {
    let mut p = Params::default();
    let t = p.push(tenant);
    let i = p.push(id);
    let scope = scope_sql(f, "unit_path", "unit_id", None, &mut p);
    db.fetch_optional(
        format!(
            "SELECT {BUILDING_COLS} FROM buildings WHERE tenant = {t} AND id = {i} AND {scope}"
        ),
        p.args,
        building_row,
    )
    .await
}

#[derive(Debug, Clone, Default)]
pub struct BuildingQuery {
    pub tenant: String,
    /// Only under this unit path (a street, community or grid).
    pub under: Option<String>,
    /// Name or address contains.
    pub q: Option<String>,
    pub before: Option<Uuid>,
    pub limit: i64,
}

pub async fn list_buildings(
    db: &Db,
    f: &ScopeFilter,
    q: &BuildingQuery,
) -> Result<Vec<BuildingRow>, StoreError> {
    let mut p = Params::default();
    let t = p.push(q.tenant.clone());
    let mut w = vec![
        format!("tenant = {t}"),
        scope_sql(f, "unit_path", "unit_id", None, &mut p),
    ];
    path_under(&mut w, &mut p, q.under.as_deref());
    if let Some(s) = q.q.as_deref().filter(|s| !s.is_empty()) {
        let a = p.push(super::like_pattern(s));
        w.push(format!(
            "(name LIKE {a} ESCAPE '\\' OR address LIKE {a} ESCAPE '\\')"
        ));
    }
    if let Some(b) = q.before {
        let a = p.push(b);
        w.push(format!("id < {a}"));
    }
    let l = p.push(q.limit);
    db.fetch_all(
        format!(
            "SELECT {BUILDING_COLS} FROM buildings WHERE {} ORDER BY id DESC LIMIT {l}",
            w.join(" AND ")
        ),
        p.args,
        building_row,
    )
    .await
}

pub(super) fn path_under(w: &mut Vec<String>, p: &mut Params, under: Option<&str>) {
    if let Some(u) = under {
        let lo = p.push(u.to_string());
        // Paths end in '/', so every descendant sorts below `u` + '0' ('/' + 1).
        let hi = p.push(linli_domain::org::subtree_upper(u));
        w.push(format!("unit_path >= {lo} AND unit_path < {hi}"));
    }
}

// ---------------------------------------------------------------------------------------------
// Residents

#[derive(Clone)]
pub struct ResidentRow {
    pub tenant: String,
    pub id: Uuid,
    pub unit_id: Uuid,
    pub unit_path: String,
    pub house_id: Option<Uuid>,
    pub household_id: Option<Uuid>,
    pub relation: String,
    pub name: String,
    pub sex: String,
    /// YYYY-MM-DD.
    pub birth_date: String,
    /// Sealed.
    pub id_number: Vec<u8>,
    pub id_hash: String,
    pub id_masked: String,
    /// Sealed.
    pub phone: Option<Vec<u8>>,
    pub phone_hash: Option<String>,
    pub phone_masked: String,
    pub residency: String,
    pub status: String,
    pub created_at: Ts,
    pub updated_at: Ts,
    pub version: i64,
}

impl std::fmt::Debug for ResidentRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResidentRow")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

pub(super) const RESIDENT_COLS: &str = "tenant, id, unit_id, unit_path, house_id, household_id, relation, \
     name, sex, birth_date, id_number, id_hash, id_masked, phone, phone_hash, phone_masked, \
     residency, status, created_at, updated_at, version";

pub(super) fn resident_row(r: Row<'_>) -> Result<ResidentRow, StoreError> {
    Ok(ResidentRow {
        tenant: r.text("tenant")?,
        id: r.uuid("id")?,
        unit_id: r.uuid("unit_id")?,
        unit_path: r.text("unit_path")?,
        house_id: r.opt_uuid("house_id")?,
        household_id: r.opt_uuid("household_id")?,
        relation: r.text("relation")?,
        name: r.text("name")?,
        sex: r.text("sex")?,
        birth_date: r.text("birth_date")?,
        id_number: r.bytes("id_number")?,
        id_hash: r.text("id_hash")?,
        id_masked: r.text("id_masked")?,
        phone: r.opt_bytes("phone")?,
        phone_hash: r.opt_text("phone_hash")?,
        phone_masked: r.text("phone_masked")?,
        residency: r.text("residency")?,
        status: r.text("status")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
        version: r.i64("version")?,
    })
}

fn resident_args(r: &ResidentRow) -> Vec<Arg> {
    args![
        r.tenant.clone(),
        r.id,
        r.unit_id,
        r.unit_path.clone(),
        r.house_id,
        r.household_id,
        r.relation.clone(),
        r.name.clone(),
        r.sex.clone(),
        r.birth_date.clone(),
        r.id_number.clone(),
        r.id_hash.clone(),
        r.id_masked.clone(),
        r.phone.clone(),
        r.phone_hash.clone(),
        r.phone_masked.clone(),
        r.residency.clone(),
        r.status.clone(),
        r.created_at.0,
        r.updated_at.0,
        r.version
    ]
}

pub async fn insert_residents(tx: &mut Tx, rows: &[ResidentRow]) -> Result<(), StoreError> {
    insert_rows(
        tx,
        "residents",
        RESIDENT_COLS,
        rows.iter().map(resident_args).collect(),
    )
    .await
}

/// [`insert_residents`] for rows held elsewhere (an import batch), without copying them first.
pub async fn insert_resident_refs(tx: &mut Tx, rows: &[&ResidentRow]) -> Result<(), StoreError> {
    insert_rows(
        tx,
        "residents",
        RESIDENT_COLS,
        rows.iter().map(|r| resident_args(r)).collect(),
    )
    .await
}

/// Replace a resident's row if its version is still `version` (optimistic check).
pub async fn update_resident(
    tx: &mut Tx,
    r: &ResidentRow,
    version: i64,
) -> Result<bool, StoreError> {
    let n = tx
        .execute(
            "UPDATE residents SET unit_id = $1, unit_path = $2, house_id = $3, household_id = $4, \
             relation = $5, name = $6, sex = $7, birth_date = $8, id_number = $9, id_hash = $10, \
             id_masked = $11, phone = $12, phone_hash = $13, phone_masked = $14, residency = $15, \
             status = $16, updated_at = $17, version = $18 \
             WHERE tenant = $19 AND id = $20 AND version = $21",
            args![
                r.unit_id,
                r.unit_path.clone(),
                r.house_id,
                r.household_id,
                r.relation.clone(),
                r.name.clone(),
                r.sex.clone(),
                r.birth_date.clone(),
                r.id_number.clone(),
                r.id_hash.clone(),
                r.id_masked.clone(),
                r.phone.clone(),
                r.phone_hash.clone(),
                r.phone_masked.clone(),
                r.residency.clone(),
                r.status.clone(),
                r.updated_at.0,
                r.version,
                r.tenant.clone(),
                r.id,
                version
            ],
        )
        .await?;
    Ok(n == 1)
}

/// One resident by id, within scope.
pub async fn resident(
    db: &Db,
    f: &ScopeFilter,
    tenant: &str,
    id: Uuid,
) -> Result<Option<ResidentRow>, StoreError> {
    let mut p = Params::default();
    let t = p.push(tenant);
    let i = p.push(id);
    let scope = scope_sql(f, "unit_path", "unit_id", None, &mut p);
    db.fetch_optional(
        format!(
            "SELECT {RESIDENT_COLS} FROM residents WHERE tenant = {t} AND id = {i} AND {scope}"
        ),
        p.args,
        resident_row,
    )
    .await
}

/// Residents who moved out or died and whose record has not changed since `before`, across
/// all districts, oldest first: the retention rule's work (index `residents_retention`).
pub async fn past_retention(
    db: &Db,
    before: Ts,
    limit: i64,
) -> Result<Vec<ResidentRow>, StoreError> {
    db.fetch_all(
        format!(
            "SELECT {RESIDENT_COLS} FROM residents WHERE status IN ('moved_out', 'deceased') \
             AND updated_at < $1 ORDER BY status, updated_at LIMIT $2"
        ),
        args![before.0, limit],
        resident_row,
    )
    .await
}

/// Which residents of `tenant` already have these ID blind indexes (duplicate detection).
pub async fn residents_with_id_hashes(
    db: &Db,
    tenant: &str,
    hashes: &[String],
) -> Result<Vec<(String, Uuid)>, StoreError> {
    let mut out = Vec::new();
    for chunk in hashes.chunks(5000) {
        let mut p = Params::default();
        let t = p.push(tenant);
        let marks: Vec<String> = chunk.iter().map(|h| p.push(h.clone())).collect();
        out.extend(
            db.fetch_all(
                format!(
                    "SELECT id_hash, id FROM residents WHERE tenant = {t} AND id_hash IN ({})",
                    marks.join(", ")
                ),
                p.args,
                |r| Ok((r.text("id_hash")?, r.uuid("id")?)),
            )
            .await?,
        );
    }
    Ok(out)
}

#[derive(Debug, Clone, Default)]
pub struct ResidentQuery {
    pub tenant: String,
    pub under: Option<String>,
    /// `under` is a grid: nothing is below it, so the path is matched exactly (and the index
    /// `(tenant, unit_path, id)` yields the newest first without sorting).
    pub under_is_leaf: bool,
    pub house_id: Option<Uuid>,
    /// Any of these houses (a building's residents).
    pub in_houses: Vec<Uuid>,
    pub household_id: Option<Uuid>,
    /// Name starts with.
    pub name: Option<String>,
    pub id_hash: Option<String>,
    pub phone_hash: Option<String>,
    /// Stored tag values (a key, or a sensitive tag's blind index): all must be present.
    pub tags: Vec<String>,
    pub residency: Option<String>,
    /// `None`: only active residents.
    pub status: Option<String>,
    pub sex: Option<String>,
    /// Birth date within [from, to) (YYYY-MM-DD), for age bands.
    pub born_from: Option<String>,
    pub born_to: Option<String>,
    pub before: Option<Uuid>,
    pub limit: i64,
}

/// The predicate of a resident query. A filter to a unit inside one of the reader's subtree
/// grants replaces the scope predicate (it implies it): with both, the planner may walk the
/// wider range of the two and test every row in it.
fn resident_where(f: &ScopeFilter, q: &ResidentQuery, p: &mut Params) -> String {
    let t = p.push(q.tenant.clone());
    let mut w = vec![format!("r.tenant = {t}")];
    let implied = q.under.as_deref().is_some_and(|u| {
        f.ranges
            .iter()
            .any(|(lo, hi)| u >= lo.as_str() && u < hi.as_str())
    });
    if !implied {
        w.push(scope_sql(f, "r.unit_path", "r.unit_id", None, p));
    }
    if let Some(u) = q.under.as_deref() {
        let lo = p.push(u.to_string());
        if q.under_is_leaf {
            w.push(format!("r.unit_path = {lo}"));
        } else {
            let hi = p.push(linli_domain::org::subtree_upper(u));
            w.push(format!("r.unit_path >= {lo} AND r.unit_path < {hi}"));
        }
    }
    let eq = |w: &mut Vec<String>, p: &mut Params, col: &str, v: Option<Arg>| {
        if let Some(v) = v {
            let a = p.push(v);
            w.push(format!("r.{col} = {a}"));
        }
    };
    eq(&mut w, p, "house_id", q.house_id.map(Arg::Uuid));
    eq(&mut w, p, "household_id", q.household_id.map(Arg::Uuid));
    if !q.in_houses.is_empty() {
        let marks: Vec<String> = q.in_houses.iter().map(|h| p.push(*h)).collect();
        w.push(format!("r.house_id IN ({})", marks.join(", ")));
    }
    eq(&mut w, p, "id_hash", q.id_hash.clone().map(Arg::Text));
    eq(&mut w, p, "phone_hash", q.phone_hash.clone().map(Arg::Text));
    eq(&mut w, p, "residency", q.residency.clone().map(Arg::Text));
    eq(&mut w, p, "sex", q.sex.clone().map(Arg::Text));
    eq(
        &mut w,
        p,
        "status",
        Some(Arg::Text(
            q.status.clone().unwrap_or_else(|| "active".into()),
        )),
    );
    if let Some(n) = q.name.as_deref().filter(|s| !s.is_empty()) {
        let a = p.push(super::like_prefix(n));
        w.push(format!("r.name LIKE {a} ESCAPE '\\'"));
    }
    if let Some(d) = &q.born_from {
        let a = p.push(d.clone());
        w.push(format!("r.birth_date >= {a}"));
    }
    if let Some(d) = &q.born_to {
        let a = p.push(d.clone());
        w.push(format!("r.birth_date < {a}"));
    }
    for tag in &q.tags {
        let a = p.push(tag.clone());
        w.push(format!(
            "EXISTS (SELECT 1 FROM resident_tags g WHERE g.tenant = r.tenant \
             AND g.resident_id = r.id AND g.tag = {a})"
        ));
    }
    w.join(" AND ")
}

/// Residents newest first. With a tag, the page is read along the tag's index
/// `(tenant, tag, resident_id)` — people with a tag are few, so walking them newest first and
/// testing each against the other filters finds a page quickly; `CROSS JOIN` keeps SQLite in
/// that order (PostgreSQL plans it itself).
///
/// Under a community or street without a tag, SQLite would rather walk the primary key newest
/// first than sort, and tests every row of the district on the way; `+r.id` takes that option
/// away, so it reads the unit's path range and sorts it (a community's rows, not a district's).
fn list_sql(engine: Engine, f: &ScopeFilter, q: &ResidentQuery, p: &mut Params) -> String {
    let cols: Vec<String> = RESIDENT_COLS
        .split(',')
        .map(|c| format!("r.{}", c.trim()))
        .collect();
    let w = resident_where(f, q, p);
    let (from, key) = match q.tags.first() {
        Some(tag) => {
            let a = p.push(tag.clone());
            (
                format!(
                    "resident_tags d CROSS JOIN residents r WHERE d.tenant = r.tenant \
                     AND d.resident_id = r.id AND d.tag = {a} AND"
                ),
                "d.resident_id",
            )
        }
        None => ("residents r WHERE".to_string(), "r.id"),
    };
    let mut sql = format!("SELECT {} FROM {from} {w}", cols.join(", "));
    if let Some(b) = q.before {
        let a = p.push(b);
        sql.push_str(&format!(" AND {key} < {a}"));
    }
    let l = p.push(q.limit);
    let by_range = q.tags.is_empty() && q.under.is_some() && !q.under_is_leaf;
    let order = if by_range && engine == Engine::Sqlite {
        format!("+{key}")
    } else {
        key.to_string()
    };
    sql.push_str(&format!(" ORDER BY {order} DESC LIMIT {l}"));
    sql
}

pub async fn list_residents(
    db: &Db,
    f: &ScopeFilter,
    q: &ResidentQuery,
) -> Result<Vec<ResidentRow>, StoreError> {
    let mut p = Params::default();
    let sql = list_sql(db.engine(), f, q, &mut p);
    db.fetch_all(sql, p.args, resident_row).await
}

/// How many residents match (for the list's heading and the overview).
pub async fn count_residents(
    db: &Db,
    f: &ScopeFilter,
    q: &ResidentQuery,
) -> Result<i64, StoreError> {
    let mut p = Params::default();
    let w = resident_where(f, q, &mut p);
    db.fetch_one_i64(
        format!("SELECT COUNT(*) AS n FROM residents r WHERE {w}"),
        p.args,
    )
    .await
}

/// Counts of matching residents grouped by a column (residency, sex) or by tag.
pub async fn group_residents(
    db: &Db,
    f: &ScopeFilter,
    q: &ResidentQuery,
    by: Grouping,
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut p = Params::default();
    let w = resident_where(f, q, &mut p);
    let sql = match by {
        Grouping::Residency => format!(
            "SELECT r.residency AS k, COUNT(*) AS n FROM residents r WHERE {w} GROUP BY r.residency"
        ),
        Grouping::Tag => format!(
            "SELECT g.tag AS k, COUNT(*) AS n FROM residents r JOIN resident_tags g \
             ON g.tenant = r.tenant AND g.resident_id = r.id WHERE {w} GROUP BY g.tag"
        ),
    };
    db.fetch_all(sql, p.args, |r| Ok((r.text("k")?, r.i64("n")?)))
        .await
}

#[derive(Debug, Clone, Copy)]
pub enum Grouping {
    Residency,
    Tag,
}

/// Rows of a scoped table under a path (buildings, houses, households, organisations…).
pub async fn count_in(
    db: &Db,
    f: &ScopeFilter,
    table: Counted,
    tenant: &str,
    under: Option<&str>,
) -> Result<i64, StoreError> {
    let mut p = Params::default();
    let t = p.push(tenant);
    let mut w = vec![
        format!("tenant = {t}"),
        scope_sql(f, "unit_path", "unit_id", None, &mut p),
    ];
    path_under(&mut w, &mut p, under);
    db.fetch_one_i64(
        format!(
            "SELECT COUNT(*) AS n FROM {} WHERE {}",
            table.name(),
            w.join(" AND ")
        ),
        p.args,
    )
    .await
}

#[derive(Debug, Clone, Copy)]
pub enum Counted {
    Buildings,
    Houses,
    Households,
    Organisations,
    Components,
}

impl Counted {
    fn name(self) -> &'static str {
        match self {
            Counted::Buildings => "buildings",
            Counted::Houses => "houses",
            Counted::Households => "households",
            Counted::Organisations => "organisations",
            Counted::Components => "components",
        }
    }
}

/// Residents per unit path (the map's counts per grid).
pub async fn residents_per_unit(
    db: &Db,
    f: &ScopeFilter,
    tenant: &str,
) -> Result<Vec<(Uuid, i64)>, StoreError> {
    let mut p = Params::default();
    let t = p.push(tenant);
    let scope = scope_sql(f, "unit_path", "unit_id", None, &mut p);
    db.fetch_all(
        format!(
            "SELECT unit_id, COUNT(*) AS n FROM residents WHERE tenant = {t} AND status = 'active' \
             AND {scope} GROUP BY unit_id"
        ),
        p.args,
        |r| Ok((r.uuid("unit_id")?, r.i64("n")?)),
    )
    .await
}

// Tags

pub async fn insert_tags(
    tx: &mut Tx,
    tenant: &str,
    rows: &[(Uuid, String)],
) -> Result<(), StoreError> {
    let v = rows
        .iter()
        .map(|(id, tag)| args![tenant, *id, tag.clone()])
        .collect();
    insert_rows(tx, "resident_tags", "tenant, resident_id, tag", v).await
}

pub async fn delete_tags(tx: &mut Tx, tenant: &str, resident_id: Uuid) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM resident_tags WHERE tenant = $1 AND resident_id = $2",
        args![tenant, resident_id],
    )
    .await
    .map(|_| ())
}

/// The stored tag values of residents (caller authorised the residents).
pub async fn tags_of(
    db: &Db,
    tenant: &str,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, String)>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let mut p = Params::default();
        let t = p.push(tenant);
        let marks: Vec<String> = chunk.iter().map(|i| p.push(*i)).collect();
        out.extend(
            db.fetch_all(
                format!(
                    "SELECT resident_id, tag FROM resident_tags WHERE tenant = {t} \
                     AND resident_id IN ({}) ORDER BY tag",
                    marks.join(", ")
                ),
                p.args,
                |r| Ok((r.uuid("resident_id")?, r.text("tag")?)),
            )
            .await?,
        );
    }
    Ok(out)
}

#[derive(Debug, Clone)]
pub struct TagRow {
    pub key: String,
    pub label: String,
    pub sensitive: bool,
    pub sort: i64,
}

pub async fn tag_vocabulary(db: &Db) -> Result<Vec<TagRow>, StoreError> {
    db.fetch_all(
        "SELECT tag_key, label, sensitive, sort FROM registry_tags ORDER BY sort, tag_key",
        vec![],
        |r| {
            Ok(TagRow {
                key: r.text("tag_key")?,
                label: r.text("label")?,
                sensitive: r.bool("sensitive")?,
                sort: r.i64("sort")?,
            })
        },
    )
    .await
}

pub async fn put_tag(db: &Db, t: &TagRow, now: Ts) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO registry_tags (tag_key, label, sensitive, sort, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tag_key) DO NOTHING",
        args![t.key.clone(), t.label.clone(), t.sensitive, t.sort, now.0],
    )
    .await
    .map(|_| ())
}

// Events

#[derive(Debug, Clone)]
pub struct EventRow {
    pub tenant: String,
    pub id: Uuid,
    pub resident_id: Uuid,
    pub kind: String,
    pub on_date: String,
    pub note: String,
    pub actor_id: Option<Uuid>,
    pub created_at: Ts,
}

pub async fn insert_events(tx: &mut Tx, rows: &[EventRow]) -> Result<(), StoreError> {
    let v = rows
        .iter()
        .map(|e| {
            args![
                e.tenant.clone(),
                e.id,
                e.resident_id,
                e.kind.clone(),
                e.on_date.clone(),
                e.note.clone(),
                e.actor_id,
                e.created_at.0
            ]
        })
        .collect();
    insert_rows(
        tx,
        "resident_events",
        "tenant, id, resident_id, kind, on_date, note, actor_id, created_at",
        v,
    )
    .await
}

pub async fn events_of(
    db: &Db,
    tenant: &str,
    resident_id: Uuid,
) -> Result<Vec<EventRow>, StoreError> {
    db.fetch_all(
        "SELECT tenant, id, resident_id, kind, on_date, note, actor_id, created_at \
         FROM resident_events WHERE tenant = $1 AND resident_id = $2 ORDER BY created_at, id",
        args![tenant, resident_id],
        |r| {
            Ok(EventRow {
                tenant: r.text("tenant")?,
                id: r.uuid("id")?,
                resident_id: r.uuid("resident_id")?,
                kind: r.text("kind")?,
                on_date: r.text("on_date")?,
                note: r.text("note")?,
                actor_id: r.opt_uuid("actor_id")?,
                created_at: r.ts("created_at")?,
            })
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Components and organisations

#[derive(Debug, Clone)]
pub struct ComponentRow {
    pub tenant: String,
    pub id: Uuid,
    pub code: String,
    pub class_code: String,
    pub name: String,
    pub owner_id: Option<Uuid>,
    pub state: String,
    pub unit_id: Uuid,
    pub unit_path: String,
    pub address: String,
    pub lat_e6: Option<i64>,
    pub lng_e6: Option<i64>,
    pub created_at: Ts,
    pub updated_at: Ts,
    pub version: i64,
}

pub(super) const COMPONENT_COLS: &str = "tenant, id, code, class_code, name, owner_id, state, unit_id, \
                              unit_path, address, lat_e6, lng_e6, created_at, updated_at, version";

pub async fn insert_components(tx: &mut Tx, rows: &[ComponentRow]) -> Result<(), StoreError> {
    let v = rows
        .iter()
        .map(|c| {
            args![
                c.tenant.clone(),
                c.id,
                c.code.clone(),
                c.class_code.clone(),
                c.name.clone(),
                c.owner_id,
                c.state.clone(),
                c.unit_id,
                c.unit_path.clone(),
                c.address.clone(),
                c.lat_e6,
                c.lng_e6,
                c.created_at.0,
                c.updated_at.0,
                c.version
            ]
        })
        .collect();
    insert_rows(tx, "components", COMPONENT_COLS, v).await
}

#[derive(Clone)]
pub struct OrganisationRow {
    pub tenant: String,
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub unit_id: Uuid,
    pub unit_path: String,
    pub address: String,
    pub contact_name: String,
    /// Sealed.
    pub contact_phone: Option<Vec<u8>>,
    pub phone_masked: String,
    pub member_count: Option<i64>,
    pub created_at: Ts,
    pub updated_at: Ts,
    pub version: i64,
}

pub(super) const ORG_COLS: &str = "tenant, id, kind, name, unit_id, unit_path, address, contact_name, \
                        contact_phone, phone_masked, member_count, created_at, updated_at, version";

pub async fn insert_organisations(tx: &mut Tx, rows: &[OrganisationRow]) -> Result<(), StoreError> {
    let v = rows
        .iter()
        .map(|o| {
            args![
                o.tenant.clone(),
                o.id,
                o.kind.clone(),
                o.name.clone(),
                o.unit_id,
                o.unit_path.clone(),
                o.address.clone(),
                o.contact_name.clone(),
                o.contact_phone.clone(),
                o.phone_masked.clone(),
                o.member_count,
                o.created_at.0,
                o.updated_at.0,
                o.version
            ]
        })
        .collect();
    insert_rows(tx, "organisations", ORG_COLS, v).await
}

/// Whether the district has any registry rows yet (the demo loads once).
pub async fn has_residents(db: &Db, tenant: &str) -> Result<bool, StoreError> {
    let found = db
        .fetch_all(
            "SELECT id FROM residents WHERE tenant = $1 LIMIT 1",
            args![tenant],
            |r| r.uuid("id"),
        )
        .await?;
    Ok(!found.is_empty())
}

// ---------------------------------------------------------------------------------------------
// Lookups for imports: what the registry already holds of a batch (the caller authorised the
// grids; these only answer "is it there").

/// `SELECT {select} FROM {from} WHERE tenant = $1 AND {column} IN (…)` over `values`, in
/// statements of at most 5,000 values.
async fn in_list<T, V: Clone + Into<Arg>>(
    db: &Db,
    select: &str,
    from: &str,
    tenant: &str,
    column: &str,
    values: &[V],
    f: impl Fn(Row<'_>) -> Result<T, StoreError> + Copy,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    for chunk in values.chunks(5000) {
        let mut p = Params::default();
        let t = p.push(tenant);
        let marks: Vec<String> = chunk.iter().map(|v| p.push(v.clone())).collect();
        out.extend(
            db.fetch_all(
                format!(
                    "SELECT {select} FROM {from} WHERE tenant = {t} AND {column} IN ({})",
                    marks.join(", ")
                ),
                p.args,
                f,
            )
            .await?,
        );
    }
    Ok(out)
}

/// The codes among `codes` that components of the district already carry.
pub async fn components_with_codes(
    db: &Db,
    tenant: &str,
    codes: &[String],
) -> Result<Vec<String>, StoreError> {
    in_list(db, "code", "components", tenant, "code", codes, |r| {
        r.text("code")
    })
    .await
}

/// (unit, name) of the district's organisations named one of `names`.
pub async fn organisations_named(
    db: &Db,
    tenant: &str,
    names: &[String],
) -> Result<Vec<(Uuid, String)>, StoreError> {
    in_list(
        db,
        "unit_id, name",
        "organisations",
        tenant,
        "name",
        names,
        |r| Ok((r.uuid("unit_id")?, r.text("name")?)),
    )
    .await
}

/// The district's buildings at one of `addresses`.
pub async fn buildings_at(
    db: &Db,
    tenant: &str,
    addresses: &[String],
) -> Result<Vec<BuildingRow>, StoreError> {
    in_list(
        db,
        BUILDING_COLS,
        "buildings",
        tenant,
        "address",
        addresses,
        building_row,
    )
    .await
}

/// The entrances of `buildings`.
pub async fn entrances_in(
    db: &Db,
    tenant: &str,
    buildings: &[Uuid],
) -> Result<Vec<EntranceRow>, StoreError> {
    in_list(
        db,
        "tenant, id, building_id, name, sort",
        "entrances",
        tenant,
        "building_id",
        buildings,
        |r| {
            Ok(EntranceRow {
                tenant: r.text("tenant")?,
                id: r.uuid("id")?,
                building_id: r.uuid("building_id")?,
                name: r.text("name")?,
                sort: r.i64("sort")?,
            })
        },
    )
    .await
}

/// The houses of `buildings`.
pub async fn houses_in(
    db: &Db,
    tenant: &str,
    buildings: &[Uuid],
) -> Result<Vec<HouseRow>, StoreError> {
    in_list(
        db,
        HOUSE_COLS,
        "houses",
        tenant,
        "building_id",
        buildings,
        house_row,
    )
    .await
}

/// The houses among `houses` that already have a household.
pub async fn houses_with_households(
    db: &Db,
    tenant: &str,
    houses: &[Uuid],
) -> Result<Vec<Uuid>, StoreError> {
    in_list(
        db,
        "house_id",
        "households",
        tenant,
        "house_id",
        houses,
        |r| r.uuid("house_id"),
    )
    .await
}
