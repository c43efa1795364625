//! Realtime delivery of events: the outbox (`core::events`) read in order
//! by each process's dispatcher, rendered once (`render`), and fanned out
//! to this process's WebSocket connections (`hub`), and delivered to the
//! app's webhooks (`webhooks`). The WebSocket endpoint itself is
//! `http::realtime`.

use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::core::Ctx;
use crate::shutdown::Shutdown;

pub mod dispatch;
pub mod hub;
pub mod render;
pub mod webhooks;

pub use hub::Hub;

/// Starts this process's dispatcher, the outbox pruner and the webhook
/// deliverer; returns the hub the WebSocket endpoint registers connections
/// with (at most `max_sockets` at once), and the deliverer's task, which
/// ends after `shutdown` once its workers gave their targets back.
pub fn start(
    ctx: &Ctx,
    shutdown: &Shutdown,
    max_sockets: usize,
    webhooks: webhooks::Config,
) -> (Arc<Hub>, JoinHandle<()>) {
    let hub = Arc::new(Hub::new(max_sockets));
    tokio::spawn(dispatch::run(ctx.clone(), hub.clone(), shutdown.clone()));
    tokio::spawn(dispatch::prune(ctx.clone(), shutdown.clone()));
    let deliverer = tokio::spawn(webhooks::run(ctx.clone(), webhooks, shutdown.clone()));
    (hub, deliverer)
}
