//! Issue 13's bench: events over real WebSockets. 1,000 connections each
//! watch their own timeline, all following `user:star`; a server-side
//! `add_activity` to `user:star` is announced to every one of them with its
//! own `fid`.
//! - write-to-event latency: from sending the POST to each connection's
//!   receipt of the event, p50 and p99 over all deliveries of 50 posts made
//!   one after another;
//! - throughput: 200 posts sent by 8 writers at once, events delivered per
//!   second until every connection has all of them;
//! - the ceiling, measured in the same run on the same clients: a minimal
//!   axum WebSocket server broadcasting the bytes of the event Tributary
//!   sent (the post number swapped) to 1,000 connections, with no storage
//!   and no rendering.
//!
//! `cargo bench --bench realtime` (SQLite; `TRIBUTARY_BENCH_PG=only` with
//! `TRIBUTARY_TEST_DATABASE_URL` for PostgreSQL).

mod support;

use support::{token, KEY};

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message as AxumMessage, WebSocketUpgrade};
use axum::extract::State;
use axum::routing::{get, post};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};
use tokio_tungstenite::tungstenite::Message;

use tributary::shutdown::Shutdown;

const WATCHERS: usize = 1000;
const LATENCY_POSTS: usize = 50;
const THROUGHPUT_POSTS: usize = 200;
const WRITERS: usize = 8;

/// A received event: which post (its text) and when.
type Receipt = (usize, Instant);

struct Server {
    base: String,
    http: reqwest::Client,
    server_token: String,
}

impl Server {
    async fn post(&self, path: &str, body: Value) -> Value {
        let url = format!("{}{path}?api_key={KEY}", self.base);
        let resp = self
            .http
            .post(url)
            .header("stream-auth-type", "jwt")
            .header("Authorization", &self.server_token)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = resp.status();
        let body: Value = resp.json().await.expect("json");
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }
}

async fn start_tributary(dir: &std::path::Path, database_url: Option<String>) -> (Server, Shutdown) {
    let (base, shutdown) = support::serve_in_process(dir, database_url).await;
    (Server { base, http: reqwest::Client::new(), server_token: token(json!({})) }, shutdown)
}

/// Opens one connection per watcher; each reports `(post index, when)` for
/// every event it receives.
async fn connect_watchers(
    ws_base: &str,
    tributary: Option<&Server>,
    sample: Arc<std::sync::Mutex<Option<String>>>,
) -> mpsc::UnboundedReceiver<Receipt> {
    let (receipts, rx) = mpsc::unbounded_channel();
    let mut ready = Vec::new();
    for i in 0..WATCHERS {
        let user = format!("w{i}");
        let (mut socket, _) =
            tokio_tungstenite::connect_async(format!("{ws_base}?api_key={KEY}")).await.expect("websocket");
        let connection = if tributary.is_some() {
            let auth = json!({"token": token(json!({"user_id": user})), "user_details": {"id": user}});
            socket.send(Message::Text(auth.to_string().into())).await.expect("auth");
            let ok = loop {
                if let Some(Ok(Message::Text(t))) = socket.next().await {
                    break serde_json::from_str::<Value>(t.as_str()).expect("json");
                }
            };
            ok["connection_id"].as_str().expect("connection id").to_string()
        } else {
            String::new()
        };
        let receipts = receipts.clone();
        let sample = sample.clone();
        tokio::spawn(async move {
            while let Some(Ok(frame)) = socket.next().await {
                let received = Instant::now();
                if let Message::Text(text) = frame {
                    let event: Value = serde_json::from_str(text.as_str()).expect("json");
                    if event["type"] == "feeds.activity.added" {
                        sample.lock().expect("sample").get_or_insert_with(|| text.to_string());
                        let n = event["activity"]["text"].as_str().and_then(|t| t.parse().ok()).expect("post index");
                        let _ = receipts.send((n, received));
                    }
                }
            }
        });
        ready.push((user, connection));
    }
    if let Some(server) = tributary {
        for (user, connection) in ready {
            let url = format!(
                "{}/api/v2/feeds/feed_groups/timeline/feeds/{user}?api_key={KEY}&connection_id={connection}",
                server.base
            );
            let resp = server
                .http
                .post(url)
                .header("stream-auth-type", "jwt")
                .header("Authorization", token(json!({"user_id": user})))
                .json(&json!({"watch": true, "limit": 1}))
                .send()
                .await
                .expect("watch");
            assert!(resp.status().is_success(), "watch: {}", resp.status());
        }
    }
    rx
}

/// Sends post `n` (through `send`) and waits for its `WATCHERS` receipts.
async fn latency(
    rx: &mut mpsc::UnboundedReceiver<Receipt>,
    send: impl AsyncFn(usize),
) -> (Vec<Duration>, Vec<Duration>) {
    let (mut deliveries, mut acks) = (Vec::new(), Vec::new());
    for n in 0..LATENCY_POSTS {
        let sent = Instant::now();
        send(n).await;
        acks.push(sent.elapsed());
        let mut got = 0;
        while got < WATCHERS {
            let (m, at) = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await.expect("event").expect("open");
            assert_eq!(m, n, "events of earlier posts all arrived");
            deliveries.push(at - sent);
            got += 1;
        }
    }
    (deliveries, acks)
}

