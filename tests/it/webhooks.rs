//! Webhook delivery to a local receiver: signed envelopes, one request per
//! origin feed, gzip, in-order retries with stable ids, event-type filters,
//! the retry window, removed targets, and nothing lost across a SIGKILL or
//! between two instances over one PostgreSQL database.

use std::io::Read;
use std::net::TcpListener as StdListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus, Uri};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;
use tributary::config::WebhookOptions;
use tributary::core::storage::Store;

use crate::support::{postgres_mode, server_token, Client, TestDatabase, TestServer, API_KEY, API_SECRET};

const APP: &str = "/api/v2/app";

/// Short retries and leases, so the tests run in seconds.
fn fast() -> WebhookOptions {
    WebhookOptions { webhook_first_retry_ms: 50, webhook_lease_secs: 2, ..WebhookOptions::default() }
}

// ---- the receiver ----

/// What the receiver answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Status(u16),
    /// Held past the sender's timeout (answered 200 much later).
    Hung,
}

/// One request as received.
#[derive(Debug, Clone)]
struct Hit {
    path: String,
    id: String,
    attempt: u32,
    signature: String,
    api_key: String,
    content_type: String,
    gzip: bool,
    raw: Vec<u8>,
    /// The body after gunzip.
    body: Vec<u8>,
    json: Value,
    answer: Answer,
}

impl Hit {
    fn delivered(&self) -> bool {
        matches!(self.answer, Answer::Status(s) if (200..300).contains(&s))
    }

    fn kind(&self) -> &str {
        self.json["type"].as_str().unwrap_or_default()
    }

    fn activity_id(&self) -> &str {
        self.json["activity"]["id"].as_str().unwrap_or_default()
    }
}

type Policy = Arc<dyn Fn(&Hit, usize) -> Answer + Send + Sync>;

#[derive(Clone)]
struct ReceiverState {
    hits: Arc<Mutex<Vec<Hit>>>,
    policy: Policy,
}

struct Receiver {
    base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn always_ok() -> Policy {
    Arc::new(|_, _| Answer::Status(200))
}

impl Receiver {
    async fn start(policy: Policy) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
        Receiver::serve(listener, policy)
    }

    fn serve(listener: tokio::net::TcpListener, policy: Policy) -> Receiver {
        let base = format!("http://{}", listener.local_addr().expect("receiver addr"));
        let hits = Arc::new(Mutex::new(Vec::new()));
        let state = ReceiverState { hits: hits.clone(), policy };
        let app = axum::Router::new().fallback(receive).with_state(state);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { base, hits, task }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().expect("hits").clone()
    }

    /// The requests to `path` that were answered 2xx, in arrival order.
    fn delivered(&self, path: &str) -> Vec<Hit> {
        self.hits().into_iter().filter(|h| h.path == path && h.delivered()).collect()
    }

