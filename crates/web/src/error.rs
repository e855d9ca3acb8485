//! Errors on the wire: `{"error": "<stable_key>", "message": "<中文>"}` with the right status.

use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use linli_app::AppError;
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable key, e.g. `not_found`, `invalid_json`, `stale_version`.
    pub error: String,
    /// Explanation for people, in Chinese.
    pub message: String,
}

pub fn status_of(e: &AppError) -> StatusCode {
    match e {
        AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::Unauthenticated | AppError::BadCredentials | AppError::BadTotp => {
            StatusCode::UNAUTHORIZED
        }
        AppError::Locked { .. } => StatusCode::LOCKED,
        AppError::Disabled | AppError::Forbidden => StatusCode::FORBIDDEN,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Conflict(_) | AppError::Stale | AppError::Refused { .. } => StatusCode::CONFLICT,
        AppError::Store(linli_store::StoreError::Unique(_)) => StatusCode::CONFLICT,
        AppError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Internal(_) | AppError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An [`AppError`] rendered as JSON.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(&self.0);
        if status.is_server_error() {
            // Internal detail goes to the log only (it never contains request bodies).
            tracing::error!(error = ?self.0, "request failed");
        }
        (
            status,
            Json(ErrorBody {
                error: self.0.key().to_string(),
                message: self.0.message(),
            }),
        )
            .into_response()
    }
}

/// An error answered with its own key and status (for rejections that are not use-case errors).
pub fn raw(status: StatusCode, key: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(ErrorBody {
            error: key.to_string(),
            message: message.into(),
        }),
    )
        .into_response()
}

pub fn json_rejection(r: JsonRejection) -> Response {
    match r {
        JsonRejection::MissingJsonContentType(_) => raw(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "请求须为 JSON（Content-Type: application/json）",
        ),
        JsonRejection::JsonSyntaxError(_) => {
            raw(StatusCode::BAD_REQUEST, "invalid_json", "JSON 格式错误")
        }
        JsonRejection::JsonDataError(e) => {
            // The serde message names the field and expected type; it carries no input values
            // beyond field names, so it is safe and useful to return.
            raw(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_fields",
                format!("字段有误：{}", e.body_text()),
            )
        }
        JsonRejection::BytesRejection(_) => raw(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "请求体过大",
        ),
        _ => raw(StatusCode::BAD_REQUEST, "bad_request", "请求无法解析"),
    }
}

pub fn query_rejection(_: QueryRejection) -> Response {
    raw(StatusCode::BAD_REQUEST, "invalid_query", "查询参数有误")
}

pub fn path_rejection(_: PathRejection) -> Response {
    ApiError(AppError::NotFound("资源")).into_response()
}

pub fn form_rejection(r: FormRejection) -> Response {
    match r {
        FormRejection::BytesRejection(_) => raw(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "请求体过大",
        ),
        _ => raw(StatusCode::BAD_REQUEST, "invalid_form", "表单内容有误"),
    }
}
