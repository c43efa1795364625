//! Issue 16's bench: ranked reads over real HTTP, at one connection, p50 and
//! p99 over repeated reads.
//!
//! - **Ranked 25 of 1,000**: a custom group `ranked` (selector
//!   `current_feed`, ranking `decay_linear(time) * (1 + popularity)`), whose
//!   feed `ranked:r` holds 1,000 activities (written through the API, 200 of
//!   them reacted to); the first page of 25, then the second by its cursor.
//! - **For you over 1,000,000**: 10,000 users; `reader` follows 100 of them,
//!   who posted 10 activities each through the API; 1,000,000 more
//!   activities of the 10,000 users are inserted with one SQL statement (a
//!   million through the API would take most of the run), 1 in 100 with a
//!   popularity of 5 to 54. The built-in `foryou:reader` is read: its
//!   selectors (`following`, `popular`, and whatever else the built-in group
//!   names) each give up to 1,000 candidates, ranked by its expression.
//!
//! `cargo bench --bench ranked` (SQLite; `TRIBUTARY_BENCH_PG=only` with
//! `TRIBUTARY_TEST_DATABASE_URL` for PostgreSQL, in a schema of its own
//! dropped afterwards). `TRIBUTARY_BENCH_MILLION=0` skips the million.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{pg_schema, post, report, serve_in_process, timed_post, token};

const WARM_UP: usize = 20;
const READS: usize = 300;
const USERS: usize = 10_000;
const BULK: i64 = 1_000_000;

async fn timed(http: &reqwest::Client, base: &str, auth: &str, path: &str, body: Value) -> (Duration, Value) {
    timed_post(http, base, auth, path, body).await
}

async fn measure(what: &str, http: &reqwest::Client, base: &str, auth: &str, path: &str, body: Value) {
    let mut times = Vec::with_capacity(READS);
    // The first reads warm caches and the allocator; they are not counted.
    for i in 0..WARM_UP + READS {
        let (took, page) = timed(http, base, auth, path, body.clone()).await;
        assert_eq!(page["activities"].as_array().map_or(0, Vec::len), 25, "{what}: a page of 25");
        if i >= WARM_UP {
            times.push(took);
        }
    }
    report(what, times);
}

/// Writes `count` activities of `user` to `feed` through the API, 100 per batch.
async fn post_activities(http: &reqwest::Client, base: &str, auth: &str, feed: &str, user: &str, count: usize) {
    for first in (0..count).step_by(100) {
        let batch: Vec<Value> = (first..(first + 100).min(count))
            .map(|n| json!({"type": "post", "feeds": [feed], "user_id": user, "text": format!("post {n} of {user}")}))
            .collect();
        post(http, base, auth, "/api/v2/feeds/activities/batch", json!({"activities": batch})).await;
    }
}

async fn ranked_of_a_thousand(http: &reqwest::Client, base: &str, auth: &str, store: &str) {
    post(
        http,
        base,
        auth,
        "/api/v2/feeds/feed_groups",
        json!({"id": "ranked", "activity_selectors": [{"type": "current_feed"}],
               "ranking": {"type": "expression", "score": "decay_linear(time) * (1 + popularity)"}}),
    )
    .await;
    post(http, base, auth, "/api/v2/feeds/feed_groups/ranked/feeds/r", json!({"user_id": "a0"})).await;
    let started = Instant::now();
    post_activities(http, base, auth, "ranked:r", "a0", 1000).await;
    let page = post(
        http,
        base,
        auth,
        "/api/v2/feeds/activities/query",
        json!({"filter": {"feed": "ranked:r"}, "limit": 100, "user_id": "a0"}),
    )
    .await;
    let ids: Vec<String> =
        page["activities"].as_array().expect("activities").iter().map(|a| a["id"].as_str().unwrap().into()).collect();
    for (i, id) in ids.iter().cycle().take(200).enumerate() {
        let user = format!("a{}", i % 50 + 1);
        let kind = if i < ids.len() { "like" } else { "love" };
        post(
            http,
            base,
            auth,
            &format!("/api/v2/feeds/activities/{id}/reactions"),
            json!({"type": kind, "user_id": user}),
        )
        .await;
    }
    eprintln!("  ranked:r loaded (1,000 activities, 200 reactions) in {:.1} s", started.elapsed().as_secs_f64());
    let path = "/api/v2/feeds/feed_groups/ranked/feeds/r";
    let body = json!({"limit": 25, "user_id": "a0"});
    let (_, first) = timed(http, base, auth, path, body.clone()).await;
    let next = first["next"].as_str().expect("a next cursor").to_string();
    measure(&format!("{store}: ranked read, first 25 of 1,000"), http, base, auth, path, body).await;
    let second = json!({"limit": 25, "user_id": "a0", "next": next});
    measure(&format!("{store}: ranked read, second page"), http, base, auth, path, second).await;
}

