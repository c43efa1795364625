//! Acceptance: killing the server with SIGKILL during a burst of
//! add_activity calls loses no acknowledged activity. With 32 concurrent
//! writers SQLite's group commit puts many writes in each transaction, and
//! some of them fail inside it (a reply to a missing parent): those fail
//! alone and are never stored.

use std::net::TcpListener as StdListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{server_token, Client, TestDatabase, API_KEY, API_SECRET};

const WORKERS: usize = 32;
const BURST: Duration = Duration::from_millis(300);
const ENOUGH_ACKS: usize = 400;

pub(crate) fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

fn start(port: u16, data_dir: &Path, database_url: Option<&str>) -> Child {
    start_with(port, data_dir, database_url, &[])
}

/// The built binary serving on `port`, with `env` set beside the test's
/// settings.
pub(crate) fn start_with(port: u16, data_dir: &Path, database_url: Option<&str>, env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tributary"));
    command.envs(env.iter().copied());
    match database_url {
        Some(url) => command.env("TRIBUTARY_DATABASE_URL", url),
        None => command.env_remove("TRIBUTARY_DATABASE_URL"),
    };
    command
        .arg("serve")
        .env("TRIBUTARY_ADDR", format!("127.0.0.1:{port}"))
        .env("TRIBUTARY_DATA_DIR", data_dir)
        .env("TRIBUTARY_API_KEY", API_KEY)
        .env("TRIBUTARY_API_SECRET", API_SECRET)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn tributary binary")
}

/// Kills the child on drop so a failing test leaves no server behind.
pub(crate) struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) async fn wait_healthy(server: &mut Server, base: &str) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("server exited before becoming healthy: {status}");
        }
        if let Ok(resp) = http.get(format!("{base}/health")).send().await {
            if resp.status() == StatusCode::OK {
                return;
            }
        }
        assert!(Instant::now() < deadline, "server at {base} not healthy within 20 s");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_during_add_activity_burst_loses_no_acknowledged_activity() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDatabase::new().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let api = Client::new(&base).with_token(server_token());

    let mut server = Server(start(port, dir.path(), db.url.as_deref()));
    wait_healthy(&mut server, &base).await;
    let (status, body) = api.post("/api/v2/users", &json!({ "users": { "alice": { "id": "alice" } } })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The burst: each worker posts until the server dies or we stop it.
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let attempted = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let (api, acked, attempted, stop) = (api.clone(), acked.clone(), attempted.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let id = format!("burst-{w}-{n}");
                n += 1;
                attempted.fetch_add(1, Ordering::SeqCst);
                let mut body = json!({ "id": id, "type": "post", "feeds": ["user:alice"], "user_id": "alice" });
                let doomed = w % 4 == 0 && (n - 1) % 3 == 0;
                if doomed {
                    body["parent_id"] = json!("no-such-parent");
                }
                match api
                    .try_send(reqwest::Method::POST, "/api/v2/feeds/activities", Some(body.to_string().into_bytes()))
                    .await
                {
                    Ok((StatusCode::BAD_REQUEST, _)) if doomed => {}
                    Ok((StatusCode::CREATED, resp)) if !doomed => {
                        assert_eq!(resp["activity"]["id"], id.as_str(), "{resp}");
                        acked.lock().expect("acked lock").push(id);
                    }
                    Ok((status, resp)) => panic!("unexpected reply during the burst: {status} {resp}"),
                    // The server was killed under us: this call is not acknowledged.
                    Err(_) => break,
                }
            }
        }));
    }
    let started = Instant::now();
    // At least BURST and a few acknowledgements (a loaded machine may take
    // a while to answer the first), at most ENOUGH_ACKS or 20 s.
    loop {
        let acks = acked.lock().expect("acked lock").len();
        if acks >= ENOUGH_ACKS || (started.elapsed() >= BURST && acks >= WORKERS) || started.elapsed().as_secs() >= 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // SIGKILL while requests are in flight.
    server.0.kill().expect("SIGKILL the server");
    let killed_at = acked.lock().expect("acked lock").len();
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.expect("burst worker");
    }
    let _ = server.0.wait();
    drop(server);
    let acked: Vec<String> = acked.lock().expect("acked lock").clone();
    assert!(!acked.is_empty(), "the burst acknowledged nothing before the kill");

    // Restart on the same data dir and port.
    let mut server = Server(start(port, dir.path(), db.url.as_deref()));
    wait_healthy(&mut server, &base).await;

    // Everything in user:alice, page by page.
    let mut stored = std::collections::HashSet::new();
    let mut next: Option<String> = None;
    loop {
        let mut params = json!({ "limit": 100, "user_id": "alice" });
        if let Some(c) = &next {
            params["next"] = json!(c);
        }
        let (status, page) = api.post("/api/v2/feeds/feed_groups/user/feeds/alice", &params).await;
        assert_eq!(status, StatusCode::CREATED, "{page}");
        for a in page["activities"].as_array().expect("activities") {
            assert!(stored.insert(a["id"].as_str().expect("id").to_string()), "duplicate across pages: {a}");
        }
        match page.get("next").and_then(Value::as_str) {
            Some(c) => next = Some(c.to_string()),
            None => break,
        }
    }
    let doomed_stored: Vec<&String> = stored
        .iter()
        .filter(|id| {
            let mut parts = id.trim_start_matches("burst-").split('-').map(|p| p.parse::<usize>().unwrap_or(1));
            let (w, n) = (parts.next().unwrap_or(1), parts.next().unwrap_or(1));
            w % 4 == 0 && n % 3 == 0
        })
        .collect();
    assert!(doomed_stored.is_empty(), "failed writes were stored: {doomed_stored:?}");
    let missing_in_feed: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    let mut missing_by_get = Vec::new();
    for id in &acked {
        let (status, body) = api.get(&format!("/api/v2/feeds/activities/{id}")).await;
        if status != StatusCode::OK {
            missing_by_get.push((id.clone(), status, body["message"].clone()));
        }
    }
    println!(
        "durability: attempted {}, acknowledged {} ({} when SIGKILL was sent), stored in user:alice after restart {}, \
         missing from feed {}, missing by GET {}",
        attempted.load(Ordering::SeqCst),
        acked.len(),
        killed_at,
        stored.len(),
        missing_in_feed.len(),
        missing_by_get.len()
    );
    assert!(missing_in_feed.is_empty(), "acknowledged but not in user:alice after restart: {missing_in_feed:?}");
    assert!(missing_by_get.is_empty(), "acknowledged but not readable after restart: {missing_by_get:?}");
    assert!(stored.len() >= acked.len(), "fewer stored than acknowledged");
}
