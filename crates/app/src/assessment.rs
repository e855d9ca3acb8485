//! Assessment reports (考核统计): the figures of one unit's subtree over a period, broken down
//! by unit, grid, category or channel, with the weighted score and a ranking; and the score
//! weights, kept in the `settings` table.
//!
//! The formulas are [`linli_domain::assessment`]'s; the counts come from one aggregate query
//! ([`linli_store::repo::assessment::aggregate`]). Units are rolled up here: the query groups
//! by the path of the unit each case is assessed on, and every path counts toward the direct
//! child of the assessed unit that contains it (or toward the unit itself, “本级”).

use std::collections::HashMap;

use linli_domain::Ts;
use linli_domain::assessment::{Period, Rate, Tally, Weights, average_hours, rank, score};
use linli_domain::auth::{Permission, ScopeFilter};
use linli_domain::case::Channel;
use linli_domain::org::{OrgKind, is_within};
use linli_store::repo::assessment::{self as repo, GroupBy, GroupKey, Slice};
use linli_store::repo::org::{self as org_repo, OrgUnit};
use uuid::Uuid;

use crate::audit::{Event, record};
use crate::{App, AppError, Principal, Result};

/// The settings key of the score weights (JSON of [`Weights`]).
pub const WEIGHTS_KEY: &str = "assessment.weights";

/// What a report breaks the figures down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    /// The assessed unit's direct children (and the unit itself, 本级).
    Unit,
    Grid,
    /// First level of the dispatch catalogue.
    Category,
    /// Second level of the dispatch catalogue.
    Category2,
    Channel,
}

impl Dimension {
    pub const ALL: [Dimension; 5] = [
        Dimension::Unit,
        Dimension::Grid,
        Dimension::Category,
        Dimension::Category2,
        Dimension::Channel,
    ];
    pub fn key(self) -> &'static str {
        match self {
            Dimension::Unit => "unit",
            Dimension::Grid => "grid",
            Dimension::Category => "category",
            Dimension::Category2 => "category2",
            Dimension::Channel => "channel",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Dimension::Unit => "按单位",
            Dimension::Grid => "按网格",
            Dimension::Category => "按一级分类",
            Dimension::Category2 => "按二级分类",
            Dimension::Channel => "按渠道",
        }
    }
    pub fn parse(s: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.key() == s)
    }
}

#[derive(Debug, Clone)]
pub struct AssessmentQuery {
    /// The unit assessed; the caller's own unit when absent.
    pub unit_id: Option<Uuid>,
    pub dimension: Dimension,
    pub period: Period,
}

/// One line of a report.
#[derive(Debug, Clone)]
pub struct Row {
    /// The group's key: a unit or grid id, a category code prefix, a channel key; empty for
    /// “未分类”/“未关联网格”.
    pub key: String,
    pub label: String,
    /// The case-list filter (query string, without `measure`) that selects this row's cases;
    /// None when the list cannot express it (cases without a grid or category).
    pub filter: Option<String>,
    pub tally: Tally,
    pub rates: Vec<(Rate, Option<f64>)>,
    pub average_hours: Option<f64>,
    pub score: Option<f64>,
    pub rank: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub unit: OrgUnit,
    pub dimension: Dimension,
    pub period: Period,
    pub weights: Weights,
    /// When the figures were taken (states and overdue are as of this moment).
    pub at: Ts,
    pub rows: Vec<Row>,
    pub total: Row,
}

/// The weights in force: the stored ones, or the defaults when none (or unusable ones) are
/// stored.
pub async fn current_weights(app: &App) -> Result<Weights> {
    Ok(repo::setting(&app.db, WEIGHTS_KEY)
        .await?
        .and_then(|s| serde_json::from_str::<Weights>(&s).ok())
        .filter(|w| w.problem().is_none())
        .unwrap_or_default())
}

pub async fn weights(app: &App, p: &Principal) -> Result<Weights> {
    p.require(Permission::AssessmentRead)?;
    current_weights(app).await
}

