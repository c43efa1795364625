//! Store parity: the same scenarios, called on the `Store` trait directly
//! (no HTTP, no core), run on every backend available — SQLite always, and
//! PostgreSQL in a fresh schema when `TRIBUTARY_TEST_DATABASE_URL` is set.
//! They pin today's behaviour below HTTP so the stores can be refactored
//! (issue 12, "one store") without drifting apart.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};
use tempfile::TempDir;
use tributary::core::events::{Event, EventType};
use tributary::core::filter::Filter;
use tributary::core::model::{
    Activity, Bookmark, BookmarkFolder, Collection, Comment, CommentCounts, Feed, FeedGroup, FeedGroupConfig,
    FeedMember, FeedView, Feedback, Fid, Follow, MetricEvent, Poll, PollOption, PollVote, Reaction, Task, TaskStatus,
    TaskWork, User, VoteOutcome, LATEST_REACTIONS,
};
use tributary::core::storage::{
    ActivityOrder, ActivityQuery, Backlog, ExtraWrites, FanoutJob, FanoutStep, FeedPosition, FeedSlice, FeedViewInsert,
    GroupMembers, GroupPosition, GroupSlice, ListQuery, Marks, NotificationWindow, Reactable, Reader, Store,
    StoriesView,
};
use tributary::core::time::Timestamp;
use tributary::store::db::{Arg, Db, Dialect};
use tributary::store::postgres::{PostgresStore, STATEMENT_CACHE_CAP};
use tributary::store::sqlite::SqliteStore;

// ---------------------------------------------------------------- harness

/// One backend under test; the store is dropped before its schema or dir.
struct Backend {
    name: &'static str,
    store: Arc<dyn Store>,
    _place: Place,
}

/// Where a backend's data lives; held only to be cleaned up on drop.
#[allow(dead_code)]
enum Place {
    Dir(TempDir),
    Schema(PgSchema),
}

/// A fresh PostgreSQL schema, dropped (with everything in it) afterwards.
struct PgSchema {
    base: String,
    schema: String,
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (base, schema) = (self.base.clone(), self.schema.clone());
        // Drop may run inside a runtime: clean up on a thread of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls).await.ok()?;
                tokio::spawn(connection);
                client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await.ok()
            })
        });
        let _ = cleanup.join();
    }
}

async fn sqlite() -> Backend {
    let (store, dir) = sqlite_store().await;
    Backend { name: "sqlite", store: Arc::new(store), _place: Place::Dir(dir) }
}

/// A SQLite store in a fresh directory, removed with the `TempDir`.
async fn sqlite_store() -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_path_buf();
    let store = tokio::task::spawn_blocking(move || SqliteStore::open(&path)).await.expect("join").expect("sqlite");
    (store, dir)
}

async fn postgres(base: String) -> Backend {
    let (store, place) = postgres_store(base).await;
    Backend { name: "postgres", store: Arc::new(store), _place: Place::Schema(place) }
}

/// A PostgreSQL store in a fresh schema, dropped with the `PgSchema`.
async fn postgres_store(base: String) -> (PostgresStore, PgSchema) {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let schema = format!("parity_{}_{}_{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
    let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls).await.expect("connect postgres");
    tokio::spawn(connection);
    client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.expect("create schema");
    let place = PgSchema { base: base.clone(), schema: schema.clone() };
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    (PostgresStore::connect(&url).await.expect("postgres store"), place)
}

/// The PostgreSQL database to test on, if `TRIBUTARY_TEST_DATABASE_URL`
/// names one.
fn database_url() -> Option<String> {
    std::env::var("TRIBUTARY_TEST_DATABASE_URL").ok().filter(|url| !url.is_empty())
}

/// Every backend available: SQLite, plus PostgreSQL when
/// `TRIBUTARY_TEST_DATABASE_URL` names a database.
async fn backends() -> Vec<Backend> {
    let mut all = vec![sqlite().await];
    if let Some(url) = database_url() {
        all.push(postgres(url).await);
    }
    all
}

/// One `#[tokio::test]` per scenario, running it on a fresh store of each
/// backend in turn; stderr names the backend a failure happened on.
macro_rules! parity {
    ($($scenario:ident),* $(,)?) => {
        mod on_every_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    for backend in super::backends().await {
                        eprintln!("scenario {} on {}", stringify!($scenario), backend.name);
                        super::$scenario(backend.store.as_ref()).await;
                    }
                }
            )*
        }
    };
}

parity!(
    users_upsert_get_query,
    activities_save_get_and_feed_slices,
    follow_fans_out_and_copies_up_to_limit,
    unfollow_with_and_without_history,
    soft_delete_hides_and_restores,
    purge_removes_activities_everywhere,
    reactions_put_delete_and_summaries,
    comments_replies_and_counts,
    bookmarks_insert_move_delete,
    collections_all_or_nothing_and_upsert,
    polls_and_votes,
    tasks_claim_finish_and_lease_expiry,
    conditional_writes_refuse_stale_versions,
    settings_replace_only_the_value_read,
    extra_writes_roll_back_with_the_main_write,
    query_activities_filters_and_pages,
    lenient_writes_on_missing_targets,
    outbox_reads_committed_events_in_order,
    per_item_events_only_for_what_the_write_changed,
    background_fan_out_in_leased_batches,
    enrichment_reads_agree_with_the_single_reads,
    aggregation_groups_join_mark_and_leave,
    stories_show_live_and_watched_stories_for_their_viewer,
    feed_views_insert_replace_delete_and_cap,
    uploads_record_get_and_forget,
    push_devices_preferences_and_translations,
);

// ---------------------------------------------------------------- builders

/// A fixed instant plus `seconds`, so orderings never depend on the clock.
fn t(seconds: i64) -> Timestamp {
    Timestamp(1_700_000_000_000_000_000).plus_seconds(seconds)
}

fn fid(text: &str) -> Fid {
    Fid::parse(text).expect("fid")
}

