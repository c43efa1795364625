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

fn count(_: TraceEvent<'_>) {
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
async fn a_feed_page_costs_the_same_statements_for_1_and_25_activities() {
    let (_dir, store, app) = server().await;

    let mut users = serde_json::Map::new();
    for id in (0..30).map(|i| format!("author{i}")).chain(["reader".to_string()]) {
        users.insert(id.clone(), json!({ "id": id, "name": id }));
    }
    call(&app, "POST", "/api/v2/users", json!({ "users": users })).await;
    let first = call(
        &app,
        "POST",
        "/api/v2/feeds/activities",
        json!({"type": "post", "feeds": ["user:author0"], "text": "root", "user_id": "author0"}),
    )
    .await;
    let root = first["activity"]["id"].as_str().expect("id").to_string();
    for i in 0..30 {
        let author = format!("author{i}");
        call(
            &app,
            "POST",
            "/api/v2/feeds/follows",
            json!({"source": "timeline:reader", "target": format!("user:{author}")}),
        )
        .await;
        let added = call(
            &app,
            "POST",
            "/api/v2/feeds/activities",
            json!({
                "type": "post", "feeds": [format!("user:{author}")], "text": format!("post {i}"), "user_id": author,
                "parent_id": root, "mentioned_user_ids": [format!("author{}", (i + 1) % 30), "reader"],
            }),
        )
        .await;
        let id = added["activity"]["id"].as_str().expect("id").to_string();
        for (reactor, kind) in [("reader", "like"), ("author0", "love"), (author.as_str(), "wow")] {
            let path = format!("/api/v2/feeds/activities/{id}/reactions");
            call(&app, "POST", &path, json!({"type": kind, "user_id": reactor})).await;
        }
        let comment = json!({"object_id": id, "object_type": "activity", "comment": "nice", "user_id": "reader",
                             "mentioned_user_ids": [author]});
        let comment = call(&app, "POST", "/api/v2/feeds/comments", comment).await;
        let comment_id = comment["comment"]["id"].as_str().expect("comment id").to_string();
        let reply = json!({"parent_id": comment_id, "comment": "thanks", "user_id": author});
        call(&app, "POST", "/api/v2/feeds/comments", reply).await;
        let vote = json!({"type": "upvote", "user_id": "reader"});
        call(&app, "POST", &format!("/api/v2/feeds/comments/{comment_id}/reactions"), vote).await;
        let events = json!({"user_id": "reader", "events": [{"activity_id": id, "metric": "views"}]});
        call(&app, "POST", "/api/v2/feeds/activities/metrics/track", events).await;
    }

    // One read first: the visibility grants are then in the process's
    // configuration cache, as they are on a running server.
    call(&app, "POST", "/api/v2/feeds/feed_groups/timeline/feeds/reader", json!({"limit": 1, "user_id": "reader"}))
        .await;
    let mut costs = Vec::new();
    for limit in [1, 25] {
        store.trace_statements(Some(count)).expect("trace");
        STATEMENTS.store(0, Ordering::SeqCst);
        let page = call(
            &app,
            "POST",
            "/api/v2/feeds/feed_groups/timeline/feeds/reader",
            json!({"limit": limit, "user_id": "reader"}),
        )
        .await;
        let statements = STATEMENTS.load(Ordering::SeqCst);
        store.trace_statements(None).expect("untrace");
        let activities = page["activities"].as_array().expect("activities");
        assert_eq!(activities.len(), limit);
        let a = &activities[0];
        assert_eq!(a["parent"]["id"], root.as_str());
        assert_eq!(a["reaction_count"], 3);
        assert_eq!(a["own_reactions"][0]["type"], "like");
        assert_eq!(a["mentioned_users"].as_array().map(Vec::len), Some(2));
        assert_eq!(a["metrics"]["views"], 1);
        assert_eq!(a["comment_count"], 2);
        assert_eq!(a["comments"][0]["own_reactions"][0]["type"], "upvote");
        eprintln!("feed page of {limit}: {statements} SQL statements");
        costs.push(statements);
    }
    assert_eq!(costs[0], costs[1], "statements for a page of 1 vs 25 activities");
}

static THREAD_STATEMENTS: AtomicUsize = AtomicUsize::new(0);

fn count_thread(_: TraceEvent<'_>) {
    THREAD_STATEMENTS.fetch_add(1, Ordering::SeqCst);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_comment_thread_costs_the_same_statements_for_1_and_25_comments() {
    let (_dir, store, app) = server().await;
    let mut users = serde_json::Map::new();
    for id in (0..5).map(|i| format!("u{i}")) {
        users.insert(id.clone(), json!({ "id": id }));
    }
    call(&app, "POST", "/api/v2/users", json!({ "users": users })).await;
    let post = json!({"type": "post", "feeds": ["user:u0"], "user_id": "u0"});
    let post = call(&app, "POST", "/api/v2/feeds/activities", post).await;
    let post = post["activity"]["id"].as_str().expect("id").to_string();
    for i in 0..30 {
        let root = json!({"object_id": post, "object_type": "activity", "comment": format!("root {i}"),
                          "user_id": format!("u{}", i % 5), "mentioned_user_ids": ["u1"]});
        let root = call(&app, "POST", "/api/v2/feeds/comments", root).await;
        let root = root["comment"]["id"].as_str().expect("id").to_string();
        for r in 0..2 {
            let reply = json!({"parent_id": root, "comment": "re", "user_id": format!("u{r}")});
            let reply = call(&app, "POST", "/api/v2/feeds/comments", reply).await;
            let reply = reply["comment"]["id"].as_str().expect("id").to_string();
            let nested = json!({"parent_id": reply, "comment": "re re", "user_id": "u3"});
            call(&app, "POST", "/api/v2/feeds/comments", nested).await;
        }
        let vote = json!({"type": "upvote", "user_id": "u2"});
        call(&app, "POST", &format!("/api/v2/feeds/comments/{root}/reactions"), vote).await;
    }
    let mut costs = Vec::new();
    for limit in [1, 25] {
        store.trace_statements(Some(count_thread)).expect("trace");
        THREAD_STATEMENTS.store(0, Ordering::SeqCst);
        let path = format!(
            "/api/v2/feeds/comments?object_id={post}&object_type=activity&depth=3&replies_limit=2&limit={limit}&user_id=u2"
        );
        let thread = call(&app, "GET", &path, Value::Null).await;
        let statements = THREAD_STATEMENTS.load(Ordering::SeqCst);
        store.trace_statements(None).expect("untrace");
        let comments = thread["comments"].as_array().expect("comments");
        assert_eq!(comments.len(), limit);
        assert_eq!(comments[0]["own_reactions"][0]["type"], "upvote");
        assert_eq!(comments[0]["replies"][0]["replies"].as_array().map(Vec::len), Some(1));
        eprintln!("thread page of {limit}: {statements} SQL statements");
        costs.push(statements);
    }
    assert_eq!(costs[0], costs[1], "statements for a thread page of 1 vs 25 comments");
}

/// Feed management without N+1: a QueryFeeds page and a list of follow
/// suggestions cost the same number of SQL statements for 1 feed as for 25,
/// counts and owners included.
static FEED_QUERY_STATEMENTS: AtomicUsize = AtomicUsize::new(0);

fn count_feed_queries(_: TraceEvent<'_>) {
    FEED_QUERY_STATEMENTS.fetch_add(1, Ordering::SeqCst);
}

#[tokio::test(flavor = "multi_thread")]
async fn feed_queries_and_suggestions_cost_the_same_statements_for_1_and_25_feeds() {
    let (_dir, store, app) = server().await;

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

    // Grants cached, as on a running server (see the feed page test).
    call(&app, "GET", "/api/v2/feeds/feed_groups/user/follow_suggestions?user_id=me&limit=1", json!({})).await;
    let mut costs = Vec::new();
    for limit in [1, 25] {
        store.trace_statements(Some(count_feed_queries)).expect("trace");
        FEED_QUERY_STATEMENTS.store(0, Ordering::SeqCst);
        let filter = json!({"created_by_id": {"$in": (0..30).map(|i| format!("owner{i}")).collect::<Vec<_>>()}});
        let page = call(&app, "POST", "/api/v2/feeds/feeds/query", json!({"limit": limit, "filter": filter})).await;
        let queried = FEED_QUERY_STATEMENTS.swap(0, Ordering::SeqCst);
        let path = format!("/api/v2/feeds/feed_groups/user/follow_suggestions?user_id=me&limit={limit}");
        let suggested = call(&app, "GET", &path, json!({})).await;
        let suggesting = FEED_QUERY_STATEMENTS.load(Ordering::SeqCst);
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
