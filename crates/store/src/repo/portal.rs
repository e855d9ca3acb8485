//! The resident portal's own rows: residents' accounts, sign-in codes, portal sessions and the
//! community notices (阳光社区). A resident's cases are the cases whose requester phone has the
//! account's blind index ([`cases_of_phone`]); no other link between the two is kept.

use linli_domain::Ts;
use uuid::Uuid;

use super::cases::CaseRow;
use crate::args;
use crate::db::{Db, Row, StoreError, Tx};

#[derive(Clone)]
pub struct Account {
    pub id: Uuid,
    pub phone_hash: String,
    /// Sealed with the personal-data key.
    pub phone: Vec<u8>,
    pub phone_masked: String,
    pub created_at: Ts,
    pub last_seen_at: Ts,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

const ACCOUNT_COLS: &str = "id, phone_hash, phone, phone_masked, created_at, last_seen_at";

fn account(r: Row<'_>) -> Result<Account, StoreError> {
    Ok(Account {
        id: r.uuid("id")?,
        phone_hash: r.text("phone_hash")?,
        phone: r.bytes("phone")?,
        phone_masked: r.text("phone_masked")?,
        created_at: r.ts("created_at")?,
        last_seen_at: r.ts("last_seen_at")?,
    })
}

pub async fn account_by_phone(
    tx: &mut Tx,
    phone_hash: &str,
) -> Result<Option<Account>, StoreError> {
    tx.fetch_optional(
        format!("SELECT {ACCOUNT_COLS} FROM portal_accounts WHERE phone_hash = $1"),
        args![phone_hash],
        account,
    )
    .await
}

pub async fn insert_account(tx: &mut Tx, a: &Account) -> Result<(), StoreError> {
    tx.execute(
        format!("INSERT INTO portal_accounts ({ACCOUNT_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"),
        args![
            a.id,
            a.phone_hash.clone(),
            a.phone.clone(),
            a.phone_masked.clone(),
            a.created_at,
            a.last_seen_at
        ],
    )
    .await?;
    Ok(())
}

pub async fn touch_account(tx: &mut Tx, id: Uuid, now: Ts) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE portal_accounts SET last_seen_at = $1 WHERE id = $2",
        args![now, id],
    )
    .await?;
    Ok(())
}

/// What the sign-in code limits count, in one read.
#[derive(Debug, Clone, Copy, Default)]
pub struct CodeCounts {
    pub phone_hour: i64,
    pub phone_day: i64,
    pub ip_hour: i64,
    /// The phone's latest code of the day.
    pub phone_last: Option<Ts>,
}

/// Codes asked for by a phone and by an address in the last hour and day.
pub async fn code_counts(
    tx: &mut Tx,
    phone_hash: &str,
    ip_hash: &str,
    hour_ago: Ts,
    day_ago: Ts,
) -> Result<CodeCounts, StoreError> {
    Ok(tx
        .fetch_optional(
            "SELECT
                COALESCE(SUM(CASE WHEN phone_hash = $1 AND created_at >= $3 THEN 1 ELSE 0 END), 0) AS phone_hour,
                COALESCE(SUM(CASE WHEN phone_hash = $1 THEN 1 ELSE 0 END), 0) AS phone_day,
                COALESCE(SUM(CASE WHEN ip_hash = $2 AND created_at >= $3 THEN 1 ELSE 0 END), 0) AS ip_hour,
                MAX(CASE WHEN phone_hash = $1 THEN created_at END) AS phone_last
             FROM portal_codes WHERE (phone_hash = $1 OR ip_hash = $2) AND created_at >= $4",
            args![phone_hash, ip_hash, hour_ago, day_ago],
            |r| {
                Ok(CodeCounts {
                    phone_hour: r.i64("phone_hour")?,
                    phone_day: r.i64("phone_day")?,
                    ip_hour: r.i64("ip_hour")?,
                    phone_last: r.opt_ts("phone_last")?,
                })
            },
        )
        .await?
        .unwrap_or_default())
}

