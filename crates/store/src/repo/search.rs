//! The full-text index of cases (`case_search`): terms the application segmented, written in
//! the case's own transaction, matched with FTS5 on SQLite and a `tsvector` on PostgreSQL
//! ([`match_sql`], used by the case list's conditions).

use uuid::Uuid;

use crate::db::{Arg, Db, Engine, Params, StoreError, Tx};

/// Rows per multi-row statement.
const PER_STATEMENT: usize = 300;

/// The integer row key of a case's index row: 63 bits of SHA-256 over (tenant, case id), so it
/// is the same on every server and engine without a sequence (FTS5 needs an integer key).
pub fn doc_key(tenant: &str, case_id: Uuid) -> i64 {
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

/// One case's terms, space-separated.
pub struct Doc<'a> {
    pub tenant: &'a str,
    pub case_id: Uuid,
    pub terms: String,
}

/// Insert or replace the terms of these cases.
pub async fn upsert_many(tx: &mut Tx, docs: &[Doc<'_>]) -> Result<(), StoreError> {
    for chunk in docs.chunks(PER_STATEMENT) {
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
            args.push(doc_key(d.tenant, d.case_id).into());
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
