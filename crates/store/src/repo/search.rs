//! The full-text index of cases (`case_search`): terms the application segmented, written in
//! the case's own transaction, matched with FTS5 on SQLite and a `tsvector` on PostgreSQL
//! ([`match_sql`], used by the case list's conditions).

use uuid::Uuid;

use crate::db::{Arg, Db, Engine, Params, StoreError, Tx};

/// Rows per multi-row statement.
const PER_STATEMENT: usize = 300;

/// Bits of a SQLite `doc` key below the case's millisecond ([`doc_key`]).
const SEQ_BITS: u32 = 14;

/// The millisecond a case id carries in its first 48 bits (UUIDv7: its creation time). Case
/// ids are time-ordered, so the list's "newest first" is this order too.
pub fn id_millis(id: Uuid) -> i64 {
    let b = id.as_bytes();
    let mut m = [0u8; 8];
    m[2..].copy_from_slice(&b[..6]);
    i64::from_be_bytes(m)
}

/// The smallest id of a millisecond: `id >= id_floor(ms)` exactly when `id_millis(id) >= ms`.
pub fn id_floor(ms: i64) -> Uuid {
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&ms.clamp(0, MAX_MILLIS).to_be_bytes()[2..]);
    Uuid::from_bytes(b)
}

/// The last millisecond a case id can carry.
pub const MAX_MILLIS: i64 = (1 << 48) - 1;

fn hash63(tenant: &str, case_id: Uuid) -> i64 {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(tenant.as_bytes());
    h.update([0u8]);
    h.update(case_id.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    (u64::from_be_bytes(b) >> 1) as i64
}

/// The integer row key proposed for a case's index row. On **SQLite** it is time-ordered: the
/// case's millisecond ([`id_millis`]) times 2^14 plus 14 bits of a hash, so FTS5 (which keeps
/// its postings in row-key order) can hand out the matches of a time window — the newest
/// cases — without reading the others. Two cases of one millisecond may propose the same key:
/// [`upsert_many`] moves the later one to the next free key of that millisecond (SQLite has
/// one writer, so that check cannot race). On **PostgreSQL**, where nothing reads in key order,
/// it stays 63 bits of SHA-256 over (tenant, case id): unique without a check.
pub fn doc_key(engine: Engine, tenant: &str, case_id: Uuid) -> i64 {
    match engine {
        Engine::Sqlite => {
            (id_millis(case_id) << SEQ_BITS) | (hash63(tenant, case_id) & ((1 << SEQ_BITS) - 1))
        }
        Engine::Postgres => hash63(tenant, case_id),
    }
}

/// The first SQLite `doc` key of a millisecond (keys of later milliseconds are larger).
fn doc_floor(ms: i64) -> i64 {
    ms.clamp(0, MAX_MILLIS) << SEQ_BITS
}

/// One case's terms, space-separated.
pub struct Doc<'a> {
    pub tenant: &'a str,
    pub case_id: Uuid,
    pub terms: String,
}

/// The keys of these documents: a case already indexed keeps its key; on SQLite a new case
/// whose proposed key is taken (by another case of the same millisecond) takes the next free
/// one of that millisecond.
async fn resolve_keys(tx: &mut Tx, docs: &[Doc<'_>]) -> Result<Vec<i64>, StoreError> {
    let engine = tx.engine();
    let mut keys: Vec<i64> = docs
        .iter()
        .map(|d| doc_key(engine, d.tenant, d.case_id))
        .collect();
    if engine == Engine::Postgres {
        return Ok(keys);
    }
    use std::collections::{HashMap, HashSet};
    // Cases already indexed keep their keys.
    let mut existing: HashMap<(String, Uuid), i64> = HashMap::new();
    let mut tenants: Vec<&str> = docs.iter().map(|d| d.tenant).collect();
    tenants.sort_unstable();
    tenants.dedup();
    for t in tenants {
        let mut p = Params::default();
        let tp = p.push(t.to_string());
        let ids: Vec<String> = docs
            .iter()
            .filter(|d| d.tenant == t)
            .map(|d| p.push(d.case_id))
            .collect();
        let rows = tx
            .fetch_all(
                format!(
                    "SELECT case_id, doc FROM case_search WHERE tenant = {tp} AND case_id IN ({})",
                    ids.join(", ")
                ),
                p.args,
                |r| Ok((r.uuid("case_id")?, r.i64("doc")?)),
            )
            .await?;
        for (id, doc) in rows {
            existing.insert((t.to_string(), id), doc);
        }
    }
    let mut fresh: Vec<usize> = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        match existing.get(&(d.tenant.to_string(), d.case_id)) {
            Some(k) => keys[i] = *k,
            None => fresh.push(i),
        }
    }
    let mut used: HashSet<i64> = existing.values().copied().collect();
    let full = || StoreError::Unique("case_search: every key of a millisecond is taken".into());
    let mut rounds = 0;
    while !fresh.is_empty() {
        rounds += 1;
        if rounds > (1 << SEQ_BITS) {
            return Err(full());
        }
        // Distinct within the batch (and from the cases kept), then checked against the table.
        for &i in &fresh {
            let mut steps = 0;
            while !used.insert(keys[i]) {
                keys[i] = next_in_millisecond(keys[i]);
                steps += 1;
                if steps > (1 << SEQ_BITS) {
                    return Err(full());
                }
            }
        }
        let mut p = Params::default();
        let list: Vec<String> = fresh.iter().map(|&i| p.push(keys[i])).collect();
        let taken: HashSet<i64> = tx
            .fetch_all(
                format!(
                    "SELECT doc FROM case_search WHERE doc IN ({})",
                    list.join(", ")
                ),
                p.args,
                |r| r.i64("doc"),
            )
            .await?
            .into_iter()
            .collect();
        // A taken key stays in `used`; its case moves on and is checked again.
        fresh.retain(|&i| {
            let clash = taken.contains(&keys[i]);
            if clash {
                keys[i] = next_in_millisecond(keys[i]);
            }
            clash
        });
    }
    Ok(keys)
}