/// The phone's codes since `since`, newest first.
pub async fn phone_codes_since(
    tx: &mut Tx,
    phone_hash: &str,
    since: Ts,
) -> Result<Vec<Code>, StoreError> {
    tx.fetch_all(
        "SELECT id, code_hash, expires_at, attempts, used_at FROM portal_codes
         WHERE phone_hash = $1 AND created_at >= $2 ORDER BY created_at DESC LIMIT 20",
        args![phone_hash, since],
        |r| {
            Ok(Code {
                id: r.uuid("id")?,
                code_hash: r.text("code_hash")?,
                expires_at: r.ts("expires_at")?,
                attempts: r.i64("attempts")?,
                used_at: r.opt_ts("used_at")?,
            })
        },
    )
    .await
}

#[derive(Debug, Clone)]
pub struct Code {
    pub id: Uuid,
    pub code_hash: String,
    pub expires_at: Ts,
    pub attempts: i64,
    pub used_at: Option<Ts>,
}

pub async fn insert_code(
    tx: &mut Tx,
    id: Uuid,
    phone_hash: &str,
    ip_hash: &str,
    code_hash: &str,
    now: Ts,
    expires_at: Ts,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO portal_codes (id, phone_hash, ip_hash, code_hash, created_at, expires_at, attempts)
         VALUES ($1, $2, $3, $4, $5, $6, 0)",
        args![id, phone_hash, ip_hash, code_hash, now, expires_at],
    )
    .await?;
    Ok(())
}

/// Count a wrong guess against every live code of the phone.
pub async fn count_attempt(tx: &mut Tx, phone_hash: &str, now: Ts) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE portal_codes SET attempts = attempts + 1
         WHERE phone_hash = $1 AND used_at IS NULL AND expires_at > $2",
        args![phone_hash, now],
    )
    .await?;
    Ok(())
}

/// Use a code, once: false when another request used it first.
pub async fn use_code(tx: &mut Tx, id: Uuid, now: Ts) -> Result<bool, StoreError> {
    Ok(tx
        .execute(
            "UPDATE portal_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL",
            args![now, id],
        )
        .await?
        > 0)
}

/// Codes older than `before` are of no use even to the rate limits.
pub async fn purge_codes(db: &Db, before: Ts) -> Result<u64, StoreError> {
    db.execute(
        "DELETE FROM portal_codes WHERE created_at < $1",
        args![before],
    )
    .await
}

#[derive(Clone)]
pub struct Session {
    pub account_id: Uuid,
    pub csrf: String,
    pub expires_at: Ts,
}

pub async fn insert_session(
    tx: &mut Tx,
    token_hash: &[u8],
    s: &Session,
    now: Ts,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO portal_sessions (token_hash, account_id, csrf, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        args![token_hash, s.account_id, s.csrf.clone(), now, s.expires_at],
    )
    .await?;
    Ok(())
}

/// The live session of a token, with its account.
pub async fn session(
    db: &Db,
    token_hash: &[u8],
    now: Ts,
) -> Result<Option<(Session, Account)>, StoreError> {
    db.fetch_optional(
        "SELECT s.account_id, s.csrf, s.expires_at, a.id, a.phone_hash, a.phone, a.phone_masked,
                a.created_at, a.last_seen_at
         FROM portal_sessions s JOIN portal_accounts a ON a.id = s.account_id
         WHERE s.token_hash = $1 AND s.expires_at > $2",
        args![token_hash, now],
        |r| {
            Ok((
                Session {
                    account_id: r.uuid("account_id")?,
                    csrf: r.text("csrf")?,
                    expires_at: r.ts("expires_at")?,
                },
                account(r)?,
            ))
        },
    )
    .await
}

pub async fn delete_session(db: &Db, token_hash: &[u8]) -> Result<u64, StoreError> {
    db.execute(
        "DELETE FROM portal_sessions WHERE token_hash = $1",
        args![token_hash],
    )
    .await
}

