//! Tributary: a self-hosted activity-feeds server speaking the Stream
//! Activity Feeds v3 API.
//!
//! Layers, outermost first: `http` (axum edge: auth, extractors, route
//! table) → `core` (domain rules and the storage interface they write
//! against, `core::storage`; no HTTP, no SQL) ← `store` (the SQLite and
//! PostgreSQL implementations of that interface). `wire` holds Stream's
//! response shapes.

use std::sync::Arc;

use tokio::net::TcpListener;

pub mod config;
pub mod core;
pub mod http;
pub mod metrics;
pub mod realtime;
pub mod shutdown;
pub mod store;
pub mod translate;
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
    // Checked first: a rule naming an unknown operation stops the start.
    let rate_limits = core::rate_limits::RateLimiter::new(
        &config.rate_limits.rate_limits,
        &http::operation_names(),
        config.rate_limits.rate_limit_instances,
        config.rate_limits.rate_limit_user_buckets,
    )
    .map_err(|e| format!("--rate-limits: {e}"))?;
    let database_url = config.database_url.as_deref().filter(|u| !u.is_empty());
    let store: Arc<dyn core::storage::Store> = match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Arc::new(store::postgres::PostgresStore::connect(url).await?)
        }
        Some(url) => {
            return Err(format!(
                "unsupported TRIBUTARY_DATABASE_URL {url:?}: expected postgres://… (or unset for SQLite)"
            )
            .into())
        }
        None => {
            let data_dir = config.data_dir.clone();
            Arc::new(tokio::task::spawn_blocking(move || store::sqlite::SqliteStore::open(&data_dir)).await??)
        }
    };
    let (credentials, generated) = config::resolve_credentials(&config, store.as_ref()).await?;
    if database_url.is_none() && config.api_key.is_none() && config.api_secret.is_none() {
        config::export_credentials(&config.data_dir, &credentials)?;
    }

    let files = store::files::open(
        &config.uploads.uploads_url,
        &config.data_dir,
        config.uploads.uploads_public_url.as_deref(),
    )?;
    let uploads = core::files::Uploads { files, max_bytes: config.uploads.upload_max_bytes };
    let translation = &config.translation;
    let translator: Option<Arc<dyn core::translator::Translator>> = match translation.translation_url.as_deref() {
        Some(url) if !url.is_empty() => Some(Arc::new(translate::LibreTranslate::new(
            url,
            translation.translation_api_key.clone(),
            std::time::Duration::from_millis(translation.translation_timeout_ms),
        )?)),
        _ => None,
    };
    let ctx = core::Ctx::new(store)
        .with_uploads(uploads)
        .with_cursor_key(core::cursor::CursorKey::derive(&credentials.api_secret))
        .with_user_data(config.user_data.options())
        .with_translator(translator);
    core::feed_groups::install_built_in_groups(&ctx).await?;
    let worker = tokio::spawn(core::task_runner::run_worker(ctx.clone(), shutdown.clone()));
    let fanout = tokio::spawn(core::fanout::run_worker(ctx.clone(), config.fanout.fanout_batch, shutdown.clone()));
    let usage = tokio::spawn(core::usage::run_flusher(ctx.clone(), shutdown.clone()));
    let webhooks = realtime::webhooks::Config {
        retry_window: std::time::Duration::from_secs(config.webhooks.webhook_retry_window_secs),
        first_retry: std::time::Duration::from_millis(config.webhooks.webhook_first_retry_ms),
        lease: std::time::Duration::from_secs(config.webhooks.webhook_lease_secs),
        allowed_hosts: config.webhooks.webhook_hosts.list(),
        push_url: config.webhooks.push_webhook_url.clone().filter(|u| !u.is_empty()),
        ..realtime::webhooks::Config::new(&credentials.api_key, &credentials.api_secret)
    };
    let (hub, deliverer) = realtime::start(&ctx, &shutdown, config.limits.max_connections as usize, webhooks);

    let state = http::AppState {
        ctx,
        credentials: Arc::new(http::auth::Credentials::new(credentials.api_key.clone(), &credentials.api_secret)),
        hub,
        shutdown: shutdown.clone(),
        authless: config.authless.clone(),
        rate_limits: Arc::new(rate_limits),
        metrics_token: config.metrics.metrics_token.as_deref().filter(|t| !t.is_empty()).map(Arc::from),
    };
    let app = http::build_app(state, config.cors_origins.clone());
    on_ready(&credentials, generated);
    let stop = shutdown.clone();
    http::listen::serve(listener, app, &config.limits, stop).await;
    shutdown.trigger();
    let _ = worker.await;
    let _ = fanout.await;
    let _ = usage.await;
    let _ = deliverer.await;
    Ok(())
}

/// A core context over a new SQLite store in `dir`, for the core's unit
/// tests: concrete stores are chosen here, never inside `core`.
#[cfg(test)]
pub(crate) fn sqlite_test_ctx(dir: &std::path::Path) -> core::Ctx {
    core::Ctx::new(Arc::new(store::sqlite::SqliteStore::open(dir).expect("store")))
}
