//! Findings of the spec-driven fuzz run (`tests/fuzz`), each pinned here so
//! it stays fixed on both stores.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{assert_error, TestServer};

#[tokio::test(flavor = "multi_thread")]
async fn a_team_role_that_is_not_a_string_is_refused() {
    let srv = TestServer::spawn().await;
    let client = srv.server();
    let user = json!({ "id": "u1", "teams_role": { "red": {} } });
    let resp = client.post("/api/v2/users", &json!({ "users": { "u1": user } })).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    assert!(resp.1["exception_fields"]["teams_role.red"].is_string(), "names the team: {}", resp.1);

    client.create_users(&["u2"]).await;
    let patch = json!({ "users": [{ "id": "u2", "set": { "teams_role": { "red": 7 } } }] });
    assert_error(&client.patch("/api/v2/users", &patch).await, StatusCode::BAD_REQUEST, 4);

    let fine = json!({ "id": "u3", "teams_role": { "red": "admin" } });
    let (status, body) = client.post("/api/v2/users", &json!({ "users": { "u3": fine } })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["users"]["u3"]["teams_role"]["red"], "admin", "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn privacy_settings_must_have_the_documented_shape() {
    let srv = TestServer::spawn().await;
    let client = srv.server();
    for (settings, field) in [
        (json!([null, null]), "privacy_settings"),
        (json!({ "typing_indicators": {} }), "privacy_settings.typing_indicators.enabled"),
        (json!({ "read_receipts": { "enabled": "yes" } }), "privacy_settings.read_receipts.enabled"),
    ] {
        let user = json!({ "id": "u1", "privacy_settings": settings });
        let resp = client.post("/api/v2/users", &json!({ "users": { "u1": user } })).await;
        assert_error(&resp, StatusCode::BAD_REQUEST, 4);
        assert!(resp.1["exception_fields"][field].is_string(), "names {field}: {}", resp.1);
    }

    client.create_users(&["u2"]).await;
    let patch = json!({ "users": [{ "id": "u2", "set": { "privacy_settings": 3 } }] });
    assert_error(&client.patch("/api/v2/users", &patch).await, StatusCode::BAD_REQUEST, 4);

    let fine = json!({ "id": "u3", "privacy_settings": { "typing_indicators": { "enabled": true } } });
    let (status, body) = client.post("/api/v2/users", &json!({ "users": { "u3": fine } })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["users"]["u3"]["privacy_settings"]["typing_indicators"]["enabled"], true, "{body}");
}

/// Found by the store parity probe: a collection named twice in one request
/// was a 500 on SQLite (unique constraint) and on PostgreSQL's upsert (a row
/// touched twice), or silently "already exists". Now a 400 everywhere.
#[tokio::test(flavor = "multi_thread")]
async fn a_collection_named_twice_in_one_request_is_refused() {
    let srv = TestServer::spawn().await;
    let client = srv.server();
    client.create_users(&["u1"]).await;
    let twice = json!([
        { "name": "food", "id": "pizza", "custom": { "n": 1 } },
        { "name": "food", "id": "pizza", "custom": { "n": 2 } },
    ]);
    let body = json!({ "collections": twice, "user_id": "u1" });
    let resp = client.post("/api/v2/feeds/collections", &body).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    assert!(resp.1["message"].as_str().is_some_and(|m| m.contains("named twice")), "{}", resp.1);
    let resp = client.put("/api/v2/feeds/collections", &body).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    let inline = json!({ "type": "post", "feeds": ["user:u1"], "user_id": "u1", "collections": twice });
    assert_error(&client.post("/api/v2/feeds/activities", &inline).await, StatusCode::BAD_REQUEST, 4);
    let (status, read) = client.get("/api/v2/feeds/collections?collection_refs=food%3Apizza").await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["collections"].as_array().map(Vec::len), Some(0), "nothing was written: {read}");
}
