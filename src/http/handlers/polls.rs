//! The common polls API and voting through activities.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::core::enrichment::Lookup;
use crate::core::model::Poll;
use crate::core::polls::{self, CastVote, PollInput, PollOptionInput};
use crate::core::{Actor, Ctx, QueryRequest};
use crate::http::auth::Auth;
use crate::http::error::ApiResult;
use crate::http::extract::{WireJson, WirePath, WireQuery};
use crate::http::reply::{Empty, Reply};
use crate::http::AppState;
use crate::wire::{PollOptionResponseData, PollResponseData, PollVoteResponseData};

#[derive(Deserialize, Default)]
pub struct UserIdParam {
    #[serde(default)]
    user_id: Option<String>,
}

#[derive(Serialize)]
pub struct PollResponse {
    poll: PollResponseData,
}

async fn poll_response(ctx: &Ctx, actor: &Actor, poll: &Poll, named: Option<&str>) -> ApiResult<Reply<PollResponse>> {
    actor.may_name(named)?;
    let lookup = Lookup::for_polls(ctx, std::slice::from_ref(&poll.id), actor.viewer(named)).await?;
    let poll = lookup.poll(&poll.id).ok_or_else(|| crate::core::error::Error::not_found("poll", &poll.id))?;
    Ok(Reply(PollResponse { poll }))
}

/// CreatePoll — `POST /api/v2/polls`.
pub async fn create_poll(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<PollInput>,
) -> ApiResult<Reply<PollResponse>> {
    let named = req.user_id.clone();
    let poll = polls::create_poll(&state.ctx, &actor, req).await?;
    poll_response(&state.ctx, &actor, &poll, named.as_deref()).await
}

/// UpdatePoll — `PUT /api/v2/polls` (full replacement).
pub async fn update_poll(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<PollInput>,
) -> ApiResult<Reply<PollResponse>> {
    let editor = actor.editor(&state.ctx, req.user_id.as_deref()).await?;
    let poll = polls::update_poll(&state.ctx, &actor, req).await?;
    poll_response(&state.ctx, &actor, &poll, editor.as_deref()).await
}

/// GetPoll — `GET /api/v2/polls/{poll_id}`.
pub async fn get_poll(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(id): WirePath<String>,
    WireQuery(q): WireQuery<UserIdParam>,
) -> ApiResult<Reply<PollResponse>> {
    let poll = polls::get_poll(&state.ctx, &id).await?;
    poll_response(&state.ctx, &actor, &poll, q.user_id.as_deref()).await
}

#[derive(Deserialize, Default)]
pub struct UpdatePollPartialRequest {
    #[serde(default)]
    set: Option<Map<String, Value>>,
    #[serde(default)]
    unset: Option<Vec<String>>,
    #[serde(default)]
    user_id: Option<String>,
}

/// UpdatePollPartial — `PATCH /api/v2/polls/{poll_id}`.
pub async fn update_poll_partial(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(id): WirePath<String>,
    WireJson(req): WireJson<UpdatePollPartialRequest>,
) -> ApiResult<Reply<PollResponse>> {
    let editor = actor.editor(&state.ctx, req.user_id.as_deref()).await?;
    let set = req.set.unwrap_or_default();
    let poll = polls::update_poll_partial(&state.ctx, &actor, &id, set, req.unset.unwrap_or_default()).await?;
    poll_response(&state.ctx, &actor, &poll, editor.as_deref()).await
}

/// DeletePoll — `DELETE /api/v2/polls/{poll_id}`.
pub async fn delete_poll(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(id): WirePath<String>,
    WireQuery(q): WireQuery<UserIdParam>,
) -> ApiResult<Reply<Empty>> {
    actor.editor(&state.ctx, q.user_id.as_deref()).await?;
    polls::delete_poll(&state.ctx, &actor, &id).await?;
    Ok(Reply(Empty {}))
}

