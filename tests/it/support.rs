//! Shared test support: an in-process server on an ephemeral port, JWT
//! helpers and a small JSON client that speaks Stream's auth conventions.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tributary::config::{
    AuthlessOptions, ConnectionLimits, CorsOrigins, FanoutOptions, MetricsOptions, RateLimitOptions, ServeConfig,
    TranslationOptions, WebhookHosts, WebhookOptions,
};
use tributary::shutdown::Shutdown;

pub const API_KEY: &str = "itkey";
pub const API_SECRET: &str = "it-secret-that-is-long-enough-for-hs256-0123456789";

/// Which store the tests run on: SQLite in each server's temp dir, or with
/// `TRIBUTARY_TEST_STORE=postgres` a fresh schema per server in the
/// database `TRIBUTARY_TEST_DATABASE_URL` names (dropped afterwards).
pub struct TestDatabase {
    pub url: Option<String>,
    schema: Option<(String, String)>,
}

pub fn postgres_mode() -> bool {
    std::env::var("TRIBUTARY_TEST_STORE").as_deref() == Ok("postgres")
}

impl TestDatabase {
    pub async fn new() -> TestDatabase {
        if !postgres_mode() {
            return TestDatabase { url: None, schema: None };
        }
        let base = std::env::var("TRIBUTARY_TEST_DATABASE_URL")
            .expect("TRIBUTARY_TEST_STORE=postgres needs TRIBUTARY_TEST_DATABASE_URL");
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let schema = format!("it_{}_{}_{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        let (client, connection) =
            tokio_postgres::connect(&base, tokio_postgres::NoTls).await.expect("connect postgres");
        tokio::spawn(connection);
        client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.expect("create schema");
        let sep = if base.contains('?') { '&' } else { '?' };
        // application_name marks this server's connections, so the cleanup
        // can end them (see Drop).
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}&application_name={schema}");
        TestDatabase { url: Some(url), schema: Some((base, schema)) }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((base, schema)) = self.schema.take() else { return };
        // Drop runs inside the test's runtime: clean up on a thread of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls).await.ok()?;
                tokio::spawn(connection);
                // The server ran inside the test's runtime, which is blocked
                // while this runs: a transaction it had open (a task claim, a
                // webhook lease) can never finish, would hold locks the DROP
                // waits for, and would hold back every other server's event
                // outbox (PostgreSQL readers wait for older transactions). End
                // its connections first.
                let terminate = format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{schema}'"
                );
                client.batch_execute(&terminate).await.ok()?;
                client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await.ok()
            })
        });
        let _ = cleanup.join();
    }
}

/// Rate limits, metrics and callers without a token, as `tributary serve`
/// takes them.
#[derive(Default)]
struct Operated {
    rate_limits: RateLimitOptions,
    metrics: MetricsOptions,
    authless: AuthlessOptions,
    translation: TranslationOptions,
}

/// A server running inside the test's runtime, stopped when dropped.
pub struct TestServer {
    pub base: String,
    shutdown: Shutdown,
    _dir: TempDir,
    _db: TestDatabase,
}

impl TestServer {
    pub async fn spawn() -> TestServer {
        TestServer::spawn_with(ConnectionLimits::default()).await
    }

    pub async fn spawn_with(limits: ConnectionLimits) -> TestServer {
        TestServer::spawn_configured(limits, CorsOrigins::Any).await
    }

    pub async fn spawn_with_cors(cors_origins: CorsOrigins) -> TestServer {
        TestServer::spawn_configured(ConnectionLimits::default(), cors_origins).await
    }

    async fn spawn_configured(limits: ConnectionLimits, cors_origins: CorsOrigins) -> TestServer {
        TestServer::spawn_full(limits, cors_origins, WebhookOptions::default(), FanoutOptions::default()).await
    }

    /// A server with these rate limits and metrics options.
    pub async fn spawn_operated(rate_limits: RateLimitOptions, metrics: MetricsOptions) -> TestServer {
        let operated = Operated { rate_limits, metrics, ..Default::default() };
        let (limits, cors, webhooks, fanout) =
            (ConnectionLimits::default(), CorsOrigins::Any, WebhookOptions::default(), FanoutOptions::default());
        TestServer::spawn_all(limits, cors, webhooks, fanout, operated).await
    }

