//! Events of follows, feeds, members, bookmarks, polls and users as a
//! WebSocket client receives them: type, `fid`, payload keys and ids. Feed
//! group events name no feed, so they are checked in the outbox.

use serde_json::{json, Value};

use crate::realtime::{connect, next_json};
use crate::support::TestServer;
use tributary::core::events::EventCursor;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Watches `fid` as `user` on connection `id`.
async fn watch(server: &TestServer, user: &str, fid: &str, id: &str) {
    let (group, feed) = fid.split_once(':').expect("group:id");
    let path = format!("/api/v2/feeds/feed_groups/{group}/feeds/{feed}?connection_id={id}");
    let (status, body) = server.user(user).post(&path, &json!({"watch": true})).await;
    assert_eq!(status, 201, "watch {fid}: {body}");
}

/// The next `user.updated` naming the user `name` (the connect that
/// created the user may announce it just before or after the connection
/// registers).
async fn next_user_named(socket: &mut Socket, name: &str) -> Value {
    loop {
        let event = next_of(socket, "user.").await;
        assert_envelope(&event, "user.updated");
        if event["user"]["name"] == name {
            return event;
        }
    }
}

/// The next event whose type starts with `prefix` (pings and other events
/// skipped): a later event proves that none of that family came before it.
async fn next_of(socket: &mut Socket, prefix: &str) -> Value {
    loop {
        let frame = next_json(socket).await;
        if frame["type"].as_str().is_some_and(|t| t.starts_with(prefix)) {
            return frame;
        }
    }
}

fn assert_envelope(event: &Value, kind: &str) {
    assert_eq!(event["type"], kind, "{event}");
    assert!(event["created_at"].is_i64(), "{event}");
    assert!(event["custom"].is_object(), "{event}");
}

#[tokio::test]
async fn follow_events_reach_both_sides_only_when_something_changed() {
    let server = TestServer::spawn().await;
    let admin = server.server();
    admin.create_users(&["erin", "frank"]).await;
    let (mut erin, erin_conn) = connect(&server, "erin").await;
    let (mut frank, frank_conn) = connect(&server, "frank").await;
    watch(&server, "erin", "timeline:erin", &erin_conn).await;
    watch(&server, "frank", "user:frank", &frank_conn).await;

    admin.follow("timeline:erin", "user:frank", json!({})).await;
    for (socket, fid) in [(&mut erin, "timeline:erin"), (&mut frank, "user:frank")] {
        let event = next_of(socket, "feeds.follow.").await;
        assert_envelope(&event, "feeds.follow.created");
        assert_eq!(event["fid"], fid, "{event}");
        assert_eq!(event["follow"]["source_feed"]["feed"], "timeline:erin", "{event}");
        assert_eq!(event["follow"]["target_feed"]["feed"], "user:frank", "{event}");
        assert_eq!(event["follow"]["status"], "accepted", "{event}");
    }

    // Get-or-create of an existing follow announces nothing: the next
    // follow event either side sees is the update.
    let pair = json!({"source": "timeline:erin", "target": "user:frank"});
    let (status, body) = admin.post("/api/v2/feeds/follows/upsert", &pair).await;
    assert_eq!(status, 201, "{body}");
    let mut update = pair.clone();
    update["custom"] = json!({"close": true});
    let (status, body) = admin.patch("/api/v2/feeds/follows", &update).await;
    assert_eq!(status, 200, "{body}");
    for (socket, fid) in [(&mut erin, "timeline:erin"), (&mut frank, "user:frank")] {
        let event = next_of(socket, "feeds.follow.").await;
        assert_envelope(&event, "feeds.follow.updated");
        assert_eq!(event["fid"], fid, "{event}");
        assert_eq!(event["follow"]["custom"]["close"], true, "{event}");
    }

    let (status, body) = admin.delete("/api/v2/feeds/follows/timeline:erin/user:frank").await;
    assert_eq!(status, 200, "{body}");
    for (socket, fid) in [(&mut erin, "timeline:erin"), (&mut frank, "user:frank")] {
        let event = next_of(socket, "feeds.follow.").await;
        assert_envelope(&event, "feeds.follow.deleted");
        assert_eq!(event["fid"], fid, "{event}");
        assert_eq!(event["follow"]["source_feed"]["feed"], "timeline:erin", "{event}");
    }

    // A follow request, then its answer: created (pending), then updated
    // (accepted) on the target's side.
    let (status, body) = admin.post("/api/v2/feeds/feed_groups/user/feeds/frank", &json!({"user_id": "frank"})).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = admin
        .post("/api/v2/feeds/feed_groups/user/feeds/frank/change_visibility", &json!({"visibility": "followers"}))
        .await;
    assert_eq!(status, 201, "{body}");
    server.user("erin").post("/api/v2/feeds/follows", &pair).await;
    let event = next_of(&mut frank, "feeds.follow.").await;
    assert_envelope(&event, "feeds.follow.created");
    assert_eq!(event["follow"]["status"], "pending", "{event}");
    let (status, body) = server.user("frank").post("/api/v2/feeds/follows/accept", &pair).await;
    assert_eq!(status, 201, "{body}");
    let event = next_of(&mut frank, "feeds.follow.").await;
    assert_envelope(&event, "feeds.follow.updated");
    assert_eq!(event["follow"]["status"], "accepted", "{event}");
    assert_eq!(event["fid"], "user:frank", "{event}");
}

