//! 人员账号 pages: the account list, the new-account form, one account's page with its role
//! grants, and the administrators' actions on it (reset password, disable, unlock, log out,
//! reset the second factor, grant and revoke roles).
//!
//! Generated passwords are shown once on a page rendered directly by the POST (never in a URL).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use linli_app::{AppError, Principal};
use linli_domain::auth::{DataScope, Permission, Target};
use linli_store::repo::roles::Role;
use linli_store::repo::users::{ListQuery, User};
use serde::Deserialize;
use uuid::Uuid;

use super::{FlashQuery, PageError, Shell, back, fail, parse_id, render, ticked, unit_names};
use crate::AppState;
use crate::api::{decode_cursor, encode_cursor};
use crate::auth::{ApiForm, ApiPath, ApiQuery, ConsoleAuth, urlencode};
use crate::error::status_of;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/users", get(list))
        .route("/console/users/new", get(new_page).post(create))
        .route("/console/users/{id}", get(user_page))
        .route("/console/users/{id}/reset-password", post(reset_password))
        .route("/console/users/{id}/disable", post(disable))
        .route("/console/users/{id}/enable", post(enable))
        .route("/console/users/{id}/unlock", post(unlock))
        .route("/console/users/{id}/logout", post(force_logout))
        .route("/console/users/{id}/reset-totp", post(reset_totp))
        .route("/console/users/{id}/roles", post(grant))
        .route("/console/users/{id}/roles/{aid}/revoke", post(revoke))
}

const ACTIVE: &str = "/console/users";
const PAGE: i64 = 50;

/// One account in a table.
pub(super) struct UserRow {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub unit_id: Uuid,
    pub unit_name: String,
    pub disabled: bool,
    pub locked: bool,
    pub must_change: bool,
    pub totp: bool,
    pub service: bool,
    pub created: String,
}

fn row(u: User, unit_name: String, now: linli_domain::Ts) -> UserRow {
    UserRow {
        id: u.id,
        locked: u.locked_until.is_some_and(|t| t > now),
        totp: u.totp_secret.is_some(),
        service: u.kind == "service",
        created: u.created_at.display_cst(),
        username: u.username,
        display_name: u.display_name,
        unit_id: u.unit_id,
        unit_name,
        disabled: u.disabled,
        must_change: u.must_change_password,
    }
}

/// Table rows with the units' names resolved.
pub(super) async fn user_rows(
    s: &AppState,
    p: &linli_app::Principal,
    users: Vec<User>,
) -> Vec<UserRow> {
    let names = unit_names(s, p, users.iter().map(|u| u.unit_id)).await;
    let now = s.app.now();
    users
        .into_iter()
        .map(|u| {
            let n = names.get(&u.unit_id).cloned().unwrap_or_else(|| "—".into());
            row(u, n, now)
        })
        .collect()
}

/// Roles a form offers: all of them to holders of `role.grant_any`, otherwise only those
/// within the caller's own permissions (the use case refuses the others anyway).
pub(super) struct RoleOpt {
    pub key: String,
    pub name: String,
    pub scope: &'static str,
}

fn grantable(p: &Principal, roles: Vec<Role>) -> Vec<RoleOpt> {
    let mine = p.authz.permissions();
    let any = p.authz.has(Permission::RoleGrantAny);
    roles
        .into_iter()
        .filter(|r| any || r.permissions.iter().all(|x| mine.contains(x)))
        .map(|r| RoleOpt {
            key: r.key,
            name: r.name,
            scope: r.default_scope.as_str(),
        })
        .collect()
}

fn can_grant(p: &Principal) -> bool {
    p.authz.has(Permission::RoleGrant) || p.authz.has(Permission::RoleGrantAny)
}

const SCOPES: [DataScope; 3] = [DataScope::Subtree, DataScope::Unit, DataScope::Own];

fn scope_opts() -> Vec<(&'static str, &'static str)> {
    SCOPES.iter().map(|s| (s.as_str(), s.label())).collect()
}

// ---------------------------------------------------------------------------------------------
// The list.

