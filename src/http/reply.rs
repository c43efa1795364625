//! Success replies. The status comes from the operation table, not from the
//! handler, and every body carries `duration`.

use std::time::Instant;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// Which Stream operation is running, set by the route table around each
/// handler so replies and errors can name it.
#[derive(Clone, Copy)]
pub struct Operation {
    pub name: &'static str,
    pub status: u16,
    pub started: Instant,
}

tokio::task_local! {
    pub static OPERATION: Operation;
}

pub fn current_operation() -> Option<Operation> {
    OPERATION.try_with(|op| *op).ok()
}

/// Stream sends a Go-style duration string; SDKs only read it.
pub fn duration() -> String {
    let ms = current_operation().map_or(0.0, |op| op.started.elapsed().as_secs_f64() * 1000.0);
    format!("{ms:.2}ms")
}

pub struct Reply<T>(pub T);

#[derive(Serialize)]
struct WithDuration<'a, T> {
    #[serde(flatten)]
    body: &'a T,
    duration: String,
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        let status = current_operation().and_then(|op| StatusCode::from_u16(op.status).ok()).unwrap_or(StatusCode::OK);
        (status, Json(WithDuration { body: &self.0, duration: duration() })).into_response()
    }
}

/// A body with nothing but `duration` (`Response` in the spec).
#[derive(Serialize)]
pub struct Empty {}
