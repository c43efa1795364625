//! The first numbers (issue 2): a 25-activity timeline page for a user who
//! follows 100 feeds, and `add_activity` to a feed with 10,000 followers.
//! Fan-out is synchronous, so the add latency *is* the time until every
//! follower timeline shows the activity (asserted after the run).
//!
//! Runs the domain core over the real stores (no HTTP): SQLite always, and
//! PostgreSQL too when `TRIBUTARY_TEST_DATABASE_URL` is set (each run in a
//! fresh schema): `cargo bench --bench feeds`.

use std::sync::Arc;

// The server's allocator (src/main.rs), so in-process numbers match the binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, Criterion};
use tokio::runtime::Runtime;

use tributary::core::activities::{self, NewActivity};
use tributary::core::enrichment::Lookup;
use tributary::core::feeds::{self, new_feed, FeedInput};
use tributary::core::follows::{self, FollowCmd};
use tributary::core::model::{Fid, Follow, FOLLOW_ACCEPTED};
use tributary::core::storage::Store;
use tributary::core::time::Timestamp;
use tributary::core::users::{self, UserInput};
use tributary::core::{feed_groups, Actor, Ctx};
use tributary::store::postgres::PostgresStore;
use tributary::store::sqlite::SqliteStore;

fn user(id: &str) -> UserInput {
    serde_json::from_value(serde_json::json!({ "id": id })).expect("user input")
}

fn post(author: &str, text: &str) -> NewActivity {
    serde_json::from_value(serde_json::json!({
        "type": "post", "feeds": [format!("user:{author}")], "text": text, "user_id": author,
    }))
    .expect("activity input")
}

/// A store under benchmark; `analyze` refreshes PostgreSQL's planner
/// statistics after setup, as autovacuum would in a running deployment.
struct Bench {
    name: &'static str,
    ctx: Ctx,
    pg: Option<tokio_postgres::Client>,
}

impl Bench {
    async fn analyze(&self) {
        if let Some(client) = &self.pg {
            client.batch_execute("ANALYZE").await.expect("analyze");
        }
    }
}

/// A fresh store of each kind available. The temp dir and schema live as
/// long as the process.
async fn stores(dir: &std::path::Path) -> Vec<Bench> {
    let mut out = Vec::new();
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(dir).expect("open sqlite"));
    out.push(("sqlite", sqlite, None));
    if let Ok(url) = std::env::var("TRIBUTARY_TEST_DATABASE_URL") {
        let schema = format!("bench_{}_{}", std::process::id(), Timestamp::now().0 % 1_000_000_007);
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect postgres");
        tokio::spawn(conn);
        client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.expect("create schema");
        let sep = if url.contains('?') { '&' } else { '?' };
        let scoped = format!("{url}{sep}options=-c%20search_path%3D{schema}");
        let pg: Arc<dyn Store> = Arc::new(PostgresStore::connect(&scoped).await.expect("open postgres"));
        client.batch_execute(&format!("SET search_path = {schema}")).await.expect("search path");
        out.push(("postgres", pg, Some(client)));
    } else {
        eprintln!("notice: TRIBUTARY_TEST_DATABASE_URL not set; benchmarking SQLite only");
    }
    let mut benches = Vec::new();
    for (name, store, pg) in out {
        let ctx = Ctx::new(store);
        feed_groups::install_built_in_groups(&ctx).await.expect("groups");
        benches.push(Bench { name, ctx, pg });
    }
    benches
}

fn timeline_read(c: &mut Criterion) {
    let rt = Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    for bench in rt.block_on(stores(dir.path())) {
        timeline_read_on(c, &rt, bench);
    }
}

