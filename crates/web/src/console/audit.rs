//! 审计日志 page (审计管理员): filters, the newest-first table with keyset paging, and the
//! tamper-evidence check of every hash chain (loaded into the page by htmx).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use linli_domain::audit::AuditRecord;
use linli_domain::auth::Permission;
use serde::Deserialize;

use std::collections::HashMap;

use uuid::Uuid;

use super::{FragmentWrap, PageError, Shell, fail, fragment_error, render, unit_names};
use crate::AppState;
use crate::api::audit::{ListParams, cursor_of, to_query};
use crate::api::encode_cursor;
use crate::auth::{ApiQuery, ConsoleAuth, urlencode};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/audit", get(page))
        .route("/console/audit/verify", get(verify))
}

const PAGE: i64 = 50;

/// Known actions: (key, 中文).
const ACTIONS: &[(&str, &str)] = &[
    ("login", "登录"),
    ("login.totp", "动态验证码登录"),
    ("logout", "退出登录"),
    ("logout.all", "退出所有设备"),
    ("session.end", "结束登录会话"),
    ("password.change", "修改密码"),
    ("totp.enrol", "绑定动态验证码"),
    ("user.create", "创建账号"),
    ("user.reset_password", "重置密码"),
    ("user.disable", "停用账号"),
    ("user.enable", "启用账号"),
    ("user.unlock", "解除锁定"),
    ("user.force_logout", "强制下线"),
    ("user.reset_totp", "重置动态验证码"),
    ("role.grant", "授予角色"),
    ("role.revoke", "撤销角色"),
    ("role.require_totp", "设置二次验证要求"),
    ("org.create", "添加单位"),
    ("org.update", "修改单位"),
    ("division.import", "导入行政区划"),
    ("demo.load", "加载演示数据"),
    ("token.create", "签发接口令牌"),
    ("token.revoke", "吊销接口令牌"),
];

fn action_label(a: &str) -> &'static str {
    ACTIONS
        .iter()
        .find(|(k, _)| *k == a)
        .map(|(_, l)| *l)
        .unwrap_or("")
}

fn target_label(t: &str) -> &str {
    match t {
        "user" => "账号",
        "org_unit" => "单位",
        "api_token" => "令牌",
        "session" => "会话",
        "role" => "角色",
        "org_level" => "层级",
        other => other,
    }
}

fn result_badge(r: &str) -> (&'static str, &'static str) {
    match r {
        "ok" => ("成功", "bg-green-lt"),
        "failed" => ("失败", "bg-red-lt"),
        "denied" => ("拒绝", "bg-orange-lt"),
        _ => ("其他", "bg-secondary-lt"),
    }
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        format!("{}…", s.chars().take(n).collect::<String>())
    } else {
        s.to_string()
    }
}

struct Row {
    at: String,
    username: String,
    action: String,
    action_label: &'static str,
    target_type: String,
    target_id: String,
    target_short: String,
    target_href: Option<String>,
    result: (&'static str, &'static str),
    reason: String,
    ip: String,
    request_id: String,
    request_short: String,
    detail: String,
}

/// Names of the accounts and units the records point at, so the table says "账号 grid01"
/// rather than a UUID. The audit reader sees these names in the trail's own details anyway.
async fn target_names(
    s: &AppState,
    p: &linli_app::Principal,
    records: &[AuditRecord],
) -> HashMap<String, String> {
    let ids_of = |kind: &str| -> Vec<Uuid> {
        records
            .iter()
            .filter(|r| r.target_type == kind)
            .filter_map(|r| r.target_id.parse().ok())
            .collect()
    };
    let mut out: HashMap<String, String> = unit_names(s, p, ids_of("org_unit"))
        .await
        .into_iter()
        .map(|(id, name)| (id.to_string(), name))
        .collect();
    match linli_app::audit::target_usernames(&s.app, p, &ids_of("user")).await {
        Ok(names) => out.extend(names.into_iter().map(|(id, name)| (id.to_string(), name))),
        Err(e) => tracing::warn!(error = %e, "audit target lookup failed"),
    }
    out
}

