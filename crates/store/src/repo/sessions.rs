//! Server-side sessions. The cookie carries a random token; only its SHA-256 is stored, so a
//! copy of the database does not let anyone log in.

use linli_domain::Ts;
use uuid::Uuid;

use super::users::{self, User};
use crate::args;
use crate::db::{Db, Row, StoreError, Tx};

/// `active` sessions may do anything their user may; `totp` and `totp_enrol` sessions are
/// half-open: they may only finish the second-factor step.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    pub id: Uuid,
    pub user_id: Uuid,
    pub stage: String,
    pub csrf_token: String,
    pub pending_secret: Option<Vec<u8>>,
    pub created_at: Ts,
    pub last_seen_at: Ts,
    pub expires_at: Ts,
    pub ip: String,
    pub user_agent: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

const SELECT: &str = "SELECT id, user_id, stage, csrf_token, pending_secret, created_at, last_seen_at, expires_at, ip, user_agent FROM sessions";

fn from_row(r: Row<'_>) -> Result<Session, StoreError> {
    Ok(Session {
        id: r.uuid("id")?,
        user_id: r.uuid("user_id")?,
        stage: r.text("stage")?,
        csrf_token: r.text("csrf_token")?,
        pending_secret: r.opt_bytes("pending_secret")?,
        created_at: r.ts("created_at")?,
        last_seen_at: r.ts("last_seen_at")?,
        expires_at: r.ts("expires_at")?,
        ip: r.text("ip")?,
        user_agent: r.text("user_agent")?,
    })
}

pub async fn insert(tx: &mut Tx, s: &Session, token_hash: &[u8]) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO sessions (id, token_hash, user_id, stage, csrf_token, pending_secret, created_at, last_seen_at, expires_at, ip, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        args![
            s.id, token_hash, s.user_id, s.stage.clone(), s.csrf_token.clone(), s.pending_secret.clone(),
            s.created_at, s.last_seen_at, s.expires_at, s.ip.clone(), s.user_agent.clone()
        ],
    )
    .await?;
    Ok(())
}

pub async fn by_token_hash(db: &Db, token_hash: &[u8]) -> Result<Option<Session>, StoreError> {
    db.fetch_optional(
        format!("{SELECT} WHERE token_hash = $1"),
        args![token_hash],
        from_row,
    )
    .await
}

/// The session behind a token with its user, in one round trip: every authenticated request
/// starts here.
pub async fn with_user(db: &Db, token_hash: &[u8]) -> Result<Option<(Session, User)>, StoreError> {
    db.fetch_optional(
        format!(
            "SELECT s.id, s.user_id, s.stage, s.csrf_token, s.pending_secret, s.created_at, s.last_seen_at,
                s.expires_at, s.ip, s.user_agent, {}
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
            users::JOINED_COLS
        ),
        args![token_hash],
        |r| Ok((from_row(r)?, users::read(r, "u_id", "u_created_at")?)),
    )
    .await
}

pub async fn get_tx(tx: &mut Tx, id: Uuid) -> Result<Option<Session>, StoreError> {
    tx.fetch_optional(format!("{SELECT} WHERE id = $1"), args![id], from_row)
        .await
}

pub async fn list_for_user(db: &Db, user_id: Uuid) -> Result<Vec<Session>, StoreError> {
    db.fetch_all(
        format!("{SELECT} WHERE user_id = $1 ORDER BY last_seen_at DESC"),
        args![user_id],
        from_row,
    )
    .await
}

/// Note activity. Only written when the stored time is older than `min_gap_secs`, so a busy
/// user costs one write a minute, not one per request.
pub async fn touch(db: &Db, id: Uuid, now: Ts, min_gap_secs: i64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $3",
        args![now, id, now.plus_secs(-min_gap_secs)],
    )
    .await?;
    Ok(())
}

pub async fn set_stage(
    tx: &mut Tx,
    id: Uuid,
    stage: &str,
    pending_secret: Option<Vec<u8>>,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE sessions SET stage = $1, pending_secret = $2 WHERE id = $3",
        args![stage, pending_secret, id],
    )
    .await?;
    Ok(())
}

pub async fn set_pending_secret(
    tx: &mut Tx,
    id: Uuid,
    secret: Option<Vec<u8>>,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE sessions SET pending_secret = $1 WHERE id = $2",
        args![secret, id],
    )
    .await?;
    Ok(())
}

pub async fn delete(tx: &mut Tx, id: Uuid) -> Result<u64, StoreError> {
    tx.execute("DELETE FROM sessions WHERE id = $1", args![id])
        .await
}

pub async fn delete_for_user(tx: &mut Tx, user_id: Uuid) -> Result<u64, StoreError> {
    tx.execute("DELETE FROM sessions WHERE user_id = $1", args![user_id])
        .await
}

pub async fn delete_for_user_except(
    tx: &mut Tx,
    user_id: Uuid,
    keep: Uuid,
) -> Result<u64, StoreError> {
    tx.execute(
        "DELETE FROM sessions WHERE user_id = $1 AND id <> $2",
        args![user_id, keep],
    )
    .await
}

/// Remove sessions past their absolute expiry or idle for longer than `idle_secs`.
pub async fn purge_expired(db: &Db, now: Ts, idle_secs: i64) -> Result<u64, StoreError> {
    db.execute(
        "DELETE FROM sessions WHERE expires_at < $1 OR last_seen_at < $2",
        args![now, now.plus_secs(-idle_secs)],
    )
    .await
}
