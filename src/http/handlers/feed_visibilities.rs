//! Feed visibility levels and their per-role grants; server-side only.

use std::collections::BTreeMap;

use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::core::feed_visibility_ops as feed_visibilities;
use crate::http::auth::ServerAuth;
use crate::http::error::ApiResult;
use crate::http::extract::{WireJson, WirePath};
use crate::http::reply::Reply;
use crate::http::AppState;
use crate::wire::FeedVisibilityResponse;

#[derive(Serialize)]
pub struct ListFeedVisibilitiesResponse {
    feed_visibilities: BTreeMap<String, FeedVisibilityResponse>,
}

#[derive(Serialize)]
pub struct FeedVisibilityBody {
    feed_visibility: FeedVisibilityResponse,
}

#[derive(Deserialize)]
pub struct UpdateFeedVisibilityRequest {
    #[serde(default)]
    grants: Option<BTreeMap<String, Vec<String>>>,
}

/// ListFeedVisibilities — `GET /api/v2/feeds/feed_visibilities`.
pub async fn list_feed_visibilities(
    State(state): State<AppState>,
    _: ServerAuth,
) -> ApiResult<Reply<ListFeedVisibilitiesResponse>> {
    let levels = feed_visibilities::list_visibilities(&state.ctx).await?;
    Ok(Reply(ListFeedVisibilitiesResponse {
        feed_visibilities: levels.iter().map(|v| (v.name.clone(), v.into())).collect(),
    }))
}

/// GetFeedVisibility — `GET /api/v2/feeds/feed_visibilities/{name}`.
pub async fn get_feed_visibility(
    State(state): State<AppState>,
    _: ServerAuth,
    WirePath(name): WirePath<String>,
) -> ApiResult<Reply<FeedVisibilityBody>> {
    let level = feed_visibilities::get_visibility(&state.ctx, &name).await?;
    Ok(Reply(FeedVisibilityBody { feed_visibility: (&level).into() }))
}

/// UpdateFeedVisibility — `PUT /api/v2/feeds/feed_visibilities/{name}`.
pub async fn update_feed_visibility(
    State(state): State<AppState>,
    _: ServerAuth,
    WirePath(name): WirePath<String>,
    WireJson(req): WireJson<UpdateFeedVisibilityRequest>,
) -> ApiResult<Reply<FeedVisibilityBody>> {
    let level = feed_visibilities::update_visibility(&state.ctx, &name, req.grants).await?;
    Ok(Reply(FeedVisibilityBody { feed_visibility: (&level).into() }))
}
