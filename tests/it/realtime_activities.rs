//! Events of activity, pin, reaction, comment and feedback writes, as the
//! watcher of `timeline:erin` (which follows `user:frank`) receives them
//! over a real WebSocket: each with `fid: "timeline:erin"` (feedback is
//! user-scoped: no fid), the payload keys the spec names and the ids of the
//! records written. Every write waits for its event before the next one,
//! so the counters each payload carries are those of its own write.

use serde_json::{json, Value};

use crate::realtime::{connect, next_json, Socket};
use crate::support::{Client, TestServer};

const TIMELINE: &str = "timeline:erin";

/// Erin's socket, watching her timeline, which follows `user:frank`.
async fn watching_erin(server: &TestServer) -> Socket {
    let admin = server.server();
    admin.create_users(&["erin", "frank", "grace"]).await;
    let (status, body) =
        admin.post("/api/v2/feeds/follows", &json!({"source": TIMELINE, "target": "user:frank"})).await;
    assert!(status.is_success(), "{body}");
    let (socket, id) = connect(server, "erin").await;
    let path = format!("/api/v2/feeds/feed_groups/timeline/feeds/erin?connection_id={id}");
    let (status, body) = server.user("erin").post(&path, &json!({"watch": true})).await;
    assert_eq!(status, 201, "{body}");
    socket
}

/// The next event whose type is one of `kinds` (pings and other types
/// skipped), checked to be of `kind`: a duplicate or missing event of the
/// same family shows up as the wrong type.
async fn next_of(socket: &mut Socket, kinds: &[&str], kind: &str) -> Value {
    loop {
        let frame = next_json(socket).await;
        let t = frame["type"].as_str().unwrap_or_default();
        if kinds.contains(&t) {
            assert_eq!(t, kind, "{frame}");
            assert!(frame["created_at"].is_i64(), "{frame}");
            assert!(frame["custom"].is_object(), "{frame}");
            return frame;
        }
    }
}

/// The next feed event of one of `kinds`, which must be `kind` for the
/// watched timeline.
async fn in_timeline(socket: &mut Socket, kinds: &[&str], kind: &str) -> Value {
    let event = next_of(socket, kinds, kind).await;
    assert_eq!(event["fid"], TIMELINE, "{event}");
    event
}

fn ok(resp: (reqwest::StatusCode, Value)) -> Value {
    assert!(resp.0.is_success(), "{} {}", resp.0, resp.1);
    resp.1
}

async fn post_by_frank(admin: &Client, feeds: &[&str]) -> String {
    let activity = admin.add_activity("frank", feeds, json!({"text": "hi"})).await;
    activity["id"].as_str().expect("id").to_string()
}

const ACTIVITY: &[&str] = &[
    "feeds.activity.added",
    "feeds.activity.updated",
    "feeds.activity.deleted",
    "feeds.activity.restored",
    "feeds.activity.removed_from_feed",
];

