//! GDPR tasks below the SDK: a user-data deletion SIGKILLed mid-way resumes
//! after a restart and finishes, leaving other users' data and the counters
//! right; an export SIGKILLed mid-way starts afresh and holds every record
//! once; pages visit every record once; usage counter rows fold without
//! changing totals.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::durability::{free_port, start_with, wait_healthy, Server};
use crate::support::{count_in_database, server_token, Client, TestDatabase, TestServer};

const ALICE_POSTS: usize = 1000;

async fn feed(api: &Client, group: &str, id: &str) -> Value {
    let (status, body) =
        api.post(&format!("/api/v2/feeds/feed_groups/{group}/feeds/{id}"), &json!({ "user_id": id })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn user_data_deletion_resumes_after_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDatabase::new().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let api = Client::new(&base).with_token(server_token());
    // Pages of 5 records: the deletion takes a few hundred transactions.
    let env = [("TRIBUTARY_USER_DATA_BATCH", "5")];
    let mut server = Server(start_with(port, dir.path(), db.url.as_deref(), &env));
    wait_healthy(&mut server, &base).await;

    api.create_users(&["alice", "bob"]).await;
    for (group, id) in [("user", "alice"), ("user", "bob"), ("timeline", "alice"), ("timeline", "bob")] {
        feed(&api, group, id).await;
    }
    for chunk in 0..ALICE_POSTS / 100 {
        let activities: Vec<Value> = (0..100)
            .map(|i| json!({ "type": "post", "feeds": ["user:alice"], "user_id": "alice", "text": format!("{chunk}-{i}") }))
            .collect();
        let (status, body) = api.post("/api/v2/feeds/activities/batch", &json!({ "activities": activities })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let bobs = api.add_activity("bob", &["user:bob"], json!({ "text": "bob's" })).await;
    let bobs_id = bobs["id"].as_str().expect("id").to_string();
    api.follow("timeline:alice", "user:bob", json!({})).await;
    api.follow("timeline:bob", "user:alice", json!({})).await;
    let (status, body) = api
        .post(&format!("/api/v2/feeds/activities/{bobs_id}/reactions"), &json!({ "type": "like", "user_id": "alice" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, body) = api.post("/api/v2/feeds/users/alice/delete", &json!({ "hard_delete": true })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let task_id = body["task_id"].as_str().expect("task_id").to_string();

    // Kill the server once the deletion is under way through her activities.
    let url = db.url.as_deref();
    let alices = "SELECT COUNT(*) FROM activities WHERE user_id = 'alice'";
    let started = Instant::now();
    loop {
        let left = count_in_database(dir.path(), url, alices).await;
        if left < ALICE_POSTS as i64 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the deletion did not start");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.0.kill().expect("SIGKILL the server");
    let _ = server.0.wait();
    drop(server);
    let left_at_kill = count_in_database(dir.path(), url, alices).await;
    assert!(left_at_kill > 0, "the deletion finished before the kill; nothing was interrupted");

    let mut server = Server(start_with(port, dir.path(), db.url.as_deref(), &env));
    wait_healthy(&mut server, &base).await;
    // The dead worker's lease lapses (`tasks::RENEWED_LEASE_SECONDS`) and the
    // task runs again from what is left.
    let deadline = Instant::now() + Duration::from_secs(90);
    let task = loop {
        let (status, task) = api.get(&format!("/api/v2/tasks/{task_id}")).await;
        assert_eq!(status, StatusCode::OK, "{task}");
        if task["status"] == "completed" {
            break task;
        }
        assert_ne!(task["status"], "failed", "{task}");
        assert!(Instant::now() < deadline, "the task did not resume: {task}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(task["result"]["hard_delete"], true, "{task}");
    println!("user data deletion: {left_at_kill} of {ALICE_POSTS} activities left at the kill");

    assert_eq!(count_in_database(dir.path(), url, alices).await, 0);
    assert_eq!(count_in_database(dir.path(), url, "SELECT COUNT(*) FROM activities WHERE user_id = 'bob'").await, 1);
    assert_eq!(count_in_database(dir.path(), url, "SELECT COUNT(*) FROM feeds WHERE created_by = 'alice'").await, 0);
    assert_eq!(count_in_database(dir.path(), url, "SELECT COUNT(*) FROM reactions WHERE user_id = 'alice'").await, 0);
    let bob = feed(&api, "user", "bob").await;
    assert_eq!(bob["feed"]["follower_count"], 0, "{bob}");
    let timeline = feed(&api, "timeline", "bob").await;
    assert_eq!(timeline["feed"]["following_count"], 0, "{timeline}");
    assert_eq!(timeline["activities"], json!([]), "{timeline}");
    let (status, got) = api.get(&format!("/api/v2/feeds/activities/{bobs_id}")).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["activity"]["reaction_count"], 0, "{got}");
    let (status, user) =
        api.get("/api/v2/users?payload=%7B%22filter_conditions%22%3A%7B%22id%22%3A%22alice%22%7D%7D").await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["users"][0]["id"], "alice", "the profile stays: {user}");
}

#[tokio::test(flavor = "multi_thread")]
async fn user_data_export_restarts_after_sigkill_without_duplicates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDatabase::new().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let api = Client::new(&base).with_token(server_token());
    let env = [("TRIBUTARY_USER_DATA_BATCH", "5")];
    let mut server = Server(start_with(port, dir.path(), db.url.as_deref(), &env));
    wait_healthy(&mut server, &base).await;
    api.create_users(&["alice"]).await;
    feed(&api, "user", "alice").await;
    for chunk in 0..ALICE_POSTS / 100 {
        let activities: Vec<Value> = (0..100)
            .map(|i| json!({ "id": format!("a-{chunk}-{i}"), "type": "post", "feeds": ["user:alice"], "user_id": "alice" }))
            .collect();
        let (status, body) = api.post("/api/v2/feeds/activities/batch", &json!({ "activities": activities })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = api.post("/api/v2/feeds/users/alice/export", &json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let task_id = body["task_id"].as_str().expect("task_id").to_string();

    let url = db.url.as_deref();
    let chunks = "SELECT COUNT(*) FROM user_export_chunks";
    let started = Instant::now();
    while count_in_database(dir.path(), url, chunks).await < 20 {
        assert!(started.elapsed() < Duration::from_secs(30), "the export did not start");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.0.kill().expect("SIGKILL the server");
    let _ = server.0.wait();
    drop(server);
    let done = "SELECT COUNT(*) FROM user_exports WHERE expires_at IS NOT NULL";
    assert_eq!(count_in_database(dir.path(), url, done).await, 0, "the export finished before the kill");

    let mut server = Server(start_with(port, dir.path(), db.url.as_deref(), &env));
    wait_healthy(&mut server, &base).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    let task = loop {
        let (status, task) = api.get(&format!("/api/v2/tasks/{task_id}")).await;
        assert_eq!(status, StatusCode::OK, "{task}");
        if task["status"] == "completed" {
            break task;
        }
        assert_ne!(task["status"], "failed", "{task}");
        assert!(Instant::now() < deadline, "the task did not resume: {task}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let link = task["result"]["url"].as_str().expect("url");
    assert!(link.starts_with(&base), "{link}");
    let export: Value = reqwest::get(link).await.expect("download").json().await.expect("json");
    let ids: Vec<&str> =
        export["activities"].as_array().expect("activities").iter().map(|a| a["id"].as_str().expect("id")).collect();
    let unique: std::collections::HashSet<&str> = ids.iter().copied().collect();
    assert_eq!((ids.len(), unique.len()), (ALICE_POSTS, ALICE_POSTS), "every activity exactly once");
    assert_eq!(export["feeds"][0]["fid"], "user:alice", "{}", export["feeds"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_export_link_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDatabase::new().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let api = Client::new(&base).with_token(server_token());
    let mut server =
        Server(start_with(port, dir.path(), db.url.as_deref(), &[("TRIBUTARY_EXPORT_LINK_TTL_SECS", "1")]));
    wait_healthy(&mut server, &base).await;
    api.create_users(&["alice"]).await;
    let (status, body) = api.post("/api/v2/feeds/users/alice/export", &json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let task_id = body["task_id"].as_str().expect("task_id").to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    let link = loop {
        let (_, task) = api.get(&format!("/api/v2/tasks/{task_id}")).await;
        if task["status"] == "completed" {
            break task["result"]["url"].as_str().expect("url").to_string();
        }
        assert!(Instant::now() < deadline, "{task}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let resp = reqwest::get(&link).await.expect("download");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body: Value = resp.json().await.expect("APIError");
    assert_eq!(body["code"], 17, "{body}");
}

#[tokio::test]
async fn usage_rows_fold_without_changing_totals() {
    use tributary::core::storage::UsageMetric;
    let server = TestServer::spawn().await;
    let store = server.open_store().await;
    for n in [3, 4, 5] {
        store.add_usage("2020-01-02", UsageMetric::Follows, n).await.expect("add");
    }
    store.add_usage("2020-01-03", UsageMetric::Follows, 7).await.expect("add");
    store.add_usage("2020-01-02", UsageMetric::ApiRequests, 1).await.expect("add");
    let before = store.usage_between("2020-01-01", "2020-01-31").await.expect("read");
    assert!(store.compact_usage().await.expect("compact") >= 1);
    let after = store.usage_between("2020-01-01", "2020-01-31").await.expect("read");
    assert_eq!(before, after);
    let follows = |d: &str| after.iter().find(|(day, m, _)| day == d && m == "follows").map(|r| r.2);
    assert_eq!((follows("2020-01-02"), follows("2020-01-03")), (Some(12), Some(7)));
    let rows = server.count_in_database("SELECT COUNT(*) FROM usage_daily WHERE day = '2020-01-02'").await;
    assert_eq!(rows, 2, "one row per (day, metric) once folded");
}

/// Every record exactly once, however the pages fall: follows across
/// several of the user's feeds, activities sharing a `created_at`.
#[tokio::test]
async fn user_data_pages_visit_every_record_once() {
    use tributary::core::storage::{UserDataKey, UserDataKind};
    let server = TestServer::spawn().await;
    let api = server.server();
    let fans: Vec<String> = (0..7).map(|i| format!("fan{i}")).collect();
    let mut ids: Vec<&str> = fans.iter().map(String::as_str).collect();
    ids.push("star");
    api.create_users(&ids).await;
    for feed_id in ["star", "star2"] {
        let (status, body) =
            api.post(&format!("/api/v2/feeds/feed_groups/user/feeds/{feed_id}"), &json!({ "user_id": "star" })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        for fan in &fans {
            feed(&api, "timeline", fan).await;
            api.follow(&format!("timeline:{fan}"), &format!("user:{feed_id}"), json!({})).await;
        }
    }
    let at = "2026-01-01T00:00:00Z";
    let activities: Vec<Value> =
        (0..9).map(|i| json!({ "id": format!("same-{i}"), "type": "post", "feeds": ["user:star"], "user_id": "star", "created_at": at })).collect();
    let (status, body) = api.post("/api/v2/feeds/activities/batch", &json!({ "activities": activities })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let store = server.open_store().await;
    for (kind, expected) in [(UserDataKind::Followers, 14), (UserDataKind::Activities, 9)] {
        let mut after: Option<UserDataKey> = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let page = store.user_data_page("star", kind, after.as_ref(), 3).await.expect("page");
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            for (key, doc) in &page {
                assert!(seen.insert((key.key.clone(), key.subkey.clone())), "{kind:?} twice: {doc}");
            }
        }
        assert_eq!(seen.len(), expected, "{kind:?}");
    }
}