fn ids(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn custom(value: Value) -> Map<String, Value> {
    value.as_object().cloned().expect("object")
}

fn user(id: &str, name: &str, at: i64) -> User {
    User {
        id: id.into(),
        name: Some(name.into()),
        role: "user".into(),
        language: "en".into(),
        created_at: t(at),
        updated_at: t(at),
        ..User::default()
    }
}

fn feed(text: &str) -> Feed {
    let fid = fid(text);
    Feed {
        created_by: fid.id.clone(),
        fid,
        name: String::new(),
        description: String::new(),
        custom: None,
        visibility: "public".into(),
        filter_tags: Vec::new(),
        location: None,
        created_at: t(0),
        updated_at: t(0),
        deleted_at: None,
    }
}

fn activity(id: &str, user_id: &str, feeds: &[&str], at: i64) -> Activity {
    Activity {
        id: id.into(),
        kind: "post".into(),
        user_id: user_id.into(),
        feeds: feeds.iter().map(|f| fid(f)).collect(),
        text: Some(format!("text of {id}")),
        created_at: t(at),
        updated_at: t(at),
        ..Activity::blank()
    }
}

fn follow(source: &str, target: &str, copy_limit: usize) -> Follow {
    Follow {
        source: fid(source),
        target: fid(target),
        status: "accepted".into(),
        custom: None,
        push_preference: "none".into(),
        follower_role: "user".into(),
        created_at: t(50),
        updated_at: t(50),
        request_accepted_at: None,
        request_rejected_at: None,
        activity_copy_limit: Some(copy_limit),
    }
}

fn reaction(activity_id: &str, user_id: &str, kind: &str, at: i64) -> Reaction {
    Reaction {
        activity_id: activity_id.into(),
        comment_id: None,
        user_id: user_id.into(),
        kind: kind.into(),
        custom: None,
        created_at: t(at),
        updated_at: t(at),
    }
}

fn comment(id: &str, activity_id: &str, parent: Option<&str>, at: i64) -> Comment {
    Comment {
        id: id.into(),
        object_type: "activity".into(),
        object_id: activity_id.into(),
        parent_id: parent.map(str::to_string),
        user_id: "alice".into(),
        text: Some(format!("comment {id}")),
        attachments: Vec::new(),
        custom: Map::new(),
        mentioned_user_ids: Vec::new(),
        status: "active".into(),
        created_at: t(at),
        updated_at: t(at),
        edited_at: None,
        deleted_at: None,
        i18n: None,
        counts: CommentCounts::default(),
    }
}

fn bookmark(user_id: &str, activity_id: &str, folder: Option<&str>, at: i64) -> Bookmark {
    Bookmark {
        user_id: user_id.into(),
        object_type: "activity".into(),
        object_id: activity_id.into(),
        activity_id: activity_id.into(),
        folder_id: folder.map(str::to_string),
        custom: Map::new(),
        created_at: t(at),
        updated_at: t(at),
    }
}

fn folder(id: &str, user_id: &str) -> BookmarkFolder {
    BookmarkFolder {
        id: id.into(),
        user_id: user_id.into(),
        name: format!("folder {id}"),
        custom: Map::new(),
        created_at: t(1),
        updated_at: t(1),
    }
}

fn collection(name: &str, id: &str, value: Value) -> Collection {
    Collection {
        name: name.into(),
        id: id.into(),
        custom: custom(value),
        user_id: Some("alice".into()),
        created_at: t(1),
        updated_at: t(1),
    }
}

fn task(id: &str, at: i64) -> Task {
    Task {
        id: id.into(),
        work: TaskWork::DeleteUsers { user_ids: vec![format!("user-of-{id}")], hard: false, prune: false },
        status: TaskStatus::Pending,
        result: None,
        error: None,
        attempts: 0,
        created_at: t(at),
        updated_at: t(at),
    }
}

fn vote(id: &str, user_id: &str, option: &str, at: i64) -> PollVote {
    PollVote {
        id: id.into(),
        poll_id: "poll1".into(),
        activity_id: None,
        option_id: option.into(),
        answer_text: None,
        is_answer: false,
        user_id: user_id.into(),
        created_at: t(at),
        updated_at: t(at),
    }
}

fn answer(id: &str, user_id: &str, text: &str, at: i64) -> PollVote {
    PollVote { option_id: String::new(), answer_text: Some(text.into()), is_answer: true, ..vote(id, user_id, "", at) }
}

fn list(filter: Filter, sort: Vec<(&'static str, bool)>) -> ListQuery {
    ListQuery { filter, sort, limit: 100, offset: 0 }
}

/// Saves activities `{prefix}1..={n}` by `user` on `user:<user>` at t(1..=n).
async fn post(store: &dyn Store, user: &str, prefix: &str, n: i64) -> Vec<String> {
    let home = format!("user:{user}");
    let posted: Vec<Activity> = (1..=n).map(|i| activity(&format!("{prefix}{i}"), user, &[&home], i)).collect();
    store.save_activities(&posted, &[feed(&home)]).await.expect("save activities");
    posted.into_iter().map(|a| a.id).collect()
}

async fn read(store: &dyn Store, feed: &str, slice: FeedSlice, limit: usize) -> Vec<String> {
    let rows = store
        .feed_activities(&fid(feed), &slice, limit, t(10_000), &Reader::default(), None)
        .await
        .expect("feed activities");
    rows.into_iter().map(|a| a.id).collect()
}

async fn newest(store: &dyn Store, feed: &str) -> Vec<String> {
    read(store, feed, FeedSlice::Start, 100).await
}

fn at(activity_id: &str, seconds: i64) -> FeedPosition {
    FeedPosition { created_at: t(seconds), activity_id: activity_id.into() }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

// ---------------------------------------------------------------- scenarios

/// Devices (bounded per user, a token moving between users), preferences
/// per scope (channel scopes bounded), and cached translations merged per
/// fingerprint without touching the record otherwise.
async fn push_devices_preferences_and_translations(store: &dyn Store) {
    use tributary::core::push::{Device, PushPreferences};
    use tributary::core::storage::Translated;
    let device = |id: &str, user: &str, at: i64| Device {
        id: id.into(),
        user_id: user.into(),
        push_provider: "apn".into(),
        push_provider_name: None,
        hardware_id: None,
        voip: false,
        created_at: t(at),
    };
    assert!(store.upsert_device(&device("a1", "ann", 1), 2).await.unwrap());
    assert!(store.upsert_device(&device("a2", "ann", 2), 2).await.unwrap());
    assert!(!store.upsert_device(&device("a3", "ann", 3), 2).await.unwrap(), "a third device is over the bound");
    assert!(store.upsert_device(&device("a2", "ann", 4), 2).await.unwrap(), "replacing one is not");
    assert!(store.upsert_device(&device("a1", "ben", 5), 2).await.unwrap(), "a token moves to its new user");
    let owners = |ds: Vec<Device>| ds.into_iter().map(|d| (d.user_id, d.id)).collect::<Vec<_>>();
    let all = store.devices_of(&ids(&["ann", "ben"])).await.unwrap();
    assert_eq!(owners(all), [("ann".to_string(), "a2".to_string()), ("ben".into(), "a1".into())]);
    assert!(store.delete_device("ben", "a1").await.unwrap());
    assert!(!store.delete_device("ann", "a1").await.unwrap());

    let prefs = |user: &str, channel: &str, level: &str| PushPreferences {
        user_id: user.into(),
        channel: channel.into(),
        feeds_level: Some(level.into()),
        ..Default::default()
    };
    assert!(store.save_push_preferences(&[prefs("ann", "", "none"), prefs("ann", "c:1", "all")], 1).await.unwrap());
    assert!(!store.save_push_preferences(&[prefs("ann", "c:2", "all")], 1).await.unwrap(), "a second channel");
    let scopes = [("ann".to_string(), String::new()), ("ann".to_string(), "c:2".to_string())];
    let stored = store.push_preferences(&scopes).await.unwrap();
    assert_eq!(stored, [prefs("ann", "", "none")], "the refused write left nothing");

    let mut a = activity("tr1", "ann", &["user:ann"], 1);
    a.text = Some("hello".into());
    store.save_activities(&[a], &[feed("user:ann")]).await.unwrap();
    let entry = |k: &str, v: &str| (k.to_string(), v.to_string());
    let before = store.get_activities(&ids(&["tr1"])).await.unwrap().remove(0);
    let updated = Event::about_activity(EventType::ActivityUpdated, Some("ann"), &before);
    let head = store.events_head().await.unwrap();
    let save = |of: &'static str, e: Vec<(String, String)>| {
        let updated = updated.clone();
        async move { store.save_translations(Translated::Activity, "tr1", of, &e, &updated).await.unwrap() }
    };
    assert!(save("f1", vec![entry("fr_text", "salut")]).await);
    assert!(save("f1", vec![entry("de_text", "hallo")]).await);
    let got = store.get_activities(&ids(&["tr1"])).await.unwrap().remove(0);
    let texts = got.i18n.clone().unwrap().texts;
    assert_eq!(texts.keys().collect::<Vec<_>>(), ["de_text", "fr_text"]);
    assert_eq!((got.updated_at, got.text.as_deref()), (t(1), Some("hello")), "nothing else changed");
    // Each save recorded its event, carrying all the translations stored.
    // PostgreSQL shows an event once its transaction's place is settled.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut events = store.events_after(head, 10).await.unwrap();
    while events.len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        events = store.events_after(head, 10).await.unwrap();
    }
    let carried: Vec<Vec<&String>> = events
        .iter()
        .map(|(_, e)| e.subject.activity.as_ref().unwrap().i18n.as_ref().unwrap().texts.keys().collect())
        .collect();
    assert_eq!(carried, [vec!["fr_text"], vec!["de_text", "fr_text"]]);
    assert!(events.iter().all(|(_, e)| e.kind == EventType::ActivityUpdated));
    assert!(save("f2", vec![entry("es_text", "hola")]).await);
    let got = store.get_activities(&ids(&["tr1"])).await.unwrap().remove(0).i18n.unwrap();
    assert_eq!((got.of.as_str(), got.texts.len()), ("f2", 1), "another text's cache starts over");
    // The third save's event settles first, so the head below is past it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.events_after(head, 10).await.unwrap().len() < 3 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let head = store.events_head().await.unwrap();
    assert!(!store.save_translations(Translated::Comment, "nope", "f", &[], &updated).await.unwrap());
    assert!(store.events_after(head, 10).await.unwrap().is_empty(), "no event without a record");
}

async fn users_upsert_get_query(store: &dyn Store) {
    let mut gone = user("u4", "dave", 4);
    gone.deleted_at = Some(t(5));
    store
        .upsert_users(&[user("u1", "carol", 1), user("u2", "alice", 2), user("u3", "bob", 3), gone])
        .await
        .expect("upsert");
    let got = store.get_users(&ids(&["u1", "u4", "nobody"])).await.expect("get");
    assert_eq!(sorted(got.iter().map(|u| u.id.clone()).collect()), ids(&["u1", "u4"]), "get includes deleted");

    // An upsert replaces the whole user.
    let mut renamed = user("u1", "erin", 1);
    renamed.updated_at = t(9);
    store.upsert_users(&[renamed]).await.expect("re-upsert");
    let got = store.get_users(&ids(&["u1"])).await.expect("get");
    assert_eq!(got[0].name.as_deref(), Some("erin"));
    assert_eq!(got[0].updated_at, t(9));

    let live = || Filter::exists("deleted_at", false);
    let query = |offset, include_deleted: bool| ListQuery {
        filter: if include_deleted { Filter::And(Vec::new()) } else { live() },
        sort: vec![("name", false)],
        limit: 2,
        offset,
    };
    let names = |users: Vec<User>| users.into_iter().map(|u| u.name.unwrap_or_default()).collect::<Vec<_>>();
    assert_eq!(names(store.query_users(&query(0, false)).await.expect("page 1")), ["alice", "bob"]);
    assert_eq!(names(store.query_users(&query(2, false)).await.expect("page 2")), ["erin"]);
    assert_eq!(names(store.query_users(&query(2, true)).await.expect("with deleted")), ["dave", "erin"]);

    let newest_first = ListQuery {
        filter: Filter::is_in("id", ids(&["u2", "u3", "u4"])).and(live()),
        sort: vec![("created_at", true)],
        limit: 10,
        offset: 0,
    };
    let got: Vec<String> = store.query_users(&newest_first).await.expect("by ids").into_iter().map(|u| u.id).collect();
    assert_eq!(got, ["u3", "u2"], "ids narrowed, deleted left out, newest first");

    // update_users commits only while every version holds.
    let stale = store.update_users(&[user("u2", "stale", 2)], &[t(1)]).await.expect("stale update");
    assert!(!stale);
    let fresh = store.update_users(&[user("u2", "alicia", 2)], &[t(2)]).await.expect("fresh update");
    assert!(fresh);
    assert_eq!(store.get_users(&ids(&["u2"])).await.expect("get")[0].name.as_deref(), Some("alicia"));
}

async fn activities_save_get_and_feed_slices(store: &dyn Store) {
    let posted: Vec<Activity> = (1..=5).map(|i| activity(&format!("a{i}"), "alice", &["user:alice"], i)).collect();
    let stored = store.save_activities(&posted, &[feed("user:alice")]).await.expect("save");
    assert_eq!(stored, (1..=5).map(t).collect::<Vec<_>>());

    // Saving again replaces the activity but keeps its first created_at.
    let mut edited = activity("a1", "alice", &["user:alice"], 99);
    edited.text = Some("edited".into());
    assert_eq!(store.save_activities(&[edited], &[]).await.expect("resave"), [t(1)]);
    let got = store.get_activities(&ids(&["a1", "a3", "missing"])).await.expect("get");
    assert_eq!(sorted(got.iter().map(|a| a.id.clone()).collect()), ids(&["a1", "a3"]));
    let a1 = got.iter().find(|a| a.id == "a1").expect("a1");
    assert_eq!((a1.text.as_deref(), a1.created_at), (Some("edited"), t(1)));

    let home = "user:alice";
    assert_eq!(newest(store, home).await, ["a5", "a4", "a3", "a2", "a1"], "newest first");
    assert_eq!(read(store, home, FeedSlice::Start, 2).await, ["a5", "a4"]);
    assert_eq!(read(store, home, FeedSlice::Older(at("a4", 4)), 2).await, ["a3", "a2"]);
    assert_eq!(read(store, home, FeedSlice::Newer(at("a2", 2)), 2).await, ["a3", "a4"], "oldest first going newer");
    assert_eq!(read(store, home, FeedSlice::Newer(at("a5", 5)), 2).await, Vec::<String>::new());
    assert_eq!(newest(store, "user:nobody").await, Vec::<String>::new());

    // Expired activities leave feed reads.
    let mut brief = activity("a6", "alice", &[home], 6);
    brief.expires_at = Some(t(7));
    store.save_activities(&[brief], &[]).await.expect("save expiring");
    assert_eq!(read(store, home, FeedSlice::Start, 1).await, ["a5"]);
}

async fn follow_fans_out_and_copies_up_to_limit(store: &dyn Store) {
    post(store, "alice", "a", 3).await;
    let inserted = store
        .insert_follows(
            &[(follow("timeline:bob", "user:alice", 2), None), (follow("timeline:carol", "user:alice", 0), None)],
            &[feed("timeline:bob"), feed("timeline:carol")],
        )
        .await
        .expect("follow");
    assert_eq!(inserted, [true, true]);
    assert_eq!(newest(store, "timeline:bob").await, ["a3", "a2"], "copies the 2 newest");
    assert_eq!(newest(store, "timeline:carol").await, Vec::<String>::new(), "limit 0 copies nothing");

    let again = store.insert_follows(&[(follow("timeline:bob", "user:alice", 2), None)], &[]).await.expect("again");
    assert_eq!(again, [false], "an existing follow is not inserted again");
    let stored = store.get_follow(&fid("timeline:bob"), &fid("user:alice")).await.expect("get follow");
    assert_eq!(stored.map(|f| f.status), Some("accepted".to_string()));
    assert!(store.get_follow(&fid("user:alice"), &fid("timeline:bob")).await.expect("reverse").is_none());

    store.save_activities(&[activity("a4", "alice", &["user:alice"], 4)], &[]).await.expect("save");
    assert_eq!(newest(store, "timeline:bob").await, ["a4", "a3", "a2"], "new activities fan out");
    assert_eq!(newest(store, "timeline:carol").await, ["a4"]);

    let counts = store.feed_counts(&[fid("user:alice"), fid("timeline:bob")], t(10_000)).await.expect("counts");
    assert_eq!(counts[&fid("user:alice")].follower_count, 2);
    assert_eq!(counts[&fid("timeline:bob")].following_count, 1);
}

async fn unfollow_with_and_without_history(store: &dyn Store) {
    post(store, "alice", "a", 2).await;
    store
        .insert_follows(
            &[(follow("timeline:bob", "user:alice", 10), None), (follow("timeline:carol", "user:alice", 10), None)],
            &[feed("timeline:bob"), feed("timeline:carol")],
        )
        .await
        .expect("follow");
    // bob's own activity on his timeline survives any unfollow.
    store.save_activities(&[activity("b1", "bob", &["timeline:bob"], 3)], &[]).await.expect("own");

    let pairs = |source: &str, keep| vec![(fid(source), fid("user:alice"), keep)];
    let missing =
        vec![(fid("timeline:bob"), fid("user:alice"), false), (fid("timeline:zed"), fid("user:alice"), false)];
    let refused = store.delete_follows(&missing, true).await;
    assert!(refused.is_err(), "require_all with a missing follow fails");
    assert!(
        store.get_follow(&fid("timeline:bob"), &fid("user:alice")).await.expect("get").is_some(),
        "nothing deleted"
    );

    let deleted = store.delete_follows(&pairs("timeline:bob", false), false).await.expect("unfollow");
    assert_eq!(deleted.iter().map(|f| f.source.to_string()).collect::<Vec<_>>(), ["timeline:bob"]);
    assert_eq!(newest(store, "timeline:bob").await, ["b1"], "copies removed, own activity kept");

    let kept = store.delete_follows(&pairs("timeline:carol", true), false).await.expect("unfollow keeping history");
    assert_eq!(kept.len(), 1);
    assert_eq!(newest(store, "timeline:carol").await, ["a2", "a1"], "keep_history keeps the copies");

    let none = store.delete_follows(&pairs("timeline:carol", false), false).await.expect("already gone");
    assert!(none.is_empty());
    store.save_activities(&[activity("a3", "alice", &["user:alice"], 4)], &[]).await.expect("save");
    assert_eq!(newest(store, "timeline:carol").await, ["a2", "a1"], "no fan-out after unfollow");
}

async fn soft_delete_hides_and_restores(store: &dyn Store) {
    post(store, "alice", "a", 2).await;
    store
        .insert_follows(&[(follow("timeline:bob", "user:alice", 10), None)], &[feed("timeline:bob")])
        .await
        .expect("f");

    let changed = store.set_activities_deleted(&ids(&["a1", "missing"]), Some(t(20))).await.expect("delete");
    assert_eq!(changed, ["a1"]);
    assert_eq!(newest(store, "user:alice").await, ["a2"]);
    assert_eq!(newest(store, "timeline:bob").await, ["a2"], "hidden in follower feeds too");
    let kept = store.get_activities(&ids(&["a1"])).await.expect("get");
    assert_eq!(kept[0].deleted_at, Some(t(20)), "still readable by id");

    let restored = store.set_activities_deleted(&ids(&["a1"]), None).await.expect("restore");
    assert_eq!(restored, ["a1"]);
    assert_eq!(newest(store, "user:alice").await, ["a2", "a1"]);
    assert_eq!(newest(store, "timeline:bob").await, ["a2", "a1"]);
    assert_eq!(store.get_activities(&ids(&["a1"])).await.expect("get")[0].deleted_at, None);
}

async fn purge_removes_activities_everywhere(store: &dyn Store) {
    post(store, "alice", "a", 2).await;
    store
        .insert_follows(&[(follow("timeline:bob", "user:alice", 10), None)], &[feed("timeline:bob")])
        .await
        .expect("f");
    store.put_reaction(Reactable::Activities, &reaction("a1", "bob", "like", 5), false).await.expect("react");

    let purged = store.purge_activities(&ids(&["a1", "missing"])).await.expect("purge");
    assert_eq!(purged, ["a1"]);
    assert!(store.get_activities(&ids(&["a1"])).await.expect("get").is_empty());
    assert_eq!(newest(store, "user:alice").await, ["a2"]);
    assert_eq!(newest(store, "timeline:bob").await, ["a2"]);
    let summaries =
        store.reaction_summaries(Reactable::Activities, &ids(&["a1"]), Some("bob")).await.expect("summaries");
    assert_eq!(summaries.get("a1").map_or(0, |s| s.count()), 0, "its reactions go with it");
    assert!(store.purge_activities(&ids(&["a1"])).await.expect("again").is_empty());
}

async fn reactions_put_delete_and_summaries(store: &dyn Store) {
    post(store, "alice", "a", 1).await;
    let on = Reactable::Activities;
    assert!(store.put_reaction(on, &reaction("a1", "bob", "like", 1), false).await.expect("like").is_empty());
    let replaced = store.put_reaction(on, &reaction("a1", "bob", "like", 2), false).await.expect("like again");
    assert_eq!(replaced.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(), ["like"], "same type replaces");
    assert!(store.put_reaction(on, &reaction("a1", "bob", "wow", 3), false).await.expect("wow").is_empty());

    let replaced = store.put_reaction(on, &reaction("a1", "bob", "love", 4), true).await.expect("exclusive");
    let mut kinds: Vec<&str> = replaced.iter().map(|r| r.kind.as_str()).collect();
    kinds.sort();
    assert_eq!(kinds, ["like", "wow"], "exclusive removes the user's other types");
    store.put_reaction(on, &reaction("a1", "carol", "like", 5), false).await.expect("carol");

    let summaries = store.reaction_summaries(on, &ids(&["a1"]), Some("bob")).await.expect("summaries");
    let summary = &summaries["a1"];
    let groups: Vec<(&str, i64)> = summary.groups.iter().map(|(k, g)| (k.as_str(), g.count)).collect();
    assert_eq!(groups, [("like", 1), ("love", 1)]);
    assert_eq!(summary.count(), 2);
    assert_eq!(summary.own.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(), ["love"]);
    assert_eq!(summary.latest.first().map(|r| r.user_id.as_str()), Some("carol"), "latest first");

    let gone = store.delete_reaction(on, "a1", "bob", "love").await.expect("delete");
    assert_eq!(gone.map(|r| r.kind), Some("love".to_string()));
    assert!(store.delete_reaction(on, "a1", "bob", "love").await.expect("again").is_none());
    let listed = store.query_reactions(on, &list(Filter::eq("activity_id", "a1"), vec![])).await.expect("query");
    assert_eq!(listed.iter().map(|r| r.user_id.as_str()).collect::<Vec<_>>(), ["carol"]);
}

async fn comments_replies_and_counts(store: &dyn Store) {
    post(store, "alice", "a", 1).await;
    let thread = [
        comment("c1", "a1", None, 1),
        comment("c2", "a1", Some("c1"), 2),
        comment("c3", "a1", Some("c1"), 3),
        comment("c4", "a1", None, 4),
    ];
    store.insert_comments(&thread, &[], &[]).await.expect("insert");

    let got = store.get_comments(&ids(&["c1", "missing"])).await.expect("get");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].counts.reply_count, 2);

    let replies = store.comment_replies(&ids(&["c1"]), &[("created_at", false)], 1).await.expect("replies");
    assert_eq!(replies.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c2"]);
    let replies = store.comment_replies(&ids(&["c1"]), &[("created_at", true)], 5).await.expect("replies");
    assert_eq!(replies.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c3", "c2"]);

    let (counts, latest) = store.activity_comments(&ids(&["a1"]), 1).await.expect("activity comments");
    assert_eq!(counts.get("a1"), Some(&4), "replies count too");
    assert_eq!(latest.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c4"], "newest top-level");

    // One existing id fails the whole batch.
    let clash = store.insert_comments(&[comment("c5", "a1", None, 5), comment("c1", "a1", None, 5)], &[], &[]).await;
    assert!(clash.is_err(), "an existing id is refused");
    assert!(store.get_comments(&ids(&["c5"])).await.expect("get").is_empty(), "nothing of the batch written");

    let purged = store.purge_comment("c1").await.expect("purge");
    assert_eq!(sorted(purged), ids(&["c1", "c2", "c3"]), "with its replies");
    let (counts, _) = store.activity_comments(&ids(&["a1"]), 1).await.expect("activity comments");
    assert_eq!(counts.get("a1"), Some(&1));
}

async fn bookmarks_insert_move_delete(store: &dyn Store) {
    post(store, "alice", "a", 1).await;
    assert!(store.insert_bookmark(&bookmark("bob", "a1", None, 1), None).await.expect("insert"));
    assert!(!store.insert_bookmark(&bookmark("bob", "a1", None, 2), None).await.expect("again"), "same placement");
    let f1 = folder("f1", "bob");
    assert!(store.insert_bookmark(&bookmark("bob", "a1", Some("f1"), 3), Some(&f1)).await.expect("in folder"));
    assert_eq!(store.get_bookmark_folders(&ids(&["f1"])).await.expect("folders").len(), 1);

    let f2 = folder("f2", "bob");
    let moved = store.move_bookmark("", &bookmark("bob", "a1", Some("f2"), 4), Some(&f2), None).await.expect("move");
    assert_eq!(moved.and_then(|b| b.folder_id), Some("f2".to_string()));
    let nowhere = store.move_bookmark("", &bookmark("bob", "a1", Some("f1"), 5), None, None).await.expect("gone");
    assert!(nowhere.is_none(), "no bookmark left outside folders");

    let mine =
        store.query_bookmarks(&list(Filter::eq("user_id", "bob"), vec![("created_at", false)])).await.expect("query");
    let folders: Vec<Option<String>> = mine.into_iter().map(|b| b.folder_id).collect();
    assert_eq!(folders.len(), 2);
    assert!(folders.contains(&Some("f1".into())) && folders.contains(&Some("f2".into())), "{folders:?}");

    let (counts, own) = store.bookmark_summaries("activity", &ids(&["a1"]), Some("bob")).await.expect("summaries");
    assert_eq!((counts.get("a1"), own.len()), (Some(&2), 2));

    assert!(store.delete_bookmark("bob", "activity", "a1", "f2").await.expect("delete").is_some());
    assert!(store.delete_bookmark("bob", "activity", "a1", "f2").await.expect("again").is_none());
    assert!(store.delete_bookmark_folder("f1").await.expect("delete folder"));
    let (counts, _) = store.bookmark_summaries("activity", &ids(&["a1"]), None).await.expect("summaries");
    assert_eq!(counts.get("a1").copied().unwrap_or(0), 0, "a folder takes its bookmarks along");
}

async fn collections_all_or_nothing_and_upsert(store: &dyn Store) {
    let first = [collection("food", "c1", json!({"v": 1})), collection("food", "c2", json!({"v": 2}))];
    assert_eq!(store.insert_collections(&first).await.expect("insert"), None);
    let clash = [collection("food", "c3", json!({})), collection("food", "c1", json!({"v": 9}))];
    assert_eq!(store.insert_collections(&clash).await.expect("clash"), Some("food:c1".to_string()));
    let refs = |pairs: &[(&str, &str)]| pairs.iter().map(|(n, i)| (n.to_string(), i.to_string())).collect::<Vec<_>>();
    assert!(store.get_collections(&refs(&[("food", "c3")])).await.expect("get").is_empty(), "none inserted");
    let c1 = store.get_collections(&refs(&[("food", "c1")])).await.expect("get");
    assert_eq!(c1[0].custom, custom(json!({"v": 1})));

    let mut changed = collection("food", "c1", json!({"v": 10}));
    changed.user_id = Some("mallory".into());
    let upserted =
        store.upsert_collections(&[changed, collection("food", "c4", json!({"v": 4}))]).await.expect("upsert");
    assert_eq!(upserted.len(), 2);
    let got = store.get_collections(&refs(&[("food", "c1"), ("food", "c4")])).await.expect("get");
    let c1 = got.iter().find(|c| c.id == "c1").expect("c1");
    assert_eq!(c1.custom, custom(json!({"v": 10})), "custom updated");
    assert_eq!(c1.user_id.as_deref(), Some("alice"), "only custom changes");
    assert!(got.iter().any(|c| c.id == "c4"));

    let deleted = store.delete_collections(&refs(&[("food", "c2"), ("food", "nope")])).await.expect("delete");
    assert_eq!(deleted.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c2"]);
}

async fn polls_and_votes(store: &dyn Store) {
    let option = |id: &str| PollOption { id: id.into(), text: format!("option {id}"), custom: Map::new() };
    let poll = Poll {
        id: "poll1".into(),
        name: "Lunch?".into(),
        description: String::new(),
        options: vec![option("o1"), option("o2"), option("o3")],
        voting_visibility: "public".into(),
        enforce_unique_vote: false,
        max_votes_allowed: Some(2),
        allow_answers: true,
        allow_user_suggested_options: false,
        is_closed: false,
        custom: Map::new(),
        created_by_id: "alice".into(),
        created_at: t(1),
        updated_at: t(1),
    };
    assert!(store.insert_poll(&poll).await.expect("insert"));
    assert!(!store.insert_poll(&poll).await.expect("again"));

    let cast = |v: PollVote, exclusive: bool, max: Option<i64>| async move {
        match store.cast_vote(&v, exclusive, max).await.expect("cast") {
            VoteOutcome::Cast { vote, replaced } => {
                Some((vote.id, replaced.into_iter().map(|r| r.id).collect::<Vec<_>>()))
            }
            VoteOutcome::TooManyVotes => None,
        }
    };
    assert_eq!(cast(vote("v1", "bob", "o1", 2), false, Some(2)).await, Some(("v1".into(), vec![])));
    assert_eq!(
        cast(vote("v2", "bob", "o1", 3), false, Some(2)).await,
        Some(("v1".into(), vec![])),
        "same option: no-op"
    );
    assert_eq!(cast(vote("v3", "bob", "o2", 4), false, Some(2)).await, Some(("v3".into(), vec![])));
    assert_eq!(cast(vote("v4", "bob", "o3", 5), false, Some(2)).await, None, "beyond max_votes");
    let exclusive = cast(vote("v5", "bob", "o3", 6), true, Some(2)).await.expect("exclusive");
    assert_eq!((exclusive.0.as_str(), sorted(exclusive.1)), ("v5", ids(&["v1", "v3"])), "replaces the user's votes");

    cast(vote("v6", "carol", "o3", 7), false, None).await.expect("carol");
    cast(answer("v7", "carol", "pizza", 8), false, None).await.expect("answer");
    let replaced = cast(answer("v8", "carol", "soup", 9), false, None).await.expect("second answer");
    assert_eq!(replaced.1, ["v7"], "an answer replaces the user's answer");

    let tallies = store.poll_tallies(&ids(&["poll1"]), Some("bob")).await.expect("tallies");
    let tally = &tallies["poll1"];
    assert_eq!((tally.vote_count, tally.answers_count), (2, 1));
    assert_eq!(tally.counts_by_option.get("o3"), Some(&2));
    assert_eq!(tally.counts_by_option.get("o1").copied().unwrap_or(0), 0);
    assert_eq!(tally.own.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(), ["v5"]);

    assert!(store.delete_vote("poll1", "v5", Some("carol")).await.expect("not hers").is_none());
    assert!(store.delete_vote("poll1", "v5", Some("bob")).await.expect("his").is_some());
    assert!(store.delete_poll("poll1").await.expect("delete poll"));
    assert!(store.get_polls(&ids(&["poll1"])).await.expect("get").is_empty());
}

async fn tasks_claim_finish_and_lease_expiry(store: &dyn Store) {
    let backlog = || async { store.task_backlog().await.expect("backlog") };
    assert_eq!(backlog().await, Backlog { waiting: 0, oldest: None });
    store.insert_task(&task("t1", 1)).await.expect("t1");
    store.insert_task(&task("t2", 2)).await.expect("t2");
    assert_eq!(backlog().await, Backlog { waiting: 2, oldest: Some(t(1)) });

    let claim = |now: i64| async move {
        store.claim_task(t(now), t(now + 60)).await.expect("claim").map(|task| (task.id, task.status))
    };
    assert_eq!(claim(10).await, Some(("t1".into(), TaskStatus::Running)), "oldest first");
    assert_eq!(claim(11).await, Some(("t2".into(), TaskStatus::Running)));
    assert_eq!(claim(12).await, None, "both leased");

    assert_eq!(backlog().await, Backlog { waiting: 2, oldest: Some(t(1)) }, "running tasks still wait");
    store.finish_task("t2", TaskStatus::Completed, Some(json!({"ok": true})), None).await.expect("finish");
    assert_eq!(backlog().await, Backlog { waiting: 1, oldest: Some(t(1)) });
    let done = store.get_task("t2").await.expect("get").expect("t2");
    assert_eq!((done.status, done.result), (TaskStatus::Completed, Some(json!({"ok": true}))));

    assert_eq!(claim(71).await, Some(("t1".into(), TaskStatus::Running)), "an expired lease is claimed again");
    assert_eq!(claim(200).await, Some(("t1".into(), TaskStatus::Running)), "still unfinished");
    let t1 = store.get_task("t1").await.expect("get").expect("t1");
    assert_eq!(t1.attempts, 3, "every claim counts an attempt");
    store.finish_task("t1", TaskStatus::Failed, None, None).await.expect("fail");
    assert_eq!(claim(1_000).await, None, "finished tasks are never claimed");
    assert_eq!(backlog().await, Backlog { waiting: 0, oldest: None });
    assert!(store.get_task("missing").await.expect("get").is_none());
}

async fn conditional_writes_refuse_stale_versions(store: &dyn Store) {
    post(store, "alice", "a", 1).await;
    let mut edit = activity("a1", "alice", &["user:alice"], 1);
    edit.text = Some("stale edit".into());
    edit.updated_at = t(30);
    let stale = store.save_activities_if(&[edit.clone()], &[], &[("a1".into(), t(0))]).await.expect("stale");
    assert!(!stale);
    assert_eq!(store.get_activities(&ids(&["a1"])).await.expect("get")[0].text.as_deref(), Some("text of a1"));

    edit.text = Some("fresh edit".into());
    assert!(store.save_activities_if(&[edit], &[], &[("a1".into(), t(1))]).await.expect("fresh"));
    let a1 = store.get_activities(&ids(&["a1"])).await.expect("get").remove(0);
    assert_eq!((a1.text.as_deref(), a1.updated_at), (Some("fresh edit"), t(30)));

    store.insert_comments(&[comment("c1", "a1", None, 2)], &[], &[]).await.expect("comment");
    let mut changed = comment("c1", "a1", None, 2);
    changed.text = Some("changed".into());
    changed.updated_at = t(40);
    let queued = ExtraWrites { tasks: vec![task("t-stale", 3)], ..Default::default() };
    assert!(!store.put_comment_with(&changed, Some(t(1)), &queued).await.expect("stale comment"));
    assert_eq!(store.get_comments(&ids(&["c1"])).await.expect("get")[0].text.as_deref(), Some("comment c1"));
    assert!(store.get_task("t-stale").await.expect("get").is_none(), "extra writes skipped too");

    assert!(store.put_comment(&changed, Some(t(2))).await.expect("fresh comment"));
    assert_eq!(store.get_comments(&ids(&["c1"])).await.expect("get")[0].text.as_deref(), Some("changed"));
    assert!(!store.put_comment(&changed, Some(t(2))).await.expect("now stale"), "the version moved on");
}

async fn settings_replace_only_the_value_read(store: &dyn Store) {
    let key = "parity";
    assert_eq!(store.setting(key).await.expect("absent"), None);
    let first = json!({ "webhook_url": "https://a.example", "event_hooks": [{ "id": "h", "n": 1 }] });
    assert!(!store.replace_setting(key, &first, Some(&json!({}))).await.expect("stale"), "nothing stored yet");
    assert!(store.replace_setting(key, &first, None).await.expect("insert"));
    assert!(!store.replace_setting(key, &json!({}), None).await.expect("second insert"), "already stored");
    let stored = store.setting(key).await.expect("get").expect("stored");
    assert_eq!(stored, first);

    let second = json!({ "webhook_url": "" });
    assert!(!store.replace_setting(key, &second, Some(&json!({ "webhook_url": "x" }))).await.expect("stale"));
    assert!(store.replace_setting(key, &second, Some(&stored)).await.expect("fresh"));
    assert!(!store.replace_setting(key, &first, Some(&stored)).await.expect("now stale"), "the value moved on");
    assert_eq!(store.setting(key).await.expect("get"), Some(second));
}

async fn extra_writes_roll_back_with_the_main_write(store: &dyn Store) {
    let mut reply = activity("r1", "alice", &["user:alice"], 1);
    reply.parent_id = Some("no-such-parent".into());
    let mut notice = activity("n1", "bob", &["notification:bob"], 1);
    notice.kind = "notification".into();
    let extra = ExtraWrites {
        users: vec![user("implied", "implied", 1)],
        user_updates: vec![user("updated", "updated", 1)],
        collections: vec![collection("food", "inline", json!({}))],
        notifications: vec![notice],
        feeds: vec![feed("notification:bob")],
        withdrawn: Vec::new(),
        windows: vec![NotificationWindow { activity_id: "n1".into(), key: "k1".into(), window: 3_600_000_000_000 }],
        tasks: vec![task("queued", 1)],
        events: vec![Event::new(EventType::ActivityAdded, Some("alice"))],
        each: None,
    };
    let head = store.events_head().await.expect("head");
    let failed = store.save_activities_with(&[reply], &[feed("user:alice")], &extra).await;
    assert!(failed.is_err(), "a missing parent fails the write");
    let window = store.windowed_notification("k1", Timestamp(i64::MAX)).await.expect("window");
    assert_eq!(window, None, "the notification's window rolled back with it");
    assert!(store.events_after(head, 10).await.expect("events").is_empty(), "no event of a failed write");

    assert!(store.get_activities(&ids(&["r1", "n1"])).await.expect("get").is_empty());
    assert!(store.get_users(&ids(&["implied", "updated"])).await.expect("users").is_empty());
    let inline = [("food".to_string(), "inline".to_string())];
    assert!(store.get_collections(&inline).await.expect("collections").is_empty());
    assert!(store.get_task("queued").await.expect("task").is_none());
    assert!(store.get_feeds(&[fid("user:alice"), fid("notification:bob")]).await.expect("feeds").is_empty());

    // The same extras commit with a write that succeeds.
    store
        .save_activities_with(&[activity("a1", "alice", &["user:alice"], 2)], &[feed("user:alice")], &extra)
        .await
        .expect("ok");
    assert_eq!(store.get_users(&ids(&["implied", "updated"])).await.expect("users").len(), 2);
    assert!(store.get_task("queued").await.expect("task").is_some());
    assert_eq!(store.get_activities(&ids(&["a1", "n1"])).await.expect("get").len(), 2);
}

async fn query_activities_filters_and_pages(store: &dyn Store) {
    let mut posted: Vec<Activity> = (1..=5).map(|i| activity(&format!("a{i}"), "alice", &["user:alice"], i)).collect();
    for a in posted.iter_mut().filter(|a| a.id != "a2") {
        a.filter_tags = vec!["x".into()];
    }
    posted.push(Activity { filter_tags: vec!["x".into()], ..activity("b1", "bob", &["user:bob"], 6) });
    store.save_activities(&posted, &[feed("user:alice"), feed("user:bob")]).await.expect("save");
    store.set_activities_deleted(&ids(&["a5"]), Some(t(7))).await.expect("delete");

    let query = |order: ActivityOrder, include_deleted: bool| ActivityQuery {
        filter: Filter::eq("user_id", "alice").and(Filter::tags_any("filter_tags", ids(&["x"]))),
        order,
        limit: 2,
        now: t(10_000),
        include_expired: false,
        include_deleted,
        include_private: false,
        reader: Reader::default(),
        scan_budget: None,
    };
    let run = |q: ActivityQuery| async move {
        store.query_activities(&q).await.expect("query").activities.into_iter().map(|a| a.id).collect::<Vec<_>>()
    };
    let created = |position: Option<FeedPosition>, backwards: bool| ActivityOrder::Created {
        newest_first: true,
        position,
        backwards,
    };
    assert_eq!(run(query(created(None, false), false)).await, ["a4", "a3"], "deleted and untagged left out");
    assert_eq!(run(query(created(Some(at("a3", 3)), false), false)).await, ["a1"]);
    assert_eq!(run(query(created(Some(at("a1", 1)), true), false)).await, ["a3", "a4"], "backwards: oldest first");
    assert_eq!(run(query(created(None, false), true)).await, ["a5", "a4"], "include_deleted");

    let oldest_first = ActivityOrder::Sorted { sort: vec![("created_at", false)], offset: 1 };
    assert_eq!(run(query(oldest_first, false)).await, ["a3", "a4"], "offset pages over a sort");
}

/// Writes the core guards against (it checks that targets exist first): the
/// stores accept them today, alike. Pinned so a refactor changes them on
/// purpose, not by accident.
async fn outbox_reads_committed_events_in_order(store: &dyn Store) {
    let start = store.events_head().await.expect("head");
    let mut writes = store.event_writes();
    for (i, id) in ["e1", "e2", "e3"].into_iter().enumerate() {
        let a = activity(id, "alice", &["user:alice"], i as i64 + 1);
        let event = Event::about_activity(EventType::ActivityAdded, Some("alice"), &a);
        let extra = ExtraWrites { events: vec![event], ..Default::default() };
        store.save_activities_with(&[a], &[feed("user:alice")], &extra).await.expect("save");
    }
    assert!(writes.has_changed().expect("sender alive"), "commits that wrote events are announced");
    writes.mark_unchanged();
    // On PostgreSQL an event becomes readable once every transaction older
    // than its own has settled; other tests share the database.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.events_after(start, 10).await.expect("events").len() < 3 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let read = store.events_after(start, 2).await.expect("events");
    let ids: Vec<_> = read.iter().map(|(_, e)| e.subject.activity.as_ref().expect("activity").id.clone()).collect();
    assert_eq!(ids, ["e1", "e2"]);
    assert!(read[0].0 < read[1].0);
    let rest = store.events_after(read[1].0, 10).await.expect("rest");
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].1.fids, vec![fid("user:alice")]);
    assert!(rest[0].1.fan_out);
    assert!(store.events_head().await.expect("head") >= rest[0].0);

    assert_eq!(store.consumer_position("hook").await.expect("position"), None);
    assert!(store.lease_consumer("hook", "p1", t(0), t(60)).await.expect("lease"));
    assert!(store.lease_consumer("hook", "p1", t(1), t(61)).await.expect("renew"));
    assert!(!store.lease_consumer("hook", "p2", t(2), t(62)).await.expect("held by p1"));
    assert!(store.lease_consumer("hook", "p2", t(62), t(120)).await.expect("lapsed"));
    assert_eq!(store.consumer_position("hook").await.expect("position"), None, "a lease sets no position");
    store.set_consumer_position("hook", rest[0].0).await.expect("set");
    assert_eq!(store.consumer_position("hook").await.expect("position"), Some(rest[0].0));
    store.forget_consumer("hook", "p1", t(63)).await.expect("forget while p2 holds");
    assert_eq!(store.consumer_position("hook").await.expect("kept"), Some(rest[0].0), "p2's lease is in force");
    store.forget_consumer("hook", "p2", t(63)).await.expect("forget by the holder");
    assert_eq!(store.consumer_position("hook").await.expect("forgotten"), None);
    assert!(store.lease_consumer("hook", "p1", t(64), t(70)).await.expect("free again"));
    store.set_consumer_position("hook", rest[0].0).await.expect("set");
    store.forget_consumer("hook", "p2", t(71)).await.expect("forget after p1's lease lapsed");
    assert_eq!(store.consumer_position("hook").await.expect("forgotten"), None);

    assert_eq!(store.prune_events(t(0)).await.expect("prune nothing older"), 0);
    let now = Timestamp::now().plus_seconds(1);
    assert_eq!(store.prune_events(now).await.expect("prune"), 3);
    assert!(store.events_after(start, 10).await.expect("events").is_empty());
}

async fn lenient_writes_on_missing_targets(store: &dyn Store) {
    let on = Reactable::Activities;
    assert!(store.put_reaction(on, &reaction("ghost", "bob", "like", 1), false).await.expect("react").is_empty());
    assert!(store.insert_bookmark(&bookmark("bob", "ghost", None, 1), None).await.expect("bookmark"));
    store.insert_comments(&[comment("c1", "ghost", Some("no-parent"), 1)], &[], &[]).await.expect("comment");
    let voted = store.cast_vote(&vote("v1", "bob", "o1", 1), false, None).await.expect("vote");
    assert!(matches!(voted, VoteOutcome::Cast { .. }), "a vote on a missing poll is stored");

    // A missing comment "replaced" without a version reports success, writing nothing.
    assert!(store.put_comment(&comment("nope", "ghost", None, 1), None).await.expect("put"));
    assert!(!store.put_comment(&comment("nope", "ghost", None, 1), Some(t(1))).await.expect("put versioned"));
    assert!(store.get_comments(&ids(&["nope"])).await.expect("get").is_empty());
    store.finish_task("nope", TaskStatus::Completed, None, None).await.expect("finishing a missing task is a no-op");

    // Reads about unknown objects: summaries leave them out, feed counts do not.
    assert!(store.reaction_summaries(on, &ids(&["zzz"]), None).await.expect("summaries").is_empty());
    assert!(store.poll_tallies(&ids(&["zzz"]), None).await.expect("tallies").is_empty());
    assert!(store.activity_comments(&ids(&["zzz"]), 1).await.expect("comments").0.is_empty());
    let counts = store.feed_counts(&[fid("user:nobody")], t(1)).await.expect("counts");
    assert_eq!(counts.get(&fid("user:nobody")).map(|c| c.activity_count), Some(0));
}

/// `ExtraWrites::each`: one event per item the write created or removed,
/// none for items already there or already gone; refused by writes that do
/// not complete it.
async fn per_item_events_only_for_what_the_write_changed(store: &dyn Store) {
    let settled = |start, n: usize| async move {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let events = store.events_after(start, 100).await.expect("events");
            if events.len() >= n || std::time::Instant::now() > deadline {
                return events.into_iter().map(|(_, e)| e).collect::<Vec<_>>();
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    let feeds = [feed("user:a"), feed("user:b"), feed("user:c")];
    store.insert_follows(&[(follow("user:a", "user:b", 0), None)], &feeds).await.expect("first follow");

    let start = store.events_head().await.expect("head");
    let each = ExtraWrites { each: Some(Event::new(EventType::FollowCreated, None)), ..Default::default() };
    let batch = [(follow("user:a", "user:b", 0), None), (follow("user:c", "user:b", 0), None)];
    assert_eq!(store.insert_follows_with(&batch, &[], &each).await.expect("follows"), [false, true]);
    let each = ExtraWrites { each: Some(Event::new(EventType::FollowDeleted, None)), ..Default::default() };
    let pairs = [(fid("user:a"), fid("user:b"), true), (fid("user:a"), fid("user:c"), true)];
    assert_eq!(store.delete_follows_with(&pairs, false, &each).await.expect("unfollow").len(), 1);
    let each = ExtraWrites { each: Some(Event::new(EventType::FeedCreated, None)), ..Default::default() };
    let written = store.insert_feeds_with(&[(feed("user:a"), vec![]), (feed("user:d"), vec![])], &each).await;
    assert_eq!(written.expect("feeds"), [false, true]);

    let events = settled(start, 3).await;
    let seen: Vec<(EventType, Vec<Fid>)> = events.iter().map(|e| (e.kind, e.fids.clone())).collect();
    assert_eq!(
        seen,
        [
            (EventType::FollowCreated, vec![fid("user:c"), fid("user:b")]),
            (EventType::FollowDeleted, vec![fid("user:a"), fid("user:b")]),
            (EventType::FeedCreated, vec![fid("user:d")]),
        ]
    );
    assert_eq!(events[0].subject.follow.as_ref().map(|f| f.source.clone()), Some(fid("user:c")));
    assert_eq!(events[2].user_id.as_deref(), Some("d"), "a created feed is announced by its owner");

    let refused = store.save_activities_with(&[activity("x1", "a", &["user:a"], 1)], &[], &each).await;
    assert!(refused.is_err(), "a write that completes no per-item event refuses one");
    assert!(store.get_activities(&ids(&["x1"])).await.expect("get").is_empty());
}

/// A feed with more followers than the inline limit (1,000): the activity
/// write records a job, and leased batches copy it in follower-feed order,
/// following the follows and the activity as they are at each batch.
async fn background_fan_out_in_leased_batches(store: &dyn Store) {
    const N: usize = 1_005;
    let follower = |i: usize| format!("timeline:f{i:05}");
    let follows: Vec<(Follow, Option<Activity>)> =
        (0..N).map(|i| (follow(&follower(i), "user:star", 10), None)).collect();
    let mut feeds: Vec<Feed> = (0..N).map(|i| feed(&follower(i))).collect();
    feeds.push(feed("user:star"));
    store.insert_follows(&follows, &feeds).await.expect("follows");
    let claim = |holder: &'static str, now: i64| async move {
        store.claim_fanout(holder, t(now), t(now + 10)).await.expect("claim")
    };
    let step = |job: FanoutJob, holder: &'static str, lease_until: i64| async move {
        store.fanout_step(&job, holder, 400, t(lease_until)).await.expect("step")
    };

    assert!(!store.fanout_waiting(t(1)).await.expect("waiting"), "no job yet");
    assert_eq!(store.fanout_backlog().await.expect("backlog"), Backlog { waiting: 0, oldest: None });
    store.save_activities(&[activity("s1", "star", &["user:star"], 1)], &[]).await.expect("post");
    let backlog = store.fanout_backlog().await.expect("backlog");
    assert_eq!(backlog.waiting, 1, "one job: {backlog:?}");
    assert!(backlog.oldest.is_some_and(|at| at <= Timestamp::now()), "{backlog:?}");
    assert_eq!(newest(store, "user:star").await, ["s1"], "the origin feed has it at once");
    // Followers see it at once (the page reads the job's pending entries);
    // the copies arrive in the background, as the entry counts show.
    assert_eq!(newest(store, &follower(0)).await, ["s1"], "pending entries are read");
    assert_eq!(copied(store, &follower(0)).await, 0, "followers get it in the background");
    assert!(store.fanout_waiting(t(1)).await.expect("waiting"));
    let job = claim("w1", 10).await.expect("a job");
    assert_eq!(job, FanoutJob { activity_id: "s1".into(), origin: "user:star".into(), after_source: String::new() });
    assert!(claim("w2", 11).await.is_none(), "leased to w1");
    assert!(!store.fanout_waiting(t(11)).await.expect("waiting"));
    assert_eq!(step(job.clone(), "w2", 30).await, FanoutStep::Lost, "not w2's");
    assert_eq!(step(job.clone(), "w1", 30).await, FanoutStep::Copied);
    assert_eq!(copied(store, &follower(0)).await, 1);
    assert_eq!(copied(store, &follower(399)).await, 1);
    assert_eq!(copied(store, &follower(400)).await, 0, "one batch of 400");
    for i in [0, 399, 400] {
        assert_eq!(newest(store, &follower(i)).await, ["s1"], "copied or pending, once");
    }

    // An unfollow during the job; w1's lease lapses and w2 takes over where
    // the last batch ended.
    let last = follower(N - 1);
    store.delete_follows(&[(fid(&last), fid("user:star"), false)], true).await.expect("unfollow");
    let taken = claim("w2", 31).await.expect("lapsed lease");
    assert_eq!(taken.after_source, follower(399));
    assert_eq!(step(job.clone(), "w1", 50).await, FanoutStep::Lost, "w1 lost it");
    assert_eq!(step(taken.clone(), "w2", 50).await, FanoutStep::Copied);
    assert_eq!(step(taken.clone(), "w2", 50).await, FanoutStep::Done, "the last 204");
    assert_eq!(step(taken, "w2", 50).await, FanoutStep::Done, "gone");
    for i in [400, 799, 800, N - 2] {
        assert_eq!(copied(store, &follower(i)).await, 1, "{}", follower(i));
        assert_eq!(newest(store, &follower(i)).await, ["s1"], "{}", follower(i));
    }
    assert_eq!(newest(store, &last).await, Vec::<String>::new(), "unfollowed before the job reached it");
    assert!(!store.fanout_waiting(t(60)).await.expect("waiting"));
    assert_eq!(store.fanout_backlog().await.expect("backlog").waiting, 0, "a finished job is gone");

    // A soft delete during the job: later batches copy the entry hidden,
    // and a restore shows every copy.
    store.save_activities(&[activity("s2", "star", &["user:star"], 2)], &[]).await.expect("post");
    let job = claim("w1", 100).await.expect("a job");
    assert_eq!(step(job.clone(), "w1", 120).await, FanoutStep::Copied);
    store.set_activities_deleted(&ids(&["s2"]), Some(t(101))).await.expect("soft delete");
    assert_eq!(newest(store, &follower(N - 2)).await, ["s1"], "pending, hidden");
    while step(job.clone(), "w1", 120).await == FanoutStep::Copied {}
    assert_eq!(newest(store, &follower(N - 2)).await, ["s1"], "copied hidden");
    store.set_activities_deleted(&ids(&["s2"]), None).await.expect("restore");
    assert_eq!(newest(store, &follower(N - 2)).await, ["s2", "s1"]);
    assert_eq!(copied(store, &follower(N - 2)).await, 2);

    // A purge during the job ends it, and no copy survives; a job given
    // back is claimed again at once.
    store.save_activities(&[activity("s3", "star", &["user:star"], 3)], &[]).await.expect("post");
    let job = claim("w1", 200).await.expect("a job");
    store.release_fanout(&job, "w1").await.expect("release");
    let job = claim("w2", 201).await.expect("given back");
    assert_eq!(step(job.clone(), "w2", 220).await, FanoutStep::Copied);
    assert_eq!(store.purge_activities(&ids(&["s3"])).await.expect("purge"), ["s3"]);
    assert_eq!(step(job, "w2", 220).await, FanoutStep::Done);
    assert_eq!(newest(store, &follower(0)).await, ["s2", "s1"]);
    assert!(!store.fanout_waiting(t(300)).await.expect("waiting"));
}

/// The live entries stored in `feed` (its `activity_count`): copies only,
/// not the entries a fan-out job has still to copy.
async fn copied(store: &dyn Store, feed: &str) -> i64 {
    let counts = store.feed_counts(&[fid(feed)], t(1_000)).await.expect("counts");
    counts.get(&fid(feed)).map_or(0, |c| c.activity_count)
}

/// The one-statement enrichment reads (`EnrichmentStore`) answer exactly
/// what the single reads they replace answer, with and without a viewer.
async fn enrichment_reads_agree_with_the_single_reads(store: &dyn Store) {
    post(store, "alice", "a", 3).await;
    let mut share = activity("s1", "carol", &["user:carol"], 9);
    share.parent_id = Some("a1".into());
    store.save_activities(&[share], &[feed("user:carol")]).await.expect("share");
    let follows = [(follow("timeline:bob", "user:alice", 10), None), (follow("user:bob", "user:alice", 0), None)];
    store.insert_follows(&follows, &[feed("timeline:bob"), feed("user:bob")]).await.expect("follow");
    let on = Reactable::Activities;
    for (i, (a, u, k)) in [("a1", "bob", "like"), ("a1", "carol", "wow"), ("a2", "bob", "love"), ("a1", "dave", "like")]
        .into_iter()
        .enumerate()
    {
        store.put_reaction(on, &reaction(a, u, k, 10 + i as i64), false).await.expect("react");
    }
    let thread = [comment("c1", "a1", None, 1), comment("c2", "a1", Some("c1"), 2), comment("c3", "a2", None, 3)];
    store.insert_comments(&thread, &[], &[]).await.expect("comments");
    store.insert_bookmark(&bookmark("bob", "a1", None, 4), None).await.expect("bookmark");
    store.insert_bookmark(&bookmark("carol", "a1", None, 5), None).await.expect("bookmark");
    let views = MetricEvent { activity_id: "a2".into(), metric: "views".into(), delta: 3, user_id: "bob".into() };
    store.add_metrics(&[views], t(6)).await.expect("metrics");
    let hide = Feedback { hide: Some(true), show_more: None, show_less: None };
    store.set_feedback("bob", "a3", &hide, t(7)).await.expect("hide");
    let member = FeedMember {
        fid: fid("user:alice"),
        user_id: "bob".into(),
        role: "feed_member".into(),
        status: "member".into(),
        custom: None,
        membership_level: None,
        created_at: t(8),
        updated_at: t(8),
        invite_accepted_at: None,
        invite_rejected_at: None,
    };
    store.write_members(&fid("user:alice"), &[member], &[], false, None).await.expect("member");

    let all = ids(&["a1", "a2", "a3", "missing"]);
    for viewer in [Some("bob"), None] {
        let extras = store.activity_extras(&all, viewer, LATEST_REACTIONS, 1).await.expect("extras");
        let reactions: std::collections::BTreeMap<_, _> =
            store.reaction_summaries(on, &all, viewer).await.expect("reactions").into_iter().collect();
        let merged: std::collections::BTreeMap<_, _> = extras.reactions.into_iter().collect();
        assert_eq!(format!("{merged:?}"), format!("{reactions:?}"), "reactions, viewer {viewer:?}");
        let (counts, newest) = store.activity_comments(&all, 1).await.expect("comments");
        assert_eq!(extras.comment_counts, counts);
        assert_eq!(format!("{:?}", extras.newest_comments), format!("{newest:?}"));
        let (counts, own) = store.bookmark_summaries("activity", &all, viewer).await.expect("bookmarks");
        assert_eq!(extras.bookmark_counts, counts);
        assert_eq!(format!("{:?}", extras.own_bookmarks), format!("{own:?}"));
        assert_eq!(extras.metrics, store.activity_metrics(&all).await.expect("metrics"));
        assert_eq!(extras.share_counts, store.share_counts(&all).await.expect("shares"));
        let hidden = match viewer {
            Some(v) => store.hidden_activities(v, &all).await.expect("hidden"),
            None => Default::default(),
        };
        assert_eq!(extras.hidden, hidden);
    }
    let fewer = store.activity_extras(&all, None, 1, 1).await.expect("fewer");
    assert_eq!(fewer.reactions["a1"].latest.iter().map(|r| r.user_id.as_str()).collect::<Vec<_>>(), ["dave"]);
    assert_eq!(store.activity_extras(&[], Some("bob"), 2, 1).await.expect("none").reactions.len(), 0);

    let fids = [fid("user:alice"), fid("timeline:bob"), fid("user:nobody")];
    let mut merged = store.feeds_with_counts(&fids, t(100)).await.expect("feeds with counts");
    merged.sort_by(|a, b| a.0.fid.cmp(&b.0.fid));
    let mut feeds = store.get_feeds(&fids).await.expect("feeds");
    feeds.sort_by(|a, b| a.fid.cmp(&b.fid));
    let counts = store.feed_counts(&fids, t(100)).await.expect("counts");
    assert_eq!(merged.len(), feeds.len());
    for ((feed, c), single) in merged.iter().zip(&feeds) {
        assert_eq!(format!("{feed:?}"), format!("{single:?}"));
        assert_eq!(format!("{c:?}"), format!("{:?}", counts[&feed.fid]), "{}", feed.fid);
    }

    let (memberships, follows) = store.relations("bob", &fids).await.expect("relations");
    assert_eq!(format!("{memberships:?}"), format!("{:?}", store.memberships("bob", &fids).await.expect("members")));
    // Both newest first; the two follows here were made at one instant.
    let key = |f: &Follow| (f.source.clone(), f.target.clone());
    let mut single = store.follows_from_owner("bob", &fids).await.expect("follows");
    let mut follows = follows;
    single.sort_by_key(key);
    follows.sort_by_key(key);
    assert_eq!(format!("{follows:?}"), format!("{single:?}"));
    assert_eq!((memberships.len(), follows.len()), (1, 2));
}

/// Up to 10 members per group, newest first.
fn newest_members() -> GroupMembers {
    GroupMembers { per_group: 10, oldest_first: false, stories: None }
}

/// The keys and `(activity_count, user_count, member ids)` of a page of
/// `bell:amy`'s groups.
async fn groups(store: &dyn Store, slice: GroupSlice, limit: usize) -> Vec<(String, i64, i64, Vec<String>)> {
    let page = store.group_page(&fid("bell:amy"), &slice, limit, &newest_members(), t(1_000)).await.expect("groups");
    page.into_iter()
        .map(|g| (g.key, g.activity_count, g.user_count, g.activities.into_iter().map(|a| a.id).collect()))
        .collect()
}

async fn aggregation_groups_join_mark_and_leave(store: &dyn Store) {
    let config = FeedGroupConfig {
        aggregation: Some(json!({"format": "{{ type }}"})),
        notification: Some(json!({"track_read": true, "track_seen": true})),
        ..Default::default()
    };
    let group = FeedGroup { id: "bell".into(), config, created_at: t(0), updated_at: t(0), deleted_at: None };
    store.insert_feed_group(&group).await.expect("group");
    let note = |id: &str, kind: &str, user: &str, at: i64| Activity {
        kind: kind.into(),
        ..activity(id, user, &["bell:amy"], at)
    };
    let first = [note("n1", "like", "bob", 1), note("n2", "like", "carol", 2), note("n3", "comment", "bob", 3)];
    store.save_activities(&first, &[feed("bell:amy")]).await.expect("save");
    let expected = vec![("comment".to_string(), 1, 1, ids(&["n3"])), ("like".to_string(), 2, 2, ids(&["n2", "n1"]))];
    assert_eq!(groups(store, GroupSlice::Start, 10).await, expected);
    let after_comment = GroupSlice::Older(GroupPosition { updated_at: t(3), key: "comment".into() });
    assert_eq!(groups(store, after_comment, 10).await, expected[1..]);
    let before_like = GroupSlice::Newer(GroupPosition { updated_at: t(2), key: "like".into() });
    assert_eq!(groups(store, before_like, 10).await, expected[..1]);

    let state = store.notification_state(&fid("bell:amy")).await.expect("state");
    assert_eq!((state.unread, state.unseen, state.last_read_at), (2, 2, None));
    let marks = Marks { read: ids(&["like", "none"]), seen: ids(&["like"]), at: t(10), ..Default::default() };
    let state =
        store.mark_with(&fid("bell:amy"), &marks, &ExtraWrites::default(), &|_| Vec::new()).await.expect("mark");
    assert_eq!((state.unread, state.unseen, state.read_keys.clone()), (1, 1, ids(&["like"])));
    let all = Marks { all_read: true, at: t(11), ..Default::default() };
    let state = store.mark_with(&fid("bell:amy"), &all, &ExtraWrites::default(), &|_| Vec::new()).await.expect("all");
    assert_eq!((state.unread, state.last_read_at, state.read_keys.len()), (0, Some(t(11)), 0));

    // Bob likes again: the group grows (one more activity, no new author) and is unseen again.
    store.save_activities(&[note("n4", "like", "bob", 12)], &[]).await.expect("join");
    let page =
        store.group_page(&fid("bell:amy"), &GroupSlice::Start, 10, &newest_members(), t(1_000)).await.expect("page");
    assert_eq!((page[0].key.as_str(), page[0].activity_count, page[0].user_count), ("like", 3, 2));
    assert!(!page[0].marked_seen && !page[0].marked_read);
    let state = store.notification_state(&fid("bell:amy")).await.expect("state");
    assert_eq!((state.unread, state.unseen), (1, 2));

    // Purged members leave; an emptied group goes.
    store.purge_activities(&ids(&["n2", "n3"])).await.expect("purge");
    assert_eq!(groups(store, GroupSlice::Start, 10).await, vec![("like".to_string(), 2, 1, ids(&["n4", "n1"]))]);
}

/// `(key, activity_count, all_watched, member ids, watched member ids)` of
/// `tales:zed`'s groups read by `viewer` at `t(60)`.
async fn story_groups(
    store: &dyn Store,
    viewer: &str,
    skip_watched: bool,
) -> Vec<(String, i64, bool, Vec<String>, Vec<String>)> {
    let members = GroupMembers {
        per_group: 10,
        oldest_first: true,
        stories: Some(StoriesView { viewer: viewer.into(), skip_watched }),
    };
    let page = store.group_page(&fid("tales:zed"), &GroupSlice::Start, 10, &members, t(60)).await.expect("stories");
    page.into_iter()
        .map(|g| (g.key, g.activity_count, g.all_watched, g.activities.into_iter().map(|a| a.id).collect(), g.watched))
        .collect()
}

async fn stories_show_live_and_watched_stories_for_their_viewer(store: &dyn Store) {
    let config = FeedGroupConfig {
        aggregation: Some(json!({"format": "{{ user_id }}"})),
        stories: Some(json!({"track_watched": true, "skip_watched": true})),
        ..Default::default()
    };
    let group = FeedGroup { id: "tales".into(), config, created_at: t(0), updated_at: t(0), deleted_at: None };
    store.insert_feed_group(&group).await.expect("group");
    let story = |id: &str, user: &str, at: i64, expires: Option<i64>| Activity {
        expires_at: expires.map(t),
        ..activity(id, user, &["tales:zed"], at)
    };
    let stories = [
        story("s1", "ann", 1, Some(100)),
        story("s2", "ann", 2, Some(100)),
        story("s3", "bob", 3, Some(50)),
        story("s4", "cat", 4, None),
    ];
    store.save_activities(&stories, &[feed("tales:zed")]).await.expect("save");
    let row = |key: &str, count, all, shown: &[&str], watched: &[&str]| {
        (key.to_string(), count, all, ids(shown), ids(watched))
    };
    // Bob's only story expired at t(50): no group.
    let unwatched = vec![row("cat", 1, false, &["s4"], &[]), row("ann", 2, false, &["s1", "s2"], &[])];
    assert_eq!(story_groups(store, "zed", false).await, unwatched);

    let watch =
        |list: &[&str], at| Marks { watched: ids(list), watcher: "zed".into(), at: t(at), ..Default::default() };
    let mark = |marks: Marks| async move {
        store.mark_with(&fid("tales:zed"), &marks, &ExtraWrites::default(), &|_| Vec::new()).await.expect("mark")
    };
    mark(watch(&["s1", "missing"], 10)).await;
    assert_eq!(store.watched("zed", &ids(&["s1", "s2", "missing"])).await.expect("watched"), ids(&["s1"]));
    assert_eq!(story_groups(store, "zed", false).await[1], row("ann", 2, false, &["s1", "s2"], &["s1"]));
    assert_eq!(story_groups(store, "zed", true).await[1], row("ann", 1, false, &["s2"], &[]));

    mark(watch(&["s2", "s3"], 11)).await;
    assert_eq!(story_groups(store, "zed", false).await[1], row("ann", 2, true, &["s1", "s2"], &["s1", "s2"]));
    assert_eq!(story_groups(store, "zed", true).await, vec![row("cat", 1, false, &["s4"], &[])]);
    assert_eq!(story_groups(store, "other", true).await, unwatched, "watched state is the viewer's");

    // The groups holding given stories (what `feeds.stories_feed.updated` shows).
    let members =
        GroupMembers { stories: Some(StoriesView { viewer: "zed".into(), skip_watched: false }), ..newest_members() };
    let holding = GroupSlice::Holding(ids(&["s2", "s3", "missing"]));
    let held = store.group_page(&fid("tales:zed"), &holding, 10, &members, t(60)).await.expect("holding");
    assert_eq!(held.iter().map(|g| (g.key.as_str(), g.all_watched)).collect::<Vec<_>>(), [("ann", true)]);

    let reader = Reader { skip_watched_by: Some("zed".into()), ..Reader::default() };
    let flat = store.feed_activities(&fid("tales:zed"), &FeedSlice::Start, 10, t(60), &reader, None).await;
    assert_eq!(flat.expect("flat").into_iter().map(|a| a.id).collect::<Vec<_>>(), ids(&["s4"]));

    store.purge_activities(&ids(&["s1"])).await.expect("purge");
    assert_eq!(store.watched("zed", &ids(&["s1", "s2"])).await.expect("watched"), ids(&["s2"]));
}

fn view(id: &str, at: i64) -> FeedView {
    FeedView {
        id: id.to_string(),
        activity_selectors: None,
        ranking: Some(json!({"type": "expression", "score": "popularity"})),
        aggregation: None,
        last_used_at: None,
        created_at: t(at),
        updated_at: t(at),
    }
}

async fn feed_views_insert_replace_delete_and_cap(store: &dyn Store) {
    assert_eq!(store.insert_feed_view(&view("b", 1), 2).await.unwrap(), FeedViewInsert::Inserted);
    assert_eq!(store.insert_feed_view(&view("b", 2), 2).await.unwrap(), FeedViewInsert::Exists);
    assert_eq!(store.insert_feed_view(&view("a", 3), 2).await.unwrap(), FeedViewInsert::Inserted);
    assert_eq!(store.insert_feed_view(&view("c", 4), 2).await.unwrap(), FeedViewInsert::Full);
    let listed: Vec<String> = store.list_feed_views().await.unwrap().into_iter().map(|v| v.id).collect();
    assert_eq!(listed, ids(&["a", "b"]));
    assert_eq!(store.get_feed_view("b").await.unwrap().unwrap().created_at, t(1));

    let mut changed = view("b", 1);
    changed.ranking = None;
    changed.updated_at = t(5);
    assert!(store.replace_feed_view(&changed).await.unwrap());
    let got = store.get_feed_view("b").await.unwrap().unwrap();
    assert_eq!((got.ranking, got.updated_at), (None, t(5)));
    assert!(!store.replace_feed_view(&view("zz", 1)).await.unwrap());

    assert!(store.delete_feed_view("b").await.unwrap());
    assert!(!store.delete_feed_view("b").await.unwrap());
    assert!(store.get_feed_view("b").await.unwrap().is_none());
    assert_eq!(store.insert_feed_view(&view("c", 6), 2).await.unwrap(), FeedViewInsert::Inserted);
}

async fn uploads_record_get_and_forget(store: &dyn Store) {
    use tributary::core::files::{Upload, UploadKind};
    let upload = Upload {
        key: "0123456789abcdef0123456789abcdef/cat.png".into(),
        user_id: "amy".into(),
        kind: UploadKind::Image,
        content_type: "image/png".into(),
        size: 67,
        created_at: t(5),
    };
    store.insert_upload(&upload).await.expect("insert");
    assert_eq!(store.get_upload(&upload.key).await.expect("get"), Some(upload.clone()));
    assert!(store.insert_upload(&upload).await.is_err(), "a key is recorded once");
    assert_eq!(store.get_upload("ffffffffffffffffffffffffffffffff/cat.png").await.expect("get"), None);
    assert!(store.delete_upload(&upload.key).await.expect("delete"));
    assert!(!store.delete_upload(&upload.key).await.expect("delete again"));
    assert_eq!(store.get_upload(&upload.key).await.expect("get"), None);
}

// ---------------------------------------------------------------- statement caches

/// Statements whose text varies with the request — here an IN-list spelled
/// with a placeholder per item — each get prepared on the connection that
/// runs them. Run through `rows` and `exec` on one connection, more distinct
/// texts than `STATEMENT_CACHE_CAP` all answer right on both stores, a
/// constant statement keeps running between them, and PostgreSQL's session
/// never holds more than the cap of prepared statements (deadpool's cache,
/// unbounded, kept every one of them, client and server side).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_varying_per_request_stay_within_the_statement_cache() {
    let (sqlite, _dir) = sqlite_store().await;
    eprintln!("statement cache on sqlite");
    varying_statements(&sqlite, &sqlite).await;
    if let Some(base) = database_url() {
        let (postgres, _schema) = postgres_store(base).await;
        eprintln!("statement cache on postgres");
        varying_statements(&postgres, &postgres).await;
    }
}

