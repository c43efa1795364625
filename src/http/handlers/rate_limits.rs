use axum::extract::State;
use serde::Deserialize;

use crate::core::error::Error;
use crate::core::rate_limits::Platform;
use crate::http::auth::ServerAuth;
use crate::http::error::ApiResult;
use crate::http::extract::{comma_list, WireQuery};
use crate::http::reply::Reply;
use crate::http::AppState;
use crate::wire::{GetRateLimitsResponse, LimitInfoResponse, PlatformLimits};

/// The most operation ids one `endpoints` filter names.
const MAX_ENDPOINTS: usize = 200;

#[derive(Deserialize)]
pub struct RateLimitsQuery {
    #[serde(default)]
    endpoints: Option<String>,
    #[serde(default)]
    server_side: Option<bool>,
    #[serde(default)]
    android: Option<bool>,
    #[serde(default)]
    ios: Option<bool>,
    #[serde(default)]
    web: Option<bool>,
    #[serde(default)]
    unity: Option<bool>,
}

/// GetFeedsRateLimits — `GET /api/v2/feeds/feeds/rate_limits`, and
/// GetRateLimits — `GET /api/v2/rate_limits`: the app's limits and what is
/// left of them now, per platform (the ones flagged `true`; all when none
/// is) and operation (those `endpoints` names; all when empty). Operations
/// without an app limit, or not served here, are absent. Server-side only.
pub async fn get_rate_limits(
    State(state): State<AppState>,
    _: ServerAuth,
    WireQuery(query): WireQuery<RateLimitsQuery>,
) -> ApiResult<Reply<GetRateLimitsResponse>> {
    let endpoints = comma_list(query.endpoints.as_deref());
    if endpoints.len() > MAX_ENDPOINTS || endpoints.iter().any(|e| e.len() > 64) {
        return Err(Error::field(
            "endpoints",
            format!("endpoints names at most {MAX_ENDPOINTS} operation ids of at most 64 bytes"),
        )
        .into());
    }
    let only = (!endpoints.is_empty()).then_some(endpoints.as_slice());
    let flags = [query.server_side, query.android, query.ios, query.web, query.unity];
    let any_flag = flags.contains(&Some(true));
    let report = |platform: Platform, flag: Option<bool>| -> Option<PlatformLimits> {
        if any_flag && flag != Some(true) {
            return None;
        }
        let limits = state.rate_limits.report(platform, only);
        Some(limits.iter().map(|(op, verdict)| (*op, LimitInfoResponse::from(verdict))).collect())
    };
    Ok(Reply(GetRateLimitsResponse {
        server_side: report(Platform::ServerSide, query.server_side),
        android: report(Platform::Android, query.android),
        ios: report(Platform::Ios, query.ios),
        web: report(Platform::Web, query.web),
        unity: report(Platform::Unity, query.unity),
    }))
}
