//! The resident portal (`/`): phone-sized server-rendered pages in plain Chinese with large
//! type. Sign in with a phone number and an SMS code, report a problem in three steps, follow
//! "我的诉求", rate and reopen, read the community's notices and see nearby public cases.
//!
//! The portal has its own session cookie ([`SESSION`]) and never looks at a staff session: the
//! staff middleware skips its paths ([`is_portal_path`]). Every form carries a double-submit
//! token: a random `linli_pcsrf` cookie (HttpOnly, SameSite=Lax) echoed in the form's `csrf`
//! field, checked on every POST ([`check_csrf`]). Rules and scoping live in
//! [`linli_app::portal`]; handlers parse, call, render.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use linli_app::AppError;
use linli_app::portal::{self, MyCase, MyCaseDetail, Photo, Report, Resident};
use linli_domain::Ts;
use linli_domain::case::{Light, RequestType, Satisfaction};
use linli_domain::clock::CST;
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{ReqCtx, clear_cookie, cookie, same, set_cookie, urlencode};
use crate::console::render;

pub const SESSION: &str = "linli_resident";
pub const CSRF_COOKIE: &str = "linli_pcsrf";
/// Largest report upload (nine photos resized on the phone, with room to spare).
pub const UPLOAD_LIMIT: usize = 40 * 1024 * 1024;