#[tokio::test]
async fn feed_events_reach_the_watchers_of_the_feed_and_group_events_go_to_webhooks() {
    let server = TestServer::spawn().await;
    let admin = server.server();
    let (mut erin, conn) = connect(&server, "erin").await;
    watch(&server, "erin", "user:erin", &conn).await;

    let (status, body) = admin.put("/api/v2/feeds/feed_groups/user/feeds/erin", &json!({"name": "Erin's"})).await;
    assert_eq!(status, 201, "{body}");
    let mut event = next_of(&mut erin, "feeds.feed.").await;
    if event["type"] == "feeds.feed.created" {
        // The watching read created the feed: its event may be dispatched
        // after the watch took effect.
        event = next_of(&mut erin, "feeds.feed.").await;
    }
    assert_envelope(&event, "feeds.feed.updated");
    assert_eq!(event["fid"], "user:erin", "{event}");
    assert_eq!(event["feed"]["feed"], "user:erin", "{event}");
    assert_eq!(event["feed"]["name"], "Erin's", "{event}");

    let (status, body) = server
        .user("erin")
        .post("/api/v2/feeds/feed_groups/user/feeds/erin/change_visibility", &json!({"visibility": "followers"}))
        .await;
    assert_eq!(status, 201, "{body}");
    let event = next_of(&mut erin, "feeds.feed.").await;
    assert_envelope(&event, "feeds.feed.updated");
    assert_eq!(event["feed"]["visibility"], "followers", "{event}");
    assert_eq!(event["user"]["id"], "erin", "{event}");

    // Deleted (no payload), then created again: the watch outlives them.
    let (status, body) = server.user("erin").delete("/api/v2/feeds/feed_groups/user/feeds/erin").await;
    assert_eq!(status, 200, "{body}");
    let event = next_of(&mut erin, "feeds.feed.").await;
    assert_envelope(&event, "feeds.feed.deleted");
    assert_eq!(event["fid"], "user:erin", "{event}");
    assert!(event.get("feed").is_none(), "{event}");

    let data = json!({"data": {"name": "again", "members": [{"user_id": "erin"}]}});
    let (status, body) = server.user("erin").post("/api/v2/feeds/feed_groups/user/feeds/erin", &data).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["created"], true, "{body}");
    let event = next_of(&mut erin, "feeds.feed.").await;
    assert_envelope(&event, "feeds.feed.created");
    assert_eq!(event["fid"], "user:erin", "{event}");
    assert_eq!(event["feed"]["name"], "again", "{event}");
    assert_eq!(event["user"]["id"], "erin", "{event}");
    assert_eq!(event["members"][0]["user"]["id"], "erin", "{event}");

    // A batch announces the feeds it creates, not those that exist.
    let (status, body) = admin.post("/api/v2/feeds/feeds/delete", &json!({"feeds": ["user:erin"]})).await;
    assert_eq!(status, 201, "{body}");
    let event = next_of(&mut erin, "feeds.feed.").await;
    assert_envelope(&event, "feeds.feed.deleted");
    let batch = json!({"feeds": [
        {"feed_group_id": "user", "feed_id": "erin", "created_by_id": "erin", "name": "batched"},
    ]});
    let (status, body) = admin.post("/api/v2/feeds/feeds/batch", &batch).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = admin.post("/api/v2/feeds/feeds/batch", &batch).await;
    assert_eq!(status, 201, "{body}");
    let event = next_of(&mut erin, "feeds.feed.").await;
    assert_envelope(&event, "feeds.feed.created");
    assert_eq!(event["feed"]["name"], "batched", "{event}");
    assert_eq!(event["user"]["id"], "erin", "{event}");
    assert_eq!(event["members"], json!([]), "{event}");
    admin.put("/api/v2/feeds/feed_groups/user/feeds/erin", &json!({"name": "barrier"})).await;
    let event = next_of(&mut erin, "feeds.feed.").await;
    assert_eq!(event["type"], "feeds.feed.updated", "the second batch created nothing: {event}");

    // Feed groups: in the outbox, with no feed and no audience.
    let (status, body) = admin.post("/api/v2/feeds/feed_groups", &json!({"id": "clubs"})).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = admin.delete("/api/v2/feeds/feed_groups/clubs").await;
    assert_eq!(status, 200, "{body}");
    let store = server.open_store().await;
    let mut groups: Vec<Value> = Vec::new();
    // Read until both are settled (PostgreSQL reads settled transactions only).
    for _ in 0..50 {
        let events = store.events_after(EventCursor::default(), 1000).await.expect("outbox");
        groups = events
            .into_iter()
            .map(|(_, e)| serde_json::to_value(e).expect("event"))
            .filter(|e| e["type"].as_str().is_some_and(|t| t.starts_with("feeds.feed_group.")))
            .collect();
        if groups.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let kinds: Vec<&str> = groups.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds, ["feeds.feed_group.changed", "feeds.feed_group.deleted"], "{groups:?}");
    for e in &groups {
        assert_eq!(e["subject"]["fields"]["group_id"], "clubs", "{e}");
        assert!(e.get("fids").is_none() && e.get("audience").is_none(), "{e}");
    }
    assert_eq!(groups[0]["subject"]["feed_group"]["id"], "clubs");
}

