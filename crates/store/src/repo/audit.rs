//! The audit trail: append-only, hash-chained per tenant.
//!
//! Appending takes the chain head with an `UPDATE … SET seq = seq + 1` first, which locks the head
//! row until the transaction ends on PostgreSQL (and SQLite has one writer anyway), so links are
//! made one at a time per chain and never fork. No advisory locks, no triggers.

use linli_domain::Ts;
use linli_domain::audit::{AuditRecord, GENESIS};
use uuid::Uuid;

use crate::args;
use crate::db::{Db, Params, Row, StoreError, Tx};

/// What a use case says about itself; the store adds chain, sequence and hashes.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub chain: String,
    pub at: Ts,
    pub user_id: Option<Uuid>,
    pub username: String,
    pub unit_id: Option<Uuid>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub result: String,
    pub reason: String,
    pub request_id: String,
    pub ip: String,
    pub detail: String,
}

pub async fn append(tx: &mut Tx, e: Entry) -> Result<AuditRecord, StoreError> {
    // Lock (or create) the head of this chain.
    let bumped = tx
        .fetch_optional(
            "UPDATE audit_heads SET seq = seq + 1 WHERE chain = $1 RETURNING seq, hash",
            args![e.chain.clone()],
            |r| Ok((r.i64("seq")?, r.text("hash")?)),
        )
        .await?;
    let (seq, prev_hash) = match bumped {
        Some(v) => v,
        None => {
            tx.execute(
                "INSERT INTO audit_heads (chain, seq, hash) VALUES ($1, 1, $2)",
                args![e.chain.clone(), GENESIS],
            )
            .await?;
            (1, GENESIS.to_string())
        }
    };
    let rec = AuditRecord {
        chain: e.chain,
        seq,
        id: linli_domain::ids::new_id(),
        at: e.at,
        user_id: e.user_id,
        username: e.username,
        unit_id: e.unit_id,
        action: e.action,
        target_type: e.target_type,
        target_id: e.target_id,
        result: e.result,
        reason: e.reason,
        request_id: e.request_id,
        ip: e.ip,
        detail: e.detail,
        prev_hash,
    };
    let hash = rec.compute_hash();
    tx.execute(
        "INSERT INTO audit_log (chain, seq, id, at, user_id, username, unit_id, action, target_type, target_id, result,
            reason, request_id, ip, detail, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        args![
            rec.chain.clone(), rec.seq, rec.id, rec.at, rec.user_id, rec.username.clone(), rec.unit_id,
            rec.action.clone(), rec.target_type.clone(), rec.target_id.clone(), rec.result.clone(), rec.reason.clone(),
            rec.request_id.clone(), rec.ip.clone(), rec.detail.clone(), rec.prev_hash.clone(), hash.clone()
        ],
    )
    .await?;
    tx.execute(
        "UPDATE audit_heads SET hash = $1 WHERE chain = $2",
        args![hash, rec.chain.clone()],
    )
    .await?;
    Ok(rec)
}

const COLS: &str = "chain, seq, id, at, user_id, username, unit_id, action, target_type, target_id, result, reason,
    request_id, ip, detail, prev_hash, hash";

fn from_row(r: Row<'_>) -> Result<(AuditRecord, String), StoreError> {
    Ok((
        AuditRecord {
            chain: r.text("chain")?,
            seq: r.i64("seq")?,
            id: r.uuid("id")?,
            at: r.ts("at")?,
            user_id: r.opt_uuid("user_id")?,
            username: r.text("username")?,
            unit_id: r.opt_uuid("unit_id")?,
            action: r.text("action")?,
            target_type: r.text("target_type")?,
            target_id: r.text("target_id")?,
            result: r.text("result")?,
            reason: r.text("reason")?,
            request_id: r.text("request_id")?,
            ip: r.text("ip")?,
            detail: r.text("detail")?,
            prev_hash: r.text("prev_hash")?,
        },
        r.text("hash")?,
    ))
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub username: Option<String>,
    pub action: Option<String>,
    pub result: Option<String>,
    pub target: Option<String>,
    pub from: Option<Ts>,
    pub to: Option<Ts>,
    /// Keyset cursor: rows strictly older than (at, id).
    pub before: Option<(Ts, Uuid)>,
    pub limit: i64,
}

/// Newest first, across chains.
pub async fn list(db: &Db, q: &ListQuery) -> Result<Vec<AuditRecord>, StoreError> {
    let mut p = Params::default();
    let mut wh: Vec<String> = vec![];
    if let Some(u) = q.username.as_deref().filter(|s| !s.is_empty()) {
        wh.push(format!("username = {}", p.push(u)));
    }
    if let Some(a) = q.action.as_deref().filter(|s| !s.is_empty()) {
        let pat = p.push(super::like_prefix(a));
        wh.push(format!("action LIKE {pat} ESCAPE '\\'"));
    }
    if let Some(r) = q.result.as_deref().filter(|s| !s.is_empty()) {
        wh.push(format!("result = {}", p.push(r)));
    }
    if let Some(t) = q.target.as_deref().filter(|s| !s.is_empty()) {
        wh.push(format!("target_id = {}", p.push(t)));
    }
    if let Some(f) = q.from {
        wh.push(format!("at >= {}", p.push(f)));
    }
    if let Some(t) = q.to {
        wh.push(format!("at < {}", p.push(t)));
    }
    if let Some((at, id)) = q.before {
        let a = p.push(at);
        let b = p.push(at);
        let c = p.push(id);
        wh.push(format!("(at < {a} OR (at = {b} AND id < {c}))"));
    }
    let lim = p.push(q.limit);
    let where_sql = if wh.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", wh.join(" AND "))
    };
    let sql =
        format!("SELECT {COLS} FROM audit_log {where_sql} ORDER BY at DESC, id DESC LIMIT {lim}");
    db.fetch_all(sql, p.args, |r| from_row(r).map(|(rec, _)| rec))
        .await
}

pub async fn chains(db: &Db) -> Result<Vec<String>, StoreError> {
    db.fetch_all(
        "SELECT chain FROM audit_heads ORDER BY chain",
        vec![],
        |r| r.text("chain"),
    )
    .await
}

/// One page of a chain in sequence order, with stored hashes, for verification.
pub async fn chain_page(
    db: &Db,
    chain: &str,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<(AuditRecord, String)>, StoreError> {
    db.fetch_all(
        format!("SELECT {COLS} FROM audit_log WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3"),
        args![chain, after_seq, limit],
        from_row,
    )
    .await
}

/// The head's view of a chain: (seq, hash).
pub async fn head(db: &Db, chain: &str) -> Result<Option<(i64, String)>, StoreError> {
    db.fetch_optional(
        "SELECT seq, hash FROM audit_heads WHERE chain = $1",
        args![chain],
        |r| Ok((r.i64("seq")?, r.text("hash")?)),
    )
    .await
}
