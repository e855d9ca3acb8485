//! 工单 pages: the workbench (queues, filters, keyset paging), one case with its timeline and
//! exactly the steps the caller may take now (one small form per step), the hotline intake
//! form with the caller's earlier cases, and the audited reveal of the requester's contact.
//!
//! The pages only present and collect: every rule (who may do what, which state admits which
//! step, text limits) is the `linli_app::cases` use cases'.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use linli_app::cases::{NewCase, Queue, StepInput};
use linli_app::{AppError, Principal};
use linli_domain::Ts;
use linli_domain::auth::{Permission, Target};
use linli_domain::case::{
    Action, CaseState, Channel, Disposition, Light, NoticeKind, ObjectionGround, RequestType,
    Satisfaction, Urgency,
};
use linli_store::repo::cases::{CaseRow, ListQuery};
use serde::Deserialize;
use uuid::Uuid;

use super::attachments::{self as att, AttView};
use super::whistle::{self, Panel};
use super::{
    FlashQuery, FragmentWrap, PageError, Shell, back, fail, fragment_error, parse_id, render,
    ticked,
};
use crate::AppState;
use crate::auth::{ApiForm, ApiPath, ApiQuery, ConsoleAuth, urlencode};
use crate::error::status_of;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/cases", get(workbench))
        .route("/console/cases/tabs", get(tabs_fragment))
        .route("/console/cases/new", get(new_page).post(create))
        .route("/console/cases/history", get(history))
        .route("/console/cases/categories", get(categories))
        .route("/console/cases/suggest", post(suggest))
        .route("/console/cases/{id}", get(case_page))
        .route("/console/cases/{id}/requester", post(reveal))
        .route("/console/cases/{id}/{action}", post(step))
}

const ACTIVE: &str = "/console/cases";
const PAGE: i64 = 30;
/// Earlier cases of a caller shown beside the intake form.
const HISTORY: i64 = 8;

fn light_class(l: Light) -> &'static str {
    match l {
        Light::Green => "bg-green text-green-fg",
        Light::Yellow => "bg-yellow text-yellow-fg",
        Light::Red => "bg-red text-red-fg",
        Light::Stopped => "bg-secondary text-secondary-fg",
    }
}

fn cst(t: Option<Ts>) -> String {
    t.map(Ts::display_cst).unwrap_or_else(|| "—".into())
}

/// A select option: (key, label, selected).
type Opt = (&'static str, &'static str, bool);

fn opts<T: Copy + PartialEq>(
    all: &[T],
    key: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
    cur: Option<T>,
) -> Vec<Opt> {
    all.iter()
        .map(|&x| (key(x), label(x), cur == Some(x)))
        .collect()
}

/// An optional choice from a form: empty is none, anything unknown is refused.
fn choice<T>(v: &str, parse: fn(&str) -> Option<T>, what: &str) -> Result<Option<T>, AppError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    parse(v)
        .map(Some)
        .ok_or_else(|| AppError::invalid("invalid_choice", format!("{what}无效，请重新选择")))
}

fn yes_no(v: &str, what: &str) -> Result<Option<bool>, AppError> {
    choice(
        v,
        |s| match s {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        what,
    )
}

/// The console's wording of an error (a stale version names what to do).
fn say(e: AppError) -> AppError {
    match e {
        AppError::Stale => AppError::Conflict("已被他人更新，请刷新页面后重试".into()),
        other => other,
    }
}

// ---------------------------------------------------------------------------------------------
// The workbench.

struct Row {
    id: Uuid,
    number: String,
    title: String,
    /// The title cut where the search words matched (`true`: a match), when searching.
    title_parts: Vec<(String, bool)>,
    /// A piece of the description around the first match, when searching.
    snippet: Vec<(String, bool)>,
    category: String,
    state: &'static str,
    light: &'static str,
    light_class: &'static str,
    urgent: Option<&'static str>,
    handler: String,
    received: String,
    due: String,
}

/// Names of the units of cases the caller reads (see `linli_app::cases::unit_names`).
async fn case_unit_names(
    s: &AppState,
    p: &Principal,
    ids: impl IntoIterator<Item = Uuid>,
) -> std::collections::HashMap<Uuid, String> {
    let ids: Vec<Uuid> = ids.into_iter().collect();
    linli_app::cases::unit_names(&s.app, p, &ids)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "unit names lookup failed");
            std::collections::HashMap::new()
        })
}

async fn rows(s: &AppState, p: &Principal, cases: Vec<CaseRow>) -> Vec<Row> {
    searched_rows(s, p, cases, &[]).await
}