/// Replace the weights (catalogue maintainers), audited with the old and new values.
pub async fn set_weights(app: &App, p: &Principal, w: Weights) -> Result<Weights> {
    p.require(Permission::CatalogueManage)?;
    if let Some(msg) = w.problem() {
        return Err(AppError::invalid("invalid_weights", msg));
    }
    let old = current_weights(app).await?;
    let text = serde_json::to_string(&w).map_err(|e| AppError::Internal(e.to_string()))?;
    let now = app.now();
    write_tx!(app, |tx| {
        repo::put_setting(&mut tx, WEIGHTS_KEY, &text, now).await?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("assessment.weights", "setting", WEIGHTS_KEY)
                .detail(serde_json::json!({"from": old, "to": w})),
        )
        .await?;
    })?;
    Ok(w)
}

/// A period from the API's or console's parameters: `period` (`2026-11`, `2026-Q4`, `2026`) or
/// `from` and `to` (days, both included); the current month when neither is given.
pub fn period_of(
    app: &App,
    period: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Period> {
    let bad = |m: &str| AppError::invalid("invalid_period", m.to_string());
    match (nonempty(period), nonempty(from), nonempty(to)) {
        (Some(p), None, None) => Period::parse(p)
            .ok_or_else(|| bad("统计期应为 2026-11、2026-Q4 或 2026 这样的月、季、年")),
        (None, Some(f), Some(t)) => Period::days(f, t)
            .ok_or_else(|| bad("起止日期应为 2026-11-01 这样的日期，且开始不晚于结束")),
        (None, None, None) => Period::month_of(app.now()).ok_or_else(|| bad("无法确定本月")),
        _ => Err(bad(
            "请只选择一种统计期：月/季/年（period），或起止日期（from 与 to）",
        )),
    }
}

fn row(key: String, label: String, filter: Option<String>, tally: Tally, w: &Weights) -> Row {
    Row {
        rates: Rate::ALL
            .iter()
            .map(|r| (*r, r.of(&tally, w.basic_credit)))
            .collect(),
        average_hours: average_hours(&tally),
        score: score(&tally, w),
        rank: None,
        key,
        label,
        filter,
        tally,
    }
}

/// Codes `01.02.003` roll up to `01` (level 1) or `01.02` (level 2); names `一级/二级/三级`
/// likewise.
fn category_prefix(code: &str, name: &str, level: usize) -> (String, String) {
    let code: Vec<&str> = code.split('.').take(level).collect();
    let name: Vec<&str> = name.split('/').take(level).collect();
    (code.join("."), name.join("/"))
}

fn nonempty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// The report of one unit's subtree over a period.
pub async fn report(app: &App, p: &Principal, q: AssessmentQuery) -> Result<Report> {
    p.require(Permission::AssessmentRead)?;
    let unit = org_repo::get(&app.db, q.unit_id.unwrap_or(p.unit_id))
        .await?
        .ok_or(AppError::NotFound("单位"))?;
    p.require_on(Permission::AssessmentRead, &unit, "单位")?;
    let tenants = match unit.kind {
        OrgKind::Root | OrgKind::Province | OrgKind::City => {
            repo::tenants_under(&app.db, &unit.path, &unit.tenant).await?
        }
        _ => vec![unit.tenant.clone()],
    };
    let now = app.now();
    let slice = Slice {
        tenants,
        path: unit.path.clone(),
        from: q.period.from,
        to: q.period.to,
        now,
    };
    let w = current_weights(app).await?;
    let base = format!(
        "unit={}&from={}&to={}",
        unit.id,
        q.period.from.rfc3339(),
        q.period.to.rfc3339()
    );
    let by = match q.dimension {
        Dimension::Unit => GroupBy::Path,
        Dimension::Grid => GroupBy::Grid,
        Dimension::Category | Dimension::Category2 => GroupBy::Category,
        Dimension::Channel => GroupBy::Channel,
    };
    let groups = repo::aggregate(&app.db, &slice, by).await?;
    let mut total = Tally::default();
    for (_, t) in &groups {
        total.add(t);
    }

    let mut rows: Vec<Row> = Vec::new();
    match q.dimension {
        Dimension::Unit => {
            let children = org_repo::children(&app.db, unit.id, &ScopeFilter::everything()).await?;
            let mut own = Tally::default();
            let mut per: Vec<Tally> = vec![Tally::default(); children.len()];
            for (k, t) in &groups {
                let GroupKey::Path(path) = k else { continue };
                match children.iter().position(|c| is_within(path, &c.unit.path)) {
                    Some(i) => per[i].add(t),
                    None => own.add(t),
                }
            }
            if own != Tally::default() || children.is_empty() {
                rows.push(row(
                    unit.id.to_string(),
                    format!("{}（本级）", unit.name),
                    Some(format!(
                        "unit={}&unit_only=true&from={}&to={}",
                        unit.id,
                        q.period.from.rfc3339(),
                        q.period.to.rfc3339()
                    )),
                    own,
                    &w,
                ));
            }
            for (c, t) in children.iter().zip(per) {
                rows.push(row(
                    c.unit.id.to_string(),
                    c.unit.name.clone(),
                    Some(format!(
                        "unit={}&from={}&to={}",
                        c.unit.id,
                        q.period.from.rfc3339(),
                        q.period.to.rfc3339()
                    )),
                    t,
                    &w,
                ));
            }
        }
        Dimension::Grid => {
            let ids: Vec<Uuid> = groups
                .iter()
                .filter_map(|(k, _)| match k {
                    GroupKey::Grid(g) => *g,
                    _ => None,
                })
                .collect();
            let names: HashMap<Uuid, String> =
                org_repo::names(&app.db, &ids, &ScopeFilter::everything(), p.unit_id)
                    .await?
                    .into_iter()
                    .collect();
            for (k, t) in groups {
                let GroupKey::Grid(g) = k else { continue };
                rows.push(match g {
                    Some(g) => row(
                        g.to_string(),
                        names.get(&g).cloned().unwrap_or_else(|| g.to_string()),
                        Some(format!("{base}&grid={g}")),
                        t,
                        &w,
                    ),
                    None => row(String::new(), "未关联网格".into(), None, t, &w),
                });
            }
        }
        Dimension::Category | Dimension::Category2 => {
            let level = if q.dimension == Dimension::Category {
                1
            } else {
                2
            };
            let mut acc: Vec<(String, String, Tally)> = Vec::new();
            for (k, t) in groups {
                let GroupKey::Category(code, name) = k else {
                    continue;
                };
                let (key, label) = if code.is_empty() {
                    (String::new(), "未分类".to_string())
                } else {
                    category_prefix(&code, &name, level)
                };
                match acc.iter_mut().find(|(k, _, _)| *k == key) {
                    Some((_, _, x)) => x.add(&t),
                    None => acc.push((key, label, t)),
                }
            }
            for (key, label, t) in acc {
                // The list filters by code prefix; `01.` keeps `01` from matching `010`.
                let filter = (!key.is_empty()).then(|| format!("{base}&category={key}."));
                rows.push(row(key, label, filter, t, &w));
            }
        }
        Dimension::Channel => {
            for (k, t) in groups {
                let GroupKey::Channel(ch) = k else { continue };
                let label = Channel::parse(&ch)
                    .map(|c| c.label().to_string())
                    .unwrap_or_else(|| ch.clone());
                rows.push(row(
                    ch.clone(),
                    label,
                    Some(format!("{base}&channel={ch}")),
                    t,
                    &w,
                ));
            }
        }
    }
    if q.dimension != Dimension::Unit {
        // Most cases first; ties by key so the order is stable.
        rows.sort_by(|a, b| {
            b.tally
                .received
                .cmp(&a.tally.received)
                .then_with(|| a.key.cmp(&b.key))
        });
    }
    let scores: Vec<Option<f64>> = rows.iter().map(|r| r.score).collect();
    for (r, k) in rows.iter_mut().zip(rank(&scores)) {
        r.rank = k;
    }
    let total = row(unit.id.to_string(), "合计".into(), Some(base), total, &w);
    Ok(Report {
        unit,
        dimension: q.dimension,
        period: q.period,
        weights: w,
        at: now,
        rows,
        total,
    })
}

#[cfg(test)]
mod tests {
    use super::category_prefix;

    #[test]
    fn categories_roll_up_by_code_segment_and_name() {
        let (code, name) = ("01.02.003", "市容环境/垃圾清运/生活垃圾未及时清运");
        assert_eq!(
            category_prefix(code, name, 1),
            ("01".to_string(), "市容环境".to_string())
        );
        assert_eq!(
            category_prefix(code, name, 2),
            ("01.02".to_string(), "市容环境/垃圾清运".to_string())
        );
        // A code shorter than the level is its own group.
        assert_eq!(
            category_prefix("07", "其他", 2),
            ("07".to_string(), "其他".to_string())
        );
    }
}
