//! Assessment figures: one aggregate over the cases received in a period, grouped by one
//! dimension, and the settings row holding the score weights.
//!
//! Each [`Measure`] is one SQL predicate ([`measure_sql`]) over the `cases` row aliased `c`;
//! the aggregate sums it and the case list filters by it, so a count and the list behind it
//! can never disagree. Which cases belong to a unit's assessment is [`responsible_sql`]: those
//! handled by a unit in its subtree, and those it (or a unit below it) received and has not
//! dispatched. The query reads the period's slice through `cases_received (tenant,
//! received_at)` and filters the slice by path.

use linli_domain::Ts;
use linli_domain::assessment::{Measure, Tally};
use uuid::Uuid;

use crate::args;
use crate::db::{Db, Params, Row, StoreError, Tx};

/// States in which a case counts as 结案 (verified and closed; visited or awaiting the visit).
const CLOSED: &str = "c.state IN ('closed', 'visited')";
/// A dispatched case not yet closed, its completion clock not paused, its deadline passed.
const DUE_OPEN: &str = "c.state IN ('dispatched', 'objected', 'handling', 'replied') AND c.paused_at IS NULL AND c.due_at <= ";

/// The predicate of a measure over `c`; `now` is the placeholder of the query time.
pub fn measure_sql(m: Measure, now: &str) -> String {
    use Measure as M;
    let dispatched = "(c.dispatched_at IS NOT NULL OR c.objections > 0 OR c.reopens > 0)";
    let visited = "c.state = 'visited'";
    match m {
        M::Received => "1 = 1".into(),
        M::Pending => "c.state = 'pending'".into(),
        M::Registered => "c.state NOT IN ('pending', 'disposed')".into(),
        M::Disposed => "c.state = 'disposed'".into(),
        M::Dispatched => dispatched.into(),
        M::ShouldSign => format!(
            "(c.dispatched_at IS NOT NULL AND (c.signed_at IS NOT NULL OR c.sign_due <= {now}))"
        ),
        M::SignedOnTime => {
            "(c.dispatched_at IS NOT NULL AND c.signed_at IS NOT NULL AND c.signed_at <= c.sign_due)"
                .into()
        }
        M::SignLate => format!(
            "(c.dispatched_at IS NOT NULL AND ((c.signed_at IS NOT NULL AND c.signed_at > c.sign_due)
              OR (c.signed_at IS NULL AND c.sign_due <= {now})))"
        ),
        M::ShouldContact => format!(
            "(c.dispatched_at IS NOT NULL AND c.anonymous = FALSE
              AND (c.first_contact_at IS NOT NULL OR c.contact_due <= {now}))"
        ),
        M::ContactedOnTime => "(c.dispatched_at IS NOT NULL AND c.anonymous = FALSE
              AND c.first_contact_at IS NOT NULL AND c.first_contact_at <= c.contact_due)"
            .into(),
        M::ContactLate => format!(
            "(c.dispatched_at IS NOT NULL AND c.anonymous = FALSE
              AND ((c.first_contact_at IS NOT NULL AND c.first_contact_at > c.contact_due)
                OR (c.first_contact_at IS NULL AND c.contact_due <= {now})))"
        ),
        M::ShouldClose => format!("({CLOSED} OR ({DUE_OPEN}{now}))"),
        M::Closed => CLOSED.into(),
        M::ClosedOnTime => format!("({CLOSED} AND c.closed_on_time = TRUE)"),
        M::ClosedLate => format!("({CLOSED} AND c.closed_on_time = FALSE)"),
        M::DueOpen => format!("({DUE_OPEN}{now})"),
        M::Reworked => "c.reworks > 0".into(),
        M::Extended => "c.extensions > 0".into(),
        M::Objected => "c.objections > 0".into(),
        M::EverVisited => "(c.visited_at IS NOT NULL OR c.reopens > 0)".into(),
        M::Reopened => "c.reopens > 0".into(),
        M::Visited => visited.into(),
        M::Resolved => format!("({visited} AND c.resolved = TRUE)"),
        M::Unresolved => format!("({visited} AND c.resolved = FALSE)"),
        M::Satisfied => format!("({visited} AND c.satisfaction = 'satisfied')"),
        M::Basic => format!("({visited} AND c.satisfaction = 'basic')"),
        M::Dissatisfied => format!("({visited} AND c.satisfaction = 'dissatisfied')"),
    }
}

/// The unit a case is assessed on: its handler, or while it has none its receiving centre.
pub const RESPONSIBLE: &str = "COALESCE(c.handler_path, c.owner_path)";

