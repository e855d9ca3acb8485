//! 角色权限 and 接口令牌 pages: the roles with their permissions and second-factor requirement
//! (toggled by the security administrator), and API tokens (list, issue, revoke). A new token's
//! secret is shown once on the page the POST renders.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use linli_app::{AppError, Principal};
use linli_domain::auth::{BUILTIN_ROLES, Permission};
use linli_domain::registry::ResidentField;
use serde::Deserialize;
use uuid::Uuid;

use super::{FlashQuery, PageError, Shell, back, fail, parse_id, render};
use crate::AppState;
use crate::auth::{ApiForm, ApiPath, ApiQuery, ConsoleAuth};
use crate::error::status_of;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/roles", get(roles_page))
        .route("/console/roles/{key}/totp", post(role_totp))
        .route("/console/tokens", get(tokens_page).post(create_token))
        .route("/console/tokens/{id}/revoke", post(revoke_token))
}

// ---------------------------------------------------------------------------------------------
// Roles.

struct RoleView {
    key: String,
    name: String,
    description: String,
    builtin: bool,
    require_totp: bool,
    default_scope: &'static str,
    permissions: Vec<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "roles.html")]
struct RolesPage {
    shell: Shell,
    roles: Vec<RoleView>,
    can_manage: bool,
}

