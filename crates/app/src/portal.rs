//! The resident portal: signing in with a phone number and a one-time code, reporting a problem,
//! following one's own requests ("我的诉求"), rating the reply and asking for it to be redone,
//! and the public pages (community notices, nearby public cases).
//!
//! **Who a resident is.** A phone number they proved they hold: a six-digit code goes to it by
//! SMS ([`crate::notify::send_sms`], the same pluggable sender as case notifications), lives
//! [`CODE_TTL_SECS`], is used once, and dies after [`MAX_ATTEMPTS`] wrong guesses. Codes are
//! rate-limited per phone ([`RESEND_SECS`] apart, [`CODES_PER_PHONE_HOUR`] an hour,
//! [`CODES_PER_PHONE_DAY`] a day) and per client address ([`CODES_PER_IP_HOUR`]), counted in
//! the database so the limits hold across servers. The number is sealed and found by its blind
//! index; the code and the address are stored only as keyed hashes.
//!
//! **What a resident may see and do.** Their cases are the cases filed with their number (its
//! blind index: [`linli_store::repo::portal::cases_of_phone`]); any other case is "not found".
//! They see a plain-language timeline ([`public_step`]) — what happened and when, the units'
//! names and the reply meant for them, never staff names, internal notes or anyone's personal
//! data. Rating (回访) and reopening (重办) are the case's own steps, taken through
//! [`crate::cases::act`] by a principal that holds only `case.read` and `case.visit` at that
//! case's receiving unit, so every rule, the version check, the timeline row and the audit row
//! apply as for staff.
//!
//! **Reporting.** A report is filed through [`crate::cases::create`] on the `portal` channel by
//! a principal holding only `case.create` at the district that receives portal reports; photos
//! (at most [`MAX_PHOTOS`]) are checked by content and stripped of metadata before anything is
//! written, and linked to the intake step.

use linli_domain::Ts;
use linli_domain::auth::{Authz, DataScope, Grant, Permission};
use linli_domain::case::{Action, CaseState, Channel, Light, RequestType, Satisfaction};
use linli_domain::geo::{self, Datum};
use linli_domain::media;
use linli_domain::org::{OrgKind, tenant_of_path};
use linli_store::StoreError;
use linli_store::repo::cases::{self as case_repo, CaseRow};
use linli_store::repo::org as org_repo;
use linli_store::repo::portal::{self as repo, Account, Notice};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::{random_token, token_hash};
use crate::cases::{self, NewCase, StepInput};
use crate::open311::{self, Settings};
use crate::{App, AppError, Ctx, Principal, Result, pi};

/// A code is good for five minutes.
pub const CODE_TTL_SECS: i64 = 300;
/// Seconds between two codes to one phone.
pub const RESEND_SECS: i64 = 60;
pub const CODES_PER_PHONE_HOUR: i64 = 5;
pub const CODES_PER_PHONE_DAY: i64 = 10;
pub const CODES_PER_IP_HOUR: i64 = 30;
/// Wrong guesses a phone's live codes survive.
pub const MAX_ATTEMPTS: i64 = 5;
/// A portal session lasts 30 days.
pub const SESSION_SECS: i64 = 30 * 86_400;
pub const MAX_PHOTOS: usize = 9;
/// Longest report text, in characters (the case description's limit).
pub const MAX_TEXT_CHARS: usize = cases::MAX_DESCRIPTION_CHARS;
/// Most requests "我的诉求" lists.
pub const MY_CASES_LIMIT: i64 = 200;
pub const MAX_NOTICE_TITLE_CHARS: usize = 100;
pub const MAX_NOTICE_BODY_CHARS: usize = 5000;

/// A signed-in resident.
#[derive(Clone)]
pub struct Resident {
    pub account_id: Uuid,
    pub phone_hash: String,
    pub phone_masked: String,
    /// The session's CSRF token, for the portal's forms.
    pub csrf: String,
    sealed_phone: Vec<u8>,
}

impl std::fmt::Debug for Resident {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resident")
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

impl Resident {
    fn of(a: Account, csrf: String) -> Resident {
        Resident {
            account_id: a.id,
            phone_hash: a.phone_hash,
            phone_masked: a.phone_masked,
            csrf,
            sealed_phone: a.phone,
        }
    }
}

/// A mainland mobile number (a code can only go to a phone that takes SMS).
fn mobile(raw: &str) -> Result<String> {
    let p = pi::normalize_phone(raw)?;
    let ok = p.len() == 11 && p.starts_with('1') && matches!(p.as_bytes()[1], b'3'..=b'9');
    if ok {
        Ok(p)
    } else {
        Err(AppError::invalid("invalid_phone", "请输入 11 位手机号码"))
    }
}

fn code_hash(app: &App, phone: &str, code: &str) -> String {
    app.keys
        .index(&format!("portal-code\u{0}{phone}\u{0}{code}"))
}

/// Constant-time comparison of two hashes.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn ip_hash(app: &App, ip: &str) -> String {
    app.keys.index(&format!("portal-ip\u{0}{ip}"))
}