/// Cases in the assessment of the unit at `path` (its whole subtree).
pub fn responsible_sql(path: &str, p: &mut Params) -> String {
    let a = p.push(path.to_string());
    let b = p.push(linli_domain::org::subtree_upper(path));
    format!(
        "((c.handler_path >= {a} AND c.handler_path < {b})
          OR (c.handler_path IS NULL AND c.owner_path >= {a} AND c.owner_path < {b}))"
    )
}

/// What the aggregate groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// The responsible unit's path (the app rolls paths up to the units it shows).
    Path,
    Grid,
    /// The full category code (the app rolls codes up to a level).
    Category,
    Channel,
}

/// One group's key as stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GroupKey {
    Path(String),
    Grid(Option<Uuid>),
    /// (code, category name as filed: `一级/二级/三级`)
    Category(String, String),
    Channel(String),
}

/// The slice an aggregate reads.
#[derive(Debug, Clone)]
pub struct Slice {
    /// Tenants the unit's subtree spans (one for a district or below).
    pub tenants: Vec<String>,
    /// The unit whose assessment this is.
    pub path: String,
    pub from: Ts,
    pub to: Ts,
    pub now: Ts,
}

fn tally_of(r: &Row<'_>) -> Result<Tally, StoreError> {
    let mut t = Tally::default();
    for m in Measure::ALL {
        t.set(*m, r.i64(&format!("m_{}", m.key()))?);
    }
    t.handling_micros = r.i64("handling")?;
    Ok(t)
}

/// Counts of every measure per group over the slice.
pub async fn aggregate(
    db: &Db,
    s: &Slice,
    by: GroupBy,
) -> Result<Vec<(GroupKey, Tally)>, StoreError> {
    if s.tenants.is_empty() {
        return Ok(vec![]);
    }
    let mut p = Params::default();
    let now = p.push(s.now);
    let sums: Vec<String> = Measure::ALL
        .iter()
        .map(|m| {
            format!(
                "CAST(SUM(CASE WHEN {} THEN 1 ELSE 0 END) AS BIGINT) AS m_{}",
                measure_sql(*m, &now),
                m.key()
            )
        })
        .collect();
    let tenants: Vec<String> = s.tenants.iter().map(|t| p.push(t.clone())).collect();
    let from = p.push(s.from);
    let to = p.push(s.to);
    let scope = responsible_sql(&s.path, &mut p);
    let (key, extra) = match by {
        GroupBy::Path => (RESPONSIBLE, ""),
        GroupBy::Grid => ("c.grid_id", ""),
        GroupBy::Category => ("c.category_code", ", MIN(c.category_name) AS lbl"),
        GroupBy::Channel => ("c.channel", ""),
    };
    let sql = format!(
        "SELECT {key} AS k{extra}, {},
            CAST(SUM(CASE WHEN {CLOSED} THEN c.closed_at - c.received_at ELSE 0 END) AS BIGINT) AS handling
         FROM cases c
         WHERE c.tenant IN ({}) AND c.received_at >= {from} AND c.received_at < {to} AND {scope}
         GROUP BY {key}",
        sums.join(",\n            "),
        tenants.join(", ")
    );
    db.fetch_all(sql, p.args, |r| {
        let k = match by {
            GroupBy::Path => GroupKey::Path(r.text("k")?),
            GroupBy::Grid => GroupKey::Grid(r.opt_uuid("k")?),
            GroupBy::Category => GroupKey::Category(r.text("k")?, r.text("lbl")?),
            GroupBy::Channel => GroupKey::Channel(r.text("k")?),
        };
        Ok((k, tally_of(&r)?))
    })
    .await
}

/// The tenants whose cases a unit's subtree may hold: its own and those of the county-level
/// units below it (a city or province spans many).
pub async fn tenants_under(db: &Db, path: &str, own: &str) -> Result<Vec<String>, StoreError> {
    let mut out = db
        .fetch_all(
            "SELECT DISTINCT tenant FROM org_units WHERE kind = 'district' AND path >= $1 AND path < $2",
            args![path, linli_domain::org::subtree_upper(path)],
            |r| r.text("tenant"),
        )
        .await?;
    out.push(own.to_string());
    out.sort();
    out.dedup();
    Ok(out)
}

/// A platform setting's stored text.
pub async fn setting(db: &Db, key: &str) -> Result<Option<String>, StoreError> {
    db.fetch_optional(
        "SELECT value FROM settings WHERE key = $1",
        args![key],
        |r| r.text("value"),
    )
    .await
}

pub async fn put_setting(tx: &mut Tx, key: &str, value: &str, now: Ts) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        args![key, value, now],
    )
    .await?;
    Ok(())
}
