//! Issue 14's bench: Tributary under HTTP load, next to the same-run
//! ceilings. The server runs in-process on 127.0.0.1; `reader`'s timeline
//! follows 100 `user:a{i}` feeds of 30 activities each (loaded through the
//! API). C keep-alive clients (`TRIBUTARY_BENCH_CONNECTIONS`, default 64)
//! each send requests back to back for a fixed time per scenario
//! (`TRIBUTARY_BENCH_SECONDS`, default 10):
//! 1. timeline read, 25 activities, server token with `user_id`;
//! 2. the same with a user token for `reader`;
//! 3. `query_activities` over the loaded activities, filtered on
//!    `activity_type` and `custom.n`;
//! 4. `add_activity` to a feed with no followers (one feed per client);
//! 5. a `notification:reader` feed read of 25 activities (100 activities of
//!    25 types written into it through the API);
//! 6. follow with a backfill: each request follows `user:celeb` (100
//!    activities) from a new timeline feed, at 8 connections;
//! 7. disk per timeline entry: the bytes of `feed_entries` and its indexes
//!    (SQLite `dbstat`, PostgreSQL `pg_total_relation_size`) over its rows,
//!    after (6);
//! 8. `query_activities` with the 2-clause filter of (3) in front of 100,000
//!    newer activities that mostly match, and
//! 9. a rare-match filter (1 activity in 100,000) over 1,000,000 activities,
//!    at 1 connection. The activities of (8) and (9) are inserted straight
//!    into the `activities` table with SQL (copies of a loaded activity's
//!    document with new ids, times, types and `custom.n`, no feed entries):
//!    through the API a million would take most of the time budget;
//! - J: a minimal axum server answering the bytes Tributary returned for (1),
//!   no storage, no rendering — the serialisation-and-HTTP ceiling for reads;
//! - H: a hello-world axum server.
//!
//! Then the fan-out section (`fanout`): an author with 10,000 followers
//! (loaded through the API) posts one activity at a time: the ack latency,
//! and the time until the activity is in the timeline of the follower the
//! fan-out reaches last. With `TRIBUTARY_BENCH_MILLION=1` also an author with
//! 1,000,000 followers loaded directly with SQL: ack latency and the time
//! until every timeline has the activity. `TRIBUTARY_BENCH_FANOUT=only` runs
//! the fan-out section alone.
//!
//! `cargo bench --bench http` (SQLite; `TRIBUTARY_BENCH_PG=only` with
//! `TRIBUTARY_TEST_DATABASE_URL` for PostgreSQL, in a schema of its own that
//! is dropped afterwards).

mod support;

use support::{pg_schema, post, token, KEY};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::header;
use serde_json::{json, Value};

const AUTHORS: usize = 100;
const PER_AUTHOR: usize = 30;
const TIMELINE: &str = "/api/v2/feeds/feed_groups/timeline/feeds/reader";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(default)
}

/// One request as the clients send it; `{w}` in the path or body is replaced
/// by the client's index (a feed of its own), `{n}` in the body by the
/// request's number.
#[derive(Clone)]
struct Req {
    url: String,
    token: Option<String>,
    body: String,
}

/// Requests sent so far, for `{n}`: a body naming something new each time.
static SENT: AtomicUsize = AtomicUsize::new(0);

impl Req {
    fn send(&self, http: &reqwest::Client, worker: usize) -> reqwest::RequestBuilder {
        let w = worker.to_string();
        let n = SENT.fetch_add(1, Ordering::Relaxed).to_string();
        let mut rb = http
            .post(self.url.replace("{w}", &w))
            .header(header::CONTENT_TYPE, "application/json")
            .body(self.body.replace("{w}", &w).replace("{n}", &n));
        if let Some(token) = &self.token {
            rb = rb.header("stream-auth-type", "jwt").header(header::AUTHORIZATION, token);
        }
        rb
    }
}

/// The same-run ceiling a read's rate is divided by.
enum Ceiling {
    Timeline,
    Notification,
    None,
}

struct Outcome {
    rate: f64,
    p50: Duration,
    p99: Duration,
}

