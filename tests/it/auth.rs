//! Authentication (wire.md §2): api_key, JWT validation codes, server vs
//! user tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, Header};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{assert_error, now_secs, server_token, token, token_with, Client, TestServer, API_SECRET};

/// Any authenticated endpoint works as a probe; this one needs no data.
const PROBE: &str = "/api/v2/feeds/follows/query";

#[tokio::test(flavor = "multi_thread")]
async fn missing_api_key_is_401_code_2() {
    let srv = TestServer::spawn().await;
    let resp = srv.server().with_api_key(None).post(PROBE, &json!({})).await;
    assert_error(&resp, StatusCode::UNAUTHORIZED, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_api_key_is_401_code_2() {
    let srv = TestServer::spawn().await;
    let resp = srv.server().with_api_key(Some("not-the-key")).post(PROBE, &json!({})).await;
    assert_error(&resp, StatusCode::UNAUTHORIZED, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_authorization_is_401_code_5() {
    let srv = TestServer::spawn().await;
    let resp = srv.server().without_token().post(PROBE, &json!({})).await;
    assert_error(&resp, StatusCode::UNAUTHORIZED, 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_token_is_401_code_5() {
    let srv = TestServer::spawn().await;
    for garbage in ["not-a-jwt", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30"] {
        let resp = Client::new(&srv.base).with_token(garbage).post(PROBE, &json!({})).await;
        assert_error(&resp, StatusCode::UNAUTHORIZED, 5);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_signature_is_401_code_43() {
    let srv = TestServer::spawn().await;
    let forged = token_with(Header::default(), &json!({}), "some-other-secret-of-decent-length-000000");
    let resp = Client::new(&srv.base).with_token(forged).post(PROBE, &json!({})).await;
    assert_error(&resp, StatusCode::UNAUTHORIZED, 43);
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_token_is_401_code_40() {
    let srv = TestServer::spawn().await;
    let expired = token(&json!({ "user_id": "alice", "exp": now_secs() - 3600 }));
    let resp = Client::new(&srv.base).with_token(expired).post(PROBE, &json!({})).await;
    assert_error(&resp, StatusCode::UNAUTHORIZED, 40);
}

#[tokio::test(flavor = "multi_thread")]
async fn token_not_valid_yet_is_401_code_41() {
    let srv = TestServer::spawn().await;
    let early = token(&json!({ "user_id": "alice", "nbf": now_secs() + 3600 }));
    let resp = Client::new(&srv.base).with_token(early).post(PROBE, &json!({})).await;
    assert_error(&resp, StatusCode::UNAUTHORIZED, 41);
}

#[tokio::test(flavor = "multi_thread")]
async fn token_issued_in_the_future_is_401_code_42() {
    let srv = TestServer::spawn().await;
    let future = token(&json!({ "user_id": "alice", "iat": now_secs() + 3600 }));
    let resp = Client::new(&srv.base).with_token(future).post(PROBE, &json!({})).await;
    assert_error(&resp, StatusCode::UNAUTHORIZED, 42);
}

#[tokio::test(flavor = "multi_thread")]
async fn valid_registered_claims_are_accepted() {
    let srv = TestServer::spawn().await;
    // What the Python SDK signs for a user: iat = now - 5 s, plus an exp.
    let t = token(&json!({ "user_id": "alice", "iat": now_secs() - 5, "exp": now_secs() + 3600 }));
    let (status, body) = Client::new(&srv.base).with_token(t).post(PROBE, &json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_hs256_is_accepted() {
    let srv = TestServer::spawn().await;
    let hs512 = token_with(Header::new(Algorithm::HS512), &json!({}), API_SECRET);
    let resp = Client::new(&srv.base).with_token(hs512).post(PROBE, &json!({})).await;
    assert_error(&resp, StatusCode::UNAUTHORIZED, 5);

    // `alg: none` with an empty signature must never authenticate.
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(br#"{}"#);
    for unsigned in [format!("{header}.{claims}."), format!("{header}.{claims}")] {
        let resp = Client::new(&srv.base).with_token(unsigned).post(PROBE, &json!({})).await;
        assert_error(&resp, StatusCode::UNAUTHORIZED, 5);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bearer_prefix_is_accepted() {
    let srv = TestServer::spawn().await;
    let (status, body) =
        Client::new(&srv.base).with_token(format!("Bearer {}", server_token())).post(PROBE, &json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // …and a server-only endpoint proves it was read as a server token.
    let (status, body) =
        Client::new(&srv.base).with_token(format!("Bearer {}", server_token())).get("/api/v2/feeds/feed_groups").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_claims_and_server_true_are_both_server_tokens() {
    let srv = TestServer::spawn().await;
    for claims in [json!({}), json!({ "server": true })] {
        let (status, body) = Client::new(&srv.base).with_token(token(&claims)).get("/api/v2/feeds/feed_groups").await;
        assert_eq!(status, StatusCode::OK, "claims {claims}: {body}");
        assert!(body["groups"]["user"].is_object(), "built-in groups listed: {body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn server_only_endpoint_with_user_token_is_403_code_17() {
    let srv = TestServer::spawn().await;
    let resp = srv.user("alice").get("/api/v2/feeds/feed_groups").await;
    assert_error(&resp, StatusCode::FORBIDDEN, 17);
}

#[tokio::test(flavor = "multi_thread")]
async fn user_token_acts_as_its_own_user() {
    let srv = TestServer::spawn().await;
    srv.server().create_users(&["alice", "bob"]).await;
    // Naming another user is refused, not ignored.
    let body = json!({ "type": "post", "feeds": ["user:alice"], "user_id": "bob", "text": "hi" });
    let refused = srv.user("alice").post("/api/v2/feeds/activities", &body).await;
    assert_error(&refused, StatusCode::FORBIDDEN, 17);
    let body = json!({ "type": "post", "feeds": ["user:alice"], "text": "hi" });
    let (status, resp) = srv.user("alice").post("/api/v2/feeds/activities", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{resp}");
    assert_eq!(resp["activity"]["user"]["id"], "alice", "attributed to the token's user: {resp}");

    // Read back server-side: the stored author is alice too.
    let id = resp["activity"]["id"].as_str().expect("id");
    let (status, got) = srv.server().get(&format!("/api/v2/feeds/activities/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["activity"]["user"]["id"], "alice", "{got}");
}
