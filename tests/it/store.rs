//! Store behaviour observed through HTTP: fan-out, follow copies, unfollow,
//! deletes, expiry, keyset pagination, upserts and tasks.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, ids_of, Client, TestServer};

fn id(activity: &Value) -> String {
    activity["id"].as_str().unwrap_or_else(|| panic!("activity without id: {activity}")).to_string()
}

/// Adds `n` activities to `user:<user>` one by one; returns their ids oldest first.
async fn post_many(api: &Client, user: &str, n: usize) -> Vec<String> {
    let feed = format!("user:{user}");
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(id(&api.add_activity(user, &[&feed], json!({ "text": format!("{user} #{i}") })).await));
    }
    ids
}

fn newest_first(mut ids: Vec<String>) -> Vec<String> {
    ids.reverse();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn fan_out_reaches_followers_newest_first() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["a", "b"]).await;
    api.follow("timeline:b", "user:a", json!({})).await;
    let posted = post_many(&api, "a", 3).await;

    let expected = newest_first(posted);
    assert_eq!(api.feed_ids("user:a", "a").await, expected, "origin feed, newest first");
    assert_eq!(api.feed_ids("timeline:b", "b").await, expected, "follower timeline, newest first");

    let read = api.read_feed("timeline:b", "b", json!({})).await;
    let created: Vec<i64> = read["activities"]
        .as_array()
        .expect("activities")
        .iter()
        .map(|a| a["created_at"].as_i64().expect("created_at"))
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "created_at descending: {created:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn follow_copies_at_most_activity_copy_limit() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["c", "d", "e"]).await;
    let posted = newest_first(post_many(&api, "c", 5).await);

    api.follow("timeline:d", "user:c", json!({ "activity_copy_limit": 2 })).await;
    assert_eq!(api.feed_ids("timeline:d", "d").await, posted[..2].to_vec(), "the 2 newest are copied");

    api.follow("timeline:e", "user:c", json!({ "activity_copy_limit": 0 })).await;
    assert_eq!(api.feed_ids("timeline:e", "e").await, Vec::<String>::new(), "limit 0 copies nothing");

    // New activities still fan out after a limited copy.
    let fresh = id(&api.add_activity("c", &["user:c"], json!({})).await);
    assert_eq!(api.feed_ids("timeline:d", "d").await, vec![fresh.clone(), posted[0].clone(), posted[1].clone()]);
    assert_eq!(api.feed_ids("timeline:e", "e").await, vec![fresh]);
}

#[tokio::test(flavor = "multi_thread")]
async fn unfollow_removes_copies_unless_keep_history() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["a", "b", "k"]).await;
    api.follow("timeline:b", "user:a", json!({})).await;
    api.follow("timeline:k", "user:a", json!({})).await;
    let posted = newest_first(post_many(&api, "a", 3).await);
    // b's own activity on its timeline must survive any unfollow.
    let own = id(&api.add_activity("b", &["timeline:b"], json!({})).await);

    let (status, body) = api.delete("/api/v2/feeds/follows/timeline:b/user:a").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(api.feed_ids("timeline:b", "b").await, vec![own], "copies removed, own activity kept");

    let (status, body) = api.delete("/api/v2/feeds/follows/timeline:k/user:a?keep_history=true").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(api.feed_ids("timeline:k", "k").await, posted, "keep_history keeps the copies");

    // After unfollowing, new activities no longer arrive.
    api.add_activity("a", &["user:a"], json!({})).await;
    assert_eq!(api.feed_ids("timeline:k", "k").await, posted);
}