fn row(r: AuditRecord, link_users: bool, names: &HashMap<String, String>) -> Row {
    let is_id = r.target_id.parse::<uuid::Uuid>().is_ok();
    let target_href = match r.target_type.as_str() {
        "org_unit" if is_id => Some(format!("/console/org/{}", r.target_id)),
        "user" if is_id && link_users => Some(format!("/console/users/{}", r.target_id)),
        _ => None,
    };
    Row {
        at: r.at.display_cst(),
        action_label: action_label(&r.action),
        target_type: target_label(&r.target_type).to_string(),
        target_short: match names.get(&r.target_id) {
            Some(n) => n.clone(),
            None if is_id => short(&r.target_id, 8),
            None => short(&r.target_id, 24),
        },
        target_href,
        result: result_badge(&r.result),
        request_short: short(&r.request_id, 8),
        detail: short(&r.detail, 200),
        username: r.username,
        action: r.action,
        target_id: r.target_id,
        reason: r.reason,
        ip: r.ip,
        request_id: r.request_id,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Filters {
    username: String,
    action: String,
    result: String,
    from: String,
    to: String,
    cursor: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    shell: Shell,
    f: Filters,
    rows: Vec<Row>,
    next: Option<String>,
    first: String,
    paged: bool,
    actions: &'static [(&'static str, &'static str)],
    filtered: bool,
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

async fn page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(f): ApiQuery<Filters>,
) -> Result<Response, PageError> {
    let fail = fail(&s, &p, "/console/audit");
    p.require(Permission::AuditRead).map_err(&fail)?;
    let params = ListParams {
        username: opt(&f.username),
        action: opt(&f.action),
        result: opt(&f.result),
        target: None,
        from: opt(&f.from),
        to: opt(&f.to),
        cursor: opt(&f.cursor),
        limit: None,
    };
    let lq = to_query(&params, PAGE + 1).map_err(&fail)?;
    let mut records = linli_app::audit::list(&s.app, &p, &lq)
        .await
        .map_err(&fail)?;
    let more = records.len() as i64 > PAGE;
    records.truncate(PAGE as usize);
    let first = format!(
        "/console/audit?username={}&action={}&result={}&from={}&to={}",
        urlencode(f.username.trim()),
        urlencode(f.action.trim()),
        urlencode(f.result.trim()),
        urlencode(f.from.trim()),
        urlencode(f.to.trim())
    );
    let next = if more {
        records
            .last()
            .map(|r| format!("{first}&cursor={}", encode_cursor(&cursor_of(r))))
    } else {
        None
    };
    let link_users = p.authz.has(Permission::UserRead);
    let names = target_names(&s, &p, &records).await;
    let rows = records
        .into_iter()
        .map(|r| row(r, link_users, &names))
        .collect();
    let filtered = [&f.username, &f.action, &f.result, &f.from, &f.to]
        .iter()
        .any(|x| !x.trim().is_empty());
    let shell = Shell::new(&p, &s.app, "审计日志", "/console/audit");
    Ok(render(&AuditPage {
        shell,
        paged: opt(&f.cursor).is_some(),
        f,
        rows,
        next,
        first,
        actions: ACTIONS,
        filtered,
    }))
}

struct ChainView {
    chain: String,
    name: String,
    verified: i64,
    broken: Option<String>,
}

#[derive(Template)]
#[template(path = "_audit_verify.html")]
struct VerifyPartial {
    chains: Vec<ChainView>,
    at: String,
}

async fn chain_name(s: &AppState, chain: &str) -> String {
    if chain.trim_matches('0').is_empty() {
        return "平台（省市级及系统操作）".into();
    }
    match linli_store::repo::org::get_by_code(&s.app.db, chain).await {
        Ok(Some(u)) => u.name,
        _ => String::new(),
    }
}

/// Check every chain; an htmx fragment.
async fn verify(State(s): State<AppState>, ConsoleAuth(p): ConsoleAuth) -> Response {
    let run = async {
        p.require(Permission::AuditRead)?;
        linli_app::audit::verify(&s.app).await
    };
    match run.await {
        Ok(reports) => {
            let mut chains = Vec::with_capacity(reports.len());
            for r in reports {
                chains.push(ChainView {
                    name: chain_name(&s, &r.chain).await,
                    broken: r.broken.as_ref().map(ToString::to_string),
                    verified: r.verified,
                    chain: r.chain,
                });
            }
            render(&VerifyPartial {
                chains,
                at: s.app.now().display_cst(),
            })
        }
        Err(e) => fragment_error(FragmentWrap::Alert, &e),
    }
}
