//! The case (工单/案卷) and its closed loop: 受理 → 立案/不派单处置 → (会商) → 派遣 → 签收 →
//! 办理 (首次联系, 暂停/恢复, 延期, 退单) → 办结反馈 → 核实 → 结案/返工 → 回访 → (重办).
//!
//! This module is the whole rule book and nothing else: [`Lifecycle`] holds every field the rules
//! read or write, [`Lifecycle::apply`] turns one [`Command`] into the next lifecycle plus the
//! timeline [`Change`] to record, or refuses it with a stable key and a Chinese message. Who may
//! issue a command is stated by [`Action::rule`]: a permission, checked over the unit the case
//! names for that [`Party`]. The app layer loads a case, asks the principal's grants, calls
//! `apply`, and writes the result with a version check — so every path tested here is the path
//! production takes.
//!
//! Deadlines: at dispatch the catalogue's limits (snapshotted on the case, so later catalogue
//! edits never touch it) give the sign-for, first-contact and completion deadlines on the
//! working calendar. While the handler waits for the requester (暂停) the clocks stop; on resume
//! each deadline moves by the time its clock lost. The yellow warning falls at
//! [`WARN_PERMILLE`] of the completion span; red is overdue. [`Lifecycle::next_alarm`] is when the
//! sweeper must next look at the case, which lets it find due work through one index.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Ts;
use crate::auth::Permission;
use crate::calendar::{TimeLimit, WorkCalendar};

crate::keyed! {
    /// Where a request came in.
    Channel {
        Hotline = "hotline", "12345热线";
        Patrol = "patrol", "网格巡查";
        Portal = "portal", "居民随手拍";
        Referral = "referral", "部门转办";
        Api = "api", "系统对接";
        Open311 = "open311", "Open311";
    }
}

crate::keyed! {
    /// 接诉即办条例 Art. 2.
    RequestType {
        Consult = "consult", "咨询";
        Help = "help", "求助";
        Complaint = "complaint", "投诉";
        Report = "report", "举报";
        Suggestion = "suggestion", "建议";
    }
}

crate::keyed! {
    Urgency {
        Normal = "normal", "一般";
        Urgent = "urgent", "紧急";
        Critical = "critical", "特急";
    }
}

crate::keyed! {
    CaseState {
        Pending = "pending", "待立案";
        Consulting = "consulting", "会商中";
        Registered = "registered", "待派遣";
        Dispatched = "dispatched", "待签收";
        Objected = "objected", "退单待审";
        Handling = "handling", "办理中";
        Replied = "replied", "待核实";
        Closed = "closed", "待回访";
        Visited = "visited", "已回访";
        Disposed = "disposed", "不派单办结";
    }
}

crate::keyed! {
    /// The six ways 接诉即办条例 Art. 11 lets a request end without dispatch, plus answering a
    /// consultation from the knowledge base on the spot (Art. 31).
    Disposition {
        Answered = "answered", "知识库直接答复";
        Emergency = "emergency", "转110/119/120/122";
        LegalChannel = "legal_channel", "告知依法通过诉讼、仲裁、信访等途径解决";
        Duplicate = "duplicate", "重复诉求，告知办理进展";
        Secret = "secret", "涉及国家秘密、商业秘密、个人隐私，予以解释";
        OutsideDuty = "outside_duty", "不属于职责范围，予以说明";
        Unlawful = "unlawful", "违反法律法规，予以劝导";
    }
}

crate::keyed! {
    Satisfaction {
        Satisfied = "satisfied", "满意";
        Basic = "basic", "基本满意";
        Dissatisfied = "dissatisfied", "不满意";
    }
}

crate::keyed! {
    /// Grounds of a 派单异议 (Art. 12).
    ObjectionGround {
        Duty = "duty", "不属于本单位职责";
        Jurisdiction = "jurisdiction", "不属于本辖区";
        Other = "other", "其他";
    }
}