/// `conns` clients on one pool of `conns` keep-alive connections, each
/// sending `req` back to back for `secs`; every answer must be a success.
async fn drive(what: &str, http: &reqwest::Client, req: &Req, conns: usize, secs: u64) -> Outcome {
    eprintln!("  {what}: {conns} connections for {secs} s …");
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let failures = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for worker in 0..conns {
        let (http, req, failures) = (http.clone(), req.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            while Instant::now() < deadline {
                let sent = Instant::now();
                let resp = req.send(&http, worker).send().await.expect("request");
                let ok = resp.status().is_success();
                let body = resp.bytes().await.expect("body");
                if !ok && failures.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!("    failed: {}", String::from_utf8_lossy(&body));
                }
                times.push(sent.elapsed());
            }
            times
        }));
    }
    let mut times = Vec::new();
    for task in tasks {
        times.extend(task.await.expect("client"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(failures.load(Ordering::Relaxed), 0, "{what}: failed requests");
    times.sort();
    let out = Outcome {
        rate: times.len() as f64 / elapsed,
        p50: support::percentile(&times, 0.5),
        p99: support::percentile(&times, 0.99),
    };
    eprintln!("    {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms", out.rate, ms(out.p50), ms(out.p99));
    out
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A minimal axum server answering every request with `body` as JSON.
async fn start_ceiling(body: Bytes, json: bool) -> String {
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move {
            let kind = if json { "application/json" } else { "text/plain" };
            ([(header::CONTENT_TYPE, kind)], body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("ceiling server") });
    format!("http://{addr}")
}

async fn load(http: &reqwest::Client, base: &str, server_token: &str) {
    let post = async |path: &str, body: Value| {
        post(http, base, server_token, path, body).await;
    };
    let started = Instant::now();
    let follows: Vec<Value> =
        (0..AUTHORS).map(|i| json!({"source": "timeline:reader", "target": format!("user:a{i}")})).collect();
    post("/api/v2/feeds/follows/batch", json!({"follows": follows, "create_users": true})).await;
    let all: Vec<Value> = (0..AUTHORS)
        .flat_map(|i| {
            (0..PER_AUTHOR).map(move |n| {
                json!({"type": "post", "feeds": [format!("user:a{i}")], "user_id": format!("a{i}"),
                       "text": format!("post {n} by a{i}"), "custom": {"n": n}})
            })
        })
        .collect();
    for (k, chunk) in all.chunks(100).enumerate() {
        post("/api/v2/feeds/activities/batch", json!({"activities": chunk, "create_users": true})).await;
        if (k + 1) % 10 == 0 {
            eprintln!("    {} of {} activities", (k + 1) * 100, all.len());
        }
    }
    eprintln!("  loaded in {:.1} s", started.elapsed().as_secs_f64());
}

/// Where the bench writes and measures with SQL of its own, beside the
/// server: the SQLite file, or the PostgreSQL schema.
enum Direct<'a> {
    Sqlite(std::path::PathBuf),
    Postgres(&'a tokio_postgres::Client, &'a str),
}

impl Direct<'_> {
    /// Inserts `count` copies of one of `a0`'s activities as `{tag}{i}`,
    /// newer than anything stored, `custom.n = i % 100`, of type `kind`
    /// except every `rare_every`th, of type `rare`.
    async fn bulk_activities(&self, tag: &str, count: usize, kind: &str, rare_every: usize) {
        let started = Instant::now();
        let base = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos() as i64;
        let (count, every) = (count as i64, rare_every as i64);
        match self {
            Direct::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).expect("open");
                conn.busy_timeout(Duration::from_secs(30)).expect("busy timeout");
                let template: String = conn
                    .query_row("SELECT doc FROM activities WHERE user_id = 'a0' LIMIT 1", [], |r| r.get(0))
                    .expect("template");
                conn.execute(
                    "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?3)
                     INSERT INTO activities (id, user_id, created_at, doc)
                     SELECT ?1 || i, 'a0', ?4 + i,
                            json_set(?2, '$.id', ?1 || i,
                                     '$.type', CASE WHEN ?5 > 0 AND i % ?5 = 0 THEN 'rare' ELSE ?6 END,
                                     '$.custom', json_object('n', i % 100),
                                     '$.created_at', ?4 + i, '$.updated_at', ?4 + i)
                     FROM n",
                    rusqlite::params![tag, template, count, base, every, kind],
                )
                .expect("bulk insert");
            }
            Direct::Postgres(client, schema) => {
                let template: String = client
                    .query_one(&format!("SELECT doc::text FROM {schema}.activities WHERE user_id = 'a0' LIMIT 1"), &[])
                    .await
                    .expect("template")
                    .get(0);
                client
                    .execute(
                        &format!(
                            "INSERT INTO {schema}.activities (id, user_id, created_at, doc)
                             SELECT $1::text || i, 'a0', $4::bigint + i,
                                    $2::text::jsonb || jsonb_build_object('id', $1::text || i,
                                        'type', CASE WHEN $5::bigint > 0 AND i % $5::bigint = 0
                                                     THEN 'rare' ELSE $6::text END,
                                        'custom', jsonb_build_object('n', i % 100),
                                        'created_at', $4::bigint + i, 'updated_at', $4::bigint + i)
                             FROM generate_series(0::bigint, $3::bigint - 1) i"
                        ),
                        &[&tag, &template, &count, &base, &every, &kind],
                    )
                    .await
                    .expect("bulk insert");
                client.batch_execute(&format!("ANALYZE {schema}.activities")).await.expect("analyze");
            }
        }
        eprintln!("  inserted {count} activities with SQL in {:.1} s", started.elapsed().as_secs_f64());
    }

    /// (bytes of the timeline table and its indexes, its rows).
    async fn timeline_size(&self) -> (i64, i64) {
        match self {
            Direct::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).expect("open");
                let bytes = conn
                    .query_row(
                        "SELECT SUM(pgsize) FROM dbstat WHERE name IN
                           (SELECT name FROM sqlite_schema WHERE tbl_name = 'feed_entries')",
                        [],
                        |r| r.get(0),
                    )
                    .expect("dbstat");
                let rows = conn.query_row("SELECT COUNT(*) FROM feed_entries", [], |r| r.get(0)).expect("count");
                (bytes, rows)
            }
            Direct::Postgres(client, schema) => {
                let table = format!("{schema}.feed_entries");
                let row = client
                    .query_one(
                        &format!("SELECT pg_total_relation_size('{table}'), (SELECT COUNT(*) FROM {table})"),
                        &[],
                    )
                    .await
                    .expect("size");
                (row.get(0), row.get(1))
            }
        }
    }
}