    /// Webhooks go to loopback receivers only: tests configure hooks to
    /// `*.example` hosts that must never be looked up.
    pub fn loopback_webhooks() -> WebhookHosts {
        WebhookHosts::List(vec!["127.0.0.1".into(), "localhost".into()])
    }

    pub async fn spawn_with_webhooks(webhooks: WebhookOptions) -> TestServer {
        TestServer::spawn_full(ConnectionLimits::default(), CorsOrigins::Any, webhooks, FanoutOptions::default()).await
    }

    /// Background fan-out in batches of `fanout_batch` follower feeds.
    pub async fn spawn_with_fanout_batch(fanout_batch: usize) -> TestServer {
        let fanout = FanoutOptions { fanout_batch };
        TestServer::spawn_full(ConnectionLimits::default(), CorsOrigins::Any, WebhookOptions::default(), fanout).await
    }

    /// A server with this translation provider configuration.
    pub async fn spawn_with_translation(translation: TranslationOptions) -> TestServer {
        let (limits, webhooks, fanout) =
            (ConnectionLimits::default(), WebhookOptions::default(), FanoutOptions::default());
        let operated = Operated { translation, ..Default::default() };
        TestServer::spawn_all(limits, CorsOrigins::Any, webhooks, fanout, operated).await
    }

    /// Guests and anonymous callers let in or not (`--allow-guests`, `--allow-anonymous`).
    pub async fn spawn_with_authless(authless: AuthlessOptions) -> TestServer {
        let (limits, webhooks, fanout) =
            (ConnectionLimits::default(), WebhookOptions::default(), FanoutOptions::default());
        TestServer::spawn_all(limits, CorsOrigins::Any, webhooks, fanout, Operated { authless, ..Default::default() })
            .await
    }

    async fn spawn_full(
        limits: ConnectionLimits,
        cors_origins: CorsOrigins,
        webhooks: WebhookOptions,
        fanout: FanoutOptions,
    ) -> TestServer {
        TestServer::spawn_all(limits, cors_origins, webhooks, fanout, Operated::default()).await
    }

    async fn spawn_all(
        limits: ConnectionLimits,
        cors_origins: CorsOrigins,
        webhooks: WebhookOptions,
        fanout: FanoutOptions,
        operated: Operated,
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = TestDatabase::new().await;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let config = ServeConfig {
            addr,
            data_dir: dir.path().to_path_buf(),
            database_url: db.url.clone(),
            api_key: Some(API_KEY.to_string()),
            api_secret: Some(API_SECRET.to_string()),
            cors_origins,
            limits,
            webhooks: WebhookOptions { webhook_hosts: TestServer::loopback_webhooks(), ..webhooks },
            fanout,
            authless: operated.authless,
            rate_limits: operated.rate_limits,
            metrics: operated.metrics,
            user_data: Default::default(),
            uploads: Default::default(),
            translation: operated.translation,
        };
        let shutdown = Shutdown::default();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let result = tributary::serve(config, listener, stop, move |_, _| {
                let _ = ready_tx.send(());
            })
            .await;
            if let Err(e) = result {
                eprintln!("test server stopped with an error: {e}");
            }
        });
        tokio::time::timeout(Duration::from_secs(20), ready_rx)
            .await
            .expect("server did not become ready within 20 s")
            .expect("server failed to start (see stderr)");
        TestServer { base: format!("http://{addr}"), shutdown, _dir: dir, _db: db }
    }

    /// A client authenticated with a server token.
    pub fn server(&self) -> Client {
        Client::new(&self.base).with_token(server_token())
    }

    /// A client authenticated as `user_id`.
    pub fn user(&self, user_id: &str) -> Client {
        Client::new(&self.base).with_token(user_token(user_id))
    }

    /// A second handle on the server's database, for tests that look at or
    /// write rows below the HTTP surface.
    pub async fn open_store(&self) -> std::sync::Arc<dyn tributary::core::storage::Store> {
        match &self._db.url {
            Some(url) => {
                std::sync::Arc::new(tributary::store::postgres::PostgresStore::connect(url).await.expect("pg"))
            }
            None => std::sync::Arc::new(tributary::store::sqlite::SqliteStore::open(self._dir.path()).expect("sqlite")),
        }
    }
}

