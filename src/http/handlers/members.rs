use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::core::enrichment::Lookup;
use crate::core::members::{self, UpdateMembers};
use crate::core::model::{FeedMember, Fid};
use crate::core::QueryRequest;
use crate::http::auth::Auth;
use crate::http::error::ApiResult;
use crate::http::extract::{WireJson, WirePath};
use crate::http::reply::Reply;
use crate::http::AppState;
use crate::wire::FeedMemberResponse;

async fn member_lookup(state: &AppState, members: &[&FeedMember]) -> crate::core::error::Result<Lookup> {
    Lookup::for_members(&state.ctx, members).await
}

#[derive(Serialize)]
pub struct UpdateFeedMembersResponse {
    added: Vec<FeedMemberResponse>,
    updated: Vec<FeedMemberResponse>,
    removed_ids: Vec<String>,
}

/// UpdateFeedMembers — `PATCH …/feeds/{feed}/members`.
pub async fn update_feed_members(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((group, id)): WirePath<(String, String)>,
    WireJson(req): WireJson<UpdateMembers>,
) -> ApiResult<Reply<UpdateFeedMembersResponse>> {
    let fid = Fid::new(&group, &id)?;
    let changes = members::update_members(&state.ctx, &actor, &fid, req).await?;
    let all: Vec<&FeedMember> = changes.added.iter().chain(&changes.updated).collect();
    let lookup = member_lookup(&state, &all).await?;
    Ok(Reply(UpdateFeedMembersResponse {
        added: changes.added.iter().map(|m| lookup.member(m)).collect(),
        updated: changes.updated.iter().map(|m| lookup.member(m)).collect(),
        removed_ids: changes.removed_ids,
    }))
}

#[derive(Deserialize, Default)]
pub struct InviteAnswer {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    user: Option<crate::core::users::UserInput>,
}

#[derive(Serialize)]
pub struct MemberBody {
    member: FeedMemberResponse,
}

async fn answer(
    state: AppState,
    actor: crate::core::Actor,
    group: String,
    id: String,
    req: InviteAnswer,
    accept: bool,
) -> ApiResult<Reply<MemberBody>> {
    let fid = Fid::new(&group, &id)?;
    let named = req.user_id.or(req.user.map(|u| u.id));
    let member = members::answer_invite(&state.ctx, &actor, &fid, named.as_deref(), accept).await?;
    let lookup = member_lookup(&state, &[&member]).await?;
    Ok(Reply(MemberBody { member: lookup.member(&member) }))
}

/// AcceptFeedMemberInvite — `POST …/feeds/{feed}/members/accept`.
pub async fn accept_feed_member_invite(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((group, id)): WirePath<(String, String)>,
    WireJson(req): WireJson<InviteAnswer>,
) -> ApiResult<Reply<MemberBody>> {
    answer(state, actor, group, id, req, true).await
}

/// RejectFeedMemberInvite — `POST …/feeds/{feed}/members/reject`.
pub async fn reject_feed_member_invite(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((group, id)): WirePath<(String, String)>,
    WireJson(req): WireJson<InviteAnswer>,
) -> ApiResult<Reply<MemberBody>> {
    answer(state, actor, group, id, req, false).await
}

#[derive(Serialize)]
pub struct QueryFeedMembersResponse {
    members: Vec<FeedMemberResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

/// QueryFeedMembers — `POST …/feeds/{feed}/members/query`.
pub async fn query_feed_members(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((group, id)): WirePath<(String, String)>,
    WireJson(req): WireJson<QueryRequest>,
) -> ApiResult<Reply<QueryFeedMembersResponse>> {
    let fid = Fid::new(&group, &id)?;
    let page = members::query_members(&state.ctx, &actor, &fid, req).await?;
    let lookup = member_lookup(&state, &page.items.iter().collect::<Vec<_>>()).await?;
    Ok(Reply(QueryFeedMembersResponse {
        members: page.items.iter().map(|m| lookup.member(m)).collect(),
        next: page.next,
        prev: page.prev,
    }))
}
