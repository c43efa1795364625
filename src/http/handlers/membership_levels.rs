//! Membership-level CRUD; server-side only.

use axum::extract::State;
use serde::Serialize;

use crate::core::membership_level_ops;
use crate::core::membership_levels::{CreateMembershipLevel, UpdateMembershipLevel};
use crate::core::QueryRequest;
use crate::http::auth::ServerAuth;
use crate::http::error::ApiResult;
use crate::http::extract::{WireJson, WirePath};
use crate::http::reply::{Empty, Reply};
use crate::http::AppState;
use crate::wire::MembershipLevelResponse;

#[derive(Serialize)]
pub struct MembershipLevelBody {
    membership_level: MembershipLevelResponse,
}

#[derive(Serialize)]
pub struct QueryMembershipLevelsResponse {
    membership_levels: Vec<MembershipLevelResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

/// CreateMembershipLevel — `POST /api/v2/feeds/membership_levels`.
pub async fn create_membership_level(
    State(state): State<AppState>,
    _: ServerAuth,
    WireJson(req): WireJson<CreateMembershipLevel>,
) -> ApiResult<Reply<MembershipLevelBody>> {
    let level = membership_level_ops::create_level(&state.ctx, req).await?;
    Ok(Reply(MembershipLevelBody { membership_level: (&level).into() }))
}

/// QueryMembershipLevels — `POST /api/v2/feeds/membership_levels/query`.
pub async fn query_membership_levels(
    State(state): State<AppState>,
    _: ServerAuth,
    WireJson(req): WireJson<QueryRequest>,
) -> ApiResult<Reply<QueryMembershipLevelsResponse>> {
    let page = membership_level_ops::query_levels(&state.ctx, req).await?;
    Ok(Reply(QueryMembershipLevelsResponse {
        membership_levels: page.items.iter().map(Into::into).collect(),
        next: page.next,
        prev: page.prev,
    }))
}

/// UpdateMembershipLevel — `PATCH /api/v2/feeds/membership_levels/{id}`.
pub async fn update_membership_level(
    State(state): State<AppState>,
    _: ServerAuth,
    WirePath(id): WirePath<String>,
    WireJson(req): WireJson<UpdateMembershipLevel>,
) -> ApiResult<Reply<MembershipLevelBody>> {
    let level = membership_level_ops::update_level(&state.ctx, &id, req).await?;
    Ok(Reply(MembershipLevelBody { membership_level: (&level).into() }))
}

/// DeleteMembershipLevel — `DELETE /api/v2/feeds/membership_levels/{id}`.
pub async fn delete_membership_level(
    State(state): State<AppState>,
    _: ServerAuth,
    WirePath(id): WirePath<String>,
) -> ApiResult<Reply<Empty>> {
    membership_level_ops::delete_level(&state.ctx, &id).await?;
    Ok(Reply(Empty {}))
}
