//! Hostile clients. Each case runs against a server of its own, with short
//! connection limits, while a watcher polls `GET /health` every 50 ms and
//! requires a 200 every time: no case may starve other clients.
//!
//! To add a case: write `async fn case_name(target: Target)` below and a
//! `#[tokio::test]` that calls `hostile(limits, case_name)`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tributary::config::ConnectionLimits;

use crate::support::{assert_api_error, assert_error, server_token, Client, TestServer, API_KEY};

/// Limits short enough for quick tests, long enough for a loaded machine.
fn short_limits() -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(2),
        body_read_timeout: Duration::from_secs(2),
        max_connections: 64,
    }
}

/// What a case attacks.
#[derive(Clone)]
struct Target {
    base: String,
    addr: SocketAddr,
}

impl Target {
    fn client(&self) -> Client {
        Client::new(&self.base).with_token(server_token())
    }

    async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.addr).await.expect("connect to the test server")
    }
}

/// Runs `case` against a fresh server while `/health` is watched.
async fn hostile<F, Fut>(limits: ConnectionLimits, case: F)
where
    F: FnOnce(Target) -> Fut,
    Fut: Future<Output = ()>,
{
    let server = TestServer::spawn_with(limits).await;
    let addr = server.base.trim_start_matches("http://").parse().expect("server address");
    let target = Target { base: server.base.clone(), addr };
    let watch = HealthWatch::start(&target).await;
    case(target).await;
    watch.finish().await;
}

/// Polls `/health` every 50 ms on one kept-alive connection.
struct HealthWatch {
    stop: Arc<AtomicBool>,
    task: JoinHandle<(usize, Vec<String>)>,
}

impl HealthWatch {
    async fn start(target: &Target) -> HealthWatch {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().expect("http client");
        let url = format!("{}/health", target.base);
        // The watcher's connection is open before any case starts.
        let first = http.get(&url).send().await.expect("first /health");
        assert_eq!(first.status(), StatusCode::OK);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let (mut polls, mut failures) = (0, Vec::new());
            while !stopped.load(Ordering::SeqCst) {
                polls += 1;
                match http.get(&url).send().await {
                    Ok(resp) if resp.status() == StatusCode::OK => {}
                    Ok(resp) => failures.push(format!("/health answered {}", resp.status())),
                    Err(e) => failures.push(format!("/health failed: {e}")),
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (polls, failures)
        });
        HealthWatch { stop, task }
    }

    async fn finish(self) {
        self.stop.store(true, Ordering::SeqCst);
        let (polls, failures) = self.task.await.expect("health watcher");
        assert!(failures.is_empty(), "/health failed during the case ({polls} polls): {failures:?}");
        assert!(polls > 0, "/health was never polled");
    }
}

/// Reads from `stream` until the peer closes it, at most `within`; returns
/// how long that took (`None`: still open).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    while started.elapsed() < within {
        match tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) | Err(_) => {}
        }
    }
    None
}

