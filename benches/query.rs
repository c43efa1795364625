//! `query_activities` with a 3-clause filter over 1,000,000 activities
//! (issue 4's bench): p50 and p99 over repeated queries, on SQLite, and on
//! PostgreSQL too when `TRIBUTARY_BENCH_PG=1` (or only there with
//! `TRIBUTARY_BENCH_PG=only`) and `TRIBUTARY_TEST_DATABASE_URL` are set
//! (loading a million rows there takes minutes).
//!
//! `cargo bench --bench query` (set `TRIBUTARY_BENCH_ROWS` for another size).

mod support;

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use tokio::runtime::Runtime;

use tributary::core::activities::{self, QueryActivities};
use tributary::core::model::{Activity, Fid};
use tributary::core::storage::Store;
use tributary::core::time::Timestamp;
use tributary::core::users::{self, UserInput};
use tributary::core::{feed_groups, Actor, Ctx};

const BATCH: usize = 1000;

fn activity(i: usize, base: i64) -> Activity {
    let user = format!("u{}", i % 100);
    Activity {
        id: format!("a{i:07}"),
        kind: ["post", "photo", "video"][i % 3].to_string(),
        user_id: user.clone(),
        feeds: vec![Fid::new("user", &user).expect("fid")],
        text: Some(format!("activity number {i}")),
        attachments: Vec::new(),
        custom: json!({"n": i % 100}).as_object().cloned().unwrap_or_default(),
        visibility: "public".into(),
        visibility_tag: None,
        location: None,
        expires_at: None,
        mentioned_user_ids: Vec::new(),
        parent_id: None,
        poll_id: None,
        search_data: Default::default(),
        filter_tags: vec![format!("t{}", i % 10)],
        interest_tags: Vec::new(),
        collection_refs: Vec::new(),
        notification_context: None,
        restrict_replies: "everyone".into(),
        created_at: Timestamp(base + i as i64 * 1_000),
        updated_at: Timestamp(base + i as i64 * 1_000),
        edited_at: None,
        deleted_at: None,
        i18n: None,
    }
}

async fn load(ctx: &Ctx, rows: usize) {
    feed_groups::install_built_in_groups(ctx).await.expect("groups");
    let inputs = (0..100).map(|i| UserInput { id: format!("u{i}"), ..Default::default() }).collect();
    users::upsert_users(ctx, inputs).await.expect("users");
    let base = Timestamp::now().0 - rows as i64 * 1_000;
    let started = Instant::now();
    for chunk in (0..rows).collect::<Vec<_>>().chunks(BATCH) {
        let batch: Vec<Activity> = chunk.iter().map(|&i| activity(i, base)).collect();
        ctx.store.save_activities(&batch, &[]).await.expect("save");
    }
    eprintln!("  loaded {rows} activities in {:.1} s", started.elapsed().as_secs_f64());
}

async fn measure(ctx: &Ctx, label: &str, filter: serde_json::Value) {
    let mut times = Vec::new();
    for _ in 0..200 {
        let q: QueryActivities = serde_json::from_value(json!({"filter": filter, "limit": 25})).expect("query");
        let started = Instant::now();
        let (found, _, _) = activities::query_activities(ctx, &Actor::Server, q).await.expect("query");
        times.push(started.elapsed());
        assert!(!found.is_empty(), "{label} matches something");
    }
    support::report(label, times);
}

async fn run(name: &str, store: Arc<dyn Store>, rows: usize) {
    eprintln!("{name}:");
    let ctx = Ctx::new(store);
    load(&ctx, rows).await;
    measure(
        &ctx,
        "type + tag + custom.n >= 50 (common)",
        json!({
        "activity_type": "post", "filter_tags": {"$contains": "t4"}, "custom.n": {"$gte": 50}}),
    )
    .await;
    measure(
        &ctx,
        "user_id + type + created_at range (indexed)",
        json!({
        "user_id": "u7", "activity_type": {"$in": ["post", "video"]},
        "created_at": {"$gte": "2000-01-01T00:00:00Z"}}),
    )
    .await;
    measure(
        &ctx,
        "custom.n == 99 + tag + text $q (rare)",
        json!({
        "custom.n": 99, "filter_tags": {"$contains": "t9"}, "text": {"$q": "activity"}}),
    )
    .await;
}

fn main() {
    if !support::asked_to_measure() {
        return;
    }
    let rows: usize = std::env::var("TRIBUTARY_BENCH_ROWS").ok().and_then(|r| r.parse().ok()).unwrap_or(1_000_000);
    let rt = Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    rt.block_on(async {
        if let Some(sqlite) = support::sqlite(dir.path()) {
            run("sqlite", sqlite, rows).await;
        }
        if let Some(pg) = support::Postgres::connect("bench_q").await {
            run("postgres", pg.store.clone(), rows).await;
            pg.drop().await;
        }
    });
}
