//! Rate limits (`--rate-limits`): Stream's headers on every limited
//! response, 429 with code 9 and `Retry-After` past the limit, recovery as
//! the bucket refills, per-user buckets, and GetFeedsRateLimits.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tributary::config::{MetricsOptions, RateLimitOptions};
use tributary::core::rate_limits::RateLimitRules;

use crate::support::{assert_api_error, now_secs, server_token, user_token, TestServer, API_KEY};

async fn server_with(rules: &str) -> TestServer {
    let rate_limits =
        RateLimitOptions { rate_limits: RateLimitRules::parse(rules).expect("rules"), ..RateLimitOptions::default() };
    TestServer::spawn_operated(rate_limits, MetricsOptions::default()).await
}

/// One request with its headers: `(status, headers, body)`.
async fn call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: &str,
    client: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, HeaderMap, Value) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let url = format!("{}{path}{sep}api_key={API_KEY}", server.base);
    let mut req =
        reqwest::Client::new().request(method, url).header("stream-auth-type", "jwt").header("Authorization", token);
    if let Some(client) = client {
        req = req.header("X-Stream-Client", client);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("request");
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body: Value = resp.json().await.expect("json body");
    (status, headers, body)
}

async fn get_app(server: &TestServer, token: &str) -> (StatusCode, HeaderMap, Value) {
    call(server, reqwest::Method::GET, "/api/v2/app", token, None, None).await
}

fn header(headers: &HeaderMap, name: &str) -> Option<i64> {
    headers.get(name).map(|v| v.to_str().expect("ascii").parse().expect("integer header"))
}

/// `(limit, remaining, reset)` from the `X-RateLimit-*` headers.
#[track_caller]
fn limit_headers(headers: &HeaderMap) -> (i64, i64, i64) {
    let get = |name| header(headers, name).unwrap_or_else(|| panic!("no {name} in {headers:?}"));
    (get("x-ratelimit-limit"), get("x-ratelimit-remaining"), get("x-ratelimit-reset"))
}

#[tokio::test]
async fn a_limit_is_hit_with_a_429_and_recovers_as_the_bucket_refills() {
    // 3 per 3 s: a burst of 3, then one more each second.
    let server = server_with("app:*=off,user:*=off,app:GetApp=3/3s").await;
    let token = server_token();
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let (status, headers, body) = get_app(&server, &token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (limit, left, reset) = limit_headers(&headers);
        assert_eq!(limit, 3);
        assert!((now_secs()..=now_secs() + 4).contains(&reset), "reset {reset} is unix seconds within the period");
        remaining.push(left);
    }
    assert_eq!(remaining, [2, 1, 0]);

    let (status, headers, body) = get_app(&server, &token).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_api_error(&body, status, 9);
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("GetApp failed with error:") && message.contains("3 per 3 s"), "{body}");
    assert_eq!(body["unrecoverable"], json!(false), "SDKs may retry a 429: {body}");
    assert_eq!(limit_headers(&headers).0, 3);
    assert_eq!(limit_headers(&headers).1, 0);
    assert_eq!(header(&headers, "retry-after"), Some(1), "{headers:?}");

    // Other operations are not limited, and carry no headers.
    let (status, headers, _) =
        call(&server, reqwest::Method::GET, "/api/v2/feeds/feed_groups", &token, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get("x-ratelimit-limit").is_none(), "{headers:?}");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, headers, body) = get_app(&server, &token).await;
    assert_eq!(status, StatusCode::OK, "one request is admitted again after a second: {body}");
    assert_eq!(limit_headers(&headers).1, 0);
}

