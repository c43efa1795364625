use axum::extract::State;

use crate::core::tasks;
use crate::http::auth::Auth;
use crate::http::error::ApiResult;
use crate::http::extract::WirePath;
use crate::http::reply::Reply;
use crate::http::AppState;
use crate::wire::GetTaskResponse;

/// GetTask — `GET /api/v2/tasks/{id}`.
pub async fn get_task(
    State(state): State<AppState>,
    Auth(_): Auth,
    WirePath(id): WirePath<String>,
) -> ApiResult<Reply<GetTaskResponse>> {
    Ok(Reply(tasks::get_task(&state.ctx, &id).await?.into()))
}
