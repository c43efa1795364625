use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::core::reactions::{self, AddReaction};
use crate::core::Lookup;
use crate::core::QueryRequest;
use crate::http::auth::Auth;
use crate::http::error::ApiResult;
use crate::http::extract::{WireJson, WirePath, WireQuery};
use crate::http::reply::Reply;
use crate::http::AppState;
use crate::wire::{ActivityResponse, FeedsReactionResponse};

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
    let (activity, reaction) = reactions::add_activity_reaction(&state.ctx, &actor, &activity_id, req).await?;
    let lookup =
        Lookup::load(&state.ctx, std::slice::from_ref(&activity), &[], &[], &actor.reader(Some(&reaction.user_id)))
            .await?;
    Ok(Reply(AddReactionResponse {
        activity: lookup.activity(&activity, None),
        reaction: lookup.reaction(&reaction),
        notification_created: false,
        notification_accepted: false,
    }))
}

#[derive(Deserialize, Default)]
pub struct DeleteReactionParams {
    #[serde(default)]
    user_id: Option<String>,
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
    let (activity, reaction) =
        reactions::delete_activity_reaction(&state.ctx, &actor, &activity_id, &kind, q.user_id.as_deref()).await?;
    let lookup =
        Lookup::load(&state.ctx, std::slice::from_ref(&activity), &[], &[], &actor.reader(Some(&reaction.user_id)))
            .await?;
    Ok(Reply(DeleteActivityReactionResponse {
        activity: lookup.activity(&activity, None),
        reaction: lookup.reaction(&reaction),
    }))
}

#[derive(Serialize)]
pub struct QueryActivityReactionsResponse {
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
) -> ApiResult<Reply<QueryActivityReactionsResponse>> {
    let page = reactions::query_activity_reactions(&state.ctx, &activity_id, req).await?;
    let ids: Vec<String> = page.items.iter().map(|r| r.user_id.clone()).collect();
    let lookup = Lookup::users(&state.ctx, &ids).await?;
    Ok(Reply(QueryActivityReactionsResponse {
        reactions: page.items.iter().map(|r| lookup.reaction(r)).collect(),
        next: page.next,
        prev: page.prev,
    }))
}
