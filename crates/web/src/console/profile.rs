//! 个人中心: one's own account, password change, authenticator (TOTP) enrolment, and the list of
//! one's log-in sessions with the means to end them.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use linli_app::AppError;
use serde::Deserialize;
use uuid::Uuid;

use super::login::qr_svg;
use super::{PageError, Shell, back, render, unit_names};
use crate::AppState;
use crate::auth::{ApiForm, ApiPath, ApiQuery, ConsoleAuth, SESSION_COOKIE, clear_cookie};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/profile", get(page))
        .route("/console/profile/password", post(change_password))
        .route("/console/profile/totp/begin", post(totp_begin))
        .route("/console/profile/totp/confirm", post(totp_confirm))
        .route("/console/profile/sessions/{id}/end", post(end_session))
        .route("/console/profile/logout-all", post(logout_all))
}

const HERE: &str = "/console/profile";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ProfileQuery {
    ok: Option<String>,
    err: Option<String>,
}

struct SessionView {
    id: Uuid,
    created: String,
    last_seen: String,
    ip: String,
    device: String,
    user_agent: String,
    current: bool,
    pending: bool,
}

/// Pending authenticator enrolment: the QR code (SVG) and the secret in base32.
struct Enrol {
    qr: String,
    secret: String,
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    shell: Shell,
    must_change: bool,
    username: String,
    display_name: String,
    unit_name: String,
    roles: Vec<(String, String, &'static str)>,
    totp_enabled: bool,
    enrol: Option<Enrol>,
    sessions: Vec<SessionView>,
    policy: String,
}

/// "Chrome · Windows" from a User-Agent header; the raw text stays in a tooltip.
fn device_of(ua: &str) -> String {
    let browser = [
        ("MicroMessenger", "微信"),
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .iter()
    .find(|(k, _)| ua.contains(k))
    .map(|(_, v)| *v);
    let os = [
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Mac OS X", "macOS"),
        ("HarmonyOS", "鸿蒙"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(k, _)| ua.contains(k))
    .map(|(_, v)| *v);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} · {o}"),
        (Some(b), None) => b.to_string(),
        (None, Some(o)) => o.to_string(),
        (None, None) if ua.is_empty() => "未知设备".into(),
        (None, None) => ua.chars().take(32).collect(),
    }
}

async fn page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(q): ApiQuery<ProfileQuery>,
) -> Result<Response, PageError> {
    let fail = super::fail(&s, &p, HERE);
    let sessions = linli_app::auth::my_sessions(&s.app, &p)
        .await
        .map_err(&fail)?;
    let sessions = sessions
        .into_iter()
        .map(|x| SessionView {
            id: x.id,
            created: x.created_at.display_cst(),
            last_seen: x.last_seen_at.display_cst(),
            device: device_of(&x.user_agent),
            current: Some(x.id) == p.session_id,
            pending: x.stage != linli_app::auth::STAGE_ACTIVE,
            ip: x.ip,
            user_agent: x.user_agent,
        })
        .collect();
    let enrol = if p.totp_enabled {
        None
    } else {
        linli_app::auth::pending_enrolment_secret(&s.app, &p)
            .await
            .ok()
            .flatten()
            .map(|secret| Enrol {
                qr: qr_svg(&linli_domain::totp::otpauth_uri(
                    &s.app.cfg.totp_issuer,
                    &p.username,
                    &secret,
                )),
                secret: linli_domain::totp::secret_base32(&secret),
            })
    };
    let roles = linli_app::users::my_assignments(&s.app, &p)
        .await
        .map_err(&fail)?
        .into_iter()
        .map(|a| (a.role_name, a.unit_name, a.scope.label()))
        .collect();
    let unit_name = unit_names(&s, &p, [p.unit_id])
        .await
        .remove(&p.unit_id)
        .unwrap_or_default();
    let pol = &s.app.cfg.password;
    let policy = format!(
        "至少 {} 个字符；包含小写字母、大写字母、数字、符号中的至少 {} 类；不能包含用户名",
        pol.min_length, pol.min_classes
    );
    let shell =
        Shell::new(&p, &s.app, "个人中心", HERE).flash_from(q.ok.as_deref(), q.err.as_deref());
    Ok(render(&ProfilePage {
        shell,
        must_change: p.must_change_password,
        username: p.username.clone(),
        display_name: p.display_name.clone(),
        unit_name,
        roles,
        totp_enabled: p.totp_enabled,
        enrol,
        sessions,
        policy,
    }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PasswordForm {
    current: String,
    new: String,
    confirm: String,
}

async fn change_password(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiForm(f): ApiForm<PasswordForm>,
) -> Response {
    if f.new != f.confirm {
        return back(
            &format!("{HERE}#password"),
            Err(AppError::invalid(
                "password_mismatch",
                "两次输入的新密码不一致",
            )),
        );
    }
    let r = linli_app::auth::change_password(&s.app, &p, &f.current, &f.new)
        .await
        .map(|()| "密码已修改，您在其他设备上的登录已结束".to_string());
    back(&format!("{HERE}#password"), r)
}

async fn totp_begin(State(s): State<AppState>, ConsoleAuth(p): ConsoleAuth) -> Response {
    let r = if p.totp_enabled {
        Err(AppError::invalid(
            "totp_enrolled",
            "已绑定身份验证器；如需更换，请联系安全管理员重置",
        ))
    } else {
        linli_app::auth::begin_totp_enrolment(&s.app, &p)
            .await
            .map(|_| "请用身份验证器扫描二维码，然后输入显示的 6 位数字".to_string())
    };
    back(&format!("{HERE}#totp"), r)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CodeForm {
    code: String,
}

async fn totp_confirm(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiForm(f): ApiForm<CodeForm>,
) -> Response {
    let r = linli_app::auth::confirm_totp_enrolment(&s.app, &p, f.code.trim())
        .await
        .map(|()| "已绑定身份验证器，今后登录时需输入动态验证码".to_string());
    back(&format!("{HERE}#totp"), r)
}

async fn end_session(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
) -> Response {
    if Some(id) == p.session_id {
        return back(
            &format!("{HERE}#sessions"),
            Err(AppError::invalid(
                "current_session",
                "这是当前登录；要退出请点右上角“退出”",
            )),
        );
    }
    let r = linli_app::auth::end_my_session(&s.app, &p, id)
        .await
        .map(|()| "已结束该登录".to_string());
    back(&format!("{HERE}#sessions"), r)
}

async fn logout_all(State(s): State<AppState>, ConsoleAuth(p): ConsoleAuth) -> Response {
    match linli_app::auth::logout_everywhere(&s.app, &p).await {
        Ok(_) => (
            [(header::SET_COOKIE, clear_cookie(SESSION_COOKIE))],
            Redirect::to("/login"),
        )
            .into_response(),
        Err(e) => back(&format!("{HERE}#sessions"), Err(e)),
    }
}