/// [`rows`] with the search words that found them marked.
async fn searched_rows(
    s: &AppState,
    p: &Principal,
    cases: Vec<CaseRow>,
    terms: &[String],
) -> Vec<Row> {
    let names = case_unit_names(s, p, cases.iter().filter_map(|c| c.life.handler)).await;
    let now = s.app.now();
    cases
        .into_iter()
        .map(|c| {
            let l = &c.life;
            let light = l.light(now);
            Row {
                id: c.id,
                handler: l
                    .handler
                    .and_then(|h| names.get(&h).cloned())
                    .unwrap_or_else(|| "—".into()),
                state: l.state.label(),
                light: light.label(),
                light_class: light_class(light),
                urgent: (l.urgency != Urgency::Normal).then(|| l.urgency.label()),
                received: c.received_at.display_cst(),
                due: cst(l.due_at),
                category: if c.category_name.is_empty() {
                    "未分类".into()
                } else {
                    c.category_name
                },
                title_parts: if terms.is_empty() {
                    vec![]
                } else {
                    linli_app::search::highlight(&c.title, terms)
                },
                snippet: if terms.is_empty() {
                    vec![]
                } else {
                    linli_app::search::highlight(
                        &linli_app::search::snippet(&c.description, terms, 80),
                        terms,
                    )
                },
                number: c.number,
                title: c.title,
            }
        })
        .collect()
}