#[tokio::test]
async fn each_user_has_a_bucket_and_server_side_calls_have_none() {
    let server = server_with("app:*=off,user:*=off,user:GetApp=2/m").await;
    for _ in 0..2 {
        let (status, _, body) = get_app(&server, &user_token("alice")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, headers, body) = get_app(&server, &user_token("alice")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_api_error(&body, status, 9);
    assert!(header(&headers, "retry-after").is_some_and(|s| (1..=30).contains(&s)), "{headers:?}");

    // Another platform is another bucket, as on Stream.
    let (status, _, body) = call(
        &server,
        reqwest::Method::GET,
        "/api/v2/app",
        &user_token("alice"),
        Some("stream-feeds-android-1.0.0"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, headers, _) = get_app(&server, &user_token("bob")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(limit_headers(&headers).1, 1);

    let (status, headers, _) = get_app(&server, &server_token()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get("x-ratelimit-limit").is_none(), "no user limit server-side: {headers:?}");

    // Requests that fail authentication are not counted (nor limited).
    let (status, headers, _) = get_app(&server, "not-a-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.get("x-ratelimit-limit").is_none());
}

#[tokio::test]
async fn the_defaults_are_generous_and_every_response_carries_the_headers() {
    let server = TestServer::spawn().await;
    let token = server_token();
    let (status, headers, _) = get_app(&server, &token).await;
    assert_eq!(status, StatusCode::OK);
    let (limit, remaining, _) = limit_headers(&headers);
    assert_eq!((limit, remaining), (600_000, 599_999));
    // Errors too.
    let (status, headers, body) =
        call(&server, reqwest::Method::GET, "/api/v2/feeds/activities/nope", &token, None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(limit_headers(&headers).0, 600_000);
    // A user token gets the tighter of its user bucket and the app's.
    let (_, headers, _) = get_app(&server, &user_token("carol")).await;
    assert_eq!(limit_headers(&headers), (60_000, 59_999, limit_headers(&headers).2));
}

async fn rate_limits(server: &TestServer, token: &str, query: &str) -> (StatusCode, Value) {
    let (status, _, body) =
        call(server, reqwest::Method::GET, &format!("/api/v2/feeds/feeds/rate_limits{query}"), token, None, None).await;
    (status, body)
}

#[tokio::test]
async fn get_feeds_rate_limits_reports_limits_and_use_filtered_by_endpoint_and_platform() {
    let server = server_with("app:AddActivity+UpdateActivity=100/m,app:GetApp=off").await;
    let client = server.server();
    client.create_users(&["dana"]).await;
    client.add_activity("dana", &["user:dana"], json!({})).await;

    let (status, body) =
        rate_limits(&server, &server_token(), "?server_side=true&endpoints=AddActivity,UpdateActivity,GetApp,Nope")
            .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["duration"].is_string());
    let platforms: Vec<&String> = body.as_object().expect("object").keys().filter(|k| *k != "duration").collect();
    assert_eq!(platforms, ["server_side"], "{body}");
    let server_side = body["server_side"].as_object().expect("map");
    // GetApp is unlimited and Nope is no operation: both absent.
    assert_eq!(server_side.keys().collect::<Vec<_>>(), ["AddActivity", "UpdateActivity"], "{body}");
    for op in ["AddActivity", "UpdateActivity"] {
        // The group shares one bucket, used once by the add.
        assert_eq!(body["server_side"][op]["limit"], json!(100), "{body}");
        assert_eq!(body["server_side"][op]["remaining"], json!(99), "{body}");
        let reset = body["server_side"][op]["reset"].as_i64().expect("reset");
        assert!((now_secs()..=now_secs() + 2).contains(&reset), "{body}");
    }

    // Platform flags pick the maps; none picks all five.
    let (_, body) = rate_limits(&server, &server_token(), "?web=true&ios=true&android=false").await;
    let mut keys: Vec<&String> = body.as_object().expect("object").keys().collect();
    keys.sort();
    assert_eq!(keys, ["duration", "ios", "web"], "{body}");
    assert_eq!(body["web"]["AddActivity"]["remaining"], json!(100), "web requests have a bucket of their own");
    assert_eq!(body["web"]["QueryActivities"]["limit"], json!(600_000), "the default covers the rest: {body}");
    let (_, body) = rate_limits(&server, &server_token(), "").await;
    let mut keys: Vec<&String> = body.as_object().expect("object").keys().collect();
    keys.sort();
    assert_eq!(keys, ["android", "duration", "ios", "server_side", "unity", "web"], "{body}");

    // Server-side only; a filter is bounded.
    let (status, body) = rate_limits(&server, &user_token("dana"), "").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_api_error(&body, status, 17);
    let many = vec!["AddActivity"; 201].join(",");
    let (status, body) = rate_limits(&server, &server_token(), &format!("?endpoints={many}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["exception_fields"]["endpoints"].is_string(), "{body}");

    // The common GetRateLimits answers the same.
    let (status, _, body) = call(
        &server,
        reqwest::Method::GET,
        "/api/v2/rate_limits?server_side=true&endpoints=AddActivity",
        &server_token(),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["server_side"]["AddActivity"]["limit"], json!(100), "{body}");
}

#[tokio::test]
async fn off_lifts_every_limit_and_the_headers() {
    let server = server_with("off").await;
    let (status, headers, _) = get_app(&server, &server_token()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get("x-ratelimit-limit").is_none(), "{headers:?}");
    let (status, body) = rate_limits(&server, &server_token(), "?server_side=true").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["server_side"], json!({}), "{body}");
}

#[derive(clap::Parser)]
struct ServeArgs {
    #[command(flatten)]
    serve: tributary::config::ServeConfig,
}

#[tokio::test]
async fn a_bad_rule_stops_the_start_naming_it() {
    use clap::Parser;
    let dir = tempfile::tempdir().expect("tempdir");
    let args = |rules: &str| {
        let data_dir = dir.path().display().to_string();
        ServeArgs::try_parse_from(["tributary", "--data-dir", &data_dir, "--rate-limits", rules]).map(|a| a.serve)
    };
    let syntax = args("app:*=0/m").expect_err("a count of 0 is refused").to_string();
    assert!(syntax.contains("--rate-limits") && syntax.contains("count"), "{syntax}");

    let config = args("app:NoSuchOperation=1/m").expect("parses");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let stop = tributary::shutdown::Shutdown::default();
    let started = tributary::serve(config, listener, stop, |_, _| panic!("must not start")).await;
    let error = started.expect_err("the start fails").to_string();
    assert!(error.contains("--rate-limits") && error.contains("NoSuchOperation"), "{error}");
}
