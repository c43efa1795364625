//! Celebrity fan-out: an activity posted to a feed with more followers than
//! the inline limit (1,000) reaches the follower timelines through the
//! background fan-out — every one of them, also across a SIGKILL — and
//! unfollows, deletes, restores and follows during the job keep their
//! meaning. Feed reads show the entries a job has still to copy, so the
//! activity is in every timeline from its acknowledgement on.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::durability::{free_port, start_with, wait_healthy, Server};
use crate::realtime::{connect, next_event};
use crate::support::{count_in_database, server_token, Client, TestDatabase, TestServer};

/// The store's inline limit: feeds with more accepted followers fan out in
/// the background.
const INLINE_FOLLOWERS: usize = 1_000;

fn follower(i: usize) -> String {
    format!("f{i:05}")
}

/// `n` followers of `target`: `timeline:f00000`…, in one follow_batch per
/// thousand.
async fn follow_many(api: &Client, target: &str, n: usize) {
    for start in (0..n).step_by(1000) {
        let follows: Vec<_> = (start..n.min(start + 1000))
            .map(|i| json!({"source": format!("timeline:{}", follower(i)), "target": target}))
            .collect();
        let (status, body) =
            api.post("/api/v2/feeds/follows/batch", &json!({"follows": follows, "create_users": true})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
}

async fn timeline_has(api: &Client, user: &str, id: &str) -> bool {
    let ids = api.feed_ids(&format!("timeline:{user}"), user).await;
    assert!(ids.iter().filter(|i| *i == id).count() <= 1, "{id} twice in timeline:{user}: {ids:?}");
    ids.iter().any(|i| i == id)
}

/// Waits (bounded) until `timeline:{user}` shows `id`.
async fn wait_visible(api: &Client, user: &str, id: &str) {
    let started = Instant::now();
    while !timeline_has(api, user, id).await {
        assert!(started.elapsed() < Duration::from_secs(60), "{id} not in timeline:{user} within 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The followers among `0..n` whose timeline lacks `id`, read 8 at a time.
async fn lacking(api: &Client, n: usize, id: &str) -> Vec<String> {
    let mut missing = Vec::new();
    let users: Vec<String> = (0..n).map(follower).collect();
    for chunk in users.chunks(8) {
        let reads = chunk.iter().map(|u| async move { (u.clone(), timeline_has(api, u, id).await) });
        for (user, has) in futures_util::future::join_all(reads).await {
            if !has {
                missing.push(user);
            }
        }
    }
    missing
}

async fn post(api: &Client, id: &str) {
    api.add_activity("celeb", &["user:celeb"], json!({"id": id, "text": id})).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_activity_to_a_feed_over_the_inline_limit_reaches_every_follower() {
    let server = TestServer::spawn_with_fanout_batch(97).await;
    let api = server.server();
    let n = INLINE_FOLLOWERS + 30;
    follow_many(&api, "user:celeb", n).await;
    // The follower the fan-out reaches last watches its timeline: the
    // event comes as it does for an inline fan-out.
    let last = follower(n - 1);
    let (mut socket, connection) = connect(&server, &last).await;
    let watch = format!("/api/v2/feeds/feed_groups/timeline/feeds/{last}?connection_id={connection}");
    let (status, body) = server.user(&last).post(&watch, &json!({"watch": true})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    post(&api, "big-1").await;
    let event = next_event(&mut socket, "feeds.activity.added").await;
    assert_eq!(
        (event["fid"].as_str(), event["activity"]["id"].as_str()),
        (Some(&*format!("timeline:{last}")), Some("big-1"))
    );
    let (status, own) = api.post("/api/v2/feeds/feed_groups/user/feeds/celeb", &json!({"user_id": "celeb"})).await;
    assert_eq!(status, StatusCode::CREATED, "{own}");
    assert_eq!(own["activities"][0]["id"], "big-1", "the origin feed has it at once: {own}");
    wait_visible(&api, &last, "big-1").await;
    assert_eq!(lacking(&api, n, "big-1").await, Vec::<String>::new());
    // A second one goes the same way, newest first.
    post(&api, "big-2").await;
    wait_visible(&api, &last, "big-2").await;
    let ids = api.feed_ids(&format!("timeline:{}", follower(0)), &follower(0)).await;
    assert_eq!(ids, ["big-2", "big-1"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn unfollow_follow_delete_and_restore_during_a_background_fan_out() {
    // Small batches: the job runs long enough for the calls below to land
    // while it is under way (and they must hold whenever they land).
    let server = TestServer::spawn_with_fanout_batch(7).await;
    let api = server.server();
    let n = INLINE_FOLLOWERS + 20;
    follow_many(&api, "user:celeb", n).await;
    let (last, unfollower) = (follower(n - 1), follower(n - 2));

    // Unfollowed and followed while the job runs.
    post(&api, "during-follows").await;
    let (status, body) =
        api.delete(&format!("/api/v2/feeds/follows/timeline:{unfollower}/user:celeb?keep_history=false")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    api.follow("timeline:zlate", "user:celeb", json!({"create_users": true})).await;
    // Hard-deleted, soft-deleted (then restored) while their jobs run.
    post(&api, "purged").await;
    let (status, body) = api.delete("/api/v2/feeds/activities/purged?hard_delete=true").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    post(&api, "restored").await;
    let (status, body) = api.delete("/api/v2/feeds/activities/restored").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    post(&api, "soft-deleted").await;
    let (status, body) = api.delete("/api/v2/feeds/activities/soft-deleted").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Jobs run in the order their activities were posted: once the last one
    // is through, so are the others.
    post(&api, "marker").await;
    wait_visible(&api, &last, "marker").await;

    assert!(timeline_has(&api, &last, "during-follows").await);
    assert!(!timeline_has(&api, &unfollower, "during-follows").await, "the unfollowed feed got the activity");
    assert!(!timeline_has(&api, &unfollower, "marker").await);
    let late = api.feed_ids("timeline:zlate", "zlate").await;
    assert_eq!(late.iter().filter(|i| *i == "during-follows").count(), 1, "{late:?}");
    for user in [follower(0), follower(n / 2), last.clone()] {
        let ids = api.feed_ids(&format!("timeline:{user}"), &user).await;
        for gone in ["purged", "restored", "soft-deleted"] {
            assert!(!ids.iter().any(|i| i == gone), "{gone} shows in timeline:{user}: {ids:?}");
        }
    }
    let (status, body) = api.post("/api/v2/feeds/activities/restored/restore", &json!({"user_id": "celeb"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let expected_missing = vec![unfollower.clone()];
    assert_eq!(lacking(&api, n, "restored").await, expected_missing, "the restored activity, every timeline");
    assert_eq!(lacking(&api, n, "during-follows").await, expected_missing);
}

/// Acceptance: SIGKILL while a fan-out is under way; after a restart every
/// follower's timeline gets the acknowledged activity.
#[tokio::test(flavor = "multi_thread")]
async fn sigkill_during_a_background_fan_out_loses_no_follower() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDatabase::new().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let api = Client::new(&base).with_token(server_token());
    // Batches of 3 follower feeds: hundreds of transactions, a job that
    // lasts long enough to be killed in the middle.
    let env = [("TRIBUTARY_FANOUT_BATCH", "3")];
    let n = 2 * INLINE_FOLLOWERS;

    let mut server = Server(start_with(port, dir.path(), db.url.as_deref(), &env));
    wait_healthy(&mut server, &base).await;
    follow_many(&api, "user:celeb", n).await;
    post(&api, "survivor").await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    server.0.kill().expect("SIGKILL the server");
    let _ = server.0.wait();
    drop(server);
    // Reads show pending entries too, so the copies are counted in the
    // database: the origin's entry and one per follower reached.
    let copies =
        "SELECT COUNT(*) FROM feed_entries WHERE activity_seq = (SELECT seq FROM activities WHERE id = 'survivor')";
    let copied = count_in_database(dir.path(), db.url.as_deref(), copies).await - 1;
    println!("fan-out at SIGKILL: {copied} of {n} follower entries copied");
    assert!(copied < n as i64, "the fan-out was over before the kill: nothing tested");

    let mut server = Server(start_with(port, dir.path(), db.url.as_deref(), &[("TRIBUTARY_FANOUT_BATCH", "500")]));
    wait_healthy(&mut server, &base).await;
    let started = Instant::now();
    while count_in_database(dir.path(), db.url.as_deref(), "SELECT COUNT(*) FROM fanout_jobs").await > 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "the fan-out did not resume within 60 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count_in_database(dir.path(), db.url.as_deref(), copies).await, n as i64 + 1);
    assert_eq!(lacking(&api, n, "survivor").await, Vec::<String>::new());
    drop(server);
}

/// Acceptance: an acknowledged activity is in every follower's timeline at
/// once, while its background fan-out is still copying (batches of 3 feeds
/// make it last), with its order, deletion and unfollows respected.
#[tokio::test(flavor = "multi_thread")]
async fn a_background_fan_out_is_in_every_timeline_from_the_acknowledgement_on() {
    let server = TestServer::spawn_with_fanout_batch(3).await;
    let api = server.server();
    let n = 2 * INLINE_FOLLOWERS;
    follow_many(&api, "user:celeb", n).await;
    api.add_activity("friend", &["user:friend"], json!({"id": "older", "create_users": true})).await;
    api.follow(&format!("timeline:{}", follower(n - 1)), "user:friend", json!({})).await;
    post(&api, "at-once").await;
    let last = follower(n - 1);
    let ids = api.feed_ids(&format!("timeline:{last}"), &last).await;
    assert_eq!(ids, ["at-once", "older"], "newest first, pending entry included");
    for user in [follower(0), follower(n / 2)] {
        assert!(timeline_has(&api, &user, "at-once").await, "timeline:{user} lacks the activity at ack");
    }
    let copies =
        "SELECT COUNT(*) FROM feed_entries WHERE activity_seq = (SELECT seq FROM activities WHERE id = 'at-once')";
    let copied = server.count_in_database(copies).await - 1;
    println!("follower entries copied when the timelines were read: {copied} of {n}");
    assert!(copied < n as i64, "the fan-out was over before the reads: nothing tested");
    // An unfollowed feed stops showing it; a soft-deleted activity leaves
    // every timeline, copied or pending.
    let unfollower = follower(n - 2);
    let (status, body) =
        api.delete(&format!("/api/v2/feeds/follows/timeline:{unfollower}/user:celeb?keep_history=false")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!timeline_has(&api, &unfollower, "at-once").await, "an unfollowed feed shows the pending entry");
    let (status, body) = api.delete("/api/v2/feeds/activities/at-once").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for user in [follower(0), last.clone()] {
        assert!(!timeline_has(&api, &user, "at-once").await, "timeline:{user} shows a deleted activity");
    }
}