/// Sends `THROUGHPUT_POSTS` posts from `WRITERS` writers; events per second
/// until every connection has every one.
async fn throughput(rx: &mut mpsc::UnboundedReceiver<Receipt>, send: Arc<impl AsyncFn(usize)>) -> f64 {
    let started = Instant::now();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let send = send.clone();
        writers.push(async move {
            for n in (w..THROUGHPUT_POSTS).step_by(WRITERS) {
                send(LATENCY_POSTS + n).await;
            }
        });
    }
    futures_util::future::join_all(writers).await;
    let total = THROUGHPUT_POSTS * WATCHERS;
    for _ in 0..total {
        tokio::time::timeout(Duration::from_secs(60), rx.recv()).await.expect("event").expect("open");
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// The ceiling: a WebSocket server that broadcasts what is POSTed to it.
async fn start_ceiling() -> String {
    let (tx, _) = broadcast::channel::<Arc<str>>(4096);
    let app = axum::Router::new()
        .route(
            "/connect",
            get(|State(tx): State<broadcast::Sender<Arc<str>>>, ws: WebSocketUpgrade| async move {
                ws.on_upgrade(move |mut socket| async move {
                    let mut rx = tx.subscribe();
                    while let Ok(frame) = rx.recv().await {
                        if socket.send(AxumMessage::Text(frame.to_string().into())).await.is_err() {
                            break;
                        }
                    }
                })
            }),
        )
        .route(
            "/send",
            post(|State(tx): State<broadcast::Sender<Arc<str>>>, body: String| async move {
                let _ = tx.send(Arc::from(body));
                "{}"
            }),
        )
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("ceiling server") });
    format!("{addr}")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    if !support::asked_to_measure() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("dir");
        let pg = std::env::var("TRIBUTARY_BENCH_PG").ok().filter(|m| m == "only");
        let database_url = pg.and_then(|_| std::env::var("TRIBUTARY_TEST_DATABASE_URL").ok());
        let store = if database_url.is_some() { "PostgreSQL" } else { "SQLite" };
        let (server, shutdown) = start_tributary(dir.path(), database_url).await;
        eprintln!("realtime bench on {store}: {WATCHERS} watchers of timelines following user:star");
        for chunk in (0..WATCHERS).collect::<Vec<_>>().chunks(100) {
            let follows: Vec<Value> =
                chunk.iter().map(|i| json!({"source": format!("timeline:w{i}"), "target": "user:star"})).collect();
            server.post("/api/v2/feeds/follows/batch", json!({"follows": follows, "create_users": true})).await;
        }
        let ws_base = format!("{}/api/v2/connect", server.base.replace("http", "ws"));
        let sample = Arc::new(std::sync::Mutex::new(None));
        let mut rx = connect_watchers(&ws_base, Some(&server), sample.clone()).await;
        let server = Arc::new(server);
        let poster = server.clone();
        let send = Arc::new(async move |n: usize| {
            let body = json!({"type": "post", "feeds": ["user:star"], "user_id": "star", "text": n.to_string()});
            poster.post("/api/v2/feeds/activities", body).await;
        });
        let (mut deliveries, mut acks) = latency(&mut rx, &*send).await;
        deliveries.sort();
        acks.sort();
        let rate = throughput(&mut rx, send).await;
        shutdown.trigger();

        // The ceiling, on the same clients: the same bytes, broadcast.
        let addr = start_ceiling().await;
        let template = sample.lock().expect("sample").clone().expect("an event was received");
        let mut ceiling_rx = connect_watchers(&format!("ws://{addr}/connect"), None, Default::default()).await;
        let http = reqwest::Client::new();
        // The bytes Tributary sent for post 0, with the post number swapped.
        let sample = move |n: usize| template.replace("\"text\":\"0\"", &format!("\"text\":\"{n}\""));
        let http2 = http.clone();
        let addr2 = addr.clone();
        let ceiling_send = Arc::new(async move |n: usize| {
            http2.post(format!("http://{addr2}/send")).body(sample(n)).send().await.expect("send");
        });
        let (mut ceiling_deliveries, _) = latency(&mut ceiling_rx, &*ceiling_send).await;
        ceiling_deliveries.sort();
        let ceiling_rate = throughput(&mut ceiling_rx, ceiling_send).await;

        let p = support::percentile;
        eprintln!(
            "  write → event, {WATCHERS} watchers: p50 {:.2} ms, p99 {:.2} ms (ack p50 {:.2} ms); ceiling p50 {:.2} ms, p99 {:.2} ms",
            ms(p(&deliveries, 0.5)),
            ms(p(&deliveries, 0.99)),
            ms(p(&acks, 0.5)),
            ms(p(&ceiling_deliveries, 0.5)),
            ms(p(&ceiling_deliveries, 0.99)),
        );
        eprintln!(
            "  events delivered: {rate:.0}/s ({WRITERS} writers, {THROUGHPUT_POSTS} posts); ceiling {ceiling_rate:.0}/s; ratio {:.2}",
            rate / ceiling_rate
        );
    });
}