#[tokio::test]
async fn activity_writes_emit_added_updated_deleted_restored_and_removed_from_feed() {
    let server = TestServer::spawn().await;
    let mut socket = watching_erin(&server).await;
    let admin = server.server();
    let id = post_by_frank(&admin, &["user:frank"]).await;
    let event = in_timeline(&mut socket, ACTIVITY, "feeds.activity.added").await;
    assert_eq!(event["activity"]["id"], id.as_str());
    let path = format!("/api/v2/feeds/activities/{id}");

    // PUT, PATCH and the partial batch: one `updated` each, with the edit.
    ok(admin.put(&path, &json!({"text": "put", "user_id": "frank"})).await);
    let event = in_timeline(&mut socket, ACTIVITY, "feeds.activity.updated").await;
    assert_eq!((event["activity"]["id"].as_str(), event["activity"]["text"].as_str()), (Some(&*id), Some("put")));
    assert_eq!(event["user"]["id"], "frank", "{event}");
    ok(admin.patch(&path, &json!({"set": {"text": "patch"}, "user_id": "frank"})).await);
    let event = in_timeline(&mut socket, ACTIVITY, "feeds.activity.updated").await;
    assert_eq!(event["activity"]["text"], "patch", "{event}");
    let batch = json!({"changes": [{"activity_id": id, "set": {"text": "batch"}}]});
    ok(admin.patch("/api/v2/feeds/activities/batch/partial", &batch).await);
    let event = in_timeline(&mut socket, ACTIVITY, "feeds.activity.updated").await;
    assert_eq!(event["activity"]["text"], "batch", "{event}");

    // Soft delete, restore, then a hard delete through the batch route.
    ok(admin.delete(&path).await);
    let event = in_timeline(&mut socket, ACTIVITY, "feeds.activity.deleted").await;
    assert_eq!(event["activity"]["id"], id.as_str());
    assert_eq!(event["activity"]["text"], "batch", "the activity as it was: {event}");
    ok(admin.post(&format!("{path}/restore"), &json!({"user_id": "frank"})).await);
    let event = in_timeline(&mut socket, ACTIVITY, "feeds.activity.restored").await;
    assert_eq!(event["activity"]["id"], id.as_str());
    assert!(event["activity"]["deleted_at"].is_null(), "{event}");
    ok(admin.post("/api/v2/feeds/activities/delete", &json!({"ids": [id], "hard_delete": true})).await);
    let event = in_timeline(&mut socket, ACTIVITY, "feeds.activity.deleted").await;
    assert_eq!(event["activity"]["id"], id.as_str());
    assert_eq!(event["activity"]["feeds"], json!(["user:frank"]), "{event}");

    // Taken out of the timeline itself: `updated` where it still is (the
    // follow), `removed_from_feed` for the timeline alone.
    let other = post_by_frank(&admin, &["user:frank", TIMELINE]).await;
    let event = in_timeline(&mut socket, ACTIVITY, "feeds.activity.added").await;
    assert_eq!(event["activity"]["id"], other.as_str());
    let path = format!("/api/v2/feeds/activities/{other}");
    ok(admin.patch(&path, &json!({"set": {"feeds": ["user:frank"]}, "user_id": "frank"})).await);
    let event = in_timeline(&mut socket, ACTIVITY, "feeds.activity.updated").await;
    assert_eq!(event["activity"]["feeds"], json!(["user:frank"]), "{event}");
    let event = in_timeline(&mut socket, ACTIVITY, "feeds.activity.removed_from_feed").await;
    assert_eq!(event["activity"]["id"], other.as_str());
    assert_eq!(event["user"]["id"], "frank", "{event}");
    ok(admin.delete(&format!("{path}?hard_delete=true")).await);
    let event = in_timeline(&mut socket, ACTIVITY, "feeds.activity.deleted").await;
    assert_eq!(event["activity"]["id"], other.as_str());
}

#[tokio::test]
async fn pins_emit_pinned_and_unpinned_in_the_pinned_feed() {
    const PINS: &[&str] = &["feeds.activity.pinned", "feeds.activity.unpinned"];
    let server = TestServer::spawn().await;
    let mut socket = watching_erin(&server).await;
    let admin = server.server();
    let id = post_by_frank(&admin, &["user:frank", TIMELINE]).await;
    let path = format!("/api/v2/feeds/feed_groups/timeline/feeds/erin/activities/{id}/pin");
    ok(admin.post(&path, &json!({"user_id": "erin"})).await);
    let event = in_timeline(&mut socket, PINS, "feeds.activity.pinned").await;
    let pinned = &event["pinned_activity"];
    assert_eq!(pinned["activity"]["id"], id.as_str(), "{event}");
    assert_eq!(pinned["feed"], TIMELINE, "{event}");
    assert_eq!(pinned["user"]["id"], "erin", "{event}");
    assert!(pinned["created_at"].is_i64(), "{event}");
    assert_eq!(event["user"]["id"], "erin", "{event}");

    // Pinning again keeps the pin and announces nothing: the next pin
    // event is the unpin.
    ok(admin.post(&path, &json!({"user_id": "erin"})).await);
    ok(admin.delete(&format!("{path}?user_id=erin")).await);
    let event = in_timeline(&mut socket, PINS, "feeds.activity.unpinned").await;
    assert_eq!(event["pinned_activity"]["activity"]["id"], id.as_str(), "{event}");
    assert_eq!(event["pinned_activity"]["feed"], TIMELINE, "{event}");
}

