//! 批量导入 (基础信息 tab): choose the kind, download its template, upload a file to check it,
//! read the errors per row, then 导入有效行 — the same file posted again in mode `valid` — with
//! a progress bar that polls the job, and the final report.
//!
//! Both steps are import jobs (`linli_app::registry::import::jobs`); the page only uploads and
//! shows them. The job fragment polls itself every second while the job runs (htmx
//! `hx-trigger="every 1s"`), and stops when the fragment that comes back is finished.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use linli_app::AppError;
use linli_app::registry::import::jobs::{self, JobView};
use linli_app::registry::import::{KindName, MAX_LISTED_ERRORS, Mode, RowError};
use linli_domain::auth::Permission;
use serde::Deserialize;

use super::registry::{IMPORT, shell, tabs};
use super::{FragmentWrap, PageError, Shell, fail, fragment_error, parse_id, render};
use crate::AppState;
use crate::auth::{ApiPath, ApiQuery, ConsoleAuth};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            IMPORT,
            get(page)
                .post(upload)
                .layer(DefaultBodyLimit::max(crate::api::registry::IMPORT_LIMIT)),
        )
        .route("/console/registry/import/template", get(template))
        .route("/console/registry/import/jobs/{id}", get(job))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct KindQuery {
    kind: String,
    format: String,
}

fn kind_of(raw: &str) -> Result<KindName, AppError> {
    if raw.is_empty() {
        Ok(KindName::Residents)
    } else {
        KindName::parse(raw)
    }
}

/// A kind as the page lists it: (name, label, current).
type KindOpt = (&'static str, &'static str, bool);

#[derive(Template)]
#[template(path = "registry_import.html")]
struct ImportPage {
    shell: Shell,
    tabs: Vec<(&'static str, &'static str, bool)>,
    kinds: Vec<KindOpt>,
    kind: &'static str,
    label: &'static str,
    /// Column names, `*` for the required ones.
    columns: Vec<(String, bool)>,
    recent: Vec<JobView>,
}

async fn page(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(q): ApiQuery<KindQuery>,
) -> Result<Response, PageError> {
    p.require(Permission::RegistryImport)
        .map_err(fail(&s, &p, IMPORT))?;
    let kind = kind_of(&q.kind).map_err(fail(&s, &p, IMPORT))?;
    let spec = kind.spec();
    let recent = jobs::mine(&s.app, &p, 10)
        .await
        .map_err(fail(&s, &p, IMPORT))?;
    Ok(render(&ImportPage {
        shell: shell(&s, &p, "批量导入"),
        tabs: tabs(IMPORT),
        kinds: KindName::ALL
            .iter()
            .map(|k| (k.spec().name, k.spec().label, *k == kind))
            .collect(),
        kind: spec.name,
        label: spec.label,
        columns: spec
            .columns
            .iter()
            .map(|c| (c.name.to_string(), c.required))
            .collect(),
        recent,
    }))
}

async fn template(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(q): ApiQuery<KindQuery>,
) -> Result<Response, PageError> {
    p.require(Permission::RegistryImport)
        .map_err(fail(&s, &p, IMPORT))?;
    let kind = kind_of(&q.kind).map_err(fail(&s, &p, IMPORT))?;
    crate::api::registry::template_file(kind, q.format == "csv").map_err(fail(&s, &p, IMPORT))
}

#[derive(Template)]
#[template(path = "_registry_import_job.html")]
struct JobFragment {
    j: JobView,
    errors: Vec<RowError>,
    /// More errors than the report lists.
    more: u64,
    max_listed: usize,
}

fn fragment(j: JobView) -> Response {
    let errors = j
        .report
        .as_ref()
        .map(|r| r.errors.clone())
        .unwrap_or_default();
    let more = j
        .report
        .as_ref()
        .map(|r| r.invalid.saturating_sub(r.errors.len() as u64))
        .unwrap_or(0);
    render(&JobFragment {
        j,
        errors,
        more,
        max_listed: MAX_LISTED_ERRORS,
    })
}

/// The form posts the file (multipart, field `file`) and the button pressed (`mode`); the
/// answer is the job's fragment, which then polls itself.
async fn upload(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiQuery(q): ApiQuery<KindQuery>,
    req: Request,
) -> Response {
    let attempt = async {
        let kind = kind_of(&q.kind)?;
        let bad = || AppError::invalid("invalid_form", "上传内容无法解析，请重新选择文件");
        let mut form = Multipart::from_request(req, &s).await.map_err(|_| bad())?;
        let (mut file, mut name, mut mode) = (None, String::new(), Mode::Check);
        loop {
            let field = match form.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    return Err(AppError::invalid(
                        "body_too_large",
                        format!(
                            "文件过大（上限 {} MB）",
                            crate::api::registry::IMPORT_LIMIT >> 20
                        ),
                    ));
                }
                Err(_) => return Err(bad()),
            };
            match field.name().unwrap_or("") {
                "file" => {
                    name = field.file_name().unwrap_or("").to_string();
                    file = Some(field.bytes().await.map_err(|_| bad())?);
                }
                "mode" => mode = Mode::parse(&field.text().await.map_err(|_| bad())?)?,
                _ => {}
            }
        }
        let file = file
            .filter(|f| !f.is_empty())
            .ok_or_else(|| AppError::invalid("missing_file", "请选择要导入的文件"))?;
        jobs::start(&s.app, &p, kind, mode, &name, file.to_vec()).await
    }
    .await;
    match attempt {
        Ok(j) => (StatusCode::ACCEPTED, fragment(j)).into_response(),
        Err(e) => fragment_error(FragmentWrap::Alert, &e),
    }
}

async fn job(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<String>,
) -> Response {
    let attempt = async {
        let id = parse_id(&id, "导入任务")?;
        jobs::get(&s.app, &p, id).await
    }
    .await;
    match attempt {
        Ok(j) => fragment(j),
        Err(e) => fragment_error(FragmentWrap::Alert, &e),
    }
}
