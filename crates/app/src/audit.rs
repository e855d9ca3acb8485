//! Writing and reading the audit trail.

use linli_domain::Ts;
use linli_domain::audit::{AuditRecord, Break, ChainVerifier};
use linli_domain::auth::Permission;
use linli_store::Tx;
use linli_store::repo::audit::{self as repo, Entry, ListQuery};
use uuid::Uuid;

use crate::{App, Ctx, Principal, Result};

/// What happened, to what. Written by [`record`] in the caller's transaction.
pub struct Event<'a> {
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: String,
    pub result: &'a str,
    pub reason: &'a str,
    pub detail: serde_json::Value,
}

impl<'a> Event<'a> {
    pub fn ok(action: &'a str, target_type: &'a str, target_id: impl ToString) -> Self {
        Event {
            action,
            target_type,
            target_id: target_id.to_string(),
            result: "ok",
            reason: "",
            detail: serde_json::Value::Null,
        }
    }
    pub fn detail(mut self, d: serde_json::Value) -> Self {
        self.detail = d;
        self
    }
    pub fn result(mut self, r: &'a str) -> Self {
        self.result = r;
        self
    }
    pub fn reason(mut self, r: &'a str) -> Self {
        self.reason = r;
        self
    }
}

/// The acting party for an audit row.
pub struct Actor<'a> {
    pub user_id: Option<Uuid>,
    pub username: &'a str,
    pub unit_id: Option<Uuid>,
    pub chain: String,
    pub ctx: &'a Ctx,
}

impl<'a> From<&'a Principal> for Actor<'a> {
    fn from(p: &'a Principal) -> Self {
        Actor {
            user_id: Some(p.user_id),
            username: &p.username,
            unit_id: Some(p.unit_id),
            chain: p.chain(),
            ctx: &p.ctx,
        }
    }
}

pub async fn record(tx: &mut Tx, now: Ts, actor: Actor<'_>, ev: Event<'_>) -> Result<AuditRecord> {
    Ok(repo::append(tx, entry(now, actor, ev)).await?)
}

/// The row [`record`] appends, for callers that append several at once
/// ([`repo::append_many`]).
pub fn entry(now: Ts, actor: Actor<'_>, ev: Event<'_>) -> Entry {
    let detail = if ev.detail.is_null() {
        String::new()
    } else {
        ev.detail.to_string()
    };
    Entry {
        chain: actor.chain,
        at: now,
        user_id: actor.user_id,
        username: actor.username.to_string(),
        unit_id: actor.unit_id,
        action: ev.action.to_string(),
        target_type: ev.target_type.to_string(),
        target_id: ev.target_id,
        result: ev.result.to_string(),
        reason: ev.reason.to_string(),
        request_id: actor.ctx.request_id.clone(),
        ip: actor.ctx.ip.clone(),
        detail,
    }
}

/// Browse the trail (审计管理员 only).
pub async fn list(app: &App, p: &Principal, q: &ListQuery) -> Result<Vec<AuditRecord>> {
    p.require(Permission::AuditRead)?;
    let mut q = q.clone();
    q.limit = q.limit.clamp(1, 200);
    Ok(repo::list(&app.db, &q).await?)
}

/// Usernames of accounts that audit rows point at (审计管理员 only), for labelling targets.
pub async fn target_usernames(
    app: &App,
    p: &Principal,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, String>> {
    p.require(Permission::AuditRead)?;
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    Ok(linli_store::repo::users::usernames(&app.db, &ids)
        .await?
        .into_iter()
        .collect())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub chain: String,
    pub verified: i64,
    pub broken: Option<Break>,
}

/// Walk every chain from its first record; report per chain how many links hold and where the
/// first break is. Also checks that the head agrees with the last row (a truncated tail).
pub async fn verify(app: &App) -> Result<Vec<ChainReport>> {
    let mut out = Vec::new();
    for chain in repo::chains(&app.db).await? {
        let mut v = ChainVerifier::default();
        let mut after = 0;
        let mut broken = None;
        let mut last_hash = linli_domain::audit::GENESIS.to_string();
        'pages: loop {
            let page = repo::chain_page(&app.db, &chain, after, 2000).await?;
            if page.is_empty() {
                break;
            }
            for (rec, hash) in &page {
                if let Err(b) = v.check(rec, hash) {
                    broken = Some(b);
                    break 'pages;
                }
                after = rec.seq;
                last_hash = hash.clone();
            }
        }
        if broken.is_none()
            && let Some((seq, hash)) = repo::head(&app.db, &chain).await?
            && (seq != v.verified() || hash != last_hash)
        {
            broken = Some(Break::Gap {
                expected: seq,
                found: v.verified(),
            });
        }
        out.push(ChainReport {
            chain,
            verified: v.verified(),
            broken,
        });
    }
    Ok(out)
}
