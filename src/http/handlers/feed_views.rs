//! Feed-view CRUD; server-side only.

use std::collections::BTreeMap;

use axum::extract::State;
use serde::Serialize;

use crate::core::feed_views::{self, CreateFeedView, FeedViewConfig};
use crate::http::auth::ServerAuth;
use crate::http::error::ApiResult;
use crate::http::extract::{WireJson, WirePath};
use crate::http::reply::{Empty, Reply};
use crate::http::AppState;
use crate::wire::FeedViewResponse;

#[derive(Serialize)]
pub struct FeedViewBody {
    feed_view: FeedViewResponse,
}

#[derive(Serialize)]
pub struct GetOrCreateFeedViewResponse {
    feed_view: FeedViewResponse,
    was_created: bool,
}

#[derive(Serialize)]
pub struct ListFeedViewsResponse {
    views: BTreeMap<String, FeedViewResponse>,
}

/// ListFeedViews — `GET /api/v2/feeds/feed_views`.
pub async fn list_feed_views(State(state): State<AppState>, _: ServerAuth) -> ApiResult<Reply<ListFeedViewsResponse>> {
    let views = feed_views::list_feed_views(&state.ctx).await?;
    Ok(Reply(ListFeedViewsResponse { views: views.iter().map(|v| (v.id.clone(), v.into())).collect() }))
}

/// CreateFeedView — `POST /api/v2/feeds/feed_views`.
pub async fn create_feed_view(
    State(state): State<AppState>,
    _: ServerAuth,
    WireJson(req): WireJson<CreateFeedView>,
) -> ApiResult<Reply<FeedViewBody>> {
    let view = feed_views::create_feed_view(&state.ctx, req).await?;
    Ok(Reply(FeedViewBody { feed_view: (&view).into() }))
}

/// GetFeedView — `GET /api/v2/feeds/feed_views/{id}`.
pub async fn get_feed_view(
    State(state): State<AppState>,
    _: ServerAuth,
    WirePath(id): WirePath<String>,
) -> ApiResult<Reply<FeedViewBody>> {
    let view = feed_views::get_feed_view(&state.ctx, &id).await?;
    Ok(Reply(FeedViewBody { feed_view: (&view).into() }))
}

/// GetOrCreateFeedView — `POST /api/v2/feeds/feed_views/{id}`.
pub async fn get_or_create_feed_view(
    State(state): State<AppState>,
    _: ServerAuth,
    WirePath(id): WirePath<String>,
    WireJson(config): WireJson<FeedViewConfig>,
) -> ApiResult<Reply<GetOrCreateFeedViewResponse>> {
    let (view, was_created) = feed_views::get_or_create_feed_view(&state.ctx, &id, config).await?;
    Ok(Reply(GetOrCreateFeedViewResponse { feed_view: (&view).into(), was_created }))
}

/// UpdateFeedView — `PUT /api/v2/feeds/feed_views/{id}` (full replacement).
pub async fn update_feed_view(
    State(state): State<AppState>,
    _: ServerAuth,
    WirePath(id): WirePath<String>,
    WireJson(config): WireJson<FeedViewConfig>,
) -> ApiResult<Reply<FeedViewBody>> {
    let view = feed_views::update_feed_view(&state.ctx, &id, config).await?;
    Ok(Reply(FeedViewBody { feed_view: (&view).into() }))
}

/// DeleteFeedView — `DELETE /api/v2/feeds/feed_views/{id}`.
pub async fn delete_feed_view(
    State(state): State<AppState>,
    _: ServerAuth,
    WirePath(id): WirePath<String>,
) -> ApiResult<Reply<Empty>> {
    feed_views::delete_feed_view(&state.ctx, &id).await?;
    Ok(Reply(Empty {}))
}
