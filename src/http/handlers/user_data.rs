//! GDPR requests (export and deletion of a user's feed data, and the
//! export's download) and usage statistics. All server-only but the
//! download, whose link is its own credential.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use http_body_util::channel::Channel;
use serde::Deserialize;

use crate::core::{usage, user_data};
use crate::http::auth::ServerAuth;
use crate::http::error::ApiResult;
use crate::http::extract::{WireJson, WirePath};
use crate::http::handlers::users::TaskStarted;
use crate::http::reply::Reply;
use crate::http::AppState;
use crate::wire::QueryFeedsUsageStatsResponse;

#[derive(Deserialize)]
pub struct DeleteFeedUserDataRequest {
    #[serde(default)]
    hard_delete: Option<bool>,
}

/// DeleteFeedUserData — `POST /api/v2/feeds/users/{user_id}/delete` (a task).
pub async fn delete_feed_user_data(
    State(state): State<AppState>,
    _: ServerAuth,
    WirePath(user_id): WirePath<String>,
    WireJson(req): WireJson<DeleteFeedUserDataRequest>,
) -> ApiResult<Reply<TaskStarted>> {
    let task_id = user_data::delete_user_data(&state.ctx, &user_id, req.hard_delete.unwrap_or(false)).await?;
    Ok(Reply(TaskStarted { task_id }))
}

/// ExportFeedUserData — `POST /api/v2/feeds/users/{user_id}/export` (a
/// task whose result holds the download `url`).
pub async fn export_feed_user_data(
    State(state): State<AppState>,
    _: ServerAuth,
    headers: HeaderMap,
    WirePath(user_id): WirePath<String>,
) -> ApiResult<Reply<TaskStarted>> {
    let task_id = user_data::export_user_data(&state.ctx, &user_id, &base_url(&headers)).await?;
    Ok(Reply(TaskStarted { task_id }))
}

/// Where the caller reached this server, for links back to it: the
/// proxy's `X-Forwarded-Proto`/`-Host` when present, else `Host`.
pub(super) fn base_url(headers: &HeaderMap) -> String {
    let first = |name: &str| {
        let value = headers.get(name).and_then(|v| v.to_str().ok())?;
        value.split(',').next().map(str::trim).filter(|v| !v.is_empty())
    };
    let host = first("x-forwarded-host").or_else(|| first(header::HOST.as_str())).unwrap_or("localhost");
    let proto = first("x-forwarded-proto").filter(|p| *p == "https").unwrap_or("http");
    format!("{proto}://{host}")
}

/// The export behind a download link, streamed chunk by chunk as stored,
/// so neither side holds it whole.
pub async fn download_export(State(state): State<AppState>, WirePath(token): WirePath<String>) -> ApiResult<Response> {
    let id = user_data::open_export_link(&state.ctx, &token).await?;
    let (mut sender, body) = Channel::<Bytes, std::io::Error>::new(2);
    let ctx = state.ctx.clone();
    tokio::spawn(async move {
        let mut after = 0;
        loop {
            let chunks = match ctx.store.export_chunks(&id, after, user_data::CHUNKS_PER_READ).await {
                Ok(chunks) => chunks,
                Err(e) => {
                    tracing::error!(export = %id, error = %e, "reading an export failed mid-download");
                    sender.abort(std::io::Error::other("export read failed"));
                    return;
                }
            };
            let Some((last, _)) = chunks.last() else { return };
            after = *last;
            for (_, text) in chunks {
                if sender.send_data(Bytes::from(text)).await.is_err() {
                    return; // The client went away.
                }
            }
        }
    });
    let headers = [
        (header::CONTENT_TYPE, "application/json"),
        (header::CONTENT_DISPOSITION, "attachment; filename=\"user-data.json\""),
        (header::CACHE_CONTROL, "no-store"),
    ];
    Ok((headers, Body::new(Fused { inner: body, done: false })).into_response())
}

/// A body that answers "ended" once it has ended: the channel's end is a
/// one-shot that must not be polled again, while layers such as compression
/// may poll a finished body once more.
struct Fused<B> {
    inner: B,
    done: bool,
}

impl<B: hyper::body::Body + Unpin> hyper::body::Body for Fused<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        if self.done {
            return std::task::Poll::Ready(None);
        }
        let frame = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(frame, std::task::Poll::Ready(None | Some(Err(_)))) {
            self.done = true;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

#[derive(Deserialize)]
pub struct QueryFeedsUsageStatsRequest {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
}

/// QueryFeedsUsageStats — `POST /api/v2/feeds/stats/usage`.
pub async fn query_feeds_usage_stats(
    State(state): State<AppState>,
    _: ServerAuth,
    WireJson(req): WireJson<QueryFeedsUsageStatsRequest>,
) -> ApiResult<Reply<QueryFeedsUsageStatsResponse>> {
    let stats = usage::usage_stats(&state.ctx, req.from.as_deref(), req.to.as_deref()).await?;
    Ok(Reply(stats.into()))
}