/// The workbench's queue tabs.
#[derive(Template)]
#[template(path = "_case_tabs.html")]
struct Tabs {
    /// (href, label, active, count — none for 全部, or while not yet counted)
    items: Vec<(String, &'static str, bool, Option<String>)>,
    /// Where the counts come from when the page has none yet.
    counts_url: Option<String>,
}

#[derive(Template)]
#[template(path = "cases_list.html")]
struct ListPage {
    shell: Shell,
    tabs: Tabs,
    queue: &'static str,
    q: String,
    channels: Vec<Opt>,
    urgencies: Vec<Opt>,
    filtered: bool,
    /// The assessment count the list is limited to, when it came from a figure.
    measure: Option<&'static str>,
    rows: Vec<Row>,
    next: Option<String>,
    first: Option<String>,
    can_create: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListParams {
    queue: String,
    q: String,
    channel: String,
    urgency: String,
    before: String,
    /// The assessment's links: a measure, the assessed unit (and `unit_only` for 本级), the
    /// period as RFC 3339 bounds, a grid, a category prefix.
    measure: String,
    unit: String,
    unit_only: String,
    from: String,
    to: String,
    grid: String,
    category: String,
    ok: Option<String>,
    err: Option<String>,
}

fn rfc3339(v: &str, what: &str) -> Result<Option<Ts>, AppError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
        .map(|d| Some(Ts::from_datetime(d)))
        .map_err(|_| AppError::invalid("invalid_time", format!("{what}应为 RFC 3339 时间")))
}

/// The assessment filters of the workbench, applied to `lq`; returns them as a query string
/// to carry through tabs and pages ("" when none).
async fn assessment_filters(
    s: &AppState,
    p: &Principal,
    q: &ListParams,
    lq: &mut ListQuery,
) -> Result<String, AppError> {
    let mut keep = Vec::new();
    if !q.measure.trim().is_empty() {
        let m = crate::api::cases::measure_of(&q.measure)?;
        lq.measure = Some(m);
        keep.push(format!("measure={}", m.key()));
    }
    if !q.unit.trim().is_empty() {
        let u = parse_id(&q.unit, "考核单位")?;
        let path = linli_app::org::get(&s.app, p, u).await?.path;
        if q.unit_only == "true" {
            lq.assessed_at = Some(path);
            keep.push(format!("unit={u}&unit_only=true"));
        } else {
            lq.assessed_under = Some(path);
            keep.push(format!("unit={u}"));
        }
    }
    if let Some(t) = rfc3339(&q.from, "起始时间")? {
        lq.received_from = Some(t);
        keep.push(format!("from={}", urlencode(&t.rfc3339())));
    }
    if let Some(t) = rfc3339(&q.to, "截止时间")? {
        lq.received_to = Some(t);
        keep.push(format!("to={}", urlencode(&t.rfc3339())));
    }
    if !q.grid.trim().is_empty() {
        let g = parse_id(&q.grid, "网格")?;
        lq.grid = Some(g);
        keep.push(format!("grid={g}"));
    }
    let cat: String = q.category.trim().chars().take(64).collect();
    if !cat.is_empty() {
        keep.push(format!("category={}", urlencode(&cat)));
        lq.category = Some(cat);
    }
    Ok(keep.join("&"))
}

/// A workbench request understood: the queue, the list query, and its filters as a query
/// string to carry through tabs and pages.
struct Wanted {
    queue: Queue,
    lq: ListQuery,
    text: String,
    channel: Option<Channel>,
    urgency: Option<Urgency>,
    before: Option<Uuid>,
    filters: String,
    assessed: bool,
    /// The words the full-text search looked for (to mark them in the list).
    terms: Vec<String>,
}

async fn wanted(s: &AppState, p: &Principal, q: &ListParams) -> Result<Wanted, AppError> {
    p.require(Permission::CaseRead)?;
    // A figure's link lists all its cases, whatever their state.
    let from_figure = !q.measure.trim().is_empty() || !q.unit.trim().is_empty();
    let default = if from_figure {
        Queue::All
    } else if p.authz.has(Permission::CaseDispatch) {
        Queue::Pending
    } else {
        Queue::All
    };
    let queue = if q.queue.is_empty() {
        default
    } else {
        Queue::parse(&q.queue)
            .ok_or_else(|| AppError::invalid("invalid_queue", "没有这个工作台队列"))?
    };
    let text: String = q.q.trim().chars().take(64).collect();
    let channel = choice(&q.channel, Channel::parse, "受理渠道")?;
    let urgency = choice(&q.urgency, Urgency::parse, "紧急程度")?;
    let before = match q.before.trim() {
        "" => None,
        b => Some(parse_id(b, "分页位置")?),
    };
    let mut lq = ListQuery {
        channel,
        urgency,
        q: Some(text.clone()).filter(|t| !t.is_empty()),
        before,
        limit: PAGE + 1,
        ..Default::default()
    };
    queue.apply(&mut lq);
    let assess = assessment_filters(s, p, q, &mut lq).await?;
    let mut filters = format!(
        "q={}&channel={}&urgency={}",
        urlencode(&text),
        channel.map(Channel::key).unwrap_or(""),
        urgency.map(Urgency::key).unwrap_or("")
    );
    if !assess.is_empty() {
        filters.push('&');
        filters.push_str(&assess);
    }
    // Cut the words once: the list and the marks use the same groups.
    linli_app::cases::text_filter(&s.app, &mut lq).await?;
    let terms = lq.search.iter().flatten().cloned().collect();
    Ok(Wanted {
        queue,
        lq,
        text,
        channel,
        urgency,
        before,
        filters,
        assessed: !assess.is_empty(),
        terms,
    })
}

/// The queue tabs, with their counts when known.
fn tabs(w: &Wanted, counts: Option<&[(Queue, i64)]>) -> Tabs {
    let items = Queue::ALL
        .iter()
        .map(|x| {
            let count =
                counts
                    .and_then(|c| c.iter().find(|(q, _)| q == x))
                    .map(|(_, n)| match *n {
                        n if n >= linli_app::cases::QUEUE_COUNT_CAP => {
                            format!("{}+", linli_app::cases::QUEUE_COUNT_CAP - 1)
                        }
                        n => n.to_string(),
                    });
            (
                format!("/console/cases?queue={}&{}", x.key(), w.filters),
                x.label(),
                *x == w.queue,
                count,
            )
        })
        .collect();
    Tabs {
        items,
        // Counting a street's queues at a million cases takes a while: the page comes first
        // and the tabs fetch their counts after it.
        counts_url: counts
            .is_none()
            .then(|| format!("/console/cases/tabs?queue={}&{}", w.queue.key(), w.filters)),
    }
}

/// The queue tabs alone, with their counts: fetched by the workbench after it is shown.
async fn tabs_fragment(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(q): ApiQuery<ListParams>,
) -> Result<Response, PageError> {
    let fail = fail(&s, &p, ACTIVE);
    let w = wanted(&s, &p, &q).await.map_err(&fail)?;
    let counts = linli_app::cases::queue_counts(&s.app, &p, &w.lq)
        .await
        .map_err(&fail)?;
    Ok(render(&tabs(&w, Some(&counts))))
}

async fn workbench(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(q): ApiQuery<ListParams>,
) -> Result<Response, PageError> {
    let fail = fail(&s, &p, ACTIVE);
    let w = wanted(&s, &p, &q).await.map_err(&fail)?;
    let (queue, lq) = (w.queue, &w.lq);
    let mut found = linli_app::cases::list(&s.app, &p, lq)
        .await
        .map_err(&fail)?;
    let more = found.len() as i64 > PAGE;
    found.truncate(PAGE as usize);
    let base = format!("/console/cases?queue={}&{}", queue.key(), w.filters);
    let next = if more {
        found.last().map(|c| format!("{base}&before={}", c.id))
    } else {
        None
    };
    let cached = linli_app::cases::cached_queue_counts(&s.app, &p, lq);
    let tabs = tabs(&w, cached.as_deref());
    let rows = searched_rows(&s, &p, found, &w.terms).await;
    let shell =
        Shell::new(&p, &s.app, "工单工作台", ACTIVE).flash_from(q.ok.as_deref(), q.err.as_deref());
    Ok(render(&ListPage {
        shell,
        tabs,
        queue: queue.key(),
        filtered: !w.text.is_empty() || w.channel.is_some() || w.urgency.is_some() || w.assessed,
        measure: lq.measure.map(|m| m.label()),
        q: w.text.clone(),
        channels: opts(Channel::ALL, Channel::key, Channel::label, w.channel),
        urgencies: opts(Urgency::ALL, Urgency::key, Urgency::label, w.urgency),
        rows,
        next,
        first: w.before.map(|_| base),
        can_create: p.authz.has(Permission::CaseCreate),
    }))
}

// ---------------------------------------------------------------------------------------------
// One case.

struct EventView {
    at: String,
    actor: String,
    action: String,
    from: String,
    to: String,
    note: String,
    /// The files the step carried: (download URL, name).
    files: Vec<(String, String)>,
}

/// The attachment ids a timeline event's data names (a step's `attachments`, a report-in's
/// `photo`).
fn event_files(data: &str) -> Vec<Uuid> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(data) else {
        return vec![];
    };
    let listed = v
        .get("attachments")
        .and_then(|a| a.as_array())
        .into_iter()
        .flatten();
    listed
        .chain(v.get("photo"))
        .filter_map(|x| x.as_str())
        .filter_map(|x| x.parse().ok())
        .collect()
}