fn timeline_read_on(c: &mut Criterion, rt: &Runtime, bench: Bench) {
    let (store, ctx) = (bench.name, &bench.ctx);
    rt.block_on(async {
        let mut ids: Vec<String> = (0..100).map(|i| format!("author{i}")).collect();
        ids.push("reader".into());
        for chunk in ids.chunks(100) {
            users::upsert_users(ctx, chunk.iter().map(|i| user(i)).collect()).await.expect("users");
        }
        for i in 0..100 {
            let author = format!("author{i}");
            let batch = (0..30).map(|n| post(&author, &format!("post {n}"))).collect();
            activities::upsert_activities(ctx, &Actor::Server, batch, false).await.expect("posts");
            let cmd: FollowCmd = serde_json::from_value(
                serde_json::json!({"source": "timeline:reader", "target": format!("user:{author}")}),
            )
            .expect("follow");
            follows::follow(ctx, &Actor::Server, cmd).await.expect("follow");
        }
        bench.analyze().await;
    });
    let fid = Fid::new("timeline", "reader").expect("fid");
    let cursors = ctx.cursor_scope("GetOrCreateFeed.activities");
    let name = format!("{store}: timeline page of 25 (following 100 feeds, 3000 entries), enriched + JSON");
    c.bench_function(&name, |b| {
        b.to_async(rt).iter(|| async {
            let (page, _, _) =
                feeds::read_page(ctx, &fid, 25, (None, None), &cursors, &Actor::Server.reader(Some("reader")), None)
                    .await
                    .expect("page");
            let lookup =
                Lookup::load(ctx, &page, &[], std::slice::from_ref(&fid), &Actor::Server.reader(Some("reader")))
                    .await
                    .expect("lookup");
            let body: Vec<_> = page.iter().map(|a| lookup.activity(a, Some(&fid))).collect();
            assert_eq!(body.len(), 25);
            serde_json::to_vec(&body).expect("json")
        })
    });
}

const FOLLOWERS: usize = 10_000;

fn fan_out(c: &mut Criterion) {
    let rt = Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    for bench in rt.block_on(stores(dir.path())) {
        fan_out_on(c, &rt, bench);
    }
}

fn fan_out_on(c: &mut Criterion, rt: &Runtime, bench: Bench) {
    let (store, ctx) = (bench.name, &bench.ctx);
    rt.block_on(async {
        users::upsert_users(ctx, vec![user("celebrity")]).await.expect("user");
        let target = Fid::new("user", "celebrity").expect("fid");
        let now = Timestamp::now();
        let mut new_feeds = vec![new_feed(&target, "visible", "celebrity", FeedInput::default(), now)];
        let follows: Vec<(Follow, Option<_>)> = (0..FOLLOWERS)
            .map(|i| {
                let source = Fid::new("timeline", &format!("fan{i}")).expect("fid");
                new_feeds.push(new_feed(&source, "visible", &format!("fan{i}"), FeedInput::default(), now));
                let follow = Follow {
                    source,
                    target: target.clone(),
                    status: FOLLOW_ACCEPTED.into(),
                    custom: None,
                    push_preference: "all".into(),
                    follower_role: "user".into(),
                    created_at: now,
                    updated_at: now,
                    request_accepted_at: None,
                    request_rejected_at: None,
                    activity_copy_limit: Some(0),
                };
                (follow, None)
            })
            .collect();
        ctx.store.insert_follows(&follows, &new_feeds).await.expect("follows");
        bench.analyze().await;
    });
    let mut group = c.benchmark_group(format!("{store}: fan-out"));
    group.sample_size(10);
    group.bench_function("add_activity to a feed with 10,000 followers (visible in all timelines)", |b| {
        b.to_async(rt).iter(|| async {
            activities::add_activity(ctx, &Actor::Server, post("celebrity", "hello fans")).await.expect("add")
        })
    });
    group.finish();
    rt.block_on(async {
        let last = Fid::new("timeline", &format!("fan{}", FOLLOWERS - 1)).expect("fid");
        let cursors = ctx.cursor_scope("GetOrCreateFeed.activities");
        let (page, _, _) =
            feeds::read_page(ctx, &last, 1, (None, None), &cursors, &Default::default(), None).await.expect("page");
        assert_eq!(page.first().map(|a| a.user_id.as_str()), Some("celebrity"), "fan-out reached the last follower");
    });
}

criterion_group!(benches, timeline_read, fan_out);
criterion_main!(benches);
