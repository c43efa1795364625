use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::core::collections::{self, CollectionInput};
use crate::core::model::Collection;
use crate::core::UserListQuery;
use crate::http::auth::{Auth, ServerAuth};
use crate::http::error::ApiResult;
use crate::http::extract::{comma_list, WireJson, WireQuery};
use crate::http::reply::{Empty, Reply};
use crate::http::AppState;
use crate::wire::CollectionResponse;

#[derive(Deserialize)]
pub struct CollectionsRequest {
    collections: Vec<CollectionInput>,
    #[serde(default)]
    user_id: Option<String>,
}

#[derive(Serialize)]
pub struct CollectionsResponse {
    collections: Vec<CollectionResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

fn listed(collections: &[Collection]) -> CollectionsResponse {
    CollectionsResponse { collections: collections.iter().map(Into::into).collect(), next: None, prev: None }
}

/// CreateCollections — `POST /api/v2/feeds/collections`.
pub async fn create_collections(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<CollectionsRequest>,
) -> ApiResult<Reply<CollectionsResponse>> {
    Ok(Reply(listed(
        &collections::create_collections(&state.ctx, &actor, req.collections, req.user_id.as_deref()).await?,
    )))
}

/// UpsertCollections — `PUT /api/v2/feeds/collections` (server-side).
pub async fn upsert_collections(
    State(state): State<AppState>,
    _: ServerAuth,
    WireJson(req): WireJson<CollectionsRequest>,
) -> ApiResult<Reply<CollectionsResponse>> {
    Ok(Reply(listed(&collections::upsert_collections(&state.ctx, req.collections).await?)))
}

/// UpdateCollections — `PATCH /api/v2/feeds/collections`.
pub async fn update_collections(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<CollectionsRequest>,
) -> ApiResult<Reply<CollectionsResponse>> {
    Ok(Reply(listed(&collections::update_collections(&state.ctx, &actor, req.collections).await?)))
}

#[derive(Deserialize, Default)]
pub struct RefsParams {
    #[serde(default)]
    collection_refs: Option<String>,
}

/// ReadCollections — `GET /api/v2/feeds/collections?collection_refs=name:id,…`.
pub async fn read_collections(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireQuery(q): WireQuery<RefsParams>,
) -> ApiResult<Reply<CollectionsResponse>> {
    let refs = comma_list(q.collection_refs.as_deref());
    Ok(Reply(listed(&collections::read_collections(&state.ctx, &actor, &refs).await?)))
}

/// DeleteCollections — `DELETE /api/v2/feeds/collections?collection_refs=name:id,…`.
pub async fn delete_collections(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireQuery(q): WireQuery<RefsParams>,
) -> ApiResult<Reply<Empty>> {
    let refs = comma_list(q.collection_refs.as_deref());
    collections::delete_collections(&state.ctx, &actor, &refs).await?;
    Ok(Reply(Empty {}))
}

/// QueryCollections — `POST /api/v2/feeds/collections/query`.
pub async fn query_collections(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<UserListQuery>,
) -> ApiResult<Reply<CollectionsResponse>> {
    let page = collections::query_collections(&state.ctx, &actor, req.query, req.user_id.as_deref()).await?;
    Ok(Reply(CollectionsResponse { next: page.next.clone(), prev: page.prev.clone(), ..listed(&page.items) }))
}
