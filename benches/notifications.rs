//! Issue 15's bench: the first page of a notification feed over real HTTP.
//! `notification:reader` holds 10,000 notifications (written through the
//! API, 100 per batch) from 200 actors in 500 groups (500 activity types,
//! one day, under the built-in `{{ type }}-{{ time.strftime(...) }}`
//! format). Each read is `GetOrCreateFeed` of 25 groups with the server
//! token for `reader`, at one connection, p50 and p99 over repeated reads;
//! then the same after 100 more notifications joined existing groups (a
//! join is O(1) writes: their number, next to the rows in the feed, shows
//! it).
//!
//! `cargo bench --bench notifications` (SQLite; `TRIBUTARY_BENCH_PG=only`
//! with `TRIBUTARY_TEST_DATABASE_URL` for PostgreSQL, in a schema of its own
//! dropped afterwards).

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{pg_schema, post, report, serve_in_process, timed_post, token};

const NOTIFICATIONS: usize = 10_000;
const GROUPS: usize = 500;
const ACTORS: usize = 200;
const WARM_UP: usize = 20;
const READS: usize = 400;
const FEED: &str = "/api/v2/feeds/feed_groups/notification/feeds/reader";

/// `count` notifications, the `n`th of type `t{n % GROUPS}` from actor
/// `a{n % ACTORS}`, numbered from `first`.
async fn notify(http: &reqwest::Client, base: &str, auth: &str, first: usize, count: usize) {
    for chunk in (first..first + count).collect::<Vec<_>>().chunks(100) {
        let batch: Vec<Value> = chunk
            .iter()
            .map(|n| {
                json!({"type": format!("t{}", n % GROUPS), "feeds": ["notification:reader"],
                       "user_id": format!("a{}", n % ACTORS), "text": format!("notice {n}")})
            })
            .collect();
        post(http, base, auth, "/api/v2/feeds/activities/batch", json!({"activities": batch})).await;
    }
}

async fn read_page(http: &reqwest::Client, base: &str, auth: &str) -> (Duration, Value) {
    timed_post(http, base, auth, FEED, json!({"limit": 25, "user_id": "reader"})).await
}

async fn measure(what: &str, http: &reqwest::Client, base: &str, auth: &str) {
    let mut times = Vec::with_capacity(READS);
    // The first reads warm caches and the allocator; they are not counted.
    for i in 0..WARM_UP + READS {
        let (took, page) = read_page(http, base, auth).await;
        let groups = page["aggregated_activities"].as_array().map_or(0, Vec::len);
        assert_eq!(groups, 25, "a page of 25 groups");
        if i >= WARM_UP {
            times.push(took);
        }
    }
    report(what, times);
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
        let http = reqwest::Client::new();
        let auth = token(json!({}));
        let ids: Vec<String> = (0..ACTORS).map(|i| format!("a{i}")).chain(["reader".to_string()]).collect();
        for chunk in ids.chunks(100) {
            let users: serde_json::Map<String, Value> =
                chunk.iter().map(|id| (id.clone(), json!({"id": id, "name": id}))).collect();
            post(&http, &base, &auth, "/api/v2/users", json!({"users": users})).await;
        }

        eprintln!("notification bench on {store}: {NOTIFICATIONS} notifications in {GROUPS} groups");
        let started = Instant::now();
        notify(&http, &base, &auth, 0, NOTIFICATIONS).await;
        eprintln!("  loaded in {:.1} s", started.elapsed().as_secs_f64());
        let (_, page) = read_page(&http, &base, &auth).await;
        let first = &page["aggregated_activities"][0];
        eprintln!(
            "  first group {}: {} activities, {} users; unread {}",
            first["group"], first["activity_count"], first["user_count"], page["notification_status"]["unread"]
        );
        measure(&format!("{store}: first page of 25 of {GROUPS} groups, 1 connection"), &http, &base, &auth).await;

        // 100 more, each joining an existing group.
        let started = Instant::now();
        notify(&http, &base, &auth, NOTIFICATIONS, 100).await;
        eprintln!("  100 more notifications into existing groups in {:.0} ms", started.elapsed().as_secs_f64() * 1e3);
        measure(&format!("{store}: the same after groups grew"), &http, &base, &auth).await;

        shutdown.trigger();
        if let Some((client, _, schema)) = pg {
            client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await.expect("drop");
        }
    });
}