crate::keyed! {
    /// Every step a person (or the sweeper) can take on a case.
    Action {
        Register = "register", "立案";
        Dispose = "dispose", "不派单处置";
        Consult = "consult", "发起会商";
        ConsultDone = "consult_done", "会商结束";
        Dispatch = "dispatch", "派遣";
        Sign = "sign", "签收";
        Object = "object", "退单";
        Review = "review", "审核退单";
        Contact = "contact", "首次联系";
        Pause = "pause", "暂停计时";
        Resume = "resume", "恢复计时";
        Extend = "extend", "申请延期";
        DecideExtension = "decide_extension", "审批延期";
        Reply = "reply", "办结反馈";
        Verify = "verify", "核实";
        Visit = "visit", "回访";
        Reopen = "reopen", "重办";
        Supervise = "supervise", "督办";
        Note = "note", "备注";
        Warn = "warn", "临期预警";
        Overdue = "overdue", "超期";
    }
}

/// Whose unit a rule checks the actor's grants against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The unit that received and dispatches the case (the 12345 centre, a street's centre).
    Owner,
    /// The unit handling it.
    Handler,
    /// The grid the case lies in (its grid worker checks the fix) or, failing that, the owner.
    Verifier,
    /// Any unit that can see the case.
    Any,
    /// Only the platform's own sweeper.
    System,
}

impl Action {
    /// Who may take this step: the permission, held with a scope that reaches the party's unit.
    pub fn rule(self) -> (Permission, Party) {
        use Action::*;
        match self {
            Register | Dispose | Consult | ConsultDone | Dispatch | Review | DecideExtension => {
                (Permission::CaseDispatch, Party::Owner)
            }
            Sign | Object | Contact | Pause | Resume | Extend | Reply => {
                (Permission::CaseHandle, Party::Handler)
            }
            Verify => (Permission::CaseVerify, Party::Verifier),
            Visit | Reopen => (Permission::CaseVisit, Party::Owner),
            Supervise => (Permission::CaseSupervise, Party::Any),
            Note => (Permission::CaseRead, Party::Any),
            Warn | Overdue => (Permission::CaseRead, Party::System),
        }
    }
}

/// The deadlines a dispatch starts, as the catalogue entry and urgency state them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub sign: TimeLimit,
    pub contact: TimeLimit,
    pub complete: TimeLimit,
}

impl Limits {
    /// The published defaults (DOMAIN §2) for a request with no catalogue entry: 咨询/建议 one
    /// working day, other requests five; 紧急 24 h; 特急 (life and safety) 2 h; first contact
    /// within 24 h (sooner for urgent matters); sign-for within 2 h (1 h when urgent).
    pub fn default_for(t: RequestType, u: Urgency) -> Limits {
        use TimeLimit::*;
        match u {
            Urgency::Critical => Limits {
                sign: NaturalHours(1),
                contact: NaturalHours(1),
                complete: NaturalHours(2),
            },
            Urgency::Urgent => Limits {
                sign: NaturalHours(1),
                contact: NaturalHours(2),
                complete: NaturalHours(24),
            },
            Urgency::Normal => Limits {
                sign: NaturalHours(2),
                contact: NaturalHours(24),
                complete: match t {
                    RequestType::Consult | RequestType::Suggestion => WorkingDays(1),
                    _ => WorkingDays(5),
                },
            },
        }
    }
}

/// Share of the completion span after which an open case turns yellow (per mille).
pub const WARN_PERMILLE: i64 = 800;
/// The longest extension one request may ask for.
pub const MAX_EXTENSION_DAYS: u32 = 15;
/// Co-handlers one dispatch may name.
pub const MAX_CO_HANDLERS: usize = 10;
/// Longest free text on a command (reason, reply, note).
pub const MAX_NOTE_CHARS: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionRequest {
    pub days: u32,
    pub at: Ts,
}

/// Counters the assessment reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub objections: i64,
    pub extensions: i64,
    pub reworks: i64,
    pub reopens: i64,
    pub supervisions: i64,
}