#[tokio::test]
async fn member_events_carry_the_member_or_its_id() {
    let server = TestServer::spawn().await;
    let admin = server.server();
    admin.create_users(&["erin", "frank", "gus"]).await;
    let (mut erin, conn) = connect(&server, "erin").await;
    watch(&server, "erin", "user:erin", &conn).await;
    let members = "/api/v2/feeds/feed_groups/user/feeds/erin/members";

    let body = json!({"operation": "upsert", "members": [{"user_id": "frank", "invite": true}]});
    let (status, resp) = server.user("erin").patch(members, &body).await;
    assert_eq!(status, 200, "{resp}");
    let event = next_of(&mut erin, "feeds.feed_member.").await;
    assert_envelope(&event, "feeds.feed_member.added");
    assert_eq!(event["fid"], "user:erin", "{event}");
    assert_eq!(event["member"]["user"]["id"], "frank", "{event}");
    assert_eq!(event["member"]["status"], "pending", "{event}");
    assert_eq!(event["user"]["id"], "erin", "{event}");

    let (status, resp) = server.user("frank").post(&format!("{members}/accept"), &json!({})).await;
    assert_eq!(status, 201, "{resp}");
    let event = next_of(&mut erin, "feeds.feed_member.").await;
    assert_envelope(&event, "feeds.feed_member.updated");
    assert_eq!(event["member"]["user"]["id"], "frank", "{event}");
    assert_eq!(event["member"]["status"], "member", "{event}");
    assert_eq!(event["user"]["id"], "frank", "{event}");

    let body = json!({"operation": "upsert", "members": [{"user_id": "frank", "role": "moderator"}]});
    server.user("erin").patch(members, &body).await;
    let event = next_of(&mut erin, "feeds.feed_member.").await;
    assert_envelope(&event, "feeds.feed_member.updated");
    assert_eq!(event["member"]["role"], "moderator", "{event}");

    // `set` removes whoever is not listed: the store finds frank.
    let body = json!({"operation": "set", "members": [{"user_id": "gus"}]});
    let (status, resp) = server.user("erin").patch(members, &body).await;
    assert_eq!(status, 200, "{resp}");
    let mut seen = vec![];
    for _ in 0..2 {
        let event = next_of(&mut erin, "feeds.feed_member.").await;
        assert_eq!(event["fid"], "user:erin", "{event}");
        seen.push(event);
    }
    seen.sort_by_key(|e| e["type"].as_str().unwrap_or_default().to_string());
    assert_envelope(&seen[0], "feeds.feed_member.added");
    assert_eq!(seen[0]["member"]["user"]["id"], "gus");
    assert_envelope(&seen[1], "feeds.feed_member.removed");
    assert_eq!(seen[1]["member_id"], "frank", "{}", seen[1]);

    // Removing someone who is no member announces nothing.
    let body = json!({"operation": "remove", "members": [{"user_id": "frank"}]});
    server.user("erin").patch(members, &body).await;
    let body = json!({"operation": "remove", "members": [{"user_id": "gus"}]});
    server.user("erin").patch(members, &body).await;
    let event = next_of(&mut erin, "feeds.feed_member.").await;
    assert_envelope(&event, "feeds.feed_member.removed");
    assert_eq!(event["member_id"], "gus", "{event}");
}