struct NoticeView {
    at: String,
    kind: &'static str,
    unit: String,
    title: String,
}

/// One step the caller may take: the action's key and label; the template picks the fields.
struct ActionView {
    key: &'static str,
    label: &'static str,
    /// What the note field is called for this step; None when the step takes no text.
    note: Option<&'static str>,
}

fn note_label(a: Action) -> Option<&'static str> {
    use Action::*;
    Some(match a {
        Register | Dispatch | Sign | Resume | Warn | Overdue => return None,
        Dispose => "处置说明",
        Consult => "会商事项",
        ConsultDone => "会商结论",
        Object => "退单理由",
        Review => "审核意见",
        Contact => "联系情况",
        Pause => "暂停原因",
        Extend => "延期理由",
        DecideExtension => "审批意见",
        Reply => "办理结果",
        Verify => "核实情况",
        Visit => "回访记录",
        Reopen => "重办原因",
        Supervise => "督办意见",
        Note => "备注内容",
    })
}

struct CaseView {
    id: Uuid,
    number: String,
    title: String,
    description: String,
    state: &'static str,
    light: &'static str,
    light_class: &'static str,
    urgency: &'static str,
    request_type: &'static str,
    channel: &'static str,
    category: String,
    address: String,
    /// (lat, lng) as text with six decimals.
    point: Option<(String, String)>,
    requester_name: String,
    requester_phone: String,
    anonymous: bool,
    received: String,
    sign_due: String,
    contact_due: String,
    due: String,
    limit: String,
    paused: bool,
    extension_days: Option<u32>,
    objections: i64,
    extensions: i64,
    reworks: i64,
    reopens: i64,
    supervisions: i64,
    disposition: Option<&'static str>,
    satisfaction: Option<&'static str>,
    whistle: bool,
    version: i64,
}

#[derive(Template)]
#[template(path = "cases_show.html")]
struct CasePage {
    shell: Shell,
    /// The step whose form failed ("" when none) and the note typed into it: the page shows
    /// that form open and filled again, so nothing typed is lost.
    draft_action: &'static str,
    draft_note: String,
    /// The failed step is no longer offered (the case moved on): the note is shown on its own
    /// to copy.
    draft_orphan: bool,
    c: CaseView,
    /// (role label, unit name)
    parties: Vec<(&'static str, String)>,
    timeline: Vec<EventView>,
    notices: Vec<NoticeView>,
    actions: Vec<ActionView>,
    can_reveal: bool,
    dispositions: Vec<Opt>,
    grounds: Vec<Opt>,
    satisfactions: Vec<Opt>,
    urgencies: Vec<Opt>,
    max_days: u32,
    whistle: Panel,
    attachments: Vec<AttView>,
    /// Uploaded files no step carries yet (offered on the step forms).
    free: Vec<(Uuid, String)>,
    /// Image attachments, for the report-in photo.
    photos: Vec<(Uuid, String)>,
    /// The register form's category picker: (id, name) of the current category.
    category: (String, String),
    /// The dispatch form's preselected unit from the category's responsible unit: (id, name).
    dispatch_to: (String, String),
    dups: super::duplicates::Panel,
}

fn notice_label(kind: &str) -> &'static str {
    match kind {
        "whistle" => "吹哨召集",
        "whistle_late" => "吹哨响应/报到超时",
        k => NOTICE_KINDS
            .iter()
            .find(|x| x.key() == k)
            .map_or("通知", |x| x.label()),
    }
}

fn role_label(r: &str) -> &'static str {
    match r {
        "owner" => "受理单位",
        "handler" => "承办单位",
        "co_handler" => "协办单位",
        "copy" => "抄送单位",
        "grid" => "所属网格",
        "whistle" => "吹哨召集部门",
        "community" => "所属社区",
        _ => "相关单位",
    }
}

const NOTICE_KINDS: [NoticeKind; 9] = [
    NoticeKind::Assigned,
    NoticeKind::Copied,
    NoticeKind::Objection,
    NoticeKind::ExtensionAsked,
    NoticeKind::Warning,
    NoticeKind::Overdue,
    NoticeKind::Supervision,
    NoticeKind::Rework,
    NoticeKind::Reopened,
];

fn state_label(key: &str) -> String {
    CaseState::parse(key)
        .map(|s| s.label().to_string())
        .unwrap_or_else(|| {
            if key.is_empty() {
                "—".into()
            } else {
                key.to_string()
            }
        })
}

fn may_reveal(p: &Principal, c: &CaseRow) -> bool {
    p.authz.allows(
        Permission::CasePersonal,
        Target {
            unit_id: c.owner_id,
            unit_path: &c.owner_path,
            owner: None,
        },
    )
}

