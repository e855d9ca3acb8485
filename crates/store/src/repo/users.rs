//! Staff and service accounts.

use linli_domain::Ts;
use linli_domain::auth::ScopeFilter;
use uuid::Uuid;

use super::{like_pattern, scope_sql};
use crate::args;
use crate::db::{Db, Params, Row, StoreError, Tx};

#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    /// `staff` or `service` (an integration account that acts through API tokens).
    pub kind: String,
    pub unit_id: Uuid,
    pub unit_path: String,
    pub password_hash: String,
    pub must_change_password: bool,
    pub disabled: bool,
    pub failed_count: i64,
    pub locked_until: Option<Ts>,
    pub totp_secret: Option<Vec<u8>>,
    pub totp_last_counter: Option<i64>,
    pub created_by: Option<Uuid>,
    pub created_at: Ts,
    pub updated_at: Ts,
    pub version: i64,
}

// Secrets never reach logs.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

const SELECT: &str = "SELECT id, username, display_name, kind, unit_id, unit_path, password_hash, must_change_password,
    disabled, failed_count, locked_until, totp_secret, totp_last_counter, created_by, created_at, updated_at, version
    FROM users";

/// The user columns as the session lookup joins them (`u.`-qualified; `id` is `u_id` and
/// `created_at` is `u_created_at`, which the session's own columns would otherwise shadow).
pub(crate) const JOINED_COLS: &str = "u.id AS u_id, u.username, u.display_name, u.kind, u.unit_id, u.unit_path,
    u.password_hash, u.must_change_password, u.disabled, u.failed_count, u.locked_until, u.totp_secret,
    u.totp_last_counter, u.created_by, u.created_at AS u_created_at, u.updated_at, u.version";

fn from_row(r: Row<'_>) -> Result<User, StoreError> {
    read(r, "id", "created_at")
}

/// A user from a row whose id and creation columns carry the given names.
pub(crate) fn read(r: Row<'_>, id: &str, created_at: &str) -> Result<User, StoreError> {
    Ok(User {
        id: r.uuid(id)?,
        username: r.text("username")?,
        display_name: r.text("display_name")?,
        kind: r.text("kind")?,
        unit_id: r.uuid("unit_id")?,
        unit_path: r.text("unit_path")?,
        password_hash: r.text("password_hash")?,
        must_change_password: r.bool("must_change_password")?,
        disabled: r.bool("disabled")?,
        failed_count: r.i64("failed_count")?,
        locked_until: r.opt_ts("locked_until")?,
        totp_secret: r.opt_bytes("totp_secret")?,
        totp_last_counter: r.opt_i64("totp_last_counter")?,
        created_by: r.opt_uuid("created_by")?,
        created_at: r.ts(created_at)?,
        updated_at: r.ts("updated_at")?,
        version: r.i64("version")?,
    })
}

pub async fn insert(tx: &mut Tx, u: &User) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO users (id, username, display_name, kind, unit_id, unit_path, password_hash, must_change_password,
            disabled, failed_count, locked_until, totp_secret, totp_last_counter, created_by, created_at, updated_at, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        args![
            u.id, u.username.clone(), u.display_name.clone(), u.kind.clone(), u.unit_id, u.unit_path.clone(),
            u.password_hash.clone(), u.must_change_password, u.disabled, u.failed_count, u.locked_until,
            u.totp_secret.clone(), u.totp_last_counter, u.created_by, u.created_at, u.updated_at, u.version
        ],
    )
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: Uuid) -> Result<Option<User>, StoreError> {
    db.fetch_optional(format!("{SELECT} WHERE id = $1"), args![id], from_row)
        .await
}

pub async fn get_tx(tx: &mut Tx, id: Uuid) -> Result<Option<User>, StoreError> {
    tx.fetch_optional(format!("{SELECT} WHERE id = $1"), args![id], from_row)
        .await
}

pub async fn by_username_tx(tx: &mut Tx, username: &str) -> Result<Option<User>, StoreError> {
    tx.fetch_optional(
        format!("{SELECT} WHERE username = $1"),
        args![username],
        from_row,
    )
    .await
}

