//! Notification feeds over HTTP and the WebSocket: marking records
//! `feeds.activity.marked` and `feeds.notification_feed.updated` (with the
//! state after the marking) for the feed's watchers, and so does a
//! notification arriving; `mark_watched` records `feeds.stories_feed.updated`;
//! a repeat inside the deduplication window adds no notification; a
//! background fan-out batch joins the activity to the groups of aggregated
//! follower feeds.

use serde_json::{json, Value};

use crate::realtime::{connect, next_json};
use crate::support::TestServer;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_of(socket: &mut Socket, prefix: &str) -> Value {
    loop {
        let frame = next_json(socket).await;
        if frame["type"].as_str().is_some_and(|t| t.starts_with(prefix)) {
            return frame;
        }
    }
}

#[tokio::test]
async fn marking_announces_the_marks_and_the_new_status_to_the_feeds_watchers() {
    let server = TestServer::spawn().await;
    let admin = server.server();
    admin.create_users(&["erin", "frank"]).await;
    let (mut erin, conn) = connect(&server, "erin").await;
    let path = format!("/api/v2/feeds/feed_groups/notification/feeds/erin?connection_id={conn}");
    let (status, body) = server.user("erin").post(&path, &json!({"watch": true})).await;
    assert_eq!(status, 201, "{body}");
    admin.add_activity("frank", &["notification:erin"], json!({"type": "like"})).await;
    admin.add_activity("frank", &["notification:erin"], json!({"type": "comment"})).await;
    let read = admin.read_feed("notification:erin", "erin", json!({})).await;
    let like = read["aggregated_activities"][1]["group"].as_str().expect("like group").to_string();
    assert!(like.starts_with("like-"), "{read}");

    let mark = "/api/v2/feeds/feed_groups/notification/feeds/erin/activities/mark/batch";
    let (status, body) = server.user("erin").post(mark, &json!({"mark_read": [like]})).await;
    assert_eq!(status, 201, "{body}");
    let marked = next_of(&mut erin, "feeds.activity.marked").await;
    assert_eq!(marked["fid"], "notification:erin", "{marked}");
    assert_eq!(marked["mark_read"], json!([like]), "{marked}");
    assert_eq!(marked["user"]["id"], "erin", "{marked}");
    assert!(marked.get("mark_all_read").is_none(), "{marked}");
    let updated = next_of(&mut erin, "feeds.notification_feed.updated").await;
    assert_eq!(updated["fid"], "notification:erin", "{updated}");
    assert_eq!(updated["notification_status"]["unread"], 1, "{updated}");
    assert_eq!(updated["notification_status"]["unseen"], 2, "{updated}");
    assert_eq!(updated["notification_status"]["read_activities"], json!([like]), "{updated}");

    let (status, body) = server.user("erin").post(mark, &json!({"mark_all_seen": true})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(next_of(&mut erin, "feeds.activity.marked").await["mark_all_seen"], true);
    let updated = next_of(&mut erin, "feeds.notification_feed.updated").await;
    assert_eq!(updated["notification_status"]["unseen"], 0, "{updated}");
    assert!(updated["notification_status"]["last_seen_at"].is_i64(), "{updated}");
}

#[tokio::test]
async fn a_background_fan_out_joins_the_groups_of_aggregated_follower_feeds() {
    // Above the inline limit the copy is a job, here in batches of 200.
    let server = TestServer::spawn_with_fanout_batch(200).await;
    let admin = server.server();
    let (status, body) = admin
        .post("/api/v2/feeds/feed_groups", &json!({"id": "digest", "aggregation": {"format": "{{ user_id }}"}}))
        .await;
    assert_eq!(status, 201, "{body}");
    admin.create_users(&["star"]).await;
    let readers: Vec<String> = (0..1_005).map(|i| format!("r{i:04}")).collect();
    let follows: Vec<Value> =
        readers.iter().map(|r| json!({"source": format!("digest:{r}"), "target": "user:star"})).collect();
    for chunk in follows.chunks(1000) {
        let (status, body) =
            admin.post("/api/v2/feeds/follows/batch", &json!({"follows": chunk, "create_users": true})).await;
        assert_eq!(status, 201, "{body}");
    }
    admin.add_activity("star", &["user:star"], json!({"type": "post"})).await;
    admin.add_activity("star", &["user:star"], json!({"type": "post"})).await;
    // The last follower is reached by the last batch of each job.
    let last = readers.last().expect("readers");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let read = admin.read_feed(&format!("digest:{last}"), last, json!({})).await;
        let groups = read["aggregated_activities"].as_array().cloned().unwrap_or_default();
        if groups.len() == 1 && groups[0]["activity_count"] == 2 {
            assert_eq!(groups[0]["group"], "star", "{read}");
            assert_eq!(groups[0]["user_count"], 1, "{read}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not joined: {read}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_notification_arriving_announces_the_bells_new_status() {
    let server = TestServer::spawn().await;
    let admin = server.server();
    admin.create_users(&["erin", "frank", "gus"]).await;
    let (mut erin, conn) = connect(&server, "erin").await;
    let path = format!("/api/v2/feeds/feed_groups/notification/feeds/erin?connection_id={conn}");
    let (status, body) = server.user("erin").post(&path, &json!({"watch": true})).await;
    assert_eq!(status, 201, "{body}");

    admin.add_activity("frank", &["notification:erin"], json!({"type": "like"})).await;
    let updated = next_of(&mut erin, "feeds.notification_feed.updated").await;
    assert_eq!(updated["fid"], "notification:erin", "{updated}");
    assert_eq!(updated["user"]["id"], "frank", "{updated}");
    assert_eq!(updated["notification_status"]["unread"], 1, "{updated}");
    assert_eq!(updated["notification_status"]["unseen"], 1, "{updated}");
    assert!(updated["created_at"].is_i64() && updated["custom"].is_object(), "{updated}");

    let mark = "/api/v2/feeds/feed_groups/notification/feeds/erin/activities/mark/batch";
    let (status, body) = server.user("erin").post(mark, &json!({"mark_all_read": true})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(next_of(&mut erin, "feeds.notification_feed.updated").await["notification_status"]["unread"], 0);

    // A reaction's notification joins the read like group: unread again, announced by the reactor.
    let post = admin.add_activity("erin", &["user:erin"], json!({})).await;
    let react = format!("/api/v2/feeds/activities/{}/reactions", post["id"].as_str().expect("id"));
    let (status, body) =
        admin.post(&react, &json!({"type": "like", "user_id": "gus", "create_notification_activity": true})).await;
    assert_eq!(status, 201, "{body}");
    let updated = next_of(&mut erin, "feeds.notification_feed.updated").await;
    assert_eq!(updated["user"]["id"], "gus", "{updated}");
    assert_eq!(updated["notification_status"]["unread"], 1, "{updated}");
    assert!(updated["notification_status"]["last_read_at"].is_i64(), "{updated}");
}

#[tokio::test]
async fn a_repeat_notification_inside_the_deduplication_window_adds_nothing() {
    let server = TestServer::spawn().await;
    let admin = server.server();
    admin.create_users(&["erin", "frank"]).await;
    let group = "/api/v2/feeds/feed_groups/notification";
    let config = |window: Value| {
        json!({
            "activity_selectors": [{"type": "current_feed"}],
            "aggregation": {"format": "{{ type }}-{{ time.strftime(\"%Y-%m-%d\") }}"},
            "notification": {"track_seen": true, "track_read": true, "deduplication_window": window},
        })
    };
    for bad in [json!("soon"), json!("5y"), json!(3), json!("99999999999999w")] {
        let (status, body) = admin.put(group, &config(bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["exception_fields"]["notification.deduplication_window"].is_string(), "{body}");
    }
    let (status, body) = admin.put(group, &config(json!("1h"))).await;
    assert_eq!(status, 201, "{body}");

    let post = admin.add_activity("erin", &["user:erin"], json!({})).await;
    let react = format!("/api/v2/feeds/activities/{}/reactions", post["id"].as_str().expect("id"));
    for kind in ["like", "love", "like"] {
        let body = json!({"type": kind, "user_id": "frank", "create_notification_activity": true});
        let (status, resp) = admin.post(&react, &body).await;
        assert_eq!(status, 201, "{resp}");
    }
    let bell = admin.read_feed("notification:erin", "erin", json!({})).await;
    let groups = bell["aggregated_activities"].as_array().expect("groups");
    assert_eq!(groups.len(), 1, "{bell}");
    assert_eq!(groups[0]["activity_count"], 1, "frank's reactions on one post notify once: {bell}");
    assert_eq!(bell["notification_status"]["unread"], 1, "{bell}");

    // Another actor on the same post is a notification of its own.
    admin.create_users(&["gus"]).await;
    let body = json!({"type": "like", "user_id": "gus", "create_notification_activity": true});
    assert_eq!(admin.post(&react, &body).await.0, 201);
    let bell = admin.read_feed("notification:erin", "erin", json!({})).await;
    assert_eq!(bell["aggregated_activities"][0]["activity_count"], 2, "{bell}");
    assert_eq!(bell["aggregated_activities"][0]["user_count"], 2, "{bell}");
}

/// Sets the `notification` group's deduplication window.
async fn dedup_window(admin: &crate::support::Client, window: &str) {
    let config = json!({
        "activity_selectors": [{"type": "current_feed"}],
        "aggregation": {"format": "{{ type }}"},
        "notification": {"track_seen": true, "track_read": true, "deduplication_window": window},
    });
    let (status, body) = admin.put("/api/v2/feeds/feed_groups/notification", &config).await;
    assert_eq!(status, 201, "{body}");
}

/// How many notifications erin's bell counts.
async fn bell_count(admin: &crate::support::Client) -> i64 {
    let bell = admin.read_feed("notification:erin", "erin", json!({})).await;
    bell["aggregated_activities"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["activity_count"].as_i64().unwrap())
        .sum()
}

fn epoch_nanos() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos() as i64
}

#[tokio::test]
async fn the_deduplication_window_slides_from_the_last_notification() {
    let server = TestServer::spawn().await;
    let admin = server.server();
    admin.create_users(&["erin", "frank"]).await;
    let window: i64 = 4_000_000_000;
    dedup_window(&admin, "4s").await;
    let post = admin.add_activity("erin", &["user:erin"], json!({})).await;
    let react = format!("/api/v2/feeds/activities/{}/reactions", post["id"].as_str().expect("id"));
    let reaction = |kind: &str| json!({"type": kind, "user_id": "frank", "create_notification_activity": true});

    // The first notification is made just before an epoch-aligned 4 s
    // boundary, the repeat just after it: fixed buckets would notify twice.
    let into_window = epoch_nanos() % window;
    let wait = (window - 700_000_000 - into_window).rem_euclid(window);
    tokio::time::sleep(std::time::Duration::from_nanos(wait as u64)).await;
    let before_first = epoch_nanos();
    let (status, body) = admin.post(&react, &reaction("like")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["notification_created"], true, "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(1_000)).await;
    let (status, body) = admin.post(&react, &reaction("love")).await;
    assert_eq!(status, 201, "{body}");
    assert!(epoch_nanos() - before_first < window, "the repeat came inside the window: the machine is too slow");
    assert_eq!(body["notification_created"], false, "a repeat across a bucket boundary is still a repeat: {body}");
    assert_eq!(bell_count(&admin).await, 1);

    // Once the window since the first notification has passed, a repeat
    // notifies again.
    let after_first = before_first + window + 300_000_000 - epoch_nanos();
    tokio::time::sleep(std::time::Duration::from_nanos(after_first.max(0) as u64)).await;
    let (status, body) = admin.post(&react, &reaction("wow")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["notification_created"], true, "{body}");
    assert_eq!(bell_count(&admin).await, 2);
}

#[tokio::test]
async fn concurrent_repeats_inside_a_window_notify_once_and_a_withdrawn_one_frees_the_window() {
    let server = TestServer::spawn().await;
    let admin = server.server();
    admin.create_users(&["erin", "frank"]).await;
    dedup_window(&admin, "1h").await;
    let post = admin.add_activity("erin", &["user:erin"], json!({})).await;
    let id = post["id"].as_str().expect("id").to_string();
    let react = format!("/api/v2/feeds/activities/{id}/reactions");
    let kinds = ["like", "love", "wow", "haha", "sad", "angry"];
    let bodies: Vec<Value> =
        kinds.iter().map(|k| json!({"type": k, "user_id": "frank", "create_notification_activity": true})).collect();
    let replies = futures_util::future::join_all(bodies.iter().map(|b| admin.post(&react, b))).await;
    for (status, body) in &replies {
        assert_eq!(*status, 201, "{body}");
    }
    assert_eq!(bell_count(&admin).await, 1, "six concurrent repeats notify once");

    // Withdrawing the reactions withdraws the notification they made or
    // joined; the next repeat notifies anew.
    let notified = replies.iter().filter(|(_, body)| body["notification_created"] == true).count();
    assert!(notified >= 1, "{replies:?}");
    for kind in kinds {
        let path =
            format!("/api/v2/feeds/activities/{id}/reactions/{kind}?user_id=frank&delete_notification_activity=true");
        let (status, body) = admin.delete(&path).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(bell_count(&admin).await, 0, "withdrawn with the reactions");
    let (status, body) = admin.post(&react, &bodies[0]).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["notification_created"], true, "{body}");
    assert_eq!(bell_count(&admin).await, 1);
}

#[tokio::test]
async fn marking_stories_watched_announces_them_watched() {
    let server = TestServer::spawn().await;
    let admin = server.server();
    admin.create_users(&["erin", "frank"]).await;
    admin.read_feed("story:frank", "frank", json!({})).await;
    admin.read_feed("stories:erin", "erin", json!({})).await;
    admin.follow("stories:erin", "story:frank", json!({})).await;
    let story = admin
        .add_activity("frank", &["story:frank"], json!({"type": "story", "expires_at": "2099-01-01T00:00:00Z"}))
        .await;
    let id = story["id"].as_str().expect("id").to_string();
    let (mut erin, conn) = connect(&server, "erin").await;
    let path = format!("/api/v2/feeds/feed_groups/stories/feeds/erin?connection_id={conn}");
    let (status, body) = server.user("erin").post(&path, &json!({"watch": true})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["aggregated_activities"][0]["is_watched"], false, "{body}");

    let mark = "/api/v2/feeds/feed_groups/stories/feeds/erin/activities/mark/batch";
    let (status, body) = server.user("erin").post(mark, &json!({"mark_watched": [id, "no-such-story"]})).await;
    assert_eq!(status, 201, "{body}");
    let marked = next_of(&mut erin, "feeds.activity.marked").await;
    assert_eq!(marked["mark_watched"], json!([id, "no-such-story"]), "{marked}");
    let updated = next_of(&mut erin, "feeds.stories_feed.updated").await;
    assert_eq!(updated["fid"], "stories:erin", "{updated}");
    assert_eq!(updated["user"]["id"], "erin", "{updated}");
    let activities = updated["activities"].as_array().expect("activities");
    assert_eq!(activities.len(), 1, "{updated}");
    assert_eq!(activities[0]["id"], id.as_str(), "{updated}");
    assert_eq!(activities[0]["is_watched"], true, "{updated}");
    assert_eq!(activities[0]["user"]["id"], "frank", "{updated}");
    assert!(updated.get("notification_status").is_none(), "stories track no read state: {updated}");
    // The author's group as the watcher now sees it: every live story watched.
    let groups = updated["aggregated_activities"].as_array().expect("aggregated_activities");
    assert_eq!(groups.len(), 1, "{updated}");
    assert_eq!(groups[0]["group"], "frank", "{updated}");
    assert_eq!(groups[0]["is_watched"], true, "{updated}");
    assert_eq!(groups[0]["activities"][0]["id"], id.as_str(), "{updated}");
    assert_eq!(groups[0]["activities"][0]["is_watched"], true, "{updated}");

    let read = admin.read_feed("stories:erin", "erin", json!({})).await;
    assert_eq!(read["aggregated_activities"][0]["is_watched"], true, "{read}");
}

/// GetActivity and QueryActivities show `is_watched` on stories (activities
/// with `expires_at` in a feed whose group tracks watched stories) for the
/// reading user, and leave it absent on other activities and on
/// server-side reads that name no user.
#[tokio::test]
async fn activity_reads_show_whether_the_reader_watched_a_story() {
    let server = TestServer::spawn().await;
    let admin = server.server();
    admin.create_users(&["erin", "frank"]).await;
    admin.read_feed("story:frank", "frank", json!({})).await;
    admin.read_feed("user:frank", "frank", json!({})).await;
    let later = json!("2099-01-01T00:00:00Z");
    for (id, feed, expires) in [
        ("s1", "story:frank", Some(&later)),
        ("s2", "story:frank", Some(&later)),
        ("kept", "story:frank", None),
        ("fleeting", "user:frank", Some(&later)),
    ] {
        let mut extra = json!({"id": id});
        if let Some(at) = expires {
            extra["expires_at"] = at.clone();
        }
        admin.add_activity("frank", &[feed], extra).await;
    }
    let mark = "/api/v2/feeds/feed_groups/story/feeds/frank/activities/mark/batch";
    let (status, body) = admin.post(mark, &json!({"mark_watched": ["s1"], "user_id": "erin"})).await;
    assert_eq!(status, 201, "{body}");

    let erin = server.user("erin");
    let expected = [("s1", Some(true)), ("s2", Some(false)), ("kept", None), ("fleeting", None)];
    for (id, watched) in expected {
        let path = format!("/api/v2/feeds/activities/{id}");
        let (status, body) = erin.get(&path).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["activity"].get("is_watched").and_then(Value::as_bool), watched, "{id}: {body}");
        let (_, body) = admin.get(&format!("{path}?user_id=erin")).await;
        assert_eq!(body["activity"].get("is_watched").and_then(Value::as_bool), watched, "{id}: {body}");
        let (_, body) = admin.get(&path).await;
        assert!(body["activity"].get("is_watched").is_none(), "no reader, no is_watched: {body}");
    }
    // Frank watched none of his own.
    let (_, body) = admin.get("/api/v2/feeds/activities/s1?user_id=frank").await;
    assert_eq!(body["activity"]["is_watched"], false, "{body}");

    let query = json!({"filter": {"user_id": "frank"}, "limit": 10});
    let (status, body) = erin.post("/api/v2/feeds/activities/query", &query).await;
    assert_eq!(status, 201, "{body}");
    let shown: Vec<(String, Option<bool>)> = body["activities"]
        .as_array()
        .expect("activities")
        .iter()
        .map(|a| (a["id"].as_str().unwrap().to_string(), a.get("is_watched").and_then(Value::as_bool)))
        .collect();
    for (id, watched) in expected {
        assert!(shown.contains(&(id.to_string(), watched)), "{id}: {shown:?}");
    }
    let (_, body) = admin.post("/api/v2/feeds/activities/query", &query).await;
    let activities = body["activities"].as_array().expect("activities");
    assert_eq!(activities.len(), 4, "{body}");
    assert!(activities.iter().all(|a| a.get("is_watched").is_none()), "{body}");

    // The feed groups come from the config cache: a group that stops
    // tracking watched stories shows none from the next read on.
    let group = "/api/v2/feeds/feed_groups/story";
    let mut config = json!({"activity_selectors": [{"type": "current_feed"}], "stories": {"track_watched": false}});
    let (status, body) = admin.put(group, &config).await;
    assert_eq!(status, 201, "{body}");
    let (_, body) = erin.get("/api/v2/feeds/activities/s1").await;
    assert!(body["activity"].get("is_watched").is_none(), "{body}");
    config["stories"] = json!({"track_watched": true});
    assert_eq!(admin.put(group, &config).await.0, 201);
    let (_, body) = erin.get("/api/v2/feeds/activities/s1").await;
    assert_eq!(body["activity"]["is_watched"], true, "{body}");
}