#[tokio::test]
async fn bookmark_events_reach_their_owner_only_with_the_activity() {
    let server = TestServer::spawn().await;
    let admin = server.server();
    admin.create_users(&["erin", "frank"]).await;
    let activity = admin.add_activity("frank", &["user:frank"], json!({"text": "keep"})).await;
    let id = activity["id"].as_str().expect("id");
    let (mut erin, _) = connect(&server, "erin").await;
    let (mut frank, _) = connect(&server, "frank").await;
    let path = format!("/api/v2/feeds/activities/{id}/bookmarks");

    let (status, body) = server.user("erin").post(&path, &json!({"new_folder": {"name": "later"}})).await;
    assert_eq!(status, 201, "{body}");
    let folder = body["bookmark"]["folder"]["id"].as_str().expect("folder id").to_string();
    let event = next_of(&mut erin, "feeds.bookmark").await;
    assert_envelope(&event, "feeds.bookmark.added");
    assert!(event.get("fid").is_none(), "{event}");
    assert_eq!(event["user"]["id"], "erin", "{event}");
    assert_eq!(event["bookmark"]["activity"]["id"], id, "routed by bookmark.activity.id: {event}");
    assert_eq!(event["bookmark"]["folder"]["id"], folder, "{event}");

    // The same placement again is refused and announces nothing.
    let (status, _) = server.user("erin").post(&path, &json!({"folder_id": folder})).await;
    assert_eq!(status, 400);

    let (status, body) =
        server.user("erin").patch(&path, &json!({"folder_id": folder, "custom": {"note": "read it"}})).await;
    assert_eq!(status, 200, "{body}");
    let event = next_of(&mut erin, "feeds.bookmark").await;
    assert_envelope(&event, "feeds.bookmark.updated");
    assert_eq!(event["bookmark"]["custom"]["note"], "read it", "{event}");
    assert_eq!(event["bookmark"]["activity"]["id"], id, "{event}");

    let folder_path = format!("/api/v2/feeds/bookmark_folders/{folder}");
    let (status, body) = server.user("erin").patch(&folder_path, &json!({"name": "soon"})).await;
    assert_eq!(status, 200, "{body}");
    let event = next_of(&mut erin, "feeds.bookmark").await;
    assert_envelope(&event, "feeds.bookmark_folder.updated");
    assert_eq!(event["bookmark_folder"]["id"], folder, "{event}");
    assert_eq!(event["bookmark_folder"]["name"], "soon", "{event}");

    let (status, body) = server.user("erin").delete(&format!("{path}?folder_id={folder}")).await;
    assert_eq!(status, 200, "{body}");
    let event = next_of(&mut erin, "feeds.bookmark").await;
    assert_envelope(&event, "feeds.bookmark.deleted");
    assert_eq!(event["bookmark"]["activity"]["id"], id, "{event}");
    assert_eq!(event["bookmark"]["custom"]["note"], "read it", "the bookmark as deleted: {event}");

    let (status, body) = server.user("erin").delete(&folder_path).await;
    assert_eq!(status, 200, "{body}");
    let event = next_of(&mut erin, "feeds.bookmark").await;
    assert_envelope(&event, "feeds.bookmark_folder.deleted");
    assert_eq!(event["bookmark_folder"]["id"], folder, "{event}");
    assert_eq!(event["bookmark_folder"]["user"]["id"], "erin", "{event}");

    // Frank saw none of erin's: his own bookmark is the first he gets.
    server.user("frank").post(&path, &json!({})).await;
    let event = next_of(&mut frank, "feeds.bookmark").await;
    assert_envelope(&event, "feeds.bookmark.added");
    assert_eq!(event["user"]["id"], "frank", "{event}");
}