#[tokio::test(flavor = "multi_thread")]
async fn activity_reaching_a_timeline_twice_survives_one_unfollow() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["a", "x", "b"]).await;
    api.follow("timeline:b", "user:a", json!({})).await;
    api.follow("timeline:b", "user:x", json!({})).await;
    let both = id(&api.add_activity("a", &["user:a", "user:x"], json!({})).await);
    let only_a = id(&api.add_activity("a", &["user:a"], json!({})).await);
    assert_eq!(api.feed_ids("timeline:b", "b").await, vec![only_a.clone(), both.clone()]);

    let (status, body) = api.delete("/api/v2/feeds/follows/timeline:b/user:a").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(api.feed_ids("timeline:b", "b").await, vec![both.clone()], "still reaches b through user:x");

    // And a follow made after the activity existed counts too.
    api.create_users(&["c"]).await;
    api.follow("timeline:c", "user:a", json!({})).await;
    api.follow("timeline:c", "user:x", json!({})).await;
    let (status, body) = api.delete("/api/v2/feeds/follows/timeline:c/user:x").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(api.feed_ids("timeline:c", "c").await, vec![only_a, both], "user:a still brings both");
}

#[tokio::test(flavor = "multi_thread")]
async fn soft_delete_hides_and_restore_brings_back() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["a", "b"]).await;
    api.follow("timeline:b", "user:a", json!({})).await;
    let keep = id(&api.add_activity("a", &["user:a"], json!({})).await);
    let gone = id(&api.add_activity("a", &["user:a"], json!({})).await);
    let path = format!("/api/v2/feeds/activities/{gone}");

    let (status, body) = api.delete(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(api.feed_ids("user:a", "a").await, vec![keep.clone()]);
    assert_eq!(api.feed_ids("timeline:b", "b").await, vec![keep.clone()]);
    assert_error(&api.get(&path).await, StatusCode::NOT_FOUND, 16);
    let read = api.read_feed("user:a", "a", json!({})).await;
    assert_eq!(read["feed"]["activity_count"], 1, "counts skip deleted: {}", read["feed"]);

    let (status, body) = api.send(Method::POST, &format!("{path}/restore"), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["activity"]["id"], gone.as_str());
    let (status, body) = api.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["activity"].get("deleted_at").is_none_or(Value::is_null), "{body}");
    assert_eq!(api.feed_ids("user:a", "a").await, vec![gone.clone(), keep.clone()]);
    assert_eq!(api.feed_ids("timeline:b", "b").await, vec![gone, keep]);
}

#[tokio::test(flavor = "multi_thread")]
async fn hard_delete_removes_from_every_feed() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["a", "b", "x"]).await;
    api.follow("timeline:b", "user:a", json!({})).await;
    let keep = id(&api.add_activity("a", &["user:a"], json!({})).await);
    let gone = id(&api.add_activity("a", &["user:a", "user:x"], json!({})).await);
    let path = format!("/api/v2/feeds/activities/{gone}");

    let (status, body) = api.delete(&format!("{path}?hard_delete=true")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(api.feed_ids("user:a", "a").await, vec![keep.clone()]);
    assert_eq!(api.feed_ids("user:x", "x").await, Vec::<String>::new());
    assert_eq!(api.feed_ids("timeline:b", "b").await, vec![keep]);
    assert_error(&api.get(&path).await, StatusCode::NOT_FOUND, 16);
    // Nothing left to restore.
    let resp = api.send(Method::POST, &format!("{path}/restore"), None).await;
    assert_error(&resp, StatusCode::NOT_FOUND, 16);
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_activities_are_not_read() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["a", "b"]).await;
    api.follow("timeline:b", "user:a", json!({})).await;
    let live = id(&api.add_activity("a", &["user:a"], json!({ "expires_at": "2200-01-01T00:00:00Z" })).await);
    api.add_activity("a", &["user:a"], json!({ "expires_at": "2001-01-01T00:00:00Z" })).await;
    api.add_activity("a", &["user:a"], json!({ "expires_at": "2020-06-01T12:00:00" })).await;
    let last = id(&api.add_activity("a", &["user:a"], json!({})).await);

    assert_eq!(api.feed_ids("user:a", "a").await, vec![last.clone(), live.clone()]);
    assert_eq!(api.feed_ids("timeline:b", "b").await, vec![last, live]);
}