fn main() {
    if !support::asked_to_measure() {
        return;
    }
    let conns = env_usize("TRIBUTARY_BENCH_CONNECTIONS", 64);
    let secs = env_usize("TRIBUTARY_BENCH_SECONDS", 10) as u64;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    if std::env::var("TRIBUTARY_BENCH_FANOUT").as_deref() == Ok("only") {
        runtime.block_on(fanout::run());
        return;
    }
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("dir");
        let pg = pg_schema().await;
        let store = if pg.is_some() { "PostgreSQL" } else { "SQLite" };
        let (base, shutdown) = support::serve_in_process(dir.path(), pg.as_ref().map(|(_, url, _)| url.clone())).await;
        // Idle connections leave the pool before the server's 10 s
        // keep-alive bound closes them, so none is reused as it closes.
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(conns)
            .pool_idle_timeout(std::time::Duration::from_secs(5))
            .build()
            .expect("client");
        let server_token = token(json!({}));
        eprintln!(
            "http bench on {store}: {AUTHORS} authors × {PER_AUTHOR} activities, {conns} connections, {secs} s each"
        );
        load(&http, &base, &server_token).await;

        let timeline = |token: &str, body: Value| Req {
            url: format!("{base}{TIMELINE}?api_key={KEY}"),
            token: Some(token.to_string()),
            body: body.to_string(),
        };
        let server_read = timeline(&server_token, json!({"limit": 25, "user_id": "reader"}));
        let user_read = timeline(&token(json!({"user_id": "reader"})), json!({"limit": 25}));
        // The bytes of (1), captured once, for J.
        let resp = server_read.send(&http, 0).send().await.expect("capture");
        assert!(resp.status().is_success(), "timeline read: {}", resp.status());
        let captured = resp.bytes().await.expect("body");
        let page: Value = serde_json::from_slice(&captured).expect("json");
        let got = page["activities"].as_array().map_or(0, Vec::len);
        assert_eq!(got, 25, "the timeline page holds 25 activities");
        eprintln!("  timeline page: {} bytes", captured.len());

        let add = Req {
            url: format!("{base}/api/v2/feeds/activities?api_key={KEY}"),
            token: Some(server_token.clone()),
            body: json!({"type": "post", "feeds": ["user:w{w}"], "user_id": "w{w}", "text": "hello",
                         "create_users": true})
            .to_string(),
        };
        let query = Req {
            url: format!("{base}/api/v2/feeds/activities/query?api_key={KEY}"),
            token: Some(server_token.clone()),
            body: json!({"filter": {"activity_type": "post", "custom.n": {"$gte": 5}}, "limit": 25}).to_string(),
        };

        let mut rows: Vec<(String, Outcome, Ceiling)> = Vec::new();
        for (what, req, read) in [
            ("timeline read, server token", &server_read, Ceiling::Timeline),
            ("timeline read, user token", &user_read, Ceiling::Timeline),
            // Before the writes, so it filters the 3,000 loaded activities.
            ("query_activities, 2 clauses", &query, Ceiling::Timeline),
            ("add_activity, 0 followers", &add, Ceiling::None),
        ] {
            rows.push((what.to_string(), drive(what, &http, req, conns, secs).await, read));
        }

        // 5. A notification feed of 100 activities of 25 types, read 25 at a time.
        let notices: Vec<Value> = (0..100)
            .map(|i| {
                json!({"type": format!("n{}", i % 25), "feeds": ["notification:reader"],
                            "user_id": format!("a{}", i % AUTHORS), "text": format!("notice {i}")})
            })
            .collect();
        post(&http, &base, &server_token, "/api/v2/feeds/activities/batch", json!({"activities": notices})).await;
        let notification_read = Req {
            url: format!("{base}/api/v2/feeds/feed_groups/notification/feeds/reader?api_key={KEY}"),
            token: Some(server_token.clone()),
            body: json!({"limit": 25, "user_id": "reader"}).to_string(),
        };
        let resp = notification_read.send(&http, 0).send().await.expect("capture");
        assert!(resp.status().is_success(), "notification read: {}", resp.status());
        let notification_body = resp.bytes().await.expect("body");
        let page: Value = serde_json::from_slice(&notification_body).expect("json");
        // Aggregation is not built yet (`aggregated_activities` is empty), so
        // the page is 25 activities.
        let items = page["activities"].as_array().map_or(0, Vec::len);
        assert_eq!(items, 25, "the notification page holds 25 activities");
        eprintln!("  notification page: {} bytes", notification_body.len());
        let what = "notification feed read, 25 activities";
        rows.push((what.into(), drive(what, &http, &notification_read, conns, secs).await, Ceiling::Notification));

        // 6. Follows that each copy 100 activities into a new timeline.
        let celeb: Vec<Value> = (0..100)
            .map(|i| json!({"type": "post", "feeds": ["user:celeb"], "user_id": "celeb", "text": format!("celeb {i}")}))
            .collect();
        let body = json!({"activities": celeb, "create_users": true});
        post(&http, &base, &server_token, "/api/v2/feeds/activities/batch", body).await;
        let follow = Req {
            url: format!("{base}/api/v2/feeds/follows?api_key={KEY}"),
            token: Some(server_token.clone()),
            body: json!({"source": "timeline:f{n}", "target": "user:celeb"}).to_string(),
        };
        let what = "follow with a backfill of 100 activities, 8 connections";
        rows.push((what.into(), drive(what, &http, &follow, 8, secs).await, Ceiling::None));

        // 7. Disk per timeline entry, with the follows' copies in it.
        let direct = match &pg {
            Some((client, _, schema)) => Direct::Postgres(client, schema),
            None => Direct::Sqlite(dir.path().join("tributary.sqlite3")),
        };
        let (timeline_bytes, timeline_entries) = direct.timeline_size().await;

        // 8. and 9.: the same 2-clause filter with 100,000 newer activities in
        // front, then a rare match among 1,000,000.
        direct.bulk_activities("bulk", 100_000, "post", 0).await;
        let what = "query_activities, 2 clauses, 100,000 activities";
        rows.push((what.into(), drive(what, &http, &query, conns, secs).await, Ceiling::Timeline));
        direct.bulk_activities("rare", 900_000, "bulk", 100_000).await;
        let rare = Req {
            url: query.url.clone(),
            token: Some(server_token.clone()),
            body: json!({"filter": {"activity_type": "rare"}, "limit": 25}).to_string(),
        };
        let what = "query_activities, rare match in 1,000,000 activities, 1 connection";
        rows.push((what.into(), drive(what, &http, &rare, 1, secs).await, Ceiling::Timeline));
        shutdown.trigger();
        if let Some((client, _, schema)) = pg {
            client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await.expect("drop");
        }

        // The ceilings, on the same clients.
        let plain = |url: String| Req { url, token: None, body: server_read.body.clone() };
        let j = start_ceiling(captured.clone(), true).await;
        let j =
            drive("J: axum, the captured timeline bytes", &http, &plain(format!("{j}{TIMELINE}")), conns, secs).await;
        let h = start_ceiling(Bytes::from_static(b"Hello, World!"), false).await;
        let h = drive("H: axum hello world", &http, &plain(format!("{h}/")), conns, secs).await;
        let jn = start_ceiling(notification_body.clone(), true).await;
        let jn = drive("Jn: axum, the captured notification bytes", &http, &plain(jn), conns, secs).await;

        println!();
        println!("{store}, {conns} connections, {secs} s per scenario, timeline body {} B", captured.len());
        println!("| scenario | req/s | p50 ms | p99 ms | × J |");
        println!("|---|---:|---:|---:|---:|");
        let line = |what: &str, o: &Outcome, ratio: String| {
            println!("| {what} | {:.0} | {:.2} | {:.2} | {ratio} |", o.rate, ms(o.p50), ms(o.p99));
        };
        for (what, o, ceiling) in &rows {
            let ratio = match ceiling {
                Ceiling::Timeline => format!("{:.3}", o.rate / j.rate),
                Ceiling::Notification => format!("{:.3} of Jn", o.rate / jn.rate),
                Ceiling::None => "—".into(),
            };
            line(what, o, ratio);
        }
        line("J: axum, same bytes, no storage", &j, "1".into());
        line("H: axum hello world", &h, format!("{:.1}", h.rate / j.rate));
        line(&format!("Jn: axum, the notification bytes ({} B)", notification_body.len()), &jn, "—".into());
        println!(
            "| disk per timeline entry: {:.1} B ({timeline_bytes} B over {timeline_entries} entries) | | | | |",
            timeline_bytes as f64 / timeline_entries.max(1) as f64
        );
    });
    runtime.block_on(fanout::run());
}

