//! Errors and JSON conventions (wire.md §3, §4, §5).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{assert_api_error, assert_error, ids_of, is_integer, TestServer};

const ADD: &str = "/api/v2/feeds/activities";

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_is_400_code_4_with_a_message() {
    let srv = TestServer::spawn().await;
    let resp = srv.server().post_raw(ADD, r#"{"type": "post", "feeds": ["user:a"]"#).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    let message = resp.1["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("AddActivity failed with error: "), "Stream message format: {message}");
    assert!(message.contains("json"), "the message says what is wrong: {message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_required_field_is_named() {
    let srv = TestServer::spawn().await;
    srv.server().create_users(&["a"]).await;
    let resp = srv.server().post(ADD, &json!({ "feeds": ["user:a"], "user_id": "a" })).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    let body = &resp.1;
    assert!(body["message"].as_str().unwrap_or_default().contains("type"), "message names the field: {body}");
    assert!(body["exception_fields"]["type"].is_string(), "exception_fields names the field: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_json_type_is_400_code_4() {
    let srv = TestServer::spawn().await;
    srv.server().create_users(&["a"]).await;
    let resp = srv.server().post(ADD, &json!({ "type": "post", "feeds": "user:a", "user_id": "a" })).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    assert!(resp.1["message"].as_str().unwrap_or_default().contains("feeds"), "names the field: {}", resp.1);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_route_is_a_404_api_error() {
    let srv = TestServer::spawn().await;
    let (status, body) = srv.server().get("/api/v2/feeds/no_such_thing").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_api_error(&body, StatusCode::NOT_FOUND, body["code"].as_i64().unwrap_or(-999));
    // Without credentials too: routing comes before auth.
    let (status, body) = srv.server().without_token().with_api_key(None).get("/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_api_error(&body, StatusCode::NOT_FOUND, body["code"].as_i64().unwrap_or(-999));
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_method_is_a_405_api_error() {
    let srv = TestServer::spawn().await;
    let (status, body) = srv.server().patch("/api/v2/feeds/follows/query", &json!({})).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert_api_error(&body, StatusCode::METHOD_NOT_ALLOWED, body["code"].as_i64().unwrap_or(-999));
}

#[tokio::test(flavor = "multi_thread")]
async fn body_over_one_mib_is_413_code_22() {
    let srv = TestServer::spawn().await;
    srv.server().create_users(&["a"]).await;
    let text = "x".repeat(1024 * 1024 + 1024);
    let body = json!({ "type": "post", "feeds": ["user:a"], "user_id": "a", "text": text });
    let resp = srv.server().post(ADD, &body).await;
    assert_error(&resp, StatusCode::PAYLOAD_TOO_LARGE, 22);

    // Just under the limit is fine.
    let text = "x".repeat(1024 * 1024 - 1024);
    let body = json!({ "type": "post", "feeds": ["user:a"], "user_id": "a", "text": text });
    let (status, resp) = srv.server().post(ADD, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{}", resp["message"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_activity_is_404_code_16() {
    let srv = TestServer::spawn().await;
    let resp = srv.server().get("/api/v2/feeds/activities/does-not-exist").await;
    assert_error(&resp, StatusCode::NOT_FOUND, 16);
    let resp = srv.server().delete("/api/v2/feeds/activities/does-not-exist").await;
    assert_error(&resp, StatusCode::NOT_FOUND, 16);
    let resp = srv.server().get("/api/v2/tasks/does-not-exist").await;
    assert_error(&resp, StatusCode::NOT_FOUND, 16);
}

#[tokio::test(flavor = "multi_thread")]
async fn limit_above_100_is_400_code_4() {
    let srv = TestServer::spawn().await;
    srv.server().create_users(&["a"]).await;
    let resp =
        srv.server().post("/api/v2/feeds/feed_groups/user/feeds/a", &json!({ "limit": 101, "user_id": "a" })).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    let resp = srv.server().post("/api/v2/feeds/follows/query", &json!({ "limit": 101 })).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    // 100 is the maximum and allowed.
    let (status, body) = srv.server().post("/api/v2/feeds/follows/query", &json!({ "limit": 100 })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn more_than_25_feeds_is_400_code_4() {
    let srv = TestServer::spawn().await;
    srv.server().create_users(&["a"]).await;
    let feeds: Vec<String> = (0..26).map(|i| format!("user:f{i}")).collect();
    let resp = srv.server().post(ADD, &json!({ "type": "post", "feeds": feeds, "user_id": "a" })).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    // 25 is the maximum and allowed.
    let activity =
        srv.server().add_activity("a", &feeds[..25].iter().map(String::as_str).collect::<Vec<_>>(), json!({})).await;
    assert_eq!(activity["feeds"].as_array().map(Vec::len), Some(25), "{activity}");
}

#[tokio::test(flavor = "multi_thread")]
async fn success_statuses_follow_the_spec_table() {
    // The route table itself: 201 for POST and PUT, 200 for everything else.
    for (name, method, path, status) in tributary::http::OPERATIONS {
        let expected = if matches!(*method, "post" | "put") { 201 } else { 200 };
        assert_eq!(*status, expected, "{name} {method} {path}");
    }

    // And on the wire, every success carries a string `duration` (the client
    // helper asserts that on every 2xx).
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let (status, _) = api.post("/api/v2/users", &json!({ "users": { "a": { "id": "a" } } })).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = api.post(ADD, &json!({ "type": "post", "feeds": ["user:a"], "user_id": "a" })).await;
    assert_eq!(status, StatusCode::CREATED, "AddActivity: {body}");
    let id = body["activity"]["id"].as_str().expect("id").to_string();
    let path = format!("/api/v2/feeds/activities/{id}");
    let (status, body) = api.get(&path).await;
    assert_eq!(status, StatusCode::OK, "GetActivity: {body}");
    let (status, body) = api.put(&path, &json!({ "text": "edited", "user_id": "a" })).await;
    assert_eq!(status, StatusCode::CREATED, "UpdateActivity: {body}");
    let (status, body) = api.patch(&path, &json!({ "set": { "text": "patched" }, "user_id": "a" })).await;
    assert_eq!(status, StatusCode::OK, "UpdateActivityPartial: {body}");
    let (status, body) = api.get("/api/v2/feeds/feed_groups").await;
    assert_eq!(status, StatusCode::OK, "ListFeedGroups: {body}");
    let (status, body) = api.delete(&path).await;
    assert_eq!(status, StatusCode::OK, "DeleteActivity: {body}");
    let (status, body) = api.send(Method::POST, &format!("{path}/restore"), None).await;
    assert_eq!(status, StatusCode::CREATED, "RestoreActivity (no body): {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn timestamps_are_json_integers() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let (_, users) = api.post("/api/v2/users", &json!({ "users": { "a": { "id": "a" } } })).await;
    let user = &users["users"]["a"];
    for key in ["created_at", "updated_at"] {
        assert!(is_integer(&user[key]), "user.{key} must be an integer: {user}");
    }
    let activity =
        api.add_activity("a", &["user:a"], json!({ "expires_at": "2200-01-01T00:00:00Z", "text": "t" })).await;
    for key in ["created_at", "updated_at", "expires_at"] {
        assert!(is_integer(&activity[key]), "activity.{key} must be an integer: {activity}");
    }
    assert_eq!(activity["expires_at"].as_i64(), Some(7_258_118_400_000_000_000), "2200-01-01 in ns");
    // Integer nanoseconds since the epoch: created_at is "now" in ns.
    let created = activity["created_at"].as_i64().expect("i64 created_at");
    let now_ns = crate::support::now_secs() * 1_000_000_000;
    assert!((created - now_ns).abs() < 60 * 1_000_000_000, "created_at is nanoseconds: {created} vs {now_ns}");

    let read = api.read_feed("user:a", "a", json!({})).await;
    for key in ["created_at", "updated_at"] {
        assert!(is_integer(&read["feed"][key]), "feed.{key} must be an integer: {}", read["feed"]);
        assert!(is_integer(&read["activities"][0][key]), "read activity.{key}: {}", read["activities"][0]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn percent_encoded_path_params_are_decoded_once() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    api.create_users(&["alice", "bob"]).await;
    api.follow("timeline:bob", "user:alice", json!({})).await;
    let (status, body) = api.delete("/api/v2/feeds/follows/timeline%3Abob/user%3Aalice").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["follow"]["source_feed"]["feed"], "timeline:bob", "{body}");
    assert_eq!(body["follow"]["target_feed"]["feed"], "user:alice", "{body}");
    // It is gone now.
    let resp = api.delete("/api/v2/feeds/follows/timeline%3Abob/user%3Aalice").await;
    assert_error(&resp, StatusCode::NOT_FOUND, 16);

    // Activity ids are free text: reserved characters round-trip encoded.
    let activity = api.add_activity("alice", &["user:alice"], json!({ "id": "a:b/c d" })).await;
    assert_eq!(activity["id"], "a:b/c d");
    let (status, body) = api.get("/api/v2/feeds/activities/a%3Ab%2Fc%20d").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["activity"]["id"], "a:b/c d");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_request_fields_are_ignored() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    let (status, body) = api
        .post("/api/v2/users", &json!({ "users": { "a": { "id": "a", "shoe_size": 44 } }, "future_flag": true }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let body = json!({
        "type": "post",
        "feeds": ["user:a"],
        "user_id": "a",
        "text": "hello",
        "some_future_field": { "nested": [1, 2, 3] },
        "collections": null,
    });
    let (status, resp) = api.post(ADD, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{resp}");
    assert_eq!(resp["activity"]["text"], "hello");
    let read = api.read_feed("user:a", "a", json!({ "not_a_real_option": 1 })).await;
    assert_eq!(ids_of(&read), vec![resp["activity"]["id"].as_str().unwrap_or_default().to_string()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn nul_characters_in_strings_are_400_not_500() {
    let srv = TestServer::spawn().await;
    srv.server().create_users(&["a"]).await;
    let body = br#"{"type": "post", "feeds": ["user:a"], "user_id": "a", "text": "bad\u0000byte"}"#.to_vec();
    let resp = srv.server().post_raw("/api/v2/feeds/activities", body).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
}
