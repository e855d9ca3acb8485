//! Notifications: the outbox of case events and the worker that delivers it.
//!
//! Every step a requester or an outside system cares about ([`linli_domain::notify::topic_of`])
//! writes its deliveries in the step's own transaction ([`enqueue`]): one text message to the
//! requester (when the case has a phone and is not anonymous) and one POST per active webhook
//! subscription of the district whose topics take it. A crash between the step and its
//! delivery loses nothing, and a step that rolls back sends nothing.
//!
//! The worker ([`run_notifier`], in every `linli serve`) claims due rows under a lease, sends
//! them, and settles each: delivered, or due again after a back-off, or dead after
//! `max_attempts`. A server that dies mid-delivery leaves its rows to come due when the lease
//! runs out, so a receiver may see a delivery twice — always with the same `X-Linli-Event`
//! and `X-Linli-Delivery` ids, which is how it tells a repeat.
//!
//! Webhook requests are signed: `X-Linli-Signature: sha256=<hex HMAC-SHA256(secret,
//! "<X-Linli-Timestamp>.<body>")>`. Payloads carry the case number, state and category, never
//! the requester.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use linli_domain::Ts;
use linli_domain::auth::Permission;
use linli_domain::case::{CaseState, Disposition};
use linli_domain::notify::{DeliveryState, Sink, Topic, backoff_secs, topic_of};
use linli_domain::org::OrgKind;
use linli_store::Tx;
use linli_store::repo::cases::{self as case_repo, CaseRow};
use linli_store::repo::duplicates as dup_repo;
use linli_store::repo::notify::{self as repo, Delivery, Webhook};
use sha2::Sha256;
use uuid::Uuid;

use crate::audit::{Event, record};
use crate::{App, AppError, Principal, Result, pi};

/// Deliveries claimed per pass.
pub const CLAIM_BATCH: i64 = 50;

/// The process's HTTP client for webhooks and the SMS gateway ([`App::notifier`]).
#[derive(Default)]
pub struct Notifier {
    client: OnceLock<reqwest::Client>,
}

impl Notifier {
    fn client(&self, timeout: Duration) -> std::result::Result<&reqwest::Client, String> {
        if let Some(c) = self.client.get() {
            return Ok(c);
        }
        let c = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("HTTP 客户端无法创建：{e}"))?;
        Ok(self.client.get_or_init(|| c))
    }
}

/// A step of a case, as the outbox hears of it.
pub struct CaseEvent<'a> {
    pub case: &'a CaseRow,
    /// The timeline action (`receive` for intake).
    pub action: &'a str,
    pub to: CaseState,
}

