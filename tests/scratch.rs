//! Enrichment without N+1: reading a feed page costs the same number of SQL
//! statements for 1 activity as for 25, whatever each activity carries
//! (authors, mentions, parents, reactions, metrics, comments), a threaded
//! comment read the same for 1 top-level comment as for 25, and a QueryFeeds
//! page or a list of follow suggestions the same for 1 feed as for 25.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use serde_json::{json, Value};
use tower::ServiceExt;

use tributary::core::{feed_groups, Ctx};
use tributary::http::{auth::Credentials, build_app, AppState};
use tributary::store::sqlite::{SqliteStore, TraceEvent};

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);

fn count(e: TraceEvent<'_>) {
    if let TraceEvent::Stmt(_, sql) = e {
        eprintln!(
            "SQL: {}",
            sql.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(230).collect::<String>()
        );
    }
    STATEMENTS.fetch_add(1, Ordering::SeqCst);
}

const SECRET: &str = "enrichment-secret";

/// The app over a fresh SQLite store (kept alive by the returned folder),
/// and the store, whose statements a test counts.
async fn server() -> (tempfile::TempDir, Arc<SqliteStore>, axum::Router) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(dir.path()).expect("store"));
    let ctx = Ctx::new(store.clone());
    feed_groups::install_built_in_groups(&ctx).await.expect("groups");
    let credentials = Arc::new(Credentials::new("key".into(), SECRET));
    let state = AppState {
        ctx,
        credentials,
        hub: Default::default(),
        shutdown: Default::default(),
        authless: Default::default(),
        rate_limits: Default::default(),
        metrics_token: None,
    };
    let app = build_app(state, Default::default());
    (dir, store, app)
}

async fn call(app: &axum::Router, method: &str, path: &str, body: Value) -> Value {
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("token");
    let request = Request::builder()
        .method(method)
        .uri(format!("{path}{}api_key=key", if path.contains('?') { '&' } else { '?' }))
        .header("stream-auth-type", "jwt")
        .header("authorization", token)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
    let value: Value = serde_json::from_slice(&bytes).expect("json");
    assert!(status.is_success(), "{method} {path} -> {status}: {value}");
    value
}

#[tokio::test(flavor = "multi_thread")]
async fn scratch_add_activity_statements() {
    let (_dir, store, app) = server().await;
    let users = json!({"users": {"w": {"id": "w"}}});
    call(&app, "POST", "/api/v2/users", users).await;
    call(
        &app,
        "POST",
        "/api/v2/feeds/activities",
        json!({"type": "post", "feeds": ["user:w"], "user_id": "w", "text": "x"}),
    )
    .await;
    store.trace_statements(Some(count)).expect("trace");
    STATEMENTS.store(0, Ordering::SeqCst);
    call(
        &app,
        "POST",
        "/api/v2/feeds/activities",
        json!({"type": "post", "feeds": ["user:w"], "user_id": "w", "text": "y"}),
    )
    .await;
    eprintln!("TOTAL {}", STATEMENTS.load(Ordering::SeqCst));
    store.trace_statements(None).expect("untrace");
}