/// One HTTP/1.1 response read off a raw socket: status and JSON body.
async fn read_response(stream: &mut TcpStream, within: Duration) -> Option<(StatusCode, Value)> {
    let read = async {
        let mut data = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if data.len() >= end + 4 + length {
                    let status = head.split(' ').nth(1)?.parse::<u16>().ok()?;
                    let body = serde_json::from_slice(&data[end + 4..end + 4 + length]).unwrap_or(Value::Null);
                    return Some((StatusCode::from_u16(status).ok()?, body));
                }
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => data.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(within, read).await.ok().flatten()
}

fn request_head(method: &str, path: &str, content_length: usize) -> String {
    format!(
        "{method} {path}?api_key={API_KEY} HTTP/1.1\r\nHost: tributary\r\nAuthorization: {}\r\n\
         stream-auth-type: jwt\r\nContent-Type: application/json\r\nContent-Length: {content_length}\r\n\r\n",
        server_token()
    )
}

// ---- cases ----

/// Headers sent a byte at a time and never finished.
async fn slowloris(target: Target) {
    let mut stream = target.connect().await;
    stream.write_all(b"GET /health HTTP/1.1\r\nHost: tributary\r\nX-Slow: ").await.expect("write head");
    let started = Instant::now();
    let closed = loop {
        if stream.write_all(b"a").await.is_err() {
            break started.elapsed();
        }
        if let Some(after) = closed_within(&mut stream, Duration::from_millis(100)).await {
            break started.elapsed().max(after);
        }
        assert!(started.elapsed() < Duration::from_secs(5), "a never-finished header kept its connection open");
    };
    assert!(closed >= Duration::from_millis(1500), "closed after {closed:?}, before the header timeout");
}

/// A kept-alive connection that sends nothing after its first request.
async fn idle_keep_alive(target: Target) {
    let mut stream = target.connect().await;
    stream.write_all(b"GET /health HTTP/1.1\r\nHost: tributary\r\n\r\n").await.expect("write request");
    let (status, _) = read_response(&mut stream, Duration::from_secs(2)).await.expect("a response");
    assert_eq!(status, StatusCode::OK);
    let closed = closed_within(&mut stream, Duration::from_secs(5)).await;
    let closed = closed.expect("an idle keep-alive connection stayed open");
    assert!(closed >= Duration::from_millis(300), "closed after {closed:?}, before the idle timeout");
}

/// More connections than the limit: the extra one waits until others go.
async fn too_many_connections(target: Target) {
    // The watcher holds one of the 4 slots; these take the other 3.
    let mut hogs = Vec::new();
    for _ in 0..3 {
        hogs.push(target.connect().await);
    }
    let mut extra = target.connect().await;
    extra.write_all(b"GET /health HTTP/1.1\r\nHost: tributary\r\n\r\n").await.expect("write request");
    assert!(
        read_response(&mut extra, Duration::from_millis(500)).await.is_none(),
        "a connection beyond the limit was served"
    );
    drop(hogs);
    let (status, _) = read_response(&mut extra, Duration::from_secs(3)).await.expect("served once a slot freed");
    assert_eq!(status, StatusCode::OK);
}

/// A body shorter than its Content-Length, never completed.
async fn stalled_body(target: Target) {
    let mut stream = target.connect().await;
    let head = request_head("POST", "/api/v2/feeds/activities", 100);
    stream.write_all(head.as_bytes()).await.expect("write head");
    stream.write_all(br#"{"type": "#).await.expect("write part of the body");
    let (status, body) = read_response(&mut stream, Duration::from_secs(5)).await.expect("an answer, not a hang");
    assert_api_error(&body, StatusCode::REQUEST_TIMEOUT, 23);
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
}

/// 10 MB in one body: refused once the limit is passed.
async fn ten_megabyte_body(target: Target) {
    let mut stream = target.connect().await;
    let size = 10 * 1024 * 1024;
    stream.write_all(request_head("POST", "/api/v2/feeds/activities", size).as_bytes()).await.expect("write head");
    let (mut reader, mut writer) = stream.into_split();
    let sender = tokio::spawn(async move {
        let chunk = vec![b' '; 64 * 1024];
        for _ in 0..size / chunk.len() {
            if writer.write_all(&chunk).await.is_err() {
                break;
            }
        }
    });
    let mut data = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), reader.read_to_end(&mut data)).await;
    sender.abort();
    let text = String::from_utf8_lossy(&data);
    assert!(text.starts_with("HTTP/1.1 413"), "expected a 413, got {text:?}");
    let body: Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap_or("")).expect("JSON error body");
    assert_api_error(&body, StatusCode::PAYLOAD_TOO_LARGE, 22);
}