#[tokio::test(flavor = "multi_thread")]
async fn keyset_pagination_walks_forward_and_back() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["p"]).await;
    // 60 activities in three batches: ties on created_at inside a batch
    // exercise the id tie-breaker of the keyset.
    let mut all = HashSet::new();
    for batch in 0..3 {
        let items: Vec<Value> = (0..20)
            .map(|i| json!({ "type": "post", "feeds": ["user:p"], "user_id": "p", "text": format!("{batch}/{i}") }))
            .collect();
        let (status, body) = api.post("/api/v2/feeds/activities/batch", &json!({ "activities": items })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        all.extend(body["activities"].as_array().expect("activities").iter().map(id));
    }
    assert_eq!(all.len(), 60);

    let page = |params: Value| {
        let api = api.clone();
        async move { api.read_feed("user:p", "p", params).await }
    };
    let p1 = page(json!({ "limit": 25 })).await;
    let c1 = p1["next"].as_str().expect("page 1 has next").to_string();
    assert!(p1.get("prev").is_none_or(Value::is_null), "first page has no prev: {:?}", p1.get("prev"));
    let p2 = page(json!({ "limit": 25, "next": c1 })).await;
    let c2 = p2["next"].as_str().expect("page 2 has next").to_string();
    let p3 = page(json!({ "limit": 25, "next": c2 })).await;
    assert!(p3.get("next").is_none_or(Value::is_null), "last page has no next: {:?}", p3.get("next"));

    let (i1, i2, i3) = (ids_of(&p1), ids_of(&p2), ids_of(&p3));
    assert_eq!((i1.len(), i2.len(), i3.len()), (25, 25, 10));
    let seen: Vec<String> = [i1.clone(), i2.clone(), i3.clone()].concat();
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), 60, "no duplicates across pages");
    assert_eq!(unique, all, "every activity seen once");
    // The batches are in order: the newest batch (batch 2) fills page 1 first.
    let texts: Vec<String> = p1["activities"]
        .as_array()
        .expect("activities")
        .iter()
        .map(|a| a["text"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(texts[..20].iter().all(|t| t.starts_with("2/")), "newest batch first: {texts:?}");

    // Walk back with prev.
    let back2 = page(json!({ "limit": 25, "prev": p3["prev"].as_str().expect("page 3 has prev") })).await;
    assert_eq!(ids_of(&back2), i2, "prev from page 3 is page 2");
    let back1 = page(json!({ "limit": 25, "prev": back2["prev"].as_str().expect("page 2 has prev") })).await;
    assert_eq!(ids_of(&back1), i1, "prev from page 2 is page 1");
    assert!(back1.get("prev").is_none_or(Value::is_null), "no prev before the first page");
    assert!(back1["next"].is_string(), "walking back keeps a next");

    // Both cursors at once, and a forged cursor, are input errors.
    let both = api
        .post(
            "/api/v2/feeds/feed_groups/user/feeds/p",
            &json!({ "user_id": "p", "next": back1["next"], "prev": back2["prev"] }),
        )
        .await;
    assert_error(&both, StatusCode::BAD_REQUEST, 4);
    let forged = api.post("/api/v2/feeds/feed_groups/user/feeds/p", &json!({ "user_id": "p", "next": "bm9wZQ" })).await;
    assert_error(&forged, StatusCode::BAD_REQUEST, 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn update_with_the_same_id_keeps_created_at() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["a"]).await;
    let first = api.add_activity("a", &["user:a"], json!({ "id": "fixed-id", "text": "one" })).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = api.add_activity("a", &["user:a"], json!({ "id": "fixed-id", "text": "two" })).await;
    assert_eq!(second["id"], "fixed-id");
    assert_eq!(second["text"], "two");
    assert_eq!(second["created_at"], first["created_at"], "created_at kept on upsert");
    assert!(
        second["updated_at"].as_i64() > first["updated_at"].as_i64(),
        "updated_at moves: {} → {}",
        first["updated_at"],
        second["updated_at"]
    );
    assert_eq!(api.feed_ids("user:a", "a").await, vec!["fixed-id".to_string()], "still one activity");

    let (status, body) = api
        .post(
            "/api/v2/feeds/activities/batch",
            &json!({ "activities": [{ "id": "fixed-id", "type": "post", "feeds": ["user:a"], "user_id": "a", "text": "three" }] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["activities"][0]["created_at"], first["created_at"], "created_at kept on batch upsert");

    let (status, body) = api.put("/api/v2/feeds/activities/fixed-id", &json!({ "text": "four", "user_id": "a" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["activity"]["created_at"], first["created_at"], "created_at kept on update");
    assert_eq!(body["activity"]["text"], "four");
}

#[tokio::test(flavor = "multi_thread")]
async fn upsert_batch_is_all_or_nothing() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["a"]).await;
    let too_many: Vec<String> = (0..26).map(|i| format!("user:f{i}")).collect();
    let batch = json!({ "activities": [
        { "id": "batch-1", "type": "post", "feeds": ["user:a"], "user_id": "a" },
        { "id": "batch-2", "type": "post", "feeds": ["user:a"], "user_id": "a" },
        { "id": "batch-3", "type": "post", "feeds": too_many, "user_id": "a" },
    ]});
    let resp = api.post("/api/v2/feeds/activities/batch", &batch).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    for id in ["batch-1", "batch-2", "batch-3"] {
        assert_error(&api.get(&format!("/api/v2/feeds/activities/{id}")).await, StatusCode::NOT_FOUND, 16);
    }
    assert_eq!(api.feed_ids("user:a", "a").await, Vec::<String>::new());

    // A batch whose last item names an unknown author fails as a whole too.
    let batch = json!({ "activities": [
        { "id": "batch-4", "type": "post", "feeds": ["user:a"], "user_id": "a" },
        { "id": "batch-5", "type": "post", "feeds": ["user:a"], "user_id": "nobody-here" },
    ]});
    let (status, body) = api.post("/api/v2/feeds/activities/batch", &batch).await;
    assert!(status.is_client_error(), "unknown author rejected: {status} {body}");
    assert_error(&api.get("/api/v2/feeds/activities/batch-4").await, StatusCode::NOT_FOUND, 16);
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_feed_runs_a_task_to_completion() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["a"]).await;
    api.add_activity("a", &["user:a"], json!({})).await;
    let (status, body) = api.delete("/api/v2/feeds/feed_groups/user/feeds/a?hard_delete=true").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let task_id = body["task_id"].as_str().expect("task_id").to_string();
    assert!(!task_id.is_empty());

    let deadline = Instant::now() + Duration::from_secs(15);
    let task = loop {
        let (status, task) = api.get(&format!("/api/v2/tasks/{task_id}")).await;
        assert_eq!(status, StatusCode::OK, "{task}");
        assert_eq!(task["task_id"], task_id.as_str());
        match task["status"].as_str() {
            Some("completed") => break task,
            Some("failed") => panic!("task failed: {task}"),
            _ if Instant::now() > deadline => panic!("task not completed in 15 s: {task}"),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    assert!(task["created_at"].is_i64() && task["updated_at"].is_i64(), "{task}");
}

/// Finding: every update re-links the activity from scratch
/// (`save_activity_tx`), dropping copies that no longer have a follow behind
/// them — including the ones `keep_history=true` promised to keep.
#[tokio::test(flavor = "multi_thread")]
async fn updating_an_activity_keeps_the_history_unfollow_kept() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["a", "k"]).await;
    api.follow("timeline:k", "user:a", json!({})).await;
    let kept = id(&api.add_activity("a", &["user:a"], json!({})).await);
    let (status, body) = api.delete("/api/v2/feeds/follows/timeline:k/user:a?keep_history=true").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(api.feed_ids("timeline:k", "k").await, vec![kept.clone()]);

    let path = format!("/api/v2/feeds/activities/{kept}");
    let (status, body) = api.put(&path, &json!({ "text": "edited", "user_id": "a" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(api.feed_ids("timeline:k", "k").await, vec![kept.clone()], "kept history survives PUT");
    let (status, body) = api.patch(&path, &json!({ "set": { "text": "patched" }, "user_id": "a" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(api.feed_ids("timeline:k", "k").await, vec![kept.clone()], "kept history survives PATCH");
    api.add_activity("a", &["user:a"], json!({ "id": kept, "text": "upserted" })).await;
    assert_eq!(api.feed_ids("timeline:k", "k").await, vec![kept], "kept history survives an upsert");
}

/// Finding: same root cause — an update fans the activity out again to
/// every follower, so an old activity the follow did not copy (beyond
/// `activity_copy_limit`) appears in the follower's timeline once edited.
#[tokio::test(flavor = "multi_thread")]
async fn updating_an_old_activity_does_not_bypass_activity_copy_limit() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["a", "k"]).await;
    let old = post_many(&api, "a", 3).await;
    api.follow("timeline:k", "user:a", json!({ "activity_copy_limit": 1 })).await;
    assert_eq!(api.feed_ids("timeline:k", "k").await, vec![old[2].clone()]);

    let (status, body) =
        api.put(&format!("/api/v2/feeds/activities/{}", old[0]), &json!({ "text": "edited", "user_id": "a" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(api.feed_ids("timeline:k", "k").await, vec![old[2].clone()], "an edit is not a new post");
    // The edited activity is still where it was posted.
    assert_eq!(api.feed_ids("user:a", "a").await, newest_first(old));
}

#[tokio::test(flavor = "multi_thread")]
async fn page_size_defaults_and_cursors_are_stable_under_new_writes() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["a"]).await;
    let all = newest_first(post_many(&api, "a", 30).await);
    let default_page = api.read_feed("user:a", "a", json!({ "limit": 0 })).await;
    assert_eq!(ids_of(&default_page), all[..25].to_vec(), "limit 0 means the default, 25");
    let resp = api.post("/api/v2/feeds/feed_groups/user/feeds/a", &json!({ "limit": -1, "user_id": "a" })).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);

    // Activities added between two page reads do not shift the next page.
    let p1 = api.read_feed("user:a", "a", json!({ "limit": 10 })).await;
    post_many(&api, "a", 5).await;
    let p2 = api.read_feed("user:a", "a", json!({ "limit": 10, "next": p1["next"] })).await;
    assert_eq!(ids_of(&p1), all[..10].to_vec());
    assert_eq!(ids_of(&p2), all[10..20].to_vec());
}

/// The visibility grants are cached in process (issue 14): a change is in
/// force for the very next request on the instance that made it, for the
/// access check and `own_capabilities` alike.
#[tokio::test(flavor = "multi_thread")]
async fn a_grant_change_is_in_force_for_the_next_request() {
    let srv = TestServer::spawn().await;
    let (api, ann) = (srv.server(), srv.user("ann"));
    api.create_users(&["ann", "bob"]).await;
    let bob = "/api/v2/feeds/feed_groups/user/feeds/bob";
    let (status, _) = api.post(bob, &json!({"user_id": "bob"})).await;
    assert!(status.is_success());
    let caps = |read: &Value| -> Vec<String> {
        let caps = read["feed"]["own_capabilities"].as_array().unwrap_or_else(|| panic!("no capabilities: {read}"));
        caps.iter().filter_map(|c| c.as_str().map(str::to_string)).collect()
    };
    let (status, before) = ann.post(bob, &json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{before}");
    assert!(caps(&before).contains(&"follow".to_string()), "{before}");

    let only_read = json!({"grants": {"user": ["read-feed", "read-activities"]}});
    let (status, body) = api.put("/api/v2/feeds/feed_visibilities/visible", &only_read).await;
    assert!(status.is_success(), "{body}");
    let (_, after) = ann.post(bob, &json!({})).await;
    assert_eq!(caps(&after), ["read-activities", "read-feed"], "{after}");

    let (status, body) = api.put("/api/v2/feeds/feed_visibilities/visible", &json!({"grants": {"user": []}})).await;
    assert!(status.is_success(), "{body}");
    let (status, refused) = ann.post(bob, &json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "read-feed revoked: {refused}");
}
