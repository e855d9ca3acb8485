//! Open311 GeoReport v2 at `/open311/v2/` (wiki.open311.org/GeoReport_v2), in JSON and XML by
//! the extension of the resource:
//!
//! - `GET services.{fmt}`, `GET services/{code}.{fmt}`: the active dispatch catalogue's leaves
//!   and their definitions;
//! - `POST requests.{fmt}`: file a request with an `api_key` (query or form body);
//! - `GET requests.{fmt}` (filters `service_request_id`, `service_code`, `start_date`,
//!   `end_date`, `status`; extension `page`/`page_size`, `extensions=true`), `GET
//!   requests/{id}.{fmt}`, `GET tokens/{token}.{fmt}`: the public feed.
//!
//! Every endpoint takes `jurisdiction_id` (empty means none). Errors are the specification's
//! list of `code` and `description`, with HTTP 400, 403 or 404. This module only parses and
//! renders; the rules are in [`linli_app::open311`]. Documented in docs/open311.md.

mod doc;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use linli_app::AppError;
use linli_app::open311::{self as o, PublicRequest, SearchParams, Submission};
use linli_domain::open311::format_datetime;

use crate::AppState;
use crate::auth::ReqCtx;
use doc::{Node, degrees};

/// Largest accepted POST body: a 4,000-character description percent-encoded, and the rest.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Longest accepted query string.
const QUERY_LIMIT: usize = 8 * 1024;
/// Most parameters one request may carry (the specification has about twenty).
const MAX_PARAMS: usize = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/{file}", get(top_get).post(top_post))
        .route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(one_request))
        .route("/open311/v2/tokens/{file}", get(one_token))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Xml,
}

/// A refusal, rendered as the specification's error document in the asked format.
struct Fail {
    fmt: Format,
    status: StatusCode,
    description: String,
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        error(self.fmt, self.status, self.description)
    }
}

fn fail(fmt: Format, status: StatusCode, description: impl Into<String>) -> Fail {
    Fail {
        fmt,
        status,
        description: description.into(),
    }
}

type Reply = Result<Response, Fail>;

fn reply(fmt: Format, status: StatusCode, root: &'static str, n: &Node) -> Response {
    let (body, ct) = match fmt {
        Format::Json => (doc::to_json(n), "application/json; charset=utf-8"),
        Format::Xml => (doc::to_xml(root, n), "text/xml; charset=utf-8"),
    };
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(ct))],
        body,
    )
        .into_response()
}

/// The specification's error document: `[{"code": 404, "description": "…"}]`.
fn error(fmt: Format, status: StatusCode, description: impl Into<String>) -> Response {
    let n = Node::List(
        "error",
        vec![Node::Obj(vec![
            ("code", Node::Int(i64::from(status.as_u16()))),
            ("description", Node::str(description)),
        ])],
    );
    reply(fmt, status, "errors", &n)
}

/// English beside the Chinese, for the 311 clients of the wider world.
fn english(key: &str) -> Option<&'static str> {
    Some(match key {
        "missing_api_key" => "api_key is required",
        "invalid_api_key" => "invalid or revoked api_key",
        "invalid_service_code" => "invalid service_code",
        "unknown_service_code" => "service_code not found",
        "missing_location" => "a location is required: lat and long, or address_string",
        "invalid_location" => "invalid lat/long",
        "missing_field" => "a required field is missing",
        "too_long" => "a field is too long",
        "invalid_text" => "a field contains control characters",
        "invalid_media_url" => "media_url must be an http(s) URL",
        "invalid_email" => "invalid email",
        "invalid_phone" => "invalid phone number",
        "unknown_attribute" => "unknown attribute code",
        "invalid_attribute" => "invalid attribute value",
        "invalid_status" => "status must be open or closed",
        "invalid_date" => "invalid start_date/end_date",
        "date_range_too_long" => "start_date and end_date may not span more than 90 days",
        "too_many" => "too many values in a list",
        "invalid_query" => "invalid query parameter",
        "page_too_deep" => "page too deep; narrow the date range",
        "invalid_service_request_id" => "invalid service_request_id",
        "duplicate_parameter" => "a parameter is given twice",
        "open311_not_configured" => "the Open311 jurisdiction is not configured",
        "unknown_jurisdiction" => "jurisdiction_id not found",
        "not_found" => "not found",
        "forbidden" => "forbidden",
        _ => return None,
    })
}

