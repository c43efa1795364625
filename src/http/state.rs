//! What every handler is given: the core context, the app credentials and
//! the realtime hub.

use std::sync::Arc;

use super::credentials::Credentials;
use crate::config::AuthlessOptions;
use crate::core::rate_limits::RateLimiter;
use crate::core::Ctx;
use crate::realtime::Hub;
use crate::shutdown::Shutdown;

#[derive(Clone)]
pub struct AppState {
    pub ctx: Ctx,
    pub credentials: Arc<Credentials>,
    /// This process's WebSocket connections and their watched feeds.
    pub hub: Arc<Hub>,
    /// Fires when the server stops: WebSockets close with 1012.
    pub shutdown: Shutdown,
    /// Whether guests and anonymous connections are let in.
    pub authless: AuthlessOptions,
    /// The app's and users' token buckets (`http::rate_limit`).
    pub rate_limits: Arc<RateLimiter>,
    /// The bearer token `GET /metrics` requires, if any.
    pub metrics_token: Option<Arc<str>>,
}