/// The integer `sql` answers, read straight from a server's database (the
/// SQLite file in `dir`, or PostgreSQL at `url`): for what the API does not
/// show, such as how far a background job has got.
pub async fn count_in_database(dir: &std::path::Path, url: Option<&str>, sql: &str) -> i64 {
    match url {
        Some(url) => {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
            tokio::spawn(connection);
            client.query_one(sql, &[]).await.expect("count").get::<_, i64>(0)
        }
        None => {
            let conn = rusqlite::Connection::open(dir.join("tributary.sqlite3")).expect("open sqlite");
            conn.busy_timeout(Duration::from_secs(5)).expect("busy timeout");
            conn.query_row(sql, [], |r| r.get(0)).expect("count")
        }
    }
}

impl TestServer {
    pub async fn count_in_database(&self, sql: &str) -> i64 {
        count_in_database(self._dir.path(), self._db.url.as_deref(), sql).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.trigger();
        // Let the server finish its in-flight work before the schema goes.
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after epoch").as_secs() as i64
}

/// HS256 JWT over arbitrary claims, signed with the test secret.
pub fn token(claims: &Value) -> String {
    token_with(Header::default(), claims, API_SECRET)
}

pub fn token_with(header: Header, claims: &Value, secret: &str) -> String {
    encode(&header, claims, &EncodingKey::from_secret(secret.as_bytes())).expect("sign jwt")
}

/// What the Python SDK signs for server-side calls: an empty claim set.
pub fn server_token() -> String {
    token(&json!({}))
}

pub fn user_token(user_id: &str) -> String {
    token(&json!({ "user_id": user_id }))
}

/// A JSON client adding `?api_key=…`, `stream-auth-type: jwt` and
/// `Authorization: <token>` to every request.
#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    api_key: Option<String>,
    token: Option<String>,
    auth_type: &'static str,
}

impl Client {
    pub fn new(base: &str) -> Client {
        // The server closes a keep-alive connection that waits longer than
        // its header-read timeout (10 s) for the next request; a pool that
        // keeps idle connections for less never reuses one as it closes.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(5))
            .build()
            .expect("http client");
        let base = base.trim_end_matches('/').to_string();
        Client { base, http, api_key: Some(API_KEY.to_string()), token: None, auth_type: "jwt" }
    }

    pub fn with_token(mut self, token: impl Into<String>) -> Client {
        self.token = Some(token.into());
        self
    }

    pub fn without_token(mut self) -> Client {
        self.token = None;
        self
    }

    /// An anonymous caller, as the feeds-client's `connectAnonymous`:
    /// `stream-auth-type: anonymous` and an empty `Authorization`.
    pub fn anonymous(mut self) -> Client {
        self.auth_type = "anonymous";
        self.token = Some(String::new());
        self
    }

    pub fn with_api_key(mut self, key: Option<&str>) -> Client {
        self.api_key = key.map(str::to_string);
        self
    }

    fn url(&self, path: &str) -> String {
        let mut url = format!("{}{path}", self.base);
        if let Some(key) = &self.api_key {
            url.push(if path.contains('?') { '&' } else { '?' });
            url.push_str("api_key=");
            url.push_str(key);
        }
        url
    }