/// Send a sign-in code to `phone_raw`, within the rate limits.
pub async fn request_code(app: &App, phone_raw: &str, ctx: &Ctx) -> Result<()> {
    let phone = mobile(phone_raw)?;
    let phone_hash = app.keys.index(&phone);
    let iph = ip_hash(app, &ctx.ip);
    let now = app.now();
    let code = format!("{:06}", rand::random_range(0..1_000_000u32));
    let id = Uuid::now_v7();
    let ch = code_hash(app, &phone, &code);
    write_tx!(app, |tx| {
        let n = repo::code_counts(
            &mut tx,
            &phone_hash,
            &iph,
            now.plus_secs(-3600),
            now.plus_secs(-86_400),
        )
        .await?;
        if let Some(last) = n.phone_last {
            let wait = RESEND_SECS - (now.micros() - last.micros()) / 1_000_000;
            if wait > 0 {
                return Err(AppError::RateLimited(format!(
                    "验证码已发送，请 {wait} 秒后再试"
                )));
            }
        }
        if n.phone_hour >= CODES_PER_PHONE_HOUR || n.phone_day >= CODES_PER_PHONE_DAY {
            return Err(AppError::RateLimited(
                "该号码获取验证码次数过多，请稍后再试".into(),
            ));
        }
        if n.ip_hour >= CODES_PER_IP_HOUR {
            return Err(AppError::RateLimited(
                "当前网络获取验证码次数过多，请稍后再试".into(),
            ));
        }
        repo::insert_code(
            &mut tx,
            id,
            &phone_hash,
            &iph,
            &ch,
            now,
            now.plus_secs(CODE_TTL_SECS),
        )
        .await?;
    })?;
    let sign = &app.cfg.notify.sms_sign;
    let text = format!(
        "【{sign}】您的登录验证码为 {code}，{} 分钟内有效。请勿将验证码告诉他人。",
        CODE_TTL_SECS / 60
    );
    crate::notify::send_sms(app, id, &phone, &text)
        .await
        .map_err(|e| {
            tracing::warn!(code_id = %id, error = %e, "sign-in code not sent");
            AppError::Unavailable("短信发送失败，请稍后再试".into())
        })
}

enum Checked {
    Signed(Resident, String),
    Wrong,
    NoLiveCode,
}

/// Check a code; on success open a portal session. Returns the session token and the resident.
pub async fn verify_code(
    app: &App,
    phone_raw: &str,
    code_raw: &str,
    ctx: &Ctx,
) -> Result<(String, Resident)> {
    let phone = mobile(phone_raw)?;
    let code: String = code_raw.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::invalid("invalid_code", "请输入 6 位数字验证码"));
    }
    let phone_hash = app.keys.index(&phone);
    let ch = code_hash(app, &phone, &code);
    let now = app.now();
    let token = random_token();
    let th = token_hash(&token);
    let csrf = random_token();
    let new_account = Uuid::now_v7();
    let sealed = app.keys.seal(pi::PORTAL_PHONE, new_account, &phone);
    let masked = pi::mask_phone(&phone);
    let checked = write_tx!(app, |tx| {
        let live: Vec<repo::Code> =
            repo::phone_codes_since(&mut tx, &phone_hash, now.plus_secs(-CODE_TTL_SECS))
                .await?
                .into_iter()
                .filter(|c| c.used_at.is_none() && c.expires_at > now && c.attempts < MAX_ATTEMPTS)
                .collect();
        if live.is_empty() {
            Checked::NoLiveCode
        } else if let Some(hit) = live.iter().find(|c| same(&c.code_hash, &ch)) {
            if !repo::use_code(&mut tx, hit.id, now).await? {
                return Err(AppError::invalid("code_used", "验证码已使用，请重新获取"));
            }
            let account = match repo::account_by_phone(&mut tx, &phone_hash).await? {
                Some(a) => {
                    repo::touch_account(&mut tx, a.id, now).await?;
                    a
                }
                None => {
                    let a = Account {
                        id: new_account,
                        phone_hash: phone_hash.clone(),
                        phone: sealed.clone(),
                        phone_masked: masked.clone(),
                        created_at: now,
                        last_seen_at: now,
                    };
                    repo::insert_account(&mut tx, &a).await?;
                    a
                }
            };
            repo::insert_session(
                &mut tx,
                &th,
                &repo::Session {
                    account_id: account.id,
                    csrf: csrf.clone(),
                    expires_at: now.plus_secs(SESSION_SECS),
                },
                now,
            )
            .await?;
            Checked::Signed(Resident::of(account, csrf.clone()), token.clone())
        } else {
            repo::count_attempt(&mut tx, &phone_hash, now).await?;
            Checked::Wrong
        }
    })?;
    match checked {
        Checked::Signed(r, token) => {
            tracing::info!(account = %r.account_id, request_id = %ctx.request_id, "resident signed in");
            Ok((token, r))
        }
        Checked::Wrong => Err(AppError::invalid(
            "wrong_code",
            "验证码不正确，请核对短信后重新输入",
        )),
        Checked::NoLiveCode => Err(AppError::invalid(
            "code_expired",
            "验证码已失效，请重新获取",
        )),
    }
}

