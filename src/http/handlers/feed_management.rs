use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use serde::{Deserialize, Serialize};

use crate::core::enrichment::{Lookup, OwnWanted};
use crate::core::feed_management::{self, CreateFeedsBatch, DeleteFeedsBatch};
use crate::core::model::{Feed, Fid};
use crate::core::storage::Reader;
use crate::core::{suggestions, QueryRequest};
use crate::http::auth::{Auth, ServerAuth, Visitor};
use crate::http::error::ApiResult;
use crate::http::extract::{WireJson, WirePath, WireQuery};
use crate::http::handlers::users::TaskStarted;
use crate::http::reply::Reply;
use crate::http::{realtime, AppState};
use crate::wire::FeedResponse;

/// The enriched response of each feed, in the order given (one batch of
/// lookups for all of them), with the reader's `own_*` fields if `own`.
async fn feed_responses(state: &AppState, feeds: &[Feed], reader: &Reader, own: bool) -> ApiResult<Vec<FeedResponse>> {
    let fids: Vec<Fid> = feeds.iter().map(|f| f.fid.clone()).collect();
    let mut lookup = Lookup::load(&state.ctx, &[], &[], &fids, reader).await?;
    if let (true, Some(viewer)) = (own, reader.viewer.as_deref()) {
        lookup.add_own(&state.ctx, viewer, &fids, OwnWanted::DEFAULT).await?;
    }
    Ok(feeds
        .iter()
        .map(|f| {
            lookup.feed(&f.fid).unwrap_or_else(|| FeedResponse::new(f, &Default::default(), lookup.user(&f.created_by)))
        })
        .collect())
}

#[derive(Serialize)]
pub struct FeedsResponse {
    feeds: Vec<FeedResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

#[derive(Deserialize)]
pub struct QueryFeedsRequest {
    #[serde(flatten)]
    query: QueryRequest,
    #[serde(default)]
    enrich_own_fields: bool,
    #[serde(default)]
    watch: bool,
}

/// QueryFeeds — `POST /api/v2/feeds/feeds/query`.
pub async fn query_feeds(
    State(state): State<AppState>,
    Visitor(actor): Visitor,
    RawQuery(query): RawQuery,
    WireJson(req): WireJson<QueryFeedsRequest>,
) -> ApiResult<Reply<FeedsResponse>> {
    let page = feed_management::query_feeds(&state.ctx, &actor, &req.query).await?;
    if req.watch {
        let fids: Vec<_> = page.items.iter().map(|f| f.fid.clone()).collect();
        realtime::watch(&state, &actor, realtime::connection_id(query.as_deref()).as_deref(), &fids).await?;
    }
    let feeds = feed_responses(&state, &page.items, &actor.reader(None), req.enrich_own_fields).await?;
    Ok(Reply(FeedsResponse { feeds, next: page.next, prev: page.prev }))
}

/// CreateFeedsBatch — `POST /api/v2/feeds/feeds/batch` (server-side).
pub async fn create_feeds_batch(
    State(state): State<AppState>,
    _: ServerAuth,
    WireJson(req): WireJson<CreateFeedsBatch>,
) -> ApiResult<Reply<FeedsResponse>> {
    let fids = feed_management::create_feeds_batch(&state.ctx, req).await?;
    let lookup = Lookup::load(&state.ctx, &[], &[], &fids, &Reader::default()).await?;
    let feeds = fids.iter().filter_map(|fid| lookup.feed(fid)).collect();
    Ok(Reply(FeedsResponse { feeds, next: None, prev: None }))
}

/// DeleteFeedsBatch — `POST /api/v2/feeds/feeds/delete` (server-side, async).
pub async fn delete_feeds_batch(
    State(state): State<AppState>,
    _: ServerAuth,
    WireJson(req): WireJson<DeleteFeedsBatch>,
) -> ApiResult<Reply<TaskStarted>> {
    let task_id = feed_management::delete_feeds_batch(&state.ctx, req).await?;
    Ok(Reply(TaskStarted { task_id }))
}

#[derive(Serialize)]
pub struct FeedCountsResponse {
    activity_count: i64,
    comment_count: i64,
    total_count: i64,
}

/// GetFeedCounts — `GET /api/v2/feeds/feed_groups/{group}/feeds/{id}/counts`.
pub async fn get_feed_counts(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((group, id)): WirePath<(String, String)>,
) -> ApiResult<Reply<FeedCountsResponse>> {
    let fid = Fid::new(&group, &id)?;
    let totals = feed_management::feed_counts(&state.ctx, &actor, &fid).await?;
    Ok(Reply(FeedCountsResponse {
        activity_count: totals.activity_count,
        comment_count: totals.comment_count,
        total_count: totals.activity_count + totals.comment_count,
    }))
}

#[derive(Deserialize, Default)]
pub struct SuggestionParams {
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    user_id: Option<String>,
}

/// `FeedSuggestionResponse`: a feed and why it is suggested.
#[derive(Serialize)]
pub struct FeedSuggestionResponse {
    #[serde(flatten)]
    feed: FeedResponse,
    reason: String,
    recommendation_score: f64,
    algorithm_scores: BTreeMap<String, f64>,
}

#[derive(Serialize)]
pub struct FollowSuggestionsResponse {
    suggestions: Vec<FeedSuggestionResponse>,
    algorithm_used: &'static str,
}

/// GetFollowSuggestions — `GET /api/v2/feeds/feed_groups/{group}/follow_suggestions`.
pub async fn get_follow_suggestions(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(group): WirePath<String>,
    WireQuery(q): WireQuery<SuggestionParams>,
) -> ApiResult<Reply<FollowSuggestionsResponse>> {
    let found = suggestions::follow_suggestions(&state.ctx, &actor, &group, q.limit, q.user_id.as_deref()).await?;
    let feeds: Vec<Feed> = found.items.iter().map(|s| s.feed.clone()).collect();
    let responses = feed_responses(&state, &feeds, &actor.reader(q.user_id.as_deref()), true).await?;
    let suggestions = found
        .items
        .into_iter()
        .zip(responses)
        .map(|(s, feed)| FeedSuggestionResponse {
            feed,
            reason: s.reason,
            recommendation_score: s.recommendation_score,
            algorithm_scores: s.algorithm_scores,
        })
        .collect();
    Ok(Reply(FollowSuggestionsResponse { suggestions, algorithm_used: found.algorithm_used }))
}
