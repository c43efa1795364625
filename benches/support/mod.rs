//! What the latency benches share: when to measure, the stores to measure
//! on, and percentiles. SQLite always (unless `TRIBUTARY_BENCH_PG=only`);
//! PostgreSQL with `TRIBUTARY_BENCH_PG=1|only` and
//! `TRIBUTARY_TEST_DATABASE_URL`, in a schema of its own that is dropped
//! afterwards.

#![allow(dead_code)]

// The server's allocator (src/main.rs), so in-process numbers match the binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::Duration;

use tributary::core::storage::Store;
use tributary::store::postgres::PostgresStore;
use tributary::store::sqlite::SqliteStore;

/// `cargo test --benches` runs benches without `--bench`: measure only when
/// asked to.
pub fn asked_to_measure() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn pg_mode() -> String {
    std::env::var("TRIBUTARY_BENCH_PG").unwrap_or_default()
}

/// The SQLite store in `dir`, unless only PostgreSQL is wanted.
pub fn sqlite(dir: &std::path::Path) -> Option<Arc<dyn Store>> {
    (pg_mode() != "only").then(|| Arc::new(SqliteStore::open(dir).expect("sqlite")) as Arc<dyn Store>)
}

/// A PostgreSQL store in a fresh schema, with a plain client on it for
/// `ANALYZE` and the final `DROP SCHEMA`.
pub struct Postgres {
    pub store: Arc<dyn Store>,
    pub client: tokio_postgres::Client,
    schema: String,
}

impl Postgres {
    pub async fn connect(prefix: &str) -> Option<Postgres> {
        let mode = pg_mode();
        let url = std::env::var("TRIBUTARY_TEST_DATABASE_URL").ok().filter(|_| mode == "1" || mode == "only")?;
        let schema = format!("{prefix}_{}", std::process::id());
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(conn);
        client.batch_execute(&format!("CREATE SCHEMA {schema}; SET search_path TO {schema}")).await.expect("schema");
        let sep = if url.contains('?') { '&' } else { '?' };
        let scoped = format!("{url}{sep}options=-c%20search_path%3D{schema}");
        let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&scoped).await.expect("postgres"));
        Some(Postgres { store, client, schema })
    }

    pub async fn drop(self) {
        self.client.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema)).await.expect("drop");
    }
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Prints the p50, p90, p99 and the slowest of `times`.
pub fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    eprintln!(
        "  {what}: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.9)),
        ms(percentile(&times, 0.99)),
        ms(times[times.len() - 1])
    );
}

/// The app key and secret of the in-process servers the HTTP benches start.
pub const KEY: &str = "benchkey";
pub const SECRET: &str = "bench-secret-that-is-long-enough-for-hs256-0123456789";

#[derive(clap::Parser)]
struct ServeArgs {
    #[command(flatten)]
    serve: tributary::config::ServeConfig,
}

/// An HS256 token over `claims`, signed with `SECRET`.
pub fn token(claims: serde_json::Value) -> String {
    use jsonwebtoken::{encode, EncodingKey, Header};
    encode(&Header::default(), &claims, &EncodingKey::from_secret(SECRET.as_bytes())).expect("token")
}

/// Starts Tributary in this process on a free loopback port (SQLite in
/// `dir`, or the PostgreSQL `database_url`), configured as `tributary serve`
/// would be; returns its base URL once it answers, and its stop signal.
pub async fn serve_in_process(
    dir: &std::path::Path,
    database_url: Option<String>,
) -> (String, tributary::shutdown::Shutdown) {
    use clap::Parser;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut argv = vec!["bench".to_string(), "--data-dir".into(), dir.display().to_string()];
    argv.extend(["--api-key".into(), KEY.into(), "--api-secret".into(), SECRET.into()]);
    if let Some(url) = database_url {
        argv.extend(["--database-url".into(), url]);
    }
    let config = ServeArgs::parse_from(argv).serve;
    let shutdown = tributary::shutdown::Shutdown::default();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = tributary::serve(config, listener, stop, move |_, _| {
            let _ = ready_tx.send(());
        })
        .await;
    });
    ready_rx.await.expect("server ready");
    (format!("http://{addr}"), shutdown)
}

/// A fresh PostgreSQL schema for the server: (plain client, scoped url,
/// schema name), when `TRIBUTARY_BENCH_PG=only` and a database URL is set.
pub async fn pg_schema() -> Option<(tokio_postgres::Client, String, String)> {
    std::env::var("TRIBUTARY_BENCH_PG").ok().filter(|m| m == "only")?;
    let url = std::env::var("TRIBUTARY_TEST_DATABASE_URL").ok()?;
    let schema = format!("bench_{}", std::process::id());
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(conn);
    client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.expect("schema");
    let sep = if url.contains('?') { '&' } else { '?' };
    Some((client, format!("{url}{sep}options=-c%20search_path%3D{schema}"), schema))
}

/// POSTs `body` to `path` with the server token; panics unless it succeeds.
pub async fn post(
    http: &reqwest::Client,
    base: &str,
    server_token: &str,
    path: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    timed_post(http, base, server_token, path, body).await.1
}

/// `post`, timed from sending the request to receiving the last byte of
/// the response: the server's latency as a client sees it, without the
/// client's own parsing of the body (a 400 KB page takes a JSON parser
/// longer than the server took to write it).
pub async fn timed_post(
    http: &reqwest::Client,
    base: &str,
    server_token: &str,
    path: &str,
    body: serde_json::Value,
) -> (Duration, serde_json::Value) {
    let body = serde_json::to_vec(&body).expect("body");
    let started = std::time::Instant::now();
    let resp = http
        .post(format!("{base}{path}?api_key={KEY}"))
        .header("stream-auth-type", "jwt")
        .header("authorization", server_token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request");
    let status = resp.status();
    let bytes = resp.bytes().await.expect("body");
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&bytes);
    assert!(status.is_success(), "{path}: {status} {text}");
    (took, serde_json::from_slice(&bytes).expect("json"))
}
