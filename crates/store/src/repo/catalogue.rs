//! Catalogue versions and their items (派单目录). A version is written once with all its items
//! and never edited; activating one retires the one before, so exactly one version of a kind is
//! active per tenant. Items are read by id from any version: a case keeps pointing at the item
//! it was dispatched with.
//!
//! Every function takes the tenant and reads only that tenant's rows; the app checks that the
//! caller may see the tenant's catalogue before calling.

use linli_domain::Ts;
use linli_domain::org::OrgKind;
use uuid::Uuid;

use super::like_pattern;
use crate::args;
use crate::db::{Db, Params, Row, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub tenant: String,
    pub id: Uuid,
    /// `dispatch` or `whistle`.
    pub kind: String,
    /// 1, 2, … per tenant and kind.
    pub version: i64,
    /// `draft`, `active` or `retired`.
    pub status: String,
    pub source: String,
    pub note: String,
    pub item_count: i64,
    pub created_by: Option<Uuid>,
    pub created_at: Ts,
    pub activated_at: Option<Ts>,
}

const VERSION_COLS: &str = "tenant, id, kind, version, status, source, note, item_count, created_by, created_at, activated_at";

fn version_row(r: Row<'_>) -> Result<Version, StoreError> {
    Ok(Version {
        tenant: r.text("tenant")?,
        id: r.uuid("id")?,
        kind: r.text("kind")?,
        version: r.i64("version")?,
        status: r.text("status")?,
        source: r.text("source")?,
        note: r.text("note")?,
        item_count: r.i64("item_count")?,
        created_by: r.opt_uuid("created_by")?,
        created_at: r.ts("created_at")?,
        activated_at: r.opt_ts("activated_at")?,
    })
}

/// One stored node. Limits are kept in their text form (`24h`, `5wd`, empty for "default").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
    pub tenant: String,
    pub version_id: Uuid,
    pub id: Uuid,
    pub code: String,
    pub parent_code: String,
    pub level: i64,
    pub name: String,
    pub full_name: String,
    /// An [`OrgKind`] key or empty.
    pub handler_kind: String,
    pub handler_code: String,
    /// An urgency key.
    pub urgency: String,
    pub sign_limit: String,
    pub contact_limit: String,
    pub limit_normal: String,
    pub limit_urgent: String,
    pub limit_critical: String,
    pub community_may: bool,
    pub keywords: String,
}

const ITEM_COLS: &str = "tenant, version_id, id, code, parent_code, level, name, full_name, handler_kind, handler_code, urgency, sign_limit, contact_limit, limit_normal, limit_urgent, limit_critical, community_may, keywords";

fn item_row(r: Row<'_>) -> Result<ItemRow, StoreError> {
    Ok(ItemRow {
        tenant: r.text("tenant")?,
        version_id: r.uuid("version_id")?,
        id: r.uuid("id")?,
        code: r.text("code")?,
        parent_code: r.text("parent_code")?,
        level: r.i64("level")?,
        name: r.text("name")?,
        full_name: r.text("full_name")?,
        handler_kind: r.text("handler_kind")?,
        handler_code: r.text("handler_code")?,
        urgency: r.text("urgency")?,
        sign_limit: r.text("sign_limit")?,
        contact_limit: r.text("contact_limit")?,
        limit_normal: r.text("limit_normal")?,
        limit_urgent: r.text("limit_urgent")?,
        limit_critical: r.text("limit_critical")?,
        community_may: r.bool("community_may")?,
        keywords: r.text("keywords")?,
    })
}

/// The number the next version of this kind gets. Two imports racing for the same number meet
/// the unique index `catalogue_versions_number`; the loser is told to retry.
pub async fn next_number(tx: &mut Tx, tenant: &str, kind: &str) -> Result<i64, StoreError> {
    let n = tx
        .fetch_one_i64(
            "SELECT COALESCE(MAX(version), 0) AS n FROM catalogue_versions WHERE tenant = $1 AND kind = $2",
            args![tenant, kind],
        )
        .await?;
    Ok(n + 1)
}