    /// Sends one request; transport errors are returned, not panicked on.
    pub async fn try_send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        let mut req = self.http.request(method.clone(), self.url(path)).header("stream-auth-type", self.auth_type);
        if let Some(token) = &self.token {
            req = req.header("Authorization", token);
        }
        if let Some(body) = body {
            req = req.header("Content-Type", "application/json").body(body);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{method} {path} → {status}: body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
            )
        });
        if status.is_success() {
            assert!(
                value.get("duration").is_some_and(Value::is_string),
                "{method} {path} → {status}: success body lacks a string `duration`: {value}"
            );
        }
        Ok((status, value))
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Vec<u8>>) -> (StatusCode, Value) {
        let m = method.clone();
        self.try_send(method, path, body).await.unwrap_or_else(|e| panic!("{m} {path}: transport error: {e}"))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::DELETE, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(body.to_string().into_bytes())).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(Method::PUT, path, Some(body.to_string().into_bytes())).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(Method::PATCH, path, Some(body.to_string().into_bytes())).await
    }

    pub async fn post_raw(&self, path: &str, body: impl Into<Vec<u8>>) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(body.into())).await
    }

    // ---- domain shortcuts (server token expected) ----

    pub async fn create_users(&self, ids: &[&str]) {
        let users: serde_json::Map<String, Value> =
            ids.iter().map(|id| (id.to_string(), json!({ "id": id }))).collect();
        let (status, body) = self.post("/api/v2/users", &json!({ "users": users })).await;
        assert_eq!(status, StatusCode::CREATED, "create users {ids:?}: {body}");
    }

    /// Adds an activity server-side and returns the `activity` object.
    pub async fn add_activity(&self, user_id: &str, feeds: &[&str], extra: Value) -> Value {
        let mut body = json!({ "type": "post", "feeds": feeds, "user_id": user_id });
        if let Value::Object(extra) = extra {
            body.as_object_mut().expect("object").extend(extra);
        }
        let (status, resp) = self.post("/api/v2/feeds/activities", &body).await;
        assert_eq!(status, StatusCode::CREATED, "add_activity {body}: {resp}");
        resp["activity"].clone()
    }

    pub async fn follow(&self, source: &str, target: &str, extra: Value) -> Value {
        let mut body = json!({ "source": source, "target": target });
        if let Value::Object(extra) = extra {
            body.as_object_mut().expect("object").extend(extra);
        }
        let (status, resp) = self.post("/api/v2/feeds/follows", &body).await;
        assert_eq!(status, StatusCode::CREATED, "follow {body}: {resp}");
        resp
    }

    /// One page of a feed read (`GetOrCreateFeed`) as `user_id`.
    pub async fn read_feed(&self, fid: &str, user_id: &str, mut params: Value) -> Value {
        let (group, id) = fid.split_once(':').expect("group:id");
        params["user_id"] = json!(user_id);
        let (status, body) = self.post(&format!("/api/v2/feeds/feed_groups/{group}/feeds/{id}"), &params).await;
        assert_eq!(status, StatusCode::CREATED, "read {fid} {params}: {body}");
        body
    }

    /// The ids of the first page (up to 100) of a feed, in order.
    pub async fn feed_ids(&self, fid: &str, user_id: &str) -> Vec<String> {
        // An aggregated feed's activities are listed flat only when asked.
        let flat = json!({ "limit": 100, "enrichment_options": { "include_flat_activities": true } });
        ids_of(&self.read_feed(fid, user_id, flat).await)
    }
}

/// The activity ids of a feed-read response, in order (for an aggregated
/// feed, read with `include_flat_activities`).
pub fn ids_of(read: &Value) -> Vec<String> {
    read["activities"]
        .as_array()
        .unwrap_or_else(|| panic!("no activities array in {read}"))
        .iter()
        .map(|a| a["id"].as_str().expect("activity id").to_string())
        .collect()
}

/// Checks a Stream `APIError` body: all six required keys with the right
/// values (`details` must be `[]`).
#[track_caller]
pub fn assert_api_error(body: &Value, status: StatusCode, code: i64) {
    let obj = body.as_object().unwrap_or_else(|| panic!("error body is not an object: {body}"));
    for key in ["code", "message", "StatusCode", "duration", "more_info", "details"] {
        assert!(obj.contains_key(key), "APIError lacks `{key}`: {body}");
    }
    assert_eq!(body["code"].as_i64(), Some(code), "APIError code: {body}");
    assert_eq!(body["StatusCode"].as_u64(), Some(status.as_u16() as u64), "APIError StatusCode: {body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "APIError message: {body}");
    assert!(body["duration"].is_string(), "APIError duration must be a string: {body}");
    assert!(body["more_info"].is_string(), "APIError more_info must be a string: {body}");
    assert_eq!(body["details"], json!([]), "APIError details must be []: {body}");
}

/// `assert_api_error` plus the HTTP status itself.
#[track_caller]
pub fn assert_error(resp: &(StatusCode, Value), status: StatusCode, code: i64) {
    assert_eq!(resp.0, status, "HTTP status (body {})", resp.1);
    assert_api_error(&resp.1, status, code);
}

/// Whether a JSON value is an integer (not a float, not a string).
pub fn is_integer(v: &Value) -> bool {
    v.is_i64() || v.is_u64()
}
