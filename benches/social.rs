//! Issue 6's bench: `follow` of a feed with 100 activities (each new follow
//! copies all 100 into the follower's timeline), and `query_follows` for a
//! feed with 100,000 followers (first page of 25, newest first, with the
//! enrichment and JSON a response needs), and follow suggestions from a
//! group of 100,000 feeds. p50 and p99 on SQLite, and on
//! PostgreSQL too with `TRIBUTARY_BENCH_PG=1` and
//! `TRIBUTARY_TEST_DATABASE_URL` (`TRIBUTARY_BENCH_PG=only` for just that).
//!
//! `cargo bench --bench social`.

mod support;

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use tokio::runtime::Runtime;

use tributary::core::enrichment::Lookup;
use tributary::core::feeds::{new_feed, FeedInput};
use tributary::core::filter::Filter;
use tributary::core::follows::{self, FollowCmd};
use tributary::core::model::{Fid, Follow, FOLLOW_ACCEPTED};
use tributary::core::storage::{ListQuery, Reader, Store};
use tributary::core::time::Timestamp;
use tributary::core::users::{self, UserInput};
use tributary::core::{activities, feed_groups, suggestions, Actor, Ctx, QueryRequest};

const FOLLOWERS: usize = 100_000;
const POSTS: usize = 100;
const SAMPLES: usize = 200;

/// `user:star` with 100 posts; `user:crowd` with 100,000 followers.
async fn load(ctx: &Ctx) {
    feed_groups::install_built_in_groups(ctx).await.expect("groups");
    let people = ["star", "crowd"].iter().map(|id| UserInput { id: id.to_string(), ..Default::default() }).collect();
    users::upsert_users(ctx, people).await.expect("users");
    for i in 0..POSTS {
        let req = serde_json::from_value(json!({"type": "post", "feeds": ["user:star"], "user_id": "star",
                                                 "text": format!("post {i}")}))
        .expect("post");
        activities::add_activity(ctx, &Actor::Server, req).await.expect("post");
    }
    let started = Instant::now();
    let crowd = Fid::new("user", "crowd").expect("fid");
    let base = Timestamp::now().0 - 1_000_000_000_000;
    let mut crowd_feed = vec![new_feed(&crowd, "visible", "crowd", FeedInput::default(), Timestamp(base))];
    for chunk in (0..FOLLOWERS).collect::<Vec<_>>().chunks(1000) {
        let mut new_feeds = std::mem::take(&mut crowd_feed);
        let follows: Vec<(Follow, Option<_>)> = chunk
            .iter()
            .map(|&i| {
                let source = Fid::new("timeline", &format!("fan{i}")).expect("fid");
                let at = Timestamp(base + i as i64 * 1000);
                new_feeds.push(new_feed(&source, "visible", &format!("fan{i}"), FeedInput::default(), at));
                let follow = Follow {
                    source,
                    target: crowd.clone(),
                    status: FOLLOW_ACCEPTED.into(),
                    custom: None,
                    push_preference: "all".into(),
                    follower_role: "user".into(),
                    created_at: at,
                    updated_at: at,
                    request_accepted_at: None,
                    request_rejected_at: None,
                    activity_copy_limit: Some(0),
                };
                (follow, None)
            })
            .collect();
        ctx.store.insert_follows(&follows, &new_feeds).await.expect("follows");
    }
    eprintln!("  loaded {FOLLOWERS} follows in {:.1} s", started.elapsed().as_secs_f64());
}

async fn measure_follow(ctx: &Ctx) {
    let mut times = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let cmd = FollowCmd {
            source: format!("timeline:reader{i}"),
            target: "user:star".into(),
            activity_copy_limit: Some(POSTS as i64),
            ..Default::default()
        };
        let started = Instant::now();
        let done = follows::follow(ctx, &Actor::Server, cmd).await.expect("follow");
        times.push(started.elapsed());
        assert!(done.created);
    }
    let fid = Fid::new("timeline", "reader0").expect("fid");
    let counts = ctx.store.feed_counts(std::slice::from_ref(&fid), Timestamp::now()).await.expect("counts");
    assert_eq!(counts[&fid].activity_count, POSTS as i64);
    support::report(&format!("follow with backfill of {POSTS} activities"), times);
}

async fn measure_query(ctx: &Ctx) {
    let (mut times, mut query_times) = (Vec::with_capacity(SAMPLES), Vec::with_capacity(SAMPLES));
    for _ in 0..SAMPLES {
        let req: QueryRequest =
            serde_json::from_value(json!({"filter": {"target_feed": "user:crowd"}, "limit": 25})).expect("query");
        let started = Instant::now();
        let page = follows::query_follows(ctx, &Actor::Server, req).await.expect("query");
        query_times.push(started.elapsed());
        let lookup = Lookup::load(ctx, &[], &page.items, &[], &Reader::default()).await.expect("lookup");
        let body: Vec<_> = page.items.iter().map(|f| lookup.follow(f)).collect();
        let bytes = serde_json::to_vec(&body).expect("json");
        times.push(started.elapsed());
        assert_eq!(page.items.len(), 25);
        assert!(page.next.is_some() && !bytes.is_empty());
    }
    support::report(&format!("query_follows of a feed with {FOLLOWERS} followers, first page of 25"), times);
    support::report("  of which the follows query", query_times);

    // Offset pages skip index entries, not documents.
    let mut deep = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let query = ListQuery {
            filter: Filter::eq("target_feed", "user:crowd"),
            sort: vec![("created_at", true)],
            limit: 26,
            offset: FOLLOWERS / 2,
        };
        let started = Instant::now();
        let page = ctx.store.query_follows(&query, &Reader::default()).await.expect("deep page");
        deep.push(started.elapsed());
        assert_eq!(page.len(), 26);
    }
    support::report(&format!("  the follows query for the page at offset {}", FOLLOWERS / 2), deep);
}

/// Suggestions from a group of 100,000 feeds: the candidates are the feeds
/// friends follow and the group's most followed, not the whole group.
async fn measure_suggestions(ctx: &Ctx) {
    let mut times = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let started = Instant::now();
        let found = suggestions::follow_suggestions(ctx, &Actor::Server, "timeline", Some(25), Some("star"))
            .await
            .expect("suggestions");
        times.push(started.elapsed());
        assert_eq!(found.items.len(), 25);
    }
    support::report(&format!("get_follow_suggestions from a group of {FOLLOWERS} feeds, 25"), times);
}

/// `analyze` refreshes PostgreSQL's planner statistics after the load, as
/// autovacuum would in a running deployment.
async fn run(name: &str, store: Arc<dyn Store>, analyze: Option<&tokio_postgres::Client>) {
    eprintln!("{name}:");
    let ctx = Ctx::new(store);
    load(&ctx).await;
    if let Some(client) = analyze {
        client.batch_execute("ANALYZE").await.expect("analyze");
    }
    measure_follow(&ctx).await;
    measure_query(&ctx).await;
    measure_suggestions(&ctx).await;
}

fn main() {
    if !support::asked_to_measure() {
        return;
    }
    let rt = Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    rt.block_on(async {
        if let Some(sqlite) = support::sqlite(dir.path()) {
            run("sqlite", sqlite, None).await;
        }
        if let Some(pg) = support::Postgres::connect("bench_s").await {
            run("postgres", pg.store.clone(), Some(&pg.client)).await;
            pg.drop().await;
        }
    });
}