async fn show_case(
    s: &AppState,
    p: &Principal,
    id: Uuid,
    shell: Shell,
    draft: Option<(Action, String)>,
) -> Result<Response, PageError> {
    let fail = fail(s, p, ACTIVE);
    let linli_app::cases::Detail {
        visible: linli_app::cases::Visible { case: c, parties },
        actions,
        timeline: events,
        notices,
    } = linli_app::cases::detail(&s.app, p, id)
        .await
        .map_err(&fail)?;
    let names = case_unit_names(
        s,
        p,
        parties
            .iter()
            .map(|x| x.unit_id)
            .chain(notices.iter().map(|n| n.unit_id))
            .chain(events.iter().filter_map(|e| e.actor_unit)),
    )
    .await;
    let name = |u: Uuid| names.get(&u).cloned().unwrap_or_else(|| "—".into());
    let panel = whistle::panel(s, p, &c).await.map_err(&fail)?;
    let attachments: Vec<AttView> = linli_app::cases::attachments(&s.app, p, id)
        .await
        .map_err(&fail)?
        .into_iter()
        .map(att::view)
        .collect();
    let dispatch_to = if actions.contains(&Action::Dispatch) {
        dispatch_default(s, &c).await.map_err(&fail)?
    } else {
        Default::default()
    };
    let dups = super::duplicates::panel(s, p, &c, actions.contains(&Action::Dispose)).await;
    let now = s.app.now();
    let l = &c.life;
    let light = l.light(now);
    let view = CaseView {
        id: c.id,
        number: c.number.clone(),
        title: c.title.clone(),
        description: c.description.clone(),
        state: l.state.label(),
        light: light.label(),
        light_class: light_class(light),
        urgency: l.urgency.label(),
        request_type: l.request_type.label(),
        channel: c.channel.label(),
        category: if c.category_name.is_empty() {
            "未分类".into()
        } else {
            format!("{}（{}）", c.category_name, c.category_code)
        },
        address: c.address.clone(),
        point: c.lat_e6.zip(c.lng_e6).map(|(a, b)| {
            (
                format!("{:.6}", a as f64 / 1e6),
                format!("{:.6}", b as f64 / 1e6),
            )
        }),
        requester_name: linli_app::pi::mask_name(&c.requester_name),
        requester_phone: c.phone_masked.clone(),
        anonymous: l.anonymous,
        received: c.received_at.display_cst(),
        sign_due: cst(l.sign_due),
        contact_due: cst(l.contact_due),
        due: cst(l.due_at),
        limit: l
            .limits
            .map(|x| x.complete.to_string())
            .unwrap_or_else(|| "—".into()),
        paused: l.paused_at.is_some(),
        extension_days: l.extension.map(|e| e.days),
        objections: l.counts.objections,
        extensions: l.counts.extensions,
        reworks: l.counts.reworks,
        reopens: l.counts.reopens,
        supervisions: l.counts.supervisions,
        disposition: l.disposition.map(Disposition::label),
        satisfaction: l.satisfaction.map(Satisfaction::label),
        whistle: c.whistle_open,
        version: c.version,
    };
    let timeline = events
        .into_iter()
        .map(|e| EventView {
            at: e.at.display_cst(),
            actor: match e.actor_unit {
                Some(u) if !e.actor_name.is_empty() => format!("{}（{}）", e.actor_name, name(u)),
                _ if e.actor_name.is_empty() => "系统".into(),
                _ => e.actor_name.clone(),
            },
            action: linli_app::cases::timeline_label(&e.action).to_string(),
            from: state_label(&e.from_state),
            to: state_label(&e.to_state),
            files: event_files(&e.data)
                .into_iter()
                .filter_map(|f| attachments.iter().find(|a| a.id == f))
                .map(|a| (a.url.clone(), a.name.clone()))
                .collect(),
            note: e.note,
        })
        .collect();
    let notices = notices
        .into_iter()
        .map(|n| NoticeView {
            at: n.created_at.display_cst(),
            kind: notice_label(&n.kind),
            unit: name(n.unit_id),
            title: n.title,
        })
        .collect();
    let parties = parties
        .iter()
        .map(|x| (role_label(&x.role), name(x.unit_id)))
        .collect();
    let mut shell = shell.crumbs(vec![(ACTIVE.into(), "工单工作台".into())]);
    shell.title = format!("工单 {}", view.number);
    let (draft_action, draft_note) = match draft {
        Some((a, note)) => (a.key(), note),
        None => ("", String::new()),
    };
    let draft_orphan =
        !draft_note.trim().is_empty() && !actions.iter().any(|a| a.key() == draft_action);
    Ok(render(&CasePage {
        shell,
        draft_action,
        draft_note,
        draft_orphan,
        can_reveal: may_reveal(p, &c),
        c: view,
        parties,
        timeline,
        notices,
        actions: actions
            .into_iter()
            .map(|a| ActionView {
                key: a.key(),
                label: a.label(),
                note: note_label(a),
            })
            .collect(),
        dispositions: opts(Disposition::ALL, Disposition::key, Disposition::label, None),
        grounds: opts(
            ObjectionGround::ALL,
            ObjectionGround::key,
            ObjectionGround::label,
            None,
        ),
        satisfactions: opts(
            Satisfaction::ALL,
            Satisfaction::key,
            Satisfaction::label,
            None,
        ),
        urgencies: opts(Urgency::ALL, Urgency::key, Urgency::label, None),
        max_days: linli_domain::case::MAX_EXTENSION_DAYS,
        whistle: panel,
        free: attachments
            .iter()
            .filter(|a| a.free)
            .map(|a| (a.id, a.name.clone()))
            .collect(),
        photos: attachments
            .iter()
            .filter(|a| a.image)
            .map(|a| (a.id, a.name.clone()))
            .collect(),
        attachments,
        category: (
            c.category_id.map(|x| x.to_string()).unwrap_or_default(),
            c.category_name.clone(),
        ),
        dispatch_to,
        dups,
    }))
}

