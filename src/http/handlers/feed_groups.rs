//! Feed-group CRUD; server-side only.

use std::collections::BTreeMap;

use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::core::feed_groups::{self, CreateFeedGroup};
use crate::core::model::FeedGroupConfig;
use crate::http::auth::ServerAuth;
use crate::http::error::ApiResult;
use crate::http::extract::{WireJson, WirePath, WireQuery};
use crate::http::reply::{Empty, Reply};
use crate::http::AppState;
use crate::wire::FeedGroupResponse;

#[derive(Deserialize, Default)]
pub struct SoftDeletedParam {
    #[serde(default)]
    include_soft_deleted: bool,
}

#[derive(Deserialize, Default)]
pub struct HardDeleteParam {
    #[serde(default)]
    hard_delete: bool,
}

#[derive(Serialize)]
pub struct FeedGroupBody {
    feed_group: FeedGroupResponse,
}

#[derive(Serialize)]
pub struct GetOrCreateFeedGroupResponse {
    feed_group: FeedGroupResponse,
    was_created: bool,
}

#[derive(Serialize)]
pub struct ListFeedGroupsResponse {
    groups: BTreeMap<String, FeedGroupResponse>,
}

/// ListFeedGroups — `GET /api/v2/feeds/feed_groups`.
pub async fn list_feed_groups(
    State(state): State<AppState>,
    _: ServerAuth,
    WireQuery(q): WireQuery<SoftDeletedParam>,
) -> ApiResult<Reply<ListFeedGroupsResponse>> {
    let groups = feed_groups::list_feed_groups(&state.ctx, q.include_soft_deleted).await?;
    Ok(Reply(ListFeedGroupsResponse { groups: groups.iter().map(|g| (g.id.clone(), g.into())).collect() }))
}

/// CreateFeedGroup — `POST /api/v2/feeds/feed_groups`.
pub async fn create_feed_group(
    State(state): State<AppState>,
    _: ServerAuth,
    WireJson(req): WireJson<CreateFeedGroup>,
) -> ApiResult<Reply<FeedGroupBody>> {
    let group = feed_groups::create_feed_group(&state.ctx, req).await?;
    Ok(Reply(FeedGroupBody { feed_group: (&group).into() }))
}

/// GetFeedGroup — `GET /api/v2/feeds/feed_groups/{id}`.
pub async fn get_feed_group(
    State(state): State<AppState>,
    _: ServerAuth,
    WirePath(id): WirePath<String>,
    WireQuery(q): WireQuery<SoftDeletedParam>,
) -> ApiResult<Reply<FeedGroupBody>> {
    let group = feed_groups::get_feed_group(&state.ctx, &id, q.include_soft_deleted).await?;
    Ok(Reply(FeedGroupBody { feed_group: (&group).into() }))
}

/// GetOrCreateFeedGroup — `POST /api/v2/feeds/feed_groups/{id}`.
pub async fn get_or_create_feed_group(
    State(state): State<AppState>,
    _: ServerAuth,
    WirePath(id): WirePath<String>,
    WireJson(config): WireJson<FeedGroupConfig>,
) -> ApiResult<Reply<GetOrCreateFeedGroupResponse>> {
    let (group, was_created) = feed_groups::get_or_create_feed_group(&state.ctx, &id, config).await?;
    Ok(Reply(GetOrCreateFeedGroupResponse { feed_group: (&group).into(), was_created }))
}

/// UpdateFeedGroup — `PUT /api/v2/feeds/feed_groups/{id}` (full replacement).
pub async fn update_feed_group(
    State(state): State<AppState>,
    _: ServerAuth,
    WirePath(id): WirePath<String>,
    WireJson(config): WireJson<FeedGroupConfig>,
) -> ApiResult<Reply<FeedGroupBody>> {
    let group = feed_groups::update_feed_group(&state.ctx, &id, config).await?;
    Ok(Reply(FeedGroupBody { feed_group: (&group).into() }))
}

/// DeleteFeedGroup — `DELETE /api/v2/feeds/feed_groups/{id}`.
pub async fn delete_feed_group(
    State(state): State<AppState>,
    _: ServerAuth,
    WirePath(id): WirePath<String>,
    WireQuery(q): WireQuery<HardDeleteParam>,
) -> ApiResult<Reply<Empty>> {
    feed_groups::delete_feed_group(&state.ctx, &id, q.hard_delete).await?;
    Ok(Reply(Empty {}))
}

/// RestoreFeedGroup — `POST /api/v2/feeds/feed_groups/{feed_group_id}/restore`.
pub async fn restore_feed_group(
    State(state): State<AppState>,
    _: ServerAuth,
    WirePath(id): WirePath<String>,
) -> ApiResult<Reply<FeedGroupBody>> {
    let group = feed_groups::restore_feed_group(&state.ctx, &id).await?;
    Ok(Reply(FeedGroupBody { feed_group: (&group).into() }))
}