async fn roles_page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(fq): ApiQuery<FlashQuery>,
) -> Result<Response, PageError> {
    let mut roles =
        linli_app::users::roles(&s.app, &p)
            .await
            .map_err(fail(&s, &p, "/console/roles"))?;
    // Built-in roles in their own order (三员 first), then the others by key.
    let rank = |key: &str| {
        BUILTIN_ROLES
            .iter()
            .position(|b| b.key == key)
            .unwrap_or(BUILTIN_ROLES.len())
    };
    roles.sort_by(|a, b| {
        rank(&a.key)
            .cmp(&rank(&b.key))
            .then_with(|| a.key.cmp(&b.key))
    });
    let roles = roles
        .into_iter()
        .map(|r| RoleView {
            permissions: r.permissions.iter().map(|x| (x.key(), x.label())).collect(),
            default_scope: r.default_scope.label(),
            key: r.key,
            name: r.name,
            description: r.description,
            builtin: r.builtin,
            require_totp: r.require_totp,
        })
        .collect();
    let shell = Shell::new(&p, &s.app, "角色权限", "/console/roles")
        .flash_from(fq.ok.as_deref(), fq.err.as_deref());
    Ok(render(&RolesPage {
        shell,
        roles,
        can_manage: p.authz.has(Permission::RoleManage),
    }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TotpForm {
    require: String,
}

async fn role_totp(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(key): ApiPath<String>,
    ApiForm(f): ApiForm<TotpForm>,
) -> Response {
    let require = f.require == "1";
    let r = linli_app::users::set_role_totp(&s.app, &p, &key, require)
        .await
        .map(|()| {
            if require {
                "已要求该角色使用动态验证码登录".to_string()
            } else {
                "已取消该角色的动态验证码要求".to_string()
            }
        });
    back("/console/roles", r)
}

// ---------------------------------------------------------------------------------------------
// API tokens.

struct TokenView {
    id: Uuid,
    name: String,
    prefix: String,
    user_id: Uuid,
    username: String,
    unit_id: Uuid,
    unit_name: String,
    created: String,
    last_used: String,
    expires: String,
    /// (label, badge class)
    state: (&'static str, &'static str),
    active: bool,
    /// The resident fields it reads.
    fields: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TokenForm {
    name: String,
    username: String,
    unit_id: String,
    unit_q: String,
    expires_days: String,
    /// "on": a department's grant, limited to the fields ticked below.
    limit_fields: String,
    field_id_number: String,
    field_phone: String,
    field_tags: String,
    field_sensitive_tags: String,
    field_household: String,
}

impl TokenForm {
    /// The field's box is ticked (the form names them `field_<key>`).
    fn ticked(&self, f: ResidentField) -> bool {
        let v = match f {
            ResidentField::IdNumber => &self.field_id_number,
            ResidentField::Phone => &self.field_phone,
            ResidentField::Tags => &self.field_tags,
            ResidentField::SensitiveTags => &self.field_sensitive_tags,
            ResidentField::Household => &self.field_household,
        };
        v == "on"
    }

    /// The ticked resident fields, when the grant is limited.
    fn registry_fields(&self) -> Option<Vec<String>> {
        (self.limit_fields == "on").then(|| {
            ResidentField::ALL
                .iter()
                .filter(|f| self.ticked(**f))
                .map(|f| f.key().to_string())
                .collect()
        })
    }

    /// (key, label, ticked) of each grantable field, for the form.
    fn field_boxes(&self) -> Vec<(&'static str, &'static str, bool)> {
        ResidentField::ALL
            .iter()
            .map(|f| (f.key(), f.label(), self.ticked(*f)))
            .collect()
    }
}

/// A token just issued: its name and the secret, shown once.
struct Issued {
    name: String,
    secret: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    shell: Shell,
    tokens: Vec<TokenView>,
    accounts: Vec<(String, String)>,
    f: TokenForm,
    field_boxes: Vec<(&'static str, &'static str, bool)>,
    issued: Option<Issued>,
}

fn tokens_shell(s: &AppState, p: &Principal) -> Shell {
    Shell::new(p, &s.app, "接口令牌", "/console/tokens")
}

async fn tokens_view(
    s: &AppState,
    p: &Principal,
    shell: Shell,
    f: TokenForm,
    issued: Option<Issued>,
) -> Result<TokensPage, AppError> {
    let now = s.app.now();
    let tokens = linli_app::tokens::list(&s.app, p)
        .await?
        .into_iter()
        .map(|t| {
            let state = if t.revoked_at.is_some() {
                ("已吊销", "bg-secondary-lt")
            } else if t.expires_at.is_some_and(|x| x <= now) {
                ("已过期", "bg-orange-lt")
            } else {
                ("有效", "bg-green-lt")
            };
            TokenView {
                id: t.id,
                name: t.name,
                prefix: t.prefix,
                user_id: t.user_id,
                username: t.username,
                unit_id: t.unit_id,
                unit_name: t.unit_name,
                created: t.created_at.display_cst(),
                last_used: t
                    .last_used_at
                    .map(|x| x.display_cst())
                    .unwrap_or_else(|| "从未使用".into()),
                expires: t
                    .expires_at
                    .map(|x| x.display_cst())
                    .unwrap_or_else(|| "长期有效".into()),
                active: state.0 == "有效",
                state,
                fields: match linli_app::tokens::granted(t.registry_fields.as_deref()) {
                    None => "账号角色的全部字段".into(),
                    Some(f) if f.is_empty() => "仅基本信息".into(),
                    Some(f) => format!(
                        "基本信息、{}",
                        f.iter().map(|x| x.label()).collect::<Vec<_>>().join("、")
                    ),
                },
            }
        })
        .collect();
    // Integration accounts in scope, offered as suggestions for the account field.
    let accounts = if p.authz.has(Permission::UserRead) {
        let lq = linli_store::repo::users::ListQuery {
            limit: 200,
            ..Default::default()
        };
        linli_app::users::list(&s.app, p, &lq)
            .await?
            .into_iter()
            .filter(|u| u.kind == "service" && !u.disabled)
            .map(|u| (u.username, u.display_name))
            .collect()
    } else {
        vec![]
    };
    Ok(TokensPage {
        shell,
        tokens,
        accounts,
        field_boxes: f.field_boxes(),
        f,
        issued,
    })
}

async fn tokens_page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(fq): ApiQuery<FlashQuery>,
) -> Result<Response, PageError> {
    let shell = tokens_shell(&s, &p).flash_from(fq.ok.as_deref(), fq.err.as_deref());
    let f = TokenForm {
        expires_days: "365".into(),
        ..Default::default()
    };
    let page =
        tokens_view(&s, &p, shell, f, None)
            .await
            .map_err(fail(&s, &p, "/console/tokens"))?;
    Ok(render(&page))
}

async fn create_token(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiForm(f): ApiForm<TokenForm>,
) -> Result<Response, PageError> {
    let attempt = async {
        p.require(Permission::TokenManage)?;
        let days = f.expires_days.trim();
        let expires = if days.is_empty() {
            None
        } else {
            let d: i64 = days
                .parse()
                .map_err(|_| AppError::invalid("invalid_expiry", "有效期须为 1–3650 天"))?;
            if !(1..=3650).contains(&d) {
                return Err(AppError::invalid("invalid_expiry", "有效期须为 1–3650 天"));
            }
            Some(s.app.now().plus_secs(d * 86400))
        };
        let username = f.username.trim().to_lowercase();
        if username.is_empty() {
            return Err(AppError::invalid("missing_account", "请填写令牌代表的账号"));
        }
        let unit_id = parse_id(&f.unit_id, "令牌可访问的单位")?;
        // Scope is checked by the use case: an account out of reach is "not found" either way.
        let user = linli_store::repo::users::by_username(&s.app.db, &username)
            .await?
            .ok_or(AppError::NotFound("账号"))?;
        let t = linli_app::tokens::NewToken {
            name: &f.name,
            user_id: user.id,
            unit_id,
            expires_at: expires,
            registry_fields: f.registry_fields(),
        };
        linli_app::tokens::create(&s.app, &p, t).await
    }
    .await;
    match attempt {
        Ok((t, secret)) => {
            let shell = tokens_shell(&s, &p).flash("success", format!("已签发令牌“{}”", t.name));
            let fresh = TokenForm {
                expires_days: "365".into(),
                ..Default::default()
            };
            let page = tokens_view(
                &s,
                &p,
                shell,
                fresh,
                Some(Issued {
                    name: t.name,
                    secret,
                }),
            )
            .await
            .map_err(fail(&s, &p, "/console/tokens"))?;
            Ok(render(&page))
        }
        Err(e) => {
            let status = status_of(&e);
            let shell = tokens_shell(&s, &p).flash("danger", e.message());
            let page = tokens_view(&s, &p, shell, f, None).await.map_err(fail(
                &s,
                &p,
                "/console/tokens",
            ))?;
            Ok((status, render(&page)).into_response())
        }
    }
}

async fn revoke_token(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Response {
    let r = linli_app::tokens::revoke(&s.app, &p, id)
        .await
        .map(|()| "已吊销令牌，使用它的系统将无法再访问".to_string());
    back("/console/tokens", r)
}