/// The unit to preselect on the dispatch form: the one the case's category names as
/// responsible, or, for a category a street handles (属地管理), the street of the case's
/// community.
async fn dispatch_default(s: &AppState, c: &CaseRow) -> Result<(String, String), AppError> {
    let Some(cat) = c.category_id else {
        return Ok(Default::default());
    };
    let Some(e) = linli_app::catalogue::entry(&s.app, &c.tenant, cat).await? else {
        return Ok(Default::default());
    };
    let unit = if !e.handler_code.is_empty() {
        linli_store::repo::org::get_by_code(&s.app.db, &e.handler_code).await?
    } else if e.handler_kind == Some(linli_domain::org::OrgKind::Street)
        && let Some(community) = c.community_id
    {
        match linli_app::units::get(&s.app, community).await? {
            Some(cm) => linli_app::units::street_of(&s.app, &cm).await?,
            None => None,
        }
    } else {
        None
    };
    Ok(unit
        .filter(|u| u.active)
        .map(|u| (u.id.to_string(), u.name))
        .unwrap_or_default())
}

async fn case_page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(fq): ApiQuery<FlashQuery>,
) -> Result<Response, PageError> {
    let shell = Shell::new(&p, &s.app, "", ACTIVE).flash_from(fq.ok.as_deref(), fq.err.as_deref());
    show_case(&s, &p, id, shell, None).await
}

#[derive(Template)]
#[template(path = "_case_requester.html")]
struct RequesterFragment {
    name: String,
    phone: String,
}

/// The requester's full name and phone, as a fragment; each reveal is audited by the use case.
async fn reveal(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Response {
    match linli_app::cases::requester(&s.app, &p, id).await {
        Ok((name, phone)) => render(&RequesterFragment {
            name: if name.is_empty() {
                "（未留姓名）".into()
            } else {
                name
            },
            phone: phone.unwrap_or_else(|| "（未留电话）".into()),
        }),
        Err(e) => fragment_error(FragmentWrap::Alert, &e),
    }
}

/// Every field any step's form may send; each step reads the ones it needs.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StepForm {
    version: String,
    note: String,
    urgency: String,
    disposition: String,
    /// The number of the original case (dispose as duplicate).
    duplicate_of: String,
    unit_id: String,
    co1: String,
    co2: String,
    co3: String,
    ground: String,
    accept: String,
    approve: String,
    passed: String,
    resolved: String,
    satisfaction: String,
    days: String,
    category_id: String,
}

async fn step_input(
    s: &AppState,
    p: &Principal,
    f: &StepForm,
    attachments: Vec<Uuid>,
) -> Result<StepInput, AppError> {
    let version = f
        .version
        .trim()
        .parse::<i64>()
        .map_err(|_| AppError::invalid("invalid_version", "页面版本无效，请刷新页面后重试"))?;
    let unit = |v: &str, what: &str| -> Result<Option<Uuid>, AppError> {
        if v.trim().is_empty() {
            Ok(None)
        } else {
            parse_id(v, what).map(Some)
        }
    };
    let mut co_handlers = Vec::new();
    for v in [&f.co1, &f.co2, &f.co3] {
        if let Some(u) = unit(v, "协办单位")?
            && !co_handlers.contains(&u)
        {
            co_handlers.push(u);
        }
    }
    let duplicate_of = match f.duplicate_of.trim() {
        "" => None,
        n if n.chars().count() > 40 => {
            return Err(AppError::invalid("invalid_number", "工单编号无效"));
        }
        n => Some(linli_app::cases::by_number(&s.app, p, n).await?.id),
    };
    let days = match f.days.trim() {
        "" => None,
        d => Some(
            d.parse::<u32>()
                .map_err(|_| AppError::invalid("invalid_days", "延期天数应为整数"))?,
        ),
    };
    Ok(StepInput {
        version,
        note: f.note.clone(),
        urgency: choice(&f.urgency, Urgency::parse, "紧急程度")?,
        category_id: unit(&f.category_id, "事项分类")?,
        disposition: choice(&f.disposition, Disposition::parse, "处置方式")?,
        duplicate_of,
        unit_id: unit(&f.unit_id, "承办单位")?,
        co_handlers,
        ground: choice(&f.ground, ObjectionGround::parse, "退单理由类型")?,
        accept: yes_no(&f.accept, "审核结论")?,
        approve: yes_no(&f.approve, "审批结论")?,
        passed: yes_no(&f.passed, "核实结论")?,
        resolved: yes_no(&f.resolved, "是否解决")?,
        satisfaction: choice(&f.satisfaction, Satisfaction::parse, "满意度")?,
        days,
        attachments,
    })
}