/// Every field of a case that the rules read or write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    pub state: CaseState,
    pub request_type: RequestType,
    pub urgency: Urgency,
    pub anonymous: bool,
    pub handler: Option<Uuid>,
    pub co_handlers: Vec<Uuid>,
    /// The district a street-level dispatch is copied to (抄送).
    pub copy_to: Option<Uuid>,
    pub disposition: Option<Disposition>,
    pub duplicate_of: Option<Uuid>,
    pub limits: Option<Limits>,
    pub dispatched_at: Option<Ts>,
    pub signed_at: Option<Ts>,
    pub first_contact_at: Option<Ts>,
    pub replied_at: Option<Ts>,
    pub closed_at: Option<Ts>,
    pub visited_at: Option<Ts>,
    pub sign_due: Option<Ts>,
    pub contact_due: Option<Ts>,
    pub due_at: Option<Ts>,
    pub warn_at: Option<Ts>,
    pub paused_at: Option<Ts>,
    pub warned_at: Option<Ts>,
    pub overdue_at: Option<Ts>,
    pub extension: Option<ExtensionRequest>,
    pub counts: Counts,
    pub resolved: Option<bool>,
    pub satisfaction: Option<Satisfaction>,
    pub closed_on_time: Option<bool>,
}

/// Where a dispatch sends the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub unit: Uuid,
    /// The district above the unit when the unit is a street (the dispatch is copied there).
    pub street_district: Option<Uuid>,
    pub co_handlers: Vec<Uuid>,
    pub limits: Limits,
}

/// One step asked for, with what it carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Register {
        urgency: Option<Urgency>,
    },
    Dispose {
        disposition: Disposition,
        duplicate_of: Option<Uuid>,
        note: String,
    },
    Consult {
        note: String,
    },
    ConsultDone {
        note: String,
    },
    Dispatch(Assignment),
    Sign,
    Object {
        ground: ObjectionGround,
        reason: String,
    },
    /// `accept`: the objection holds; with `redispatch` the case goes straight to the new unit,
    /// without it back to 待派遣. Not accepted: the dispatch stands and the unit must sign.
    Review {
        accept: bool,
        redispatch: Option<Assignment>,
        note: String,
    },
    Contact {
        note: String,
    },
    Pause {
        reason: String,
    },
    Resume,
    Extend {
        days: u32,
        reason: String,
    },
    DecideExtension {
        approve: bool,
        note: String,
    },
    Reply {
        result: String,
    },
    Verify {
        passed: bool,
        note: String,
    },
    Visit {
        resolved: bool,
        satisfaction: Satisfaction,
        note: String,
    },
    Reopen {
        reason: String,
    },
    Supervise {
        note: String,
    },
    Note {
        text: String,
    },
    /// The sweeper found the warning point passed.
    Warn,
    /// The sweeper found the deadline passed.
    Overdue,
}

impl Command {
    pub fn action(&self) -> Action {
        match self {
            Command::Register { .. } => Action::Register,
            Command::Dispose { .. } => Action::Dispose,
            Command::Consult { .. } => Action::Consult,
            Command::ConsultDone { .. } => Action::ConsultDone,
            Command::Dispatch(_) => Action::Dispatch,
            Command::Sign => Action::Sign,
            Command::Object { .. } => Action::Object,
            Command::Review { .. } => Action::Review,
            Command::Contact { .. } => Action::Contact,
            Command::Pause { .. } => Action::Pause,
            Command::Resume => Action::Resume,
            Command::Extend { .. } => Action::Extend,
            Command::DecideExtension { .. } => Action::DecideExtension,
            Command::Reply { .. } => Action::Reply,
            Command::Verify { .. } => Action::Verify,
            Command::Visit { .. } => Action::Visit,
            Command::Reopen { .. } => Action::Reopen,
            Command::Supervise { .. } => Action::Supervise,
            Command::Note { .. } => Action::Note,
            Command::Warn => Action::Warn,
            Command::Overdue => Action::Overdue,
        }
    }

