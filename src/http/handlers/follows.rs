use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::core::enrichment::{Lookup, OwnWanted};
use crate::core::follows::{self, FollowCmd, UnfollowPair};
use crate::core::model::{Fid, Follow};
use crate::core::storage::Reader;
use crate::core::{Actor, Ctx, QueryRequest};
use crate::http::auth::Auth;
use crate::http::error::ApiResult;
use crate::http::extract::{WireJson, WirePath, WireQuery};
use crate::http::reply::Reply;
use crate::http::AppState;
use crate::wire::FollowResponse;

/// Follow responses, with the `own_*` fields of their feeds when asked:
/// for the token's user, or server-side for the owner of the (first)
/// source feed.
async fn follow_lookup(
    ctx: &Ctx,
    actor: &Actor,
    follows: &[Follow],
    enrich: bool,
) -> crate::core::error::Result<Lookup> {
    let mut lookup = Lookup::load(ctx, &[], follows, &[], &Reader::default()).await?;
    if enrich {
        let viewer = match actor {
            Actor::User(me) => Some(me.clone()),
            Actor::Server => {
                follows.first().and_then(|f| lookup.feeds.get(&f.source)).map(|(f, _)| f.created_by.clone())
            }
            Actor::Anonymous => None,
        };
        if let Some(viewer) = viewer {
            let fids: Vec<Fid> = follows.iter().flat_map(|f| [f.source.clone(), f.target.clone()]).collect();
            lookup.add_own(ctx, &viewer, &fids, OwnWanted::DEFAULT).await?;
        }
    }
    Ok(lookup)
}

#[derive(Deserialize)]
pub struct FollowRequest {
    #[serde(flatten)]
    cmd: FollowCmd,
    #[serde(default)]
    enrich_own_fields: bool,
}

#[derive(Serialize)]
pub struct SingleFollowResponse {
    follow: FollowResponse,
    notification_created: bool,
}

/// Follow — `POST /api/v2/feeds/follows`.
pub async fn follow(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<FollowRequest>,
) -> ApiResult<Reply<SingleFollowResponse>> {
    let done = follows::follow(&state.ctx, &actor, req.cmd).await?;
    let lookup = follow_lookup(&state.ctx, &actor, std::slice::from_ref(&done.follow), req.enrich_own_fields).await?;
    Ok(Reply(SingleFollowResponse { follow: lookup.follow(&done.follow), notification_created: done.notified }))
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
    WireJson(req): WireJson<FollowRequest>,
) -> ApiResult<Reply<GetOrCreateFollowResponse>> {
    let done = follows::get_or_create_follow(&state.ctx, &actor, req.cmd).await?;
    let lookup = follow_lookup(&state.ctx, &actor, std::slice::from_ref(&done.follow), req.enrich_own_fields).await?;
    Ok(Reply(GetOrCreateFollowResponse {
        follow: lookup.follow(&done.follow),
        created: done.created,
        notification_created: done.notified,
    }))
}

#[derive(Deserialize)]
pub struct FollowBatchRequest {
    follows: Vec<FollowCmd>,
    #[serde(default)]
    create_users: bool,
    #[serde(default)]
    enrich_own_fields: bool,
}

#[derive(Serialize)]
pub struct FollowBatchResponse {
    created: Vec<FollowResponse>,
    follows: Vec<FollowResponse>,
}

/// FollowBatch — `POST /api/v2/feeds/follows/batch`, and GetOrCreateFollows
/// — `POST /api/v2/feeds/follows/batch/upsert`: both are idempotent, and
/// `created` holds only the new follows.
pub async fn follow_batch(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<FollowBatchRequest>,
) -> ApiResult<Reply<FollowBatchResponse>> {
    let done = follows::follow_batch(&state.ctx, &actor, req.follows, req.create_users).await?;
    let all: Vec<Follow> = done.iter().map(|d| d.follow.clone()).collect();
    let lookup = follow_lookup(&state.ctx, &actor, &all, req.enrich_own_fields).await?;
    Ok(Reply(FollowBatchResponse {
        created: done.iter().filter(|d| d.created).map(|d| lookup.follow(&d.follow)).collect(),
        follows: all.iter().map(|f| lookup.follow(f)).collect(),
    }))
}

#[derive(Serialize)]
pub struct FollowBody {
    follow: FollowResponse,
}

#[derive(Deserialize)]
pub struct AnswerFollow {
    source: String,
    target: String,
    #[serde(default)]
    follower_role: Option<String>,
}

/// AcceptFollow — `POST /api/v2/feeds/follows/accept`.
pub async fn accept_follow(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<AnswerFollow>,
) -> ApiResult<Reply<FollowBody>> {
    let follow = follows::accept_follow(&state.ctx, &actor, &req.source, &req.target, req.follower_role).await?;
    let lookup = follow_lookup(&state.ctx, &actor, std::slice::from_ref(&follow), false).await?;
    Ok(Reply(FollowBody { follow: lookup.follow(&follow) }))
}

