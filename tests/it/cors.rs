//! CORS for browser clients: preflights are answered before routing and
//! auth, and every response, errors included, carries
//! `Access-Control-Allow-Origin` so the browser lets the SDK read it.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tributary::config::CorsOrigins;

use crate::support::{server_token, TestServer, API_KEY};

const APP: &str = "http://localhost:5173";

/// One request with the headers the feeds-client sends from a page served
/// at `origin`; returns the status and the response headers.
async fn call(
    srv: &TestServer,
    method: Method,
    path: &str,
    origin: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
) -> (StatusCode, HeaderMap) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}{sep}api_key={API_KEY}", srv.base))
        .header("origin", origin)
        .header("stream-auth-type", "jwt")
        .header("content-type", "application/json");
    if let Some(token) = token {
        req = req.header("authorization", token);
    }
    if let Some(body) = body {
        req = req.body(body);
    }
    let resp = req.send().await.expect("response");
    (resp.status(), resp.headers().clone())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().expect("ascii header"))
}

#[track_caller]
fn assert_cors(status: StatusCode, headers: &HeaderMap, origin: &str) {
    assert_eq!(header(headers, "access-control-allow-origin"), Some(origin), "{status}: {headers:?}");
    assert_eq!(
        header(headers, "access-control-expose-headers"),
        Some("X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After"),
        "{status}: {headers:?}"
    );
}

fn lower_list(value: Option<&str>) -> Vec<String> {
    value.unwrap_or("").split(',').map(|s| s.trim().to_ascii_lowercase()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn preflight_is_answered_without_a_token() {
    let srv = TestServer::spawn().await;
    for path in ["/api/v2/feeds/activities", "/api/v2/feeds/follows/timeline%3Abob/user%3Aalice", "/api/v2/nope"] {
        let resp = reqwest::Client::new()
            .request(Method::OPTIONS, format!("{}{path}?api_key={API_KEY}", srv.base))
            .header("origin", APP)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type,stream-auth-type,x-client-request-id,x-stream-client",
            )
            .send()
            .await
            .expect("preflight");
        let status = resp.status();
        let headers = resp.headers();
        assert!(status.is_success(), "OPTIONS {path} → {status}");
        assert_eq!(header(headers, "access-control-allow-origin"), Some("*"), "{path}: {headers:?}");
        let methods = lower_list(header(headers, "access-control-allow-methods"));
        for method in ["get", "post", "put", "patch", "delete", "options"] {
            assert!(methods.iter().any(|m| m == method), "{path}: {method} not in {methods:?}");
        }
        let allowed = lower_list(header(headers, "access-control-allow-headers"));
        for name in [
            "authorization",
            "content-type",
            "stream-auth-type",
            "x-client-request-id",
            "x-stream-client",
            "accept",
            "accept-encoding",
        ] {
            assert!(allowed.iter().any(|h| h == name), "{path}: {name} not in {allowed:?}");
        }
        assert_eq!(header(headers, "access-control-max-age"), Some("86400"), "{path}");
    }

    // A bare OPTIONS (no Origin, no requested method) is answered the same way.
    let resp = reqwest::Client::new()
        .request(Method::OPTIONS, format!("{}/api/v2/users", srv.base))
        .send()
        .await
        .expect("options");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_response_carries_allow_origin() {
    let srv = TestServer::spawn().await;
    let token = server_token();
    let token = Some(token.as_str());

    let (status, headers) = call(&srv, Method::GET, "/api/v2/feeds/feed_groups", APP, token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_cors(status, &headers, "*");

    let (status, headers) = call(&srv, Method::GET, "/health", APP, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_cors(status, &headers, "*");

    let (status, headers) = call(&srv, Method::GET, "/api/v2/feeds/feed_groups", APP, Some("not.a.jwt"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_cors(status, &headers, "*");

    let (status, headers) = call(&srv, Method::GET, "/api/v2/no/such/route", APP, None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_cors(status, &headers, "*");

    let (status, headers) = call(&srv, Method::PATCH, "/api/v2/feeds/follows/query", APP, token, None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_cors(status, &headers, "*");

    // Refused before routing reaches the handler: a control character.
    let (status, headers) = call(&srv, Method::GET, "/api/v2/feeds/activities/a%01b", APP, token, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_cors(status, &headers, "*");

    let text = "x".repeat(1024 * 1024 + 1024);
    let body = json!({ "type": "post", "feeds": ["user:a"], "user_id": "a", "text": text }).to_string();
    let (status, headers) =
        call(&srv, Method::POST, "/api/v2/feeds/activities", APP, token, Some(body.into_bytes())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_cors(status, &headers, "*");

    // `*` does not depend on the request's Origin, so nothing varies by it.
    let vary = headers.get_all("vary").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
    assert!(!vary.to_ascii_lowercase().contains("origin"), "{vary}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_allow_list_echoes_listed_origins_only() {
    let origins = CorsOrigins::parse("https://app.example.com, http://localhost:5173").expect("origins");
    let srv = TestServer::spawn_with_cors(origins).await;
    let token = server_token();

    for origin in ["https://app.example.com", APP] {
        let (status, headers) =
            call(&srv, Method::GET, "/api/v2/feeds/feed_groups", origin, Some(token.as_str()), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_cors(status, &headers, origin);
        let vary: Vec<_> = headers.get_all("vary").iter().map(|v| v.to_str().expect("vary")).collect();
        assert!(vary.iter().any(|v| v.to_ascii_lowercase().contains("origin")), "{vary:?}");
        // Errors too.
        let (status, headers) = call(&srv, Method::GET, "/api/v2/nope", origin, None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_cors(status, &headers, origin);
    }

    let (status, headers) =
        call(&srv, Method::GET, "/api/v2/feeds/feed_groups", "https://evil.example", Some(token.as_str()), None).await;
    assert_eq!(status, StatusCode::OK, "the server still answers; the browser withholds it");
    assert_eq!(header(&headers, "access-control-allow-origin"), None, "{headers:?}");

    let resp = reqwest::Client::new()
        .request(Method::OPTIONS, format!("{}/api/v2/feeds/activities", srv.base))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight");
    assert_eq!(header(resp.headers(), "access-control-allow-origin"), None, "{:?}", resp.headers());

    let resp = reqwest::Client::new()
        .request(Method::OPTIONS, format!("{}/api/v2/feeds/activities", srv.base))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight");
    assert!(resp.status().is_success());
    assert_eq!(header(resp.headers(), "access-control-allow-origin"), Some("https://app.example.com"));
}