/// Celebrity fan-out over HTTP: ack latency, and time until visible in
/// followers' timelines.
mod fanout {
    use std::time::{Duration, Instant};

    use serde_json::{json, Value};

    use super::support::{self, token};
    use super::{ms, pg_schema};

    /// Followers loaded through the API (follow_batch, 1,000 per request).
    const FOLLOWERS: usize = 10_000;
    /// Followers loaded with SQL for the million scenario.
    const MILLION: usize = 1_000_000;
    /// Activities posted one after the other per scenario.
    const POSTS: usize = 20;
    const MILLION_POSTS: usize = 3;

    struct Api {
        http: reqwest::Client,
        base: String,
        token: String,
    }

    impl Api {
        async fn post(&self, path: &str, body: &Value) -> Value {
            support::post(&self.http, &self.base, &self.token, path, body.clone()).await
        }

        /// The newest activity id in `timeline:{user}`.
        async fn newest(&self, user: &str) -> Option<String> {
            let page = self
                .post(
                    &format!("/api/v2/feeds/feed_groups/timeline/feeds/{user}"),
                    &json!({"limit": 1, "user_id": user}),
                )
                .await;
            page["activities"][0]["id"].as_str().map(str::to_string)
        }
    }

    fn follower(prefix: &str, i: usize) -> String {
        format!("{prefix}{i:07}")
    }

