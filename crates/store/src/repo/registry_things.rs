//! Reading and updating the registry's things (物: components), organisations (组织) and
//! households (户). The row structs and their inserts live in [`super::registry`] next to the
//! other registry rows; this file adds the scoped lists, single-row reads, version-checked
//! updates and the links between them (the buildings an organisation serves, a household's
//! members).
//!
//! Every read takes a [`ScopeFilter`] over the row's `unit_path`/`unit_id`, like the resident
//! and building reads: a row outside it is not found.

use linli_domain::auth::ScopeFilter;
use uuid::Uuid;

use super::registry::{
    BUILDING_COLS, BuildingRow, COMPONENT_COLS, ComponentRow, HouseholdRow, ORG_COLS,
    OrganisationRow, RESIDENT_COLS, ResidentRow, building_row, path_under, resident_row,
};
use super::scope_sql;
use crate::args;
use crate::db::{Db, Params, Row, StoreError, Tx};

// ---------------------------------------------------------------------------------------------
// Components

fn component_row(r: Row<'_>) -> Result<ComponentRow, StoreError> {
    Ok(ComponentRow {
        tenant: r.text("tenant")?,
        id: r.uuid("id")?,
        code: r.text("code")?,
        class_code: r.text("class_code")?,
        name: r.text("name")?,
        owner_id: r.opt_uuid("owner_id")?,
        state: r.text("state")?,
        unit_id: r.uuid("unit_id")?,
        unit_path: r.text("unit_path")?,
        address: r.text("address")?,
        lat_e6: r.opt_i64("lat_e6")?,
        lng_e6: r.opt_i64("lng_e6")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
        version: r.i64("version")?,
    })
}

#[derive(Debug, Clone, Default)]
pub struct ComponentQuery {
    pub tenant: String,
    /// Only under this unit path (street, community or grid subtree).
    pub under: Option<String>,
    /// Class code (`"01"` a major class, `"0118"` a minor class): a prefix of `class_code`.
    pub class_prefix: Option<String>,
    pub state: Option<String>,
    /// The identification code starts with.
    pub code_prefix: Option<String>,
    pub before: Option<Uuid>,
    pub limit: i64,
}

/// Components newest first, within scope.
pub async fn list_components(
    db: &Db,
    f: &ScopeFilter,
    q: &ComponentQuery,
) -> Result<Vec<ComponentRow>, StoreError> {
    let mut p = Params::default();
    let t = p.push(q.tenant.clone());
    let mut w = vec![
        format!("tenant = {t}"),
        scope_sql(f, "unit_path", "unit_id", None, &mut p),
    ];
    path_under(&mut w, &mut p, q.under.as_deref());
    if let Some(c) = q.class_prefix.as_deref().filter(|s| !s.is_empty()) {
        let a = p.push(super::like_prefix(c));
        w.push(format!("class_code LIKE {a} ESCAPE '\\'"));
    }
    if let Some(s) = q.state.as_deref() {
        let a = p.push(s.to_string());
        w.push(format!("state = {a}"));
    }
    if let Some(c) = q.code_prefix.as_deref().filter(|s| !s.is_empty()) {
        let a = p.push(super::like_prefix(c));
        w.push(format!("code LIKE {a} ESCAPE '\\'"));
    }
    if let Some(b) = q.before {
        let a = p.push(b);
        w.push(format!("id < {a}"));
    }
    let l = p.push(q.limit);
    db.fetch_all(
        format!(
            "SELECT {COMPONENT_COLS} FROM components WHERE {} ORDER BY id DESC LIMIT {l}",
            w.join(" AND ")
        ),
        p.args,
        component_row,
    )
    .await
}

/// One component by id, within scope.
pub async fn component(
    db: &Db,
    f: &ScopeFilter,
    tenant: &str,
    id: Uuid,
) -> Result<Option<ComponentRow>, StoreError> {
    let mut p = Params::default();
    let t = p.push(tenant);
    let i = p.push(id);
    let scope = scope_sql(f, "unit_path", "unit_id", None, &mut p);
    db.fetch_optional(
        format!(
            "SELECT {COMPONENT_COLS} FROM components WHERE tenant = {t} AND id = {i} AND {scope}"
        ),
        p.args,
        component_row,
    )
    .await
}