pub async fn by_username(db: &Db, username: &str) -> Result<Option<User>, StoreError> {
    db.fetch_optional(
        format!("{SELECT} WHERE username = $1"),
        args![username],
        from_row,
    )
    .await
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub q: Option<String>,
    pub under: Option<String>,
    pub after_username: Option<String>,
    pub limit: i64,
}

/// Accounts homed in units the filter reaches, by username, keyset-paginated.
pub async fn list(db: &Db, f: &ScopeFilter, lq: &ListQuery) -> Result<Vec<User>, StoreError> {
    let mut p = Params::default();
    let mut wh = vec![scope_sql(f, "unit_path", "unit_id", Some("id"), &mut p)];
    if let Some(q) = lq.q.as_deref().filter(|q| !q.is_empty()) {
        let a = p.push(like_pattern(q));
        wh.push(format!(
            "(username LIKE {a} ESCAPE '\\' OR display_name LIKE {a} ESCAPE '\\')"
        ));
    }
    if let Some(u) = &lq.under {
        let a = p.push(u.clone());
        let b = p.push(linli_domain::org::subtree_upper(u));
        wh.push(format!("unit_path >= {a} AND unit_path < {b}"));
    }
    if let Some(after) = &lq.after_username {
        wh.push(format!("username > {}", p.push(after.clone())));
    }
    let lim = p.push(lq.limit);
    let sql = format!(
        "{SELECT} WHERE {} ORDER BY username LIMIT {lim}",
        wh.join(" AND ")
    );
    db.fetch_all(sql, p.args, from_row).await
}

pub async fn record_failure(
    tx: &mut Tx,
    id: Uuid,
    failed: i64,
    locked_until: Option<Ts>,
    now: Ts,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE users SET failed_count = $1, locked_until = $2, updated_at = $3 WHERE id = $4",
        args![failed, locked_until, now, id],
    )
    .await?;
    Ok(())
}

pub async fn record_success(tx: &mut Tx, id: Uuid, now: Ts) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE users SET failed_count = 0, locked_until = NULL, updated_at = $1 WHERE id = $2",
        args![now, id],
    )
    .await?;
    Ok(())
}

pub async fn set_password(
    tx: &mut Tx,
    id: Uuid,
    hash: &str,
    must_change: bool,
    now: Ts,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE users SET password_hash = $1, must_change_password = $2, failed_count = 0, locked_until = NULL,
            updated_at = $3, version = version + 1 WHERE id = $4",
        args![hash, must_change, now, id],
    )
    .await?;
    Ok(())
}

pub async fn set_disabled(
    tx: &mut Tx,
    id: Uuid,
    disabled: bool,
    now: Ts,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE users SET disabled = $1, updated_at = $2, version = version + 1 WHERE id = $3",
        args![disabled, now, id],
    )
    .await?;
    Ok(())
}

pub async fn unlock(tx: &mut Tx, id: Uuid, now: Ts) -> Result<(), StoreError> {
    record_success(tx, id, now).await
}

pub async fn set_totp(
    tx: &mut Tx,
    id: Uuid,
    secret: Option<Vec<u8>>,
    last_counter: Option<i64>,
    now: Ts,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE users SET totp_secret = $1, totp_last_counter = $2, updated_at = $3, version = version + 1 WHERE id = $4",
        args![secret, last_counter, now, id],
    )
    .await?;
    Ok(())
}

/// Record the TOTP counter just used, only if it is newer than the last one (a code works once
/// even when two requests race).
pub async fn use_totp_counter(tx: &mut Tx, id: Uuid, counter: i64) -> Result<bool, StoreError> {
    let n = tx
        .execute(
            "UPDATE users SET totp_last_counter = $1 WHERE id = $2 AND (totp_last_counter IS NULL OR totp_last_counter < $1)",
            args![counter, id],
        )
        .await?;
    Ok(n == 1)
}

/// Usernames of the given accounts, in one query (for labelling audit targets).
pub async fn usernames(db: &Db, ids: &[Uuid]) -> Result<Vec<(Uuid, String)>, StoreError> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut p = Params::default();
    let list: Vec<String> = ids.iter().take(1000).map(|i| p.push(*i)).collect();
    let sql = format!(
        "SELECT id, username FROM users WHERE id IN ({})",
        list.join(", ")
    );
    db.fetch_all(sql, p.args, |r| Ok((r.uuid("id")?, r.text("username")?)))
        .await
}
