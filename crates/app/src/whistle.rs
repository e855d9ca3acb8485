//! 吹哨报到 as use cases: the whistle catalogue, blowing a whistle on a case, departments
//! responding and reporting in, the street closing and rating (一哨一考), and the sweeper's
//! lateness marks. Every step is also a row on the case's timeline (see
//! [`crate::cases::side_step`]), so the case page tells the whole story.

use linli_domain::Ts;
use linli_domain::auth::{Permission, Target};
use linli_domain::org::OrgKind;
use linli_domain::whistle::{self, Call, Situation};
use linli_store::repo::org as org_repo;
use linli_store::repo::whistle::{self as repo, StoredCall, StoredItem, Whistle};
use uuid::Uuid;

use crate::audit::{Event, record};
use crate::cases::{NoticeTo, side_step};
use crate::{App, AppError, Principal, Result, cases};

/// The demo catalogue (14 categories, 45 items, 3 levels), written for the demo district.
pub const DEMO_CATALOGUE: &str = include_str!("../../../fixtures/whistle-demo.csv");

/// Publish a whistle catalogue for a tenant (a new active version; earlier versions and the
/// whistles blown under them are untouched).
pub async fn import(app: &App, p: &Principal, tenant: &str, text: &str) -> Result<i64> {
    let district = org_repo::get_by_code(&app.db, tenant)
        .await?
        .ok_or(AppError::NotFound("区"))?;
    p.require_on(Permission::CatalogueManage, &district, "区")?;
    let items = whistle::parse_catalogue(text)
        .map_err(|e| AppError::invalid("invalid_catalogue", e.to_string()))?;
    for it in &items {
        for code in &it.departments {
            match org_repo::get_by_code(&app.db, code).await? {
                Some(u)
                    if u.active
                        && (linli_domain::org::depth(&u.path) < 3
                            || linli_domain::org::tenant_of_path(&u.path) == tenant) => {}
                _ => {
                    return Err(AppError::invalid(
                        "unknown_department",
                        format!("{}/{} 召集的单位 {code} 不存在", it.category, it.item),
                    ));
                }
            }
        }
    }
    let now = app.now();
    write_tx!(app, |tx| {
        let v = repo::publish(&mut tx, tenant, &items, "import", Some(p.user_id), now).await?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("whistle.catalogue", "catalogue", tenant)
                .detail(serde_json::json!({"version": v, "rows": items.len()})),
        )
        .await?;
        v
    })
}

/// Load the demo catalogue for the demo district unless it has one.
pub async fn ensure_demo(app: &App, p: &Principal, tenant: &str) -> Result<()> {
    if repo::active_items(&app.db, tenant).await?.is_empty() {
        import(app, p, tenant, DEMO_CATALOGUE).await?;
    }
    Ok(())
}

/// The active catalogue, for the whistle form.
pub async fn items(app: &App, p: &Principal, tenant: &str) -> Result<Vec<StoredItem>> {
    p.require(Permission::CaseRead)?;
    Ok(repo::active_items(&app.db, tenant).await?)
}

/// A whistle with its calls and the departments' names.
#[derive(Debug, Clone)]
pub struct WhistleView {
    pub whistle: Whistle,
    pub calls: Vec<(StoredCall, String)>,
}

pub async fn for_case(app: &App, p: &Principal, case_id: Uuid) -> Result<Vec<WhistleView>> {
    let c = cases::get(app, p, case_id).await?;
    let mut out = Vec::new();
    for w in repo::for_case(&app.db, &c.tenant, c.id).await? {
        out.push(view(app, w).await?);
    }
    Ok(out)
}

async fn view(app: &App, w: Whistle) -> Result<WhistleView> {
    let calls = repo::calls(&app.db, &w.tenant, w.id).await?;
    let ids: Vec<Uuid> = calls.iter().map(|c| c.call.dept).collect();
    let names: std::collections::HashMap<Uuid, String> = org_repo::names(
        &app.db,
        &ids,
        &linli_domain::auth::ScopeFilter::everything(),
        Uuid::nil(),
    )
    .await?
    .into_iter()
    .collect();
    Ok(WhistleView {
        calls: calls
            .into_iter()
            .map(|c| {
                let n = names.get(&c.call.dept).cloned().unwrap_or_default();
                (c, n)
            })
            .collect(),
        whistle: w,
    })
}