fn app_error(fmt: Format, e: AppError) -> Fail {
    let key = e.key();
    let status = match &e {
        AppError::Invalid { key, .. }
            if matches!(
                *key,
                "invalid_api_key" | "missing_api_key" | "unit_not_allowed"
            ) =>
        {
            StatusCode::FORBIDDEN
        }
        AppError::Invalid { key, .. }
            if matches!(*key, "open311_not_configured" | "unknown_jurisdiction") =>
        {
            StatusCode::NOT_FOUND
        }
        AppError::Unauthenticated | AppError::Forbidden | AppError::Disabled => {
            StatusCode::FORBIDDEN
        }
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Internal(_) | AppError::Store(_) => {
            tracing::error!(error = ?e, "open311 request failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::BAD_REQUEST,
    };
    let mut d = e.message();
    if let Some(en) = english(key) {
        d.push_str(&format!(" ({en})"));
    }
    fail(fmt, status, d)
}

/// `services.json` → (`services`, JSON). Anything but `.json`/`.xml` is not a resource here.
fn split(file: &str) -> Result<(&str, Format), Fail> {
    match file.rsplit_once('.') {
        Some((name, "json")) => Ok((name, Format::Json)),
        Some((name, "xml")) => Ok((name, Format::Xml)),
        _ => Err(fail(
            Format::Json,
            StatusCode::NOT_FOUND,
            "没有该资源；请以 .json 或 .xml 结尾 (not found; resources end in .json or .xml)",
        )),
    }
}

fn file_of(p: Result<Path<String>, PathRejection>) -> Result<String, Fail> {
    p.map(|Path(f)| f).map_err(|_| {
        fail(
            Format::Json,
            StatusCode::NOT_FOUND,
            "没有该资源 (not found)",
        )
    })
}

/// Parameters from the query string and the form body, each name at most once.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(fmt: Format, query: Option<&str>, body: &[u8]) -> Result<Params, Fail> {
        let bad = |what: &str| {
            fail(
                fmt,
                StatusCode::BAD_REQUEST,
                format!("{what}无法解析 (malformed parameters)"),
            )
        };
        let q = query.unwrap_or("");
        if q.len() > QUERY_LIMIT {
            return Err(fail(
                fmt,
                StatusCode::BAD_REQUEST,
                "查询参数过长 (query string too long)",
            ));
        }
        let mut all: Vec<(String, String)> =
            serde_urlencoded::from_str(q).map_err(|_| bad("查询参数"))?;
        if !body.is_empty() {
            let b: Vec<(String, String)> =
                serde_urlencoded::from_bytes(body).map_err(|_| bad("表单内容"))?;
            all.extend(b);
        }
        if all.len() > MAX_PARAMS {
            return Err(app_error(
                fmt,
                AppError::invalid("too_many", format!("参数最多 {MAX_PARAMS} 个")),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (k, _) in &all {
            if !seen.insert(k.as_str()) {
                let name: String = k.chars().take(40).collect();
                return Err(app_error(
                    fmt,
                    AppError::invalid("duplicate_parameter", format!("参数 {name} 重复")),
                ));
            }
        }
        Ok(Params(all))
    }

    fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// `attribute[code]=value` pairs.
    fn attributes(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter_map(|(k, v)| {
                let code = k.strip_prefix("attribute[")?.strip_suffix(']')?;
                Some((code.to_string(), v.clone()))
            })
            .collect()
    }
}

async fn tenant(s: &AppState, fmt: Format, p: &Params) -> Result<String, Fail> {
    o::jurisdiction(&s.app, &s.web.open311, p.get("jurisdiction_id").as_deref())
        .await
        .map_err(|e| app_error(fmt, e))
}

// ---------------------------------------------------------------------------------------------
// Handlers.

async fn top_get(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let run = async {
        let file = file_of(path)?;
        let (name, fmt) = split(&file)?;
        let p = Params::parse(fmt, q.as_deref(), &[])?;
        let t = tenant(&s, fmt, &p).await?;
        match name {
            "services" => services(&s, fmt, &t).await,
            "requests" => requests(&s, fmt, &t, &p).await,
            _ => Err(fail(fmt, StatusCode::NOT_FOUND, "没有该资源 (not found)")),
        }
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

async fn services(s: &AppState, fmt: Format, tenant: &str) -> Reply {
    let list = o::services(&s.app, &s.web.open311, tenant)
        .await
        .map_err(|e| app_error(fmt, e))?;
    let items = list
        .iter()
        .map(|x| {
            Node::Obj(vec![
                ("service_code", Node::str(&x.code)),
                ("service_name", Node::str(&x.name)),
                ("description", Node::str(&x.description)),
                (
                    "metadata",
                    Node::Bool(!linli_domain::open311::attributes().is_empty()),
                ),
                ("type", Node::str("realtime")),
                ("keywords", Node::opt(&x.keywords)),
                ("group", Node::opt(&x.group)),
            ])
        })
        .collect();
    Ok(reply(
        fmt,
        StatusCode::OK,
        "services",
        &Node::List("service", items),
    ))
}

async fn service_definition(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let run = async {
        let file = file_of(path)?;
        let (code, fmt) = split(&file)?;
        let p = Params::parse(fmt, q.as_deref(), &[])?;
        let t = tenant(&s, fmt, &p).await?;
        let (svc, attrs) = o::service(&s.app, &s.web.open311, &t, code)
            .await
            .map_err(|e| app_error(fmt, e))?;
        let attrs = attrs
            .into_iter()
            .map(|a| {
                Node::Obj(vec![
                    ("variable", Node::Bool(true)),
                    ("code", Node::str(a.code)),
                    ("datatype", Node::str(a.datatype)),
                    ("required", Node::Bool(a.required)),
                    ("datatype_description", Node::opt(a.datatype_description)),
                    ("order", Node::Int(a.order)),
                    ("description", Node::str(a.description)),
                    (
                        "values",
                        Node::List(
                            "value",
                            a.values
                                .iter()
                                .map(|(k, n)| {
                                    Node::Obj(vec![("key", Node::str(*k)), ("name", Node::str(*n))])
                                })
                                .collect(),
                        ),
                    ),
                ])
            })
            .collect();
        let n = Node::Obj(vec![
            ("service_code", Node::str(svc.code)),
            ("attributes", Node::List("attribute", attrs)),
        ]);
        Reply::Ok(reply(fmt, StatusCode::OK, "service_definition", &n))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

fn request_node(r: &PublicRequest, extended: bool) -> Node {
    let c = &r.case;
    let mut f = vec![
        ("service_request_id", Node::str(&c.number)),
        ("status", Node::str(r.status.key())),
        ("status_notes", Node::opt(&r.status_notes)),
        ("service_name", Node::opt(r.service_name())),
        ("service_code", Node::opt(&c.category_code)),
        ("description", Node::opt(r.description())),
        ("agency_responsible", Node::opt(&r.agency)),
        ("service_notice", Node::Null),
        (
            "requested_datetime",
            Node::str(format_datetime(c.received_at)),
        ),
        ("updated_datetime", Node::str(format_datetime(c.updated_at))),
        (
            "expected_datetime",
            c.due_at
                .map(|t| Node::str(format_datetime(t)))
                .unwrap_or(Node::Null),
        ),
        ("address", Node::opt(r.address())),
        ("address_id", Node::Null),
        ("zipcode", Node::Null),
        ("lat", c.lat_e6.map(degrees).unwrap_or(Node::Null)),
        ("long", c.lng_e6.map(degrees).unwrap_or(Node::Null)),
        ("media_url", Node::opt(&c.media_url)),
    ];
    if extended {
        f.push((
            "extended_attributes",
            Node::Obj(vec![
                ("title", Node::opt(r.title())),
                ("linli_state", Node::str(c.state.key())),
                ("linli_state_label", Node::str(c.state.label())),
                ("request_type", Node::str(c.request_type.key())),
                ("request_type_label", Node::str(c.request_type.label())),
                ("channel", Node::str(c.channel.key())),
                (
                    "disposition",
                    c.disposition
                        .map(|d| Node::str(d.key()))
                        .unwrap_or(Node::Null),
                ),
            ]),
        ));
    }
    Node::Obj(f)
}

fn extended(fmt: Format, p: &Params) -> Result<bool, Fail> {
    match p.get("extensions").as_deref().map(str::trim) {
        None | Some("") | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(app_error(
            fmt,
            AppError::invalid("invalid_query", "extensions 须为 true 或 false"),
        )),
    }
}

async fn requests(s: &AppState, fmt: Format, tenant: &str, p: &Params) -> Reply {
    let ext = extended(fmt, p)?;
    let sp = SearchParams {
        service_request_id: p.get("service_request_id"),
        service_code: p.get("service_code"),
        start_date: p.get("start_date"),
        end_date: p.get("end_date"),
        status: p.get("status"),
        page: p.get("page"),
        page_size: p.get("page_size"),
    };
    let list = o::search(&s.app, &s.web.open311, tenant, &sp)
        .await
        .map_err(|e| app_error(fmt, e))?;
    let items = list.iter().map(|r| request_node(r, ext)).collect();
    Ok(reply(
        fmt,
        StatusCode::OK,
        "service_requests",
        &Node::List("request", items),
    ))
}

async fn one_request(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let run = async {
        let file = file_of(path)?;
        let (id, fmt) = split(&file)?;
        let p = Params::parse(fmt, q.as_deref(), &[])?;
        let ext = extended(fmt, &p)?;
        let t = tenant(&s, fmt, &p).await?;
        let r = o::request(&s.app, &s.web.open311, &t, id)
            .await
            .map_err(|e| app_error(fmt, e))?;
        Reply::Ok(reply(
            fmt,
            StatusCode::OK,
            "service_requests",
            &Node::List("request", vec![request_node(&r, ext)]),
        ))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

async fn one_token(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let run = async {
        let file = file_of(path)?;
        let (token, fmt) = split(&file)?;
        let p = Params::parse(fmt, q.as_deref(), &[])?;
        let t = tenant(&s, fmt, &p).await?;
        let number = o::token(&s.app, &t, token)
            .await
            .map_err(|e| app_error(fmt, e))?;
        let n = Node::List(
            "request",
            vec![Node::Obj(vec![
                ("service_request_id", Node::str(number)),
                ("token", Node::str(token)),
            ])],
        );
        Reply::Ok(reply(fmt, StatusCode::OK, "service_requests", &n))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

async fn top_post(
    State(s): State<AppState>,
    ReqCtx(ctx): ReqCtx,
    path: Result<Path<String>, PathRejection>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let run = async {
        let file = file_of(path)?;
        let (name, fmt) = split(&file)?;
        if name != "requests" {
            return Err(fail(fmt, StatusCode::NOT_FOUND, "没有该资源 (not found)"));
        }
        let bytes = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
            fail(
                fmt,
                StatusCode::PAYLOAD_TOO_LARGE,
                "请求体过大 (request body too large)",
            )
        })?;
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !bytes.is_empty() && !ct.starts_with("application/x-www-form-urlencoded") {
            return Err(fail(
                fmt,
                StatusCode::BAD_REQUEST,
                "请求体须为 application/x-www-form-urlencoded 表单 (the body must be form-encoded)",
            ));
        }
        let p = Params::parse(fmt, q.as_deref(), &bytes)?;
        let t = tenant(&s, fmt, &p).await?;
        let key = o::authenticate(&s.app, &t, &p.get("api_key").unwrap_or_default())
            .await
            .map_err(|e| app_error(fmt, e))?;
        let sub = Submission {
            service_code: p.get("service_code").unwrap_or_default(),
            lat: p.get("lat"),
            long: p.get("long"),
            address_string: p.get("address_string"),
            address_id: p.get("address_id"),
            email: p.get("email"),
            device_id: p.get("device_id"),
            account_id: p.get("account_id"),
            first_name: p.get("first_name"),
            last_name: p.get("last_name"),
            phone: p.get("phone"),
            description: p.get("description"),
            media_url: p.get("media_url"),
            attributes: p.attributes(),
            unit_code: p.get("unit_code"),
            idempotency_key: headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(200).collect()),
        };
        let filed = o::submit(&s.app, &s.web.open311, &t, &key, ctx, sub)
            .await
            .map_err(|e| app_error(fmt, e))?;
        let n = Node::List(
            "request",
            vec![Node::Obj(vec![
                ("service_request_id", Node::str(&filed.number)),
                ("token", Node::str(filed.token.to_string())),
                ("service_notice", Node::str(&filed.service_notice)),
                ("account_id", Node::Null),
            ])],
        );
        Reply::Ok(reply(fmt, StatusCode::OK, "service_requests", &n))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// Anything else under `/open311/`: the specification's 404.
pub fn not_found() -> Response {
    error(
        Format::Json,
        StatusCode::NOT_FOUND,
        "没有该资源 (not found)",
    )
}
