//! Rate limits as `GetFeedsRateLimits` / `GetRateLimits` report them.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::core::rate_limits::Verdict;

#[derive(Debug, Serialize)]
pub struct LimitInfoResponse {
    pub limit: u64,
    pub remaining: u64,
    /// Unix seconds when the bucket is full again.
    pub reset: i64,
}

impl From<&Verdict> for LimitInfoResponse {
    fn from(v: &Verdict) -> Self {
        LimitInfoResponse { limit: v.limit, remaining: v.remaining, reset: v.reset }
    }
}

/// Operation id → its limit, for one platform.
pub type PlatformLimits = BTreeMap<&'static str, LimitInfoResponse>;

/// `GetFeedsRateLimitsResponse` (and the common `GetRateLimitsResponse`,
/// the same fields): one map per platform asked for.
#[derive(Debug, Default, Serialize)]
pub struct GetRateLimitsResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_side: Option<PlatformLimits>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub android: Option<PlatformLimits>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ios: Option<PlatformLimits>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web: Option<PlatformLimits>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unity: Option<PlatformLimits>,
}