#[tokio::test]
async fn poll_events_go_where_the_activity_carrying_the_poll_went() {
    let server = TestServer::spawn().await;
    let admin = server.server();
    admin.create_users(&["erin", "frank"]).await;
    admin.follow("timeline:erin", "user:frank", json!({})).await;
    let poll = json!({"name": "Lunch?", "options": [{"text": "yes"}, {"text": "no"}], "user_id": "frank",
                      "enforce_unique_vote": true});
    let (status, body) = admin.post("/api/v2/polls", &poll).await;
    assert_eq!(status, 201, "{body}");
    let poll_id = body["poll"]["id"].as_str().expect("poll id").to_string();
    let options: Vec<String> =
        body["poll"]["options"].as_array().expect("options").iter().map(|o| o["id"].as_str().unwrap().into()).collect();
    let activity = admin.add_activity("frank", &["user:frank"], json!({"poll_id": poll_id})).await;
    let activity_id = activity["id"].as_str().expect("id");
    let (mut erin, conn) = connect(&server, "erin").await;
    watch(&server, "erin", "timeline:erin", &conn).await;

    let vote_path = format!("/api/v2/feeds/activities/{activity_id}/polls/{poll_id}/vote");
    let (status, body) = admin.post(&vote_path, &json!({"vote": {"option_id": options[0]}, "user_id": "erin"})).await;
    assert_eq!(status, 201, "{body}");
    let event = next_of(&mut erin, "feeds.poll.").await;
    assert_envelope(&event, "feeds.poll.vote_casted");
    assert_eq!(event["fid"], "timeline:erin", "fanned out to the follower's timeline: {event}");
    assert_eq!(event["poll"]["id"], poll_id, "{event}");
    assert_eq!(event["poll_vote"]["option_id"], options[0], "{event}");
    assert_eq!(event["poll_vote"]["user_id"], "erin", "{event}");

    let (status, body) = admin.post(&vote_path, &json!({"vote": {"option_id": options[1]}, "user_id": "erin"})).await;
    assert_eq!(status, 201, "{body}");
    let vote_id = body["vote"]["id"].as_str().expect("vote id").to_string();
    let event = next_of(&mut erin, "feeds.poll.").await;
    assert_envelope(&event, "feeds.poll.vote_changed");
    assert_eq!(event["poll_vote"]["id"], vote_id, "{event}");
    assert_eq!(event["poll"]["vote_counts_by_option"][&options[1]], 1, "{event}");

    let (status, body) = admin.delete(&format!("{vote_path}/{vote_id}?user_id=erin")).await;
    assert_eq!(status, 200, "{body}");
    let event = next_of(&mut erin, "feeds.poll.").await;
    assert_envelope(&event, "feeds.poll.vote_removed");
    assert_eq!(event["poll_vote"]["id"], vote_id, "{event}");
    assert_eq!(event["poll_vote"]["user"]["id"], "erin", "{event}");

    let poll_path = format!("/api/v2/polls/{poll_id}");
    let (status, body) = admin.patch(&poll_path, &json!({"set": {"name": "Lunch today?"}})).await;
    assert_eq!(status, 200, "{body}");
    let event = next_of(&mut erin, "feeds.poll.").await;
    assert_envelope(&event, "feeds.poll.updated");
    assert_eq!(event["poll"]["name"], "Lunch today?", "{event}");
    assert_eq!(event["fid"], "timeline:erin", "{event}");

    let (status, body) = admin.patch(&poll_path, &json!({"set": {"is_closed": true}})).await;
    assert_eq!(status, 200, "{body}");
    let event = next_of(&mut erin, "feeds.poll.").await;
    assert_envelope(&event, "feeds.poll.closed");
    assert_eq!(event["poll"]["is_closed"], true, "{event}");

    let (status, body) = admin.delete(&poll_path).await;
    assert_eq!(status, 200, "{body}");
    let event = next_of(&mut erin, "feeds.poll.").await;
    assert_envelope(&event, "feeds.poll.deleted");
    assert_eq!(event["poll"]["id"], poll_id, "the poll as it was: {event}");
    assert_eq!(event["poll"]["name"], "Lunch today?", "{event}");
}

#[tokio::test]
async fn user_updates_reach_that_users_connections() {
    let server = TestServer::spawn().await;
    let admin = server.server();
    let (mut erin, _) = connect(&server, "erin").await;

    let (status, body) =
        admin.post("/api/v2/users", &json!({"users": {"erin": {"id": "erin", "name": "Erin E."}}})).await;
    assert_eq!(status, 201, "{body}");
    let event = next_user_named(&mut erin, "Erin E.").await;
    assert_eq!(event["user"]["id"], "erin", "{event}");
    assert!(event.get("fid").is_none(), "{event}");

    let patch = json!({"users": [{"id": "erin", "set": {"name": "Erin F."}}]});
    let (status, body) = server.user("erin").patch("/api/v2/users", &patch).await;
    assert_eq!(status, 200, "{body}");
    let event = next_of(&mut erin, "user.").await;
    assert_envelope(&event, "user.updated");
    assert_eq!(event["user"]["name"], "Erin F.", "{event}");

    // Another connect with new details updates the user: the open
    // connection hears of it.
    let _second = connect(&server, "erin").await;
    let event = next_of(&mut erin, "user.").await;
    assert_envelope(&event, "user.updated");
    assert_eq!(event["user"]["name"], "ERIN", "{event}");
}
