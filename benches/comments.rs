//! `get_comments` with depth 2 on an activity with 10,000 comments (issue
//! 5's bench): 2,000 top-level comments with 4 replies each, voted on so the
//! score sorts have work to do. Measures the core read plus the enrichment
//! and JSON a response needs, p50 and p99 over repeated reads, on SQLite, and
//! on PostgreSQL too with `TRIBUTARY_BENCH_PG=1` and
//! `TRIBUTARY_TEST_DATABASE_URL` (`TRIBUTARY_BENCH_PG=only` for just that).
//!
//! `cargo bench --bench comments`.

mod support;

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use tokio::runtime::Runtime;

use tributary::core::comments::{self, ThreadRequest};
use tributary::core::enrichment::Lookup;
use tributary::core::model::{Comment, CommentCounts, Reaction};
use tributary::core::storage::{Reactable, Store};
use tributary::core::time::Timestamp;
use tributary::core::users::{self, UserInput};
use tributary::core::{activities, feed_groups, Actor, Ctx};

const ROOTS: usize = 2_000;
const REPLIES: usize = 4;

fn comment(id: String, activity: &str, parent: Option<String>, user: usize, at: i64) -> Comment {
    Comment {
        id,
        object_type: "activity".into(),
        object_id: activity.into(),
        parent_id: parent,
        user_id: format!("u{}", user % 50),
        text: Some("a comment of ordinary length, a sentence or two long".into()),
        attachments: Vec::new(),
        custom: Default::default(),
        mentioned_user_ids: Vec::new(),
        status: "active".into(),
        created_at: Timestamp(at),
        updated_at: Timestamp(at),
        edited_at: None,
        deleted_at: None,
        i18n: None,
        counts: CommentCounts::default(),
    }
}

async fn load(ctx: &Ctx) -> String {
    feed_groups::install_built_in_groups(ctx).await.expect("groups");
    let inputs = (0..50).map(|i| UserInput { id: format!("u{i}"), ..Default::default() }).collect();
    users::upsert_users(ctx, inputs).await.expect("users");
    let req = serde_json::from_value(json!({"type": "post", "feeds": ["user:u0"], "user_id": "u0"})).expect("post");
    let post = activities::add_activity(ctx, &Actor::Server, req).await.expect("post").activities.remove(0).id;
    let started = Instant::now();
    let base = Timestamp::now().0 - 1_000_000_000_000;
    for chunk in (0..ROOTS).collect::<Vec<_>>().chunks(200) {
        let mut batch = Vec::new();
        for &r in chunk {
            let root = format!("r{r:05}");
            batch.push(comment(root.clone(), &post, None, r, base + (r * 10) as i64));
            for k in 0..REPLIES {
                batch.push(comment(
                    format!("{root}-{k}"),
                    &post,
                    Some(root.clone()),
                    r + k,
                    base + (r * 10 + k + 1) as i64,
                ));
            }
        }
        ctx.store.insert_comments(&batch, &[], &[]).await.expect("comments");
    }
    // Votes on every tenth root, so `top` and `best` order by real scores.
    for r in (0..ROOTS).step_by(10) {
        for v in 0..(r % 7) {
            let reaction = Reaction {
                activity_id: post.clone(),
                comment_id: Some(format!("r{r:05}")),
                user_id: format!("u{v}"),
                kind: if v % 3 == 0 { "downvote" } else { "upvote" }.into(),
                custom: None,
                created_at: Timestamp::now(),
                updated_at: Timestamp::now(),
            };
            ctx.store.put_reaction(Reactable::Comments, &reaction, true).await.expect("vote");
        }
    }
    eprintln!("  loaded {} comments in {:.1} s", ROOTS * (REPLIES + 1), started.elapsed().as_secs_f64());
    post
}

async fn measure(ctx: &Ctx, post: &str, sort: &str) {
    let mut times = Vec::new();
    for _ in 0..200 {
        let req: ThreadRequest = serde_json::from_value(json!({
            "object_id": post, "object_type": "activity", "depth": 2, "sort": sort, "limit": 25, "replies_limit": 3,
            "user_id": "u1"}))
        .expect("request");
        let started = Instant::now();
        let thread = comments::get_comments(ctx, &Actor::Server, req).await.expect("read");
        let mut all = Vec::new();
        for node in &thread.comments {
            all.push(&node.comment);
            all.extend(node.replies.iter().map(|r| &r.comment));
        }
        let lookup = Lookup::for_comments(ctx, all, Some("u1")).await.expect("lookup");
        let body: Vec<_> = thread.comments.iter().map(|n| lookup.thread(n)).collect();
        let bytes = serde_json::to_vec(&body).expect("json");
        times.push(started.elapsed());
        assert_eq!(thread.comments.len(), 25);
        assert!(thread.comments.iter().all(|n| n.replies.len() == 3) && !bytes.is_empty());
    }
    support::report(&format!("get_comments depth 2, sort {sort}"), times);
}

/// `analyze` refreshes PostgreSQL's planner statistics after the load, as
/// autovacuum would in a running deployment.
async fn run(name: &str, store: Arc<dyn Store>, analyze: Option<&tokio_postgres::Client>) {
    eprintln!("{name}:");
    let ctx = Ctx::new(store);
    let post = load(&ctx).await;
    if let Some(client) = analyze {
        client.batch_execute("ANALYZE").await.expect("analyze");
    }
    for sort in ["last", "top", "best"] {
        measure(&ctx, &post, sort).await;
    }
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
        if let Some(pg) = support::Postgres::connect("bench_c").await {
            run("postgres", pg.store.clone(), Some(&pg.client)).await;
            pg.drop().await;
        }
    });
}