/// Paths the portal serves (the staff middleware leaves them alone).
pub fn is_portal_path(path: &str) -> bool {
    const ROOTS: &[&str] = &[
        "/signin", "/signout", "/report", "/my", "/notices", "/nearby", "/c",
    ];
    path == "/"
        || ROOTS.iter().any(|r| {
            path.strip_prefix(r)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/signin", get(signin_page).post(signin))
        .route("/signin/code", post(send_code))
        .route("/signout", post(signout))
        .route(
            "/report",
            get(report_page)
                .post(report)
                .layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/report/suggest", get(suggest))
        .route("/my", get(my_list))
        .route("/my/{number}", get(my_case))
        .route("/my/{number}/rate", post(rate))
        .route("/my/{number}/reopen", post(reopen))
        .route("/my/{number}/photos/{id}", get(my_photo))
        .route("/notices", get(notices))
        .route("/notices/{id}", get(notice))
        .route("/nearby", get(nearby))
        .route("/c", get(lookup))
        .route("/c/{number}", get(public_case))
}

// ---------------------------------------------------------------------------------------------
// Frame, session and CSRF.

/// What every portal page knows.
pub struct Frame {
    pub title: String,
    pub csrf: String,
    pub signed_in: bool,
    pub phone: String,
    pub platform: String,
    /// (kind, text): `ok` or `err`.
    pub flash: Option<(&'static str, String)>,
}

/// The resident (if signed in) and the CSRF token of the request; `set` is the cookie to set
/// when the browser had no token yet.
struct Visitor {
    resident: Option<Resident>,
    csrf: String,
    set: Option<String>,
    platform: String,
}

impl Visitor {
    fn frame(&self, title: impl Into<String>) -> Frame {
        Frame {
            title: title.into(),
            csrf: self.csrf.clone(),
            signed_in: self.resident.is_some(),
            phone: self
                .resident
                .as_ref()
                .map(|r| r.phone_masked.clone())
                .unwrap_or_default(),
            platform: self.platform.clone(),
            flash: None,
        }
    }

    /// A rendered page with the CSRF cookie when it is new.
    fn page<T: Template>(&self, t: &T) -> Response {
        self.with_cookie(render(t))
    }

    fn with_cookie(&self, mut r: Response) -> Response {
        if let Some(c) = &self.set
            && let Ok(v) = HeaderValue::from_str(c)
        {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    }
}

async fn visitor(s: &AppState, headers: &HeaderMap) -> Visitor {
    let resident = match cookie(headers, SESSION) {
        Some(t) => match portal::resident(&s.app, t).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "portal session lookup failed");
                None
            }
        },
        None => None,
    };
    let (csrf, set) = match cookie(headers, CSRF_COOKIE).filter(|c| c.len() >= 20 && c.len() <= 64)
    {
        Some(c) => (c.to_string(), None),
        None => {
            let t = linli_app::auth::random_token();
            let c = set_cookie(CSRF_COOKIE, &t, s.web.cookie_secure, None);
            (t, Some(c))
        }
    };
    Visitor {
        resident,
        csrf,
        set,
        platform: s.app.cfg.platform_name.clone(),
    }
}

/// A POST must echo the browser's CSRF cookie in its `csrf` field: the refusal page if not.
fn check_csrf(v: &Visitor, given: &str) -> Option<Response> {
    if v.set.is_none() && !given.is_empty() && same(given, &v.csrf) {
        None
    } else {
        Some(message(
            v,
            StatusCode::FORBIDDEN,
            "页面已过期",
            "安全校验未通过，请返回上一页刷新后重试。",
        ))
    }
}

#[derive(Template)]
#[template(path = "portal/message.html")]
struct MessagePage {
    f: Frame,
    heading: String,
    detail: String,
}

fn message(v: &Visitor, status: StatusCode, heading: &str, detail: &str) -> Response {
    let mut r = v.page(&MessagePage {
        f: v.frame(heading),
        heading: heading.into(),
        detail: detail.into(),
    });
    *r.status_mut() = status;
    r
}

fn error_page(v: &Visitor, e: &AppError) -> Response {
    let status = crate::error::status_of(e);
    let heading = match status {
        StatusCode::NOT_FOUND => "没有找到",
        StatusCode::TOO_MANY_REQUESTS => "操作太频繁",
        s if s.is_server_error() => "暂时无法办理",
        _ => "没有办成",
    };
    if status.is_server_error() {
        tracing::error!(error = %e, "portal request failed");
    }
    message(v, status, heading, &e.message())
}

fn to_signin(next: &str) -> Response {
    Redirect::to(&format!("/signin?next={}", urlencode(next))).into_response()
}

fn day_time(t: Ts) -> String {
    let d = t.to_datetime().to_offset(CST);
    format!(
        "{}月{}日 {:02}:{:02}",
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute()
    )
}

fn full_date(t: Ts) -> String {
    let d = t.to_datetime().to_offset(CST);
    format!("{}年{}月{}日", d.year(), u8::from(d.month()), d.day())
}

// ---------------------------------------------------------------------------------------------
// Home and sign-in.

#[derive(Template)]
#[template(path = "portal/home.html")]
struct HomePage {
    f: Frame,
    open: usize,
    to_rate: usize,
}

async fn home(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let v = visitor(&s, &headers).await;
    let (mut open, mut to_rate) = (0, 0);
    if let Some(r) = &v.resident {
        match portal::my_cases(&s.app, r).await {
            Ok(list) => {
                to_rate = list
                    .iter()
                    .filter(|c| c.status() == "已办结，待评价")
                    .count();
                open = list
                    .iter()
                    .filter(|c| matches!(c.status(), "已受理" | "办理中" | "已答复，核实中"))
                    .count();
            }
            Err(e) => return error_page(&v, &e),
        }
    }
    v.page(&HomePage {
        f: v.frame("首页"),
        open,
        to_rate,
    })
}

#[derive(Template)]
#[template(path = "portal/signin.html")]
struct SigninPage {
    f: Frame,
    next: String,
    phone: String,
    sent: bool,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only portal paths may follow a sign-in.
fn safe_next(n: Option<&str>) -> String {
    match n {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && is_portal_path(n.split('?').next().unwrap_or("")) =>
        {
            n.to_string()
        }
        _ => "/my".to_string(),
    }
}

async fn signin_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let v = visitor(&s, &headers).await;
    let next = safe_next(q.next.as_deref());
    if v.resident.is_some() {
        return Redirect::to(&next).into_response();
    }
    v.page(&SigninPage {
        f: v.frame("登录"),
        next,
        phone: String::new(),
        sent: false,
    })
}

/// The sign-in forms: the phone (asking for a code), then the phone and the code.
#[derive(Deserialize, Default)]
#[serde(default)]
struct SigninForm {
    csrf: String,
    phone: String,
    code: String,
    next: String,
}

async fn send_code(
    State(s): State<AppState>,
    headers: HeaderMap,
    ReqCtx(ctx): ReqCtx,
    axum::Form(f): axum::Form<SigninForm>,
) -> Response {
    let v = visitor(&s, &headers).await;
    if let Some(r) = check_csrf(&v, &f.csrf) {
        return r;
    }
    let next = safe_next(Some(&f.next));
    let mut frame = v.frame("登录");
    let (sent, status) = match portal::request_code(&s.app, &f.phone, &ctx).await {
        Ok(()) => {
            frame.flash = Some(("ok", "验证码已发送，请查看短信".into()));
            (true, StatusCode::OK)
        }
        // A code sent a moment ago is still good: keep the code field open.
        Err(AppError::RateLimited(m)) if m.contains("秒后") => {
            frame.flash = Some(("err", m));
            (true, StatusCode::OK)
        }
        Err(e) => {
            frame.flash = Some(("err", e.message()));
            (false, crate::error::status_of(&e))
        }
    };
    let mut r = v.page(&SigninPage {
        f: frame,
        next,
        phone: f.phone.chars().take(20).collect(),
        sent,
    });
    *r.status_mut() = status;
    r
}

async fn signin(
    State(s): State<AppState>,
    headers: HeaderMap,
    ReqCtx(ctx): ReqCtx,
    axum::Form(f): axum::Form<SigninForm>,
) -> Response {
    let v = visitor(&s, &headers).await;
    if let Some(r) = check_csrf(&v, &f.csrf) {
        return r;
    }
    let next = safe_next(Some(&f.next));
    match portal::verify_code(&s.app, &f.phone, &f.code, &ctx).await {
        Ok((token, _)) => {
            let mut r = Redirect::to(&next).into_response();
            let c = set_cookie(
                SESSION,
                &token,
                s.web.cookie_secure,
                Some(portal::SESSION_SECS),
            );
            if let Ok(h) = HeaderValue::from_str(&c) {
                r.headers_mut().append(header::SET_COOKIE, h);
            }
            r
        }
        Err(e) => {
            let mut frame = v.frame("登录");
            frame.flash = Some(("err", e.message()));
            let mut r = v.page(&SigninPage {
                f: frame,
                next,
                phone: f.phone.chars().take(20).collect(),
                sent: true,
            });
            *r.status_mut() = crate::error::status_of(&e);
            r
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn signout(
    State(s): State<AppState>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<CsrfForm>,
) -> Response {
    let v = visitor(&s, &headers).await;
    if let Some(r) = check_csrf(&v, &f.csrf) {
        return r;
    }
    if let Some(t) = cookie(&headers, SESSION)
        && let Err(e) = portal::sign_out(&s.app, t).await
    {
        return error_page(&v, &e);
    }
    let mut r = Redirect::to("/").into_response();
    if let Ok(h) = HeaderValue::from_str(&clear_cookie(SESSION)) {
        r.headers_mut().append(header::SET_COOKIE, h);
    }
    r
}

// ---------------------------------------------------------------------------------------------
// Reporting.

#[derive(Template)]
#[template(path = "portal/report.html")]
struct ReportPage {
    f: Frame,
    center: (f64, f64),
    tiles: String,
    max_photos: usize,
    types: Vec<(&'static str, &'static str)>,
}

async fn report_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let v = visitor(&s, &headers).await;
    v.page(&ReportPage {
        f: v.frame("我要反映"),
        center: s.web.map_center,
        tiles: s.web.map_tile_url.clone(),
        max_photos: portal::MAX_PHOTOS,
        types: [
            RequestType::Help,
            RequestType::Complaint,
            RequestType::Consult,
            RequestType::Suggestion,
            RequestType::Report,
        ]
        .iter()
        .map(|t| (t.key(), t.label()))
        .collect(),
    })
}

#[derive(Template)]
#[template(path = "portal/reported.html")]
struct ReportedPage {
    f: Frame,
    number: String,
    repeat: bool,
}

/// Read the multipart report form: fields and up to nine photos.
async fn read_report(req: Request, s: &AppState) -> Result<(String, Report), AppError> {
    let bad = |m: &str| AppError::invalid("invalid_form", m.to_string());
    let mut form = Multipart::from_request(req, s)
        .await
        .map_err(|_| bad("表单格式不正确，请刷新页面后重试"))?;
    let mut csrf = String::new();
    let mut r = Report::default();
    let num = |v: &str| -> Result<Option<f64>, AppError> {
        match v.trim() {
            "" => Ok(None),
            t => t
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(Some)
                .ok_or_else(|| AppError::invalid("invalid_location", "位置坐标不正确")),
        }
    };
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(AppError::invalid(
                    "too_large",
                    "照片总大小超出限制，请少选几张或换小一点的照片",
                ));
            }
            Err(_) => return Err(bad("上传中断，请重试")),
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "photos" {
            let filename = field.file_name().unwrap_or("photo").to_string();
            let bytes = field
                .bytes()
                .await
                .map_err(|_| bad("照片上传中断，请重试"))?;
            if bytes.is_empty() {
                continue;
            }
            if r.photos.len() >= portal::MAX_PHOTOS {
                return Err(AppError::invalid(
                    "too_many_photos",
                    format!("最多上传 {} 张照片", portal::MAX_PHOTOS),
                ));
            }
            r.photos.push(Photo {
                filename,
                bytes: bytes.to_vec(),
            });
            continue;
        }
        let text = field.text().await.map_err(|_| bad("表单内容不正确"))?;
        if text.len() > 64 * 1024 {
            return Err(AppError::invalid("too_long", "填写的内容过长"));
        }
        match name.as_str() {
            "csrf" => csrf = text,
            "text" => r.text = text,
            "request_type" => r.request_type = RequestType::parse(text.trim()),
            "category_id" => r.category_id = Uuid::parse_str(text.trim()).ok(),
            "lat" => r.lat = num(&text)?,
            "lng" => r.lng = num(&text)?,
            "datum" => r.datum = Some(text),
            "address" => r.address = text,
            "name" => r.name = text,
            "phone" => r.phone = text,
            "anonymous" => r.anonymous = matches!(text.as_str(), "1" | "on" | "true"),
            _ => {}
        }
    }
    Ok((csrf, r))
}

async fn report(State(s): State<AppState>, ReqCtx(ctx): ReqCtx, req: Request) -> Response {
    let v = visitor(&s, req.headers()).await;
    let (csrf, r) = match read_report(req, &s).await {
        Ok(x) => x,
        Err(e) => return error_page(&v, &e),
    };
    if let Some(resp) = check_csrf(&v, &csrf) {
        return resp;
    }
    match portal::report(&s.app, &s.web.open311, v.resident.as_ref(), ctx, r).await {
        Ok(filed) => v.page(&ReportedPage {
            f: v.frame("已提交"),
            number: filed.number,
            repeat: !filed.new,
        }),
        Err(e) => error_page(&v, &e),
    }
}

#[derive(Deserialize)]
struct SuggestQuery {
    #[serde(default)]
    text: String,
}

/// The form's category hints, as JSON: `[{"id","name","score"}]`.
async fn suggest(State(s): State<AppState>, Query(q): Query<SuggestQuery>) -> Response {
    let text: String = q.text.chars().take(2000).collect();
    if text.trim().chars().count() < 4 {
        return axum::Json(serde_json::json!([])).into_response();
    }
    match portal::suggest(&s.app, &s.web.open311, &text).await {
        Ok(items) => axum::Json(
            items
                .into_iter()
                .filter_map(|c| {
                    let e = c.item?;
                    Some(serde_json::json!({
                        "id": e.id,
                        "name": e.full_name.rsplit(linli_domain::catalogue::PATH_SEP).next().unwrap_or("").trim(),
                        "path": e.full_name,
                        "score": (c.score * 100.0).round() / 100.0,
                    }))
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "portal suggestion failed");
            axum::Json(serde_json::json!([])).into_response()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// "我的诉求".

/// One request in the list.
struct Row {
    number: String,
    title: String,
    status: &'static str,
    status_class: &'static str,
    received: String,
    late: bool,
}

fn status_class(m: &MyCase) -> &'static str {
    match m.status() {
        "已办结，待评价" => "todo",
        "已评价" | "已办结" => "done",
        _ => "open",
    }
}

#[derive(Template)]
#[template(path = "portal/my_list.html")]
struct MyListPage {
    f: Frame,
    rows: Vec<Row>,
}

async fn my_list(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let v = visitor(&s, &headers).await;
    let Some(r) = &v.resident else {
        return to_signin("/my");
    };
    match portal::my_cases(&s.app, r).await {
        Ok(list) => {
            let rows = list
                .iter()
                .map(|m| Row {
                    number: m.case.number.clone(),
                    title: m.case.title.clone(),
                    status: m.status(),
                    status_class: status_class(m),
                    received: day_time(m.case.received_at),
                    late: m.light == Light::Red,
                })
                .collect();
            v.page(&MyListPage {
                f: v.frame("我的诉求"),
                rows,
            })
        }
        Err(e) => error_page(&v, &e),
    }
}

struct StepView {
    at: String,
    text: String,
    message: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/my_case.html")]
struct MyCasePage {
    f: Frame,
    number: String,
    title: String,
    description: String,
    address: String,
    category: String,
    status: &'static str,
    status_class: &'static str,
    deadline: Option<String>,
    light: &'static str,
    steps: Vec<StepView>,
    /// The latest words meant for the requester (the reply), shown at the top.
    answer: Option<String>,
    photos: Vec<Uuid>,
    version: i64,
    can_rate: bool,
    can_reopen: bool,
}

fn light_text(d: &MyCaseDetail) -> &'static str {
    match d.my.light {
        Light::Green => "按期办理中",
        Light::Yellow => "即将到期",
        Light::Red => "已超期，已督促办理",
        Light::Stopped => "",
    }
}

async fn my_case(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(number): Path<String>,
    Query(q): Query<FlashQuery>,
) -> Response {
    let v = visitor(&s, &headers).await;
    let Some(r) = &v.resident else {
        return to_signin(&format!("/my/{number}"));
    };
    let d = match portal::my_case(&s.app, r, &number).await {
        Ok(d) => d,
        Err(e) => return error_page(&v, &e),
    };
    let c = &d.my.case;
    let mut f = v.frame(format!("诉求 {}", c.number));
    f.flash = match (q.ok, q.err) {
        (_, Some(e)) if !e.is_empty() => Some(("err", e.chars().take(200).collect())),
        (Some(o), _) if !o.is_empty() => Some(("ok", o.chars().take(200).collect())),
        _ => None,
    };
    let page = MyCasePage {
        f,
        number: c.number.clone(),
        title: c.title.clone(),
        description: c.description.clone(),
        address: c.address.clone(),
        category: c
            .category_name
            .rsplit(linli_domain::catalogue::PATH_SEP)
            .next()
            .unwrap_or("")
            .trim()
            .to_string(),
        status: d.my.status(),
        status_class: status_class(&d.my),
        deadline: match d.my.light {
            Light::Stopped => None,
            _ => c.life.due_at.map(full_date),
        },
        light: light_text(&d),
        steps: d
            .steps
            .iter()
            .rev()
            .map(|st| StepView {
                at: day_time(st.at),
                text: st.text.clone(),
                message: st.message.clone(),
            })
            .collect(),
        answer: d.steps.iter().rev().find_map(|st| st.message.clone()),
        photos: d.photos.clone(),
        version: c.version,
        can_rate: d.can_rate,
        can_reopen: d.can_reopen,
    };
    v.page(&page)
}

#[derive(Deserialize)]
struct FlashQuery {
    ok: Option<String>,
    err: Option<String>,
}

#[derive(Deserialize)]
struct RateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: i64,
    #[serde(default)]
    resolved: String,
    #[serde(default)]
    satisfaction: String,
    #[serde(default)]
    comment: String,
}

fn back_to(number: &str, outcome: Result<&str, String>) -> Response {
    let q = match outcome {
        Ok(m) => format!("ok={}", urlencode(m)),
        Err(m) => format!("err={}", urlencode(&m)),
    };
    Redirect::to(&format!("/my/{}?{q}", urlencode(number))).into_response()
}

/// A POST on one of the resident's requests: the page's token and a session are needed.
async fn step_visitor(
    s: &AppState,
    headers: &HeaderMap,
    csrf: &str,
    number: &str,
) -> Result<(Visitor, Resident), Response> {
    let v = visitor(s, headers).await;
    if let Some(r) = check_csrf(&v, csrf) {
        return Err(r);
    }
    match v.resident.clone() {
        Some(r) => Ok((v, r)),
        None => Err(to_signin(&format!("/my/{number}"))),
    }
}

/// Back to the request with what became of the step; a request that is not theirs is a page.
fn after_step<T>(v: &Visitor, number: &str, done: Result<T, AppError>, ok: &str) -> Response {
    match done {
        Ok(_) => back_to(number, Ok(ok)),
        Err(e @ AppError::NotFound(_)) => error_page(v, &e),
        Err(e) => back_to(number, Err(e.message())),
    }
}

async fn rate(
    State(s): State<AppState>,
    headers: HeaderMap,
    ReqCtx(ctx): ReqCtx,
    Path(number): Path<String>,
    axum::Form(f): axum::Form<RateForm>,
) -> Response {
    let (v, r) = match step_visitor(&s, &headers, &f.csrf, &number).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let resolved = match f.resolved.as_str() {
        "yes" => true,
        "no" => false,
        _ => return back_to(&number, Err("请选择问题是否已解决".into())),
    };
    let Some(sat) = Satisfaction::parse(&f.satisfaction) else {
        return back_to(&number, Err("请选择满意程度".into()));
    };
    let done = portal::rate(
        &s.app, &r, ctx, &number, f.version, resolved, sat, &f.comment,
    )
    .await;
    after_step(&v, &number, done, "感谢您的评价")
}

#[derive(Deserialize)]
struct ReopenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: i64,
    #[serde(default)]
    reason: String,
}

async fn reopen(
    State(s): State<AppState>,
    headers: HeaderMap,
    ReqCtx(ctx): ReqCtx,
    Path(number): Path<String>,
    axum::Form(f): axum::Form<ReopenForm>,
) -> Response {
    let (v, r) = match step_visitor(&s, &headers, &f.csrf, &number).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let done = portal::reopen(&s.app, &r, ctx, &number, f.version, &f.reason).await;
    after_step(&v, &number, done, "已申请重新办理，我们会尽快处理")
}

async fn my_photo(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((number, id)): Path<(String, String)>,
) -> Response {
    let v = visitor(&s, &headers).await;
    let Some(r) = &v.resident else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Ok(id) = Uuid::parse_str(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match portal::my_photo(&s.app, r, &number, id).await {
        Ok((mime, bytes)) => (
            [
                (header::CONTENT_TYPE, mime),
                (header::CACHE_CONTROL, "private, max-age=3600".to_string()),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; sandbox".to_string(),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => crate::error::status_of(&e).into_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// Public pages.

struct NoticeRow {
    id: Uuid,
    title: String,
    date: String,
}

#[derive(Template)]
#[template(path = "portal/notices.html")]
struct NoticesPage {
    f: Frame,
    streets: Vec<(String, Vec<(String, String)>)>,
    community: String,
    community_name: String,
    rows: Vec<NoticeRow>,
}

#[derive(Deserialize)]
struct NoticesQuery {
    community: Option<String>,
}

async fn notices(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NoticesQuery>,
) -> Response {
    let v = visitor(&s, &headers).await;
    let streets = match portal::communities(&s.app, &s.web.open311).await {
        Ok(x) => x,
        Err(e) => return error_page(&v, &e),
    };
    let community = q
        .community
        .unwrap_or_default()
        .chars()
        .take(30)
        .collect::<String>();
    let (community_name, rows) = if community.is_empty() {
        (String::new(), vec![])
    } else {
        match portal::notices_for(&s.app, &s.web.open311, &community).await {
            Ok((name, list)) => (
                name,
                list.into_iter()
                    .map(|n| NoticeRow {
                        id: n.id,
                        title: n.title,
                        date: full_date(n.published_at),
                    })
                    .collect(),
            ),
            Err(e) => return error_page(&v, &e),
        }
    };
    v.page(&NoticesPage {
        f: v.frame("社区公告"),
        streets,
        community,
        community_name,
        rows,
    })
}

#[derive(Template)]
#[template(path = "portal/notice.html")]
struct NoticePage {
    f: Frame,
    title: String,
    date: String,
    paragraphs: Vec<String>,
}

async fn notice(State(s): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let v = visitor(&s, &headers).await;
    let Ok(id) = Uuid::parse_str(&id) else {
        return error_page(&v, &AppError::NotFound("公告"));
    };
    match portal::notice(&s.app, &s.web.open311, id).await {
        Ok(n) => v.page(&NoticePage {
            f: v.frame(n.title.clone()),
            date: full_date(n.published_at),
            paragraphs: n
                .body
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            title: n.title,
        }),
        Err(e) => error_page(&v, &e),
    }
}

struct NearbyRow {
    number: String,
    title: String,
    category: String,
    address: String,
    status: &'static str,
    metres: String,
}

#[derive(Template)]
#[template(path = "portal/nearby.html")]
struct NearbyPage {
    f: Frame,
    located: bool,
    rows: Vec<NearbyRow>,
}

#[derive(Deserialize)]
struct NearbyQuery {
    lat: Option<f64>,
    lng: Option<f64>,
}

fn public_status(p: &linli_app::open311::PublicRequest) -> &'static str {
    use linli_domain::case::CaseState as S;
    match p.case.state {
        S::Pending | S::Consulting | S::Registered => "已受理",
        S::Dispatched | S::Objected | S::Handling => "办理中",
        S::Replied => "已答复",
        S::Closed | S::Visited | S::Disposed => "已办结",
    }
}

async fn nearby(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NearbyQuery>,
) -> Response {
    let v = visitor(&s, &headers).await;
    let (Some(lat), Some(lng)) = (q.lat, q.lng) else {
        return v.page(&NearbyPage {
            f: v.frame("附近的事"),
            located: false,
            rows: vec![],
        });
    };
    let tenant = match portal::tenant(&s.app, &s.web.open311).await {
        Ok(t) => t,
        Err(e) => return error_page(&v, &e),
    };
    match linli_app::open311::nearby(&s.app, &s.web.open311, &tenant, lat, lng, 1000.0).await {
        Ok(found) => v.page(&NearbyPage {
            f: v.frame("附近的事"),
            located: true,
            rows: found
                .into_iter()
                .map(|(p, d)| NearbyRow {
                    number: p.case.number.clone(),
                    title: p.title(),
                    category: p.service_name().to_string(),
                    address: p.address(),
                    status: public_status(&p),
                    metres: if d < 1000.0 {
                        format!("{} 米", (d / 10.0).round() * 10.0)
                    } else {
                        format!("{:.1} 公里", d / 1000.0)
                    },
                })
                .collect(),
        }),
        Err(e) => error_page(&v, &e),
    }
}

#[derive(Deserialize)]
struct LookupQuery {
    #[serde(default)]
    number: String,
}

/// The home page's "凭编号查询" box.
async fn lookup(Query(q): Query<LookupQuery>) -> Response {
    let n: String = q.number.trim().chars().take(40).collect();
    if n.is_empty() {
        return Redirect::to("/").into_response();
    }
    Redirect::to(&format!("/c/{}", urlencode(&n))).into_response()
}

#[derive(Template)]
#[template(path = "portal/public_case.html")]
struct PublicCasePage {
    f: Frame,
    number: String,
    title: String,
    description: String,
    category: String,
    address: String,
    status: &'static str,
    agency: String,
    received: String,
}

async fn public_case(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> Response {
    let v = visitor(&s, &headers).await;
    let tenant = match portal::tenant(&s.app, &s.web.open311).await {
        Ok(t) => t,
        Err(e) => return error_page(&v, &e),
    };
    match linli_app::open311::request(&s.app, &s.web.open311, &tenant, &number).await {
        Ok(p) => v.page(&PublicCasePage {
            f: v.frame(format!("诉求 {}", p.case.number)),
            number: p.case.number.clone(),
            title: p.title(),
            description: p.description(),
            category: p.service_name().to_string(),
            address: p.address(),
            status: public_status(&p),
            agency: p.agency.clone(),
            received: full_date(p.case.received_at),
        }),
        Err(e) => error_page(&v, &e),
    }
}