    /// `author` posts `posts` activities one at a time; for each, the ack
    /// latency and the time until `last` (the follower the fan-out reaches
    /// last: the highest feed id) shows it first in its timeline.
    async fn post_and_watch(api: &Api, author: &str, last: &str, posts: usize) -> (Vec<Duration>, Vec<Duration>) {
        let (mut acks, mut visible) = (Vec::new(), Vec::new());
        for n in 0..posts {
            let id = format!("{author}-post-{n}-{}", std::process::id());
            let sent = Instant::now();
            api.post(
                "/api/v2/feeds/activities",
                &json!({"id": id, "type": "post", "feeds": [format!("user:{author}")], "user_id": author,
                        "text": "to every follower"}),
            )
            .await;
            acks.push(sent.elapsed());
            while api.newest(last).await.as_deref() != Some(id.as_str()) {
                assert!(sent.elapsed() < Duration::from_secs(300), "{id} not in timeline:{last} within 300 s");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            visible.push(sent.elapsed());
        }
        (acks, visible)
    }

    fn line(what: &str, acks: &mut [Duration], visible: &mut [Duration]) {
        acks.sort();
        visible.sort();
        let p = |v: &[Duration], q| ms(support::percentile(v, q));
        println!(
            "| {what} | {:.1} | {:.1} | {:.1} | {:.1} |",
            p(acks, 0.5),
            p(acks, 0.99),
            p(visible, 0.5),
            p(visible, 0.99)
        );
    }

    /// Loads `n - 1` more followers of `user:{author}` (`timeline:{prefix}…`,
    /// the first exists already) straight into the follows table, and moves
    /// the author's follower count to match.
    async fn load_followers_sql(
        dir: &std::path::Path,
        pg: Option<&tokio_postgres::Client>,
        author: &str,
        prefix: &str,
        n: usize,
    ) {
        let started = Instant::now();
        let target = format!("user:{author}");
        match pg {
            Some(client) => {
                let sql = format!(
                    "INSERT INTO follows (source, target, status, created_at, updated_at, doc)
                     SELECT s, '{target}', 'accepted', 1, 1, jsonb_build_object('source', s, 'target', '{target}',
                        'status', 'accepted', 'push_preference', 'none', 'follower_role', 'follower',
                        'created_at', 1, 'updated_at', 1)
                     FROM (SELECT 'timeline:{prefix}' || lpad(i::text, 7, '0') AS s FROM generate_series(1, {last}) i) x;
                     UPDATE feeds SET follower_count = follower_count + {last} WHERE fid = '{target}';
                     ANALYZE follows;",
                    last = n - 1
                );
                client.batch_execute(&sql).await.expect("load followers");
            }
            None => {
                let path = dir.join("tributary.sqlite3");
                let sql = format!(
                    "BEGIN;
                     WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < {last})
                     INSERT INTO follows (source, target, status, created_at, updated_at, doc)
                     SELECT s, '{target}', 'accepted', 1, 1, json_object('source', s, 'target', '{target}',
                        'status', 'accepted', 'push_preference', 'none', 'follower_role', 'follower',
                        'created_at', 1, 'updated_at', 1)
                     FROM (SELECT 'timeline:{prefix}' || printf('%07d', i) AS s FROM k);
                     UPDATE feeds SET follower_count = follower_count + {last} WHERE fid = '{target}';
                     COMMIT;",
                    last = n - 1
                );
                tokio::task::spawn_blocking(move || {
                    let conn = rusqlite::Connection::open(path).expect("open");
                    conn.busy_timeout(Duration::from_secs(60)).expect("busy timeout");
                    conn.execute_batch(&sql).expect("load followers");
                })
                .await
                .expect("loader");
            }
        }
        eprintln!("  loaded {n} followers with SQL in {:.1} s", started.elapsed().as_secs_f64());
    }

