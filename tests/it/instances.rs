//! Two `tributary serve` processes over one PostgreSQL database serve one
//! app: shared generated credentials, writes through one read through the
//! other, shared feed-group configuration, and background tasks executed
//! exactly once. Runs in PostgreSQL mode only (`TRIBUTARY_TEST_STORE=postgres`).

use std::io::{BufRead, BufReader};
use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jsonwebtoken::Header;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{postgres_mode, token_with, Client, TestDatabase};

struct Instance {
    child: Child,
    base: String,
    api_key: String,
    api_secret: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary without key or secret and reads the pair it prints.
fn start(database_url: &str, data_dir: &std::path::Path) -> Instance {
    let port = StdListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .arg("serve")
        .env("TRIBUTARY_ADDR", format!("127.0.0.1:{port}"))
        .env("TRIBUTARY_DATA_DIR", data_dir)
        .env("TRIBUTARY_DATABASE_URL", database_url)
        .env_remove("TRIBUTARY_API_KEY")
        .env_remove("TRIBUTARY_API_SECRET")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn tributary");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let banner = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.starts_with("API key:"))
        .expect("the server prints its credentials");
    // "API key: <key>  API secret: <secret>[ (generated…)]"
    let mut words = banner.split_whitespace();
    let api_key = words.nth(2).expect("key").to_string();
    let api_secret = words.nth(2).expect("secret").to_string();
    std::thread::spawn(move || lines.for_each(drop));
    Instance { child, base: format!("http://127.0.0.1:{port}"), api_key, api_secret }
}

impl Instance {
    fn client(&self) -> Client {
        let token = token_with(Header::default(), &json!({}), &self.api_secret);
        Client::new(&self.base).with_api_key(Some(&self.api_key)).with_token(token)
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let http = reqwest::Client::new();
        while Instant::now() < deadline {
            if let Ok(resp) = http.get(format!("{}/health", self.base)).send().await {
                if resp.status() == StatusCode::OK {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{} not healthy within 20 s", self.base);
    }
}

fn ok(resp: &(StatusCode, Value)) -> &Value {
    assert!(resp.0.is_success(), "unexpected {}: {}", resp.0, resp.1);
    &resp.1
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_over_one_database_serve_one_app() {
    if !postgres_mode() {
        eprintln!("notice: two-instance test skipped (needs TRIBUTARY_TEST_STORE=postgres)");
        return;
    }
    let db = TestDatabase::new().await;
    let url = db.url.clone().expect("postgres url");
    let (dir_a, dir_b) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let a = start(&url, dir_a.path());
    let b = start(&url, dir_b.path());
    a.wait_healthy().await;
    b.wait_healthy().await;

    // One generated key pair, shared through the database.
    assert_eq!((&a.api_key, &a.api_secret), (&b.api_key, &b.api_secret));
    let (ca, cb) = (a.client(), b.client());

    // Writes through one are read through the other.
    ok(&ca.post("/api/v2/users", &json!({"users": {"ann": {"id": "ann"}, "ben": {"id": "ben"}}})).await);
    let group = json!({"id": "team", "default_visibility": "public", "custom": {"v": 1}});
    ok(&ca.post("/api/v2/feeds/feed_groups", &group).await);
    let seen = ok(&cb.get("/api/v2/feeds/feed_groups/team").await).clone();
    assert_eq!(seen["feed_group"]["custom"], json!({"v": 1}));
    ok(&cb.put("/api/v2/feeds/feed_groups/team", &json!({"default_visibility": "visible", "custom": {"v": 2}})).await);
    let seen = ok(&ca.get("/api/v2/feeds/feed_groups/team").await).clone();
    assert_eq!(seen["feed_group"]["custom"], json!({"v": 2}));

    ok(&cb.post("/api/v2/feeds/follows", &json!({"source": "timeline:ben", "target": "user:ann"})).await);
    let added = ok(&ca
        .post(
            "/api/v2/feeds/activities",
            &json!({"type": "post", "feeds": ["user:ann"], "text": "hi", "user_id": "ann"}),
        )
        .await)
    .clone();
    let read = ok(&cb.post("/api/v2/feeds/feed_groups/timeline/feeds/ben", &json!({"user_id": "ben"})).await).clone();
    assert_eq!(read["activities"][0]["id"], added["activity"]["id"]);

    // Grants changed through one are in force through the other as soon as
    // its configuration cache hears of the change (NOTIFY), though the read
    // above left them cached there.
    // (Ben only holds the `user` role on carl's feed.)
    ok(&ca.post("/api/v2/feeds/feed_groups/user/feeds/carl", &json!({"user_id": "carl"})).await);
    let ben = token_with(Header::default(), &json!({"user_id": "ben"}), &b.api_secret);
    let ben = Client::new(&b.base).with_api_key(Some(&b.api_key)).with_token(ben);
    let caps = |read: &Value| read["feed"]["own_capabilities"].clone();
    let before = caps(ok(&ben.post("/api/v2/feeds/feed_groups/user/feeds/carl", &json!({})).await));
    assert!(before.as_array().is_some_and(|c| c.contains(&json!("follow"))), "{before}");
    let only_read = json!({"grants": {"user": ["read-feed", "read-activities"]}});
    ok(&ca.put("/api/v2/feeds/feed_visibilities/visible", &only_read).await);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = caps(ok(&ben.post("/api/v2/feeds/feed_groups/user/feeds/carl", &json!({})).await));
        if now == json!(["read-activities", "read-feed"]) {
            break;
        }
        assert!(Instant::now() < deadline, "the other instance still shows {now}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // So are feed groups (the cache behind `is_watched` on activity reads):
    // the group starts tracking watched stories through one instance, and
    // the other shows `is_watched` on its story once it hears of it.
    ok(&ca.post("/api/v2/feeds/feed_groups/team/feeds/ann", &json!({"user_id": "ann"})).await);
    let story = json!({"type": "story", "feeds": ["team:ann"], "user_id": "ann", "id": "tale",
                       "expires_at": "2099-01-01T00:00:00Z"});
    ok(&ca.post("/api/v2/feeds/activities", &story).await);
    let watched = |read: &Value| read["activity"].get("is_watched").cloned();
    assert_eq!(watched(ok(&cb.get("/api/v2/feeds/activities/tale?user_id=ben").await)), None);
    let tracking = json!({"default_visibility": "visible", "custom": {"v": 2}, "stories": {"track_watched": true}});
    ok(&ca.put("/api/v2/feeds/feed_groups/team", &tracking).await);
    let deadline = Instant::now() + Duration::from_secs(5);
    while watched(ok(&cb.get("/api/v2/feeds/activities/tale?user_id=ben").await)) != Some(json!(false)) {
        assert!(Instant::now() < deadline, "the other instance still reads the group untracked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Background tasks: many queued through both, each executed once.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (writer, fid) = (if i % 2 == 0 { &ca } else { &cb }, format!("t{i}"));
        ok(&writer.post(&format!("/api/v2/feeds/feed_groups/user/feeds/{fid}"), &json!({"user_id": "ann"})).await);
        let deleted =
            ok(&writer.delete(&format!("/api/v2/feeds/feed_groups/user/feeds/{fid}?hard_delete=true")).await).clone();
        tasks.push(deleted["task_id"].as_str().expect("task id").to_string());
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    for (i, task) in tasks.iter().enumerate() {
        let reader = if i % 2 == 0 { &cb } else { &ca };
        loop {
            let status = ok(&reader.get(&format!("/api/v2/tasks/{task}")).await)["status"].clone();
            if status == "completed" {
                break;
            }
            assert_ne!(status, "failed", "task {task} failed");
            assert!(Instant::now() < deadline, "task {task} not completed in time");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    let rows = client.query("SELECT id, attempts FROM tasks WHERE id = ANY($1)", &[&tasks]).await.expect("tasks");
    assert_eq!(rows.len(), tasks.len());
    for row in rows {
        let (id, attempts): (String, i64) = (row.get(0), row.get(1));
        assert_eq!(attempts, 1, "task {id} was claimed {attempts} times");
    }
}

/// A WebSocket on one instance hears of writes made through another, and
/// can be told to watch through another: the outbox is shared and
/// PostgreSQL's NOTIFY wakes every dispatcher.
#[tokio::test(flavor = "multi_thread")]
async fn events_written_through_one_instance_reach_a_websocket_on_the_other() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    if !postgres_mode() {
        eprintln!("notice: two-instance event test skipped (needs TRIBUTARY_TEST_STORE=postgres)");
        return;
    }
    let db = TestDatabase::new().await;
    let url = db.url.clone().expect("postgres url");
    let (dir_a, dir_b) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let a = start(&url, dir_a.path());
    let b = start(&url, dir_b.path());
    a.wait_healthy().await;
    b.wait_healthy().await;
    let cb = b.client();
    ok(&cb
        .post("/api/v2/feeds/follows", &json!({"source": "timeline:erin", "target": "user:ann", "create_users": true}))
        .await);

    let ws_url = format!("{}/api/v2/connect?api_key={}&stream-auth-type=jwt", a.base.replace("http", "ws"), a.api_key);
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url).await.expect("upgrade");
    let user_token = token_with(Header::default(), &json!({"user_id": "erin"}), &a.api_secret);
    let auth = json!({"token": user_token, "user_details": {"id": "erin"}});
    socket.send(Message::Text(auth.to_string().into())).await.expect("auth");
    let mut next = async || -> Value {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("frame in 10 s");
            if let Some(Ok(Message::Text(text))) = frame {
                return serde_json::from_str(text.as_str()).expect("json");
            }
        }
    };
    let ok_frame = next().await;
    assert_eq!(ok_frame["type"], "connection.ok", "{ok_frame}");
    let connection = ok_frame["connection_id"].as_str().expect("id").to_string();
    // The watch goes through the other instance (a load balancer without
    // sticky sessions): it reaches the socket's process through the outbox.
    let erin = Client::new(&b.base).with_api_key(Some(&b.api_key)).with_token(user_token.clone());
    ok(&erin
        .post(
            &format!("/api/v2/feeds/feed_groups/timeline/feeds/erin?connection_id={connection}"),
            &json!({"watch": true}),
        )
        .await);

    for i in 0..5 {
        let body = json!({"type": "post", "feeds": ["user:ann"], "text": format!("via b {i}"), "user_id": "ann"});
        let added = ok(&cb.post("/api/v2/feeds/activities", &body).await).clone();
        let event = loop {
            let frame = next().await;
            if frame["type"] == "feeds.activity.added" {
                break frame;
            }
        };
        assert_eq!(event["fid"], "timeline:erin");
        assert_eq!(event["activity"]["id"], added["activity"]["id"], "events arrive in write order");
    }
}