pub async fn insert_version(tx: &mut Tx, v: &Version) -> Result<(), StoreError> {
    tx.execute(
        format!(
            "INSERT INTO catalogue_versions ({VERSION_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ),
        args![
            v.tenant.clone(),
            v.id,
            v.kind.clone(),
            v.version,
            v.status.clone(),
            v.source.clone(),
            v.note.clone(),
            v.item_count,
            v.created_by,
            v.created_at,
            v.activated_at
        ],
    )
    .await?;
    Ok(())
}

/// Rows per INSERT: 18 columns × 300 = 5,400 parameters, under both engines' limits.
const BATCH: usize = 300;

/// Multi-row INSERTs of a version's items.
pub async fn insert_items(tx: &mut Tx, items: &[ItemRow]) -> Result<(), StoreError> {
    for chunk in items.chunks(BATCH) {
        let mut p = Params::default();
        let mut values = Vec::with_capacity(chunk.len());
        for i in chunk {
            let cols = [
                p.push(i.tenant.clone()),
                p.push(i.version_id),
                p.push(i.id),
                p.push(i.code.clone()),
                p.push(i.parent_code.clone()),
                p.push(i.level),
                p.push(i.name.clone()),
                p.push(i.full_name.clone()),
                p.push(i.handler_kind.clone()),
                p.push(i.handler_code.clone()),
                p.push(i.urgency.clone()),
                p.push(i.sign_limit.clone()),
                p.push(i.contact_limit.clone()),
                p.push(i.limit_normal.clone()),
                p.push(i.limit_urgent.clone()),
                p.push(i.limit_critical.clone()),
                p.push(i.community_may),
                p.push(i.keywords.clone()),
            ];
            values.push(format!("({})", cols.join(", ")));
        }
        let sql = format!(
            "INSERT INTO catalogue_items ({ITEM_COLS}) VALUES {}",
            values.join(", ")
        );
        tx.execute(sql, p.args).await?;
    }
    Ok(())
}

/// Versions of a kind, newest first; `before` (a version number) pages further back.
pub async fn list_versions(
    db: &Db,
    tenant: &str,
    kind: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Version>, StoreError> {
    db.fetch_all(
        format!(
            "SELECT {VERSION_COLS} FROM catalogue_versions
             WHERE tenant = $1 AND kind = $2 AND version < $3
             ORDER BY version DESC LIMIT $4"
        ),
        args![tenant, kind, before.unwrap_or(i64::MAX), limit],
        version_row,
    )
    .await
}

pub async fn get_version(db: &Db, tenant: &str, id: Uuid) -> Result<Option<Version>, StoreError> {
    db.fetch_optional(
        format!("SELECT {VERSION_COLS} FROM catalogue_versions WHERE tenant = $1 AND id = $2"),
        args![tenant, id],
        version_row,
    )
    .await
}

pub async fn active_version(
    db: &Db,
    tenant: &str,
    kind: &str,
) -> Result<Option<Version>, StoreError> {
    db.fetch_optional(
        format!(
            "SELECT {VERSION_COLS} FROM catalogue_versions
             WHERE tenant = $1 AND kind = $2 AND status = 'active'
             ORDER BY version DESC LIMIT 1"
        ),
        args![tenant, kind],
        version_row,
    )
    .await
}

/// The tenants with an active catalogue of `kind`.
pub async fn tenants_with_active(db: &Db, kind: &str) -> Result<Vec<String>, StoreError> {
    db.fetch_all(
        "SELECT DISTINCT tenant FROM catalogue_versions WHERE kind = $1 AND status = 'active' ORDER BY tenant",
        args![kind],
        |r| r.text("tenant"),
    )
    .await
}

pub async fn count_versions(db: &Db, tenant: &str, kind: &str) -> Result<i64, StoreError> {
    db.fetch_one_i64(
        "SELECT COUNT(*) AS n FROM catalogue_versions WHERE tenant = $1 AND kind = $2",
        args![tenant, kind],
    )
    .await
}

/// Make `id` the active version of its kind and retire the one that was. Returns false when
/// there is no such version or it already is the active one.
///
/// The first statement touches every version row of the tenant and kind, so concurrent
/// activations (and imports that activate) queue behind each other on the row locks and each
/// sees the other's result: never two active versions.
pub async fn activate(
    tx: &mut Tx,
    tenant: &str,
    kind: &str,
    id: Uuid,
    now: Ts,
) -> Result<bool, StoreError> {
    tx.execute(
        "UPDATE catalogue_versions SET status = status WHERE tenant = $1 AND kind = $2",
        args![tenant, kind],
    )
    .await?;
    let n = tx
        .execute(
            "UPDATE catalogue_versions SET status = 'active', activated_at = $1
             WHERE tenant = $2 AND kind = $3 AND id = $4 AND status <> 'active'",
            args![now, tenant, kind, id],
        )
        .await?;
    if n == 0 {
        return Ok(false);
    }
    tx.execute(
        "UPDATE catalogue_versions SET status = 'retired'
         WHERE tenant = $1 AND kind = $2 AND status = 'active' AND id <> $3",
        args![tenant, kind, id],
    )
    .await?;
    Ok(true)
}

/// One item by id, in whichever version it belongs to.
pub async fn get_item(db: &Db, tenant: &str, id: Uuid) -> Result<Option<ItemRow>, StoreError> {
    db.fetch_optional(
        format!("SELECT {ITEM_COLS} FROM catalogue_items WHERE tenant = $1 AND id = $2"),
        args![tenant, id],
        item_row,
    )
    .await
}

/// One item by code within a version.
pub async fn item_by_code(
    db: &Db,
    tenant: &str,
    version_id: Uuid,
    code: &str,
) -> Result<Option<ItemRow>, StoreError> {
    db.fetch_optional(
        format!(
            "SELECT {ITEM_COLS} FROM catalogue_items WHERE tenant = $1 AND version_id = $2 AND code = $3"
        ),
        args![tenant, version_id, code],
        item_row,
    )
    .await
}

/// The direct children of `parent_code` (empty for the top level) with their own child counts,
/// in code order.
pub async fn children(
    db: &Db,
    tenant: &str,
    version_id: Uuid,
    parent_code: &str,
) -> Result<Vec<(ItemRow, i64)>, StoreError> {
    let cols: String = ITEM_COLS
        .split(", ")
        .map(|c| format!("i.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    db.fetch_all(
        format!(
            "SELECT {cols},
                    (SELECT COUNT(*) FROM catalogue_items c
                     WHERE c.tenant = i.tenant AND c.version_id = i.version_id AND c.parent_code = i.code) AS n_children
             FROM catalogue_items i
             WHERE i.tenant = $1 AND i.version_id = $2 AND i.parent_code = $3
             ORDER BY i.code LIMIT 2000"
        ),
        args![tenant, version_id, parent_code],
        |r| {
            let n = r.i64("n_children")?;
            Ok((item_row(r)?, n))
        },
    )
    .await
}

/// Leaves of a version whose name, path or keywords contain every one of `terms`; leaves whose
/// own name contains the first term come first.
pub async fn search_leaves(
    db: &Db,
    tenant: &str,
    version_id: Uuid,
    terms: &[String],
    limit: i64,
) -> Result<Vec<ItemRow>, StoreError> {
    let mut p = Params::default();
    let t = p.push(tenant);
    let v = p.push(version_id);
    let mut wh = vec![
        format!("tenant = {t}"),
        format!("version_id = {v}"),
        "level = 3".to_string(),
    ];
    let mut first = None;
    for term in terms {
        let a = p.push(like_pattern(term));
        first.get_or_insert(a.clone());
        wh.push(format!(
            "(full_name LIKE {a} ESCAPE '\\' OR keywords LIKE {a} ESCAPE '\\')"
        ));
    }
    let rank = match first {
        Some(a) => format!("CASE WHEN name LIKE {a} ESCAPE '\\' THEN 0 ELSE 1 END, "),
        None => String::new(),
    };
    let lim = p.push(limit);
    let sql = format!(
        "SELECT {ITEM_COLS} FROM catalogue_items WHERE {} ORDER BY {rank}code LIMIT {lim}",
        wh.join(" AND ")
    );
    db.fetch_all(sql, p.args, item_row).await
}

/// Every item of a version, in code order (tree order: a parent's code sorts before its
/// children's).
pub async fn items(db: &Db, tenant: &str, version_id: Uuid) -> Result<Vec<ItemRow>, StoreError> {
    db.fetch_all(
        format!(
            "SELECT {ITEM_COLS} FROM catalogue_items WHERE tenant = $1 AND version_id = $2 ORDER BY code"
        ),
        args![tenant, version_id],
        item_row,
    )
    .await
}

/// Org units of the tenant with the given codes, as (code, kind, name): the importer checks a
/// file's responsible units against them.
pub async fn units_by_codes(
    db: &Db,
    tenant: &str,
    codes: &[String],
) -> Result<Vec<(String, OrgKind, String)>, StoreError> {
    if codes.is_empty() {
        return Ok(vec![]);
    }
    let mut out = Vec::new();
    for chunk in codes.chunks(500) {
        let mut p = Params::default();
        let t = p.push(tenant);
        let list: Vec<String> = chunk.iter().map(|c| p.push(c.clone())).collect();
        let sql = format!(
            "SELECT code, kind, name FROM org_units WHERE tenant = {t} AND code IN ({})",
            list.join(", ")
        );
        let rows = db
            .fetch_all(sql, p.args, |r| {
                let k = r.text("kind")?;
                let kind = OrgKind::parse(&k).ok_or_else(|| StoreError::Decode {
                    column: "kind".into(),
                    message: k,
                })?;
                Ok((r.text("code")?, kind, r.text("name")?))
            })
            .await?;
        out.extend(rows);
    }
    Ok(out)
}
