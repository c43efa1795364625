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
