//! Repositories: one module per aggregate. Every function that reads tenant data takes a
//! [`ScopeFilter`](linli_domain::auth::ScopeFilter) or an exact key that the caller already
//! authorised; functions named `*_system` are for jobs, the CLI and authentication only.

pub mod assessment;
pub mod attachments;
pub mod audit;
pub mod calendar;
pub mod cases;
pub mod catalogue;
pub mod duplicates;
pub mod imports;
pub mod jobs;
pub mod keys;
pub mod notify;
pub mod open311;
pub mod org;
pub mod portal;
pub mod registry;
pub mod registry_things;
pub mod roles;
pub mod search;
pub mod sessions;
pub mod tokens;
pub mod users;
pub mod whistle;

use linli_domain::auth::ScopeFilter;

use crate::db::Params;

/// The SQL predicate for a scope filter over a table with a materialized-path column, a unit-id
/// column and (optionally) an owner column. An empty filter matches nothing.
pub fn scope_sql(
    f: &ScopeFilter,
    path_col: &str,
    unit_col: &str,
    owner_col: Option<&str>,
    p: &mut Params,
) -> String {
    let mut parts = Vec::new();
    for (lo, hi) in &f.ranges {
        let a = p.push(lo.clone());
        let b = p.push(hi.clone());
        parts.push(format!("({path_col} >= {a} AND {path_col} < {b})"));
    }
    if !f.units.is_empty() {
        let list: Vec<String> = f.units.iter().map(|u| p.push(*u)).collect();
        parts.push(format!("{unit_col} IN ({})", list.join(", ")));
    }
    if let (Some(owner), Some(col)) = (f.owner, owner_col) {
        let a = p.push(owner);
        parts.push(format!("{col} = {a}"));
    }
    if parts.is_empty() {
        "1 = 0".to_string()
    } else {
        format!("({})", parts.join(" OR "))
    }
}

pub(crate) fn like_escape(q: &str) -> String {
    let mut s = String::with_capacity(q.len() + 2);
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

/// A "contains" pattern for `LIKE … ESCAPE '\'`, with `%`, `_` and `\` in `q` taken literally.
pub fn like_pattern(q: &str) -> String {
    format!("%{}%", like_escape(q))
}

/// A "starts with" pattern for `LIKE … ESCAPE '\'`.
pub fn like_prefix(q: &str) -> String {
    format!("{}%", like_escape(q))
}