/// RejectFollow — `POST /api/v2/feeds/follows/reject`.
pub async fn reject_follow(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<AnswerFollow>,
) -> ApiResult<Reply<FollowBody>> {
    let follow = follows::reject_follow(&state.ctx, &actor, &req.source, &req.target).await?;
    let lookup = follow_lookup(&state.ctx, &actor, std::slice::from_ref(&follow), false).await?;
    Ok(Reply(FollowBody { follow: lookup.follow(&follow) }))
}

/// UpdateFollow — `PATCH /api/v2/feeds/follows`.
pub async fn update_follow(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<FollowRequest>,
) -> ApiResult<Reply<FollowBody>> {
    let follow = follows::update_follow(&state.ctx, &actor, req.cmd).await?;
    let lookup = follow_lookup(&state.ctx, &actor, std::slice::from_ref(&follow), req.enrich_own_fields).await?;
    Ok(Reply(FollowBody { follow: lookup.follow(&follow) }))
}

#[derive(Deserialize, Default)]
pub struct UnfollowParams {
    #[serde(default)]
    keep_history: bool,
    #[serde(default)]
    delete_notification_activity: bool,
    #[serde(default)]
    enrich_own_fields: bool,
}

/// Unfollow — `DELETE /api/v2/feeds/follows/{source}/{target}`.
pub async fn unfollow(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((source, target)): WirePath<(String, String)>,
    WireQuery(q): WireQuery<UnfollowParams>,
) -> ApiResult<Reply<FollowBody>> {
    let pair = UnfollowPair { source, target, keep_history: Some(q.keep_history) };
    let removed = follows::unfollow(&state.ctx, &actor, vec![pair], true, q.delete_notification_activity).await?;
    let lookup = follow_lookup(&state.ctx, &actor, &removed, q.enrich_own_fields).await?;
    let follow = removed.first().map(|f| lookup.follow(f));
    Ok(Reply(FollowBody { follow: follow.ok_or_else(|| crate::core::error::Error::internal("no follow removed"))? }))
}

#[derive(Deserialize)]
pub struct GetOrCreateUnfollowRequest {
    source: String,
    target: String,
    #[serde(default)]
    keep_history: Option<bool>,
    #[serde(default)]
    delete_notification_activity: bool,
    #[serde(default)]
    enrich_own_fields: bool,
}

#[derive(Serialize)]
pub struct GetOrCreateUnfollowResponse {
    deleted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    follow: Option<FollowResponse>,
}

/// GetOrCreateUnfollow — `POST /api/v2/feeds/unfollow/upsert`: unfollowing
/// what is not followed is not an error.
pub async fn get_or_create_unfollow(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<GetOrCreateUnfollowRequest>,
) -> ApiResult<Reply<GetOrCreateUnfollowResponse>> {
    let pair = UnfollowPair { source: req.source, target: req.target, keep_history: req.keep_history };
    let removed = follows::unfollow(&state.ctx, &actor, vec![pair], false, req.delete_notification_activity).await?;
    let lookup = follow_lookup(&state.ctx, &actor, &removed, req.enrich_own_fields).await?;
    Ok(Reply(GetOrCreateUnfollowResponse {
        deleted: !removed.is_empty(),
        follow: removed.first().map(|f| lookup.follow(f)),
    }))
}

#[derive(Deserialize)]
pub struct UnfollowBatchRequest {
    follows: Vec<UnfollowPair>,
    #[serde(default)]
    delete_notification_activity: bool,
    #[serde(default)]
    enrich_own_fields: bool,
}

#[derive(Serialize)]
pub struct UnfollowBatchResponse {
    follows: Vec<FollowResponse>,
}

async fn unfollow_many(
    state: AppState,
    actor: Actor,
    req: UnfollowBatchRequest,
    require_all: bool,
) -> ApiResult<Reply<UnfollowBatchResponse>> {
    let removed =
        follows::unfollow(&state.ctx, &actor, req.follows, require_all, req.delete_notification_activity).await?;
    let lookup = follow_lookup(&state.ctx, &actor, &removed, req.enrich_own_fields).await?;
    Ok(Reply(UnfollowBatchResponse { follows: removed.iter().map(|f| lookup.follow(f)).collect() }))
}

/// UnfollowBatch — `POST /api/v2/feeds/unfollow/batch`: every pair must be
/// followed, or nothing is removed.
pub async fn unfollow_batch(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<UnfollowBatchRequest>,
) -> ApiResult<Reply<UnfollowBatchResponse>> {
    unfollow_many(state, actor, req, true).await
}

/// GetOrCreateUnfollows — `POST /api/v2/feeds/unfollow/batch/upsert`:
/// pairs that are not followed are skipped.
pub async fn get_or_create_unfollows(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<UnfollowBatchRequest>,
) -> ApiResult<Reply<UnfollowBatchResponse>> {
    unfollow_many(state, actor, req, false).await
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
    Auth(actor): Auth,
    WireJson(req): WireJson<QueryRequest>,
) -> ApiResult<Reply<QueryFollowsResponse>> {
    let page = follows::query_follows(&state.ctx, &actor, req).await?;
    let lookup = Lookup::load(&state.ctx, &[], &page.items, &[], &Reader::default()).await?;
    Ok(Reply(QueryFollowsResponse {
        follows: page.items.iter().map(|f| lookup.follow(f)).collect(),
        next: page.next,
        prev: page.prev,
    }))
}
