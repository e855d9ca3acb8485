//! Org units: the administrative tree and departments.

use linli_domain::Ts;
use linli_domain::auth::ScopeFilter;
use linli_domain::org::OrgKind;
use uuid::Uuid;

use super::{like_pattern, like_prefix, scope_sql};
use crate::args;
use crate::db::{Db, Params, Row, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgUnit {
    pub tenant: String,
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub kind: OrgKind,
    pub code: String,
    pub name: String,
    pub path: String,
    pub depth: i64,
    pub subtype: String,
    pub source: String,
    pub active: bool,
    pub created_at: Ts,
    pub updated_at: Ts,
    pub version: i64,
}

pub const COLUMNS: &str = "tenant, id, parent_id, kind, code, name, path, depth, subtype, source, active, created_at, updated_at, version";

pub fn from_row(r: Row<'_>) -> Result<OrgUnit, StoreError> {
    let kind_s = r.text("kind")?;
    Ok(OrgUnit {
        tenant: r.text("tenant")?,
        id: r.uuid("id")?,
        parent_id: r.opt_uuid("parent_id")?,
        kind: OrgKind::parse(&kind_s).ok_or_else(|| StoreError::Decode {
            column: "kind".into(),
            message: kind_s.clone(),
        })?,
        code: r.text("code")?,
        name: r.text("name")?,
        path: r.text("path")?,
        depth: r.i64("depth")?,
        subtype: r.text("subtype")?,
        source: r.text("source")?,
        active: r.bool("active")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
        version: r.i64("version")?,
    })
}

pub async fn insert(tx: &mut Tx, u: &OrgUnit) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO org_units (tenant, id, parent_id, kind, code, name, path, depth, subtype, source, active, created_at, updated_at, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        args![
            u.tenant.clone(), u.id, u.parent_id, u.kind.as_str(), u.code.clone(), u.name.clone(), u.path.clone(),
            u.depth, u.subtype.clone(), u.source.clone(), u.active, u.created_at, u.updated_at, u.version
        ],
    )
    .await?;
    Ok(())
}

/// By id, without scope: callers check the returned row's path against the principal.
pub async fn get(db: &Db, id: Uuid) -> Result<Option<OrgUnit>, StoreError> {
    db.fetch_optional(
        "SELECT tenant, id, parent_id, kind, code, name, path, depth, subtype, source, active, created_at, updated_at, version
         FROM org_units WHERE id = $1",
        args![id],
        from_row,
    )
    .await
}

pub async fn get_tx(tx: &mut Tx, id: Uuid) -> Result<Option<OrgUnit>, StoreError> {
    tx.fetch_optional(
        "SELECT tenant, id, parent_id, kind, code, name, path, depth, subtype, source, active, created_at, updated_at, version
         FROM org_units WHERE id = $1",
        args![id],
        from_row,
    )
    .await
}

pub async fn get_by_code(db: &Db, code: &str) -> Result<Option<OrgUnit>, StoreError> {
    db.fetch_optional(
        "SELECT tenant, id, parent_id, kind, code, name, path, depth, subtype, source, active, created_at, updated_at, version
         FROM org_units WHERE tenant = $1 AND code = $2",
        args![linli_domain::org::tenant_of(code), code],
        from_row,
    )
    .await
}

pub async fn root(db: &Db) -> Result<Option<OrgUnit>, StoreError> {
    db.fetch_optional(
        "SELECT tenant, id, parent_id, kind, code, name, path, depth, subtype, source, active, created_at, updated_at, version
         FROM org_units WHERE tenant = '000000' AND kind = 'root'",
        vec![],
        from_row,
    )
    .await
}

/// A unit with the number of its direct children and of the staff accounts homed there.
#[derive(Debug, Clone)]
pub struct UnitWithCounts {
    pub unit: OrgUnit,
    pub children: i64,
    pub users: i64,
}

