//! Push preferences and devices over HTTP, and the push bridge: `push`
//! events signed like webhooks, delivered to `--push-webhook-url` for the
//! recipients' devices, suppressed by `skip_push` and by preferences.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;
use tributary::config::WebhookOptions;

use crate::support::{assert_error, is_integer, TestServer, API_KEY, API_SECRET};

const PREFS: &str = "/api/v2/push_preferences";
const DEVICES: &str = "/api/v2/devices";

#[tokio::test]
async fn preferences_round_trip_merge_and_are_validated() {
    let server = TestServer::spawn().await;
    server.server().create_users(&["ann", "ben"]).await;
    let ann = server.user("ann");

    let (status, body) = ann
        .post(
            PREFS,
            &json!({"preferences": [{
                "feeds_level": "all",
                "disabled_until": "2030-01-01T00:00:00Z",
                "feeds_preferences": {"reaction": "none", "custom_activity_types": {"post": "none"}}
            }]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["duration"].is_string());
    let mine = &body["user_preferences"]["ann"];
    assert_eq!(mine["feeds_level"], "all", "{body}");
    assert!(is_integer(&mine["disabled_until"]), "timestamps are integer nanoseconds: {body}");
    assert_eq!(mine["feeds_preferences"]["reaction"], "none");
    assert_eq!(mine["feeds_preferences"]["custom_activity_types"], json!({"post": "none"}));
    assert_eq!(body["user_channel_preferences"], json!({}));

    // A later call changes only what it names; `remove_disable` unsnoozes;
    // a channel scope is kept apart and returned as edited.
    let (status, body) = ann
        .post(
            PREFS,
            &json!({"preferences": [
                {"feeds_preferences": {"follow": "none"}, "remove_disable": true},
                {"channel_cid": "messaging:general", "chat_level": "mentions"}
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mine = &body["user_preferences"]["ann"];
    assert_eq!(mine["feeds_level"], "all");
    assert!(mine.get("disabled_until").is_none(), "{body}");
    assert_eq!(mine["feeds_preferences"]["reaction"], "none");
    assert_eq!(mine["feeds_preferences"]["follow"], "none");
    assert_eq!(body["user_channel_preferences"]["ann"]["messaging:general"]["chat_level"], "mentions");

    // Server-side: each entry names its user.
    let (status, body) =
        server.server().post(PREFS, &json!({"preferences": [{"user_id": "ben", "feeds_level": "none"}]})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["user_preferences"]["ben"]["feeds_level"], "none");

    // Bad enum values are 400s naming the field; other users are refused.
    let resp = ann.post(PREFS, &json!({"preferences": [{"feeds_level": "loud"}]})).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    assert!(resp.1["exception_fields"].get("preferences[0].feeds_level").is_some(), "{}", resp.1);
    let resp = ann.post(PREFS, &json!({"preferences": [{"feeds_preferences": {"comment": "some"}}]})).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    assert!(resp.1["message"].as_str().unwrap().contains("feeds_preferences.comment"), "{}", resp.1);
    let resp = ann.post(PREFS, &json!({"preferences": [{"user_id": "ben", "feeds_level": "all"}]})).await;
    assert_error(&resp, StatusCode::FORBIDDEN, 17);
    let resp = server.server().post(PREFS, &json!({"preferences": [{"feeds_level": "all"}]})).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    let resp = ann.post(PREFS, &json!({"preferences": []})).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
}

#[tokio::test]
async fn devices_are_created_listed_and_deleted_by_their_owner_only() {
    let server = TestServer::spawn().await;
    server.server().create_users(&["ann", "ben"]).await;
    let (ann, ben) = (server.user("ann"), server.user("ben"));

    let (status, body) =
        ann.post(DEVICES, &json!({"id": "token-1", "push_provider": "firebase", "push_provider_name": "main"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["duration"].is_string());
    let (status, body) = ann.post(DEVICES, &json!({"id": "token-2", "push_provider": "apn", "voip_token": true})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, body) = ann.get(DEVICES).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let devices = body["devices"].as_array().expect("devices");
    assert_eq!(devices.len(), 2, "{body}");
    assert_eq!(devices[0]["id"], "token-1");
    assert_eq!(devices[0]["user_id"], "ann");
    assert_eq!(devices[0]["push_provider"], "firebase");
    assert_eq!(devices[0]["push_provider_name"], "main");
    assert!(is_integer(&devices[0]["created_at"]), "{body}");
    assert_eq!(devices[1]["voip"], true);

    // Ben sees none of them and cannot delete them; the server can list
    // anyone's by naming the user.
    assert_eq!(ben.get(DEVICES).await.1["devices"], json!([]));
    assert_error(&ben.delete(&format!("{DEVICES}?id=token-1")).await, StatusCode::NOT_FOUND, 16);
    assert_error(&ben.get(&format!("{DEVICES}?user_id=ann")).await, StatusCode::FORBIDDEN, 17);
    let (status, body) = server.server().get(&format!("{DEVICES}?user_id=ann")).await;
    assert_eq!((status, body["devices"].as_array().map(Vec::len)), (StatusCode::OK, Some(2)), "{body}");
    assert_error(&server.server().get(DEVICES).await, StatusCode::BAD_REQUEST, 4);

    // Validation names the field.
    let resp = ann.post(DEVICES, &json!({"id": "t", "push_provider": "pigeon"})).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    assert!(resp.1["exception_fields"].get("push_provider").is_some(), "{}", resp.1);
    let resp = ann.post(DEVICES, &json!({"id": "x".repeat(600), "push_provider": "apn"})).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    let resp = server.server().post(DEVICES, &json!({"id": "t", "push_provider": "apn", "user_id": "nobody"})).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);

    // Registering a token again replaces it; a token registered by another
    // user moves to that user.
    let (status, _) = ben.post(DEVICES, &json!({"id": "token-2", "push_provider": "apn"})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(ann.get(DEVICES).await.1["devices"].as_array().map(Vec::len), Some(1));
    assert_eq!(ben.get(DEVICES).await.1["devices"][0]["id"], "token-2");

    // The owner deletes; a second delete is a 404.
    let (status, body) = ann.delete(&format!("{DEVICES}?id=token-1")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ann.get(DEVICES).await.1["devices"], json!([]));
    assert_error(&ann.delete(&format!("{DEVICES}?id=token-1")).await, StatusCode::NOT_FOUND, 16);
    assert_error(&ann.delete(DEVICES).await, StatusCode::BAD_REQUEST, 4);
}

#[tokio::test]
async fn a_user_keeps_at_most_25_devices() {
    let server = TestServer::spawn().await;
    server.server().create_users(&["ann"]).await;
    let ann = server.user("ann");
    for i in 0..25 {
        let (status, body) = ann.post(DEVICES, &json!({"id": format!("t{i}"), "push_provider": "firebase"})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let resp = ann.post(DEVICES, &json!({"id": "t25", "push_provider": "firebase"})).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    assert!(resp.1["message"].as_str().unwrap().contains("25"), "{}", resp.1);
    // Re-registering one of the 25 is still fine.
    let (status, _) = ann.post(DEVICES, &json!({"id": "t3", "push_provider": "apn"})).await;
    assert_eq!(status, StatusCode::CREATED);
}

// ---- the push bridge ----

#[derive(Debug, Clone)]
struct Push {
    signature: String,
    api_key: String,
    raw: Vec<u8>,
    json: Value,
}

#[derive(Clone, Default)]
struct Pushes(Arc<Mutex<Vec<Push>>>);

async fn receive(State(pushes): State<Pushes>, headers: HeaderMap, raw: Bytes) -> &'static str {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let json = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    pushes.0.lock().unwrap().push(Push {
        signature: header("x-signature"),
        api_key: header("x-api-key"),
        raw: raw.to_vec(),
        json,
    });
    "ok"
}

impl Pushes {
    async fn start() -> (Pushes, String, tokio::task::JoinHandle<()>) {
        let pushes = Pushes::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/push", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(receive).with_state(pushes.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (pushes, url, task)
    }

    fn all(&self) -> Vec<Push> {
        self.0.lock().unwrap().clone()
    }

    /// Waits for a push of `kind` to `user`.
    async fn wait_for(&self, user: &str, kind: &str) -> Push {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(p) =
                self.all().into_iter().find(|p| p.json["receiver"]["id"] == user && p.json["push_type"] == kind)
            {
                return p;
            }
            assert!(Instant::now() < deadline, "no {kind} push to {user}; got {:#?}", self.all());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn signed(push: &Push) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(API_SECRET.as_bytes()).unwrap();
    mac.update(&push.raw);
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    expected == push.signature
}

#[tokio::test]
async fn pushes_reach_the_bridge_signed_with_devices_unless_skipped_or_unwanted() {
    let (pushes, url, _receiver) = Pushes::start().await;
    let webhooks = WebhookOptions { webhook_first_retry_ms: 50, push_webhook_url: Some(url), ..Default::default() };
    let server = TestServer::spawn_with_webhooks(webhooks).await;
    let admin = server.server();
    admin.create_users(&["ann", "ben", "cat"]).await;
    let ben = server.user("ben");
    let (status, body) = ben.post(DEVICES, &json!({"id": "ben-phone", "push_provider": "apn"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Give the bridge a moment to start from the outbox head before the
    // writes it must see.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let post = admin.add_activity("ben", &["user:ben"], json!({"text": "hello"})).await;
    let post_id = post["id"].as_str().unwrap();
    let reaction = format!("/api/v2/feeds/activities/{post_id}/reactions");

    // A reaction on ben's post by ann pushes to ben, with his device.
    let (status, body) = admin.post(&reaction, &json!({"type": "like", "user_id": "ann"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let push = pushes.wait_for("ben", "reaction").await;
    assert!(signed(&push), "X-Signature is the HMAC-SHA256 of the body: {push:?}");
    assert_eq!(push.api_key, API_KEY);
    assert_eq!(push.json["type"], "push");
    assert!(is_integer(&push.json["created_at"]));
    assert_eq!(push.json["devices"][0]["id"], "ben-phone");
    assert_eq!(push.json["devices"][0]["push_provider"], "apn");
    assert_eq!(push.json["event"]["type"], "feeds.activity.reaction.added");
    assert_eq!(push.json["event"]["activity"]["id"], post_id);

    // skip_push: nothing for this reaction. The follow after it is the
    // marker: once its push arrived, the skipped one would have too.
    let (status, _) = admin.post(&reaction, &json!({"type": "love", "user_id": "cat", "skip_push": true})).await;
    assert_eq!(status, StatusCode::CREATED);
    admin.follow("timeline:ann", "user:ben", json!({})).await;
    let follow = pushes.wait_for("ben", "follow").await;
    assert_eq!(follow.json["event"]["type"], "feeds.follow.created");

    // Ben's preferences: no reaction pushes. A comment still pushes (and is
    // the marker).
    let (status, _) = ben.post(PREFS, &json!({"preferences": [{"feeds_preferences": {"reaction": "none"}}]})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = admin.post(&reaction, &json!({"type": "wow", "user_id": "ann"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = admin
        .post(
            "/api/v2/feeds/comments",
            &json!({"object_id": post_id, "object_type": "activity", "comment": "nice", "user_id": "cat"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    pushes.wait_for("ben", "comment").await;

    // Users without devices get nothing: ann was mentioned, has no device.
    admin.add_activity("cat", &["user:cat"], json!({"text": "hi @ann", "mentioned_user_ids": ["ann"]})).await;
    admin.follow("timeline:cat", "user:ben", json!({"skip_push": true})).await;
    admin.follow("timeline:ben", "user:cat", json!({})).await;
    let (status, _) = ben.post(DEVICES, &json!({"id": "ben-tablet", "push_provider": "firebase"})).await;
    assert_eq!(status, StatusCode::CREATED);
    // A private activity mentioning ben pushes nothing (he cannot read it);
    // a public one does.
    let private = json!({"text": "psst @ben", "mentioned_user_ids": ["ben"], "visibility": "private"});
    admin.add_activity("cat", &["user:cat"], private).await;
    admin.add_activity("cat", &["user:cat"], json!({"text": "hey @ben", "mentioned_user_ids": ["ben"]})).await;
    let (status, body) = admin
        .post(
            "/api/v2/feeds/comments",
            &json!({"object_id": post_id, "object_type": "activity", "comment": "again", "user_id": "ann"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while pushes.all().iter().filter(|p| p.json["push_type"] == "comment").count() < 2 {
        assert!(Instant::now() < deadline, "no second comment push: {:#?}", pushes.all());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let all = pushes.all();
    let kinds: Vec<(String, String)> = all
        .iter()
        .map(|p| (p.json["receiver"]["id"].as_str().unwrap().into(), p.json["push_type"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        kinds,
        [("ben", "reaction"), ("ben", "follow"), ("ben", "comment"), ("ben", "mention"), ("ben", "comment")]
            .map(|(u, k)| (u.to_string(), k.to_string())),
        "only the pushes that should go went: {all:#?}"
    );
    assert!(all.iter().all(signed));
    // The last ones carry both of ben's devices; the mention is the public one.
    assert_eq!(all[4].json["devices"].as_array().map(Vec::len), Some(2), "{:#?}", all[4]);
    assert_eq!(all[3].json["event"]["activity"]["text"], "hey @ben");
}

const GROUPS: &str = "/api/v2/feeds/feed_groups";

/// A server with a push bridge, `users` created and ben's phone registered.
async fn bridged(users: &[&str]) -> (TestServer, Pushes, tokio::task::JoinHandle<()>) {
    let (pushes, url, receiver) = Pushes::start().await;
    let webhooks = WebhookOptions { webhook_first_retry_ms: 50, push_webhook_url: Some(url), ..Default::default() };
    let server = TestServer::spawn_with_webhooks(webhooks).await;
    server.server().create_users(users).await;
    let (status, body) = server.user("ben").post(DEVICES, &json!({"id": "ben-phone", "push_provider": "apn"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The bridge starts from the outbox head: let it, before the writes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    (server, pushes, receiver)
}

/// Replaces `group`'s configuration (a full replacement).
async fn configure(admin: &crate::support::Client, group: &str, config: Value) {
    let (status, body) = admin.put(&format!("{GROUPS}/{group}"), &config).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// (receiver, push_type) of every push so far.
fn kinds(pushes: &Pushes) -> Vec<(String, String)> {
    pushes
        .all()
        .iter()
        .map(|p| (p.json["receiver"]["id"].as_str().unwrap().into(), p.json["push_type"].as_str().unwrap().into()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(u, k)| (u.to_string(), k.to_string())).collect()
}

/// Waits until `n` pushes arrived.
async fn wait_count(pushes: &Pushes, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while pushes.all().len() < n {
        assert!(Instant::now() < deadline, "fewer than {n} pushes: {:#?}", kinds(pushes));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn feed_group_push_configuration_gates_direct_pushes() {
    let (server, pushes, _receiver) = bridged(&["ann", "ben", "cat"]).await;
    let admin = server.server();
    // A custom group without `push_notification` pushes nothing.
    let (status, body) =
        admin.post(GROUPS, &json!({"id": "club", "activity_selectors": [{"type": "current_feed"}]})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let club_post = admin.add_activity("ben", &["club:ben"], json!({"text": "club"})).await;
    let club_reactions = format!("/api/v2/feeds/activities/{}/reactions", club_post["id"].as_str().unwrap());
    assert_eq!(admin.post(&club_reactions, &json!({"type": "like", "user_id": "ann"})).await.0, StatusCode::CREATED);
    admin.follow("timeline:ann", "club:ben", json!({})).await;

    // `user` (built-in defaults) pushes reactions: the marker.
    let post = admin.add_activity("ben", &["user:ben"], json!({"text": "mine"})).await;
    let post_id = post["id"].as_str().unwrap().to_string();
    let reactions = format!("/api/v2/feeds/activities/{post_id}/reactions");
    assert_eq!(admin.post(&reactions, &json!({"type": "like", "user_id": "ann"})).await.0, StatusCode::CREATED);
    pushes.wait_for("ben", "reaction").await;
    assert_eq!(kinds(&pushes), pairs(&[("ben", "reaction")]));

    // `user` allowing comments only: a reaction and a follow push nothing,
    // a comment does.
    let selectors = json!([{"type": "current_feed"}]);
    configure(
        &admin,
        "user",
        json!({"activity_selectors": selectors, "push_notification": {"enable_push": true, "push_types": ["comment"]}}),
    )
    .await;
    let (status, body) = admin.get(&format!("{GROUPS}/user")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["feed_group"]["push_notification"]["push_types"], json!(["comment"]), "{body}");
    assert_eq!(admin.post(&reactions, &json!({"type": "love", "user_id": "cat"})).await.0, StatusCode::CREATED);
    admin.follow("timeline:cat", "user:ben", json!({})).await;
    let comment = json!({"object_id": post_id, "object_type": "activity", "comment": "nice", "user_id": "cat"});
    assert_eq!(admin.post("/api/v2/feeds/comments", &comment).await.0, StatusCode::CREATED);
    pushes.wait_for("ben", "comment").await;

    // The custom group configured: its follows and reactions push.
    configure(
        &admin,
        "club",
        json!({"activity_selectors": selectors, "push_notification": {"enable_push": true, "push_types": ["follow", "reaction"]}}),
    )
    .await;
    admin.follow("timeline:cat", "club:ben", json!({})).await;
    pushes.wait_for("ben", "follow").await;

    // `enable_push: false` turns the group's pushes off whatever its types.
    configure(
        &admin,
        "user",
        json!({"activity_selectors": selectors, "push_notification": {"enable_push": false, "push_types": ["comment"]}}),
    )
    .await;
    assert_eq!(admin.post("/api/v2/feeds/comments", &comment).await.0, StatusCode::CREATED);
    assert_eq!(admin.post(&club_reactions, &json!({"type": "wow", "user_id": "cat"})).await.0, StatusCode::CREATED);
    wait_count(&pushes, 4).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        kinds(&pushes),
        pairs(&[("ben", "reaction"), ("ben", "comment"), ("ben", "follow"), ("ben", "reaction")]),
        "{:?}",
        kinds(&pushes)
    );
    assert_eq!(pushes.all()[3].json["event"]["activity"]["id"], club_post["id"]);

    // A bad configuration is a 400 naming the field.
    let bad = json!({"activity_selectors": selectors, "push_notification": {"enable_push": "yes"}});
    let resp = admin.put(&format!("{GROUPS}/user"), &bad).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    assert!(resp.1["exception_fields"].get("push_notification.enable_push").is_some(), "{}", resp.1);
    let bad = json!({"activity_selectors": selectors, "push_notification": {"enable_push": true, "push_types": [1]}});
    let resp = admin.put(&format!("{GROUPS}/user"), &bad).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    assert!(resp.1["exception_fields"].get("push_notification.push_types").is_some(), "{}", resp.1);
}

#[tokio::test]
async fn notification_activities_push_with_skip_push_and_each_action_pushes_once() {
    let (server, pushes, _receiver) = bridged(&["ann", "ben", "cat", "dan"]).await;
    let admin = server.server();
    let post = admin.add_activity("ben", &["user:ben"], json!({"text": "mine"})).await;
    let post_id = post["id"].as_str().unwrap().to_string();
    let reactions = format!("/api/v2/feeds/activities/{post_id}/reactions");
    let react = |user: &str, skip_push: bool| json!({"type": "like", "user_id": user, "create_notification_activity": true, "skip_push": skip_push});

    // skip_push false: the reaction pushes directly, once, although it also
    // added a notification.
    let (status, body) = admin.post(&reactions, &react("ann", false)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["notification_created"].as_bool().unwrap_or(true), "{body}");
    // skip_push true: the notification it adds pushes instead.
    assert_eq!(admin.post(&reactions, &react("cat", true)).await.0, StatusCode::CREATED);
    // skip_push true without a notification: nothing.
    let plain = json!({"type": "wow", "user_id": "dan", "skip_push": true});
    assert_eq!(admin.post(&reactions, &plain).await.0, StatusCode::CREATED);
    // A comment through the notification feed; the marker.
    let comment = json!({"object_id": post_id, "object_type": "activity", "comment": "hi", "user_id": "dan",
                         "create_notification_activity": true, "skip_push": true});
    assert_eq!(admin.post("/api/v2/feeds/comments", &comment).await.0, StatusCode::CREATED);
    pushes.wait_for("ben", "comment").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(kinds(&pushes), pairs(&[("ben", "reaction"), ("ben", "reaction"), ("ben", "comment")]));
    let all = pushes.all();
    assert_eq!(all[0].json["event"]["reaction"]["user"]["id"], "ann");
    assert_eq!(all[1].json["event"]["reaction"]["user"]["id"], "cat");
    assert_eq!(all[2].json["event"]["type"], "feeds.comment.added");

    // The notification group allowing follows and a custom type only.
    configure(
        &admin,
        "notification",
        json!({
            "activity_selectors": [{"type": "current_feed"}],
            "aggregation": {"format": "{{ type }}-{{ time.strftime(\"%Y-%m-%d\") }}"},
            "notification": {"track_seen": true, "track_read": true},
            "push_notification": {"enable_push": true, "push_types": ["follow", "announcement"]}
        }),
    )
    .await;
    // A reaction through the notification feed now pushes nothing…
    assert_eq!(admin.post(&reactions, &react("dan", true)).await.0, StatusCode::CREATED);
    // …nor does an activity of a type the group does not list, added to
    // ben's notification feed by hand; one of a listed type does.
    admin.add_activity("ann", &["notification:ben"], json!({"type": "digest", "text": "weekly"})).await;
    admin.add_activity("ann", &["notification:ben"], json!({"type": "announcement", "text": "news"})).await;
    pushes.wait_for("ben", "announcement").await;
    // A follow through the notification feed pushes, once.
    admin.follow("timeline:cat", "user:ben", json!({"create_notification_activity": true, "skip_push": true})).await;
    pushes.wait_for("ben", "follow").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(kinds(&pushes)[3..], pairs(&[("ben", "announcement"), ("ben", "follow")]), "{:?}", kinds(&pushes));
    assert_eq!(pushes.all()[4].json["event"]["type"], "feeds.follow.created");
}

#[tokio::test]
async fn new_activities_push_to_followers_asking_all() {
    let (server, pushes, _receiver) = bridged(&["ann", "ben", "cat", "dan", "eve"]).await;
    let admin = server.server();
    for user in ["cat", "dan", "eve"] {
        let (status, body) =
            server.user(user).post(DEVICES, &json!({"id": format!("{user}-phone"), "push_provider": "firebase"})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let all = json!({"push_preference": "all"});
    // Ben follows ann from two feeds asking all: pushed once. Cat asks
    // nothing (the default); dan asks all but has turned feeds off; ann's
    // own follow asking all never pushes her own posts.
    admin.follow("timeline:ben", "user:ann", all.clone()).await;
    admin.follow("foryou:ben", "user:ann", all.clone()).await;
    admin.follow("timeline:cat", "user:ann", json!({})).await;
    admin.follow("timeline:dan", "user:ann", all.clone()).await;
    admin.follow("timeline:ann", "user:ann", all.clone()).await;
    let (status, _) = server.user("dan").post(PREFS, &json!({"preferences": [{"feeds_level": "none"}]})).await;
    assert_eq!(status, StatusCode::CREATED);
    // Eve's follow asks none first, then all (UpdateFollow).
    admin.follow("timeline:eve", "user:ann", json!({})).await;
    let (status, body) = admin
        .patch(
            "/api/v2/feeds/follows",
            &json!({"source": "timeline:eve", "target": "user:ann", "push_preference": "all"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["follow"]["push_preference"], "all", "{body}");

    let first = admin.add_activity("ann", &["user:ann"], json!({"text": "one"})).await;
    wait_count(&pushes, 2).await;
    // Neither a skip_push activity nor a private one pushes; the next
    // public one does (the marker).
    admin.add_activity("ann", &["user:ann"], json!({"text": "quiet", "skip_push": true})).await;
    admin.add_activity("ann", &["user:ann"], json!({"text": "secret", "visibility": "private"})).await;
    admin.add_activity("ann", &["user:ann"], json!({"text": "two"})).await;
    wait_count(&pushes, 4).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut got = kinds(&pushes);
    got.sort();
    assert_eq!(
        got,
        pairs(&[("ben", "post"), ("ben", "post"), ("eve", "post"), ("eve", "post")]),
        "{:?}",
        kinds(&pushes)
    );
    let to_ben = pushes.all().into_iter().find(|p| p.json["receiver"]["id"] == "ben").unwrap();
    assert!(signed(&to_ben));
    assert_eq!(to_ben.json["event"]["type"], "feeds.activity.added");
    assert_eq!(to_ben.json["event"]["activity"]["id"], first["id"]);

    // The store pages them in source order, each owner once.
    let store = server.open_store().await;
    let target = tributary::core::model::Fid::parse("user:ann").unwrap();
    let page = store.push_followers(&target, &[], None, 2).await.unwrap();
    let seen: Vec<String> = page.iter().map(|(f, o)| format!("{f}/{o}")).collect();
    assert_eq!(seen, ["foryou:ben/ben", "timeline:ann/ann"]);
    let rest = store.push_followers(&target, &[], Some(&page[1].0), 2).await.unwrap();
    let seen: Vec<String> = rest.iter().map(|(f, o)| format!("{f}/{o}")).collect();
    assert_eq!(seen, ["timeline:dan/dan", "timeline:eve/eve"]);
    assert!(store.push_followers(&target, &[], Some(&rest[1].0), 2).await.unwrap().is_empty());

    // An activity in two feeds pushes each follower once: ben follows both.
    let push = json!({"enable_push": true, "push_types": ["post"]});
    let club = json!({"id": "club", "activity_selectors": [{"type": "current_feed"}], "push_notification": push});
    assert_eq!(admin.post(GROUPS, &club).await.0, StatusCode::CREATED);
    admin.follow("timeline:ben", "club:ann", all.clone()).await;
    admin.follow("timeline:cat", "club:ann", all.clone()).await;
    let club_ann = tributary::core::model::Fid::parse("club:ann").unwrap();
    let both = [target.clone(), club_ann.clone()];
    let owners: Vec<String> =
        store.push_followers(&club_ann, &both, None, 10).await.unwrap().into_iter().map(|(_, o)| o).collect();
    assert_eq!(owners, ["cat"], "ben comes with user:ann");
    admin.add_activity("ann", &["user:ann", "club:ann"], json!({"text": "three"})).await;
    wait_count(&pushes, 7).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut got = kinds(&pushes)[4..].to_vec();
    got.sort();
    assert_eq!(got, pairs(&[("ben", "post"), ("cat", "post"), ("eve", "post")]));
}