#[derive(Serialize)]
pub struct QueryPollsResponse {
    polls: Vec<PollResponseData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

/// QueryPolls — `POST /api/v2/polls/query`.
pub async fn query_polls(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireQuery(q): WireQuery<UserIdParam>,
    WireJson(req): WireJson<QueryRequest>,
) -> ApiResult<Reply<QueryPollsResponse>> {
    actor.may_name(q.user_id.as_deref())?;
    let page = polls::query_polls(&state.ctx, req).await?;
    let ids: Vec<String> = page.items.iter().map(|p| p.id.clone()).collect();
    let lookup = Lookup::for_polls(&state.ctx, &ids, actor.viewer(q.user_id.as_deref())).await?;
    Ok(Reply(QueryPollsResponse {
        polls: ids.iter().filter_map(|id| lookup.poll(id)).collect(),
        next: page.next,
        prev: page.prev,
    }))
}

#[derive(Serialize)]
pub struct PollOptionResponse {
    poll_option: PollOptionResponseData,
}

/// CreatePollOption — `POST /api/v2/polls/{poll_id}/options`.
pub async fn create_poll_option(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(poll_id): WirePath<String>,
    WireJson(req): WireJson<PollOptionInput>,
) -> ApiResult<Reply<PollOptionResponse>> {
    actor.editor(&state.ctx, req.user_id.as_deref()).await?;
    let option = polls::create_poll_option(&state.ctx, &actor, &poll_id, req).await?;
    Ok(Reply(PollOptionResponse { poll_option: (&option).into() }))
}

/// UpdatePollOption — `PUT /api/v2/polls/{poll_id}/options`.
pub async fn update_poll_option(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(poll_id): WirePath<String>,
    WireJson(req): WireJson<PollOptionInput>,
) -> ApiResult<Reply<PollOptionResponse>> {
    actor.editor(&state.ctx, req.user_id.as_deref()).await?;
    let option = polls::update_poll_option(&state.ctx, &actor, &poll_id, req).await?;
    Ok(Reply(PollOptionResponse { poll_option: (&option).into() }))
}

/// GetPollOption — `GET /api/v2/polls/{poll_id}/options/{option_id}`.
pub async fn get_poll_option(
    State(state): State<AppState>,
    Auth(_): Auth,
    WirePath((poll_id, option_id)): WirePath<(String, String)>,
) -> ApiResult<Reply<PollOptionResponse>> {
    let option = polls::get_poll_option(&state.ctx, &poll_id, &option_id).await?;
    Ok(Reply(PollOptionResponse { poll_option: (&option).into() }))
}

/// DeletePollOption — `DELETE /api/v2/polls/{poll_id}/options/{option_id}`.
pub async fn delete_poll_option(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((poll_id, option_id)): WirePath<(String, String)>,
    WireQuery(q): WireQuery<UserIdParam>,
) -> ApiResult<Reply<Empty>> {
    actor.editor(&state.ctx, q.user_id.as_deref()).await?;
    polls::delete_poll_option(&state.ctx, &actor, &poll_id, &option_id).await?;
    Ok(Reply(Empty {}))
}

#[derive(Serialize)]
pub struct PollVotesResponse {
    votes: Vec<PollVoteResponseData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

/// QueryPollVotes — `POST /api/v2/polls/{poll_id}/votes`.
pub async fn query_poll_votes(
    State(state): State<AppState>,
    Auth(_): Auth,
    WirePath(poll_id): WirePath<String>,
    WireJson(req): WireJson<QueryRequest>,
) -> ApiResult<Reply<PollVotesResponse>> {
    let page = polls::query_poll_votes(&state.ctx, &poll_id, req).await?;
    let lookup = Lookup::for_polls(&state.ctx, std::slice::from_ref(&poll_id), None).await?;
    let voters: Vec<String> = page.items.iter().map(|v| v.user_id.clone()).collect();
    let users = Lookup::users(&state.ctx, &voters).await?;
    let anonymous = lookup.polls.get(&poll_id).is_some_and(|(p, _)| p.voting_visibility == "anonymous");
    Ok(Reply(PollVotesResponse {
        votes: page.items.iter().map(|v| users.vote(v, anonymous)).collect(),
        next: page.next,
        prev: page.prev,
    }))
}

#[derive(Serialize)]
pub struct PollVoteResponse {
    poll: PollResponseData,
    vote: PollVoteResponseData,
}

async fn vote_response(
    ctx: &Ctx,
    poll: &Poll,
    vote: &crate::core::model::PollVote,
) -> ApiResult<Reply<PollVoteResponse>> {
    let lookup = Lookup::for_polls(ctx, std::slice::from_ref(&poll.id), Some(&vote.user_id)).await?;
    let poll_data = lookup.poll(&poll.id).ok_or_else(|| crate::core::error::Error::not_found("poll", &poll.id))?;
    let users = Lookup::users(ctx, std::slice::from_ref(&vote.user_id)).await?;
    Ok(Reply(PollVoteResponse { poll: poll_data, vote: users.vote(vote, false) }))
}

/// CastPollVote — `POST /api/v2/feeds/activities/{activity_id}/polls/{poll_id}/vote`.
pub async fn cast_poll_vote(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((activity_id, poll_id)): WirePath<(String, String)>,
    WireJson(req): WireJson<CastVote>,
) -> ApiResult<Reply<PollVoteResponse>> {
    let (vote, poll) = polls::cast_poll_vote(&state.ctx, &actor, &activity_id, &poll_id, req).await?;
    vote_response(&state.ctx, &poll, &vote).await
}

/// DeletePollVote — `DELETE /api/v2/feeds/activities/{activity_id}/polls/{poll_id}/vote/{vote_id}`.
pub async fn delete_poll_vote(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((activity_id, poll_id, vote_id)): WirePath<(String, String, String)>,
    WireQuery(q): WireQuery<UserIdParam>,
) -> ApiResult<Reply<PollVoteResponse>> {
    let (vote, poll) =
        polls::delete_poll_vote(&state.ctx, &actor, &activity_id, &poll_id, &vote_id, q.user_id.as_deref()).await?;
    vote_response(&state.ctx, &poll, &vote).await
}