/// Direct children of `parent` that the filter reaches, departments last, in code order.
pub async fn children(
    db: &Db,
    parent: Uuid,
    f: &ScopeFilter,
) -> Result<Vec<UnitWithCounts>, StoreError> {
    let mut p = Params::default();
    let par = p.push(parent);
    let scope = scope_sql(f, "o.path", "o.id", None, &mut p);
    let sql = format!(
        "SELECT o.tenant, o.id, o.parent_id, o.kind, o.code, o.name, o.path, o.depth, o.subtype, o.source, o.active,
                o.created_at, o.updated_at, o.version,
                (SELECT COUNT(*) FROM org_units c WHERE c.parent_id = o.id) AS n_children,
                (SELECT COUNT(*) FROM users u WHERE u.unit_id = o.id) AS n_users
         FROM org_units o
         WHERE o.parent_id = {par} AND {scope}
         ORDER BY CASE WHEN o.kind = 'department' THEN 1 ELSE 0 END, o.code
         LIMIT 2000"
    );
    db.fetch_all(sql, p.args, |r| {
        Ok(UnitWithCounts {
            children: r.i64("n_children")?,
            users: r.i64("n_users")?,
            unit: from_row(r)?,
        })
    })
    .await
}

/// Units by id, in no particular order, with counts (for the roots of a user's tree).
pub async fn with_counts(db: &Db, ids: &[Uuid]) -> Result<Vec<UnitWithCounts>, StoreError> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut p = Params::default();
    let list: Vec<String> = ids.iter().map(|i| p.push(*i)).collect();
    let sql = format!(
        "SELECT o.tenant, o.id, o.parent_id, o.kind, o.code, o.name, o.path, o.depth, o.subtype, o.source, o.active,
                o.created_at, o.updated_at, o.version,
                (SELECT COUNT(*) FROM org_units c WHERE c.parent_id = o.id) AS n_children,
                (SELECT COUNT(*) FROM users u WHERE u.unit_id = o.id) AS n_users
         FROM org_units o WHERE o.id IN ({}) ORDER BY o.path",
        list.join(", ")
    );
    db.fetch_all(sql, p.args, |r| {
        Ok(UnitWithCounts {
            children: r.i64("n_children")?,
            users: r.i64("n_users")?,
            unit: from_row(r)?,
        })
    })
    .await
}

/// How many units of each kind lie strictly below `path`.
pub async fn descendant_counts(db: &Db, path: &str) -> Result<Vec<(OrgKind, i64)>, StoreError> {
    let upper = linli_domain::org::subtree_upper(path);
    db.fetch_all(
        "SELECT kind, COUNT(*) AS n FROM org_units WHERE path > $1 AND path < $2 GROUP BY kind",
        args![path, upper],
        |r| {
            let k = r.text("kind")?;
            Ok((
                OrgKind::parse(&k).unwrap_or(OrgKind::Department),
                r.i64("n")?,
            ))
        },
    )
    .await
}

/// The chain from the root down to `u` (inclusive), for breadcrumbs.
pub async fn ancestors(db: &Db, u: &OrgUnit) -> Result<Vec<OrgUnit>, StoreError> {
    let mut prefixes = Vec::new();
    let mut acc = String::from("/");
    prefixes.push(acc.clone());
    for seg in u
        .path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
    {
        acc.push_str(seg);
        acc.push('/');
        prefixes.push(acc.clone());
    }
    let mut p = Params::default();
    let list: Vec<String> = prefixes.iter().map(|x| p.push(x.clone())).collect();
    let sql = format!(
        "SELECT tenant, id, parent_id, kind, code, name, path, depth, subtype, source, active, created_at, updated_at, version
         FROM org_units WHERE path IN ({}) ORDER BY depth",
        list.join(", ")
    );
    db.fetch_all(sql, p.args, from_row).await
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub kind: Option<OrgKind>,
    pub q: Option<String>,
    pub under: Option<String>,
    pub after_path: Option<String>,
    pub limit: i64,
}