/// Write the deliveries of `events` (cases of any districts) in `tx`.
pub async fn enqueue(tx: &mut Tx, events: &[CaseEvent<'_>], now: Ts) -> Result<()> {
    let mut hooks: HashMap<&str, Vec<(Uuid, String)>> = HashMap::new();
    let mut rows = Vec::new();
    for ev in events {
        let c = ev.case;
        let duplicate = c.life.disposition == Some(Disposition::Duplicate);
        let Some(topic) = topic_of(ev.action, ev.to, duplicate) else {
            continue;
        };
        if !hooks.contains_key(c.tenant.as_str()) {
            let active = repo::active_webhooks(tx, &c.tenant).await?;
            hooks.insert(&c.tenant, active);
        }
        let event_id = linli_domain::ids::new_id();
        let payload = serde_json::json!({
            "event_id": event_id,
            "topic": topic.key(),
            "occurred_at": now.rfc3339(),
            "tenant": c.tenant,
            "case": {
                "id": c.id,
                "number": c.number,
                "state": ev.to.key(),
                "state_label": ev.to.label(),
                "channel": c.channel.key(),
                "request_type": c.life.request_type.key(),
                "urgency": c.life.urgency.key(),
                "category_code": c.category_code,
                "category_name": c.category_name,
                "due_at": c.life.due_at.map(Ts::rfc3339),
                "disposition": c.life.disposition.map(|d| d.key()),
                "duplicate_of": c.life.duplicate_of,
            },
        })
        .to_string();
        let row = |sink: Sink, webhook_id: Option<Uuid>| Delivery {
            tenant: c.tenant.clone(),
            id: linli_domain::ids::new_id(),
            event_id,
            topic: topic.key().into(),
            case_id: Some(c.id),
            sink: sink.key().into(),
            webhook_id,
            payload: payload.clone(),
            state: DeliveryState::Pending.key().into(),
            attempts: 0,
            next_at: now,
            lease_owner: String::new(),
            last_error: String::new(),
            created_at: now,
            delivered_at: None,
        };
        if topic.for_requester() && c.requester_phone.is_some() && !c.life.anonymous {
            rows.push(row(Sink::Sms, None));
        }
        // The requesters of the cases merged into this one hear of its answer and closing.
        if topic.for_merged() {
            for id in dup_repo::merged_reachable_tx(tx, &c.tenant, c.id).await? {
                rows.push(Delivery {
                    case_id: Some(id),
                    ..row(Sink::Sms, None)
                });
            }
        }
        for (id, topics) in hooks.get(c.tenant.as_str()).into_iter().flatten() {
            if topic.matches(topics) {
                rows.push(row(Sink::Webhook, Some(*id)));
            }
        }
    }
    repo::enqueue(tx, &rows).await?;
    Ok(())
}

/// Claim due deliveries for `owner` (a server's name), counting the attempt.
pub async fn claim(app: &App, owner: &str) -> Result<Vec<Delivery>> {
    let now = app.now();
    let lease = Ts(now.0 + app.cfg.notify.lease_secs.max(1) * 1_000_000);
    Ok(repo::claim(&app.db, owner, now, lease, CLAIM_BATCH).await?)
}

/// Send one claimed delivery; the error says why it failed (kept on the row, shown in the
/// console, never containing personal data).
pub async fn send(app: &App, d: &Delivery) -> std::result::Result<(), String> {
    let cfg = &app.cfg.notify;
    let client = app
        .notifier
        .client(Duration::from_secs(cfg.timeout_secs.max(1)))?;
    match Sink::parse(&d.sink) {
        Some(Sink::Webhook) => {
            let hook = match d.webhook_id {
                Some(id) => repo::webhook(&app.db, &d.tenant, id)
                    .await
                    .map_err(|e| format!("读取订阅失败：{e}"))?,
                None => None,
            };
            let hook = hook.filter(|h| h.active).ok_or("订阅已停用或不存在")?;
            let secret = app
                .keys
                .open(pi::WEBHOOK_SECRET, hook.id, &hook.secret)
                .map_err(|_| "订阅密钥无法解密（个人信息密钥不符）")?;
            let ts = (app.now().0 / 1_000_000).to_string();
            let r = client
                .post(&hook.url)
                .header("content-type", "application/json")
                .header("x-linli-event", d.event_id.to_string())
                .header("x-linli-delivery", d.id.to_string())
                .header("x-linli-topic", d.topic.clone())
                .header("x-linli-timestamp", ts.clone())
                .header("x-linli-signature", signature(&secret, &ts, &d.payload))
                .body(d.payload.clone())
                .send()
                .await
                .map_err(|e| format!("请求失败：{}", without_url(e)))?;
            answered(r.status())
        }
        Some(Sink::Sms) => {
            let (phone, text) = sms_of(app, d).await?;
            send_sms(app, d.id, &phone, &text).await
        }
        None => Err(format!("未知的投递方式 {}", d.sink)),
    }
}

/// The phone an SMS delivery goes to and its text, read at sending time from the sealed case
/// (a case merged into an original is told about the original). The error says why not.
pub async fn sms_of(app: &App, d: &Delivery) -> std::result::Result<(String, String), String> {
    let cfg = &app.cfg.notify;
    let case = match d.case_id {
        Some(id) => case_repo::get(&app.db, &d.tenant, id)
            .await
            .map_err(|e| format!("读取工单失败：{e}"))?,
        None => None,
    };
    let case = case.ok_or("工单不存在")?;
    let sealed = case
        .requester_phone
        .as_deref()
        .filter(|_| !case.life.anonymous)
        .ok_or("诉求人没有可用的电话")?;
    let phone = app
        .keys
        .open(pi::CASE_PHONE, case.id, sealed)
        .map_err(|_| "电话无法解密（个人信息密钥不符）")?;
    let topic = Topic::parse(&d.topic).ok_or("该事件没有短信模板")?;
    let text = match case.life.duplicate_of {
        // A merged case's requester is told about the original.
        Some(o) if case.life.disposition == Some(Disposition::Duplicate) => {
            let original = case_repo::get(&app.db, &d.tenant, o)
                .await
                .map_err(|e| format!("读取原工单失败：{e}"))?
                .ok_or("原工单不存在")?;
            // (A step from before the merge still says what it said.)
            topic
                .merged_sms_text(
                    &cfg.sms_sign,
                    &case.number,
                    &original.number,
                    original.life.state.label(),
                )
                .or_else(|| topic.sms_text(&cfg.sms_sign, &case.number))
        }
        _ => topic.sms_text(&cfg.sms_sign, &case.number),
    }
    .ok_or("该事件没有短信模板")?;
    Ok((phone, text))
}

/// Send one text message through the configured sender: the log sender when `sms_url` is
/// empty (development: the text goes to the server log with the number masked), otherwise the
/// HTTP gateway (`POST {"id","phone","text"}` with the bearer token). `id` is stable over
/// retries, so the gateway can drop a repeat.
pub async fn send_sms(
    app: &App,
    id: Uuid,
    phone: &str,
    text: &str,
) -> std::result::Result<(), String> {
    let cfg = &app.cfg.notify;
    if cfg.sms_url.trim().is_empty() {
        tracing::info!(message_id = %id, to = %pi::mask_phone(phone), text = %text, "SMS (log sender)");
        return Ok(());
    }
    let client = app
        .notifier
        .client(Duration::from_secs(cfg.timeout_secs.max(1)))?;
    let r = client
        .post(cfg.sms_url.trim())
        .bearer_auth(&cfg.sms_token)
        .json(&serde_json::json!({"id": id, "phone": phone, "text": text}))
        .send()
        .await
        .map_err(|e| format!("短信网关请求失败：{}", without_url(e)))?;
    answered(r.status())
}

fn answered(status: reqwest::StatusCode) -> std::result::Result<(), String> {
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("对方答复 HTTP {}", status.as_u16()))
    }
}

