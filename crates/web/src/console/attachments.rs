//! 附件 on the case page: photos and recordings of a case (shown from the API's download URL,
//! which the console session may GET), and the upload form. The form posts multipart with
//! htmx, the CSRF token travelling in the `X-CSRF-Token` header the page sets for htmx.

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use linli_app::AppError;
use linli_app::attachments::Attachment;
use linli_domain::media::MediaKind;
use uuid::Uuid;

use super::{FragmentWrap, fragment_error};
use crate::AppState;
use crate::auth::{ApiPath, ConsoleAuth, urlencode};

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/console/cases/{id}/attachments",
        post(upload).layer(DefaultBodyLimit::max(crate::api::cases::UPLOAD_LIMIT)),
    )
}

/// One attachment as the case page shows it.
pub(super) struct AttView {
    pub id: Uuid,
    pub url: String,
    pub name: String,
    pub image: bool,
    pub audio: bool,
    pub size: String,
    pub at: String,
    /// Not yet carried by a step (may be ticked on a step form).
    pub free: bool,
}

fn size_text(n: i64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MB", n as f64 / f64::from(1u32 << 20))
    } else {
        format!("{} KB", (n + 1023) / 1024)
    }
}

pub(super) fn view(a: Attachment) -> AttView {
    AttView {
        url: format!("/api/v1/cases/{}/attachments/{}", a.case_id, a.id),
        id: a.id,
        name: a.filename,
        image: a.kind == MediaKind::Image,
        audio: a.kind == MediaKind::Audio,
        size: size_text(a.size),
        at: a.created_at.display_cst(),
        free: a.event_seq.is_none(),
    }
}

/// The file part of the form: (file name, bytes).
async fn file_part(req: Request, s: &AppState) -> Result<(String, Vec<u8>), AppError> {
    let too_large = || {
        AppError::invalid(
            "body_too_large",
            format!(
                "文件过大（上限 {} MB）",
                crate::api::cases::UPLOAD_LIMIT >> 20
            ),
        )
    };
    let bad = || AppError::invalid("invalid_form", "请选择要上传的照片或录音文件");
    let mut form = Multipart::from_request(req, s).await.map_err(|_| bad())?;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return Err(bad()),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(_) => return Err(bad()),
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("附件").to_string();
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                bad()
            }
        })?;
        if bytes.is_empty() {
            return Err(bad());
        }
        return Ok((name, bytes.to_vec()));
    }
}

/// Upload one file to the case; success sends the browser back to the case page.
async fn upload(
    State(s): State<AppState>,
    ConsoleAuth(p): ConsoleAuth,
    ApiPath(id): ApiPath<Uuid>,
    req: Request,
) -> Response {
    let r = async {
        let (name, bytes) = file_part(req, &s).await?;
        linli_app::cases::attach(&s.app, &p, id, &name, &bytes).await
    }
    .await;
    match r {
        Ok(a) => {
            let msg = format!("已上传{}「{}」", a.kind.label(), a.filename);
            let to = format!("/console/cases/{id}?ok={}#attachments", urlencode(&msg));
            (StatusCode::OK, [("HX-Redirect", to)]).into_response()
        }
        Err(e) => fragment_error(FragmentWrap::Alert, &e),
    }
}