/// Inserts `BULK` activities of users `u0..u9999` with SQL, one in 100
/// popular, none in any feed.
async fn bulk_activities(dir: &std::path::Path, pg: Option<&(tokio_postgres::Client, String, String)>) {
    let started = Instant::now();
    let base = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos() as i64
        - BULK * 1_000_000;
    let users = USERS as i64;
    match pg {
        None => {
            let conn = rusqlite::Connection::open(dir.join("tributary.sqlite3")).expect("open");
            conn.busy_timeout(Duration::from_secs(60)).expect("busy timeout");
            let template: String = conn
                .query_row("SELECT doc FROM activities WHERE user_id = 'u0' LIMIT 1", [], |r| r.get(0))
                .expect("template");
            conn.execute(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?2)
                 INSERT INTO activities (id, user_id, created_at, popularity, doc)
                 SELECT 'bulk' || i, 'u' || (i % ?4), ?3 + i * 1000000,
                        CASE WHEN i % 100 = 0 THEN 5 + (i / 100) % 50 ELSE 0 END,
                        json_set(?1, '$.id', 'bulk' || i, '$.user_id', 'u' || (i % ?4),
                                 '$.text', 'bulk post ' || i, '$.feeds', json_array('user:u' || (i % ?4)),
                                 '$.created_at', ?3 + i * 1000000, '$.updated_at', ?3 + i * 1000000)
                 FROM n",
                rusqlite::params![template, BULK, base, users],
            )
            .expect("bulk insert");
        }
        Some((client, _, schema)) => {
            let template: String = client
                .query_one(&format!("SELECT doc::text FROM {schema}.activities WHERE user_id = 'u0' LIMIT 1"), &[])
                .await
                .expect("template")
                .get(0);
            client
                .execute(
                    &format!(
                        "INSERT INTO {schema}.activities (id, user_id, created_at, popularity, doc)
                         SELECT 'bulk' || i, 'u' || (i % $3::bigint), $2::bigint + i * 1000000,
                                CASE WHEN i % 100 = 0 THEN 5 + (i / 100) % 50 ELSE 0 END,
                                $1::text::jsonb || jsonb_build_object('id', 'bulk' || i,
                                    'user_id', 'u' || (i % $3::bigint), 'text', 'bulk post ' || i,
                                    'feeds', jsonb_build_array('user:u' || (i % $3::bigint)),
                                    'created_at', $2::bigint + i * 1000000, 'updated_at', $2::bigint + i * 1000000)
                         FROM generate_series(0::bigint, $4::bigint - 1) i"
                    ),
                    &[&template, &base, &users, &BULK],
                )
                .await
                .expect("bulk insert");
            client.batch_execute(&format!("ANALYZE {schema}.activities")).await.expect("analyze");
        }
    }
    eprintln!("  inserted {BULK} activities with SQL in {:.1} s", started.elapsed().as_secs_f64());
}

async fn foryou_over_a_million(
    http: &reqwest::Client,
    base: &str,
    auth: &str,
    store: &str,
    dir: &std::path::Path,
    pg: Option<&(tokio_postgres::Client, String, String)>,
) {
    let started = Instant::now();
    let ids: Vec<String> = (0..USERS).map(|i| format!("u{i}")).chain(["reader".to_string()]).collect();
    for chunk in ids.chunks(100) {
        let users: serde_json::Map<String, Value> =
            chunk.iter().map(|id| (id.clone(), json!({"id": id, "name": id}))).collect();
        post(http, base, auth, "/api/v2/users", json!({"users": users})).await;
    }
    let follows: Vec<Value> =
        (0..100).map(|i| json!({"source": "foryou:reader", "target": format!("user:u{}", i * 97)})).collect();
    post(http, base, auth, "/api/v2/feeds/feed_groups/foryou/feeds/reader", json!({"user_id": "reader"})).await;
    for i in 0..100 {
        let user = format!("u{}", i * 97);
        post_activities(http, base, auth, &format!("user:{user}"), &user, 10).await;
    }
    post(http, base, auth, "/api/v2/feeds/follows/batch", json!({"follows": follows})).await;
    eprintln!("  10,000 users, 100 followed with 10 posts each, in {:.1} s", started.elapsed().as_secs_f64());
    bulk_activities(dir, pg).await;
    let path = "/api/v2/feeds/feed_groups/foryou/feeds/reader";
    let body = json!({"limit": 25, "user_id": "reader"});
    measure(&format!("{store}: foryou read over {BULK} activities"), http, base, auth, path, body).await;
}

fn main() {
    if !support::asked_to_measure() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("dir");
        let pg = pg_schema().await;
        let store = if pg.is_some() { "PostgreSQL" } else { "SQLite" };
        let (base, shutdown) = serve_in_process(dir.path(), pg.as_ref().map(|(_, url, _)| url.clone())).await;
        let http = reqwest::Client::builder().pool_idle_timeout(Duration::from_secs(5)).build().expect("client");
        let auth = token(json!({}));
        let users: serde_json::Map<String, Value> =
            (0..=50).map(|i| (format!("a{i}"), json!({"id": format!("a{i}"), "name": format!("a{i}")}))).collect();
        post(&http, &base, &auth, "/api/v2/users", json!({"users": users})).await;

        eprintln!("ranked bench on {store}");
        ranked_of_a_thousand(&http, &base, &auth, store).await;
        if std::env::var("TRIBUTARY_BENCH_MILLION").as_deref() != Ok("0") {
            foryou_over_a_million(&http, &base, &auth, store, dir.path(), pg.as_ref()).await;
        }

        shutdown.trigger();
        if let Some((client, _, schema)) = pg {
            client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await.expect("drop");
        }
    });
}
