//! One request, one transaction (issue 11 §5): comment edits and deletes,
//! activity deletes, feed deletes and visibility changes write their
//! notifications and tasks in the transaction of their main write. The
//! store-level tests show a write whose version no longer holds leaves none
//! of them behind; the HTTP tests show the visible behaviour is kept, under
//! concurrent requests too.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tributary::core::model::{Activity, Fid, TaskWork};
use tributary::core::storage::{ExtraWrites, Store};
use tributary::core::tasks;
use tributary::core::time::Timestamp;

use crate::support::{Client, TestServer};

/// A stand-in notification: a copy of `activity` under another id.
fn note(activity: &Activity, id: &str) -> Activity {
    Activity { id: id.to_string(), ..activity.clone() }
}

async fn exists(store: &dyn Store, id: &str) -> bool {
    !store.get_activities(&[id.to_string()]).await.expect("get activities").is_empty()
}

/// A post by `alice` and a comment of hers on it.
async fn post_and_comment(api: &Client) -> (String, String) {
    api.create_users(&["alice"]).await;
    let post = api.add_activity("alice", &["user:alice"], json!({ "text": "hi" })).await;
    let post_id = post["id"].as_str().expect("id").to_string();
    let body = json!({ "object_id": post_id, "object_type": "activity", "comment": "hey", "user_id": "alice" });
    let (status, added) = api.post("/api/v2/feeds/comments", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    (post_id, added["comment"]["id"].as_str().expect("comment id").to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn comment_write_that_loses_its_version_makes_and_withdraws_no_notification() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let (post_id, comment_id) = post_and_comment(&api).await;
    let store = srv.open_store().await;
    let post = store.get_activities(std::slice::from_ref(&post_id)).await.expect("post").remove(0);
    store.save_activities(&[note(&post, "old-note")], &[]).await.expect("old note");
    let comment = store.get_comments(std::slice::from_ref(&comment_id)).await.expect("comment").remove(0);
    let extra = ExtraWrites {
        notifications: vec![note(&post, "new-note")],
        withdrawn: vec!["old-note".into()],
        ..Default::default()
    };
    let mut edited = comment.clone();
    edited.updated_at = Timestamp(comment.updated_at.0 + 10);

    let stale = Timestamp(comment.updated_at.0 - 1);
    assert!(!store.put_comment_with(&edited, Some(stale), &extra).await.expect("stale write"));
    assert!(!exists(store.as_ref(), "new-note").await, "no notification without the edit");
    assert!(exists(store.as_ref(), "old-note").await, "nothing withdrawn without the edit");

    assert!(store.put_comment_with(&edited, Some(comment.updated_at), &extra).await.expect("write"));
    assert!(exists(store.as_ref(), "new-note").await, "the notification comes with the edit");
    assert!(!exists(store.as_ref(), "old-note").await, "the withdrawal comes with the edit");

    // A hard delete of a comment that is gone withdraws nothing either.
    store.save_activities(&[note(&post, "old-note")], &[]).await.expect("old note");
    let gone = ExtraWrites { withdrawn: vec!["old-note".into()], ..Default::default() };
    assert!(store.purge_comment_with("no-such-comment", &gone).await.expect("purge").is_empty());
    assert!(exists(store.as_ref(), "old-note").await);
    assert_eq!(store.purge_comment_with(&comment_id, &gone).await.expect("purge"), vec![comment_id]);
    assert!(!exists(store.as_ref(), "old-note").await);
}

#[tokio::test(flavor = "multi_thread")]
async fn feed_write_queues_its_task_exactly_when_it_commits() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["alice", "bob"]).await;
    for owner in ["alice", "bob"] {
        api.read_feed(&format!("user:{owner}"), owner, json!({})).await;
    }
    let store = srv.open_store().await;
    let fids = vec![Fid::parse("user:alice").expect("fid"), Fid::parse("user:bob").expect("fid")];
    let feeds = store.get_feeds(&fids).await.expect("feeds");
    let versions: Vec<Timestamp> =
        fids.iter().map(|fid| feeds.iter().find(|f| &f.fid == fid).expect("feed").updated_at).collect();
    let deleted: Vec<_> = fids
        .iter()
        .map(|fid| {
            let mut f = feeds.iter().find(|f| &f.fid == fid).expect("feed").clone();
            f.deleted_at = Some(Timestamp::now());
            f.updated_at = Timestamp(f.updated_at.0 + 10);
            f
        })
        .collect();
    // Hard deletes, so a task that ran would purge the feeds.
    let one = tasks::pending(TaskWork::DeleteFeed { fid: fids[0].clone(), hard: true, purge_user_activities: false });
    let queued = ExtraWrites { tasks: vec![one.clone()], ..Default::default() };

    let stale = Timestamp(versions[0].0 - 1);
    assert!(!store.put_feed_with(&deleted[0], Some(stale), &queued).await.expect("stale write"));
    assert!(store.get_task(&one.id).await.expect("task").is_none(), "no task without the deletion");

    // A batch where one feed moved on writes no feed and no task.
    let batch = tasks::pending(TaskWork::DeleteFeeds { fids: fids.clone(), hard: true, purge_user_activities: false });
    let batch_queued = ExtraWrites { tasks: vec![batch.clone()], ..Default::default() };
    let half_stale = [versions[0], Timestamp(versions[1].0 - 1)];
    assert!(!store.put_feeds_with(&deleted, &half_stale, &batch_queued).await.expect("stale batch"));
    assert!(store.get_task(&batch.id).await.expect("task").is_none());
    let now = store.get_feeds(&fids).await.expect("feeds");
    assert!(now.iter().all(|f| f.deleted_at.is_none()), "no feed of the batch is deleted: {now:?}");

    assert!(store.put_feeds_with(&deleted, &versions, &batch_queued).await.expect("batch"));
    assert!(store.get_task(&batch.id).await.expect("task").is_some(), "the task comes with the deletion");
    let now = store.get_feeds(&fids).await.expect("feeds");
    assert!(now.iter().all(|f| f.deleted_at.is_some()), "every feed of the batch is deleted: {now:?}");
}

