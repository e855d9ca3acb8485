//! 吹哨报到 on the case page: the whistles blown on a case with every summoned department's
//! response and report-in, the street's form to blow, the departments' forms to respond and
//! report in, and the street's closing form that rates each department (一哨一考).
//!
//! What a user is shown mirrors what `linli_app::whistle` lets them do; the use cases still
//! decide every step.

use std::collections::{BTreeSet, HashMap};

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use linli_app::whistle::{BlowInput, ReportInput, WhistleView};
use linli_app::{AppError, Principal};
use linli_domain::Ts;
use linli_domain::auth::{Permission, Target};
use linli_domain::org::OrgKind;
use linli_domain::whistle::Situation;
use linli_store::repo::cases::CaseRow;
use linli_store::repo::org as org_repo;
use serde::Deserialize;
use uuid::Uuid;

use super::{back, parse_id};
use crate::AppState;
use crate::auth::{ApiForm, ApiPath, ConsoleAuth};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/cases/{id}/whistle", post(blow))
        .route("/console/cases/{id}/whistle/{wid}/respond", post(respond))
        .route("/console/cases/{id}/whistle/{wid}/report", post(report))
        .route("/console/cases/{id}/whistle/{wid}/close", post(close))
}

/// One summoned department's part in a whistle, as shown.
pub(super) struct CallView {
    pub dept_id: Uuid,
    pub dept: String,
    pub respond_due: String,
    pub report_due: String,
    pub responded_at: Option<String>,
    pub response_note: String,
    pub reported_at: Option<String>,
    pub report_person: String,
    pub photo: Option<Uuid>,
    pub late_response: bool,
    pub late_report: bool,
    pub rating: Option<u8>,
    /// The rating as five stars.
    pub stars: String,
    pub rating_note: String,
    /// The viewer answers for this department and the whistle is open.
    pub mine: bool,
}

pub(super) struct WhistleCard {
    pub id: Uuid,
    pub item: String,
    pub level: i64,
    pub situation: String,
    pub reason: String,
    pub open: bool,
    pub blown_at: String,
    pub closed_at: String,
    pub close_note: String,
    pub calls: Vec<CallView>,
    /// The viewer may close and rate (the whistling street's `whistle.blow`).
    pub can_close: bool,
}

/// One row of the whistle catalogue as a choice in the blow form.
pub(super) struct ItemChoice {
    pub id: Uuid,
    pub category: String,
    pub item: String,
    pub level: u8,
    pub departments: String,
    pub respond_minutes: u32,
    pub report_minutes: u32,
}

/// Everything the case page's 吹哨报到 card needs.
pub(super) struct Panel {
    pub whistles: Vec<WhistleCard>,
    /// The viewer may blow a whistle on this case now.
    pub can_blow: bool,
    pub categories: Vec<String>,
    pub items: Vec<ItemChoice>,
    pub situations: Vec<(&'static str, &'static str)>,
}

fn allowed(p: &Principal, perm: Permission, unit_id: Uuid, unit_path: &str) -> bool {
    p.authz.allows(
        perm,
        Target {
            unit_id,
            unit_path,
            owner: None,
        },
    )
}

/// The street that would blow on this case: the handler if it is a street, else the receiver.
async fn street_of(s: &AppState, c: &CaseRow) -> Result<Option<(Uuid, String)>, AppError> {
    for id in c.life.handler.into_iter().chain([c.owner_id]) {
        if let Some(u) = org_repo::get(&s.app.db, id).await?
            && u.kind == OrgKind::Street
        {
            return Ok(Some((u.id, u.path)));
        }
    }
    Ok(None)
}

