//! Realtime delivery of events: the outbox (`core::events`) read in order
//! by each process's dispatcher, rendered once (`render`), and fanned out
//! to this process's WebSocket connections (`hub`). The WebSocket endpoint
//! itself is `http::realtime`.

use std::sync::Arc;

use crate::core::Ctx;
use crate::shutdown::Shutdown;

pub mod dispatch;
pub mod hub;
pub mod render;

pub use hub::Hub;

/// Starts this process's dispatcher and the outbox pruner; returns the hub
/// the WebSocket endpoint registers connections with.
/// `max_sockets` bounds the WebSocket connections held at once.
pub fn start(ctx: &Ctx, shutdown: &Shutdown, max_sockets: usize) -> Arc<Hub> {
    let hub = Arc::new(Hub::new(max_sockets));
    tokio::spawn(dispatch::run(ctx.clone(), hub.clone(), shutdown.clone()));
    tokio::spawn(dispatch::prune(ctx.clone(), shutdown.clone()));
    hub
}
