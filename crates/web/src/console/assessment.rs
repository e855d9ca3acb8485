//! 考核统计: one unit's figures over a period by unit, grid, category or channel; every count
//! links to the workbench listing exactly the cases behind it; a ranking by score, ECharts
//! charts of the score and of the three Art. 32 rates, and the formulas (计算口径).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use linli_app::Principal;
use linli_app::assessment::{AssessmentQuery, Dimension, Row};
use linli_domain::assessment::{FORMULAS, Measure, Rate};
use linli_domain::auth::{Permission, Target};
use linli_store::repo::org::OrgUnit;
use serde::Deserialize;
use uuid::Uuid;

use super::{PageError, Shell, fail, parse_id, render};
use crate::AppState;
use crate::auth::{ApiQuery, ConsoleAuth, urlencode};

pub fn routes() -> Router<AppState> {
    Router::new().route("/console/assessment", get(page))
}

const ACTIVE: &str = "/console/assessment";

/// The counts shown as columns, in the order of the closed loop.
const COUNT_COLUMNS: &[Measure] = Measure::ALL;

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0))
        .unwrap_or_else(|| "—".into())
}

fn num(v: Option<f64>, decimals: usize) -> String {
    v.map(|x| format!("{x:.decimals$}"))
        .unwrap_or_else(|| "—".into())
}

struct Cell {
    text: String,
    href: Option<String>,
}

struct RowView {
    label: String,
    /// Drill down into this unit's own assessment.
    drill: Option<String>,
    counts: Vec<Cell>,
    rates: Vec<String>,
    hours: String,
    score: String,
    rank: String,
}

fn view(r: &Row, drill: Option<String>) -> RowView {
    RowView {
        label: r.label.clone(),
        drill,
        counts: COUNT_COLUMNS
            .iter()
            .map(|m| {
                let n = r.tally.get(*m);
                Cell {
                    text: n.to_string(),
                    href: r
                        .filter
                        .as_ref()
                        .filter(|_| n > 0)
                        .map(|f| format!("/console/cases?queue=all&{}&measure={}", f, m.key())),
                }
            })
            .collect(),
        rates: r.rates.iter().map(|(_, v)| pct(*v)).collect(),
        hours: num(r.average_hours, 1),
        score: num(r.score, 2),
        rank: r.rank.map(|k| k.to_string()).unwrap_or_else(|| "—".into()),
    }
}

