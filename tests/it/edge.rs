//! Edge rules on ordinary requests: what a user token may write about
//! users, and which sort directions exist.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{assert_error, TestServer};

async fn user_of(srv: &TestServer, id: &str) -> Value {
    let payload = json!({ "filter_conditions": { "id": id } }).to_string();
    let query = serde_urlencoded::to_string([("payload", payload)]).expect("encode payload");
    let (status, body) = srv.server().get(&format!("/api/v2/users?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["users"][0].clone()
}

#[track_caller]
fn assert_refused_field(resp: &(StatusCode, Value), field: &str) {
    assert_error(resp, StatusCode::FORBIDDEN, 17);
    assert!(resp.1["exception_fields"].get(field).is_some(), "error does not name {field}: {}", resp.1);
}

#[tokio::test]
async fn a_user_token_cannot_change_its_server_only_fields() {
    let srv = TestServer::spawn().await;
    srv.server().create_users(&["u"]).await;
    let me = srv.user("u");
    for (field, value) in
        [("role", json!("admin")), ("teams", json!(["staff"])), ("teams_role", json!({"staff": "admin"}))]
    {
        let resp = me.post("/api/v2/users", &json!({ "users": { "u": { "id": "u", field: value } } })).await;
        assert_refused_field(&resp, field);
    }
    for (field, value) in [
        ("role", json!("admin")),
        ("teams", json!(["staff"])),
        ("banned", json!(false)),
        ("revoke_tokens_issued_before", json!("2020-01-01T00:00:00Z")),
        ("teams_role.staff", json!("admin")),
    ] {
        let resp = me.patch("/api/v2/users", &json!({ "users": [{ "id": "u", "set": { field: value } }] })).await;
        assert_refused_field(&resp, field.split('.').next().unwrap_or(field));
    }
    let resp = me.patch("/api/v2/users", &json!({ "users": [{ "id": "u", "unset": ["role"] }] })).await;
    assert_refused_field(&resp, "role");
    assert_eq!(user_of(&srv, "u").await["role"], "user");
}

#[tokio::test]
async fn a_user_token_still_edits_its_own_profile() {
    let srv = TestServer::spawn().await;
    let server = srv.server();
    let (status, body) = server
        .post("/api/v2/users", &json!({ "users": { "u": { "id": "u", "role": "admin", "teams": ["staff"] } } }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let me = srv.user("u");
    // Echoing the current server-only values is fine; a full update that
    // leaves them out keeps them.
    let echo = json!({ "users": { "u": { "id": "u", "name": "Ursula", "role": "admin", "teams": ["staff"] } } });
    let (status, body) = me.post("/api/v2/users", &echo).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let update =
        json!({ "users": { "u": { "id": "u", "name": "Ursula", "image": "https://x/u.png", "custom": { "a": 1 } } } });
    let (status, body) = me.post("/api/v2/users", &update).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let patch =
        json!({ "users": [{ "id": "u", "set": { "name": "Ulla", "custom": { "b": 2 } }, "unset": ["image"] }] });
    let (status, body) = me.patch("/api/v2/users", &patch).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let user = user_of(&srv, "u").await;
    assert_eq!(user["name"], "Ulla");
    assert_eq!(user["role"], "admin");
    assert_eq!(user["teams"], json!(["staff"]));
    assert_eq!(user["custom"]["b"], 2);
}

#[tokio::test]
async fn a_user_token_cannot_update_another_user() {
    let srv = TestServer::spawn().await;
    srv.server().create_users(&["u", "v"]).await;
    let me = srv.user("u");
    let resp = me.post("/api/v2/users", &json!({ "users": { "v": { "id": "v", "name": "mallory" } } })).await;
    assert_error(&resp, StatusCode::FORBIDDEN, 17);
    let resp = me.post("/api/v2/users", &json!({ "users": { "u": { "id": "u" }, "v": { "id": "v" } } })).await;
    assert_error(&resp, StatusCode::FORBIDDEN, 17);
    let resp = me.patch("/api/v2/users", &json!({ "users": [{ "id": "v", "set": { "name": "mallory" } }] })).await;
    assert_error(&resp, StatusCode::FORBIDDEN, 17);
    assert!(user_of(&srv, "v").await.get("name").is_none_or(Value::is_null));
}

#[tokio::test]
async fn a_server_token_sets_server_only_fields() {
    let srv = TestServer::spawn().await;
    let (status, body) =
        srv.server().post("/api/v2/users", &json!({ "users": { "u": { "id": "u", "role": "admin" } } })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) =
        srv.server().patch("/api/v2/users", &json!({ "users": [{ "id": "u", "set": { "teams": ["a"] } }] })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let user = user_of(&srv, "u").await;
    assert_eq!((user["role"].clone(), user["teams"].clone()), (json!("admin"), json!(["a"])));
}

#[tokio::test]
async fn sort_direction_is_1_or_minus_1() {
    let srv = TestServer::spawn().await;
    let api = srv.server();
    for direction in [7, 0, -2] {
        let sort =
            json!([{ "field": "created_at", "direction": -1 }, { "field": "created_at", "direction": direction }]);
        let resp = api.post("/api/v2/feeds/activities/query", &json!({ "sort": sort })).await;
        assert_error(&resp, StatusCode::BAD_REQUEST, 4);
        assert!(resp.1["exception_fields"].get("sort[1].direction").is_some(), "{}", resp.1);

        let payload = json!({ "sort": [{ "field": "id", "direction": direction }] }).to_string();
        let query = serde_urlencoded::to_string([("payload", payload)]).expect("encode payload");
        let resp = api.get(&format!("/api/v2/users?{query}")).await;
        assert_error(&resp, StatusCode::BAD_REQUEST, 4);
        assert!(resp.1["exception_fields"].get("sort[0].direction").is_some(), "{}", resp.1);
    }
    for direction in [json!(1), json!(-1), json!(null)] {
        let sort = json!([{ "field": "created_at", "direction": direction }]);
        let (status, body) = api.post("/api/v2/feeds/activities/query", &json!({ "sort": sort })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
}
