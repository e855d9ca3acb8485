//! The audit trail: append-only, hash-chained per tenant.
//!
//! Appending takes the chain head with an `UPDATE … SET seq = seq + n` first, which locks the head
//! row until the transaction ends on PostgreSQL (and SQLite has one writer anyway), so the links
//! of one transaction are made in a run per chain and never fork. No advisory locks, no triggers.

use std::collections::HashMap;

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
    // One entry in, one record out.
    Ok(append_many(tx, vec![e]).await?.remove(0))
}

/// Append entries in order, each to its own chain: per chain the head is bumped once by the
/// number of its entries (chains in sorted order, so two writers never lock heads crosswise),
/// the links are made in memory, and every row goes in one multi-row INSERT. Returns the
/// records in the order given.
pub async fn append_many(tx: &mut Tx, entries: Vec<Entry>) -> Result<Vec<AuditRecord>, StoreError> {
    let mut chains: Vec<(String, i64)> = Vec::new();
    for e in &entries {
        match chains.iter_mut().find(|(c, _)| *c == e.chain) {
            Some((_, n)) => *n += 1,
            None => chains.push((e.chain.clone(), 1)),
        }
    }
    chains.sort();
    // chain -> (next seq, previous hash). Every head is bumped in one statement; a chain seen
    // for the first time gets its head row first (ON CONFLICT: another writer may create it at
    // the same moment) and is bumped in a second pass.
    let mut heads: HashMap<String, (i64, String)> = HashMap::new();
    for pass in 0..2 {
        let todo: Vec<&(String, i64)> = chains
            .iter()
            .filter(|(c, _)| !heads.contains_key(c))
            .collect();
        if todo.is_empty() {
            break;
        }
        if pass == 1 {
            let mut p = Params::default();
            let rows: Vec<String> = todo
                .iter()
                .map(|(c, _)| format!("({}, 0, {})", p.push(c.as_str()), p.push(GENESIS)))
                .collect();
            tx.execute(
                format!(
                    "INSERT INTO audit_heads (chain, seq, hash) VALUES {} ON CONFLICT (chain) DO NOTHING",
                    rows.join(", ")
                ),
                p.args,
            )
            .await?;
        }
        let mut p = Params::default();
        let cases: String = todo
            .iter()
            .map(|(c, n)| format!(" WHEN {} THEN {}", p.push(c.as_str()), p.push(*n)))
            .collect();
        let keys: Vec<String> = todo.iter().map(|(c, _)| p.push(c.as_str())).collect();
        let bumped = tx
            .fetch_all(
                format!(
                    "UPDATE audit_heads SET seq = seq + CASE chain{cases} END WHERE chain IN ({})
                     RETURNING chain, seq, hash",
                    keys.join(", ")
                ),
                p.args,
                |r| Ok((r.text("chain")?, r.i64("seq")?, r.text("hash")?)),
            )
            .await?;
        for (chain, last, prev) in bumped {
            let n = todo
                .iter()
                .find(|(c, _)| *c == chain)
                .map_or(0, |(_, n)| *n);
            heads.insert(chain, (last - n + 1, prev));
        }
    }
    let mut records = Vec::with_capacity(entries.len());
    for e in entries {
        // Every entry's chain was bumped above, so the default is never taken.
        let (seq, prev_hash) = heads.entry(e.chain.clone()).or_default();
        let rec = AuditRecord {
            chain: e.chain,
            seq: *seq,
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
            prev_hash: prev_hash.clone(),
        };
        let hash = rec.compute_hash();
        *seq += 1;
        *prev_hash = hash.clone();
        records.push((rec, hash));
    }
    for chunk in records.chunks(1000) {
        let mut p = Params::default();
        let rows: Vec<String> = chunk
            .iter()
            .map(|(r, hash)| {
                let marks = [
                    p.push(r.chain.clone()),
                    p.push(r.seq),
                    p.push(r.id),
                    p.push(r.at),
                    p.push(r.user_id),
                    p.push(r.username.clone()),
                    p.push(r.unit_id),
                    p.push(r.action.clone()),
                    p.push(r.target_type.clone()),
                    p.push(r.target_id.clone()),
                    p.push(r.result.clone()),
                    p.push(r.reason.clone()),
                    p.push(r.request_id.clone()),
                    p.push(r.ip.clone()),
                    p.push(r.detail.clone()),
                    p.push(r.prev_hash.clone()),
                    p.push(hash.clone()),
                ];
                format!("({})", marks.join(", "))
            })
            .collect();
        tx.execute(
            format!("INSERT INTO audit_log ({COLS}) VALUES {}", rows.join(", ")),
            p.args,
        )
        .await?;
    }
    let mut p = Params::default();
    let cases: String = heads
        .iter()
        .map(|(c, (_, hash))| {
            format!(
                " WHEN {} THEN {}",
                p.push(c.as_str()),
                p.push(hash.as_str())
            )
        })
        .collect();
    let keys: Vec<String> = heads.keys().map(|c| p.push(c.as_str())).collect();
    tx.execute(
        format!(
            "UPDATE audit_heads SET hash = CASE chain{cases} END WHERE chain IN ({})",
            keys.join(", ")
        ),
        p.args,
    )
    .await?;
    Ok(records.into_iter().map(|(r, _)| r).collect())
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
