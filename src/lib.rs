//! Tributary: a self-hosted activity-feeds server speaking the Stream
//! Activity Feeds v3 API.
//!
//! Layers, outermost first: `http` (axum edge: auth, extractors, route
//! table) → `core` (domain rules, no HTTP, no SQL) → `store` (the storage
//! interface and its SQLite implementation). `wire` holds Stream's response
//! shapes.

use std::sync::Arc;

use tokio::net::TcpListener;

pub mod config;
pub mod core;
pub mod http;
pub mod shutdown;
pub mod store;
pub mod wire;

use config::{AppCredentials, ServeConfig};
use shutdown::Shutdown;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Opens the store, prepares the app and serves until `shutdown` fires.
/// `on_ready` receives the credentials once the server accepts requests.
pub async fn serve(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: Shutdown,
    on_ready: impl FnOnce(&AppCredentials, bool),
) -> Result<(), BoxError> {
    if let Some(url) = config.database_url.as_deref().filter(|u| !u.is_empty()) {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Err(
                "the PostgreSQL store is not available in this build yet; unset TRIBUTARY_DATABASE_URL to use SQLite"
                    .into(),
            );
        }
        return Err(format!("unsupported TRIBUTARY_DATABASE_URL {url:?}: expected postgres://…").into());
    }
    let data_dir = config.data_dir.clone();
    let store = tokio::task::spawn_blocking(move || store::sqlite::SqliteStore::open(&data_dir)).await??;
    let (credentials, generated) = config::resolve_credentials(&config)?;

    let ctx = core::Ctx::new(Arc::new(store));
    core::feed_groups::install_built_in_groups(&ctx).await?;
    let worker = tokio::spawn(core::tasks::run_worker(ctx.clone(), shutdown.clone()));

    let state = http::AppState {
        ctx,
        credentials: Arc::new(http::auth::Credentials::new(credentials.api_key.clone(), &credentials.api_secret)),
    };
    let app = http::build_app(state);
    on_ready(&credentials, generated);
    let stop = shutdown.clone();
    axum::serve(listener, app).with_graceful_shutdown(async move { stop.wait().await }).await?;
    shutdown.trigger();
    let _ = worker.await;
    Ok(())
}