    /// The free text the command carries, for the timeline.
    pub fn note(&self) -> &str {
        match self {
            Command::Dispose { note, .. }
            | Command::Consult { note }
            | Command::ConsultDone { note }
            | Command::Review { note, .. }
            | Command::Contact { note }
            | Command::DecideExtension { note, .. }
            | Command::Verify { note, .. }
            | Command::Visit { note, .. }
            | Command::Supervise { note } => note,
            Command::Object { reason, .. }
            | Command::Pause { reason }
            | Command::Extend { reason, .. }
            | Command::Reopen { reason } => reason,
            Command::Reply { result } => result,
            Command::Note { text } => text,
            _ => "",
        }
    }
}

/// Why a command was refused. `key` is stable (API clients branch on it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub key: &'static str,
    pub message: String,
}

impl Refusal {
    /// The command itself was malformed (a missing reason, a bad unit list, a whistle rating
    /// out of range) rather than out of turn: the API answers 422 for these and 409 for the rest.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self.key,
            "note_required"
                | "note_too_long"
                | "duplicate_of_required"
                | "duplicate_of_unexpected"
                | "bad_co_handlers"
                | "bad_extension_days"
                | "redispatch_unexpected"
                | "redispatch_same_unit"
                | "bad_rating"
                | "rating_required"
        )
    }
}

pub(crate) fn refuse(key: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        key,
        message: message.into(),
    }
}

crate::keyed! {
    /// A notice the transition must raise in the same transaction (the outbox).
    NoticeKind {
        Assigned = "assigned", "新派工单";
        Copied = "copied", "街道派单抄送";
        Objection = "objection", "退单待审核";
        ExtensionAsked = "extension_asked", "延期待审批";
        Warning = "warning", "临期预警";
        Overdue = "overdue", "超期督办";
        Supervision = "supervision", "督办通知";
        Rework = "rework", "返工";
        Reopened = "reopened", "重办";
    }
}

/// Who a notice is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    Owner,
    Unit(Uuid),
}

/// What one accepted command did.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub action: Action,
    pub from: CaseState,
    pub to: CaseState,
    pub notices: Vec<(NoticeKind, Recipient)>,
}

/// Traffic light of an open case's completion deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Light {
    Green,
    Yellow,
    Red,
    /// The clock is stopped (paused, or no deadline running).
    Stopped,
}

impl Light {
    pub fn label(self) -> &'static str {
        match self {
            Light::Green => "正常",
            Light::Yellow => "临期",
            Light::Red => "超期",
            Light::Stopped => "未计时",
        }
    }
}

fn check_text(s: &str, what: &str, required: bool) -> Result<(), Refusal> {
    let n = s.trim().chars().count();
    if required && n == 0 {
        return Err(refuse("note_required", format!("请填写{what}")));
    }
    if n > MAX_NOTE_CHARS {
        return Err(refuse(
            "note_too_long",
            format!("{what}不能超过 {MAX_NOTE_CHARS} 字"),
        ));
    }
    Ok(())
}

fn warn_point(start: Ts, due: Ts) -> Ts {
    let span = (due.0 - start.0).max(0);
    Ts(start.0 + (span / 1000) * WARN_PERMILLE + (span % 1000) * WARN_PERMILLE / 1000)
}

impl Lifecycle {
    /// A fresh case as received.
    pub fn received(request_type: RequestType, urgency: Urgency, anonymous: bool) -> Lifecycle {
        Lifecycle {
            state: CaseState::Pending,
            request_type,
            urgency,
            anonymous,
            handler: None,
            co_handlers: Vec::new(),
            copy_to: None,
            disposition: None,
            duplicate_of: None,
            limits: None,
            dispatched_at: None,
            signed_at: None,
            first_contact_at: None,
            replied_at: None,
            closed_at: None,
            visited_at: None,
            sign_due: None,
            contact_due: None,
            due_at: None,
            warn_at: None,
            paused_at: None,
            warned_at: None,
            overdue_at: None,
            extension: None,
            counts: Counts::default(),
            resolved: None,
            satisfaction: None,
            closed_on_time: None,
        }
    }