    async fn wait_for(&self, what: &str, done: impl Fn(&[Hit]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if done(&self.hits()) {
                return;
            }
            assert!(Instant::now() < deadline, "receiver: no {what} within 30 s; got {:#?}", summary(&self.hits()));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn receive(State(state): State<ReceiverState>, uri: Uri, headers: HeaderMap, raw: Bytes) -> AxumStatus {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let gzip = header("content-encoding") == "gzip";
    let body = if gzip {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut out).expect("a gzip body");
        out
    } else {
        raw.to_vec()
    };
    let mut hit = Hit {
        path: uri.path().to_string(),
        id: header("x-webhook-id"),
        attempt: header("x-webhook-attempt").parse().unwrap_or(0),
        signature: header("x-signature"),
        api_key: header("x-api-key"),
        content_type: header("content-type"),
        gzip,
        raw: raw.to_vec(),
        json: serde_json::from_slice(&body).unwrap_or(Value::Null),
        body,
        answer: Answer::Status(0),
    };
    let answer = {
        let mut hits = state.hits.lock().expect("hits");
        hit.answer = (state.policy)(&hit, hits.len());
        hits.push(hit);
        hits.last().expect("pushed").answer
    };
    match answer {
        Answer::Status(s) => AxumStatus::from_u16(s).expect("status"),
        Answer::Hung => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            AxumStatus::OK
        }
    }
}

fn summary(hits: &[Hit]) -> Vec<String> {
    hits.iter()
        .map(|h| format!("{} {} {} #{} {:?} {}", h.path, h.kind(), h.activity_id(), h.attempt, h.answer, h.id))
        .collect()
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(body);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

// ---- the server side ----

async fn configure(api: &Client, settings: Value) {
    let (status, body) = api.patch(APP, &settings).await;
    assert_eq!(status, StatusCode::OK, "{settings} → {body}");
}

fn hook(id: &str, url: &str, event_types: &[&str]) -> Value {
    json!({ "id": id, "hook_type": "webhook", "enabled": true, "webhook_url": url, "event_types": event_types })
}

/// Waits until the deliverer has stored a start position for target `id`:
/// events written from then on reach it.
async fn wait_armed(store: &dyn Store, id: &str) {
    let consumer = format!("webhook:{id}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.consumer_position(&consumer).await.expect("consumer position").is_none() {
        assert!(Instant::now() < deadline, "webhook target {id} not started within 30 s");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn wait_forgotten(store: &dyn Store, id: &str) {
    let consumer = format!("webhook:{id}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.consumer_position(&consumer).await.expect("consumer position").is_some() {
        assert!(Instant::now() < deadline, "webhook target {id} not forgotten within 30 s");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn post(api: &Client, id: &str, feeds: &[&str]) {
    let body = json!({ "id": id, "type": "post", "feeds": feeds, "user_id": "alice", "text": id });
    let (status, resp) = api.post("/api/v2/feeds/activities", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{resp}");
}

/// Upserting an existing activity announces `feeds.activity.updated`.
async fn repost(api: &Client, id: &str) {
    let body = json!({ "activities": [{ "id": id, "type": "post", "feeds": ["user:alice"], "user_id": "alice",
                                         "text": format!("{id} again") }] });
    let (status, resp) = api.post("/api/v2/feeds/activities/batch", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{resp}");
}

#[track_caller]
fn assert_signed_envelope(hit: &Hit) {
    assert_eq!(hit.content_type, "application/json", "{hit:?}");
    assert_eq!(hit.api_key, API_KEY);
    assert_eq!(hit.signature, hmac_hex(API_SECRET, &hit.body), "X-Signature is the HMAC of the uncompressed body");
    assert!(uuid::Uuid::parse_str(&hit.id).is_ok(), "X-Webhook-Id is a UUID: {:?}", hit.id);
    assert!(hit.attempt >= 1, "X-Webhook-Attempt: {hit:?}");
    assert!(hit.json["created_at"].is_i64(), "{}", hit.json);
    assert_eq!(hit.json["custom"], json!({}));
}

#[tokio::test(flavor = "multi_thread")]
async fn events_arrive_signed_once_per_origin_feed_and_gzipped_when_asked() {
    let server = TestServer::spawn_with_webhooks(fast()).await;
    let store = server.open_store().await;
    let api = server.server();
    api.create_users(&["alice", "bob"]).await;
    let receiver = Receiver::start(always_ok()).await;
    configure(&api, json!({ "event_hooks": [hook("main", &receiver.url("/main"), &[])] })).await;
    wait_armed(store.as_ref(), "main").await;

    let (status, body) =
        api.post("/api/v2/feeds/follows", &json!({ "source": "timeline:bob", "target": "user:alice" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    post(&api, "a1", &["user:alice", "timeline:alice"]).await;
    let added = |hits: &[Hit]| hits.iter().filter(|h| h.kind() == "feeds.activity.added").count();
    receiver.wait_for("two feeds.activity.added", |hits| added(hits) >= 2).await;

    let hits: Vec<Hit> =
        receiver.delivered("/main").into_iter().filter(|h| h.kind() == "feeds.activity.added").collect();
    let fids: Vec<&str> = hits.iter().map(|h| h.json["fid"].as_str().unwrap_or_default()).collect();
    assert_eq!(fids, ["user:alice", "timeline:alice"], "one delivery per origin feed, none for followers");
    for hit in &hits {
        assert_signed_envelope(hit);
        assert!(!hit.gzip);
        assert_eq!(hit.attempt, 1);
        assert_eq!(hit.json["activity"]["id"], "a1");
        assert_eq!(hit.json["activity"]["text"], "a1");
        assert_eq!(hit.json["user"]["id"], "alice");
    }
    assert_ne!(hits[0].id, hits[1].id, "X-Webhook-Id differs per feed");

    // Compression: the body is gzip, the signature is over the JSON inside.
    configure(&api, json!({ "enable_hook_payload_compression": true })).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut n = 0;
    while !receiver.hits().iter().any(|h| h.gzip && h.kind() == "feeds.activity.added") {
        assert!(Instant::now() < deadline, "no gzip body within 30 s: {:#?}", summary(&receiver.hits()));
        post(&api, &format!("g{n}"), &["user:alice"]).await;
        n += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let zipped = receiver.hits().into_iter().find(|h| h.gzip && h.kind() == "feeds.activity.added").expect("gzip");
    assert_eq!(&zipped.raw[..2], b"\x1f\x8b");
    assert_signed_envelope(&zipped);
    assert_ne!(zipped.signature, hmac_hex(API_SECRET, &zipped.raw));
    assert_eq!(zipped.kind(), "feeds.activity.added");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_receiver_gets_every_event_in_order_once_it_recovers() {
    let server = TestServer::spawn_with_webhooks(fast()).await;
    let store = server.open_store().await;
    let api = server.server();
    api.create_users(&["alice", "bob"]).await;
    // A timeout, two 500s, then 200 for everything.
    let receiver = Receiver::start(Arc::new(|_, n| match n {
        0 => Answer::Hung,
        1 | 2 => Answer::Status(500),
        _ => Answer::Status(200),
    }))
    .await;
    let mut flaky = hook("flaky", &receiver.url("/flaky"), &["feeds.activity.added"]);
    flaky["timeout_ms"] = json!(200);
    configure(&api, json!({ "event_hooks": [flaky] })).await;
    wait_armed(store.as_ref(), "flaky").await;

    let ids: Vec<String> = (0..5).map(|i| format!("r{i}")).collect();
    for id in &ids {
        post(&api, id, &["user:alice"]).await;
    }
    receiver.wait_for("five deliveries", |hits| hits.iter().filter(|h| h.delivered()).count() >= 5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let hits = receiver.hits();
    assert_eq!(hits.len(), 8, "3 failed attempts + 5 deliveries: {:#?}", summary(&hits));
    let first = &hits[0];
    for (i, hit) in hits[..4].iter().enumerate() {
        assert_eq!(hit.activity_id(), "r0", "head of line: {:#?}", summary(&hits));
        assert_eq!(hit.id, first.id, "the same X-Webhook-Id on every retry");
        assert_eq!(hit.attempt, i as u32 + 1, "X-Webhook-Attempt counts");
        assert_eq!(hit.body, first.body, "the same body on every retry");
        assert_signed_envelope(hit);
    }
    let delivered = receiver.delivered("/flaky");
    let order: Vec<&str> = delivered.iter().map(Hit::activity_id).collect();
    assert_eq!(order, ids, "every event, in order, once");
    let mut distinct: Vec<&str> = delivered.iter().map(|h| h.id.as_str()).collect();
    distinct.dedup();
    assert_eq!(distinct.len(), 5);
    assert!(delivered[1..].iter().all(|h| h.attempt == 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn targets_get_only_the_event_types_they_ask_for() {
    let server = TestServer::spawn_with_webhooks(fast()).await;
    let store = server.open_store().await;
    let api = server.server();
    api.create_users(&["alice", "bob"]).await;
    let receiver = Receiver::start(always_ok()).await;
    configure(
        &api,
        json!({
            "webhook_url": receiver.url("/legacy"),
            "webhook_events": [],
            "event_hooks": [
                hook("added", &receiver.url("/added"), &["feeds.activity.added"]),
                hook("updated", &receiver.url("/updated"), &["feeds.activity.updated"]),
                { "id": "off", "enabled": false, "webhook_url": receiver.url("/off") },
                hook("elsewhere", &receiver.url("/elsewhere").replace("127.0.0.1", "127.0.0.2"), &[]),
            ],
        }),
    )
    .await;
    for id in ["added", "updated", "webhook_url"] {
        wait_armed(store.as_ref(), id).await;
    }

    for id in ["f1", "f2"] {
        post(&api, id, &["user:alice"]).await;
        repost(&api, id).await;
    }
    receiver
        .wait_for("every expected delivery", |hits| {
            let n =
                |path: &str| hits.iter().filter(|h| h.path == path && h.kind().starts_with("feeds.activity.")).count();
            n("/added") >= 2 && n("/updated") >= 2 && n("/legacy") >= 4
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let seen = |path: &str| -> Vec<String> {
        receiver.delivered(path).iter().map(|h| format!("{} {}", h.kind(), h.activity_id())).collect()
    };
    assert_eq!(seen("/added"), ["feeds.activity.added f1", "feeds.activity.added f2"]);
    assert_eq!(seen("/updated"), ["feeds.activity.updated f1", "feeds.activity.updated f2"]);
    // Other writes (users, feeds) may announce events of their own: compare the activity ones.
    let legacy: Vec<String> = seen("/legacy").into_iter().filter(|e| e.starts_with("feeds.activity.")).collect();
    let every = [
        "feeds.activity.added f1",
        "feeds.activity.updated f1",
        "feeds.activity.added f2",
        "feeds.activity.updated f2",
    ];
    assert_eq!(legacy, every, "webhook_events [] means every type");
    assert!(seen("/off").is_empty(), "a disabled hook gets nothing");
    let elsewhere = store.consumer_position("webhook:elsewhere").await.expect("position");
    assert_eq!(elsewhere, None, "a host outside --webhook-hosts gets no worker");
    assert!(receiver.hits().iter().all(Hit::delivered), "no retries");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_failing_past_the_retry_window_is_skipped() {
    let options = WebhookOptions { webhook_retry_window_secs: 1, ..fast() };
    let server = TestServer::spawn_with_webhooks(options).await;
    let store = server.open_store().await;
    let api = server.server();
    api.create_users(&["alice", "bob"]).await;
    let receiver =
        Receiver::start(Arc::new(|hit: &Hit, _| Answer::Status(if hit.activity_id() == "poison" { 500 } else { 200 })))
            .await;
    configure(&api, json!({ "event_hooks": [hook("w", &receiver.url("/w"), &["feeds.activity.added"])] })).await;
    wait_armed(store.as_ref(), "w").await;

    let started = Instant::now();
    post(&api, "poison", &["user:alice"]).await;
    post(&api, "after", &["user:alice"]).await;
    receiver.wait_for("the event after the skipped one", |hits| hits.iter().any(|h| h.activity_id() == "after")).await;
    assert!(started.elapsed() >= Duration::from_millis(900), "skipped only after the window");

    let hits = receiver.hits();
    let poison: Vec<&Hit> = hits.iter().filter(|h| h.activity_id() == "poison").collect();
    assert!(poison.len() >= 3, "retried within the window: {:#?}", summary(&hits));
    assert!(poison.iter().all(|h| h.id == poison[0].id));
    let attempts: Vec<u32> = poison.iter().map(|h| h.attempt).collect();
    assert_eq!(attempts, (1..=poison.len() as u32).collect::<Vec<_>>());
    assert_eq!(hits.last().map(Hit::activity_id), Some("after"), "later events waited for it");
    assert_eq!(receiver.delivered("/w").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_target_stops_and_starts_afresh_when_added_again() {
    let server = TestServer::spawn_with_webhooks(fast()).await;
    let store = server.open_store().await;
    let api = server.server();
    api.create_users(&["alice", "bob"]).await;
    let receiver = Receiver::start(always_ok()).await;
    let target = hook("temp", &receiver.url("/temp"), &["feeds.activity.added"]);
    configure(&api, json!({ "event_hooks": [target.clone()] })).await;
    wait_armed(store.as_ref(), "temp").await;
    post(&api, "before", &["user:alice"]).await;
    receiver.wait_for("the first event", |hits| !hits.is_empty()).await;

    configure(&api, json!({ "event_hooks": [] })).await;
    wait_forgotten(store.as_ref(), "temp").await;
    post(&api, "missed", &["user:alice"]).await;
    configure(&api, json!({ "event_hooks": [target] })).await;
    wait_armed(store.as_ref(), "temp").await;
    post(&api, "again", &["user:alice"]).await;
    receiver.wait_for("the event after re-adding", |hits| hits.iter().any(|h| h.activity_id() == "again")).await;

    let order: Vec<String> = receiver.delivered("/temp").iter().map(|h| h.activity_id().to_string()).collect();
    assert_eq!(order, ["before", "again"], "no history for a re-added target");
}

// ---- the binary: SIGKILL, and two instances ----

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

/// Kills the child on drop so a failing test leaves no server behind.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_binary(port: u16, data_dir: &Path, database_url: Option<&str>) -> Process {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tributary"));
    match database_url {
        Some(url) => command.env("TRIBUTARY_DATABASE_URL", url),
        None => command.env_remove("TRIBUTARY_DATABASE_URL"),
    };
    let child = command
        .arg("serve")
        .env("TRIBUTARY_ADDR", format!("127.0.0.1:{port}"))
        .env("TRIBUTARY_DATA_DIR", data_dir)
        .env("TRIBUTARY_API_KEY", API_KEY)
        .env("TRIBUTARY_API_SECRET", API_SECRET)
        .env("TRIBUTARY_WEBHOOK_FIRST_RETRY_MS", "100")
        .env("TRIBUTARY_WEBHOOK_LEASE_SECS", "2")
        .env("TRIBUTARY_WEBHOOK_HOSTS", "127.0.0.1")
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn tributary binary");
    let mut process = Process(child);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().expect("http client");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = process.0.try_wait() {
            panic!("server exited before becoming healthy: {status}");
        }
        if let Ok(resp) = http.get(format!("{base}/health")).send().await {
            if resp.status() == StatusCode::OK {
                return process;
            }
        }
        assert!(Instant::now() < deadline, "server at {base} not healthy within 20 s");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn open_store(data_dir: &Path, database_url: Option<&str>) -> Arc<dyn Store> {
    match database_url {
        Some(url) => Arc::new(tributary::store::postgres::PostgresStore::connect(url).await.expect("pg")),
        None => Arc::new(tributary::store::sqlite::SqliteStore::open(data_dir).expect("sqlite")),
    }
}

fn client(port: u16) -> Client {
    Client::new(&format!("http://127.0.0.1:{port}")).with_token(server_token())
}

#[tokio::test(flavor = "multi_thread")]
async fn events_for_a_dead_receiver_survive_sigkill_and_arrive_after_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDatabase::new().await;
    let url = db.url.as_deref();
    let (port, hook_port) = (free_port(), free_port());
    let mut server = start_binary(port, dir.path(), url).await;
    let api = client(port);
    api.create_users(&["alice"]).await;
    let store = open_store(dir.path(), url).await;
    let hook_url = format!("http://127.0.0.1:{hook_port}/hook");
    configure(&api, json!({ "webhook_url": hook_url, "webhook_events": ["feeds.activity.added"] })).await;
    wait_armed(store.as_ref(), "webhook_url").await;

    let ids: Vec<String> = (0..20).map(|i| format!("k{i}")).collect();
    for id in &ids {
        post(&api, id, &["user:alice"]).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // a few refused attempts
    server.0.kill().expect("SIGKILL the server");
    let _ = server.0.wait();
    drop(server);

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", hook_port)).await.expect("bind the hook port");
    let receiver = Receiver::serve(listener, always_ok());
    let _server = start_binary(port, dir.path(), url).await;
    receiver.wait_for("all 20 events", |hits| hits.iter().filter(|h| h.delivered()).count() >= 20).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let delivered = receiver.delivered("/hook");
    let order: Vec<&str> = delivered.iter().map(Hit::activity_id).collect();
    assert_eq!(order, ids, "every event, in order, exactly once: {:#?}", summary(&receiver.hits()));
    delivered.iter().for_each(assert_signed_envelope);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_deliver_each_event_once_and_survive_one_dying() {
    if !postgres_mode() {
        eprintln!("notice: two-instance webhook test skipped (needs TRIBUTARY_TEST_STORE=postgres)");
        return;
    }
    let db = TestDatabase::new().await;
    let url = db.url.as_deref();
    let (dir_a, dir_b) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let (port_a, port_b) = (free_port(), free_port());
    let a = start_binary(port_a, dir_a.path(), url).await;
    let _b = start_binary(port_b, dir_b.path(), url).await;
    let (ca, cb) = (client(port_a), client(port_b));
    ca.create_users(&["alice"]).await;
    let store = open_store(dir_a.path(), url).await;
    let receiver = Receiver::start(always_ok()).await;
    configure(&ca, json!({ "event_hooks": [hook("shared", &receiver.url("/shared"), &["feeds.activity.added"])] }))
        .await;
    wait_armed(store.as_ref(), "shared").await;

    let ids: Vec<String> = (0..20).map(|i| format!("s{i}")).collect();
    for (i, id) in ids[..10].iter().enumerate() {
        post(if i % 2 == 0 { &ca } else { &cb }, id, &["user:alice"]).await;
    }
    receiver.wait_for("the first 10", |hits| hits.len() >= 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // the last position is stored
    drop(a); // SIGKILL: if it held the target, the other takes over when the lease lapses
    for id in &ids[10..] {
        post(&cb, id, &["user:alice"]).await;
    }
    receiver.wait_for("all 20", |hits| hits.len() >= 20).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let order: Vec<String> = receiver.delivered("/shared").iter().map(|h| h.activity_id().to_string()).collect();
    assert_eq!(order, ids, "one instance delivers each event, in order: {:#?}", summary(&receiver.hits()));
}
