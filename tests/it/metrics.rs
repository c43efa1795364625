//! `GET /metrics`: Prometheus text with per-operation request counters and
//! latencies, fan-out sizes, and the gauges read at scrape time; optionally
//! behind a bearer token.

use reqwest::StatusCode;
use serde_json::json;
use tributary::config::{MetricsOptions, RateLimitOptions};

use crate::support::{postgres_mode, TestServer};

const TOKEN: &str = "metrics-secret";

async fn scrape(server: &TestServer, token: Option<&str>) -> (StatusCode, String) {
    let mut req = reqwest::Client::new().get(format!("{}/metrics", server.base));
    if let Some(token) = token {
        req = req.header("Authorization", format!("Bearer {token}"));
    }
    let resp = req.send().await.expect("scrape");
    let status = resp.status();
    if status == StatusCode::OK {
        let kind = resp.headers()["content-type"].to_str().expect("ascii").to_string();
        assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    }
    (status, resp.text().await.expect("text"))
}

/// The value of the sample line that starts with `series` (name and
/// labels, exactly), or 0 when there is none.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |v| v.parse().unwrap_or_else(|_| panic!("{series}: not a number: {v}")))
}

#[tokio::test]
async fn a_scrape_after_traffic_finds_the_per_operation_counters() {
    let metrics = MetricsOptions { metrics_token: Some(TOKEN.into()) };
    let server = TestServer::spawn_operated(RateLimitOptions::default(), metrics).await;

    let (status, body) = scrape(&server, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = scrape(&server, Some("wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, before) = scrape(&server, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);

    // Metrics are the process's: other tests add to the same series, so
    // each is checked to have grown by at least this test's traffic.
    let client = server.server();
    client.create_users(&["mia", "noah"]).await;
    client.follow("timeline:noah", "user:mia", json!({})).await;
    client.add_activity("mia", &["user:mia"], json!({})).await;
    client.add_activity("mia", &["user:mia"], json!({})).await;
    let (status, _) = client.get("/api/v2/feeds/activities/missing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, after) = scrape(&server, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    let grew = |series: &str| value(&after, series) - value(&before, series);
    let add = "tributary_http_requests_total{operation=\"AddActivity\",status=\"201\"}";
    assert!(grew(add) >= 2.0, "{add} grew by {}:\n{after}", grew(add));
    let missing = "tributary_http_requests_total{operation=\"GetActivity\",status=\"404\"}";
    assert!(grew(missing) >= 1.0, "{missing}:\n{after}");
    let latency = "tributary_http_request_duration_seconds_count{operation=\"AddActivity\",status=\"201\"}";
    assert!(grew(latency) >= 2.0, "{latency}:\n{after}");
    let le_inf = "tributary_http_request_duration_seconds_bucket{operation=\"AddActivity\",status=\"201\",le=\"+Inf\"}";
    assert_eq!(value(&after, le_inf), value(&after, latency), "+Inf bucket holds every observation");
    // Each add copied into noah's timeline inline; the follow backfilled.
    assert!(grew("tributary_fanout_entries_count{mode=\"inline\"}") >= 2.0, "{after}");
    assert!(grew("tributary_fanout_entries_sum{mode=\"inline\"}") >= 2.0, "{after}");
    assert!(grew("tributary_fanout_duration_seconds_count{mode=\"backfill\"}") >= 1.0, "{after}");

    for gauge in [
        "# TYPE tributary_websocket_connections gauge",
        "# TYPE tributary_fanout_jobs gauge",
        "# TYPE tributary_tasks_waiting gauge",
        "# TYPE tributary_webhook_backlog_events gauge",
        "# TYPE tributary_rate_limit_user_buckets gauge",
    ] {
        assert!(after.contains(gauge), "{gauge}:\n{after}");
    }
    assert_eq!(value(&after, "tributary_websocket_connections"), 0.0);
    assert_eq!(value(&after, "tributary_fanout_jobs"), 0.0);
    if postgres_mode() {
        assert!(value(&after, "tributary_db_connections{state=\"max\"}") >= 1.0, "{after}");
    }
}

#[tokio::test]
async fn without_a_token_metrics_are_open() {
    let server = TestServer::spawn().await;
    let (status, text) = scrape(&server, None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("# TYPE tributary_http_requests_total counter"), "{text}");
}