fn card(p: &Principal, v: WhistleView, street_path: &HashMap<Uuid, String>) -> WhistleCard {
    let w = v.whistle;
    let open = w.state == "open";
    let can_close = open
        && street_path
            .get(&w.street_id)
            .is_some_and(|path| allowed(p, Permission::WhistleBlow, w.street_id, path));
    let calls = v
        .calls
        .into_iter()
        .map(|(c, name)| CallView {
            mine: open && allowed(p, Permission::WhistleRespond, c.call.dept, &c.dept_path),
            dept_id: c.call.dept,
            dept: if name.is_empty() { "—".into() } else { name },
            respond_due: c.call.respond_due.display_cst(),
            report_due: c.call.report_due.display_cst(),
            responded_at: c.call.responded_at.map(Ts::display_cst),
            response_note: c.response_note,
            reported_at: c.call.reported_at.map(Ts::display_cst),
            report_person: c.report_person,
            photo: c.report_photo,
            late_response: c.call.late_response == Some(true),
            late_report: c.call.late_report == Some(true),
            rating: c.call.rating,
            stars: c
                .call
                .rating
                .map(|r| {
                    let r = usize::from(r.min(5));
                    format!("{}{}", "★".repeat(r), "☆".repeat(5 - r))
                })
                .unwrap_or_default(),
            rating_note: c.rating_note,
        })
        .collect();
    WhistleCard {
        id: w.id,
        item: w.item_name,
        level: w.level,
        situation: Situation::parse(&w.situation)
            .map(|x| x.label().to_string())
            .unwrap_or(w.situation),
        reason: w.reason,
        open,
        blown_at: w.blown_at.display_cst(),
        closed_at: w.closed_at.map(Ts::display_cst).unwrap_or_default(),
        close_note: w.close_note,
        calls,
        can_close,
    }
}

pub(super) async fn panel(s: &AppState, p: &Principal, c: &CaseRow) -> Result<Panel, AppError> {
    let views = linli_app::whistle::for_case(&s.app, p, c.id).await?;
    let mut street_path = HashMap::new();
    for id in views
        .iter()
        .map(|v| v.whistle.street_id)
        .collect::<BTreeSet<_>>()
    {
        if let Some(u) = org_repo::get(&s.app.db, id).await? {
            street_path.insert(u.id, u.path);
        }
    }
    let whistles: Vec<WhistleCard> = views
        .into_iter()
        .map(|v| card(p, v, &street_path))
        .collect();
    let can_blow = c.life.is_open()
        && !c.whistle_open
        && p.authz.has(Permission::WhistleBlow)
        && street_of(s, c)
            .await?
            .is_some_and(|(id, path)| allowed(p, Permission::WhistleBlow, id, &path));
    let (mut categories, mut items) = (Vec::new(), Vec::new());
    if can_blow {
        let rows = linli_app::whistle::items(&s.app, p, &c.tenant).await?;
        let mut names: HashMap<String, String> = HashMap::new();
        for code in rows
            .iter()
            .flat_map(|r| r.item.departments.iter().cloned())
            .collect::<BTreeSet<_>>()
        {
            let name = org_repo::get_by_code(&s.app.db, &code)
                .await?
                .map(|u| u.name)
                .unwrap_or_else(|| code.clone());
            names.insert(code, name);
        }
        for r in rows {
            if !categories.contains(&r.item.category) {
                categories.push(r.item.category.clone());
            }
            items.push(ItemChoice {
                id: r.id,
                departments: r
                    .item
                    .departments
                    .iter()
                    .map(|d| names.get(d).cloned().unwrap_or_else(|| d.clone()))
                    .collect::<Vec<_>>()
                    .join("、"),
                category: r.item.category,
                item: r.item.item,
                level: r.item.level,
                respond_minutes: r.item.respond_minutes,
                report_minutes: r.item.report_minutes,
            });
        }
    }
    Ok(Panel {
        whistles,
        can_blow,
        categories,
        items,
        situations: Situation::ALL
            .iter()
            .map(|x| (x.key(), x.label()))
            .collect(),
    })
}

fn here(id: Uuid) -> String {
    format!("/console/cases/{id}#whistle")
}

