use std::collections::BTreeMap;

use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::core::push::{NewDevice, PreferenceInput};
use crate::core::push_ops;
use crate::http::auth::Auth;
use crate::http::error::ApiResult;
use crate::http::extract::{WireJson, WireQuery};
use crate::http::reply::{Empty, Reply};
use crate::http::AppState;
use crate::wire::{ChannelPushPreferencesResponse, DeviceResponse, PushPreferencesResponse};

/// CreateDevice — `POST /api/v2/devices`.
pub async fn create_device(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<NewDevice>,
) -> ApiResult<Reply<Empty>> {
    push_ops::create_device(&state.ctx, &actor, req).await?;
    Ok(Reply(Empty {}))
}

#[derive(Deserialize)]
pub struct ListDevicesParams {
    #[serde(default)]
    user_id: Option<String>,
}

#[derive(Serialize)]
pub struct ListDevicesResponse {
    devices: Vec<DeviceResponse>,
}

/// ListDevices — `GET /api/v2/devices` (server-side: `?user_id=`).
pub async fn list_devices(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireQuery(params): WireQuery<ListDevicesParams>,
) -> ApiResult<Reply<ListDevicesResponse>> {
    let devices = push_ops::list_devices(&state.ctx, &actor, params.user_id.as_deref()).await?;
    Ok(Reply(ListDevicesResponse { devices: devices.iter().map(Into::into).collect() }))
}

#[derive(Deserialize)]
pub struct DeleteDeviceParams {
    #[serde(default)]
    id: String,
    #[serde(default)]
    user_id: Option<String>,
}

/// DeleteDevice — `DELETE /api/v2/devices?id=` (server-side: `&user_id=`).
pub async fn delete_device(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireQuery(params): WireQuery<DeleteDeviceParams>,
) -> ApiResult<Reply<Empty>> {
    push_ops::delete_device(&state.ctx, &actor, &params.id, params.user_id.as_deref()).await?;
    Ok(Reply(Empty {}))
}

#[derive(Deserialize)]
pub struct UpsertPushPreferencesRequest {
    preferences: Vec<PreferenceInput>,
}

#[derive(Serialize)]
pub struct UpsertPushPreferencesResponse {
    user_preferences: BTreeMap<String, PushPreferencesResponse>,
    user_channel_preferences: BTreeMap<String, BTreeMap<String, ChannelPushPreferencesResponse>>,
}

/// UpdatePushNotificationPreferences — `POST /api/v2/push_preferences`.
pub async fn update_push_preferences(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<UpsertPushPreferencesRequest>,
) -> ApiResult<Reply<UpsertPushPreferencesResponse>> {
    let updated = push_ops::update_preferences(&state.ctx, &actor, req.preferences).await?;
    Ok(Reply(UpsertPushPreferencesResponse {
        user_preferences: updated.users.iter().map(|(u, p)| (u.clone(), p.into())).collect(),
        user_channel_preferences: updated
            .channels
            .iter()
            .map(|(u, channels)| (u.clone(), channels.iter().map(|(c, p)| (c.clone(), p.into())).collect()))
            .collect(),
    }))
}