#[tokio::test]
async fn activity_reactions_emit_added_updated_deleted_with_current_counters() {
    const REACTIONS: &[&str] =
        &["feeds.activity.reaction.added", "feeds.activity.reaction.updated", "feeds.activity.reaction.deleted"];
    let server = TestServer::spawn().await;
    let mut socket = watching_erin(&server).await;
    let admin = server.server();
    let id = post_by_frank(&admin, &["user:frank"]).await;
    let path = format!("/api/v2/feeds/activities/{id}/reactions");

    ok(admin.post(&path, &json!({"type": "like", "user_id": "grace"})).await);
    let event = in_timeline(&mut socket, REACTIONS, "feeds.activity.reaction.added").await;
    assert_eq!(event["activity"]["id"], id.as_str());
    assert_eq!(event["activity"]["reaction_count"], 1, "{event}");
    assert_eq!(event["activity"]["reaction_groups"]["like"]["count"], 1, "{event}");
    assert_eq!(
        (event["reaction"]["type"].as_str(), event["reaction"]["user"]["id"].as_str()),
        (Some("like"), Some("grace"))
    );
    assert_eq!(event["user"]["id"], "grace", "{event}");
    let first_created = event["reaction"]["created_at"].clone();

    // The same type again replaces it (keeping its creation time); with
    // enforce_unique another type replaces it too.
    ok(admin.post(&path, &json!({"type": "like", "user_id": "grace", "custom": {"v": 2}})).await);
    let event = in_timeline(&mut socket, REACTIONS, "feeds.activity.reaction.updated").await;
    assert_eq!(event["reaction"]["custom"]["v"], 2, "{event}");
    assert_eq!(event["reaction"]["created_at"], first_created, "{event}");
    assert_eq!(event["activity"]["reaction_count"], 1, "{event}");
    ok(admin.post(&path, &json!({"type": "love", "user_id": "grace", "enforce_unique": true})).await);
    let event = in_timeline(&mut socket, REACTIONS, "feeds.activity.reaction.updated").await;
    assert_eq!(event["reaction"]["type"], "love", "{event}");
    assert_eq!(event["activity"]["reaction_groups"], json!({"love": event["activity"]["reaction_groups"]["love"]}));

    // Deleting a reaction that is not there announces nothing.
    let (status, _) = admin.delete(&format!("{path}/like?user_id=grace")).await;
    assert_eq!(status, 404);
    ok(admin.delete(&format!("{path}/love?user_id=grace")).await);
    let event = in_timeline(&mut socket, REACTIONS, "feeds.activity.reaction.deleted").await;
    assert_eq!(event["reaction"]["type"], "love", "{event}");
    assert_eq!(event["activity"]["reaction_count"], 0, "{event}");
}

const COMMENTS: &[&str] =
    &["feeds.comment.added", "feeds.comment.updated", "feeds.comment.deleted", "feeds.comment.restored"];

#[tokio::test]
async fn comment_writes_emit_added_updated_deleted_restored() {
    let server = TestServer::spawn().await;
    let mut socket = watching_erin(&server).await;
    let admin = server.server();
    let id = post_by_frank(&admin, &["user:frank"]).await;
    let body = json!({"object_id": id, "object_type": "activity", "comment": "first", "user_id": "grace"});
    let (status, resp) = admin.post("/api/v2/feeds/comments", &body).await;
    assert_eq!(status, 201, "{resp}");
    let comment = resp["comment"]["id"].as_str().expect("comment id").to_string();
    let event = in_timeline(&mut socket, COMMENTS, "feeds.comment.added").await;
    assert_eq!(event["comment"]["id"], comment.as_str());
    assert_eq!(event["comment"]["text"], "first", "{event}");
    assert_eq!(event["activity"]["id"], id.as_str());
    assert_eq!(event["activity"]["comment_count"], 1, "{event}");
    assert_eq!(event["user"]["id"], "grace", "{event}");

    // A reply counts on its parent.
    let reply =
        json!({"object_id": id, "object_type": "activity", "parent_id": comment, "comment": "re", "user_id": "frank"});
    ok(admin.post("/api/v2/feeds/comments", &reply).await);
    let event = in_timeline(&mut socket, COMMENTS, "feeds.comment.added").await;
    assert_eq!(event["comment"]["parent_id"], comment.as_str(), "{event}");
    assert_eq!(event["activity"]["comment_count"], 2, "{event}");

    let path = format!("/api/v2/feeds/comments/{comment}");
    ok(admin.patch(&path, &json!({"comment": "edited", "user_id": "grace"})).await);
    let event = in_timeline(&mut socket, COMMENTS, "feeds.comment.updated").await;
    assert_eq!(event["comment"]["text"], "edited", "{event}");
    assert_eq!(event["comment"]["reply_count"], 1, "counters are current: {event}");

    // A partial update also sends the activity as updated.
    ok(admin.post(&format!("{path}/partial"), &json!({"set": {"text": "partial"}, "user_id": "grace"})).await);
    let event = in_timeline(&mut socket, COMMENTS, "feeds.comment.updated").await;
    assert_eq!(event["comment"]["text"], "partial", "{event}");
    let event = in_timeline(&mut socket, &["feeds.activity.updated"], "feeds.activity.updated").await;
    assert_eq!(event["activity"]["id"], id.as_str());

    ok(admin.delete(&path).await);
    let event = in_timeline(&mut socket, COMMENTS, "feeds.comment.deleted").await;
    assert_eq!(event["comment"]["id"], comment.as_str());
    assert_eq!(event["comment"]["status"], "deleted", "{event}");
    ok(admin.post(&format!("{path}/restore"), &json!({})).await);
    let event = in_timeline(&mut socket, COMMENTS, "feeds.comment.restored").await;
    assert_eq!(event["comment"]["status"], "active", "{event}");
    ok(admin.delete(&format!("{path}?hard_delete=true")).await);
    let event = in_timeline(&mut socket, COMMENTS, "feeds.comment.deleted").await;
    assert_eq!(event["comment"]["id"], comment.as_str());
    assert_eq!(event["comment"]["text"], "partial", "the comment as it was: {event}");
}

