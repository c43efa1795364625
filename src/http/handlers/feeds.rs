use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::core::feeds::{self, GetOrCreateFeed, UpdateFeed};
use crate::core::model::Fid;
use crate::core::Lookup;
use crate::http::auth::Auth;
use crate::http::error::ApiResult;
use crate::http::extract::{WireJson, WirePath, WireQuery};
use crate::http::handlers::users::TaskStarted;
use crate::http::reply::Reply;
use crate::http::AppState;
use crate::store::Reader;
use crate::wire::{ActivityPinResponse, ActivityResponse, FeedResponse, FollowResponse};

#[derive(Serialize)]
pub struct PagerResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

#[derive(Serialize)]
pub struct GetOrCreateFeedResponse {
    feed: FeedResponse,
    created: bool,
    activities: Vec<ActivityResponse>,
    aggregated_activities: Vec<serde_json::Value>,
    pinned_activities: Vec<ActivityPinResponse>,
    followers: Vec<FollowResponse>,
    following: Vec<FollowResponse>,
    members: Vec<serde_json::Value>,
    followers_pagination: PagerResponse,
    following_pagination: PagerResponse,
    member_pagination: PagerResponse,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

/// GetOrCreateFeed — `POST /api/v2/feeds/feed_groups/{group}/feeds/{id}`.
pub async fn get_or_create_feed(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((group, id)): WirePath<(String, String)>,
    WireJson(req): WireJson<GetOrCreateFeed>,
) -> ApiResult<Reply<GetOrCreateFeedResponse>> {
    let fid = Fid::new(&group, &id)?;
    let named = req.user_id.clone().or_else(|| req.user.as_ref().map(|u| u.id.clone()));
    let read = feeds::get_or_create_feed(&state.ctx, &actor, fid.clone(), req).await?;
    let follows: Vec<_> = read.followers.items.iter().chain(&read.following.items).cloned().collect();
    let reader = actor.reader(named.as_deref());
    let mut activities = read.activities.clone();
    let mut pin_users = Vec::new();
    if let Some(pinned) = &read.pinned {
        activities.extend(pinned.activities.values().cloned());
        pin_users.extend(pinned.pins.items.iter().map(|p| p.user_id.clone()));
    }
    let fids = std::slice::from_ref(&fid);
    let lookup = Lookup::load_with_users(&state.ctx, &activities, &follows, fids, &pin_users, &reader).await?;
    Ok(Reply(GetOrCreateFeedResponse {
        feed: lookup
            .feed(&fid)
            .unwrap_or_else(|| FeedResponse::new(&read.feed, &Default::default(), lookup.user(&read.feed.created_by))),
        created: read.created,
        activities: read.activities.iter().map(|a| lookup.activity(a, Some(&fid))).collect(),
        aggregated_activities: Vec::new(),
        pinned_activities: read.pinned.as_ref().map(|p| lookup.pins(p)).unwrap_or_default(),
        followers: read.followers.items.iter().map(|f| lookup.follow(f)).collect(),
        following: read.following.items.iter().map(|f| lookup.follow(f)).collect(),
        members: Vec::new(),
        followers_pagination: PagerResponse { next: read.followers.next, prev: read.followers.prev },
        following_pagination: PagerResponse { next: read.following.next, prev: read.following.prev },
        member_pagination: PagerResponse { next: None, prev: None },
        next: read.next,
        prev: read.prev,
    }))
}

#[derive(Serialize)]
pub struct FeedBody {
    feed: FeedResponse,
}

/// UpdateFeed — `PUT /api/v2/feeds/feed_groups/{group}/feeds/{id}`.
pub async fn update_feed(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((group, id)): WirePath<(String, String)>,
    WireJson(req): WireJson<UpdateFeed>,
) -> ApiResult<Reply<FeedBody>> {
    let fid = Fid::new(&group, &id)?;
    let feed = feeds::update_feed(&state.ctx, &actor, &fid, req).await?;
    let lookup = Lookup::load(&state.ctx, &[], &[], std::slice::from_ref(&fid), &Reader::default()).await?;
    let feed = lookup
        .feed(&fid)
        .unwrap_or_else(|| FeedResponse::new(&feed, &Default::default(), lookup.user(&feed.created_by)));
    Ok(Reply(FeedBody { feed }))
}

#[derive(Deserialize, Default)]
pub struct DeleteFeedParams {
    #[serde(default)]
    hard_delete: bool,
}

/// DeleteFeed — `DELETE /api/v2/feeds/feed_groups/{group}/feeds/{id}` (async).
pub async fn delete_feed(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((group, id)): WirePath<(String, String)>,
    WireQuery(q): WireQuery<DeleteFeedParams>,
) -> ApiResult<Reply<TaskStarted>> {
    let fid = Fid::new(&group, &id)?;
    let task_id = feeds::delete_feed(&state.ctx, &actor, &fid, q.hard_delete).await?;
    Ok(Reply(TaskStarted { task_id }))
}
