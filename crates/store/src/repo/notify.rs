//! Webhook subscriptions and the delivery outbox (notifications, issue 5).
//!
//! A worker claims due rows with one compare-and-set UPDATE that moves `next_at` to the end of
//! its lease and counts the attempt: two workers never take the same row at once, and a row
//! whose worker died comes due again when the lease runs out. No locks beyond the row's own.

use linli_domain::Ts;
use uuid::Uuid;

use crate::args;
use crate::db::{Db, Params, Row, StoreError, Tx};

#[derive(Debug, Clone)]
pub struct Webhook {
    pub tenant: String,
    pub id: Uuid,
    /// The district's unit.
    pub unit_id: Uuid,
    pub name: String,
    pub url: String,
    /// Sealed with the personal-data key.
    pub secret: Vec<u8>,
    pub topics: String,
    pub active: bool,
    pub created_by: Uuid,
    pub created_at: Ts,
}

const HOOK_COLS: &str =
    "tenant, id, unit_id, name, url, secret, topics, active, created_by, created_at";

fn hook(r: Row<'_>) -> Result<Webhook, StoreError> {
    Ok(Webhook {
        tenant: r.text("tenant")?,
        id: r.uuid("id")?,
        unit_id: r.uuid("unit_id")?,
        name: r.text("name")?,
        url: r.text("url")?,
        secret: r.bytes("secret")?,
        topics: r.text("topics")?,
        active: r.bool("active")?,
        created_by: r.uuid("created_by")?,
        created_at: r.ts("created_at")?,
    })
}

pub async fn insert_webhook(tx: &mut Tx, w: &Webhook) -> Result<(), StoreError> {
    tx.execute(
        format!(
            "INSERT INTO webhooks ({HOOK_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ),
        args![
            w.tenant.clone(),
            w.id,
            w.unit_id,
            w.name.clone(),
            w.url.clone(),
            w.secret.clone(),
            w.topics.clone(),
            w.active,
            w.created_by,
            w.created_at
        ],
    )
    .await?;
    Ok(())
}

/// Every subscription, newest first (a handful per district; callers filter by scope).
pub async fn webhooks(db: &Db) -> Result<Vec<Webhook>, StoreError> {
    db.fetch_all(
        format!("SELECT {HOOK_COLS} FROM webhooks ORDER BY id DESC LIMIT 1000"),
        vec![],
        hook,
    )
    .await
}

pub async fn webhook(db: &Db, tenant: &str, id: Uuid) -> Result<Option<Webhook>, StoreError> {
    db.fetch_optional(
        format!("SELECT {HOOK_COLS} FROM webhooks WHERE tenant = $1 AND id = $2"),
        args![tenant, id],
        hook,
    )
    .await
}

/// The active subscriptions of a district, read in the transaction that writes its events.
pub async fn active_webhooks(tx: &mut Tx, tenant: &str) -> Result<Vec<(Uuid, String)>, StoreError> {
    tx.fetch_all(
        "SELECT id, topics FROM webhooks WHERE tenant = $1 AND active = TRUE",
        args![tenant],
        |r| Ok((r.uuid("id")?, r.text("topics")?)),
    )
    .await
}

/// Stop a subscription (its pending deliveries are left to fail as dead letters).
pub async fn deactivate_webhook(tx: &mut Tx, tenant: &str, id: Uuid) -> Result<bool, StoreError> {
    Ok(tx
        .execute(
            "UPDATE webhooks SET active = FALSE WHERE tenant = $1 AND id = $2 AND active = TRUE",
            args![tenant, id],
        )
        .await?
        > 0)
}

#[derive(Debug, Clone)]
pub struct Delivery {
    pub tenant: String,
    pub id: Uuid,
    pub event_id: Uuid,
    pub topic: String,
    pub case_id: Option<Uuid>,
    pub sink: String,
    pub webhook_id: Option<Uuid>,
    /// JSON, without personal data.
    pub payload: String,
    pub state: String,
    pub attempts: i64,
    pub next_at: Ts,
    pub lease_owner: String,
    pub last_error: String,
    pub created_at: Ts,
    pub delivered_at: Option<Ts>,
}

const COLS: &str =
    "tenant, id, event_id, topic, case_id, sink, webhook_id, payload, state, attempts, next_at,
    lease_owner, last_error, created_at, delivered_at";

fn delivery(r: Row<'_>) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        tenant: r.text("tenant")?,
        id: r.uuid("id")?,
        event_id: r.uuid("event_id")?,
        topic: r.text("topic")?,
        case_id: r.opt_uuid("case_id")?,
        sink: r.text("sink")?,
        webhook_id: r.opt_uuid("webhook_id")?,
        payload: r.text("payload")?,
        state: r.text("state")?,
        attempts: r.i64("attempts")?,
        next_at: r.ts("next_at")?,
        lease_owner: r.text("lease_owner")?,
        last_error: r.text("last_error")?,
        created_at: r.ts("created_at")?,
        delivered_at: r.opt_ts("delivered_at")?,
    })
}

