use axum::extract::{RawQuery, State};
use serde::{Deserialize, Serialize};

use crate::core::enrichment::Lookup;
use crate::core::feed_read::{self, GetOrCreateFeed};
use crate::core::feeds::{self, UpdateFeed};
use crate::core::model::Fid;
use crate::core::notification_feeds::{self, MarkActivity};
use crate::core::storage::Reader;
use crate::http::auth::{Auth, Visitor};
use crate::http::error::ApiResult;
use crate::http::extract::{WireJson, WireLanguage, WirePath, WireQuery};
use crate::http::handlers::users::TaskStarted;
use crate::http::reply::{Empty, Reply};
use crate::http::{realtime, AppState};
use crate::wire::{
    ActivityPinResponse, ActivityResponse, AggregatedActivityResponse, FeedMemberResponse, FeedResponse,
    FollowResponse, NotificationStatusResponse,
};

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
    aggregated_activities: Vec<AggregatedActivityResponse>,
    pinned_activities: Vec<ActivityPinResponse>,
    followers: Vec<FollowResponse>,
    following: Vec<FollowResponse>,
    members: Vec<FeedMemberResponse>,
    followers_pagination: PagerResponse,
    following_pagination: PagerResponse,
    member_pagination: PagerResponse,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification_status: Option<NotificationStatusResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