pub async fn purge_sessions(db: &Db, now: Ts) -> Result<u64, StoreError> {
    db.execute(
        "DELETE FROM portal_sessions WHERE expires_at <= $1",
        args![now],
    )
    .await
}

/// The cases filed with this phone number (its blind index), newest first, in every district.
pub async fn cases_of_phone(
    db: &Db,
    phone_hash: &str,
    limit: i64,
) -> Result<Vec<CaseRow>, StoreError> {
    super::cases::with_phone_hash(db, phone_hash, limit).await
}

#[derive(Debug, Clone)]
pub struct Notice {
    pub tenant: String,
    pub id: Uuid,
    pub unit_id: Uuid,
    pub unit_path: String,
    pub title: String,
    pub body: String,
    pub author_id: Uuid,
    pub published_at: Ts,
    pub withdrawn_at: Option<Ts>,
}

const NOTICE_COLS: &str =
    "tenant, id, unit_id, unit_path, title, body, author_id, published_at, withdrawn_at";

fn notice_row(r: Row<'_>) -> Result<Notice, StoreError> {
    Ok(Notice {
        tenant: r.text("tenant")?,
        id: r.uuid("id")?,
        unit_id: r.uuid("unit_id")?,
        unit_path: r.text("unit_path")?,
        title: r.text("title")?,
        body: r.text("body")?,
        author_id: r.uuid("author_id")?,
        published_at: r.ts("published_at")?,
        withdrawn_at: r.opt_ts("withdrawn_at")?,
    })
}

pub async fn insert_notice(tx: &mut Tx, n: &Notice) -> Result<(), StoreError> {
    tx.execute(
        format!(
            "INSERT INTO portal_notices ({NOTICE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ),
        args![
            n.tenant.clone(),
            n.id,
            n.unit_id,
            n.unit_path.clone(),
            n.title.clone(),
            n.body.clone(),
            n.author_id,
            n.published_at,
            n.withdrawn_at
        ],
    )
    .await?;
    Ok(())
}

pub async fn withdraw_notice(
    tx: &mut Tx,
    tenant: &str,
    id: Uuid,
    now: Ts,
) -> Result<bool, StoreError> {
    Ok(tx
        .execute(
            "UPDATE portal_notices SET withdrawn_at = $1 WHERE tenant = $2 AND id = $3 AND withdrawn_at IS NULL",
            args![now, tenant, id],
        )
        .await?
        > 0)
}

pub async fn notice(db: &Db, tenant: &str, id: Uuid) -> Result<Option<Notice>, StoreError> {
    db.fetch_optional(
        format!("SELECT {NOTICE_COLS} FROM portal_notices WHERE tenant = $1 AND id = $2"),
        args![tenant, id],
        notice_row,
    )
    .await
}

/// Published notices of these units (a community and the street and district above it),
/// newest first.
pub async fn notices_of_units(
    db: &Db,
    units: &[Uuid],
    limit: i64,
) -> Result<Vec<Notice>, StoreError> {
    if units.is_empty() {
        return Ok(vec![]);
    }
    let mut p = crate::db::Params::default();
    let list: Vec<String> = units.iter().map(|u| p.push(*u)).collect();
    let lim = p.push(limit);
    db.fetch_all(
        format!(
            "SELECT {NOTICE_COLS} FROM portal_notices WHERE unit_id IN ({}) AND withdrawn_at IS NULL
             ORDER BY published_at DESC LIMIT {lim}",
            list.join(", ")
        ),
        p.args,
        notice_row,
    )
    .await
}

/// Notices under a unit's subtree (published and withdrawn), newest first: the staff list.
pub async fn notices_under(
    db: &Db,
    path_prefix: &str,
    limit: i64,
) -> Result<Vec<Notice>, StoreError> {
    db.fetch_all(
        format!(
            "SELECT {NOTICE_COLS} FROM portal_notices WHERE unit_path LIKE $1 ESCAPE '\\'
             ORDER BY published_at DESC LIMIT $2"
        ),
        args![super::like_prefix(path_prefix), limit],
        notice_row,
    )
    .await
}