/// The mention notifications in `user`'s notification feed.
async fn notes(api: &Client, user: &str) -> Vec<String> {
    api.feed_ids(&format!("notification:{user}"), user).await
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_comment_mention_edits_leave_exactly_the_final_mentions_notified() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let (_, comment_id) = post_and_comment(&api).await;
    let users: Vec<String> = (0..6).map(|i| format!("m{i}")).collect();
    api.create_users(&users.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let path = format!("/api/v2/feeds/comments/{comment_id}");
    for round in 0..4 {
        let edits = users.iter().map(|u| {
            let (api, path) = (api.clone(), path.clone());
            let body = json!({ "mentioned_user_ids": [u], "handle_mention_notifications": true, "comment": round.to_string() });
            async move { api.patch(&path, &body).await }
        });
        for (status, body) in join_all(edits).await {
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let (status, read) = api.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{read}");
        let last = read["comment"]["mentioned_users"][0]["id"].as_str().expect("one mention").to_string();
        for u in &users {
            let expected = usize::from(u == &last);
            assert_eq!(notes(&api, u).await.len(), expected, "round {round}: {u} (last mention {last})");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn comment_mention_edits_and_deletes_move_notifications() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let (post_id, comment_id) = post_and_comment(&api).await;
    api.create_users(&["bob", "carol"]).await;
    let path = format!("/api/v2/feeds/comments/{comment_id}");
    let edit = json!({ "mentioned_user_ids": ["bob"], "handle_mention_notifications": true });
    let (status, body) = api.patch(&path, &edit).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(notes(&api, "bob").await.len(), 1);
    let partial = json!({ "set": { "mentioned_user_ids": ["carol"] }, "handle_mention_notifications": true });
    let (status, body) = api.post(&format!("{path}/partial"), &partial).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!((notes(&api, "bob").await.len(), notes(&api, "carol").await.len()), (0, 1));

    // Soft delete withdraws carol's; a hard delete of a second comment its own.
    let (status, body) = api.delete(&format!("{path}?delete_notification_activity=true")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(notes(&api, "carol").await.len(), 0);
    let body = json!({ "object_id": post_id, "object_type": "activity", "comment": "again", "user_id": "alice",
                       "mentioned_user_ids": ["bob"], "create_notification_activity": true });
    let (status, added) = api.post("/api/v2/feeds/comments", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(notes(&api, "bob").await.len(), 1);
    let second = added["comment"]["id"].as_str().expect("id");
    let (status, body) = api
        .delete(&format!("/api/v2/feeds/comments/{second}?hard_delete=true&delete_notification_activity=true"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(notes(&api, "bob").await.len(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn activity_deletes_withdraw_their_mentions_with_them() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["alice", "bob"]).await;
    let extra = json!({ "mentioned_user_ids": ["bob"], "create_notification_activity": true });
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            api.add_activity("alice", &["user:alice"], extra.clone()).await["id"].as_str().expect("id").to_string(),
        );
    }
    assert_eq!(notes(&api, "bob").await.len(), 3);
    let (status, body) =
        api.delete(&format!("/api/v2/feeds/activities/{}?delete_notification_activity=true", ids[0])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(notes(&api, "bob").await.len(), 2);
    let batch = json!({ "ids": [ids[1], ids[2], "no-such-activity"], "hard_delete": true,
                        "delete_notification_activity": true });
    let (status, body) = api.post("/api/v2/feeds/activities/delete", &batch).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut deleted: Vec<&str> =
        body["deleted_ids"].as_array().expect("ids").iter().filter_map(Value::as_str).collect();
    deleted.sort();
    let mut expected = vec![ids[1].as_str(), ids[2].as_str()];
    expected.sort();
    assert_eq!(deleted, expected, "only the activities are reported deleted");
    assert_eq!(notes(&api, "bob").await.len(), 0);
    assert!(api.feed_ids("user:alice", "alice").await.is_empty());
}

async fn wait_task(api: &Client, task_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, task) = api.get(&format!("/api/v2/tasks/{task_id}")).await;
        assert_eq!(status, StatusCode::OK, "{task}");
        match task["status"].as_str() {
            Some("completed") => return task,
            Some("failed") => panic!("task failed: {task}"),
            _ if Instant::now() > deadline => panic!("task not completed in 15 s: {task}"),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn feed_deletes_return_the_task_written_with_them() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["alice", "bob", "carol"]).await;
    for owner in ["alice", "bob", "carol"] {
        api.read_feed(&format!("user:{owner}"), owner, json!({})).await;
    }
    let (status, body) = api.delete("/api/v2/feeds/feed_groups/user/feeds/alice?hard_delete=true").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    wait_task(&api, body["task_id"].as_str().expect("task_id")).await;
    let batch = json!({ "feeds": ["user:bob", "user:carol"], "hard_delete": true });
    let (status, body) = api.post("/api/v2/feeds/feeds/delete", &batch).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let task = wait_task(&api, body["task_id"].as_str().expect("task_id")).await;
    assert_eq!(task["result"]["deleted_feeds"], json!(["user:bob", "user:carol"]), "{task}");
    let store = srv.open_store().await;
    let fids: Vec<Fid> = ["user:alice", "user:bob", "user:carol"].iter().map(|f| Fid::parse(f).expect("fid")).collect();
    assert!(store.get_feeds(&fids).await.expect("feeds").is_empty(), "the tasks purged the feeds");
}

#[tokio::test(flavor = "multi_thread")]
async fn feeds_batch_delete_keeps_a_concurrent_update() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let store = srv.open_store().await;
    for round in 0..8 {
        let owner = format!("o{round}");
        api.create_users(&[owner.as_str()]).await;
        let fid = format!("user:{owner}");
        api.read_feed(&fid, &owner, json!({})).await;
        let (path, rename, batch) = (
            format!("/api/v2/feeds/feed_groups/user/feeds/{owner}"),
            json!({ "name": "renamed" }),
            json!({ "feeds": [fid] }),
        );
        let update = api.put(&path, &rename);
        let delete = api.post("/api/v2/feeds/feeds/delete", &batch);
        let ((updated, changed), (deleted, body)) = tokio::join!(update, delete);
        assert_eq!(deleted, StatusCode::CREATED, "{body}");
        let stored = store.get_feeds(&[Fid::parse(&fid).expect("fid")]).await.expect("feed").remove(0);
        assert!(stored.deleted_at.is_some(), "round {round}: deleted");
        if updated == StatusCode::CREATED {
            assert_eq!(stored.name, "renamed", "round {round}: the update was kept: {changed}");
        } else {
            assert_eq!(updated, StatusCode::NOT_FOUND, "round {round}: {changed}");
        }
    }
}

/// The status of each follow into `target`, by source feed.
async fn follow_statuses(api: &Client, target: &str) -> Vec<(String, String)> {
    let (status, body) =
        api.post("/api/v2/feeds/follows/query", &json!({ "filter": { "target_feed": target }, "limit": 25 })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut out: Vec<(String, String)> = body["follows"]
        .as_array()
        .expect("follows")
        .iter()
        .map(|f| (f["source_feed"]["feed"].as_str().unwrap_or_default().to_string(), f["status"].to_string()))
        .collect();
    out.sort();
    out
}

/// Polls until the follows into `target` are `expected` (the task settles
/// them after the response).
async fn eventually_follows(api: &Client, target: &str, expected: &[(&str, &str)]) {
    let expected: Vec<(String, String)> = expected.iter().map(|(s, st)| (s.to_string(), format!("\"{st}\""))).collect();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = follow_statuses(api, target).await;
        if now == expected {
            return;
        }
        assert!(Instant::now() < deadline, "follows into {target}: {now:?}, expected {expected:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn visibility_changes_return_at_once_and_settle_follows_in_their_task() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["star", "fan1", "fan2", "fan3"]).await;
    let (status, body) = api
        .post(
            "/api/v2/feeds/feed_groups/user/feeds/star",
            &json!({ "user_id": "star", "data": { "visibility": "followers" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let post = api.add_activity("star", &["user:star"], json!({})).await;
    for fan in ["fan1", "fan2"] {
        api.follow(&format!("timeline:{fan}"), "user:star", json!({})).await;
    }
    eventually_follows(&api, "user:star", &[("timeline:fan1", "pending"), ("timeline:fan2", "pending")]).await;

    let change = "/api/v2/feeds/feed_groups/user/feeds/star/change_visibility";
    let (status, body) = api.post(change, &json!({ "visibility": "public" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["feed"]["visibility"], "public", "{body}");
    eventually_follows(&api, "user:star", &[("timeline:fan1", "accepted"), ("timeline:fan2", "accepted")]).await;
    assert_eq!(api.feed_ids("timeline:fan1", "fan1").await, vec![post["id"].as_str().expect("id").to_string()]);

    // Back to followers, a new request, then leaving with `reject`.
    let (status, body) = api.post(change, &json!({ "visibility": "followers" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    api.follow("timeline:fan3", "user:star", json!({})).await;
    let (status, body) =
        api.post(change, &json!({ "visibility": "visible", "pending_follows_action": "reject" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    eventually_follows(
        &api,
        "user:star",
        &[("timeline:fan1", "accepted"), ("timeline:fan2", "accepted"), ("timeline:fan3", "rejected")],
    )
    .await;

    // Tightening to private drops the followers.
    let (status, body) = api.post(change, &json!({ "visibility": "private" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["feed"]["visibility"], "private", "{body}");
    eventually_follows(&api, "user:star", &[]).await;
    assert!(api.feed_ids("timeline:fan1", "fan1").await.is_empty());
}