/// Units the filter reaches, by path (tree order), with keyset pagination on path.
pub async fn list(db: &Db, f: &ScopeFilter, lq: &ListQuery) -> Result<Vec<OrgUnit>, StoreError> {
    let mut p = Params::default();
    let mut wh = vec![scope_sql(f, "path", "id", None, &mut p)];
    if let Some(k) = lq.kind {
        wh.push(format!("kind = {}", p.push(k.as_str())));
    }
    if let Some(q) = lq.q.as_deref().filter(|q| !q.is_empty()) {
        let a = p.push(like_pattern(q));
        let b = p.push(like_prefix(q));
        wh.push(format!(
            "(name LIKE {a} ESCAPE '\\' OR code LIKE {b} ESCAPE '\\')"
        ));
    }
    if let Some(u) = &lq.under {
        let a = p.push(u.clone());
        let b = p.push(linli_domain::org::subtree_upper(u));
        wh.push(format!("path >= {a} AND path < {b}"));
    }
    if let Some(after) = &lq.after_path {
        wh.push(format!("path > {}", p.push(after.clone())));
    }
    let lim = p.push(lq.limit);
    let sql = format!(
        "SELECT tenant, id, parent_id, kind, code, name, path, depth, subtype, source, active, created_at, updated_at, version
         FROM org_units WHERE {} ORDER BY path LIMIT {lim}",
        wh.join(" AND ")
    );
    db.fetch_all(sql, p.args, from_row).await
}

/// Rename (and optionally (de)activate) a unit if it is still at `expected_version`.
/// Returns false when the version moved on (a concurrent edit).
pub async fn update(
    tx: &mut Tx,
    id: Uuid,
    expected_version: i64,
    name: &str,
    active: bool,
    now: Ts,
) -> Result<bool, StoreError> {
    let n = tx
        .execute(
            "UPDATE org_units SET name = $1, active = $2, updated_at = $3, version = version + 1
             WHERE id = $4 AND version = $5",
            args![name, active, now, id, expected_version],
        )
        .await?;
    Ok(n == 1)
}

/// All units of one kind under a path prefix, as (code → (id, name, parent_id, path)), for the
/// importer's diff. Memory: ~150 bytes a row; 620k villages stay under 100 MB.
pub async fn codes_of_kind(
    tx: &mut Tx,
    kind: OrgKind,
) -> Result<Vec<(String, Uuid, String, Option<Uuid>, String)>, StoreError> {
    tx.fetch_all(
        "SELECT code, id, name, parent_id, path FROM org_units WHERE kind = $1",
        args![kind.as_str()],
        |r| {
            Ok((
                r.text("code")?,
                r.uuid("id")?,
                r.text("name")?,
                r.opt_uuid("parent_id")?,
                r.text("path")?,
            ))
        },
    )
    .await
}

pub async fn count_all(db: &Db) -> Result<i64, StoreError> {
    db.fetch_one_i64("SELECT COUNT(*) AS n FROM org_units", vec![])
        .await
}

/// Names of the given units that the filter reaches (plus `always`, e.g. the caller's own
/// unit), in one query.
pub async fn names(
    db: &Db,
    ids: &[Uuid],
    f: &ScopeFilter,
    always: Uuid,
) -> Result<Vec<(Uuid, String)>, StoreError> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut p = Params::default();
    let list: Vec<String> = ids.iter().take(1000).map(|i| p.push(*i)).collect();
    let scope = scope_sql(f, "path", "id", None, &mut p);
    let own = p.push(always);
    let sql = format!(
        "SELECT id, name FROM org_units WHERE id IN ({}) AND ({scope} OR id = {own})",
        list.join(", ")
    );
    db.fetch_all(sql, p.args, |r| Ok((r.uuid("id")?, r.text("name")?)))
        .await
}

/// `(code, name, kind)` of every active administrative unit (province to community), for
/// building the address resolver's gazetteer.
pub async fn division_units(db: &Db) -> Result<Vec<(String, String, OrgKind)>, StoreError> {
    db.fetch_all(
        "SELECT code, name, kind FROM org_units
         WHERE active = TRUE AND kind IN ('province', 'city', 'district', 'street', 'community')
         ORDER BY code",
        Vec::new(),
        |r| {
            let kind = r.text("kind")?;
            Ok((
                r.text("code")?,
                r.text("name")?,
                OrgKind::parse(&kind).ok_or_else(|| StoreError::Decode {
                    column: "kind".into(),
                    message: format!("unknown org kind {kind:?}"),
                })?,
            ))
        },
    )
    .await
}
