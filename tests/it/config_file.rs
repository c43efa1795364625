//! The configuration file (`tributary serve --config tributary.toml` or
//! `TRIBUTARY_CONFIG`), on the built binary: its values are honoured, the
//! environment beats them and a flag beats the environment; a bad file
//! stops the start with a message naming the key and the file; the
//! configuration printed at start masks secrets.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::durability::{free_port, wait_healthy, Server};
use crate::support::{server_token, TestDatabase, API_KEY, API_SECRET};

const METRICS_TOKEN: &str = "metrics-token-from-the-file";

/// The binary with `args` after `serve`, `env` set and no other
/// `TRIBUTARY_*` variable inherited from the test's environment; stderr is
/// collected as it is written.
fn spawn(args: &[&str], env: &[(&str, &str)]) -> (Child, Arc<Mutex<String>>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tributary"));
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("TRIBUTARY_")) {
        command.env_remove(name);
    }
    let mut child = command
        .arg("serve")
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tributary binary");
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut pipe = child.stderr.take().expect("stderr pipe");
    let sink = stderr.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = pipe.read(&mut buf) {
            sink.lock().expect("stderr lock").push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    (child, stderr)
}

/// Runs the binary until it exits (it must within 20 s): its status and
/// stderr.
fn run_to_exit(args: &[&str], env: &[(&str, &str)]) -> (ExitStatus, String) {
    let (mut child, stderr) = spawn(args, env);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started anyway: {}", stderr.lock().expect("stderr lock"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // The reader thread drains the pipe after the exit.
    std::thread::sleep(Duration::from_millis(100));
    let text = stderr.lock().expect("stderr lock").clone();
    (status, text)
}

fn write_file(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("tributary.toml");
    std::fs::write(&path, text).expect("write the configuration file");
    path
}

/// `[credentials, data dir, database]` lines every started server's file holds.
fn base_file(data_dir: &Path, db: &TestDatabase) -> String {
    let mut text = format!("api_key = {API_KEY:?}\napi-secret = {API_SECRET:?}\ndata_dir = {:?}\n", data_dir);
    if let Some(url) = &db.url {
        text.push_str(&format!("database_url = {url:?}\n"));
    }
    text
}

/// `GET /api/v2/app` as the server from `origin`: status, the rate limit
/// it reports, and the allowed origin it answers.
async fn get_app(base: &str, origin: &str) -> (StatusCode, Option<String>, Option<String>) {
    let resp = reqwest::Client::new()
        .get(format!("{base}/api/v2/app?api_key={API_KEY}"))
        .header("authorization", server_token())
        .header("stream-auth-type", "jwt")
        .header("origin", origin)
        .send()
        .await
        .expect("GET /api/v2/app");
    let header = |name: &str| resp.headers().get(name).map(|v| v.to_str().expect("ascii").to_string());
    (resp.status(), header("x-ratelimit-limit"), header("access-control-allow-origin"))
}