/// The next key of the same millisecond, wrapping around within it.
fn next_in_millisecond(k: i64) -> i64 {
    let mask = (1i64 << SEQ_BITS) - 1;
    (k & !mask) | ((k + 1) & mask)
}

/// Insert or replace the terms of these cases.
pub async fn upsert_many(tx: &mut Tx, docs: &[Doc<'_>]) -> Result<(), StoreError> {
    for chunk in docs.chunks(PER_STATEMENT) {
        let keys = resolve_keys(tx, chunk).await?;
        let mut args: Vec<Arg> = Vec::with_capacity(chunk.len() * 4);
        let mut rows = Vec::with_capacity(chunk.len());
        for (i, d) in chunk.iter().enumerate() {
            rows.push(format!(
                "(${}, ${}, ${}, ${})",
                i * 4 + 1,
                i * 4 + 2,
                i * 4 + 3,
                i * 4 + 4
            ));
            args.push(keys[i].into());
            args.push(d.tenant.to_string().into());
            args.push(d.case_id.into());
            args.push(d.terms.clone().into());
        }
        tx.execute(
            format!(
                "INSERT INTO case_search (doc, tenant, case_id, terms) VALUES {}
                 ON CONFLICT (tenant, case_id) DO UPDATE SET terms = excluded.terms",
                rows.join(", ")
            ),
            args,
        )
        .await?;
    }
    Ok(())
}

/// The FTS5 query of the groups: `("a" OR "b") AND ("c")`, each term a quoted string.
fn fts5_query(groups: &[Vec<String>]) -> String {
    groups
        .iter()
        .map(|g| {
            let ors: Vec<String> = g
                .iter()
                .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
                .collect();
            format!("({})", ors.join(" OR "))
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The PostgreSQL condition on `case_search s`: the GIN index's own expression against
/// `plainto_tsquery(…) || …` groups combined with `&&`, terms as parameters.
fn tsquery_condition(groups: &[Vec<String>], p: &mut Params) -> String {
    let q = groups
        .iter()
        .map(|g| {
            let ors: Vec<String> = g
                .iter()
                .map(|t| format!("plainto_tsquery('simple', {})", p.push(t.clone())))
                .collect();
            format!("({})", ors.join(" || "))
        })
        .collect::<Vec<_>>()
        .join(" && ");
    format!("to_tsvector('simple', s.terms) @@ ({q})")
}

/// A subquery of the matching index rows' `doc` keys, read from the full-text index alone.
fn matching_docs(engine: Engine, groups: &[Vec<String>], p: &mut Params) -> String {
    match engine {
        Engine::Sqlite => format!(
            "SELECT rowid AS doc FROM case_search_fts WHERE case_search_fts MATCH {}",
            p.push(fts5_query(groups))
        ),
        Engine::Postgres => format!(
            "SELECT s.doc FROM case_search s WHERE {}",
            tsquery_condition(groups, p)
        ),
    }
}

/// A subquery of the `(tenant, case_id)` pairs whose terms match every group (any term of a
/// group), found through the full-text index. Terms are always parameters. (On SQLite the FTS5
/// matches are taken first and their index rows then fetched by key: as a join, the planner may
/// walk every index row and ask FTS5 about each.)
pub fn match_sql(engine: Engine, groups: &[Vec<String>], p: &mut Params) -> String {
    match engine {
        Engine::Sqlite => format!(
            "SELECT s.tenant, s.case_id FROM case_search s WHERE s.doc IN ({})",
            matching_docs(engine, groups, p)
        ),
        Engine::Postgres => format!(
            "SELECT s.tenant, s.case_id FROM case_search s WHERE {}",
            tsquery_condition(groups, p)
        ),
    }
}

/// The matches of one time window `[lo, hi)` (milliseconds of the case ids; `hi` open-ended
/// when `None`), read from the full-text index alone:
/// - SQLite: `doc` keys (`SELECT rowid AS doc …`), the window being a range of FTS5 row keys,
///   which FTS5 seeks to in its postings instead of reading every match;
/// - PostgreSQL: `(tenant, case_id)` pairs, the GIN match ANDed with a range of the
///   `(tenant, case_id)` index (a bitmap AND: only the window's matching rows are read).
pub fn window_sql(
    engine: Engine,
    groups: &[Vec<String>],
    tenants: &[String],
    lo: i64,
    hi: Option<i64>,
    p: &mut Params,
) -> String {
    match engine {
        Engine::Sqlite => {
            let mut sql = format!(
                "SELECT rowid AS doc FROM case_search_fts WHERE case_search_fts MATCH {} AND rowid >= {}",
                p.push(fts5_query(groups)),
                p.push(doc_floor(lo))
            );
            if let Some(hi) = hi {
                sql.push_str(&format!(" AND rowid < {}", p.push(doc_floor(hi))));
            }
            sql
        }
        Engine::Postgres => {
            let cond = tsquery_condition(groups, p);
            let mut sql = format!(
                "SELECT s.tenant, s.case_id FROM case_search s WHERE {cond} AND s.case_id >= {}",
                p.push(id_floor(lo))
            );
            if !tenants.is_empty() {
                let list: Vec<String> = tenants.iter().map(|t| p.push(t.clone())).collect();
                sql.push_str(&format!(" AND s.tenant IN ({})", list.join(", ")));
            }
            if let Some(hi) = hi {
                sql.push_str(&format!(" AND s.case_id < {}", p.push(id_floor(hi))));
            }
            sql
        }
    }
}

/// Documents from which a search counts as common ([`is_common`]).
pub const COMMON_MATCHES: i64 = 2_000;

/// Whether at least [`COMMON_MATCHES`] cases match (counted through the full-text index, and
/// no further). A rare search is answered by fetching its few matches ([`match_sql`]); a common
/// one — 电梯 in a district of a million cases — by walking the reader's cases newest first and
/// testing each one's terms ([`probe_sql`]), which stops at the page size instead of joining
/// tens of thousands of matches with the reader's scope.
pub async fn is_common(db: &Db, groups: &[Vec<String>]) -> Result<bool, StoreError> {
    if groups.is_empty() {
        return Ok(false);
    }
    let mut p = Params::default();
    let hits = matching_docs(db.engine(), groups, &mut p);
    let cap = p.push(COMMON_MATCHES);
    let n = db
        .fetch_one_i64(
            format!("SELECT COUNT(*) AS n FROM ({hits} LIMIT {cap}) x"),
            p.args,
        )
        .await?;
    Ok(n >= COMMON_MATCHES)
}

/// A condition on the case row `c`: its terms match every group (any term of a group), tested
/// on the row itself. The same meaning as [`match_sql`] (terms are whole space-separated
/// tokens), on both engines.
pub fn probe_sql(groups: &[Vec<String>], p: &mut Params) -> String {
    let all = groups
        .iter()
        .map(|g| {
            let any: Vec<String> = g
                .iter()
                .map(|t| {
                    let pat = p.push(format!("% {} %", super::like_escape(t)));
                    format!("(' ' || s.terms || ' ') LIKE {pat} ESCAPE '\\'")
                })
                .collect();
            format!("({})", any.join(" OR "))
        })
        .collect::<Vec<_>>()
        .join(" AND ");
    // `LIMIT 1 OFFSET 0` keeps the test a per-row probe of the case's one index row: without it
    // PostgreSQL turns the EXISTS into a semi-join and scans every case's terms first.
    format!(
        "EXISTS (SELECT 1 FROM case_search s WHERE s.tenant = c.tenant AND s.case_id = c.id AND {all}
         LIMIT 1 OFFSET 0)"
    )
}

/// Every case's key after `after`, in key order, a page at a time (for `linli search reindex`,
/// which rewrites every case's terms, e.g. after the dictionary grew).
pub async fn case_keys(
    db: &crate::Db,
    after: Option<(String, Uuid)>,
    limit: i64,
) -> Result<Vec<(String, Uuid)>, StoreError> {
    let (tenant, id) = after.unwrap_or_default();
    db.fetch_all(
        "SELECT c.tenant, c.id FROM cases c
         WHERE (c.tenant > $1 OR (c.tenant = $1 AND c.id > $2))
         ORDER BY c.tenant, c.id LIMIT $3",
        crate::args![tenant, id, limit],
        |r| Ok((r.text("tenant")?, r.uuid("id")?)),
    )
    .await
}
