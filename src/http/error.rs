//! The one mapping from `core::Error` to Stream's `APIError` body.

use std::collections::BTreeMap;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::reply::{current_operation, duration};
use crate::core::error::{Code, Error};

#[derive(Serialize)]
struct ApiErrorBody {
    code: i64,
    message: String,
    #[serde(rename = "StatusCode")]
    status_code: u16,
    duration: String,
    more_info: &'static str,
    details: Vec<i64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    exception_fields: BTreeMap<String, String>,
    unrecoverable: bool,
}

/// Wrapper so handlers can `?` core errors into responses.
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let Error { code, message, fields } = self.0;
        let (stream_code, status) = code.wire();
        let detail = if code == Code::Internal {
            tracing::error!(error = %message, "internal error");
            "internal server error".to_string()
        } else {
            tracing::debug!(status, error = %message, "request rejected");
            message
        };
        let message = match current_operation() {
            Some(op) => format!("{} failed with error: \"{detail}\"", op.name),
            None => detail,
        };
        let body = ApiErrorBody {
            code: stream_code,
            message,
            status_code: status,
            duration: duration(),
            more_info: "https://getstream.io/chat/docs/api_errors_response",
            details: Vec::new(),
            exception_fields: fields,
            unrecoverable: matches!(code, Code::InputError | Code::NotAllowed | Code::NotFound),
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(body)).into_response();
        if matches!(code, Code::PayloadTooBig | Code::RequestTimeout) {
            // The rest of the body is never read, so the connection cannot be
            // reused; say so instead of letting the client find out.
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