async fn scrape_status(base: &str, token: Option<&str>) -> StatusCode {
    let mut req = reqwest::Client::new().get(format!("{base}/metrics"));
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    req.send().await.expect("GET /metrics").status()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_sets_the_address_limits_origins_and_token_and_its_secrets_are_not_printed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDatabase::new().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let file = write_file(
        dir.path(),
        &format!(
            "{}addr = \"127.0.0.1:{port}\"\ncors-origins = [\"https://app.example.com\", \"http://localhost:5173\"]\n\
             rate_limits = \"app:GetApp=7/m\"\nmetrics_token = {METRICS_TOKEN:?}\nmax_connections = 500\n",
            base_file(&dir.path().join("data"), &db)
        ),
    );
    let (child, stderr) = spawn(&["--config", file.to_str().expect("utf-8 path")], &[]);
    let mut server = Server(child);
    wait_healthy(&mut server, &base).await;

    let (status, limit, allowed) = get_app(&base, "http://localhost:5173").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(limit.as_deref(), Some("7"), "the file's rate limit");
    assert_eq!(allowed.as_deref(), Some("http://localhost:5173"), "an origin the file lists");
    let (_, _, allowed) = get_app(&base, "https://evil.example").await;
    assert_eq!(allowed, None, "an origin the file does not list");
    assert_eq!(scrape_status(&base, None).await, StatusCode::UNAUTHORIZED, "the file's metrics token");
    assert_eq!(scrape_status(&base, Some(METRICS_TOKEN)).await, StatusCode::OK);

    let printed = stderr.lock().expect("stderr lock").clone();
    let from_file = format!("# file {}", file.display());
    for line in [format!("addr = \"127.0.0.1:{port}\"  {from_file}"), format!("max_connections = \"500\"  {from_file}")]
    {
        assert!(printed.contains(&line), "{line:?} not in the printed configuration:\n{printed}");
    }
    if db.url.is_some() {
        let line = printed.lines().find(|l| l.starts_with("database_url = ")).unwrap_or_default();
        assert!(line.ends_with(&from_file), "PostgreSQL from the file's database_url: {printed}");
    }
    assert!(printed.contains(&format!("api_secret = \"********\"  {from_file}")), "{printed}");
    assert!(printed.contains(&format!("metrics_token = \"********\"  {from_file}")), "{printed}");
    assert!(!printed.contains(API_SECRET) && !printed.contains(METRICS_TOKEN), "a secret was printed:\n{printed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_environment_beats_the_file_and_a_flag_beats_the_environment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDatabase::new().await;
    let (file_port, env_port) = (free_port(), free_port());
    let base = format!("http://127.0.0.1:{env_port}");
    let file = write_file(
        dir.path(),
        &format!(
            "{}addr = \"127.0.0.1:{file_port}\"\ncors_origins = \"https://file.example\"\n\
             rate_limits = \"app:GetApp=7/m\"\n",
            base_file(&dir.path().join("data"), &db)
        ),
    );
    let env_addr = format!("127.0.0.1:{env_port}");
    let (child, stderr) = spawn(
        &["--rate-limits", "app:GetApp=9/m"],
        &[
            ("TRIBUTARY_CONFIG", file.to_str().expect("utf-8 path")),
            ("TRIBUTARY_ADDR", &env_addr),
            ("TRIBUTARY_CORS_ORIGINS", "https://env.example"),
            ("TRIBUTARY_RATE_LIMITS", "app:GetApp=8/m"),
        ],
    );
    let mut server = Server(child);
    wait_healthy(&mut server, &base).await;

    let (status, limit, allowed) = get_app(&base, "https://env.example").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(limit.as_deref(), Some("9"), "the flag's rate limit beats the environment's and the file's");
    assert_eq!(allowed.as_deref(), Some("https://env.example"), "the environment's origins beat the file's");
    let (_, _, allowed) = get_app(&base, "https://file.example").await;
    assert_eq!(allowed, None, "the file's origins are overridden");
    assert!(
        reqwest::get(format!("http://127.0.0.1:{file_port}/health")).await.is_err(),
        "nothing listens on the file's address"
    );

    let printed = stderr.lock().expect("stderr lock").clone();
    for line in [
        format!("config = {:?}  # env TRIBUTARY_CONFIG", file.display().to_string()),
        format!("addr = \"{env_addr}\"  # env TRIBUTARY_ADDR"),
        "rate_limits = \"app:GetApp=9/m\"  # flag --rate-limits".to_string(),
        "header_read_timeout = \"10s\"  # default".to_string(),
    ] {
        assert!(printed.contains(&line), "{line:?} not in the printed configuration:\n{printed}");
    }
}

#[test]
fn an_unknown_key_stops_the_start_naming_the_key_and_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (text, named) in [
        ("adress = \"127.0.0.1:7400\"\n", "unknown key `adress`"),
        ("[limits]\nmax_connections = 5\n", "unknown table `[limits]`"),
        ("config = \"other.toml\"\n", "unknown key `config`"),
    ] {
        let file = write_file(dir.path(), text);
        let (status, stderr) = run_to_exit(&["--config", file.to_str().expect("utf-8 path")], &[]);
        assert!(!status.success(), "{text:?} was accepted: {stderr}");
        let expected = format!("{}: {named}", file.display());
        assert!(stderr.contains(&expected), "{text:?}: {expected:?} not in {stderr:?}");
    }
}

#[test]
fn a_bad_value_stops_the_start_naming_the_key_even_when_a_flag_overrides_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let addr = format!("127.0.0.1:{}", free_port());
    for (text, named) in [
        ("addr = \"nowhere\"\n", "`addr` = \"nowhere\": invalid socket address"),
        ("max_connections = 0\n", "`max_connections` = 0:"),
        ("allow-guests = \"maybe\"\n", "`allow-guests` = \"maybe\":"),
        ("rate_limits = \"app:GetApp=lots\"\n", "`rate_limits` = \"app:GetApp=lots\":"),
        ("cors_origins = { any = true }\n", "`cors_origins` is a table"),
        ("addr = \n", "not valid TOML"),
    ] {
        let file = write_file(dir.path(), text);
        let (status, stderr) = run_to_exit(
            &["--config", file.to_str().expect("utf-8 path"), "--addr", &addr],
            &[("TRIBUTARY_MAX_CONNECTIONS", "100")],
        );
        assert!(!status.success(), "{text:?} was accepted: {stderr}");
        let expected = format!("{}: {named}", file.display());
        assert!(stderr.contains(&expected), "{text:?}: {expected:?} not in {stderr:?}");
    }
}

#[test]
fn a_database_url_password_is_masked_in_the_printed_configuration() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Nothing listens on port 1: the start fails after the printout.
    let file = write_file(dir.path(), "database_url = \"postgres://app:hunter2@127.0.0.1:1/feeds\"\n");
    let (status, stderr) = run_to_exit(&["--config", file.to_str().expect("utf-8 path")], &[]);
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("database_url = \"postgres://app:********@127.0.0.1:1/feeds\""), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password was printed: {stderr}");
}