/// The resident of a portal session token, if it is live.
pub async fn resident(app: &App, token: &str) -> Result<Option<Resident>> {
    if token.is_empty() || token.len() > 100 {
        return Ok(None);
    }
    Ok(repo::session(&app.db, &token_hash(token), app.now())
        .await?
        .map(|(s, a)| Resident::of(a, s.csrf)))
}

pub async fn sign_out(app: &App, token: &str) -> Result<()> {
    repo::delete_session(&app.db, &token_hash(token)).await?;
    Ok(())
}

/// Housekeeping for the sweeper: expired sessions, and codes older than the longest limit.
pub async fn purge(app: &App) -> Result<u64> {
    let now = app.now();
    Ok(repo::purge_sessions(&app.db, now).await?
        + repo::purge_codes(&app.db, now.plus_secs(-2 * 86_400)).await?)
}

// ---------------------------------------------------------------------------------------------
// Reporting.

/// One photo as uploaded.
pub struct Photo {
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// A report as the three steps of the form collect it.
#[derive(Default)]
pub struct Report {
    pub text: String,
    pub request_type: Option<RequestType>,
    pub category_id: Option<Uuid>,
    pub photos: Vec<Photo>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    /// The datum of `lat`/`lng` (a phone map SDK may give GCJ-02 or BD-09).
    pub datum: Option<String>,
    pub address: String,
    pub name: String,
    /// Only when not signed in (a signed-in resident's own number is used).
    pub phone: String,
    pub anonymous: bool,
}

/// What the resident is shown at once.
#[derive(Debug, Clone)]
pub struct Filed {
    pub number: String,
    pub id: Uuid,
    pub new: bool,
}

fn resident_principal(
    who: Option<&Resident>,
    perms: Vec<Permission>,
    unit_id: Uuid,
    unit_path: &str,
    ctx: Ctx,
) -> Principal {
    let (id, name) = match who {
        Some(r) => (r.account_id, format!("居民（{}）", r.phone_masked)),
        None => (Uuid::nil(), "居民（未登录）".to_string()),
    };
    Principal {
        user_id: id,
        username: format!("resident:{id}"),
        display_name: name,
        unit_id,
        unit_path: unit_path.to_string(),
        authz: Authz {
            user_id: id,
            grants: vec![Grant {
                role_key: "resident".into(),
                permissions: perms,
                unit_id,
                unit_path: unit_path.to_string(),
                scope: DataScope::Unit,
            }],
        },
        session_id: None,
        token_id: None,
        csrf: None,
        registry_fields: None,
        must_change_password: false,
        totp_enabled: false,
        ctx,
    }
}

/// The district that receives portal reports.
async fn receiving_unit(app: &App, s: &Settings) -> Result<linli_store::repo::org::OrgUnit> {
    let tenant = open311::jurisdiction(app, s, None).await?;
    org_repo::get_by_code(&app.db, &tenant)
        .await?
        .filter(|u| u.active && u.kind == OrgKind::District)
        .ok_or(AppError::NotFound("受理单位"))
}

/// The jurisdiction's district code (the tenant portal reports go to).
pub async fn tenant(app: &App, s: &Settings) -> Result<String> {
    open311::jurisdiction(app, s, None).await
}

/// File a report. `who` is the signed-in resident, or None for a report without signing in.
pub async fn report(
    app: &App,
    s: &Settings,
    who: Option<&Resident>,
    ctx: Ctx,
    r: Report,
) -> Result<Filed> {
    let text = r.text.trim();
    if text.is_empty() {
        return Err(AppError::invalid("missing_field", "请说一说遇到了什么问题"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(AppError::invalid(
            "too_long",
            format!("问题描述不能超过 {MAX_TEXT_CHARS} 字"),
        ));
    }
    if r.photos.len() > MAX_PHOTOS {
        return Err(AppError::invalid(
            "too_many_photos",
            format!("最多上传 {MAX_PHOTOS} 张照片"),
        ));
    }
    // Every photo is checked (and cleaned) before anything is written.
    let mut photos = Vec::with_capacity(r.photos.len());
    for (i, p) in r.photos.iter().enumerate() {
        let (m, clean) = media::accept(&p.bytes, &app.media).map_err(|refusal| {
            AppError::invalid(
                refusal.key(),
                format!("第 {} 张照片：{}", i + 1, refusal.message()),
            )
        })?;
        if m.kind != media::MediaKind::Image {
            return Err(AppError::invalid(
                "not_a_photo",
                format!("第 {} 张不是照片", i + 1),
            ));
        }
        photos.push((p.filename.as_str(), clean));
    }
    let datum = Datum::parse(r.datum.as_deref().unwrap_or(""))
        .ok_or_else(|| AppError::invalid("invalid_location", "坐标系须为 wgs84、gcj02 或 bd09"))?;
    let (lat, lng) = match (r.lat, r.lng) {
        (Some(la), Some(lo)) if la.is_finite() && lo.is_finite() => {
            let (la, lo) = geo::to_wgs84(datum, la, lo);
            (Some(la), Some(lo))
        }
        (None, None) => (None, None),
        _ => {
            return Err(AppError::invalid(
                "invalid_location",
                "位置不完整，请重新在地图上选点",
            ));
        }
    };
    if lat.is_none() && r.address.trim().is_empty() {
        return Err(AppError::invalid(
            "missing_location",
            "请在地图上选择位置，或填写详细地址",
        ));
    }
    let owner = receiving_unit(app, s).await?;
    let tenant = tenant_of_path(&owner.path);
    if let (Some(la), Some(lo)) = (lat, lng) {
        open311::check_location(app, s, &tenant, la, lo).await?;
    }
    let phone = match who {
        Some(res) => Some(
            app.keys
                .open(pi::PORTAL_PHONE, res.account_id, &res.sealed_phone)?,
        ),
        None if r.anonymous => None,
        None => match r.phone.trim() {
            "" => None,
            p => Some(mobile(p)?),
        },
    };
    let anonymous = r.anonymous || (phone.is_none() && r.name.trim().is_empty());
    // A double tap (or a resend after a dropped answer) finds the first case: the same text
    // from the same person (or, not signed in, the same address) on the same day.
    let mut h = Sha256::new();
    h.update(
        match who {
            Some(res) => res.account_id.to_string(),
            None => ip_hash(app, &ctx.ip),
        }
        .as_bytes(),
    );
    let day = app
        .now()
        .to_datetime()
        .to_offset(linli_domain::clock::CST)
        .date();
    h.update(format!("\u{0}{day}\u{0}{text}\u{0}{}", r.address.trim()).as_bytes());
    let external_id = format!("portal:{}", &hex::encode(h.finalize())[..40]);
    let n = NewCase {
        channel: Some(Channel::Portal),
        external_id: Some(external_id),
        request_type: Some(r.request_type.unwrap_or(RequestType::Help)),
        urgency: None,
        title: linli_domain::open311::title_from(text),
        description: text.to_string(),
        category_id: r.category_id,
        address: r.address.trim().to_string(),
        lat,
        lng,
        grid_id: None,
        requester_name: if anonymous {
            String::new()
        } else {
            r.name.trim().to_string()
        },
        requester_phone: if anonymous { None } else { phone },
        anonymous,
        owner_unit_id: Some(owner.id),
        answer: None,
    };
    let p = resident_principal(
        who,
        vec![Permission::CaseCreate],
        owner.id,
        &owner.path,
        ctx,
    );
    let filed = match cases::create(app, &p, n.clone()).await {
        Err(AppError::Store(StoreError::Unique(_))) => cases::create(app, &p, n).await,
        other => other,
    };
    let (case, new) = filed?;
    if new && !photos.is_empty() {
        let mut ids = Vec::with_capacity(photos.len());
        for (name, bytes) in &photos {
            let a =
                crate::attachments::save(app, &case.tenant, case.id, Some(p.user_id), name, bytes)
                    .await?;
            ids.push(a.id);
        }
        write_tx!(app, |tx| {
            crate::attachments::link(&mut tx, &case.tenant, &ids, case.id, 1).await?;
        })?;
    }
    Ok(Filed {
        number: case.number,
        id: case.id,
        new,
    })
}

/// Categories a report text may belong to (the district's classifier), for the form's first
/// step; empty when there is no model.
pub async fn suggest(
    app: &App,
    s: &Settings,
    text: &str,
) -> Result<Vec<crate::intake::CategorySuggestion>> {
    let tenant = tenant(app, s).await?;
    Ok(crate::intake::suggest_in(app, &tenant, text)
        .await?
        .items
        .into_iter()
        .filter(|c| c.item.as_ref().is_some_and(|e| e.leaf))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// "我的诉求".

/// One line of a resident's plain-language timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicStep {
    pub at: Ts,
    pub text: String,
    /// Words meant for the requester (the reply, an on-the-spot answer), shown under the line.
    pub message: Option<String>,
}

/// What a step of the case tells its requester, if anything: internal steps (notes, warnings,
/// objections and their review, consultation details) are not shown; units are named, people
/// never are.
pub fn public_step(action: &str, note: &str, data: &serde_json::Value) -> Option<(String, bool)> {
    let unit = data["unit_name"].as_str().unwrap_or("").trim();
    let flag = |k: &str| data[k].as_bool();
    let said = |t: &str| (t.to_string(), false);
    Some(match action {
        "receive" => said("诉求已提交"),
        "register" => said("已受理，正在安排办理单位"),
        "dispose" => {
            let d = data["disposition"]
                .as_str()
                .and_then(linli_domain::case::Disposition::parse);
            match d {
                Some(linli_domain::case::Disposition::Answered) => ("已当场答复".to_string(), true),
                Some(d) => (format!("已办结：{}", d.label()), false),
                None => said("已办结"),
            }
        }
        "consult" => said("正在会商确定办理单位"),
        "dispatch" if !unit.is_empty() => (format!("已转交{unit}办理"), false),
        "dispatch" => said("已转交办理单位"),
        "review" if flag("accept") == Some(true) => said("正在重新确定办理单位"),
        "sign" => said("办理单位已接单"),
        "contact" => said("办理单位已与您联系"),
        "pause" => said("等待补充情况，办理计时暂停"),
        "resume" => said("继续办理"),
        "decide_extension" if flag("approve") == Some(true) => said("办理期限已延长"),
        "reply" => ("办理单位已答复".to_string(), true),
        "verify" if flag("passed") == Some(true) => said("办理结果已核实，已办结"),
        "verify" => said("核实未通过，退回重新办理"),
        "visit" => {
            let resolved = if flag("resolved") == Some(true) {
                "已解决"
            } else {
                "未解决"
            };
            let sat = data["satisfaction"]
                .as_str()
                .and_then(Satisfaction::parse)
                .map_or("", Satisfaction::label);
            (format!("回访评价：{resolved}，{sat}"), false)
        }
        "reopen" => said("已重新办理"),
        "supervise" => said("已对办理情况督办"),
        "whistle" => said("街道已召集相关部门到场（吹哨报到）"),
        "whistle_close" => said("相关部门已到场处置"),
        _ => return None,
    })
    .map(|(t, with_note)| (t, with_note && !note.trim().is_empty()))
}

/// A resident's request as the portal shows it.
#[derive(Debug, Clone)]
pub struct MyCase {
    pub case: CaseRow,
    pub light: Light,
}

impl MyCase {
    /// The state in the resident's words.
    pub fn status(&self) -> &'static str {
        match self.case.life.state {
            CaseState::Pending | CaseState::Consulting | CaseState::Registered => "已受理",
            CaseState::Dispatched | CaseState::Objected | CaseState::Handling => "办理中",
            CaseState::Replied => "已答复，核实中",
            CaseState::Closed => "已办结，待评价",
            CaseState::Visited => "已评价",
            CaseState::Disposed => "已办结",
        }
    }
}

/// The resident's requests, newest first.
pub async fn my_cases(app: &App, r: &Resident) -> Result<Vec<MyCase>> {
    let now = app.now();
    Ok(repo::cases_of_phone(&app.db, &r.phone_hash, MY_CASES_LIMIT)
        .await?
        .into_iter()
        .map(|c| MyCase {
            light: c.life.light(now),
            case: c,
        })
        .collect())
}

/// One of the resident's requests, with its plain-language timeline and photos.
#[derive(Debug, Clone)]
pub struct MyCaseDetail {
    pub my: MyCase,
    pub steps: Vec<PublicStep>,
    /// The requester's own photos (those of the intake step).
    pub photos: Vec<Uuid>,
    pub can_rate: bool,
    pub can_reopen: bool,
}

async fn own_case(app: &App, r: &Resident, number: &str) -> Result<CaseRow> {
    let n = number.trim();
    if n.is_empty() || n.len() > 40 {
        return Err(AppError::NotFound("诉求"));
    }
    case_repo::by_number(&app.db, n)
        .await?
        .filter(|c| c.phone_hash.as_deref() == Some(r.phone_hash.as_str()) && !c.life.anonymous)
        .ok_or(AppError::NotFound("诉求"))
}

pub async fn my_case(app: &App, r: &Resident, number: &str) -> Result<MyCaseDetail> {
    let c = own_case(app, r, number).await?;
    let events = case_repo::events(&app.db, &c.tenant, c.id).await?;
    let steps = events
        .iter()
        .filter_map(|e| {
            let data: serde_json::Value = serde_json::from_str(&e.data).unwrap_or_default();
            public_step(&e.action, &e.note, &data).map(|(text, with_note)| PublicStep {
                at: e.at,
                text,
                message: with_note.then(|| e.note.clone()),
            })
        })
        .collect();
    let photos = crate::attachments::list_for_case(app, &c.tenant, c.id)
        .await?
        .into_iter()
        .filter(|a| a.event_seq == Some(1) && a.kind == media::MediaKind::Image)
        .map(|a| a.id)
        .collect();
    let adm = c.life.admissible();
    let now = app.now();
    Ok(MyCaseDetail {
        can_rate: adm.contains(&Action::Visit),
        can_reopen: adm.contains(&Action::Reopen),
        steps,
        photos,
        my: MyCase {
            light: c.life.light(now),
            case: c,
        },
    })
}

/// One of the resident's own photos on their request.
pub async fn my_photo(
    app: &App,
    r: &Resident,
    number: &str,
    id: Uuid,
) -> Result<(String, Vec<u8>)> {
    let c = own_case(app, r, number).await?;
    let a = crate::attachments::get(app, &c.tenant, id)
        .await?
        .filter(|a| a.case_id == c.id && a.event_seq == Some(1))
        .ok_or(AppError::NotFound("照片"))?;
    let bytes = crate::attachments::read(app, &a).await?;
    Ok((a.mime, bytes))
}

async fn resident_step(
    app: &App,
    r: &Resident,
    ctx: Ctx,
    number: &str,
    action: Action,
    input: StepInput,
) -> Result<CaseRow> {
    let c = own_case(app, r, number).await?;
    let p = resident_principal(
        Some(r),
        vec![Permission::CaseRead, Permission::CaseVisit],
        c.owner_id,
        &c.owner_path,
        ctx,
    );
    cases::act(app, &p, c.id, action, input).await
}

/// Rate the reply (回访 by the requester): resolved or not, and how satisfied.
#[allow(clippy::too_many_arguments)]
pub async fn rate(
    app: &App,
    r: &Resident,
    ctx: Ctx,
    number: &str,
    version: i64,
    resolved: bool,
    satisfaction: Satisfaction,
    comment: &str,
) -> Result<CaseRow> {
    let note = comment.trim();
    if note.chars().count() > 500 {
        return Err(AppError::invalid("too_long", "评价内容不能超过 500 字"));
    }
    resident_step(
        app,
        r,
        ctx,
        number,
        Action::Visit,
        StepInput {
            version,
            resolved: Some(resolved),
            satisfaction: Some(satisfaction),
            note: if note.is_empty() {
                "居民自行评价".to_string()
            } else {
                format!("居民自行评价：{note}")
            },
            ..Default::default()
        },
    )
    .await
}

/// Ask for an unresolved or dissatisfying request to be handled again (重办).
pub async fn reopen(
    app: &App,
    r: &Resident,
    ctx: Ctx,
    number: &str,
    version: i64,
    reason: &str,
) -> Result<CaseRow> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::invalid(
            "missing_field",
            "请说明还有什么问题没有解决",
        ));
    }
    if reason.chars().count() > 500 {
        return Err(AppError::invalid("too_long", "说明不能超过 500 字"));
    }
    resident_step(
        app,
        r,
        ctx,
        number,
        Action::Reopen,
        StepInput {
            version,
            note: format!("居民申请重办：{reason}"),
            ..Default::default()
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Community notices (阳光社区).

/// The communities of the jurisdiction, by street, for the notices page's picker.
pub async fn communities(app: &App, s: &Settings) -> Result<Vec<(String, Vec<(String, String)>)>> {
    let district = receiving_unit(app, s).await?;
    let of_kind = |kind| org_repo::ListQuery {
        kind: Some(kind),
        q: None,
        under: Some(district.path.clone()),
        after_path: None,
        limit: 5000,
    };
    let everything = linli_domain::auth::ScopeFilter::everything();
    let mut units = org_repo::list(&app.db, &everything, &of_kind(OrgKind::Street)).await?;
    units.extend(org_repo::list(&app.db, &everything, &of_kind(OrgKind::Community)).await?);
    let mut streets: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for st in units
        .iter()
        .filter(|u| u.kind == OrgKind::Street && u.active)
    {
        let comms = units
            .iter()
            .filter(|u| u.kind == OrgKind::Community && u.active && u.parent_id == Some(st.id))
            .map(|u| (u.code.clone(), u.name.clone()))
            .collect();
        streets.push((st.name.clone(), comms));
    }
    Ok(streets)
}

/// Published notices for the residents of a community (by its code): the community's own and
/// those of the street and district above it, newest first.
pub async fn notices_for(
    app: &App,
    s: &Settings,
    community_code: &str,
) -> Result<(String, Vec<Notice>)> {
    let district = receiving_unit(app, s).await?;
    let c = org_repo::get_by_code(&app.db, community_code.trim())
        .await?
        .filter(|u| u.active && u.path.starts_with(&district.path))
        .ok_or(AppError::NotFound("社区"))?;
    let mut ids = vec![c.id];
    for a in crate::units::ancestors(app, &c).await? {
        if matches!(a.kind, OrgKind::Street | OrgKind::District) {
            ids.push(a.id);
        }
    }
    Ok((c.name, repo::notices_of_units(&app.db, &ids, 100).await?))
}

/// One published notice.
pub async fn notice(app: &App, s: &Settings, id: Uuid) -> Result<Notice> {
    let tenant = tenant(app, s).await?;
    repo::notice(&app.db, &tenant, id)
        .await?
        .filter(|n| n.withdrawn_at.is_none())
        .ok_or(AppError::NotFound("公告"))
}

/// Publish a notice for a unit's residents (`notice.publish` at that unit).
pub async fn publish(
    app: &App,
    p: &Principal,
    unit_id: Uuid,
    title: &str,
    body: &str,
) -> Result<Notice> {
    p.require(Permission::NoticePublish)?;
    let u = crate::units::get(app, unit_id)
        .await?
        .filter(|u| u.active)
        .ok_or(AppError::NotFound("单位"))?;
    p.require_on(Permission::NoticePublish, &u, "单位")?;
    if !matches!(
        u.kind,
        OrgKind::Community | OrgKind::Street | OrgKind::District
    ) {
        return Err(AppError::invalid(
            "bad_unit",
            "公告须以社区、街道或区的名义发布",
        ));
    }
    let title = title.trim();
    let body = body.trim();
    if title.is_empty() || body.is_empty() {
        return Err(AppError::invalid("missing_field", "请填写公告标题和正文"));
    }
    if title.chars().count() > MAX_NOTICE_TITLE_CHARS
        || body.chars().count() > MAX_NOTICE_BODY_CHARS
    {
        return Err(AppError::invalid(
            "too_long",
            format!(
                "标题不超过 {MAX_NOTICE_TITLE_CHARS} 字，正文不超过 {MAX_NOTICE_BODY_CHARS} 字"
            ),
        ));
    }
    if title
        .chars()
        .chain(body.chars())
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(AppError::invalid("invalid_text", "公告含有不可见字符"));
    }
    let now = app.now();
    let n = Notice {
        tenant: tenant_of_path(&u.path),
        id: Uuid::now_v7(),
        unit_id: u.id,
        unit_path: u.path.clone(),
        title: title.to_string(),
        body: body.to_string(),
        author_id: p.user_id,
        published_at: now,
        withdrawn_at: None,
    };
    write_tx!(app, |tx| {
        repo::insert_notice(&mut tx, &n).await?;
        crate::audit::record(
            &mut tx,
            now,
            p.into(),
            crate::audit::Event::ok("notice.publish", "notice", n.id)
                .detail(serde_json::json!({"unit": u.code, "title": n.title})),
        )
        .await?;
    })?;
    Ok(n)
}

/// Withdraw a published notice (`notice.publish` at its unit).
pub async fn withdraw(app: &App, p: &Principal, tenant: &str, id: Uuid) -> Result<()> {
    p.require(Permission::NoticePublish)?;
    let n = repo::notice(&app.db, tenant, id)
        .await?
        .ok_or(AppError::NotFound("公告"))?;
    let u = crate::units::get(app, n.unit_id)
        .await?
        .ok_or(AppError::NotFound("公告"))?;
    p.require_on(Permission::NoticePublish, &u, "公告")?;
    let now = app.now();
    write_tx!(app, |tx| {
        if !repo::withdraw_notice(&mut tx, tenant, id, now).await? {
            return Err(AppError::Conflict("公告已撤回".into()));
        }
        crate::audit::record(
            &mut tx,
            now,
            p.into(),
            crate::audit::Event::ok("notice.withdraw", "notice", id),
        )
        .await?;
    })?;
    Ok(())
}

/// The notices a staff member may manage (under the units where they hold `notice.publish`).
pub async fn managed_notices(app: &App, p: &Principal) -> Result<Vec<Notice>> {
    p.require(Permission::NoticePublish)?;
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for g in p
        .authz
        .grants
        .iter()
        .filter(|g| g.permissions.contains(&Permission::NoticePublish))
    {
        for n in repo::notices_under(&app.db, &g.unit_path, 200).await? {
            if seen.insert(n.id) {
                out.push(n);
            }
        }
    }
    out.sort_by_key(|n| std::cmp::Reverse(n.published_at));
    Ok(out)
}

/// The demo district's notices (once): a community's and its street's.
pub async fn ensure_demo_notices(app: &App, sys: &Principal) -> Result<()> {
    const DEMO: &[(&str, &str, &str)] = &[
        (
            "110101001",
            "东华门街道冬季供暖服务热线公告",
            "冬季供暖期间，如遇暖气不热、漏水等问题，可通过本平台“我要反映”提交，\n也可拨打 12345 政务服务热线。\n街道将在接到诉求后 2 小时内联系您。",
        ),
        (
            "110101001001",
            "社区老旧小区电梯加装意见征集",
            "为方便老年居民上下楼，社区拟对部分老旧楼栋加装电梯。\n请各楼栋居民于本月底前通过本平台或到社区服务站反馈意见。\n征集结果将在本栏目公示。",
        ),
        (
            "110101001001",
            "周末便民服务日：理发、磨刀、家电维修",
            "本周六上午 9:00—11:30，社区服务站前广场举办便民服务日。\n志愿者提供免费理发、磨刀和小家电维修，欢迎居民参加。",
        ),
    ];
    for (code, title, body) in DEMO {
        let Some(u) = org_repo::get_by_code(&app.db, code).await? else {
            continue;
        };
        if !repo::notices_of_units(&app.db, &[u.id], 10)
            .await?
            .iter()
            .any(|n| n.title == *title)
        {
            publish(app, sys, u.id, title, body).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_public_timeline_names_units_never_people_and_hides_internal_steps() {
        let d = serde_json::json!({"unit": Uuid::nil(), "unit_name": "东华门街道办事处"});
        assert_eq!(
            public_step("dispatch", "请张三今天处理", &d),
            Some(("已转交东华门街道办事处办理".into(), false))
        );
        for internal in [
            "note",
            "warn",
            "overdue",
            "object",
            "extend",
            "consult_done",
        ] {
            assert_eq!(
                public_step(internal, "内部备注", &serde_json::json!({})),
                None
            );
        }
        assert_eq!(
            public_step("review", "", &serde_json::json!({"accept": false})),
            None
        );
        assert_eq!(
            public_step("reply", "井盖已更换", &serde_json::json!({})),
            Some(("办理单位已答复".into(), true))
        );
        assert_eq!(
            public_step("reply", "  ", &serde_json::json!({})),
            Some(("办理单位已答复".into(), false))
        );
        assert_eq!(
            public_step(
                "visit",
                "",
                &serde_json::json!({"resolved": false, "satisfaction": "dissatisfied"})
            ),
            Some(("回访评价：未解决，不满意".into(), false))
        );
        assert_eq!(
            public_step(
                "decide_extension",
                "",
                &serde_json::json!({"approve": false})
            ),
            None
        );
    }
}