fn optional_id(v: &str, what: &str) -> Result<Option<Uuid>, AppError> {
    match v.trim() {
        "" => Ok(None),
        x => parse_id(x, what).map(Some),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct BlowForm {
    item_id: String,
    situation: String,
    reason: String,
}

async fn blow(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiForm(f): ApiForm<BlowForm>,
) -> Response {
    let r = async {
        let item_id = parse_id(&f.item_id, "吹哨事项")?;
        let situation = Situation::parse(f.situation.trim())
            .ok_or_else(|| AppError::invalid("missing_field", "请选择吹哨情形"))?;
        let v = linli_app::whistle::blow(
            &s.app,
            &p,
            id,
            BlowInput {
                item_id,
                situation,
                reason: f.reason.clone(),
            },
        )
        .await?;
        Ok(format!(
            "已吹哨「{}」，召集 {} 个部门",
            v.whistle.item_name,
            v.calls.len()
        ))
    }
    .await;
    back(&here(id), r)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RespondForm {
    dept: String,
    note: String,
}

async fn respond(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath((id, wid)): ApiPath<(Uuid, Uuid)>,
    ApiForm(f): ApiForm<RespondForm>,
) -> Response {
    let r = async {
        let dept = optional_id(&f.dept, "响应部门")?;
        linli_app::whistle::respond(&s.app, &p, wid, dept, &f.note).await?;
        Ok("已响应吹哨".to_string())
    }
    .await;
    back(&here(id), r)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ReportForm {
    dept: String,
    person: String,
    note: String,
    photo: String,
}

async fn report(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath((id, wid)): ApiPath<(Uuid, Uuid)>,
    ApiForm(f): ApiForm<ReportForm>,
) -> Response {
    let r = async {
        let input = ReportInput {
            dept: optional_id(&f.dept, "报到部门")?,
            person: f.person.clone(),
            note: f.note.clone(),
            photo: optional_id(&f.photo, "现场照片")?,
        };
        linli_app::whistle::report(&s.app, &p, wid, input).await?;
        Ok("已报到".to_string())
    }
    .await;
    back(&here(id), r)
}

/// One department's rating: (department, score 1–5, note).
type Rating = (Uuid, u8, String);

/// The close form: `score_{dept}` (1–5) and `rnote_{dept}` per department, and `note`.
fn ratings(pairs: &[(String, String)]) -> Result<(Vec<Rating>, String), AppError> {
    let mut out: Vec<Rating> = Vec::new();
    let mut notes: HashMap<Uuid, String> = HashMap::new();
    let mut note = String::new();
    for (k, v) in pairs {
        if let Some(d) = k.strip_prefix("score_") {
            let dept = parse_id(d, "被评价部门")?;
            let score = v
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|x| (1..=5).contains(x))
                .ok_or_else(|| AppError::invalid("invalid_score", "请为每个部门评 1–5 分"))?;
            if out.iter().any(|(x, _, _)| *x == dept) {
                return Err(AppError::invalid("invalid_score", "同一部门只能评价一次"));
            }
            out.push((dept, score, String::new()));
        } else if let Some(d) = k.strip_prefix("rnote_") {
            notes.insert(parse_id(d, "被评价部门")?, v.clone());
        } else if k == "note" {
            note = v.clone();
        }
    }
    for (d, _, n) in &mut out {
        if let Some(x) = notes.remove(d) {
            *n = x;
        }
    }
    Ok((out, note))
}

async fn close(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath((id, wid)): ApiPath<(Uuid, Uuid)>,
    ApiForm(pairs): ApiForm<Vec<(String, String)>>,
) -> Response {
    let r = async {
        let (scores, note) = ratings(&pairs)?;
        linli_app::whistle::close(&s.app, &p, wid, &scores, &note).await?;
        Ok("已结哨，并完成对各部门的评价".to_string())
    }
    .await;
    back(&here(id), r)
}
