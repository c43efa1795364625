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
