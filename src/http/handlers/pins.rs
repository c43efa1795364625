use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::core::enrichment::Lookup;
use crate::core::model::Fid;
use crate::core::pins;
use crate::core::time::Timestamp;
use crate::core::QueryRequest;
use crate::http::auth::Auth;
use crate::http::error::ApiResult;
use crate::http::extract::{WireJson, WireLanguage, WirePath};
use crate::http::reply::Reply;
use crate::http::AppState;
use crate::wire::{ActivityPinResponse, ActivityResponse};

#[derive(Deserialize, Default)]
pub struct PinActivityRequest {
    #[serde(default)]
    user_id: Option<String>,
}

#[derive(Serialize)]
pub struct PinActivityResponse {
    activity: ActivityResponse,
    feed: String,
    user_id: String,
    created_at: Timestamp,
}

/// PinActivity — `POST /api/v2/feeds/feed_groups/{group}/feeds/{feed}/activities/{activity_id}/pin`.
pub async fn pin_activity(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((group, id, activity_id)): WirePath<(String, String, String)>,
    WireJson(req): WireJson<PinActivityRequest>,
) -> ApiResult<Reply<PinActivityResponse>> {
    let fid = Fid::new(&group, &id)?;
    let (pin, activity) = pins::pin_activity(&state.ctx, &actor, &fid, &activity_id, req.user_id.as_deref()).await?;
    let lookup =
        Lookup::load(&state.ctx, std::slice::from_ref(&activity), &[], &[], &actor.reader(Some(&pin.user_id))).await?;
    Ok(Reply(PinActivityResponse {
        activity: lookup.activity(&activity, Some(&fid)),
        feed: fid.to_string(),
        user_id: pin.user_id,
        created_at: pin.created_at,
    }))
}

#[derive(Serialize)]
pub struct UnpinActivityResponse {
    activity: ActivityResponse,
    feed: String,
    user_id: String,
}

/// UnpinActivity — `DELETE /api/v2/feeds/feed_groups/{group}/feeds/{feed}/activities/{activity_id}/pin`.
pub async fn unpin_activity(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((group, id, activity_id)): WirePath<(String, String, String)>,
) -> ApiResult<Reply<UnpinActivityResponse>> {
    let fid = Fid::new(&group, &id)?;
    let (pin, activity) = pins::unpin_activity(&state.ctx, &actor, &fid, &activity_id).await?;
    let lookup =
        Lookup::load(&state.ctx, std::slice::from_ref(&activity), &[], &[], &actor.reader(Some(&pin.user_id))).await?;
    Ok(Reply(UnpinActivityResponse {
        activity: lookup.activity(&activity, Some(&fid)),
        feed: fid.to_string(),
        user_id: pin.user_id,
    }))
}

#[derive(Serialize)]
pub struct QueryPinnedActivitiesResponse {
    pinned_activities: Vec<ActivityPinResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

/// QueryPinnedActivities — `POST /api/v2/feeds/feed_groups/{group}/feeds/{feed}/pinned_activities/query`.
pub async fn query_pinned_activities(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath((group, id)): WirePath<(String, String)>,
    WireLanguage(language): WireLanguage,
    WireJson(req): WireJson<QueryRequest>,
) -> ApiResult<Reply<QueryPinnedActivitiesResponse>> {
    let fid = Fid::new(&group, &id)?;
    let page = pins::query_pinned_activities(&state.ctx, &fid, req).await?;
    let activities: Vec<_> = page.activities.values().cloned().collect();
    let pin_users: Vec<String> = page.pins.items.iter().map(|p| p.user_id.clone()).collect();
    let mut lookup =
        Lookup::load_with_users(&state.ctx, &activities, &[], &[], &pin_users, &actor.reader(None)).await?;
    lookup.language = language;
    Ok(Reply(QueryPinnedActivitiesResponse {
        pinned_activities: lookup.pins(&page),
        next: page.pins.next.clone(),
        prev: page.pins.prev.clone(),
    }))
}