    /// How many timelines hold `activity_id`.
    async fn copies(dir: &std::path::Path, pg: Option<&tokio_postgres::Client>, activity_id: &str) -> i64 {
        let sql = "SELECT COUNT(*) FROM feed_entries WHERE activity_seq = (SELECT seq FROM activities WHERE id = $1) AND NOT direct";
        match pg {
            Some(client) => client.query_one(sql, &[&activity_id]).await.expect("count").get(0),
            None => {
                let (path, id) = (dir.join("tributary.sqlite3"), activity_id.to_string());
                tokio::task::spawn_blocking(move || {
                    let conn = rusqlite::Connection::open(path).expect("open");
                    conn.busy_timeout(Duration::from_secs(60)).expect("busy timeout");
                    conn.query_row(&sql.replace("$1", "?1"), [id], |r| r.get(0)).expect("count")
                })
                .await
                .expect("count")
            }
        }
    }

    pub async fn run() {
        let dir = tempfile::tempdir().expect("dir");
        let pg = pg_schema().await;
        if let Some((client, _, schema)) = &pg {
            client.batch_execute(&format!("SET search_path TO {schema}")).await.expect("search path");
        }
        let store = if pg.is_some() { "PostgreSQL" } else { "SQLite" };
        let (base, shutdown) = support::serve_in_process(dir.path(), pg.as_ref().map(|(_, url, _)| url.clone())).await;
        let api = Api { http: reqwest::Client::new(), base, token: token(json!({})) };
        eprintln!("fan-out bench on {store}");

        let started = Instant::now();
        for chunk in (0..FOLLOWERS).collect::<Vec<_>>().chunks(1000) {
            let follows: Vec<Value> = chunk
                .iter()
                .map(|&i| json!({"source": format!("timeline:{}", follower("f", i)), "target": "user:celeb"}))
                .collect();
            api.post("/api/v2/feeds/follows/batch", &json!({"follows": follows, "create_users": true})).await;
        }
        eprintln!("  {FOLLOWERS} followers through the API in {:.1} s", started.elapsed().as_secs_f64());
        let (mut acks, mut visible) = post_and_watch(&api, "celeb", &follower("f", FOLLOWERS - 1), POSTS).await;

        println!();
        println!("{store}: fan-out, activities posted one at a time (ms)");
        println!("| scenario | ack p50 | ack p99 | visible p50 | visible p99 |");
        println!("|---|---:|---:|---:|---:|");
        line(&format!("{FOLLOWERS} followers, visible in the last one's timeline"), &mut acks, &mut visible);

        if std::env::var("TRIBUTARY_BENCH_MILLION").as_deref() == Ok("1") {
            let client = pg.as_ref().map(|(c, _, _)| c);
            api.post(
                "/api/v2/feeds/follows/batch",
                &json!({"follows": [{"source": format!("timeline:{}", follower("m", 0)), "target": "user:star"}],
                        "create_users": true}),
            )
            .await;
            load_followers_sql(dir.path(), client, "star", "m", MILLION).await;
            let (mut acks, mut everywhere) = (Vec::new(), Vec::new());
            for n in 0..MILLION_POSTS {
                let id = format!("star-post-{n}");
                let sent = Instant::now();
                api.post(
                    "/api/v2/feeds/activities",
                    &json!({"id": id, "type": "post", "feeds": ["user:star"], "user_id": "star", "text": "hi all"}),
                )
                .await;
                acks.push(sent.elapsed());
                loop {
                    let n = copies(dir.path(), client, &id).await;
                    if n >= MILLION as i64 {
                        break;
                    }
                    assert!(sent.elapsed() < Duration::from_secs(600), "{id}: {n} copies after 600 s");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                everywhere.push(sent.elapsed());
                eprintln!(
                    "  {id}: ack {:.1} ms, in all {MILLION} timelines after {:.0} ms",
                    ms(acks[n]),
                    ms(everywhere[n])
                );
                assert_eq!(api.newest(&follower("m", MILLION - 1)).await.as_deref(), Some(id.as_str()));
            }
            line(&format!("{MILLION} followers (SQL-loaded), visible in every timeline"), &mut acks, &mut everywhere);
        }
        shutdown.trigger();
        if let Some((client, _, schema)) = pg {
            client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await.expect("drop");
        }
    }
}