pub struct BlowInput {
    pub item_id: Uuid,
    pub situation: Situation,
    pub reason: String,
}

/// A street blows the whistle on a case it handles or received.
pub async fn blow(
    app: &App,
    p: &Principal,
    case_id: Uuid,
    input: BlowInput,
) -> Result<WhistleView> {
    let c = cases::get(app, p, case_id).await?;
    let reason = input.reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(AppError::invalid(
            "note_required",
            "请填写吹哨事由（不超过 1000 字）",
        ));
    }
    if !c.life.is_open() {
        return Err(AppError::Refused {
            key: "case_finished",
            message: "工单已办结，不能吹哨".into(),
        });
    }
    if c.whistle_open {
        return Err(AppError::Refused {
            key: "whistle_open",
            message: "该工单已有进行中的吹哨".into(),
        });
    }
    // The street: the handling unit if it is a street, else the receiving unit if it is one.
    let mut street = None;
    for id in c.life.handler.into_iter().chain([c.owner_id]) {
        if let Some(u) = org_repo::get(&app.db, id).await?
            && u.kind == OrgKind::Street
        {
            street = Some(u);
            break;
        }
    }
    let street = street.ok_or_else(|| AppError::Refused {
        key: "no_street",
        message: "只有街道承办或受理的工单才能吹哨".into(),
    })?;
    if !p.authz.allows(
        Permission::WhistleBlow,
        Target {
            unit_id: street.id,
            unit_path: &street.path,
            owner: None,
        },
    ) {
        return Err(AppError::Forbidden);
    }
    let item = repo::item(&app.db, &c.tenant, input.item_id)
        .await?
        .ok_or_else(|| AppError::invalid("unknown_item", "吹哨事项不存在"))?;
    let mut depts = Vec::new();
    for code in &item.item.departments {
        let u = org_repo::get_by_code(&app.db, code)
            .await?
            .filter(|u| u.active)
            .ok_or_else(|| {
                AppError::invalid("unknown_department", format!("召集的单位 {code} 不存在"))
            })?;
        depts.push(u);
    }
    let now = app.now();
    let w = Whistle {
        tenant: c.tenant.clone(),
        id: linli_domain::ids::new_id(),
        case_id: c.id,
        street_id: street.id,
        item_id: item.id,
        item_name: format!("{}/{}", item.item.category, item.item.item),
        level: i64::from(item.item.level),
        situation: input.situation.key().into(),
        reason: reason.clone(),
        state: "open".into(),
        blown_by: Some(p.user_id),
        blown_at: now,
        closed_by: None,
        closed_at: None,
        close_note: String::new(),
        version: 1,
    };
    let calls: Vec<StoredCall> = depts
        .iter()
        .map(|d| StoredCall {
            tenant: c.tenant.clone(),
            whistle_id: w.id,
            dept_path: d.path.clone(),
            call: Call::summoned(d.id, now, &item.item),
            responded_by: None,
            response_note: String::new(),
            reported_by: None,
            report_person: String::new(),
            report_photo: None,
            rating_note: String::new(),
        })
        .collect();
    let parties: Vec<(Uuid, &str, &str)> = depts
        .iter()
        .map(|d| (d.id, "whistle", d.path.as_str()))
        .collect();
    let notices: Vec<NoticeTo> = depts
        .iter()
        .map(|d| NoticeTo {
            kind: "whistle",
            label: "街道吹哨，请响应报到",
            unit_id: d.id,
            unit_path: d.path.clone(),
        })
        .collect();
    let data = serde_json::json!({
        "whistle": w.id, "item": w.item_name, "level": w.level, "situation": input.situation.key(),
        "departments": depts.iter().map(|d| serde_json::json!({"id": d.id, "name": d.name})).collect::<Vec<_>>(),
        "respond_minutes": item.item.respond_minutes, "report_minutes": item.item.report_minutes,
    });
    write_tx!(app, |tx| {
        side_step(
            &mut tx,
            p,
            (&c.tenant, c.id),
            Some(true),
            "whistle",
            &reason,
            data.clone(),
            &parties,
            &notices,
            now,
        )
        .await?;
        repo::insert(&mut tx, &w).await?;
        for call in &calls {
            repo::insert_call(&mut tx, call).await?;
        }
    })?;
    view(app, w).await
}

