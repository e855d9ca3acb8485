//! Cases (工单): intake, lists and queues, one `POST /cases/{id}/{action}` per step of the
//! closed loop, the timeline, the requester's contact (audited), and the caller's notices.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use linli_app::cases::{NewCase, Queue, StepInput};
use linli_app::{AppError, Principal};
use linli_domain::Ts;
use linli_domain::case::{
    Action, CaseState, Channel, Disposition, Light, ObjectionGround, RequestType, Satisfaction,
    Urgency,
};
use linli_store::repo::cases::{CaseRow, Event, ListQuery, Notice, Party};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Page, decode_cursor, limit_of, page};
use crate::AppState;
use crate::auth::{ApiAuth, ApiJson, ApiPath, ApiQuery};
use crate::error::{ApiError, ErrorBody};

/// Largest upload accepted on the attachment route (the media limits inside are stricter per
/// kind: see `[attachments]` in the configuration).
pub const UPLOAD_LIMIT: usize = 32 * 1024 * 1024;

fn t(ts: Option<Ts>) -> Option<String> {
    ts.map(Ts::rfc3339)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryDto {
    pub id: Uuid,
    pub code: String,
    /// 一级/二级/三级.
    pub name: String,
    /// The catalogue version the case was filed or reclassified under.
    pub version: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Deadlines {
    pub sign_due: Option<String>,
    pub contact_due: Option<String>,
    pub due_at: Option<String>,
    /// When the case turns yellow.
    pub warn_at: Option<String>,
    /// Completion limit snapshotted at dispatch, e.g. `5wd`, `24h`.
    pub limit: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CountsDto {
    pub objections: i64,
    pub extensions: i64,
    pub reworks: i64,
    pub reopens: i64,
    pub supervisions: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDto {
    pub id: Uuid,
    /// Human-readable and unique, e.g. `110101-20261121-000123`.
    pub number: String,
    pub tenant: String,
    pub channel: Channel,
    pub external_id: Option<String>,
    pub request_type: RequestType,
    pub urgency: Urgency,
    pub state: CaseState,
    pub state_label: String,
    pub title: String,
    pub description: String,
    pub category: Option<CategoryDto>,
    pub address: String,
    /// WGS84 latitude.
    pub lat: Option<f64>,
    /// WGS84 longitude.
    pub lng: Option<f64>,
    pub grid_id: Option<Uuid>,
    pub community_id: Option<Uuid>,
    /// Masked (`张**`); the full contact is at `GET /cases/{id}/requester`.
    pub requester_name: String,
    /// Masked (`138****5678`).
    pub requester_phone: String,
    pub anonymous: bool,
    pub owner_id: Uuid,
    pub handler_id: Option<Uuid>,
    pub co_handlers: Vec<Uuid>,
    pub copy_to: Option<Uuid>,
    pub disposition: Option<Disposition>,
    pub duplicate_of: Option<Uuid>,
    pub deadlines: Deadlines,
    pub light: Light,
    pub paused: bool,
    /// Working days asked for in a pending extension request.
    pub extension_requested_days: Option<u32>,
    pub counts: CountsDto,
    pub resolved: Option<bool>,
    pub satisfaction: Option<Satisfaction>,
    pub closed_on_time: Option<bool>,
    pub whistle_open: bool,
    pub received_at: String,
    pub dispatched_at: Option<String>,
    pub signed_at: Option<String>,
    pub first_contact_at: Option<String>,
    pub replied_at: Option<String>,
    pub closed_at: Option<String>,
    pub visited_at: Option<String>,
    pub updated_at: String,
    /// Send it back with every step: a step on an older version answers 409 `stale_version`.
    pub version: i64,
}

pub fn dto(c: CaseRow, now: Ts) -> CaseDto {
    let l = &c.life;
    CaseDto {
        id: c.id,
        number: c.number.clone(),
        tenant: c.tenant.clone(),
        channel: c.channel,
        external_id: c.external_id.clone(),
        request_type: l.request_type,
        urgency: l.urgency,
        state: l.state,
        state_label: l.state.label().into(),
        title: c.title.clone(),
        description: c.description.clone(),
        category: c.category_id.map(|id| CategoryDto {
            id,
            code: c.category_code.clone(),
            name: c.category_name.clone(),
            version: c.catalogue_version,
        }),
        address: c.address.clone(),
        lat: c.lat_e6.map(|v| v as f64 / 1e6),
        lng: c.lng_e6.map(|v| v as f64 / 1e6),
        grid_id: c.grid_id,
        community_id: c.community_id,
        requester_name: linli_app::pi::mask_name(&c.requester_name),
        requester_phone: c.phone_masked.clone(),
        anonymous: l.anonymous,
        owner_id: c.owner_id,
        handler_id: l.handler,
        co_handlers: l.co_handlers.clone(),
        copy_to: l.copy_to,
        disposition: l.disposition,
        duplicate_of: l.duplicate_of,
        deadlines: Deadlines {
            sign_due: t(l.sign_due),
            contact_due: t(l.contact_due),
            due_at: t(l.due_at),
            warn_at: t(l.warn_at),
            limit: l.limits.map(|x| x.complete.to_string()),
        },
        light: l.light(now),
        paused: l.paused_at.is_some(),
        extension_requested_days: l.extension.map(|e| e.days),
        counts: CountsDto {
            objections: l.counts.objections,
            extensions: l.counts.extensions,
            reworks: l.counts.reworks,
            reopens: l.counts.reopens,
            supervisions: l.counts.supervisions,
        },
        resolved: l.resolved,
        satisfaction: l.satisfaction,
        closed_on_time: l.closed_on_time,
        whistle_open: c.whistle_open,
        received_at: c.received_at.rfc3339(),
        dispatched_at: t(l.dispatched_at),
        signed_at: t(l.signed_at),
        first_contact_at: t(l.first_contact_at),
        replied_at: t(l.replied_at),
        closed_at: t(l.closed_at),
        visited_at: t(l.visited_at),
        updated_at: c.updated_at.rfc3339(),
        version: c.version,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCase {
    pub channel: Channel,
    /// Your own id for this request; repeating it returns the case already filed (200).
    pub external_id: Option<String>,
    pub request_type: RequestType,
    /// Defaults to the category's urgency, else 一般.
    pub urgency: Option<Urgency>,
    pub title: String,
    pub description: String,
    /// A leaf of the active dispatch catalogue.
    pub category_id: Option<Uuid>,
    #[serde(default)]
    pub address: String,
    /// WGS84.
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub grid_id: Option<Uuid>,
    #[serde(default)]
    pub requester_name: String,
    pub requester_phone: Option<String>,
    #[serde(default)]
    pub anonymous: bool,
    /// The receiving centre (a district or street); by default the filer's district, or for
    /// patrol reports the street above the grid.
    pub owner_unit_id: Option<Uuid>,
    /// For a consultation answered on the spot: the answer (the case ends as 知识库直接答复).
    pub answer: Option<String>,
}

/// File a case from any channel.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = CreateCase,
    responses((status = 201, body = CaseDto), (status = 200, description = "Repeat of an external_id already filed", body = CaseDto),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiJson(b): ApiJson<CreateCase>,
) -> Response {
    let r = linli_app::cases::create(
        &s.app,
        &p,
        NewCase {
            channel: Some(b.channel),
            external_id: b.external_id,
            request_type: Some(b.request_type),
            urgency: b.urgency,
            title: b.title,
            description: b.description,
            category_id: b.category_id,
            address: b.address,
            lat: b.lat,
            lng: b.lng,
            grid_id: b.grid_id,
            requester_name: b.requester_name,
            requester_phone: b.requester_phone,
            anonymous: b.anonymous,
            owner_unit_id: b.owner_unit_id,
            answer: b.answer,
        },
    )
    .await;
    match r {
        Ok((c, new)) => {
            let status = if new {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (status, Json(dto(c, s.app.now()))).into_response()
        }
        Err(e) => ApiError(e).into_response(),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Workbench queue: pending, to_dispatch, to_sign, handling, to_verify, to_visit, warning,
    /// overdue, whistle, all.
    pub queue: Option<String>,
    /// One state (overrides the queue's states).
    pub state: Option<CaseState>,
    pub channel: Option<Channel>,
    pub urgency: Option<Urgency>,
    /// Catalogue code prefix.
    pub category: Option<String>,
    /// Only cases handled within this unit's subtree.
    pub handler_unit: Option<Uuid>,
    pub grid: Option<Uuid>,
    /// A case number (or a piece of one: digits and dashes), or words, searched in the full-text
    /// index of titles, descriptions, addresses, categories and replies (every word must occur,
    /// near-synonyms such as 故障/坏 count as the same word). At most 64 characters.
    pub q: Option<String>,
    /// Cases from this phone number.
    pub phone: Option<String>,
    /// Received at or after (RFC 3339).
    pub from: Option<String>,
    /// Received before (RFC 3339).
    pub to: Option<String>,
    /// Only the cases an assessment count covers: a measure key of `GET /api/v1/assessment`
    /// (closed, closed_on_time, closed_late, due_open, reworked, extended, objected, reopened,
    /// visited, resolved, unresolved, satisfied, basic, dissatisfied, …).
    pub measure: Option<String>,
    /// Only cases in this unit's assessment: handled in its subtree, or received there and not
    /// dispatched.
    pub unit: Option<Uuid>,
    /// With `unit`: only cases assessed on that unit itself (本级), not on units below it.
    pub unit_only: Option<bool>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

fn time_param(s: &Option<String>, what: &str) -> Result<Option<Ts>, AppError> {
    match s {
        None => Ok(None),
        Some(x) => time::OffsetDateTime::parse(x, &time::format_description::well_known::Rfc3339)
            .map(|d| Some(Ts::from_datetime(d)))
            .map_err(|_| AppError::invalid("invalid_time", format!("{what}应为 RFC 3339 时间"))),
    }
}

pub fn measure_of(m: &str) -> Result<linli_domain::assessment::Measure, AppError> {
    linli_domain::assessment::Measure::parse(m.trim())
        .ok_or_else(|| AppError::invalid("invalid_measure", "没有这个考核口径"))
}

/// Cases within the caller's scope, newest first; keyset-paginated.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(ListParams), responses((status = 200, body = Page<CaseDto>)))]
pub async fn list(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(q): ApiQuery<ListParams>,
) -> Result<Json<Page<CaseDto>>, ApiError> {
    let limit = limit_of(q.limit);
    let lq = list_query(&s, &p, &q, limit).await?;
    let rows = linli_app::cases::list(&s.app, &p, &lq).await?;
    let now = s.app.now();
    Ok(Json(page(
        rows,
        limit,
        |c| c.id.to_string(),
        |c| dto(c, now),
    )))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueCount {
    pub queue: String,
    pub label: String,
    /// Cases in the queue, counted up to `cap`.
    pub count: i64,
    /// The count reached the cap: there are at least this many.
    pub capped: bool,
}

/// How many cases wait in each workbench queue (all but `all`), under the same filters as the
/// list (`queue`, `cursor` and `limit` are ignored). Each count stops at 1,000.
#[utoipa::path(get, path = "/api/v1/cases/queues", tag = "cases", params(ListParams), responses((status = 200, body = Vec<QueueCount>)))]
pub async fn queues(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiQuery(q): ApiQuery<ListParams>,
) -> Result<Json<Vec<QueueCount>>, ApiError> {
    let lq = list_query(&s, &p, &q, 1).await?;
    let cap = linli_app::cases::QUEUE_COUNT_CAP;
    Ok(Json(
        linli_app::cases::queue_counts(&s.app, &p, &lq)
            .await?
            .into_iter()
            .map(|(queue, n)| QueueCount {
                queue: queue.key().into(),
                label: queue.label().into(),
                count: n.min(cap),
                capped: n >= cap,
            })
            .collect(),
    ))
}

/// The list filters of the query string, validated.
async fn list_query(
    s: &AppState,
    p: &Principal,
    q: &ListParams,
    limit: i64,
) -> Result<ListQuery, AppError> {
    if q.q.as_deref().is_some_and(|x| x.chars().count() > 64) {
        return Err(AppError::invalid("query_too_long", "搜索词最多 64 个字符"));
    }
    let mut lq = ListQuery {
        channel: q.channel,
        urgency: q.urgency,
        category: q.category.clone(),
        grid: q.grid,
        q: q.q.clone(),
        received_from: time_param(&q.from, "from")?,
        received_to: time_param(&q.to, "to")?,
        limit: limit + 1,
        ..Default::default()
    };
    if let Some(name) = &q.queue {
        Queue::parse(name)
            .ok_or_else(|| AppError::invalid("invalid_queue", "没有这个工作台队列"))?
            .apply(&mut lq);
    }
    if let Some(st) = q.state {
        lq.states = vec![st];
    }
    if let Some(u) = q.handler_unit {
        lq.handler_under = Some(linli_app::org::get(&s.app, p, u).await?.path);
    }
    if let Some(m) = &q.measure {
        lq.measure = Some(measure_of(m)?);
    }
    if let Some(u) = q.unit {
        let path = linli_app::org::get(&s.app, p, u).await?.path;
        if q.unit_only == Some(true) {
            lq.assessed_at = Some(path);
        } else {
            lq.assessed_under = Some(path);
        }
    }
    if let Some(ph) = &q.phone {
        let digits = linli_app::pi::normalize_phone(ph)?;
        lq.phone_hash = Some(s.app.keys.index(&digits));
    }
    if let Some(c) = &q.cursor {
        lq.before = Some(
            Uuid::parse_str(&decode_cursor(c)?)
                .map_err(|_| AppError::invalid("invalid_cursor", "分页游标无效"))?,
        );
    }
    Ok(lq)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventDto {
    pub seq: i64,
    pub at: String,
    pub action: String,
    pub action_label: String,
    pub from_state: String,
    pub to_state: String,
    pub actor_name: String,
    pub actor_unit: Option<Uuid>,
    pub note: String,
    /// The step's particulars (units, limits, ratings, attachment ids).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

pub fn event_dto(e: Event) -> EventDto {
    EventDto {
        action_label: linli_app::cases::timeline_label(&e.action).to_string(),
        seq: e.seq,
        at: e.at.rfc3339(),
        action: e.action,
        from_state: e.from_state,
        to_state: e.to_state,
        actor_name: e.actor_name,
        actor_unit: e.actor_unit,
        note: e.note,
        data: serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartyDto {
    pub unit_id: Uuid,
    /// owner, handler, co_handler, copy, grid, community.
    pub role: String,
    pub since: String,
}

fn party_dto(p: Party) -> PartyDto {
    PartyDto {
        unit_id: p.unit_id,
        role: p.role,
        since: p.since.rfc3339(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    pub case: CaseDto,
    /// The steps the caller may take now (each is `POST /api/v1/cases/{id}/{action}`).
    pub actions: Vec<Action>,
    pub timeline: Vec<EventDto>,
    pub parties: Vec<PartyDto>,
}

/// One case with its timeline, parties and the caller's possible steps.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = Uuid, Path)),
    responses((status = 200, body = CaseDetail), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<CaseDetail>, ApiError> {
    let d = linli_app::cases::detail(&s.app, &p, id).await?;
    Ok(Json(CaseDetail {
        case: dto(d.visible.case, s.app.now()),
        actions: d.actions,
        timeline: d.timeline.into_iter().map(event_dto).collect(),
        parties: d.visible.parties.into_iter().map(party_dto).collect(),
    }))
}

/// Look a case up by its number.
#[utoipa::path(get, path = "/api/v1/cases/by-number/{number}", tag = "cases", params(("number" = String, Path)),
    responses((status = 200, body = CaseDto), (status = 404, body = ErrorBody)))]
pub async fn by_number(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(number): ApiPath<String>,
) -> Result<Json<CaseDto>, ApiError> {
    let c = linli_app::cases::by_number(&s.app, &p, &number).await?;
    Ok(Json(dto(c, s.app.now())))
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    /// The `version` of the case as you last read it.
    pub version: i64,
    /// Reason, result, answer or remark, as the step needs (required for most steps).
    #[serde(default)]
    pub note: String,
    /// register: set urgency.
    pub urgency: Option<Urgency>,
    /// register: classify against the dispatch catalogue (a leaf id).
    pub category_id: Option<Uuid>,
    /// dispose: which of the non-dispatch dispositions.
    pub disposition: Option<Disposition>,
    /// dispose as duplicate: the original case.
    pub duplicate_of: Option<Uuid>,
    /// dispatch / review (accepted with re-dispatch): the handling unit.
    pub unit_id: Option<Uuid>,
    /// dispatch: co-handling units (协办).
    #[serde(default)]
    pub co_handlers: Vec<Uuid>,
    /// object: duty, jurisdiction or other.
    pub ground: Option<ObjectionGround>,
    /// review: the objection holds (true) or the dispatch stands (false).
    pub accept: Option<bool>,
    /// decide_extension.
    pub approve: Option<bool>,
    /// verify: the fix passed (close) or failed (rework).
    pub passed: Option<bool>,
    /// visit: resolved or not.
    pub resolved: Option<bool>,
    /// visit.
    pub satisfaction: Option<Satisfaction>,
    /// extend: working days asked for (1–15).
    pub days: Option<u32>,
    /// Attachment ids (photos, audio) uploaded for this step.
    #[serde(default)]
    pub attachments: Vec<Uuid>,
}

/// Take one step of the closed loop: register, dispose, consult, consult_done, dispatch, sign,
/// object, review, contact, pause, resume, extend, decide_extension, reply, verify, visit,
/// reopen, supervise, note. A step the state does not admit answers 409 with a specific key
/// (`invalid_state`, `contact_first`, …); a step on a stale version answers 409
/// `stale_version`; a step the caller may not take answers 403.
#[utoipa::path(post, path = "/api/v1/cases/{id}/{action}", tag = "cases",
    params(("id" = Uuid, Path), ("action" = Action, Path)), request_body = StepBody,
    responses((status = 200, body = CaseDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn step(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath((id, action)): ApiPath<(Uuid, String)>,
    ApiJson(b): ApiJson<StepBody>,
) -> Result<Json<CaseDto>, ApiError> {
    let action = Action::parse(&action)
        .filter(|a| !matches!(a, Action::Warn | Action::Overdue))
        .ok_or(AppError::NotFound("操作"))?;
    let c = linli_app::cases::act(
        &s.app,
        &p,
        id,
        action,
        StepInput {
            version: b.version,
            note: b.note,
            urgency: b.urgency,
            category_id: b.category_id,
            disposition: b.disposition,
            duplicate_of: b.duplicate_of,
            unit_id: b.unit_id,
            co_handlers: b.co_handlers,
            ground: b.ground,
            accept: b.accept,
            approve: b.approve,
            passed: b.passed,
            resolved: b.resolved,
            satisfaction: b.satisfaction,
            days: b.days,
            attachments: b.attachments,
        },
    )
    .await?;
    Ok(Json(dto(c, s.app.now())))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequesterDto {
    pub name: String,
    pub phone: Option<String>,
}

/// The requester's full name and phone (needs `case.personal`; every call is audited).
#[utoipa::path(get, path = "/api/v1/cases/{id}/requester", tag = "cases", params(("id" = Uuid, Path)),
    responses((status = 200, body = RequesterDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn requester(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<RequesterDto>, ApiError> {
    let (name, phone) = linli_app::cases::requester(&s.app, &p, id).await?;
    Ok(Json(RequesterDto { name, phone }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeDto {
    pub id: Uuid,
    pub case_id: Uuid,
    /// assigned, copied, objection, extension_asked, warning, overdue, supervision, rework, reopened.
    pub kind: String,
    pub unit_id: Uuid,
    pub title: String,
    pub created_at: String,
}

fn notice_dto(n: Notice) -> NoticeDto {
    NoticeDto {
        id: n.id,
        case_id: n.case_id,
        kind: n.kind,
        unit_id: n.unit_id,
        title: n.title,
        created_at: n.created_at.rfc3339(),
    }
}

/// Notices raised on one case (dispatch, objections, warnings, overdue, supervision…).
#[utoipa::path(get, path = "/api/v1/cases/{id}/notices", tag = "cases", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<NoticeDto>), (status = 404, body = ErrorBody)))]
pub async fn notices(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Vec<NoticeDto>>, ApiError> {
    let n = linli_app::cases::notices_of(&s.app, &p, id).await?;
    Ok(Json(n.into_iter().map(notice_dto).collect()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentDto {
    pub id: Uuid,
    /// image or audio.
    pub kind: String,
    pub mime: String,
    pub size: i64,
    pub sha256: String,
    pub filename: String,
    /// The timeline step that used it (absent until a step names it).
    pub event_seq: Option<i64>,
    pub created_at: String,
}

pub fn attachment_dto(a: linli_app::attachments::Attachment) -> AttachmentDto {
    AttachmentDto {
        id: a.id,
        kind: a.kind.as_str().into(),
        mime: a.mime,
        size: a.size,
        sha256: a.sha256,
        filename: a.filename,
        event_seq: a.event_seq,
        created_at: a.created_at.rfc3339(),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    /// The original file name (shown to people; the type is decided by content).
    pub filename: Option<String>,
}

/// Upload a photo or recording (raw request body; JPEG, PNG, WebP, GIF, HEIC, MP3, WAV, AMR,
/// M4A/AAC, Ogg). The content decides the type; anything else is refused with
/// `unsupported_media`. Pass the returned id in a step's `attachments` to attach it there.
#[utoipa::path(post, path = "/api/v1/cases/{id}/attachments", tag = "cases", params(("id" = Uuid, Path), UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = AttachmentDto), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<UploadParams>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<AttachmentDto>), ApiError> {
    let name = q.filename.unwrap_or_else(|| "附件".into());
    let a = linli_app::cases::attach(&s.app, &p, id, &name, &body).await?;
    Ok((StatusCode::CREATED, Json(attachment_dto(a))))
}

/// The attachments of a case.
#[utoipa::path(get, path = "/api/v1/cases/{id}/attachments", tag = "cases", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<AttachmentDto>), (status = 404, body = ErrorBody)))]
pub async fn attachments(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Vec<AttachmentDto>>, ApiError> {
    let v = linli_app::cases::attachments(&s.app, &p, id).await?;
    Ok(Json(v.into_iter().map(attachment_dto).collect()))
}

/// Download one attachment, served with the type found by content and `nosniff`.
#[utoipa::path(get, path = "/api/v1/cases/{id}/attachments/{attachment_id}", tag = "cases",
    params(("id" = Uuid, Path), ("attachment_id" = Uuid, Path)),
    responses((status = 200, description = "The file"), (status = 404, body = ErrorBody)))]
pub async fn download(
    State(s): State<AppState>,
    ApiAuth(p): ApiAuth,
    ApiPath((id, aid)): ApiPath<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let (a, bytes) = linli_app::cases::attachment(&s.app, &p, id, aid).await?;
    let disposition = format!(
        "inline; filename=\"attachment\"; filename*=UTF-8''{}",
        crate::auth::urlencode(&a.filename)
    );
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, a.mime.clone()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
            (
                axum::http::header::X_CONTENT_TYPE_OPTIONS,
                "nosniff".to_string(),
            ),
            (
                axum::http::header::CACHE_CONTROL,
                "private, max-age=3600".to_string(),
            ),
        ],
        bytes,
    )
        .into_response())
}