#[derive(Template)]
#[template(path = "users_list.html")]
struct ListPage {
    shell: Shell,
    q: String,
    under_id: String,
    under_name: String,
    users: Vec<UserRow>,
    next: Option<String>,
    paged: bool,
    first: String,
    can_create: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListParams {
    q: Option<String>,
    under: Option<String>,
    cursor: Option<String>,
    ok: Option<String>,
    err: Option<String>,
}

async fn list(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(q): ApiQuery<ListParams>,
) -> Result<Response, PageError> {
    let fail = fail(&s, &p, ACTIVE);
    p.require(Permission::UserRead).map_err(&fail)?;
    let text: String =
        q.q.as_deref()
            .unwrap_or("")
            .trim()
            .chars()
            .take(64)
            .collect();
    let under = match q.under.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
        Some(id) => Some(
            linli_app::org::get(&s.app, &p, parse_id(id, "单位").map_err(&fail)?)
                .await
                .map_err(&fail)?,
        ),
        None => None,
    };
    let after = q
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(decode_cursor)
        .transpose()
        .map_err(&fail)?;
    let paged = after.is_some();
    let lq = ListQuery {
        q: Some(text.clone()).filter(|t| !t.is_empty()),
        under: under.as_ref().map(|u| u.path.clone()),
        after_username: after,
        limit: PAGE + 1,
    };
    let mut rows = linli_app::users::list(&s.app, &p, &lq)
        .await
        .map_err(&fail)?;
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let mut base = format!("/console/users?q={}", urlencode(&text));
    if let Some(u) = &under {
        base.push_str(&format!("&under={}", u.id));
    }
    let next = if more {
        rows.last()
            .map(|u| format!("{base}&cursor={}", encode_cursor(&u.username)))
    } else {
        None
    };
    let users = user_rows(&s, &p, rows).await;
    let shell =
        Shell::new(&p, &s.app, "人员账号", ACTIVE).flash_from(q.ok.as_deref(), q.err.as_deref());
    Ok(render(&ListPage {
        shell,
        q: text,
        under_id: under.as_ref().map(|u| u.id.to_string()).unwrap_or_default(),
        under_name: under.map(|u| u.name).unwrap_or_default(),
        users,
        next,
        paged,
        first: base,
        can_create: p.authz.has(Permission::UserManage),
    }))
}

// ---------------------------------------------------------------------------------------------
// New account.

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NewUserForm {
    username: String,
    display_name: String,
    unit_id: String,
    unit_q: String,
    password: String,
    auto_password: Option<String>,
    kind: String,
    must_change: Option<String>,
    role: String,
    scope: String,
}

#[derive(Template)]
#[template(path = "users_new.html")]
struct NewPage {
    shell: Shell,
    f: NewUserForm,
    auto: bool,
    must_change: bool,
    roles: Vec<RoleOpt>,
    scopes: Vec<(&'static str, &'static str)>,
    show_roles: bool,
    policy: String,
}

fn policy_text(s: &AppState) -> String {
    let pol = &s.app.cfg.password;
    format!(
        "至少 {} 个字符，包含小写字母、大写字母、数字、符号中的至少 {} 类，且不能包含用户名",
        pol.min_length, pol.min_classes
    )
}

async fn new_form(
    s: &AppState,
    p: &Principal,
    f: NewUserForm,
    auto: bool,
    must_change: bool,
    shell: Shell,
) -> Result<NewPage, AppError> {
    p.require(Permission::UserManage)?;
    let show_roles = can_grant(p);
    let roles = if show_roles {
        grantable(p, linli_app::users::roles(&s.app, p).await?)
    } else {
        vec![]
    };
    Ok(NewPage {
        shell,
        f,
        auto,
        must_change,
        roles,
        scopes: scope_opts(),
        show_roles,
        policy: policy_text(s),
    })
}

fn new_shell(s: &AppState, p: &Principal) -> Shell {
    Shell::new(p, &s.app, "新建账号", ACTIVE).crumbs(vec![(ACTIVE.into(), "人员账号".into())])
}

async fn new_page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
) -> Result<Response, PageError> {
    let f = NewUserForm {
        kind: "staff".into(),
        ..Default::default()
    };
    let page = new_form(&s, &p, f, true, true, new_shell(&s, &p))
        .await
        .map_err(fail(&s, &p, ACTIVE))?;
    Ok(render(&page))
}

