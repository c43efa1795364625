//! `GET /metrics`: the process's metrics (`crate::metrics`) and the gauges
//! read now — queues, connections, webhook backlog — in Prometheus' text
//! format, optionally behind a bearer token (`--metrics-token`).

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::state::AppState;
use crate::core::storage::Backlog;
use crate::core::time::Timestamp;
use crate::metrics::{self, Gauge, Labels};
use crate::realtime::webhooks;

pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !same_secret(given.trim().as_bytes(), expected.as_bytes()) {
            let challenge = [(header::WWW_AUTHENTICATE, "Bearer")];
            return (StatusCode::UNAUTHORIZED, challenge, "metrics need Authorization: Bearer <token>\n")
                .into_response();
        }
    }
    let text = metrics::render(&gauges(&state).await);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// Compares in time independent of where the first difference is.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn single(name: &'static str, help: &'static str, value: f64) -> Gauge {
    Gauge { name, help, samples: vec![(Labels::new(), value)] }
}

/// The gauges of this moment. A store read that fails leaves its gauge out
/// (logged) rather than failing the scrape.
async fn gauges(state: &AppState) -> Vec<Gauge> {
    let store = &state.ctx.store;
    let now = Timestamp::now();
    let age = |b: &Backlog| b.oldest.map_or(0.0, |t| ((now.0 - t.0) as f64 / 1e9).max(0.0));
    let mut gauges = vec![
        single(
            "tributary_websocket_connections",
            "Open event WebSocket connections of this process.",
            state.hub.connection_count() as f64,
        ),
        single(
            "tributary_rate_limit_user_buckets",
            "Per-user rate-limit buckets held in memory (bounded by --rate-limit-user-buckets).",
            state.rate_limits.user_buckets() as f64,
        ),
    ];
    match store.fanout_backlog().await {
        Ok(b) => {
            gauges.push(single("tributary_fanout_jobs", "Background fan-out jobs not finished.", b.waiting as f64));
            gauges.push(single(
                "tributary_fanout_oldest_job_age_seconds",
                "Age of the oldest unfinished background fan-out job (0 when none).",
                age(&b),
            ));
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the fan-out backlog"),
    }
    match store.task_backlog().await {
        Ok(b) => {
            gauges.push(single("tributary_tasks_waiting", "Tasks pending or running.", b.waiting as f64));
            gauges.push(single(
                "tributary_tasks_oldest_age_seconds",
                "Age of the oldest task pending or running (0 when none).",
                age(&b),
            ));
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the task backlog"),
    }
    if let Some(pool) = store.pool_use() {
        let help = "Database connections of this process, by state (in_use, idle), and the pool's maximum (max).";
        let samples = vec![
            (vec![("state", "in_use".to_string())], pool.open.saturating_sub(pool.idle) as f64),
            (vec![("state", "idle".to_string())], pool.idle as f64),
            (vec![("state", "max".to_string())], pool.max as f64),
        ];
        gauges.push(Gauge { name: "tributary_db_connections", help, samples });
    }
    match webhooks::backlog(&state.ctx).await {
        Ok(targets) => gauges.push(Gauge {
            name: "tributary_webhook_backlog_events",
            help: "Events in the outbox after each webhook target's delivered position (an upper bound).",
            samples: targets.into_iter().map(|(id, n)| (vec![("target", id)], n as f64)).collect(),
        }),
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the webhook backlog"),
    }
    gauges
}