/// The call of `whistle_id` that the principal answers for with `perm` (the one for `dept`, or
/// the only one they reach).
async fn my_call(
    app: &App,
    p: &Principal,
    whistle_id: Uuid,
    dept: Option<Uuid>,
) -> Result<(Whistle, StoredCall)> {
    let w = repo::get(&app.db, whistle_id)
        .await?
        .ok_or(AppError::NotFound("吹哨"))?;
    // Seeing the case is the first gate (404 otherwise).
    cases::get(app, p, w.case_id).await?;
    if w.state != "open" {
        return Err(AppError::Refused {
            key: "whistle_closed",
            message: "吹哨已结束".into(),
        });
    }
    let mine: Vec<StoredCall> = repo::calls(&app.db, &w.tenant, w.id)
        .await?
        .into_iter()
        .filter(|c| dept.is_none_or(|d| d == c.call.dept))
        .filter(|c| {
            p.authz.allows(
                Permission::WhistleRespond,
                Target {
                    unit_id: c.call.dept,
                    unit_path: &c.dept_path,
                    owner: None,
                },
            )
        })
        .collect();
    match mine.len() {
        1 => Ok((w, mine.into_iter().next().ok_or(AppError::Forbidden)?)),
        0 => Err(AppError::Forbidden),
        _ => Err(AppError::invalid("dept_required", "请指明以哪个部门响应")),
    }
}

/// A summoned department answers the whistle.
pub async fn respond(
    app: &App,
    p: &Principal,
    whistle_id: Uuid,
    dept: Option<Uuid>,
    note: &str,
) -> Result<WhistleView> {
    let (w, before) = my_call(app, p, whistle_id, dept).await?;
    let note = note.trim().to_string();
    if note.chars().count() > 1000 {
        return Err(AppError::invalid(
            "note_too_long",
            "响应说明不能超过 1000 字",
        ));
    }
    let now = app.now();
    let mut after = before.clone();
    after.call.respond(now)?;
    after.responded_by = Some(p.user_id);
    after.response_note = note.clone();
    let late = after.call.late_response == Some(true);
    write_tx!(app, |tx| {
        if !repo::update_call(&mut tx, &before, &after).await? {
            return Err(AppError::Stale);
        }
        side_step(
            &mut tx,
            p,
            (&w.tenant, w.case_id),
            None,
            "whistle_respond",
            &note,
            serde_json::json!({"whistle": w.id, "dept": after.call.dept, "late": late}),
            &[],
            &[],
            now,
        )
        .await?;
    })?;
    view(app, w).await
}

pub struct ReportInput {
    pub dept: Option<Uuid>,
    pub person: String,
    pub note: String,
    pub photo: Option<Uuid>,
}

/// A summoned department reports in on site (time, person, photo).
pub async fn report(
    app: &App,
    p: &Principal,
    whistle_id: Uuid,
    input: ReportInput,
) -> Result<WhistleView> {
    let (w, before) = my_call(app, p, whistle_id, input.dept).await?;
    let person = input.person.trim().to_string();
    if person.is_empty() || person.chars().count() > 50 {
        return Err(AppError::invalid(
            "missing_field",
            "请填写报到人员（不超过 50 字）",
        ));
    }
    if input.note.chars().count() > 1000 {
        return Err(AppError::invalid(
            "note_too_long",
            "报到说明不能超过 1000 字",
        ));
    }
    if let Some(photo) = input.photo {
        let a = crate::attachments::get(app, &w.tenant, photo).await?;
        if !a.is_some_and(|a| {
            a.case_id == w.case_id && a.kind == linli_domain::media::MediaKind::Image
        }) {
            return Err(AppError::invalid(
                "bad_photo",
                "现场照片须是本工单上传的图片",
            ));
        }
    }
    let now = app.now();
    let mut after = before.clone();
    after.call.report(now)?;
    if before.call.responded_at.is_none() {
        after.responded_by = Some(p.user_id);
    }
    after.reported_by = Some(p.user_id);
    after.report_person = person.clone();
    after.report_photo = input.photo;
    let late = after.call.late_report == Some(true);
    let note = input.note.trim().to_string();
    write_tx!(app, |tx| {
        if !repo::update_call(&mut tx, &before, &after).await? {
            return Err(AppError::Stale);
        }
        side_step(
            &mut tx,
            p,
            (&w.tenant, w.case_id),
            None,
            "whistle_report",
            &note,
            serde_json::json!({"whistle": w.id, "dept": after.call.dept, "person": person, "photo": input.photo, "late": late}),
            &[],
            &[],
            now,
        )
        .await?;
    })?;
    view(app, w).await
}