async fn create(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiForm(mut f): ApiForm<NewUserForm>,
) -> Result<Response, PageError> {
    let auto = ticked(&f.auto_password);
    let must_change = ticked(&f.must_change);
    let attempt = async {
        let unit_id = parse_id(&f.unit_id, "所属单位")?;
        let role = f.role.trim().to_string();
        let scope = if role.is_empty() {
            None
        } else {
            Some(
                DataScope::parse(&f.scope)
                    .ok_or_else(|| AppError::invalid("invalid_scope", "请选择数据范围"))?,
            )
        };
        let password = if auto {
            linli_app::bootstrap::generate_password()
        } else {
            f.password.clone()
        };
        let kind = if f.kind == "service" {
            "service"
        } else {
            "staff"
        };
        let u = linli_app::users::create(
            &s.app,
            &p,
            linli_app::users::NewUser {
                username: f.username.clone(),
                display_name: f.display_name.clone(),
                unit_id,
                password: password.clone(),
                kind: kind.into(),
                must_change_password: must_change,
            },
        )
        .await?;
        let granted = match scope {
            Some(scope) => {
                Some(linli_app::users::grant_role(&s.app, &p, u.id, &role, unit_id, scope).await)
            }
            None => None,
        };
        Ok::<_, AppError>((u, auto.then_some(password), granted))
    }
    .await;
    match attempt {
        Ok((u, secret, granted)) => {
            let (kind, text) = match granted {
                Some(Err(e)) => (
                    "warning",
                    format!(
                        "已创建账号 {}，但授予角色未成功：{}",
                        u.username,
                        e.message()
                    ),
                ),
                Some(Ok(_)) => ("success", format!("已创建账号 {} 并授予角色", u.username)),
                None => ("success", format!("已创建账号 {}", u.username)),
            };
            let shell = Shell::new(&p, &s.app, "", ACTIVE).flash(kind, text);
            show_user(&s, &p, u.id, shell, secret.map(|pw| ("初始密码", pw))).await
        }
        Err(e) => {
            f.password.clear();
            let status = status_of(&e);
            let shell = new_shell(&s, &p).flash("danger", e.message());
            let page = new_form(&s, &p, f, auto, must_change, shell)
                .await
                .map_err(fail(&s, &p, ACTIVE))?;
            Ok((status, render(&page)).into_response())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One account.

struct UserView {
    id: Uuid,
    username: String,
    display_name: String,
    kind_label: &'static str,
    unit_id: Uuid,
    unit_name: String,
    disabled: bool,
    locked: bool,
    locked_until: String,
    must_change: bool,
    totp: bool,
    service: bool,
    failed_count: i64,
    created: String,
    updated: String,
}

struct AssignView {
    id: Uuid,
    role_name: String,
    role_key: String,
    unit_id: Uuid,
    unit_name: String,
    scope: &'static str,
    granted: String,
}

#[derive(Template)]
#[template(path = "users_show.html")]
struct UserPage {
    shell: Shell,
    u: UserView,
    assignments: Vec<AssignView>,
    roles: Vec<RoleOpt>,
    scopes: Vec<(&'static str, &'static str)>,
    can_manage: bool,
    can_security: bool,
    can_grant: bool,
    is_self: bool,
    /// A password just generated, shown once: ("初始密码" or "新密码", the password).
    secret: Option<(&'static str, String)>,
}

/// Render an account's page with `shell` (its flash) and, after a reset, the new password.
async fn show_user(
    s: &AppState,
    p: &Principal,
    id: Uuid,
    shell: Shell,
    secret: Option<(&'static str, String)>,
) -> Result<Response, PageError> {
    let fail = fail(s, p, ACTIVE);
    let u = linli_app::users::get(&s.app, p, id).await.map_err(&fail)?;
    let assignments = linli_app::users::assignments(&s.app, p, id)
        .await
        .map_err(&fail)?;
    let grant = can_grant(p) && u.id != p.user_id;
    let roles = if grant {
        grantable(p, linli_app::users::roles(&s.app, p).await.map_err(&fail)?)
    } else {
        vec![]
    };
    let unit_name = unit_names(s, p, [u.unit_id])
        .await
        .remove(&u.unit_id)
        .unwrap_or_else(|| "—".into());
    let t = Target {
        unit_id: u.unit_id,
        unit_path: &u.unit_path,
        owner: Some(u.id),
    };
    let can_manage = p.authz.allows(Permission::UserManage, t);
    let can_security = p.authz.allows(Permission::SecurityManage, t);
    let now = s.app.now();
    let locked = u.locked_until.is_some_and(|x| x > now);
    let view = UserView {
        id: u.id,
        kind_label: if u.kind == "service" {
            "集成账号（用于接口令牌）"
        } else {
            "工作人员"
        },
        unit_id: u.unit_id,
        unit_name,
        disabled: u.disabled,
        locked,
        locked_until: u
            .locked_until
            .filter(|_| locked)
            .map(|x| x.display_cst())
            .unwrap_or_default(),
        must_change: u.must_change_password,
        totp: u.totp_secret.is_some(),
        service: u.kind == "service",
        failed_count: u.failed_count,
        created: u.created_at.display_cst(),
        updated: u.updated_at.display_cst(),
        username: u.username,
        display_name: u.display_name,
    };
    let assignments = assignments
        .into_iter()
        .map(|a| AssignView {
            id: a.id,
            role_name: a.role_name,
            role_key: a.role_key,
            unit_id: a.unit_id,
            unit_name: a.unit_name,
            scope: a.scope.label(),
            granted: a.granted_at.display_cst(),
        })
        .collect();
    let mut shell = shell.crumbs(vec![(ACTIVE.into(), "人员账号".into())]);
    shell.title = format!("{}（{}）", view.display_name, view.username);
    Ok(render(&UserPage {
        shell,
        u: view,
        assignments,
        roles,
        scopes: scope_opts(),
        can_manage,
        can_security,
        can_grant: grant,
        is_self: id == p.user_id,
        secret,
    }))
}

async fn user_page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(fq): ApiQuery<FlashQuery>,
) -> Result<Response, PageError> {
    let shell = Shell::new(&p, &s.app, "", ACTIVE).flash_from(fq.ok.as_deref(), fq.err.as_deref());
    show_user(&s, &p, id, shell, None).await
}

fn here(id: Uuid) -> String {
    format!("/console/users/{id}")
}

/// Reset to a generated password, shown once on the page this POST renders.
async fn reset_password(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, PageError> {
    let pw = linli_app::bootstrap::generate_password();
    match linli_app::users::reset_password(&s.app, &p, id, &pw).await {
        Ok(()) => {
            let shell = Shell::new(&p, &s.app, "", ACTIVE).flash(
                "success",
                "已重置密码，该账号的所有登录已结束；下次登录须修改密码",
            );
            show_user(&s, &p, id, shell, Some(("新密码", pw))).await
        }
        Err(e) => Ok(back(&here(id), Err(e))),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ReasonForm {
    reason: String,
}

async fn disable(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiForm(f): ApiForm<ReasonForm>,
) -> Response {
    let reason: String = f.reason.trim().chars().take(200).collect();
    let r = linli_app::users::set_disabled(&s.app, &p, id, true, &reason)
        .await
        .map(|()| "已停用该账号，其登录已全部结束".to_string());
    back(&here(id), r)
}

async fn enable(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiForm(f): ApiForm<ReasonForm>,
) -> Response {
    let reason: String = f.reason.trim().chars().take(200).collect();
    let r = linli_app::users::set_disabled(&s.app, &p, id, false, &reason)
        .await
        .map(|()| "已启用该账号".to_string());
    back(&here(id), r)
}

async fn unlock(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Response {
    let r = linli_app::users::unlock(&s.app, &p, id)
        .await
        .map(|()| "已解除锁定".to_string());
    back(&here(id), r)
}

async fn force_logout(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Response {
    let r = linli_app::users::force_logout(&s.app, &p, id)
        .await
        .map(|n| format!("已强制下线，结束了 {n} 个登录会话"));
    back(&here(id), r)
}

async fn reset_totp(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Response {
    let r = linli_app::users::reset_totp(&s.app, &p, id)
        .await
        .map(|()| "已重置动态验证码，该账号下次登录时须重新绑定".to_string());
    back(&here(id), r)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct GrantForm {
    role: String,
    unit_id: String,
    scope: String,
}

async fn grant(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
    ApiForm(f): ApiForm<GrantForm>,
) -> Response {
    let r = async {
        if f.role.trim().is_empty() {
            return Err(AppError::invalid("missing_role", "请选择角色"));
        }
        let unit_id = parse_id(&f.unit_id, "授权单位")?;
        let scope = DataScope::parse(&f.scope)
            .ok_or_else(|| AppError::invalid("invalid_scope", "请选择数据范围"))?;
        linli_app::users::grant_role(&s.app, &p, id, f.role.trim(), unit_id, scope).await?;
        Ok("已授予角色".to_string())
    }
    .await;
    back(&format!("{}#roles", here(id)), r)
}

async fn revoke(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath((id, aid)): ApiPath<(Uuid, Uuid)>,
) -> Response {
    let r = linli_app::users::revoke_role(&s.app, &p, aid)
        .await
        .map(|()| "已撤销授权".to_string());
    back(&format!("{}#roles", here(id)), r)
}