/// reqwest's error text without the URL (which may carry a token in its query).
fn without_url(e: reqwest::Error) -> String {
    let e = e.without_url();
    if e.is_timeout() {
        "超时".into()
    } else if e.is_connect() {
        "无法连接".into()
    } else {
        e.to_string()
    }
}

/// `sha256=<hex>` over `"<timestamp>.<body>"` with the subscription's secret.
pub fn signature(secret: &str, timestamp: &str, body: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Record how a claimed delivery went.
pub async fn settle(
    app: &App,
    d: &Delivery,
    outcome: std::result::Result<(), String>,
) -> Result<()> {
    let now = app.now();
    let retry_at = Ts(now.0 + backoff_secs(d.attempts) * 1_000_000);
    let max = app.cfg.notify.max_attempts.max(1);
    let outcome = outcome.as_ref().map(|_| ()).map_err(String::as_str);
    if let Err(e) = outcome {
        tracing::warn!(delivery = %d.id, topic = %d.topic, attempt = d.attempts, error = %e, "delivery failed");
    }
    repo::settle(&app.db, d, now, outcome, retry_at, max).await?;
    Ok(())
}

/// One pass: claim, send and settle what is due. Returns how many were claimed.
pub async fn deliver_once(app: &App, owner: &str) -> Result<usize> {
    let due = claim(app, owner).await?;
    let sends = due.iter().map(|d| async move {
        let r = send(app, d).await;
        settle(app, d, r).await
    });
    for r in futures::future::join_all(sends).await {
        r?;
    }
    Ok(due.len())
}

/// The delivery worker: a pass every `every`, at once again after a full batch.
pub async fn run_notifier(app: App, owner: String, every: Duration) {
    loop {
        match deliver_once(&app, &owner).await {
            Ok(n) if n as i64 >= CLAIM_BATCH => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "notification pass failed"),
        }
        tokio::time::sleep(every).await;
    }
}

// ---- Administration (系统管理员, `notify.manage`) ----

/// What a subscription is told of: `*` or a comma list of topics.
fn topics(raw: &str) -> Result<String> {
    let raw = raw.trim();
    if raw.is_empty() || raw == "*" {
        return Ok("*".into());
    }
    let mut out: Vec<&str> = Vec::new();
    for t in raw.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let t = Topic::parse(t).ok_or_else(|| {
            AppError::invalid(
                "invalid_topic",
                format!("没有这个事件：{t}（可用 * 表示全部）"),
            )
        })?;
        if !out.contains(&t.key()) {
            out.push(t.key());
        }
    }
    Ok(out.join(","))
}

fn url(raw: &str) -> Result<String> {
    let u = raw.trim();
    let ok = (u.starts_with("https://") || u.starts_with("http://"))
        && u.len() <= 1000
        && !u.chars().any(|c| c.is_whitespace() || c.is_control())
        && reqwest::Url::parse(u).is_ok_and(|p| p.host_str().is_some());
    if ok {
        Ok(u.to_string())
    } else {
        Err(AppError::invalid(
            "invalid_url",
            "请填写 http:// 或 https:// 开头的完整地址（不超过 1000 个字符）",
        ))
    }
}