async fn varying_statements(store: &dyn Store, db: &dyn Db) {
    let users: Vec<User> = (0..10).map(|i| user(&format!("u{i}"), "N", i)).collect();
    store.upsert_users_with(&users, &ExtraWrites::default()).await.expect("users");
    let ids: Vec<String> = (0..STATEMENT_CACHE_CAP + 100).map(|i| format!("u{i}")).collect();
    // One transaction, so every statement runs on one connection; dropped
    // at the end, it rolls back.
    let mut conn = db.write().await.expect("write");
    for n in 1..=ids.len() {
        let list = (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let args: Vec<Arg> = ids[..n].iter().map(Arg::from).collect();
        let matched = if n % 2 == 0 {
            let sql = format!("SELECT COUNT(*) FROM users WHERE id IN ({list})");
            conn.int(&sql, &args).await.expect("select") as usize
        } else {
            let sql = format!("UPDATE users SET name = name WHERE id IN ({list})");
            conn.exec(&sql, &args).await.expect("update") as usize
        };
        assert_eq!(matched, n.min(users.len()), "{n} placeholders");
        if n % 100 == 0 {
            assert_eq!(conn.int("SELECT COUNT(*) FROM users", &[]).await.expect("count"), users.len() as i64);
        }
    }
    if db.dialect() == Dialect::Postgres {
        // The session's prepared statements, but for the one counting them.
        let held = conn
            .rows_once(
                "SELECT COUNT(*) FROM pg_prepared_statements WHERE statement NOT LIKE '%pg_prepared_statements%'",
                &[],
            )
            .await
            .expect("prepared statements");
        let held = held[0].int(0).expect("count") as usize;
        assert!(held <= STATEMENT_CACHE_CAP, "{held} statements prepared, over {STATEMENT_CACHE_CAP}");
    }
}
