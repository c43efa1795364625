//! Feed management without N+1: a QueryFeeds page and a list of follow
//! suggestions cost the same number of SQL statements for 1 feed as for 25,
//! counts and owners included.

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

fn count(_: TraceEvent<'_>) {
    STATEMENTS.fetch_add(1, Ordering::SeqCst);
}

const SECRET: &str = "feed-queries-secret";

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
async fn feed_queries_and_suggestions_cost_the_same_statements_for_1_and_25_feeds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(dir.path()).expect("store"));
    let ctx = Ctx::new(store.clone());
    feed_groups::install_built_in_groups(&ctx).await.expect("groups");
    let app = build_app(AppState { ctx, credentials: Arc::new(Credentials::new("key".into(), SECRET)) });

    let mut users = serde_json::Map::new();
    for id in (0..30).map(|i| format!("owner{i}")).chain(["me".to_string(), "friend".to_string()]) {
        users.insert(id.clone(), json!({ "id": id, "name": id }));
    }
    call(&app, "POST", "/api/v2/users", json!({ "users": users })).await;
    let feeds: Vec<Value> = (0..30)
        .map(|i| json!({"feed_group_id": "user", "feed_id": format!("owner{i}"), "created_by_id": format!("owner{i}")}))
        .collect();
    call(&app, "POST", "/api/v2/feeds/feeds/batch", json!({ "feeds": feeds })).await;
    call(&app, "POST", "/api/v2/feeds/follows", json!({"source": "timeline:me", "target": "user:friend"})).await;
    for i in 0..30 {
        let target = format!("user:owner{i}");
        call(&app, "POST", "/api/v2/feeds/follows", json!({"source": "timeline:friend", "target": target})).await;
        let post = json!({"type": "post", "feeds": [target], "text": "hi", "user_id": format!("owner{i}")});
        call(&app, "POST", "/api/v2/feeds/activities", post).await;
    }

    let mut costs = Vec::new();
    for limit in [1, 25] {
        store.trace_statements(Some(count)).expect("trace");
        STATEMENTS.store(0, Ordering::SeqCst);
        let filter = json!({"created_by_id": {"$in": (0..30).map(|i| format!("owner{i}")).collect::<Vec<_>>()}});
        let page = call(&app, "POST", "/api/v2/feeds/feeds/query", json!({"limit": limit, "filter": filter})).await;
        let queried = STATEMENTS.swap(0, Ordering::SeqCst);
        let path = format!("/api/v2/feeds/feed_groups/user/follow_suggestions?user_id=me&limit={limit}");
        let suggested = call(&app, "GET", &path, json!({})).await;
        let suggesting = STATEMENTS.load(Ordering::SeqCst);
        store.trace_statements(None).expect("untrace");

        let feeds = page["feeds"].as_array().expect("feeds");
        assert_eq!(feeds.len(), limit);
        assert_eq!((feeds[0]["activity_count"].as_i64(), feeds[0]["follower_count"].as_i64()), (Some(1), Some(1)));
        assert!(feeds[0]["created_by"]["name"].as_str().is_some_and(|n| n.starts_with("owner")));
        let suggestions = suggested["suggestions"].as_array().expect("suggestions");
        assert_eq!(suggestions.len(), limit);
        assert_eq!(suggestions[0]["reason"], "followed by 1 person you follow");
        eprintln!("{limit} feeds: QueryFeeds {queried}, suggestions {suggesting} SQL statements");
        costs.push((queried, suggesting));
    }
    assert_eq!(costs[0], costs[1], "statements for 1 vs 25 feeds");
}