/// Whether a component with this identification code exists in the district (any scope: codes
/// are unique per district, and a duplicate must be refused even if the other is out of sight).
pub async fn component_code_taken(
    tx: &mut Tx,
    tenant: &str,
    code: &str,
) -> Result<bool, StoreError> {
    let n = tx
        .fetch_one_i64(
            "SELECT COUNT(*) AS n FROM components WHERE tenant = $1 AND code = $2",
            args![tenant, code],
        )
        .await?;
    Ok(n > 0)
}

/// Replace a component's mutable columns if its version is still `version`.
pub async fn update_component(
    tx: &mut Tx,
    c: &ComponentRow,
    version: i64,
) -> Result<bool, StoreError> {
    let n = tx
        .execute(
            "UPDATE components SET name = $1, owner_id = $2, state = $3, unit_id = $4, \
             unit_path = $5, address = $6, lat_e6 = $7, lng_e6 = $8, updated_at = $9, \
             version = $10 WHERE tenant = $11 AND id = $12 AND version = $13",
            args![
                c.name.clone(),
                c.owner_id,
                c.state.clone(),
                c.unit_id,
                c.unit_path.clone(),
                c.address.clone(),
                c.lat_e6,
                c.lng_e6,
                c.updated_at.0,
                c.version,
                c.tenant.clone(),
                c.id,
                version
            ],
        )
        .await?;
    Ok(n == 1)
}

// ---------------------------------------------------------------------------------------------
// Organisations

fn organisation_row(r: Row<'_>) -> Result<OrganisationRow, StoreError> {
    Ok(OrganisationRow {
        tenant: r.text("tenant")?,
        id: r.uuid("id")?,
        kind: r.text("kind")?,
        name: r.text("name")?,
        unit_id: r.uuid("unit_id")?,
        unit_path: r.text("unit_path")?,
        address: r.text("address")?,
        contact_name: r.text("contact_name")?,
        contact_phone: r.opt_bytes("contact_phone")?,
        phone_masked: r.text("phone_masked")?,
        member_count: r.opt_i64("member_count")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
        version: r.i64("version")?,
    })
}

#[derive(Debug, Clone, Default)]
pub struct OrganisationQuery {
    pub tenant: String,
    pub under: Option<String>,
    pub kind: Option<String>,
    /// Name contains.
    pub name: Option<String>,
    pub before: Option<Uuid>,
    pub limit: i64,
}

/// Organisations newest first, within scope.
pub async fn list_organisations(
    db: &Db,
    f: &ScopeFilter,
    q: &OrganisationQuery,
) -> Result<Vec<OrganisationRow>, StoreError> {
    let mut p = Params::default();
    let t = p.push(q.tenant.clone());
    let mut w = vec![
        format!("tenant = {t}"),
        scope_sql(f, "unit_path", "unit_id", None, &mut p),
    ];
    path_under(&mut w, &mut p, q.under.as_deref());
    if let Some(k) = q.kind.as_deref() {
        let a = p.push(k.to_string());
        w.push(format!("kind = {a}"));
    }
    if let Some(n) = q.name.as_deref().filter(|s| !s.is_empty()) {
        let a = p.push(super::like_pattern(n));
        w.push(format!("name LIKE {a} ESCAPE '\\'"));
    }
    if let Some(b) = q.before {
        let a = p.push(b);
        w.push(format!("id < {a}"));
    }
    let l = p.push(q.limit);
    db.fetch_all(
        format!(
            "SELECT {ORG_COLS} FROM organisations WHERE {} ORDER BY id DESC LIMIT {l}",
            w.join(" AND ")
        ),
        p.args,
        organisation_row,
    )
    .await
}

/// One organisation by id, within scope.
pub async fn organisation(
    db: &Db,
    f: &ScopeFilter,
    tenant: &str,
    id: Uuid,
) -> Result<Option<OrganisationRow>, StoreError> {
    let mut p = Params::default();
    let t = p.push(tenant);
    let i = p.push(id);
    let scope = scope_sql(f, "unit_path", "unit_id", None, &mut p);
    db.fetch_optional(
        format!("SELECT {ORG_COLS} FROM organisations WHERE tenant = {t} AND id = {i} AND {scope}"),
        p.args,
        organisation_row,
    )
    .await
}

