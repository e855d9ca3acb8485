//! What the database knows of the keyring: one check value per data key (a constant sealed under
//! it) and the blind index of a constant under the index key (row 0), so that a server started
//! with a missing or wrong key file stops instead of sealing under a new key; and the batches of
//! sealed values that key rotation re-encrypts. Table and column names come from the code's own
//! list of sealed columns, never from input.

use linli_domain::Ts;
use uuid::Uuid;

use crate::args;
use crate::db::{Db, StoreError};

pub struct Check {
    pub key_id: u32,
    pub value: Vec<u8>,
}

pub async fn checks(db: &Db) -> Result<Vec<Check>, StoreError> {
    db.fetch_all(
        "SELECT key_id, check_value FROM key_checks ORDER BY key_id",
        vec![],
        |r| {
            Ok(Check {
                key_id: u32::try_from(r.i64("key_id")?).unwrap_or(u32::MAX),
                value: r.bytes("check_value")?,
            })
        },
    )
    .await
}

/// Record a check value unless one is there (several servers may start at once).
pub async fn insert_check(db: &Db, key_id: u32, value: &[u8], now: Ts) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO key_checks (key_id, check_value, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key_id) DO NOTHING",
        args![i64::from(key_id), value.to_vec(), now.0],
    )
    .await
    .map(|_| ())
}

pub async fn delete_check(db: &Db, key_id: u32) -> Result<(), StoreError> {
    db.execute(
        "DELETE FROM key_checks WHERE key_id = $1",
        args![i64::from(key_id)],
    )
    .await
    .map(|_| ())
}

/// Up to `limit` non-null sealed values of `table.column` with ids after `after`, in id order.
pub async fn sealed_batch(
    db: &Db,
    table: &str,
    column: &str,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<(Uuid, Vec<u8>)>, StoreError> {
    let sql = match after {
        Some(_) => format!(
            "SELECT id, {column} AS v FROM {table} WHERE {column} IS NOT NULL AND id > $1 \
             ORDER BY id LIMIT $2"
        ),
        None => format!(
            "SELECT id, {column} AS v FROM {table} WHERE {column} IS NOT NULL \
             ORDER BY id LIMIT $1"
        ),
    };
    let mut a = Vec::new();
    if let Some(id) = after {
        a.push(id.into());
    }
    a.push(limit.into());
    db.fetch_all(sql, a, |r| Ok((r.uuid("id")?, r.bytes("v")?)))
        .await
}

/// Replace one sealed value if it is still the one read (a concurrent edit wins).
pub async fn reseal(
    db: &Db,
    table: &str,
    column: &str,
    id: Uuid,
    old: &[u8],
    new: &[u8],
) -> Result<bool, StoreError> {
    let n = db
        .execute(
            format!("UPDATE {table} SET {column} = $1 WHERE id = $2 AND {column} = $3"),
            args![new.to_vec(), id, old.to_vec()],
        )
        .await?;
    Ok(n == 1)
}