async fn truncated_json(target: Target) {
    let resp = target.client().post_raw("/api/v2/feeds/activities", r#"{"type": "post", "feeds": ["#).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
}

/// Control characters in path segments and query values, on several routes.
async fn control_characters(target: Target) {
    let client = target.client();
    for path in [
        "/api/v2/feeds/activities/a%00b",
        "/api/v2/feeds/activities/a%01b",
        "/api/v2/feeds/activities/a%7Fb",
        "/api/v2/feeds/comments/c%00",
        "/api/v2/feeds/feed_groups/g%0A",
        "/api/v2/feeds/feed_groups/user/feeds/a%00b/counts",
        "/api/v2/feeds/activities/a/shares?user_id=u%00",
        "/api/v2/feeds/comments?object_id=a%1Fb&object_type=activity",
        "/api/v2/users?payload=%7B%7D%00",
        "/api/v2/feeds/collections?collection_refs=food%3Aa%00",
    ] {
        let resp = client.get(path).await;
        assert_error(&resp, StatusCode::BAD_REQUEST, 4);
        assert!(resp.1["message"].as_str().is_some_and(|m| m.contains("control character")), "{path}: {}", resp.1);
    }
    let resp = client.delete("/api/v2/feeds/follows/user%3Aa%00/user%3Ab").await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    let resp = client.post("/api/v2/feeds/feed_groups/user/feeds/a%00", &json!({ "user_id": "u" })).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    // Decoding a comma list's elements again must not bring NUL back.
    let (status, body) = client.get("/api/v2/feeds/collections?collection_refs=food%3Aa%2500").await;
    assert!(status != StatusCode::INTERNAL_SERVER_ERROR, "double-encoded NUL: {body}");
}

/// A valid token without `stream-auth-type`.
async fn missing_auth_type(target: Target) {
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v2/feeds/feed_groups?api_key={API_KEY}", target.base))
        .header("Authorization", server_token())
        .send()
        .await
        .expect("request");
    let status = resp.status();
    let body: Value = resp.json().await.expect("JSON body");
    assert_error(&(status, body), StatusCode::UNAUTHORIZED, 5);
}

/// A user deep-patching its own activity, comment and profile (10,000- and
/// 130-segment `set` paths, a 10,000-deep body): each a 400, and every
/// record it touched still reads.
async fn deep_paths_and_bodies(target: Target) {
    let server = target.client();
    server.create_users(&["mallory", "victim"]).await;
    server.follow("timeline:victim", "user:mallory", json!({})).await;
    let activity = server.add_activity("mallory", &["user:mallory"], json!({ "text": "hi" })).await;
    let id = activity["id"].as_str().expect("activity id").to_string();
    let user = Client::new(&target.base).with_token(crate::support::user_token("mallory"));
    let (status, comment) = user
        .post("/api/v2/feeds/comments", &json!({ "object_id": id, "object_type": "activity", "comment": "c" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{comment}");
    let comment_id = comment["comment"]["id"].as_str().expect("comment id").to_string();
    for segments in [10_000, 130] {
        let path = format!("custom{}", ".a".repeat(segments));
        let set = json!({ "set": { path.clone(): 1 } });
        let resp = user.patch(&format!("/api/v2/feeds/activities/{id}"), &set).await;
        assert_error(&resp, StatusCode::BAD_REQUEST, 4);
        let resp = user.post(&format!("/api/v2/feeds/comments/{comment_id}/partial"), &set).await;
        assert_error(&resp, StatusCode::BAD_REQUEST, 4);
        let resp = user.patch("/api/v2/users", &json!({ "users": [{ "id": "mallory", "set": { path: 1 } }] })).await;
        assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let resp = user.post_raw("/api/v2/feeds/activities", format!(r#"{{"type":"post","custom":{{"a":{deep}}}}}"#)).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    let (status, body) = server.get(&format!("/api/v2/feeds/activities/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(server.feed_ids("timeline:victim", "victim").await, vec![id.clone()]);
    let (status, body) = server.get(&format!("/api/v2/feeds/comments/{comment_id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Cursors cut, altered, forged or carried to another endpoint.
async fn forged_cursors(target: Target) {
    let server = target.client();
    server.create_users(&["ann"]).await;
    for n in 0..3 {
        server.add_activity("ann", &["user:ann"], json!({ "text": format!("post {n}") })).await;
    }
    let page = server.read_feed("user:ann", "ann", json!({ "limit": 1 })).await;
    let next = page["next"].as_str().expect("a next cursor").to_string();
    let mut flipped = next.clone().into_bytes();
    flipped[next.len() / 2] = if flipped[next.len() / 2] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).expect("ascii");
    let forged = base64_url(b"f1|0|anything");
    for cursor in [&next[..next.len() / 2], flipped.as_str(), forged.as_str(), "%%%", &"A".repeat(100_000)] {
        let (status, body) = server
            .post("/api/v2/feeds/feed_groups/user/feeds/ann", &json!({ "user_id": "ann", "limit": 1, "next": cursor }))
            .await;
        assert_error(&(status, body), StatusCode::BAD_REQUEST, 4);
    }
    let resp = server.post("/api/v2/feeds/activities/query", &json!({ "limit": 1, "next": next })).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    let resp = server.post("/api/v2/feeds/follows/query", &json!({ "limit": 1, "next": next })).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 4);
    let (status, body) = server
        .post("/api/v2/feeds/feed_groups/user/feeds/ann", &json!({ "user_id": "ann", "limit": 1, "next": next }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "the genuine cursor still pages: {body}");
}

fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    bytes
        .chunks(3)
        .flat_map(|chunk| {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            (0..=chunk.len()).map(move |i| ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char)
        })
        .collect()
}

// ---- tests ----

#[tokio::test]
async fn slowloris_headers_are_cut_off_after_the_header_timeout() {
    hostile(short_limits(), slowloris).await;
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed_after_the_idle_timeout() {
    let limits = ConnectionLimits { idle_timeout: Duration::from_millis(500), ..short_limits() };
    hostile(limits, idle_keep_alive).await;
}

#[tokio::test]
async fn the_header_timeout_also_bounds_keep_alive_waits() {
    let limits = ConnectionLimits {
        header_read_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_secs(60),
        ..short_limits()
    };
    hostile(limits, idle_keep_alive).await;
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_until_others_close() {
    hostile(ConnectionLimits { max_connections: 4, ..short_limits() }, too_many_connections).await;
}

#[tokio::test]
async fn a_stalled_body_is_answered_408_code_23() {
    let limits = ConnectionLimits { body_read_timeout: Duration::from_millis(700), ..short_limits() };
    hostile(limits, stalled_body).await;
}

#[tokio::test]
async fn a_ten_megabyte_body_is_413_code_22() {
    hostile(short_limits(), ten_megabyte_body).await;
}

#[tokio::test]
async fn truncated_json_is_400() {
    hostile(short_limits(), truncated_json).await;
}

#[tokio::test]
async fn control_characters_in_path_or_query_are_400() {
    hostile(short_limits(), control_characters).await;
}

#[tokio::test]
async fn a_missing_auth_type_is_401_code_5() {
    hostile(short_limits(), missing_auth_type).await;
}

#[tokio::test]
async fn deep_paths_and_bodies_are_400_and_records_stay_readable() {
    hostile(short_limits(), deep_paths_and_bodies).await;
}

#[tokio::test]
async fn forged_and_cross_endpoint_cursors_are_400() {
    hostile(short_limits(), forged_cursors).await;
}