    /// The completion clock is running (dispatched and not yet replied, not paused).
    pub fn clock_running(&self) -> bool {
        matches!(
            self.state,
            CaseState::Dispatched | CaseState::Objected | CaseState::Handling
        ) && self.paused_at.is_none()
            && self.due_at.is_some()
    }

    pub fn is_open(&self) -> bool {
        !matches!(
            self.state,
            CaseState::Closed | CaseState::Visited | CaseState::Disposed
        )
    }

    /// When the sweeper must next look at this case (None: nothing pending).
    pub fn next_alarm(&self) -> Option<Ts> {
        if !self.clock_running() {
            return None;
        }
        if self.warned_at.is_none() {
            return self.warn_at;
        }
        if self.overdue_at.is_none() {
            return self.due_at;
        }
        None
    }

    pub fn light(&self, now: Ts) -> Light {
        if self.paused_at.is_some()
            || !matches!(
                self.state,
                CaseState::Dispatched | CaseState::Objected | CaseState::Handling
            )
        {
            return Light::Stopped;
        }
        match (self.due_at, self.warn_at) {
            (Some(due), _) if now >= due => Light::Red,
            (Some(_), Some(w)) if now >= w => Light::Yellow,
            (Some(_), _) => Light::Green,
            _ => Light::Stopped,
        }
    }

    /// The steps the case's state admits (the caller intersects them with the actor's grants).
    pub fn admissible(&self) -> Vec<Action> {
        use Action::*;
        let mut v = match self.state {
            CaseState::Pending => vec![Register, Dispose],
            CaseState::Registered => vec![Dispatch, Consult, Dispose],
            CaseState::Consulting => vec![ConsultDone],
            CaseState::Dispatched => vec![Sign, Object],
            CaseState::Objected => vec![Review],
            CaseState::Handling => {
                let mut v = vec![Object];
                if self.extension.is_some() {
                    v.push(DecideExtension);
                }
                if self.paused_at.is_some() {
                    v.push(Resume);
                } else {
                    if self.first_contact_at.is_none() && !self.anonymous {
                        v.push(Contact);
                    }
                    v.push(Pause);
                    if self.extension.is_none() {
                        v.push(Extend);
                    }
                    if self.first_contact_at.is_some() || self.anonymous {
                        v.push(Reply);
                    }
                }
                v
            }
            CaseState::Replied => vec![Verify],
            CaseState::Closed => vec![Visit],
            CaseState::Visited if self.reopenable() => vec![Reopen],
            CaseState::Visited | CaseState::Disposed => vec![],
        };
        if self.is_open() {
            v.push(Supervise);
        }
        v.push(Note);
        v
    }

    fn reopenable(&self) -> bool {
        self.resolved == Some(false) || self.satisfaction == Some(Satisfaction::Dissatisfied)
    }

    fn start_dispatch(&mut self, a: &Assignment, now: Ts, cal: &WorkCalendar) {
        self.handler = Some(a.unit);
        self.co_handlers = a.co_handlers.clone();
        self.copy_to = a.street_district;
        self.limits = Some(a.limits);
        self.dispatched_at = Some(now);
        self.signed_at = None;
        self.first_contact_at = None;
        self.replied_at = None;
        self.paused_at = None;
        self.extension = None;
        self.warned_at = None;
        self.overdue_at = None;
        self.sign_due = Some(cal.deadline(now, a.limits.sign));
        self.contact_due = Some(cal.deadline(now, a.limits.contact));
        let due = cal.deadline(now, a.limits.complete);
        self.due_at = Some(due);
        self.warn_at = Some(warn_point(now, due));
        self.state = CaseState::Dispatched;
    }

