//! Rate limits at the edge: who a request is (platform, user) for
//! `core::rate_limits`, and the verdict as Stream's headers — on every
//! limited response — or a 429 (code 9) with `Retry-After`.
//!
//! Only authenticated requests are counted: one with a wrong key or token
//! is refused by auth anyway, and counting it would let anyone without the
//! secret drain the app's buckets.

use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::auth::{authenticate, Authenticated};
use super::error::ApiError;
use super::state::AppState;
use crate::core::error::{Code, Error};
use crate::core::rate_limits::{Platform, Scope, Verdict};
use crate::core::Actor;
use crate::metrics;

/// The verdict for this request to `operation`, or `None` when no limit
/// applies or the caller is not authenticated. The caller's identity is
/// kept in the request for the handler's `Auth`, so the token is checked
/// once.
pub fn admit(state: &AppState, operation: &'static str, parts: &mut Parts) -> Option<Verdict> {
    if !state.rate_limits.limits(operation) {
        return None;
    }
    let actor = authenticate(parts, state).ok()?;
    let platform = platform_of(&actor, &parts.headers);
    // Anonymous visitors share their platform's app bucket.
    let user = match &actor {
        Actor::User(id) => Some(id.as_str()),
        Actor::Server | Actor::Anonymous => None,
    };
    let verdict = state.rate_limits.admit(operation, platform, user);
    parts.extensions.insert(Authenticated(actor));
    verdict
}

/// Server tokens are server-side; user tokens come from the platform the
/// SDK names in `X-Stream-Client` (`stream-feeds-android-…`,
/// `stream-feeds-swift-…`, `stream-unity-…`), web otherwise.
pub fn platform_of(actor: &Actor, headers: &HeaderMap) -> Platform {
    if actor.is_server() {
        return Platform::ServerSide;
    }
    let client = headers.get("x-stream-client").and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    if client.contains("android") {
        Platform::Android
    } else if client.contains("swift") || client.contains("ios") {
        Platform::Ios
    } else if client.contains("unity") {
        Platform::Unity
    } else {
        Platform::Web
    }
}

/// The 429 for a refused request, with the headers and `Retry-After`.
pub fn refused(operation: &'static str, verdict: &Verdict) -> Response {
    let scope = match verdict.scope {
        Scope::App => "app",
        Scope::User => "user",
    };
    metrics::count(&metrics::RATE_LIMITED, vec![("operation", operation.into()), ("scope", scope.into())], 1);
    let message = format!(
        "too many requests: the {scope} limit of {operation} is {} per {} s; retry in {} s",
        verdict.limit,
        verdict.period.as_secs(),
        verdict.retry_after.unwrap_or(1)
    );
    let mut response = ApiError(Error::new(Code::TooManyRequests, message)).into_response();
    add_headers(response.headers_mut(), verdict);
    if let Some(wait) = verdict.retry_after {
        response.headers_mut().insert("retry-after", HeaderValue::from(wait));
    }
    response
}

/// Stream's `X-RateLimit-*` headers (reset in unix seconds).
pub fn add_headers(headers: &mut HeaderMap, verdict: &Verdict) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(verdict.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(verdict.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(verdict.reset));
}
