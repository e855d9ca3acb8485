//! The JSON API under `/api/v1`, described by OpenAPI (utoipa) at `/api/v1/openapi.json`.
//!
//! Conventions: errors are `{"error","message"}`; lists are `{"items": [...], "next_cursor"}`
//! with keyset cursors and a hard page-size cap; request bodies reject unknown fields; ids are
//! UUIDs; times are RFC 3339 UTC.

mod admin;
pub(crate) mod assessment;
pub(crate) mod audit;
pub(crate) mod cases;
pub(crate) mod catalogue;
mod duplicates;
pub(crate) mod intake;
mod notify;
mod open311_keys;
mod org;
pub mod registry;
mod registry_things;
mod session;
mod users;
pub(crate) mod whistle;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{Html, IntoResponse};
use axum::routing::{delete, get, post, put};
use base64::Engine as _;
use serde::Serialize;
use utoipa::OpenApi;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "邻里 Linli API", version = "1", description = "社区综合管理服务平台接口。认证：会话 Cookie（写操作需带 X-CSRF-Token）或 Authorization: Bearer 接口令牌。错误格式：{\"error\": 稳定键, \"message\": 中文说明}。"),
    paths(
        session::login, session::logout, session::logout_everywhere, session::me,
        org::list, org::get_one, org::children, org::create, org::update,
        users::list, users::create, users::get_one, users::reset_password, users::disable, users::enable,
        users::unlock, users::force_logout, users::roles_of, users::grant, users::revoke,
        admin::roles, admin::role_totp, admin::tokens, admin::create_token, admin::revoke_token,
        open311_keys::list, open311_keys::create, open311_keys::revoke,
        notify::list, notify::create, notify::delete, notify::deliveries, notify::retry,
        audit::list, audit::verify,
        cases::create, cases::list, cases::queues, cases::get_one, cases::by_number, cases::step, cases::requester, cases::notices,
        cases::upload, cases::attachments, cases::download,
        whistle::items, whistle::blow, whistle::of_case, whistle::respond, whistle::report, whistle::close,
        catalogue::list_versions, catalogue::import, catalogue::activate, catalogue::export,
        catalogue::items, catalogue::item, catalogue::search,
        assessment::report, assessment::weights, assessment::set_weights,
        intake::suggest, intake::train,
        duplicates::of_case, duplicates::of_draft, duplicates::merge, duplicates::dismiss, duplicates::place,
        registry::list, registry::count, registry::create, registry::get_one, registry::unmask, registry::event,
        registry::correct, registry::copy, registry::anonymise, registry::tags, registry::overview_of,
        registry::buildings, registry::building, registry::locate, registry::shapes, registry::import_shapes,
        registry::import, registry::import_job, registry::import_jobs, registry::template,
        registry::export_residents, registry::export_buildings,
        registry_things::components, registry_things::create_component, registry_things::component,
        registry_things::update_component, registry_things::organisations, registry_things::create_organisation,
        registry_things::organisation, registry_things::update_organisation, registry_things::households,
        registry_things::household, registry_things::export_components,
        registry_things::export_organisations, registry_things::unmask_organisation,
    ),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&SecurityAddon),
    tags(
        (name = "session", description = "登录与会话"),
        (name = "org", description = "组织架构：市/区/街道/社区/网格/部门"),
        (name = "users", description = "人员账号与授权"),
        (name = "admin", description = "角色、接口令牌、Open311 接入密钥、消息推送"),
        (name = "audit", description = "审计日志"),
        (name = "cases", description = "工单：受理、立案、派遣、办理、核实、回访、督办"),
        (name = "whistle", description = "吹哨报到：街道吹哨、部门响应报到、一哨一考"),
        (name = "catalogue", description = "派单目录：版本、导入导出、逐级浏览与检索"),
        (name = "assessment", description = "考核统计：响应率、解决率、满意率等指标与综合得分"),
        (name = "intake", description = "受理辅助：诉求分类建议、地址解析、分类模型训练"),
        (name = "registry", description = "基础信息库：人口、户、房屋楼栋、组织、部件、网格边界（敏感信息加密存储、脱敏展示）"),
    )
)]
pub struct ApiDoc;

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/openapi.json",
            get(|| async { axum::Json(ApiDoc::openapi()) }),
        )
        .route("/api/docs", get(swagger_ui))
        .route(
            "/api/v1/session",
            post(session::login).delete(session::logout),
        )
        .route("/api/v1/sessions", delete(session::logout_everywhere))
        .route("/api/v1/me", get(session::me))
        .route("/api/v1/org-units", get(org::list).post(org::create))
        .route(
            "/api/v1/org-units/{id}",
            get(org::get_one).patch(org::update),
        )
        .route("/api/v1/org-units/{id}/children", get(org::children))
        .route("/api/v1/users", get(users::list).post(users::create))
        .route("/api/v1/users/{id}", get(users::get_one))
        .route(
            "/api/v1/users/{id}/reset-password",
            post(users::reset_password),
        )
        .route("/api/v1/users/{id}/disable", post(users::disable))
        .route("/api/v1/users/{id}/enable", post(users::enable))
        .route("/api/v1/users/{id}/unlock", post(users::unlock))
        .route("/api/v1/users/{id}/logout", post(users::force_logout))
        .route(
            "/api/v1/users/{id}/roles",
            get(users::roles_of).post(users::grant),
        )
        .route("/api/v1/role-assignments/{id}", delete(users::revoke))
        .route("/api/v1/roles", get(admin::roles))
        .route("/api/v1/roles/{key}/totp", put(admin::role_totp))
        .route(
            "/api/v1/tokens",
            get(admin::tokens).post(admin::create_token),
        )
        .route("/api/v1/tokens/{id}", delete(admin::revoke_token))
        .route(
            "/api/v1/open311-keys",
            get(open311_keys::list).post(open311_keys::create),
        )
        .route("/api/v1/open311-keys/{id}", delete(open311_keys::revoke))
        .route("/api/v1/webhooks", get(notify::list).post(notify::create))
        .route("/api/v1/webhooks/{id}", delete(notify::delete))
        .route("/api/v1/deliveries", get(notify::deliveries))
        .route(
            "/api/v1/deliveries/{tenant}/{id}/retry",
            post(notify::retry),
        )
        .route("/api/v1/audit", get(audit::list))
        .route("/api/v1/audit/verify", get(audit::verify))
        .route("/api/v1/cases", get(cases::list).post(cases::create))
        .route("/api/v1/cases/queues", get(cases::queues))
        .route("/api/v1/intake/suggest", post(intake::suggest))
        .route("/api/v1/intake/classifier/train", post(intake::train))
        .route("/api/v1/intake/duplicates", post(duplicates::of_draft))
        .route("/api/v1/intake/place", post(duplicates::place))
        .route("/api/v1/cases/by-number/{number}", get(cases::by_number))
        .route("/api/v1/cases/{id}", get(cases::get_one))
        .route("/api/v1/cases/{id}/requester", get(cases::requester))
        .route("/api/v1/cases/{id}/notices", get(cases::notices))
        .route("/api/v1/cases/{id}/duplicates", get(duplicates::of_case))
        .route(
            "/api/v1/cases/{id}/duplicates/dismiss",
            post(duplicates::dismiss),
        )
        .route("/api/v1/cases/{id}/merge", post(duplicates::merge))
        .route(
            "/api/v1/cases/{id}/attachments",
            get(cases::attachments)
                .post(cases::upload)
                .layer(DefaultBodyLimit::max(cases::UPLOAD_LIMIT)),
        )
        .route(
            "/api/v1/cases/{id}/attachments/{attachment_id}",
            get(cases::download),
        )
        .route(
            "/api/v1/cases/{id}/whistles",
            get(whistle::of_case).post(whistle::blow),
        )
        .route("/api/v1/cases/{id}/{action}", post(cases::step))
        .route("/api/v1/whistle-items", get(whistle::items))
        .route(
            "/api/v1/residents",
            get(registry::list).post(registry::create),
        )
        .route("/api/v1/residents/count", get(registry::count))
        .route("/api/v1/residents/export", post(registry::export_residents))
        .route(
            "/api/v1/imports",
            get(registry::import_jobs)
                .post(registry::import)
                .layer(DefaultBodyLimit::max(registry::IMPORT_LIMIT)),
        )
        .route("/api/v1/imports/{id}", get(registry::import_job))
        .route("/api/v1/import-templates/{kind}", get(registry::template))
        .route(
            "/api/v1/residents/{id}",
            get(registry::get_one).patch(registry::correct),
        )
        .route("/api/v1/residents/{id}/unmask", post(registry::unmask))
        .route("/api/v1/residents/{id}/events", post(registry::event))
        .route("/api/v1/residents/{id}/copy", post(registry::copy))
        .route(
            "/api/v1/residents/{id}/anonymise",
            post(registry::anonymise),
        )
        .route("/api/v1/registry/tags", get(registry::tags))
        .route("/api/v1/registry/overview", get(registry::overview_of))
        .route("/api/v1/buildings", get(registry::buildings))
        .route("/api/v1/buildings/export", get(registry::export_buildings))
        .route("/api/v1/buildings/{id}", get(registry::building))
        .route("/api/v1/grids/locate", get(registry::locate))
        .route(
            "/api/v1/grids/shapes",
            get(registry::shapes)
                .put(registry::import_shapes)
                .layer(DefaultBodyLimit::max(registry::SHAPES_LIMIT)),
        )
        .route("/api/v1/whistles/{id}/respond", post(whistle::respond))
        .route("/api/v1/whistles/{id}/report", post(whistle::report))
        .route("/api/v1/whistles/{id}/close", post(whistle::close))
        .route(
            "/api/v1/catalogue/versions",
            get(catalogue::list_versions)
                .post(catalogue::import)
                .layer(DefaultBodyLimit::max(catalogue::UPLOAD_LIMIT)),
        )
        .route(
            "/api/v1/catalogue/versions/{id}/activate",
            post(catalogue::activate),
        )
        .route(
            "/api/v1/catalogue/versions/{id}/export",
            get(catalogue::export),
        )
        .route("/api/v1/catalogue/items", get(catalogue::items))
        .route("/api/v1/catalogue/items/{id}", get(catalogue::item))
        .route("/api/v1/catalogue/search", get(catalogue::search))
        .route("/api/v1/assessment", get(assessment::report))
        .route(
            "/api/v1/assessment/weights",
            get(assessment::weights).put(assessment::set_weights),
        )
        .route(
            "/api/v1/components",
            get(registry_things::components).post(registry_things::create_component),
        )
        .route(
            "/api/v1/components/export",
            get(registry_things::export_components),
        )
        .route(
            "/api/v1/components/{id}",
            get(registry_things::component).patch(registry_things::update_component),
        )
        .route(
            "/api/v1/organisations",
            get(registry_things::organisations).post(registry_things::create_organisation),
        )
        .route(
            "/api/v1/organisations/export",
            get(registry_things::export_organisations),
        )
        .route(
            "/api/v1/organisations/{id}",
            get(registry_things::organisation).patch(registry_things::update_organisation),
        )
        .route(
            "/api/v1/organisations/{id}/unmask",
            post(registry_things::unmask_organisation),
        )
        .route("/api/v1/households", get(registry_things::households))
        .route("/api/v1/households/{id}", get(registry_things::household))
}

async fn swagger_ui() -> impl IntoResponse {
    Html(
        r##"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>邻里 API 文档</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css"></head><body><div id="ui"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/api/v1/openapi.json", dom_id: "#ui", validatorUrl: null, deepLinking: true});</script>
</body></html>"##,
    )
}

/// A page of results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

pub fn limit_of(l: Option<i64>) -> i64 {
    l.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

pub fn encode_cursor(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s.as_bytes())
}

pub fn decode_cursor(s: &str) -> Result<String, linli_app::AppError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| linli_app::AppError::invalid("invalid_cursor", "分页游标无效"))
}

/// Build a page from `limit + 1` fetched rows.
pub fn page<R, T>(
    mut rows: Vec<R>,
    limit: i64,
    key: impl Fn(&R) -> String,
    map: impl Fn(R) -> T,
) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|r| encode_cursor(&key(r)))
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(map).collect(),
        next_cursor,
    }
}

pub fn ok_empty() -> axum::http::StatusCode {
    axum::http::StatusCode::NO_CONTENT
}