    fn check_assignment(a: &Assignment) -> Result<(), Refusal> {
        if a.co_handlers.contains(&a.unit) {
            return Err(refuse("bad_co_handlers", "主办单位不能同时是协办单位"));
        }
        let mut seen = a.co_handlers.clone();
        seen.sort();
        seen.dedup();
        if seen.len() != a.co_handlers.len() {
            return Err(refuse("bad_co_handlers", "协办单位重复"));
        }
        if a.co_handlers.len() > MAX_CO_HANDLERS {
            return Err(refuse(
                "bad_co_handlers",
                format!("协办单位最多 {MAX_CO_HANDLERS} 个"),
            ));
        }
        Ok(())
    }

    /// Apply one command at `now`. On refusal nothing has changed.
    pub fn apply(
        &self,
        cmd: &Command,
        now: Ts,
        cal: &WorkCalendar,
    ) -> Result<(Lifecycle, Change), Refusal> {
        let action = cmd.action();
        if !self.admissible().contains(&action) && !matches!(cmd, Command::Warn | Command::Overdue)
        {
            return Err(self.why_not(action));
        }
        let mut next = self.clone();
        let mut notices = Vec::new();
        use CaseState as S;
        match cmd {
            Command::Register { urgency } => {
                if let Some(u) = urgency {
                    next.urgency = *u;
                }
                next.state = S::Registered;
            }
            Command::Dispose {
                disposition,
                duplicate_of,
                note,
            } => {
                check_text(note, "处置说明", true)?;
                match (disposition, duplicate_of) {
                    (Disposition::Duplicate, None) => {
                        return Err(refuse("duplicate_of_required", "请选择重复的原工单"));
                    }
                    (Disposition::Duplicate, Some(_)) => {}
                    (_, Some(_)) => {
                        return Err(refuse(
                            "duplicate_of_unexpected",
                            "只有“重复诉求”需要关联原工单",
                        ));
                    }
                    _ => {}
                }
                next.disposition = Some(*disposition);
                next.duplicate_of = *duplicate_of;
                next.closed_at = Some(now);
                next.state = S::Disposed;
            }
            Command::Consult { note } => {
                check_text(note, "会商事由", true)?;
                next.state = S::Consulting;
            }
            Command::ConsultDone { note } => {
                check_text(note, "会商结论", true)?;
                next.state = S::Registered;
            }
            Command::Dispatch(a) => {
                Self::check_assignment(a)?;
                next.start_dispatch(a, now, cal);
                notices.push((NoticeKind::Assigned, Recipient::Unit(a.unit)));
                for c in &a.co_handlers {
                    notices.push((NoticeKind::Assigned, Recipient::Unit(*c)));
                }
                if let Some(d) = a.street_district {
                    notices.push((NoticeKind::Copied, Recipient::Unit(d)));
                }
            }
            Command::Sign => {
                next.signed_at = Some(now);
                next.state = S::Handling;
            }
            Command::Object { ground: _, reason } => {
                check_text(reason, "退单理由", true)?;
                if self.state == S::Handling && self.replied_at.is_some() {
                    return Err(refuse("objection_too_late", "已反馈的工单不能退单"));
                }
                next.counts.objections += 1;
                next.state = S::Objected;
                notices.push((NoticeKind::Objection, Recipient::Owner));
            }
            Command::Review {
                accept,
                redispatch,
                note,
            } => {
                check_text(note, "审核意见", true)?;
                match (accept, redispatch) {
                    (false, Some(_)) => {
                        return Err(refuse("redispatch_unexpected", "驳回退单时不能改派"));
                    }
                    (false, None) => {
                        // The dispatch stands; the unit signs again, the clock never stopped.
                        next.state = S::Dispatched;
                        if let Some(h) = self.handler {
                            notices.push((NoticeKind::Assigned, Recipient::Unit(h)));
                        }
                    }
                    (true, Some(a)) => {
                        Self::check_assignment(a)?;
                        if Some(a.unit) == self.handler {
                            return Err(refuse("redispatch_same_unit", "改派单位不能是原单位"));
                        }
                        next.start_dispatch(a, now, cal);
                        notices.push((NoticeKind::Assigned, Recipient::Unit(a.unit)));
                        if let Some(d) = a.street_district {
                            notices.push((NoticeKind::Copied, Recipient::Unit(d)));
                        }
                    }
                    (true, None) => {
                        next.handler = None;
                        next.co_handlers.clear();
                        next.copy_to = None;
                        next.clear_clocks();
                        next.state = S::Registered;
                    }
                }
            }
            Command::Contact { note } => {
                check_text(note, "联系情况", true)?;
                next.first_contact_at = Some(now);
            }
            Command::Pause { reason } => {
                check_text(reason, "暂停原因", true)?;
                next.paused_at = Some(now);
            }
            Command::Resume => {
                let from = self.paused_at.unwrap_or(now);
                if let Some(l) = self.limits {
                    next.due_at = self
                        .due_at
                        .map(|d| cal.shift_for_pause(d, l.complete, from, now));
                    next.warn_at = self
                        .warn_at
                        .map(|d| cal.shift_for_pause(d, l.complete, from, now));
                    if self.first_contact_at.is_none() {
                        next.contact_due = self
                            .contact_due
                            .map(|d| cal.shift_for_pause(d, l.contact, from, now));
                    }
                }
                next.paused_at = None;
            }
            Command::Extend { days, reason } => {
                check_text(reason, "延期理由", true)?;
                if *days == 0 || *days > MAX_EXTENSION_DAYS {
                    return Err(refuse(
                        "bad_extension_days",
                        format!("延期天数应为 1–{MAX_EXTENSION_DAYS} 个工作日"),
                    ));
                }
                next.extension = Some(ExtensionRequest {
                    days: *days,
                    at: now,
                });
                notices.push((NoticeKind::ExtensionAsked, Recipient::Owner));
            }
            Command::DecideExtension { approve, note } => {
                check_text(note, "审批意见", !approve)?;
                if let (true, Some(req), Some(due)) = (approve, self.extension, self.due_at) {
                    // The extension counts from the current deadline's last day.
                    let new_due = cal.deadline(Ts(due.0 - 1), TimeLimit::WorkingDays(req.days));
                    next.due_at = Some(new_due);
                    let start = self.dispatched_at.unwrap_or(now);
                    next.warn_at = Some(warn_point(start, new_due));
                    // A case extended out of red or yellow is warned again at the new points.
                    if next.warn_at > Some(now) {
                        next.warned_at = None;
                    }
                    next.overdue_at = None;
                    next.counts.extensions += 1;
                }
                next.extension = None;
            }
            Command::Reply { result } => {
                check_text(result, "办理结果", true)?;
                next.replied_at = Some(now);
                next.state = S::Replied;
            }
            Command::Verify { passed, note } => {
                check_text(note, "核实意见", !passed)?;
                if *passed {
                    next.closed_at = Some(now);
                    next.closed_on_time = Some(
                        matches!((self.replied_at, self.due_at), (Some(r), Some(d)) if r <= d),
                    );
                    next.state = S::Closed;
                } else {
                    next.counts.reworks += 1;
                    next.replied_at = None;
                    next.state = S::Handling;
                    if let Some(h) = self.handler {
                        notices.push((NoticeKind::Rework, Recipient::Unit(h)));
                    }
                }
            }
            Command::Visit {
                resolved,
                satisfaction,
                note,
            } => {
                check_text(note, "回访记录", false)?;
                next.resolved = Some(*resolved);
                next.satisfaction = Some(*satisfaction);
                next.visited_at = Some(now);
                next.state = S::Visited;
            }
            Command::Reopen { reason } => {
                check_text(reason, "重办理由", true)?;
                next.counts.reopens += 1;
                next.clear_clocks();
                next.closed_at = None;
                next.closed_on_time = None;
                next.visited_at = None;
                next.resolved = None;
                next.satisfaction = None;
                next.state = S::Registered;
                notices.push((NoticeKind::Reopened, Recipient::Owner));
            }
            Command::Supervise { note } => {
                check_text(note, "督办意见", true)?;
                next.counts.supervisions += 1;
                match self.handler {
                    Some(h) if self.state != S::Registered => {
                        notices.push((NoticeKind::Supervision, Recipient::Unit(h)))
                    }
                    _ => notices.push((NoticeKind::Supervision, Recipient::Owner)),
                }
            }
            Command::Note { text } => {
                check_text(text, "备注", true)?;
            }
            Command::Warn => {
                if !self.clock_running()
                    || self.warned_at.is_some()
                    || self.warn_at.is_none_or(|w| now < w)
                {
                    return Err(refuse("no_alarm_due", "没有到期的预警"));
                }
                next.warned_at = Some(now);
                if let Some(h) = self.handler {
                    notices.push((NoticeKind::Warning, Recipient::Unit(h)));
                }
            }
            Command::Overdue => {
                if !self.clock_running()
                    || self.overdue_at.is_some()
                    || self.due_at.is_none_or(|d| now < d)
                {
                    return Err(refuse("no_alarm_due", "没有到期的超期标记"));
                }
                // A case found overdue before its warning was raised gets both at once.
                next.warned_at = self.warned_at.or(Some(now));
                next.overdue_at = Some(now);
                next.counts.supervisions += 1;
                if let Some(h) = self.handler {
                    notices.push((NoticeKind::Overdue, Recipient::Unit(h)));
                }
                notices.push((NoticeKind::Overdue, Recipient::Owner));
            }
        }
        let change = Change {
            action,
            from: self.state,
            to: next.state,
            notices,
        };
        Ok((next, change))
    }