#[derive(Template)]
#[template(path = "assessment.html")]
struct AssessmentPage {
    shell: Shell,
    unit_name: String,
    /// (id, name, selected)
    units: Vec<(Uuid, String, bool)>,
    /// (href, label, active)
    tabs: Vec<(String, &'static str, bool)>,
    by: &'static str,
    period_label: String,
    period_key: String,
    at: String,
    count_heads: Vec<&'static str>,
    rate_heads: Vec<&'static str>,
    rows: Vec<RowView>,
    total: RowView,
    /// (rank, label, score) by rank.
    ranking: Vec<(String, String, String)>,
    weights: String,
    formulas: &'static [(&'static str, &'static str)],
    /// JSON for the charts (with `<` escaped, safe inside a script element).
    chart: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Params {
    unit: String,
    by: String,
    period: String,
    from: String,
    to: String,
}

fn allowed(p: &Principal, u: &OrgUnit) -> bool {
    p.authz.allows(
        Permission::AssessmentRead,
        Target {
            unit_id: u.id,
            unit_path: &u.path,
            owner: None,
        },
    )
}

async fn page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(q): ApiQuery<Params>,
) -> Result<Response, PageError> {
    let fail = fail(&s, &p, ACTIVE);
    p.require(Permission::AssessmentRead).map_err(&fail)?;
    let unit_id = match q.unit.trim() {
        "" => None,
        u => Some(parse_id(u, "考核单位").map_err(&fail)?),
    };
    let dimension = crate::api::assessment::dimension_of(Some(&q.by)).map_err(&fail)?;
    let period =
        linli_app::assessment::period_of(&s.app, Some(&q.period), Some(&q.from), Some(&q.to))
            .map_err(&fail)?;
    let report = linli_app::assessment::report(
        &s.app,
        &p,
        AssessmentQuery {
            unit_id,
            dimension,
            period,
        },
    )
    .await
    .map_err(&fail)?;

    // The picker: the units where the caller's assessment grants sit, the way up from the
    // shown unit as far as the caller may look, and the shown unit.
    let mut units: Vec<OrgUnit> = Vec::new();
    for id in p.authz.roots(Permission::AssessmentRead) {
        if let Ok(Some(u)) = linli_store::repo::org::get(&s.app.db, id).await {
            units.push(u);
        }
    }
    if let Ok(up) = linli_store::repo::org::ancestors(&s.app.db, &report.unit).await {
        units.extend(up.into_iter().filter(|u| allowed(&p, u)));
    }
    units.push(report.unit.clone());
    units.sort_by(|a, b| a.path.cmp(&b.path));
    units.dedup_by(|a, b| a.id == b.id);
    let units = units
        .into_iter()
        .map(|u| (u.id, u.name, u.id == report.unit.id))
        .collect();

    let period_q = format!("period={}", urlencode(&report.period.key));
    let period_q = match report.period.key.split_once('~') {
        Some((f, t)) => format!("from={f}&to={t}"),
        None => period_q,
    };
    let tabs = Dimension::ALL
        .iter()
        .map(|d| {
            (
                format!(
                    "/console/assessment?unit={}&by={}&{period_q}",
                    report.unit.id,
                    d.key()
                ),
                d.label(),
                *d == report.dimension,
            )
        })
        .collect();
    let drill_to = |r: &Row| -> Option<String> {
        (report.dimension == Dimension::Unit && r.key != report.unit.id.to_string())
            .then(|| format!("/console/assessment?unit={}&by=unit&{period_q}", r.key))
    };
    let rows: Vec<RowView> = report.rows.iter().map(|r| view(r, drill_to(r))).collect();
    let mut ranked: Vec<&Row> = report.rows.iter().filter(|r| r.rank.is_some()).collect();
    ranked.sort_by_key(|r| r.rank);
    let ranking = ranked
        .iter()
        .map(|r| {
            (
                r.rank.map(|k| k.to_string()).unwrap_or_default(),
                r.label.clone(),
                num(r.score, 2),
            )
        })
        .collect();
    let rate_of = |r: &Row, rate: Rate| {
        r.rates
            .iter()
            .find(|(x, _)| *x == rate)
            .and_then(|(_, v)| *v)
            .map(|v| (v * 1000.0).round() / 10.0)
    };
    let three: Vec<serde_json::Value> = [Rate::Response, Rate::Resolution, Rate::Satisfaction]
        .iter()
        .map(|rate| {
            serde_json::json!({
                "name": rate.label(),
                "values": report.rows.iter().map(|r| rate_of(r, *rate)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let chart = serde_json::json!({
        "labels": report.rows.iter().map(|r| r.label.clone()).collect::<Vec<_>>(),
        "scores": report.rows.iter().map(|r| r.score.map(|x| (x * 100.0).round() / 100.0)).collect::<Vec<_>>(),
        "rates": three,
    })
    .to_string()
    .replace('<', "\\u003c");
    let weights = report
        .weights
        .rates
        .iter()
        .filter(|x| x.weight > 0.0)
        .map(|x| format!("{} {}", x.rate.label(), x.weight))
        .collect::<Vec<_>>()
        .join("、")
        + &format!("；基本满意折算系数 {}", report.weights.basic_credit);
    let shell = Shell::new(&p, &s.app, "考核统计", ACTIVE);
    Ok(render(&AssessmentPage {
        shell,
        unit_name: report.unit.name.clone(),
        units,
        tabs,
        by: report.dimension.key(),
        period_label: report.period.label.clone(),
        period_key: report.period.key.clone(),
        at: report.at.display_cst(),
        count_heads: COUNT_COLUMNS.iter().map(|m| m.label()).collect(),
        rate_heads: Rate::ALL.iter().map(|r| r.label()).collect(),
        total: view(&report.total, None),
        rows,
        ranking,
        weights,
        formulas: FORMULAS,
        chart,
    }))
}
