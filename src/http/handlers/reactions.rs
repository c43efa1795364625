use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::core::enrichment::Lookup;
use crate::core::reactions::{self, AddReaction, BatchQuery};
use crate::core::storage::Reactable;
use crate::core::QueryRequest;
use crate::http::auth::Auth;
use crate::http::error::ApiResult;
use crate::http::extract::{WireJson, WirePath, WireQuery};
use crate::http::reply::Reply;
use crate::http::AppState;
use crate::wire::{ActivityResponse, CommentResponse, FeedsReactionResponse};

#[derive(Serialize)]
pub struct AddReactionResponse {
    activity: ActivityResponse,
    reaction: FeedsReactionResponse,
    notification_created: bool,
    notification_accepted: bool,
}

/// AddActivityReaction — `POST /api/v2/feeds/activities/{activity_id}/reactions`.
pub async fn add_activity_reaction(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(activity_id): WirePath<String>,
    WireJson(req): WireJson<AddReaction>,
) -> ApiResult<Reply<AddReactionResponse>> {
    let done = reactions::add_activity_reaction(&state.ctx, &actor, &activity_id, req).await?;
    let reader = actor.reader(Some(&done.reaction.user_id));
    let lookup = Lookup::load(&state.ctx, std::slice::from_ref(&done.object), &[], &[], &reader).await?;
    Ok(Reply(AddReactionResponse {
        activity: lookup.activity(&done.object, None),
        reaction: lookup.reaction(&done.reaction),
        notification_created: done.notification_created,
        notification_accepted: done.notification_created,
    }))
}

#[derive(Deserialize, Default)]
pub struct DeleteReactionParams {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    delete_notification_activity: bool,
}

#[derive(Serialize)]
pub struct DeleteActivityReactionResponse {
    activity: ActivityResponse,
    reaction: FeedsReactionResponse,
}

/// DeleteActivityReaction — `DELETE /api/v2/feeds/activities/{activity_id}/reactions/{type}`.
pub async fn delete_activity_reaction(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((activity_id, kind)): WirePath<(String, String)>,
    WireQuery(q): WireQuery<DeleteReactionParams>,
) -> ApiResult<Reply<DeleteActivityReactionResponse>> {
    let (activity, reaction) = reactions::delete_activity_reaction(
        &state.ctx,
        &actor,
        &activity_id,
        &kind,
        q.user_id.as_deref(),
        q.delete_notification_activity,
    )
    .await?;
    let lookup =
        Lookup::load(&state.ctx, std::slice::from_ref(&activity), &[], &[], &actor.reader(Some(&reaction.user_id)))
            .await?;
    Ok(Reply(DeleteActivityReactionResponse {
        activity: lookup.activity(&activity, None),
        reaction: lookup.reaction(&reaction),
    }))
}

#[derive(Serialize)]
pub struct QueryReactionsResponse {
    reactions: Vec<FeedsReactionResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

/// QueryActivityReactions — `POST /api/v2/feeds/activities/{activity_id}/reactions/query`.
pub async fn query_activity_reactions(
    State(state): State<AppState>,
    Auth(_): Auth,
    WirePath(activity_id): WirePath<String>,
    WireJson(req): WireJson<QueryRequest>,
) -> ApiResult<Reply<QueryReactionsResponse>> {
    let page = reactions::query_activity_reactions(&state.ctx, &activity_id, req).await?;
    reaction_page(&state, page).await
}

async fn reaction_page(state: &AppState, page: reactions::ReactionPage) -> ApiResult<Reply<QueryReactionsResponse>> {
    let ids: Vec<String> = page.items.iter().map(|r| r.user_id.clone()).collect();
    let lookup = Lookup::users(&state.ctx, &ids).await?;
    Ok(Reply(QueryReactionsResponse {
        reactions: page.items.iter().map(|r| lookup.reaction(r)).collect(),
        next: page.next,
        prev: page.prev,
    }))
}

#[derive(Serialize)]
pub struct AddCommentReactionResponse {
    comment: CommentResponse,
    reaction: FeedsReactionResponse,
    notification_created: bool,
}

/// AddCommentReaction — `POST /api/v2/feeds/comments/{id}/reactions`.
pub async fn add_comment_reaction(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(comment_id): WirePath<String>,
    WireJson(req): WireJson<AddReaction>,
) -> ApiResult<Reply<AddCommentReactionResponse>> {
    let done = reactions::add_comment_reaction(&state.ctx, &actor, &comment_id, req).await?;
    let lookup = Lookup::for_comments(&state.ctx, [&done.object], Some(&done.reaction.user_id)).await?;
    Ok(Reply(AddCommentReactionResponse {
        comment: lookup.comment(&done.object),
        reaction: lookup.reaction(&done.reaction),
        notification_created: done.notification_created,
    }))
}

#[derive(Serialize)]
pub struct DeleteCommentReactionResponse {
    comment: CommentResponse,
    reaction: FeedsReactionResponse,
}

/// DeleteCommentReaction — `DELETE /api/v2/feeds/comments/{id}/reactions/{type}`.
pub async fn delete_comment_reaction(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((comment_id, kind)): WirePath<(String, String)>,
    WireQuery(q): WireQuery<DeleteReactionParams>,
) -> ApiResult<Reply<DeleteCommentReactionResponse>> {
    let (comment, reaction) = reactions::delete_comment_reaction(
        &state.ctx,
        &actor,
        &comment_id,
        &kind,
        q.user_id.as_deref(),
        q.delete_notification_activity,
    )
    .await?;
    let lookup = Lookup::for_comments(&state.ctx, [&comment], Some(&reaction.user_id)).await?;
    Ok(Reply(DeleteCommentReactionResponse { comment: lookup.comment(&comment), reaction: lookup.reaction(&reaction) }))
}

/// QueryCommentReactions — `POST /api/v2/feeds/comments/{id}/reactions/query`.
pub async fn query_comment_reactions(
    State(state): State<AppState>,
    Auth(_): Auth,
    WirePath(comment_id): WirePath<String>,
    WireJson(req): WireJson<QueryRequest>,
) -> ApiResult<Reply<QueryReactionsResponse>> {
    let page = reactions::query_comment_reactions(&state.ctx, &comment_id, req).await?;
    reaction_page(&state, page).await
}

/// BatchQueryActivityReactions — `POST /api/v2/feeds/activities/reactions/query`.
pub async fn batch_query_activity_reactions(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<BatchQuery>,
) -> ApiResult<Reply<QueryReactionsResponse>> {
    let page = reactions::batch_query_reactions(&state.ctx, &actor, Reactable::Activities, req).await?;
    reaction_page(&state, page).await
}

/// BatchQueryCommentReactions — `POST /api/v2/feeds/comments/reactions/query`.
pub async fn batch_query_comment_reactions(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<BatchQuery>,
) -> ApiResult<Reply<QueryReactionsResponse>> {
    let page = reactions::batch_query_reactions(&state.ctx, &actor, Reactable::Comments, req).await?;
    reaction_page(&state, page).await
}