/// Replace an organisation's mutable columns if its version is still `version`.
pub async fn update_organisation(
    tx: &mut Tx,
    o: &OrganisationRow,
    version: i64,
) -> Result<bool, StoreError> {
    let n = tx
        .execute(
            "UPDATE organisations SET kind = $1, name = $2, unit_id = $3, unit_path = $4, \
             address = $5, contact_name = $6, contact_phone = $7, phone_masked = $8, \
             member_count = $9, updated_at = $10, version = $11 \
             WHERE tenant = $12 AND id = $13 AND version = $14",
            args![
                o.kind.clone(),
                o.name.clone(),
                o.unit_id,
                o.unit_path.clone(),
                o.address.clone(),
                o.contact_name.clone(),
                o.contact_phone.clone(),
                o.phone_masked.clone(),
                o.member_count,
                o.updated_at.0,
                o.version,
                o.tenant.clone(),
                o.id,
                version
            ],
        )
        .await?;
    Ok(n == 1)
}

/// Set the buildings an organisation serves (a property company's estate, an owners'
/// committee's buildings): the old links are replaced.
pub async fn set_served_buildings(
    tx: &mut Tx,
    tenant: &str,
    organisation_id: Uuid,
    buildings: &[Uuid],
) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM organisation_buildings WHERE tenant = $1 AND organisation_id = $2",
        args![tenant, organisation_id],
    )
    .await?;
    let rows = buildings
        .iter()
        .map(|b| args![tenant, organisation_id, *b])
        .collect();
    super::registry::insert_rows(
        tx,
        "organisation_buildings",
        "tenant, organisation_id, building_id",
        rows,
    )
    .await
}