#[tokio::test]
async fn comment_reactions_emit_added_updated_deleted_with_current_counters() {
    const REACTIONS: &[&str] =
        &["feeds.comment.reaction.added", "feeds.comment.reaction.updated", "feeds.comment.reaction.deleted"];
    let server = TestServer::spawn().await;
    let mut socket = watching_erin(&server).await;
    let admin = server.server();
    let id = post_by_frank(&admin, &["user:frank"]).await;
    let body = json!({"object_id": id, "object_type": "activity", "comment": "c", "user_id": "frank"});
    let comment = ok(admin.post("/api/v2/feeds/comments", &body).await)["comment"]["id"].as_str().unwrap().to_string();
    let path = format!("/api/v2/feeds/comments/{comment}/reactions");

    ok(admin.post(&path, &json!({"type": "upvote", "user_id": "grace"})).await);
    let event = in_timeline(&mut socket, REACTIONS, "feeds.comment.reaction.added").await;
    assert_eq!(event["comment"]["id"], comment.as_str());
    assert_eq!(event["comment"]["upvote_count"], 1, "{event}");
    assert_eq!(event["comment"]["reaction_count"], 1, "{event}");
    assert_eq!(event["comment"]["reaction_groups"]["upvote"]["count"], 1, "{event}");
    assert_eq!(event["activity"]["id"], id.as_str());
    assert_eq!(
        (event["reaction"]["type"].as_str(), event["reaction"]["user"]["id"].as_str()),
        (Some("upvote"), Some("grace"))
    );

    ok(admin.post(&path, &json!({"type": "downvote", "user_id": "grace", "enforce_unique": true})).await);
    let event = in_timeline(&mut socket, REACTIONS, "feeds.comment.reaction.updated").await;
    assert_eq!(event["reaction"]["type"], "downvote", "{event}");
    assert_eq!(
        (event["comment"]["upvote_count"].as_i64(), event["comment"]["downvote_count"].as_i64()),
        (Some(0), Some(1))
    );
    assert_eq!(event["activity"]["id"], id.as_str());

    ok(admin.delete(&format!("{path}/downvote?user_id=grace")).await);
    let event = in_timeline(&mut socket, REACTIONS, "feeds.comment.reaction.deleted").await;
    assert_eq!(event["reaction"]["type"], "downvote", "{event}");
    assert_eq!(event["comment"]["id"], comment.as_str());
    assert_eq!(event["comment"]["downvote_count"], 0, "{event}");
}

#[tokio::test]
async fn feedback_is_announced_to_its_user_only() {
    let server = TestServer::spawn().await;
    let mut socket = watching_erin(&server).await;
    let admin = server.server();
    let id = post_by_frank(&admin, &["user:frank"]).await;
    // Frank's feedback is his own: erin's socket does not get it, and her
    // own feedback is the barrier that shows it.
    ok(server
        .user("frank")
        .post(&format!("/api/v2/feeds/activities/{id}/feedback"), &json!({"show_more": true}))
        .await);
    ok(server.user("erin").post(&format!("/api/v2/feeds/activities/{id}/feedback"), &json!({"hide": true})).await);
    let event = next_of(&mut socket, &["feeds.activity.feedback"], "feeds.activity.feedback").await;
    assert!(event.get("fid").is_none(), "user-scoped: {event}");
    let feedback = &event["activity_feedback"];
    assert_eq!(feedback["activity_id"], id.as_str(), "{event}");
    assert_eq!(feedback["action"], "hide", "{event}");
    assert_eq!(feedback["value"], "true", "{event}");
    assert_eq!(feedback["user"]["id"], "erin", "{event}");
    assert!(feedback["created_at"].is_i64() && feedback["updated_at"].is_i64(), "{event}");
    assert_eq!(event["user"]["id"], "erin", "{event}");
}