/// Subscribe an outside system to a district's case events. Returns the subscription and its
/// signing secret, shown this once.
pub async fn create_webhook(
    app: &App,
    p: &Principal,
    district: Uuid,
    name: &str,
    target: &str,
    topic_list: &str,
) -> Result<(Webhook, String)> {
    p.require(Permission::NotifyManage)?;
    let name = crate::org::validate_name(name)?;
    let target = url(target)?;
    let topic_list = topics(topic_list)?;
    let unit = crate::units::get(app, district)
        .await?
        .filter(|u| u.active)
        .ok_or(AppError::NotFound("单位"))?;
    p.require_on(Permission::NotifyManage, &unit, "单位")?;
    if unit.kind != OrgKind::District {
        return Err(AppError::invalid(
            "not_a_district",
            "订阅按区（县）开设，请选择区县",
        ));
    }
    let secret = {
        let mut bytes = [0u8; 24];
        rand::fill(&mut bytes);
        format!("whsec_{}", hex::encode(bytes))
    };
    let now = app.now();
    let hook_id = linli_domain::ids::new_id();
    let hook = Webhook {
        tenant: unit.code.clone(),
        id: hook_id,
        unit_id: unit.id,
        name,
        url: target,
        secret: app.keys.seal(pi::WEBHOOK_SECRET, hook_id, &secret),
        topics: topic_list,
        active: true,
        created_by: p.user_id,
        created_at: now,
    };
    write_tx!(app, |tx| {
        repo::insert_webhook(&mut tx, &hook).await?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("notify.webhook_create", "webhook", hook.id).detail(serde_json::json!({
                "name": hook.name, "tenant": hook.tenant, "topics": hook.topics,
            })),
        )
        .await?;
    })?;
    Ok((hook, secret))
}

/// Whether `p` administers notifications of the webhook's district.
async fn reaches(app: &App, p: &Principal, w: &Webhook) -> bool {
    match crate::units::get(app, w.unit_id).await {
        Ok(Some(u)) => p.require_on(Permission::NotifyManage, &u, "单位").is_ok(),
        _ => false,
    }
}

/// The subscriptions `p` administers.
pub async fn webhooks(app: &App, p: &Principal) -> Result<Vec<Webhook>> {
    p.require(Permission::NotifyManage)?;
    let mut out = Vec::new();
    for w in repo::webhooks(&app.db).await? {
        if reaches(app, p, &w).await {
            out.push(w);
        }
    }
    Ok(out)
}

async fn reached_webhook(app: &App, p: &Principal, id: Uuid) -> Result<Webhook> {
    p.require(Permission::NotifyManage)?;
    for w in repo::webhooks(&app.db).await? {
        if w.id == id && reaches(app, p, &w).await {
            return Ok(w);
        }
    }
    Err(AppError::NotFound("订阅"))
}

/// Stop a subscription.
pub async fn delete_webhook(app: &App, p: &Principal, id: Uuid) -> Result<()> {
    let w = reached_webhook(app, p, id).await?;
    let now = app.now();
    write_tx!(app, |tx| {
        if !repo::deactivate_webhook(&mut tx, &w.tenant, w.id).await? {
            return Err(AppError::Conflict("该订阅已停用".into()));
        }
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("notify.webhook_delete", "webhook", w.id)
                .detail(serde_json::json!({"name": w.name, "tenant": w.tenant})),
        )
        .await?;
    })
}

/// The deliveries of the districts `p` administers, in one state, newest first.
pub async fn deliveries(
    app: &App,
    p: &Principal,
    state: DeliveryState,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Delivery>> {
    p.require(Permission::NotifyManage)?;
    let tenants = districts(app, p).await?;
    Ok(repo::list(&app.db, &tenants, state.key(), before, limit.clamp(1, 200)).await?)
}

/// The districts whose subscriptions `p` administers (deliveries are listed per district).
async fn districts(app: &App, p: &Principal) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for w in webhooks(app, p).await? {
        if !out.contains(&w.tenant) {
            out.push(w.tenant);
        }
    }
    Ok(out)
}

/// Send a dead letter again: a fresh round of tries, due now.
pub async fn retry(app: &App, p: &Principal, tenant: &str, id: Uuid) -> Result<()> {
    p.require(Permission::NotifyManage)?;
    if !districts(app, p).await?.iter().any(|t| t == tenant) {
        return Err(AppError::NotFound("投递记录"));
    }
    let d = repo::get(&app.db, tenant, id)
        .await?
        .ok_or(AppError::NotFound("投递记录"))?;
    let now = app.now();
    write_tx!(app, |tx| {
        if !repo::revive(&mut tx, &d.tenant, d.id, now).await? {
            return Err(AppError::Conflict("只有投递失败的记录可以重新投递".into()));
        }
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("notify.retry", "delivery", d.id)
                .detail(serde_json::json!({"topic": d.topic, "sink": d.sink})),
        )
        .await?;
    })
}