/// The buildings an organisation serves that are within scope.
pub async fn served_buildings(
    db: &Db,
    f: &ScopeFilter,
    tenant: &str,
    organisation_id: Uuid,
) -> Result<Vec<BuildingRow>, StoreError> {
    let mut p = Params::default();
    let t = p.push(tenant);
    let o = p.push(organisation_id);
    let scope = scope_sql(f, "b.unit_path", "b.unit_id", None, &mut p);
    let cols: Vec<String> = BUILDING_COLS
        .split(',')
        .map(|c| format!("b.{}", c.trim()))
        .collect();
    db.fetch_all(
        format!(
            "SELECT {} FROM organisation_buildings ob JOIN buildings b \
             ON b.tenant = ob.tenant AND b.id = ob.building_id \
             WHERE ob.tenant = {t} AND ob.organisation_id = {o} AND {scope} ORDER BY b.name",
            cols.join(", ")
        ),
        p.args,
        building_row,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Households

fn household_row(r: Row<'_>) -> Result<HouseholdRow, StoreError> {
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
}

const HOUSEHOLD_COLS: &str = "h.tenant, h.id, h.house_id, h.unit_id, h.unit_path, h.kind, h.created_at, h.updated_at, h.version";

#[derive(Debug, Clone, Default)]
pub struct HouseholdQuery {
    pub tenant: String,
    pub under: Option<String>,
    /// Only households living in this building's houses.
    pub building_id: Option<Uuid>,
    /// Only households whose house number (户号/房号), building name or building address
    /// starts with this.
    pub place_prefix: Option<String>,
    pub before: Option<Uuid>,
    pub limit: i64,
}

/// Households newest first, within scope.
pub async fn list_households(
    db: &Db,
    f: &ScopeFilter,
    q: &HouseholdQuery,
) -> Result<Vec<HouseholdRow>, StoreError> {
    let mut p = Params::default();
    let t = p.push(q.tenant.clone());
    let mut w = vec![
        format!("h.tenant = {t}"),
        scope_sql(f, "h.unit_path", "h.unit_id", None, &mut p),
    ];
    if let Some(u) = q.under.as_deref() {
        let lo = p.push(u.to_string());
        let hi = p.push(linli_domain::org::subtree_upper(u));
        w.push(format!("h.unit_path >= {lo} AND h.unit_path < {hi}"));
    }
    if let Some(b) = q.building_id {
        let a = p.push(b);
        w.push(format!(
            "EXISTS (SELECT 1 FROM houses x WHERE x.tenant = h.tenant AND x.id = h.house_id \
             AND x.building_id = {a})"
        ));
    }
    if let Some(x) = q.place_prefix.as_deref().filter(|s| !s.is_empty()) {
        let pat = super::like_prefix(x);
        let (a, b, c) = (p.push(pat.clone()), p.push(pat.clone()), p.push(pat));
        w.push(format!(
            "EXISTS (SELECT 1 FROM houses x JOIN buildings b \
             ON b.tenant = x.tenant AND b.id = x.building_id \
             WHERE x.tenant = h.tenant AND x.id = h.house_id \
             AND (x.number LIKE {a} ESCAPE '\\' OR b.name LIKE {b} ESCAPE '\\' \
             OR b.address LIKE {c} ESCAPE '\\'))"
        ));
    }
    if let Some(b) = q.before {
        let a = p.push(b);
        w.push(format!("h.id < {a}"));
    }
    let l = p.push(q.limit);
    db.fetch_all(
        format!(
            "SELECT {HOUSEHOLD_COLS} FROM households h WHERE {} ORDER BY h.id DESC LIMIT {l}",
            w.join(" AND ")
        ),
        p.args,
        household_row,
    )
    .await
}

/// One household by id, within scope.
pub async fn household_in_scope(
    db: &Db,
    f: &ScopeFilter,
    tenant: &str,
    id: Uuid,
) -> Result<Option<HouseholdRow>, StoreError> {
    let mut p = Params::default();
    let t = p.push(tenant);
    let i = p.push(id);
    let scope = scope_sql(f, "h.unit_path", "h.unit_id", None, &mut p);
    db.fetch_optional(
        format!(
            "SELECT {HOUSEHOLD_COLS} FROM households h WHERE h.tenant = {t} AND h.id = {i} \
             AND {scope}"
        ),
        p.args,
        household_row,
    )
    .await
}

/// The members of these households within scope, every status (a household's history names
/// those who moved out too), ordered by household and id.
pub async fn members_of_households(
    db: &Db,
    f: &ScopeFilter,
    tenant: &str,
    households: &[Uuid],
) -> Result<Vec<ResidentRow>, StoreError> {
    let mut out = Vec::new();
    for chunk in households.chunks(500) {
        let mut p = Params::default();
        let t = p.push(tenant);
        let marks: Vec<String> = chunk.iter().map(|h| p.push(*h)).collect();
        let scope = scope_sql(f, "unit_path", "unit_id", None, &mut p);
        out.extend(
            db.fetch_all(
                format!(
                    "SELECT {RESIDENT_COLS} FROM residents WHERE tenant = {t} \
                     AND household_id IN ({}) AND {scope} ORDER BY household_id, id",
                    marks.join(", ")
                ),
                p.args,
                resident_row,
            )
            .await?,
        );
    }
    Ok(out)
}

/// The households living in these houses (the building page links them).
pub async fn households_in_houses(
    db: &Db,
    tenant: &str,
    houses: &[Uuid],
) -> Result<Vec<(Uuid, Uuid)>, StoreError> {
    let mut out = Vec::new();
    for chunk in houses.chunks(500) {
        let mut p = Params::default();
        let t = p.push(tenant);
        let marks: Vec<String> = chunk.iter().map(|h| p.push(*h)).collect();
        out.extend(
            db.fetch_all(
                format!(
                    "SELECT house_id, id FROM households WHERE tenant = {t} \
                     AND house_id IN ({}) ORDER BY id",
                    marks.join(", ")
                ),
                p.args,
                |r| Ok((r.uuid("house_id")?, r.uuid("id")?)),
            )
            .await?,
        );
    }
    Ok(out)
}

/// Insert organisation → building links in bulk (the demo loader; imports).
pub async fn insert_served_buildings(
    tx: &mut Tx,
    tenant: &str,
    links: &[(Uuid, Uuid)],
) -> Result<(), StoreError> {
    let rows = links.iter().map(|(o, b)| args![tenant, *o, *b]).collect();
    super::registry::insert_rows(
        tx,
        "organisation_buildings",
        "tenant, organisation_id, building_id",
        rows,
    )
    .await
}