/// New deliveries, in as few statements as their number allows.
pub async fn enqueue(tx: &mut Tx, rows: &[Delivery]) -> Result<(), StoreError> {
    for chunk in rows.chunks(500) {
        let mut p = Params::default();
        let values: Vec<String> = chunk
            .iter()
            .map(|d| {
                let marks = [
                    p.push(d.tenant.as_str()),
                    p.push(d.id),
                    p.push(d.event_id),
                    p.push(d.topic.as_str()),
                    p.push(d.case_id),
                    p.push(d.sink.as_str()),
                    p.push(d.webhook_id),
                    p.push(d.payload.as_str()),
                    p.push(d.state.as_str()),
                    p.push(d.attempts),
                    p.push(d.next_at),
                    p.push(d.lease_owner.as_str()),
                    p.push(d.last_error.as_str()),
                    p.push(d.created_at),
                    p.push(d.delivered_at),
                ];
                format!("({})", marks.join(", "))
            })
            .collect();
        tx.execute(
            format!("INSERT INTO outbox ({COLS}) VALUES {}", values.join(", ")),
            p.args,
        )
        .await?;
    }
    Ok(())
}

/// Take up to `limit` due deliveries for `owner` until `lease_until`, counting the attempt.
pub async fn claim(
    db: &Db,
    owner: &str,
    now: Ts,
    lease_until: Ts,
    limit: i64,
) -> Result<Vec<Delivery>, StoreError> {
    db.fetch_all(
        format!(
            "UPDATE outbox SET next_at = $1, attempts = attempts + 1, lease_owner = $2
             WHERE state = 'pending' AND next_at <= $3 AND id IN (
                 SELECT id FROM outbox WHERE state = 'pending' AND next_at <= $3 ORDER BY next_at LIMIT $4)
             RETURNING {COLS}"
        ),
        args![lease_until, owner, now, limit],
        delivery,
    )
    .await
}

/// Settle a claimed delivery: delivered, or due again at `retry_at`, or dead after `max`
/// attempts. Only the claim that is still current settles (a late worker whose lease ran out
/// and whose row was taken again changes nothing).
pub async fn settle(
    db: &Db,
    d: &Delivery,
    now: Ts,
    outcome: Result<(), &str>,
    retry_at: Ts,
    max: i64,
) -> Result<bool, StoreError> {
    let n = match outcome {
        Ok(()) => {
            db.execute(
                "UPDATE outbox SET state = 'delivered', delivered_at = $1, last_error = ''
                 WHERE tenant = $2 AND id = $3 AND attempts = $4 AND state = 'pending'",
                args![now, d.tenant.clone(), d.id, d.attempts],
            )
            .await?
        }
        Err(e) => {
            let error: String = e.chars().take(500).collect();
            db.execute(
                "UPDATE outbox SET state = CASE WHEN attempts >= $1 THEN 'dead' ELSE 'pending' END,
                    next_at = $2, last_error = $3
                 WHERE tenant = $4 AND id = $5 AND attempts = $6 AND state = 'pending'",
                args![max, retry_at, error, d.tenant.clone(), d.id, d.attempts],
            )
            .await?
        }
    };
    Ok(n > 0)
}

/// Deliveries of the given districts in one state, newest first, before a cursor.
pub async fn list(
    db: &Db,
    tenants: &[String],
    state: &str,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Delivery>, StoreError> {
    if tenants.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = Params::default();
    let list: Vec<String> = tenants.iter().map(|t| p.push(t.as_str())).collect();
    let state = p.push(state);
    let before = match before {
        Some(b) => format!(" AND id < {}", p.push(b)),
        None => String::new(),
    };
    let limit = p.push(limit);
    db.fetch_all(
        format!(
            "SELECT {COLS} FROM outbox WHERE tenant IN ({}) AND state = {state}{before}
             ORDER BY id DESC LIMIT {limit}",
            list.join(", ")
        ),
        p.args,
        delivery,
    )
    .await
}

/// Give a dead letter another round of tries, due now.
pub async fn revive(tx: &mut Tx, tenant: &str, id: Uuid, now: Ts) -> Result<bool, StoreError> {
    Ok(tx
        .execute(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_at = $1, last_error = ''
             WHERE tenant = $2 AND id = $3 AND state = 'dead'",
            args![now, tenant, id],
        )
        .await?
        > 0)
}

pub async fn get(db: &Db, tenant: &str, id: Uuid) -> Result<Option<Delivery>, StoreError> {
    db.fetch_optional(
        format!("SELECT {COLS} FROM outbox WHERE tenant = $1 AND id = $2"),
        args![tenant, id],
        delivery,
    )
    .await
}
