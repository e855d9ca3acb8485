//! Duplicate detection's reads and writes: the pool of open cases a new request is compared
//! with, the cases merged into an original, and the pairs a dispatcher said are not duplicates.
//! Callers authorise: the pool is a district's raw candidates, which the use case scores and
//! then checks one by one against the reader's scope before showing any.

use linli_domain::Ts;
use uuid::Uuid;

use super::cases::{COLUMNS, CaseRow, from_row};
use crate::args;
use crate::db::{Db, Params, StoreError, Tx};

/// States of a case that is still open to merging into (received and not yet finished).
pub const OPEN_STATES: &[&str] = &[
    "pending",
    "registered",
    "consulting",
    "dispatched",
    "objected",
    "handling",
    "replied",
];

/// Which cases a request is compared with.
#[derive(Debug, Clone)]
pub struct Pool {
    pub tenant: String,
    /// Received at or after.
    pub since: Ts,
    /// Received at or before.
    pub until: Ts,
    /// The request itself (and the pairs dismissed for it), when it is already a case.
    pub exclude: Option<Uuid>,
    /// Only cases of this community (the request's, when known).
    pub community: Option<Uuid>,
    pub limit: i64,
}

/// Open cases of the pool, newest first.
pub async fn pool(db: &Db, q: &Pool) -> Result<Vec<CaseRow>, StoreError> {
    let mut p = Params::default();
    let mut sql = format!(
        "SELECT {COLUMNS} FROM cases WHERE tenant = {} AND received_at >= {} AND received_at <= {}",
        p.push(q.tenant.clone()),
        p.push(q.since),
        p.push(q.until),
    );
    let states: Vec<String> = OPEN_STATES.iter().map(|s| p.push(*s)).collect();
    sql.push_str(&format!(" AND state IN ({})", states.join(", ")));
    if let Some(c) = q.community {
        sql.push_str(&format!(" AND community_id = {}", p.push(c)));
    }
    if let Some(x) = q.exclude {
        let a = p.push(x);
        sql.push_str(&format!(
            " AND id <> {a} AND NOT EXISTS (SELECT 1 FROM case_duplicate_dismissals d
               WHERE d.tenant = cases.tenant AND d.case_id = {a} AND d.other_id = cases.id)"
        ));
    }
    sql.push_str(&format!(
        " ORDER BY received_at DESC LIMIT {}",
        p.push(q.limit)
    ));
    db.fetch_all(sql, p.args, from_row).await
}

/// The cases merged into `original`, oldest first.
pub async fn merged_into(
    db: &Db,
    tenant: &str,
    original: Uuid,
) -> Result<Vec<CaseRow>, StoreError> {
    db.fetch_all(
        format!(
            "SELECT {COLUMNS} FROM cases WHERE tenant = $1 AND duplicate_of = $2 ORDER BY received_at"
        ),
        args![tenant, original],
        from_row,
    )
    .await
}

/// The cases merged into `original` whose requester can be texted (a phone, not anonymous), in
/// a step's transaction.
pub async fn merged_reachable_tx(
    tx: &mut Tx,
    tenant: &str,
    original: Uuid,
) -> Result<Vec<Uuid>, StoreError> {
    tx.fetch_all(
        "SELECT id FROM cases WHERE tenant = $1 AND duplicate_of = $2
           AND requester_phone IS NOT NULL AND anonymous = FALSE ORDER BY received_at",
        args![tenant, original],
        |r| r.uuid("id"),
    )
    .await
}

/// Record that `other` is not a duplicate of `case_id` (a repeat changes nothing).
pub async fn dismiss(
    tx: &mut Tx,
    tenant: &str,
    case_id: Uuid,
    other: Uuid,
    by: Option<Uuid>,
    at: Ts,
) -> Result<bool, StoreError> {
    let n = tx
        .execute(
            "INSERT INTO case_duplicate_dismissals (tenant, case_id, other_id, dismissed_by, dismissed_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant, case_id, other_id) DO NOTHING",
            args![tenant, case_id, other, by, at],
        )
        .await?;
    Ok(n == 1)
}