/// GetOrCreateFeed — `POST /api/v2/feeds/feed_groups/{group}/feeds/{id}`.
pub async fn get_or_create_feed(
    State(state): State<AppState>,
    Visitor(actor): Visitor,
    WirePath((group, id)): WirePath<(String, String)>,
    RawQuery(query): RawQuery,
    WireLanguage(language): WireLanguage,
    WireJson(req): WireJson<GetOrCreateFeed>,
) -> ApiResult<Reply<GetOrCreateFeedResponse>> {
    let fid = Fid::new(&group, &id)?;
    let watch = req.watch == Some(true);
    let mut read = feed_read::get_or_create_feed(&state.ctx, &actor, fid.clone(), req).await?;
    read.lookup.language = language;
    if watch {
        realtime::watch(
            &state,
            &actor,
            realtime::connection_id(query.as_deref()).as_deref(),
            std::slice::from_ref(&fid),
        )
        .await?;
    }
    let lookup = &read.lookup;
    Ok(Reply(GetOrCreateFeedResponse {
        feed: lookup
            .feed(&fid)
            .unwrap_or_else(|| FeedResponse::new(&read.feed, &Default::default(), lookup.user(&read.feed.created_by))),
        created: read.created,
        activities: read.activities.iter().map(|a| lookup.activity(a, Some(&fid))).collect(),
        aggregated_activities: read
            .groups
            .iter()
            .map(|g| {
                let activities = g.group.activities.iter().map(|a| lookup.activity(a, Some(&fid))).collect();
                AggregatedActivityResponse::new(g, activities)
            })
            .collect(),
        notification_status: read.notification_status.as_ref().map(NotificationStatusResponse::from),
        pinned_activities: read.pinned.as_ref().map(|p| lookup.pins(p)).unwrap_or_default(),
        followers: read.followers.items.iter().map(|f| lookup.follow(f)).collect(),
        following: read.following.items.iter().map(|f| lookup.follow(f)).collect(),
        members: read.members.items.iter().map(|m| lookup.member(m)).collect(),
        followers_pagination: PagerResponse { next: read.followers.next, prev: read.followers.prev },
        following_pagination: PagerResponse { next: read.following.next, prev: read.following.prev },
        member_pagination: PagerResponse { next: read.members.next, prev: read.members.prev },
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
    #[serde(default)]
    purge_user_activities: bool,
}

/// DeleteFeed — `DELETE /api/v2/feeds/feed_groups/{group}/feeds/{id}` (async).
pub async fn delete_feed(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((group, id)): WirePath<(String, String)>,
    WireQuery(q): WireQuery<DeleteFeedParams>,
) -> ApiResult<Reply<TaskStarted>> {
    let fid = Fid::new(&group, &id)?;
    let task_id = feeds::delete_feed(&state.ctx, &actor, &fid, q.hard_delete, q.purge_user_activities).await?;
    Ok(Reply(TaskStarted { task_id }))
}

#[derive(Deserialize)]
pub struct ChangeVisibility {
    visibility: String,
    #[serde(default)]
    pending_follows_action: Option<String>,
}

/// ChangeFeedVisibility — `POST …/feeds/{feed}/change_visibility`.
pub async fn change_feed_visibility(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((group, id)): WirePath<(String, String)>,
    WireJson(req): WireJson<ChangeVisibility>,
) -> ApiResult<Reply<FeedBody>> {
    let fid = Fid::new(&group, &id)?;
    let feed =
        feeds::change_visibility(&state.ctx, &actor, &fid, &req.visibility, req.pending_follows_action.as_deref())
            .await?;
    let lookup = Lookup::load(&state.ctx, &[], &[], std::slice::from_ref(&fid), &Reader::default()).await?;
    let feed = lookup
        .feed(&fid)
        .unwrap_or_else(|| FeedResponse::new(&feed, &Default::default(), lookup.user(&feed.created_by)));
    Ok(Reply(FeedBody { feed }))
}

#[derive(Deserialize)]
pub struct OwnBatchRequest {
    feeds: Vec<String>,
    #[serde(default)]
    fields: Option<Vec<String>>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    user: Option<crate::core::users::UserInput>,
}

#[derive(Serialize)]
pub struct FeedOwnData {
    #[serde(skip_serializing_if = "Option::is_none")]
    own_capabilities: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    own_follows: Option<Vec<FollowResponse>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    own_followings: Option<Vec<FollowResponse>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    own_membership: Option<FeedMemberResponse>,
}

#[derive(Serialize)]
pub struct OwnBatchResponse {
    data: std::collections::BTreeMap<String, FeedOwnData>,
}

/// OwnBatch — `POST /api/v2/feeds/feeds/own/batch`: the caller's (or,
/// server-side, `user_id`'s) `own_*` fields for up to 100 feeds at once.
/// Feeds that do not exist are left out.
pub async fn own_batch(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<OwnBatchRequest>,
) -> ApiResult<Reply<OwnBatchResponse>> {
    let fids = feeds::parse_fids("feeds", &req.feeds, feeds::MAX_OWN_BATCH)?;
    let wanted = feeds::own_wanted(req.fields.as_deref())?;
    let named = req.user_id.or(req.user.map(|u| u.id));
    let viewer = actor.acting_user(named.as_deref())?;
    let mut lookup = Lookup::default();
    lookup.add_feeds(&state.ctx, &fids).await?;
    let live: Vec<Fid> =
        fids.into_iter().filter(|f| lookup.feeds.get(f).is_some_and(|(f, _)| f.deleted_at.is_none())).collect();
    lookup.add_own(&state.ctx, &viewer, &live, wanted).await?;
    let data = live
        .iter()
        .filter_map(|fid| lookup.feed(fid).map(|f| (fid.to_string(), f)))
        .map(|(fid, f)| {
            let data = FeedOwnData {
                own_capabilities: f.own_capabilities,
                own_follows: f.own_follows,
                own_followings: f.own_followings,
                own_membership: f.own_membership,
            };
            (fid, data)
        })
        .collect();
    Ok(Reply(OwnBatchResponse { data }))
}

/// MarkActivity — `POST /api/v2/feeds/feed_groups/{group}/feeds/{id}/activities/mark/batch`.
pub async fn mark_activity(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((group, id)): WirePath<(String, String)>,
    WireJson(req): WireJson<MarkActivity>,
) -> ApiResult<Reply<Empty>> {
    let fid = Fid::new(&group, &id)?;
    notification_feeds::mark_activity(&state.ctx, &actor, &fid, req).await?;
    Ok(Reply(Empty {}))
}
