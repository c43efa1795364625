use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::core::follows::{self, FollowCmd};
use crate::core::Lookup;
use crate::core::QueryRequest;
use crate::http::auth::Auth;
use crate::http::error::ApiResult;
use crate::http::extract::{WireJson, WirePath, WireQuery};
use crate::http::reply::Reply;
use crate::http::AppState;
use crate::store::Reader;
use crate::wire::FollowResponse;

#[derive(Serialize)]
pub struct SingleFollowResponse {
    follow: FollowResponse,
    notification_created: bool,
}

/// Follow — `POST /api/v2/feeds/follows`.
pub async fn follow(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<FollowCmd>,
) -> ApiResult<Reply<SingleFollowResponse>> {
    let follow = follows::follow(&state.ctx, &actor, req).await?;
    let lookup = Lookup::load(&state.ctx, &[], std::slice::from_ref(&follow), &[], &Reader::default()).await?;
    Ok(Reply(SingleFollowResponse { follow: lookup.follow(&follow), notification_created: false }))
}

#[derive(Serialize)]
pub struct GetOrCreateFollowResponse {
    follow: FollowResponse,
    created: bool,
    notification_created: bool,
}

/// GetOrCreateFollow — `POST /api/v2/feeds/follows/upsert`.
pub async fn get_or_create_follow(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<FollowCmd>,
) -> ApiResult<Reply<GetOrCreateFollowResponse>> {
    let (follow, created) = follows::get_or_create_follow(&state.ctx, &actor, req).await?;
    let lookup = Lookup::load(&state.ctx, &[], std::slice::from_ref(&follow), &[], &Reader::default()).await?;
    Ok(Reply(GetOrCreateFollowResponse { follow: lookup.follow(&follow), created, notification_created: false }))
}

#[derive(Deserialize, Default)]
pub struct UnfollowParams {
    #[serde(default)]
    keep_history: bool,
}

#[derive(Serialize)]
pub struct UnfollowResponse {
    follow: FollowResponse,
}

/// Unfollow — `DELETE /api/v2/feeds/follows/{source}/{target}`.
pub async fn unfollow(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((source, target)): WirePath<(String, String)>,
    WireQuery(q): WireQuery<UnfollowParams>,
) -> ApiResult<Reply<UnfollowResponse>> {
    let follow = follows::unfollow(&state.ctx, &actor, &source, &target, q.keep_history).await?;
    let lookup = Lookup::load(&state.ctx, &[], std::slice::from_ref(&follow), &[], &Reader::default()).await?;
    Ok(Reply(UnfollowResponse { follow: lookup.follow(&follow) }))
}

#[derive(Serialize)]
pub struct QueryFollowsResponse {
    follows: Vec<FollowResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

/// QueryFollows — `POST /api/v2/feeds/follows/query`.
pub async fn query_follows(
    State(state): State<AppState>,
    Auth(_): Auth,
    WireJson(req): WireJson<QueryRequest>,
) -> ApiResult<Reply<QueryFollowsResponse>> {
    let page = follows::query_follows(&state.ctx, req).await?;
    let lookup = Lookup::load(&state.ctx, &[], &page.items, &[], &Reader::default()).await?;
    Ok(Reply(QueryFollowsResponse {
        follows: page.items.iter().map(|f| lookup.follow(f)).collect(),
        next: page.next,
        prev: page.prev,
    }))
}