/// The street closes the whistle, rating every department it summoned (1–5).
pub async fn close(
    app: &App,
    p: &Principal,
    whistle_id: Uuid,
    ratings: &[(Uuid, u8, String)],
    note: &str,
) -> Result<WhistleView> {
    let w = repo::get(&app.db, whistle_id)
        .await?
        .ok_or(AppError::NotFound("吹哨"))?;
    cases::get(app, p, w.case_id).await?;
    let street = org_repo::get(&app.db, w.street_id)
        .await?
        .ok_or(AppError::NotFound("街道"))?;
    p.require_on(Permission::WhistleBlow, &street, "吹哨")?;
    if w.state != "open" {
        return Err(AppError::Refused {
            key: "whistle_closed",
            message: "吹哨已结束".into(),
        });
    }
    if ratings.iter().any(|(_, _, n)| n.chars().count() > 500) || note.chars().count() > 1000 {
        return Err(AppError::invalid("note_too_long", "评价说明过长"));
    }
    let before = repo::calls(&app.db, &w.tenant, w.id).await?;
    let mut calls: Vec<Call> = before.iter().map(|c| c.call.clone()).collect();
    let scores: Vec<(Uuid, u8)> = ratings.iter().map(|(d, s, _)| (*d, *s)).collect();
    whistle::close(&mut calls, &scores)?;
    let now = app.now();
    let note = note.trim().to_string();
    write_tx!(app, |tx| {
        for (b, c) in before.iter().zip(&calls) {
            let mut a = b.clone();
            a.call = c.clone();
            a.rating_note = ratings
                .iter()
                .find(|(d, _, _)| *d == c.dept)
                .map(|(_, _, n)| n.trim().to_string())
                .unwrap_or_default();
            if !repo::update_call(&mut tx, b, &a).await? {
                return Err(AppError::Stale);
            }
        }
        if !repo::close(&mut tx, &w, p.user_id, now, &note).await? {
            return Err(AppError::Stale);
        }
        side_step(
            &mut tx,
            p,
            (&w.tenant, w.case_id),
            Some(false),
            "whistle_close",
            &note,
            serde_json::json!({"whistle": w.id, "ratings": scores.iter().map(|(d, s)| serde_json::json!({"dept": d, "score": s})).collect::<Vec<_>>()}),
            &[],
            &[],
            now,
        )
        .await?;
    })?;
    let w = repo::get(&app.db, whistle_id)
        .await?
        .ok_or(AppError::NotFound("吹哨"))?;
    view(app, w).await
}

/// The sweeper's part: mark calls whose limit passed with nothing done, once each, telling the
/// street and the department.
pub async fn sweep_late(app: &App, sys: &Principal, now: Ts, batch: i64) -> Result<usize> {
    let mut marked = 0;
    for before in repo::silent_calls(&app.db, now, batch).await? {
        let mut after = before.clone();
        if !after.call.overdue_marks(now) {
            continue;
        }
        let Some(w) = repo::get(&app.db, before.whistle_id).await? else {
            continue;
        };
        let street = org_repo::get(&app.db, w.street_id).await?;
        let mut notices = vec![NoticeTo {
            kind: "whistle_late",
            label: "吹哨响应/报到超时",
            unit_id: before.call.dept,
            unit_path: before.dept_path.clone(),
        }];
        if let Some(s) = &street {
            notices.push(NoticeTo {
                kind: "whistle_late",
                label: "吹哨响应/报到超时",
                unit_id: s.id,
                unit_path: s.path.clone(),
            });
        }
        let data = serde_json::json!({
            "whistle": w.id, "dept": before.call.dept,
            "late_response": after.call.late_response, "late_report": after.call.late_report,
        });
        let done = write_tx!(app, |tx| {
            if !repo::update_call(&mut tx, &before, &after).await? {
                false
            } else {
                side_step(
                    &mut tx,
                    sys,
                    (&w.tenant, w.case_id),
                    None,
                    "whistle_late",
                    "",
                    data.clone(),
                    &[],
                    &notices,
                    now,
                )
                .await?;
                true
            }
        });
        match done {
            Ok(true) => marked += 1,
            Ok(false) | Err(AppError::Stale) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(marked)
}
