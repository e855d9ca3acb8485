//! API tokens for integrations: `Authorization: Bearer linli_…`. Stored as SHA-256 only.

use linli_domain::Ts;
use uuid::Uuid;

use crate::args;
use crate::db::{Db, Row, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the token, shown so people can tell tokens apart.
    pub prefix: String,
    pub user_id: Uuid,
    pub username: String,
    pub unit_id: Uuid,
    pub unit_name: String,
    pub unit_path: String,
    pub created_by: Uuid,
    pub created_at: Ts,
    pub expires_at: Option<Ts>,
    pub revoked_at: Option<Ts>,
    pub last_used_at: Option<Ts>,
    /// The resident fields granted, comma-separated keys; None: all.
    pub registry_fields: Option<String>,
}

const SELECT: &str = "SELECT t.id, t.name, t.prefix, t.user_id, u.username, t.unit_id, o.name AS unit_name, t.unit_path,
    t.created_by, t.created_at, t.expires_at, t.revoked_at, t.last_used_at, t.registry_fields
    FROM api_tokens t JOIN users u ON u.id = t.user_id JOIN org_units o ON o.id = t.unit_id";

fn from_row(r: Row<'_>) -> Result<ApiToken, StoreError> {
    Ok(ApiToken {
        id: r.uuid("id")?,
        name: r.text("name")?,
        prefix: r.text("prefix")?,
        user_id: r.uuid("user_id")?,
        username: r.text("username")?,
        unit_id: r.uuid("unit_id")?,
        unit_name: r.text("unit_name")?,
        unit_path: r.text("unit_path")?,
        created_by: r.uuid("created_by")?,
        created_at: r.ts("created_at")?,
        expires_at: r.opt_ts("expires_at")?,
        revoked_at: r.opt_ts("revoked_at")?,
        last_used_at: r.opt_ts("last_used_at")?,
        registry_fields: r.opt_text("registry_fields")?,
    })
}

#[allow(clippy::too_many_arguments)]
pub async fn insert(
    tx: &mut Tx,
    id: Uuid,
    name: &str,
    token_hash: &[u8],
    prefix: &str,
    user_id: Uuid,
    unit_id: Uuid,
    unit_path: &str,
    created_by: Uuid,
    now: Ts,
    expires_at: Option<Ts>,
    registry_fields: Option<&str>,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO api_tokens (id, name, token_hash, prefix, user_id, unit_id, unit_path, created_by, created_at, expires_at, registry_fields)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        args![id, name, token_hash, prefix, user_id, unit_id, unit_path, created_by, now, expires_at, registry_fields],
    )
    .await?;
    Ok(())
}

pub async fn by_hash(db: &Db, hash: &[u8]) -> Result<Option<ApiToken>, StoreError> {
    db.fetch_optional(
        format!("{SELECT} WHERE t.token_hash = $1"),
        args![hash],
        from_row,
    )
    .await
}

pub async fn get_tx(tx: &mut Tx, id: Uuid) -> Result<Option<ApiToken>, StoreError> {
    tx.fetch_optional(format!("{SELECT} WHERE t.id = $1"), args![id], from_row)
        .await
}

pub async fn list(db: &Db) -> Result<Vec<ApiToken>, StoreError> {
    db.fetch_all(
        format!("{SELECT} ORDER BY t.created_at DESC LIMIT 500"),
        vec![],
        from_row,
    )
    .await
}

pub async fn revoke(tx: &mut Tx, id: Uuid, now: Ts) -> Result<bool, StoreError> {
    Ok(tx
        .execute(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            args![now, id],
        )
        .await?
        == 1)
}

pub async fn touch(db: &Db, id: Uuid, now: Ts) -> Result<(), StoreError> {
    db.execute(
        "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        args![now, id, now.plus_secs(-60)],
    )
    .await?;
    Ok(())
}