    fn clear_clocks(&mut self) {
        self.limits = None;
        self.dispatched_at = None;
        self.signed_at = None;
        self.first_contact_at = None;
        self.replied_at = None;
        self.sign_due = None;
        self.contact_due = None;
        self.due_at = None;
        self.warn_at = None;
        self.paused_at = None;
        self.warned_at = None;
        self.overdue_at = None;
        self.extension = None;
    }

    /// The most specific reason `action` is not admissible now.
    fn why_not(&self, action: Action) -> Refusal {
        use Action::*;
        let s = self.state;
        match action {
            Contact if s == CaseState::Handling && self.anonymous => {
                refuse("anonymous_requester", "匿名诉求无需联系诉求人")
            }
            Contact if s == CaseState::Handling && self.first_contact_at.is_some() => {
                refuse("already_contacted", "已记录首次联系")
            }
            Reply if s == CaseState::Handling && self.paused_at.is_some() => {
                refuse("paused", "计时已暂停，请先恢复计时")
            }
            Reply if s == CaseState::Handling && self.first_contact_at.is_none() => {
                refuse("contact_first", "请先联系诉求人并记录首次联系，再办结反馈")
            }
            Extend if s == CaseState::Handling && self.extension.is_some() => {
                refuse("extension_pending", "已有延期申请待审批")
            }
            DecideExtension if s == CaseState::Handling && self.extension.is_none() => {
                refuse("no_extension", "没有待审批的延期申请")
            }
            Pause if self.paused_at.is_some() => refuse("paused", "计时已暂停"),
            Resume if s == CaseState::Handling => refuse("not_paused", "计时未暂停"),
            Reopen if s == CaseState::Visited => {
                refuse("not_reopenable", "只有回访为未解决或不满意的工单才能重办")
            }
            _ => refuse(
                "invalid_state",
                format!("工单当前状态为「{}」，不能{}", s.label(), action.label()),
            ),
        }
    }
}

#[cfg(test)]
mod tests;