/// One step of the closed loop from its form; back to the case page with the outcome.
async fn step(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath((id, action)): ApiPath<(Uuid, String)>,
    ApiForm(pairs): ApiForm<Vec<(String, String)>>,
) -> Response {
    let here = format!("/console/cases/{id}");
    let Some(action) =
        Action::parse(&action).filter(|a| !matches!(a, Action::Warn | Action::Overdue))
    else {
        return back(&here, Err(AppError::NotFound("操作")));
    };
    let note = pairs
        .iter()
        .find(|(k, _)| k == "note")
        .map(|(_, v)| v.chars().take(4000).collect())
        .unwrap_or_default();
    let r = async {
        // Ticked attachments repeat one field; everything else is one value each.
        let mut files = Vec::new();
        let mut rest = Vec::new();
        for (k, v) in pairs {
            if k == "attachment" {
                let a = parse_id(&v, "附件")?;
                if !files.contains(&a) {
                    files.push(a);
                }
            } else {
                rest.push((k, v));
            }
        }
        let f: StepForm = serde_urlencoded::to_string(&rest)
            .ok()
            .and_then(|q| serde_urlencoded::from_str(&q).ok())
            .ok_or_else(|| AppError::invalid("invalid_form", "表单内容无效，请刷新页面后重试"))?;
        let input = step_input(&s, &p, &f, files).await?;
        let c = linli_app::cases::act(&s.app, &p, id, action, input).await?;
        Ok(format!(
            "已{}，工单现为「{}」",
            action.label(),
            c.life.state.label()
        ))
    }
    .await
    .map_err(say);
    match r {
        Ok(msg) => back(&here, Ok(msg)),
        // Refused: the case page again, at its current version, with the error and the form
        // as it was filled.
        Err(e) => {
            let status = crate::error::status_of(&e);
            if status.is_server_error() {
                tracing::error!(error = ?e, "console step failed");
            }
            let shell = Shell::new(&p, &s.app, "", ACTIVE).flash_from(None, Some(&e.message()));
            match show_case(&s, &p, id, shell, Some((action, note))).await {
                Ok(mut page) => {
                    *page.status_mut() = status;
                    page
                }
                Err(pe) => pe.into_response(),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hotline intake.

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct IntakeForm {
    channel: String,
    phone: String,
    name: String,
    anonymous: Option<String>,
    request_type: String,
    urgency: String,
    title: String,
    description: String,
    address: String,
    answer: String,
    category_id: String,
    category_q: String,
}

#[derive(Template)]
#[template(path = "cases_new.html")]
struct NewPage {
    shell: Shell,
    f: IntakeForm,
    anonymous: bool,
    /// (key, label, accesskey, checked)
    types: Vec<(&'static str, &'static str, char, bool)>,
    urgencies: Vec<Opt>,
    channels: Vec<Opt>,
    consult: bool,
}

fn new_page_of(p: &Principal, f: IntakeForm, shell: Shell) -> Result<NewPage, AppError> {
    p.require(Permission::CaseCreate)?;
    let rt = RequestType::parse(&f.request_type).unwrap_or(RequestType::Complaint);
    let channel = Channel::parse(&f.channel).unwrap_or(Channel::Hotline);
    let urgency = Urgency::parse(&f.urgency).unwrap_or(Urgency::Normal);
    Ok(NewPage {
        anonymous: ticked(&f.anonymous),
        types: RequestType::ALL
            .iter()
            .zip(['1', '2', '3', '4', '5'])
            .map(|(&t, k)| (t.key(), t.label(), k, t == rt))
            .collect(),
        urgencies: opts(Urgency::ALL, Urgency::key, Urgency::label, Some(urgency)),
        channels: opts(Channel::ALL, Channel::key, Channel::label, Some(channel)),
        consult: rt == RequestType::Consult,
        f,
        shell,
    })
}

fn new_shell(s: &AppState, p: &Principal) -> Shell {
    Shell::new(p, &s.app, "热线受理", "/console/cases/new")
        .crumbs(vec![(ACTIVE.into(), "工单工作台".into())])
}

async fn new_page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
) -> Result<Response, PageError> {
    let page =
        new_page_of(&p, IntakeForm::default(), new_shell(&s, &p)).map_err(fail(&s, &p, ACTIVE))?;
    Ok(render(&page))
}

async fn create(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiForm(f): ApiForm<IntakeForm>,
) -> Result<Response, PageError> {
    let attempt = async {
        let request_type = choice(&f.request_type, RequestType::parse, "诉求类型")?
            .ok_or_else(|| AppError::invalid("missing_field", "请选择诉求类型"))?;
        let channel = choice(&f.channel, Channel::parse, "受理渠道")?.unwrap_or(Channel::Hotline);
        let phone = Some(f.phone.trim().to_string()).filter(|x| !x.is_empty());
        let answer = Some(f.answer.trim().to_string())
            .filter(|x| request_type == RequestType::Consult && !x.is_empty());
        let category_id = match f.category_id.trim() {
            "" => None,
            v => Some(parse_id(v, "事项分类")?),
        };
        linli_app::cases::create(
            &s.app,
            &p,
            NewCase {
                channel: Some(channel),
                request_type: Some(request_type),
                urgency: choice(&f.urgency, Urgency::parse, "紧急程度")?,
                title: f.title.clone(),
                description: f.description.clone(),
                address: f.address.clone(),
                requester_name: f.name.clone(),
                requester_phone: phone,
                anonymous: ticked(&f.anonymous),
                answer,
                category_id,
                ..Default::default()
            },
        )
        .await
    }
    .await;
    match attempt {
        Ok((c, _)) => Ok(Redirect::to(&format!(
            "/console/cases/{}?ok={}",
            c.id,
            urlencode(&format!("已受理，工单编号 {}", c.number))
        ))
        .into_response()),
        Err(e) => {
            let status = status_of(&e);
            let shell = new_shell(&s, &p).flash("danger", e.message());
            let page = new_page_of(&p, f, shell).map_err(fail(&s, &p, ACTIVE))?;
            Ok((status, render(&page)).into_response())
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SuggestForm {
    title: String,
    description: String,
}

struct SuggestView {
    /// The leaf to fill in; none for a category above leaf level or gone from the catalogue.
    id: Option<Uuid>,
    /// Still in the active catalogue.
    known: bool,
    name: String,
    percent: u32,
    prefill: bool,
}

#[derive(Template)]
#[template(path = "_case_suggest.html")]
struct SuggestFragment {
    items: Vec<SuggestView>,
    problem: Option<String>,
}

/// The district classifier's categories for what the operator has typed so far.
async fn suggest(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiForm(f): ApiForm<SuggestForm>,
) -> Response {
    let tenant = linli_app::catalogue::home_tenant(&p);
    let text = format!("{} {}", f.title, f.description);
    if text.trim().is_empty() {
        return render(&SuggestFragment {
            items: vec![],
            problem: None,
        });
    }
    match linli_app::intake::suggest_categories(&s.app, &p, &tenant, &text).await {
        Ok(found) => {
            let prefill = found.prefill.as_ref().map(|e| e.id);
            render(&SuggestFragment {
                items: found
                    .items
                    .into_iter()
                    .map(|c| SuggestView {
                        id: c.item.as_ref().filter(|e| e.leaf).map(|e| e.id),
                        known: c.item.is_some(),
                        prefill: c.item.as_ref().is_some_and(|e| Some(e.id) == prefill),
                        name: c.item.map(|e| e.full_name).unwrap_or(c.code),
                        percent: (c.score * 100.0).round() as u32,
                    })
                    .collect(),
                problem: found.problem,
            })
        }
        Err(e) => fragment_error(FragmentWrap::Alert, &e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HistoryQuery {
    phone: String,
}

#[derive(Template)]
#[template(path = "_case_history.html")]
struct HistoryFragment {
    /// None: no complete number yet.
    rows: Option<Vec<Row>>,
}

/// The caller's earlier cases while the operator types the number.
async fn history(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Response {
    let phone: String = q.phone.trim().chars().take(32).collect();
    if linli_app::pi::normalize_phone(&phone).is_err() {
        return render(&HistoryFragment { rows: None });
    }
    match linli_app::cases::by_phone(&s.app, &p, &phone, HISTORY).await {
        Ok(found) => render(&HistoryFragment {
            rows: Some(rows(&s, &p, found).await),
        }),
        Err(e) => fragment_error(FragmentWrap::Alert, &e),
    }
}

// ---------------------------------------------------------------------------------------------
// Dispatch-catalogue search for the intake and register forms.

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CategoryQuery {
    category_q: String,
}

struct CategoryRow {
    id: Uuid,
    code: String,
    name: String,
    /// Where the category routes: a named unit, or the kind of unit the dispatcher picks.
    route: String,
    urgency: Option<&'static str>,
    community_may: bool,
}

#[derive(Template)]
#[template(path = "_category_pick.html")]
struct CategoryList {
    rows: Vec<CategoryRow>,
    q: String,
}

const CATEGORY_LIMIT: i64 = 12;

/// Leaves of the active dispatch catalogue matching what the operator types.
async fn categories(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(q): ApiQuery<CategoryQuery>,
) -> Response {
    let text: String = q.category_q.trim().chars().take(64).collect();
    if text.is_empty() {
        return render(&CategoryList {
            rows: vec![],
            q: text,
        });
    }
    let tenant = linli_domain::org::tenant_of_path(&p.unit_path);
    let r = async {
        let found =
            linli_app::catalogue::search(&s.app, &p, &tenant, &text, CATEGORY_LIMIT).await?;
        let mut rows = Vec::new();
        for e in found {
            let route = if !e.handler_code.is_empty() {
                let unit = linli_store::repo::org::get_by_code(&s.app.db, &e.handler_code).await?;
                format!(
                    "派往 {}",
                    unit.map(|u| u.name)
                        .unwrap_or_else(|| e.handler_code.clone())
                )
            } else if let Some(k) = e.handler_kind {
                format!("由派遣员选择{}", k.label())
            } else {
                "由派遣员确定承办单位".into()
            };
            rows.push(CategoryRow {
                id: e.id,
                code: e.code,
                name: e.full_name,
                route,
                urgency: (e.urgency != Urgency::Normal).then(|| e.urgency.label()),
                community_may: e.community_may,
            });
        }
        Ok::<_, AppError>(rows)
    }
    .await;
    match r {
        Ok(rows) => render(&CategoryList { rows, q: text }),
        Err(e) => fragment_error(FragmentWrap::ListItem, &e),
    }
}
