//! The storage interface the domain core writes against. Every method is one
//! unit of work in domain terms and is atomic inside the backend: transactions
//! never cross this boundary, which keeps the trait object-safe and every
//! backend honest.
//!
//! The implementations (and all SQL) live in the `store` layer.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;

use super::error::Result;
use super::events::{Event, EventCursor};
use super::feed_visibilities::StoredGrants;
use super::files::Upload;
use super::membership_levels::MembershipLevel;
use super::model::{
    Activity, Bookmark, BookmarkFolder, Collection, Comment, Feed, FeedCounts, FeedGroup, FeedMember, FeedView,
    Feedback, Fid, Follow, MetricEvent, NotificationState, Pin, Poll, PollTally, PollVote, Reaction, ReactionSummary,
    Task, TaskError, TaskStatus, User, VoteOutcome,
};
use super::push::{Device, PushPreferences};
use super::time::Timestamp;

/// What `insert_feed_view` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedViewInsert {
    Inserted,
    /// A view with that id exists.
    Exists,
    /// The app has `max_views` views already.
    Full,
}

/// A keyset position in a feed: `(created_at, activity_id)` of an edge item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedPosition {
    pub created_at: Timestamp,
    pub activity_id: String,
}

/// Which slice of a feed to read. Rows come back in the direction of travel:
/// newest first for `Older`/`Start`, oldest first for `Newer`.
#[derive(Debug, Clone)]
pub enum FeedSlice {
    Start,
    Older(FeedPosition),
    Newer(FeedPosition),
}

/// A QueryActivities request as the stores run it. Rows come back in the
/// direction of travel: the sort order, or its reverse when `backwards`.
#[derive(Debug, Clone)]
pub struct ActivityQuery {
    pub filter: super::filter::Filter,
    pub order: ActivityOrder,
    pub limit: usize,
    pub now: Timestamp,
    pub include_expired: bool,
    pub include_deleted: bool,
    /// Other users' private activities too (server-side reads only).
    pub include_private: bool,
    pub reader: Reader,
    /// At most this many activities are examined in `Created` order, from
    /// `position` on, when no index narrows the filter (`core::scan`);
    /// `None` examines as many as it takes.
    pub scan_budget: Option<usize>,
}

/// What a QueryActivities scan found: the matches, in the direction of
/// travel, and — when the scan budget ran out before the end — the position
/// of the last activity it examined, where the next scan resumes.
#[derive(Debug, Clone, Default)]
pub struct ActivityScan {
    pub activities: Vec<Activity>,
    pub scanned_to: Option<FeedPosition>,
}

/// What an activity read returns of each activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projection {
    /// The whole document.
    Documents,
    /// Only what ranking reads (`RankFields`): a selected feed scores up to
    /// a thousand candidates per selector and needs the documents of one
    /// page alone, so it reads the rest without them.
    RankFields(RankColumns),
}

/// The `RankFields` read from the document, each only when the ranking
/// reads it (the others are always read, from columns): reading a field of
/// the document parses it, which is most of what a candidate costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RankColumns {
    pub kind: bool,
    pub interest_tags: bool,
}

/// An activity as a ranked read orders it, read without its document.
#[derive(Debug, Clone)]
pub struct RankFields {
    pub id: String,
    pub created_at: Timestamp,
    pub kind: String,
    /// The kept popularity (one per reaction, two per live comment, three
    /// per bookmark and per live share).
    pub popularity: i64,
    pub interest_tags: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum ActivityOrder {
    /// Keyset pages over `(created_at, id)`, continuing after `position`
    /// (exclusive); `backwards` reads towards the start.
    Created { newest_first: bool, position: Option<FeedPosition>, backwards: bool },
    /// Offset pages over a sort led by a computed key (`popularity`), as
    /// `(field, descending)`.
    Sorted { sort: Vec<(&'static str, bool)>, offset: usize },
}

/// A filtered, sorted, offset-paged list query; the filter was checked
/// against the endpoint's allow-list, the sort holds `(field, descending)`.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: super::filter::Filter,
    pub sort: Vec<(&'static str, bool)>,
    pub limit: usize,
    pub offset: usize,
}

/// Whose perspective a read takes: `viewer` for per-user state (hidden
/// activities), `restricted` when permission rules apply (user tokens).
/// `grants` are the visibility grants in force (visibility → role →
/// capabilities) for lists that decide readability in SQL; the built-in
/// ones when absent.
#[derive(Debug, Clone, Default)]
pub struct Reader {
    pub viewer: Option<String>,
    pub restricted: bool,
    pub grants: Option<std::sync::Arc<Grants>>,
    /// A stories feed with `stories.skip_watched`: the activities this user
    /// watched are left out of the page.
    pub skip_watched_by: Option<String>,
}

impl Reader {
    /// The role every caller of this perspective holds on any feed: `user`
    /// for a signed-in user, `anonymous` for a restricted reader without a
    /// viewer (a logged-out visitor).
    pub fn everyone_role(&self) -> &'static str {
        if self.restricted && self.viewer.is_none() {
            super::feed_visibilities::ANONYMOUS
        } else {
            super::feed_visibilities::USER
        }
    }
}

pub type Grants = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// Users: the profiles every other record points at.
#[async_trait]
pub trait UserStore: Send + Sync {
    async fn upsert_users(&self, users: &[User]) -> Result<()> {
        self.upsert_users_with(users, &ExtraWrites::default()).await
    }
    /// `upsert_users` with the `extra` records (its events), in the same
    /// transaction.
    async fn upsert_users_with(&self, users: &[User], extra: &ExtraWrites) -> Result<()>;
    /// Replaces existing users, committing only if each is still at the
    /// `updated_at` given for it (same order); false otherwise.
    async fn update_users(&self, users: &[User], if_updated_at: &[Timestamp]) -> Result<bool> {
        self.update_users_with(users, if_updated_at, &ExtraWrites::default()).await
    }
    /// `update_users` with the `extra` records (its events): none is
    /// written when a version does not hold.
    async fn update_users_with(&self, users: &[User], if_updated_at: &[Timestamp], extra: &ExtraWrites)
        -> Result<bool>;
    async fn get_users(&self, ids: &[String]) -> Result<Vec<User>>;
    /// A page of users matching `query` (`sql::USERS` fields; core adds
    /// the scope: live, and not deactivated unless asked).
    async fn query_users(&self, query: &ListQuery) -> Result<Vec<User>>;
    /// Hard-deletes the user rows, with their devices and push preferences
    /// (soft deletion is an `upsert_users`).
    async fn purge_users(&self, ids: &[String]) -> Result<()>;
}

/// The background task queue, shared by every process on the store.
#[async_trait]
pub trait TaskStore: Send + Sync {
    async fn insert_task(&self, task: &Task) -> Result<()>;
    async fn get_task(&self, id: &str) -> Result<Option<Task>>;
    /// Atomically claims the oldest runnable task — pending, or running with
    /// an expired lease (its worker died) — marks it running until
    /// `lease_until` and returns it. Several processes never claim the same
    /// task while its lease holds.
    async fn claim_task(&self, now: Timestamp, lease_until: Timestamp) -> Result<Option<Task>>;
    /// Moves a running task's lease to `lease_until`: a long task (a user's
    /// data, in batches) keeps its claim while it makes progress, and is
    /// taken over soon after its worker dies.
    async fn renew_task(&self, id: &str, lease_until: Timestamp) -> Result<()>;
    async fn finish_task(
        &self,
        id: &str,
        status: TaskStatus,
        result: Option<serde_json::Value>,
        error: Option<TaskError>,
    ) -> Result<()>;
}

/// What a process knows of the configuration writes of other processes
/// sharing its database (`ConfigStore::config_writes`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConfigWrites {
    /// Counts configuration writes heard of (and reconnects of the
    /// listener, after which writes may have been missed).
    pub count: u64,
    /// Whether the process is listening now: while it is not, other
    /// processes' writes go unheard and nothing cached may be trusted.
    pub listening: bool,
}

/// App configuration: settings, feed groups, membership levels and visibility grants.
#[async_trait]
pub trait ConfigStore: Send + Sync {
    /// Where other processes may write the same database (PostgreSQL):
    /// changes whenever any process commits a configuration write. `None`
    /// where this process is the only one (SQLite), whose own writes are
    /// all the configuration cache needs to hear of (`core::config_cache`).
    fn config_writes(&self) -> Option<tokio::sync::watch::Receiver<ConfigWrites>> {
        None
    }
    /// Returns the stored value for `key`, storing `value` first when there is
    /// none — atomically, so concurrent first starts agree on one value.
    async fn setting_or_insert(&self, key: &str, value: &serde_json::Value) -> Result<serde_json::Value>;
    /// The stored value for `key`, if any; one read.
    async fn setting(&self, key: &str) -> Result<Option<serde_json::Value>>;
    /// Stores `value` for `key` only if the stored value is still `current`
    /// (`None`: nothing stored yet) — compared and written atomically, so of
    /// concurrent writers that read the same value one wins and the others
    /// get false and must re-read. Returns whether it wrote.
    async fn replace_setting(
        &self,
        key: &str,
        value: &serde_json::Value,
        current: Option<&serde_json::Value>,
    ) -> Result<bool>;

    async fn get_feed_group(&self, id: &str) -> Result<Option<FeedGroup>>;
    async fn list_feed_groups(&self) -> Result<Vec<FeedGroup>>;
    /// Inserts unless the id exists; returns whether it was inserted.
    async fn insert_feed_group(&self, group: &FeedGroup) -> Result<bool> {
        self.insert_feed_group_with(group, &ExtraWrites::default()).await
    }
    /// `insert_feed_group` with the `extra` records (its events), written
    /// only when the group is.
    async fn insert_feed_group_with(&self, group: &FeedGroup, extra: &ExtraWrites) -> Result<bool>;
    async fn put_feed_group(&self, group: &FeedGroup) -> Result<()> {
        self.put_feed_group_with(group, &ExtraWrites::default()).await
    }
    async fn put_feed_group_with(&self, group: &FeedGroup, extra: &ExtraWrites) -> Result<()>;
    async fn purge_feed_group(&self, id: &str) -> Result<bool> {
        self.purge_feed_group_with(id, &ExtraWrites::default()).await
    }
    /// `purge_feed_group` with the `extra` records, written only when the
    /// group existed.
    async fn purge_feed_group_with(&self, id: &str, extra: &ExtraWrites) -> Result<bool>;

    async fn get_feed_view(&self, id: &str) -> Result<Option<FeedView>>;
    /// Every feed view, by id.
    async fn list_feed_views(&self) -> Result<Vec<FeedView>>;
    /// Inserts the view unless its id exists or `max_views` views exist
    /// already; the count and the insert are one transaction.
    async fn insert_feed_view(&self, view: &FeedView, max_views: usize) -> Result<FeedViewInsert>;
    /// Replaces a stored view; false when there is none with its id.
    async fn replace_feed_view(&self, view: &FeedView) -> Result<bool>;
    /// Deletes a view; false when there was none.
    async fn delete_feed_view(&self, id: &str) -> Result<bool>;

    /// Inserts unless the id exists; returns whether it was inserted.
    async fn insert_membership_level(&self, level: &MembershipLevel) -> Result<bool>;
    async fn get_membership_levels(&self, ids: &[String]) -> Result<Vec<MembershipLevel>>;
    /// Replaces the level only if it is still the version last updated at
    /// `if_updated_at`; false otherwise (changed or deleted meanwhile).
    async fn replace_membership_level(&self, level: &MembershipLevel, if_updated_at: Timestamp) -> Result<bool>;
    async fn delete_membership_level(&self, id: &str) -> Result<bool>;
    async fn query_membership_levels(&self, query: &ListQuery) -> Result<Vec<MembershipLevel>>;

    /// The stored grant changes of every visibility level.
    async fn feed_visibility_grants(&self) -> Result<StoredGrants>;
    /// Sets the grants of the roles given on one level, atomically; other
    /// roles keep what is stored.
    async fn merge_feed_visibility_grants(
        &self,
        visibility: &str,
        grants: &BTreeMap<String, Vec<String>>,
    ) -> Result<()>;
}

/// Feeds: their records, counters and the feed-management queries.
#[async_trait]
pub trait FeedStore: Send + Sync {
    async fn get_feeds(&self, fids: &[Fid]) -> Result<Vec<Feed>>;
    /// Writes the feed — with `if_updated_at`, only if it is still at that
    /// version (returns false otherwise).
    async fn put_feed(&self, feed: &Feed, if_updated_at: Option<Timestamp>) -> Result<bool> {
        self.put_feed_with(feed, if_updated_at, &ExtraWrites::default()).await
    }
    /// `put_feed` with the `extra` records (the task it queues), in the same
    /// transaction: none is written when the version does not hold.
    async fn put_feed_with(&self, feed: &Feed, if_updated_at: Option<Timestamp>, extra: &ExtraWrites) -> Result<bool>;
    async fn feed_counts(&self, fids: &[Fid], now: Timestamp) -> Result<HashMap<Fid, FeedCounts>>;
    /// Removes the feed, every follow from or to it and its timeline entries.
    async fn purge_feed(&self, fid: &Fid) -> Result<()>;

    /// Live feeds matching the query; a restricted reader gets only the
    /// feeds it may read (`store::sql::readable_feed`). Counts in filters and
    /// sorts are taken at `now`.
    async fn query_feeds(&self, query: &ListQuery, reader: &Reader, now: Timestamp) -> Result<Vec<Feed>>;
    /// Writes the feeds, each written one with its first members, in one
    /// transaction: a live feed with the same fid is kept unchanged, a
    /// soft-deleted one is replaced. Returns, per feed, whether it was
    /// written.
    async fn insert_feeds(&self, feeds: &[(Feed, Vec<FeedMember>)]) -> Result<Vec<bool>> {
        self.insert_feeds_with(feeds, &ExtraWrites::default()).await
    }
    /// `insert_feeds` with the `extra` records (their implied owners), in
    /// the same transaction; `extra.each` is completed with every feed
    /// written and its members (`Item::Feed`).
    async fn insert_feeds_with(&self, feeds: &[(Feed, Vec<FeedMember>)], extra: &ExtraWrites) -> Result<Vec<bool>>;
    /// Replaces the documents of the given feeds, with the `extra` records,
    /// in one transaction — only if each feed is still at the `updated_at`
    /// given for it (same order); false, writing nothing, otherwise.
    async fn put_feeds_with(&self, feeds: &[Feed], if_updated_at: &[Timestamp], extra: &ExtraWrites) -> Result<bool>;
    /// The feed's live activities and the live comments on them (replies
    /// at any depth included).
    async fn feed_totals(&self, fid: &Fid, now: Timestamp) -> Result<(i64, i64)>;
    /// Up to `limit` feeds of `group` to suggest to `user`, best first
    /// (`store::sql::feeds::follow_suggestions_query`).
    async fn follow_suggestions(
        &self,
        user: &str,
        group: &str,
        limit: usize,
        grants: &Grants,
    ) -> Result<Vec<SuggestedFeed>>;
}

/// One reaction or comment of a user on an activity, with that activity's
/// interest tags: what the user's interests are computed from
/// (`core::interests`).
#[derive(Debug, Clone)]
pub struct Engagement {
    pub activity_id: String,
    pub interest_tags: Vec<String>,
    pub at: Timestamp,
}

/// Activities, their feed entries and fan-out, feedback and metrics.
#[async_trait]
pub trait ActivityStore: Send + Sync {
    /// Writes the activities (insert or replace), creates the missing feeds
    /// given, links each activity to its feeds and fans it out to the feeds
    /// that follow them — all in one transaction. Returns each activity's
    /// stored `created_at`: an activity that a concurrent writer created
    /// first keeps that writer's.
    async fn save_activities(&self, activities: &[Activity], new_feeds: &[Feed]) -> Result<Vec<Timestamp>> {
        self.save_activities_with(activities, new_feeds, &ExtraWrites::default()).await
    }
    /// `save_activities` with the `extra` records the request implies, in
    /// the same transaction.
    async fn save_activities_with(
        &self,
        activities: &[Activity],
        new_feeds: &[Feed],
        extra: &ExtraWrites,
    ) -> Result<Vec<Timestamp>>;
    /// `save_activities` for edits: commits only if every activity named in
    /// `if_updated_at` is still live at that `updated_at`; false otherwise.
    async fn save_activities_if(
        &self,
        activities: &[Activity],
        new_feeds: &[Feed],
        if_updated_at: &[(String, Timestamp)],
    ) -> Result<bool> {
        self.save_activities_if_with(activities, new_feeds, if_updated_at, &ExtraWrites::default()).await
    }
    /// `save_activities_if` with the `extra` writes (the edit's events), in
    /// the same transaction: none is written when a version does not hold.
    async fn save_activities_if_with(
        &self,
        activities: &[Activity],
        new_feeds: &[Feed],
        if_updated_at: &[(String, Timestamp)],
        extra: &ExtraWrites,
    ) -> Result<bool>;
    /// Activities by id, soft-deleted ones included, in no particular order.
    async fn get_activities(&self, ids: &[String]) -> Result<Vec<Activity>>;
    /// Sets (or with `None` clears) `deleted_at` on the activities that exist
    /// and hides (shows) them in every feed; returns the ids it changed.
    async fn set_activities_deleted(&self, ids: &[String], deleted_at: Option<Timestamp>) -> Result<Vec<String>> {
        self.set_activities_deleted_with(ids, deleted_at, &ExtraWrites::default()).await
    }
    /// `set_activities_deleted` with the `extra` writes (withdrawn
    /// notifications), in the same transaction.
    async fn set_activities_deleted_with(
        &self,
        ids: &[String],
        deleted_at: Option<Timestamp>,
        extra: &ExtraWrites,
    ) -> Result<Vec<String>>;
    async fn query_activities(&self, query: &ActivityQuery) -> Result<ActivityScan>;
    /// Removes the activities, their reactions and every feed entry pointing
    /// at them; returns the ids that existed.
    async fn purge_activities(&self, ids: &[String]) -> Result<Vec<String>> {
        self.purge_activities_with(ids, &ExtraWrites::default()).await
    }
    /// `purge_activities` with the `extra` writes (the deletion's events),
    /// in the same transaction.
    async fn purge_activities_with(&self, ids: &[String], extra: &ExtraWrites) -> Result<Vec<String>>;
    /// Up to `limit` live (not deleted, not expired) activities of one feed,
    /// without those `reader.viewer` has hidden and, when `reader.restricted`,
    /// without other users' private activities; narrowed by `filter`.
    async fn feed_activities(
        &self,
        fid: &Fid,
        slice: &FeedSlice,
        limit: usize,
        now: Timestamp,
        reader: &Reader,
        filter: Option<&super::filter::Filter>,
    ) -> Result<Vec<Activity>>;
    /// The newest `limit` of `feed_activities` without their documents
    /// (`Projection::RankFields`).
    async fn feed_rank_fields(
        &self,
        fid: &Fid,
        limit: usize,
        now: Timestamp,
        reader: &Reader,
        filter: Option<&super::filter::Filter>,
        columns: RankColumns,
    ) -> Result<Vec<RankFields>>;
    /// `query_activities` without documents (`Projection::RankFields`).
    async fn query_rank_fields(&self, query: &ActivityQuery, columns: RankColumns) -> Result<Vec<RankFields>>;

    /// Live activities whose parent is `parent_id`, newest first.
    async fn activity_shares(&self, parent_id: &str, limit: usize, offset: usize) -> Result<Vec<Activity>>;
    /// Number of live activities pointing at each of `activity_ids`.
    async fn share_counts(&self, activity_ids: &[String]) -> Result<HashMap<String, i64>>;
    /// The kept `popularity` of each of `activity_ids` that exists (one
    /// per reaction, two per live comment, three per bookmark and per live
    /// share).
    async fn popularity(&self, activity_ids: &[String]) -> Result<HashMap<String, i64>>;
    /// A user's latest `limit` reactions on activities and latest `limit`
    /// comments on live activities, each with its activity's
    /// `interest_tags` (one statement over the users' indexes).
    async fn engagements(&self, user_id: &str, limit: usize) -> Result<Vec<Engagement>>;

    async fn set_feedback(&self, user_id: &str, activity_id: &str, feedback: &Feedback, now: Timestamp) -> Result<()> {
        self.set_feedback_with(user_id, activity_id, feedback, now, &ExtraWrites::default()).await
    }
    /// `set_feedback` with the `extra` writes (its events), in the same
    /// transaction.
    async fn set_feedback_with(
        &self,
        user_id: &str,
        activity_id: &str,
        feedback: &Feedback,
        now: Timestamp,
        extra: &ExtraWrites,
    ) -> Result<()>;
    /// Which of `activity_ids` the user has hidden.
    async fn hidden_activities(&self, user_id: &str, activity_ids: &[String]) -> Result<HashSet<String>>;
    /// Applies the events that are within their user's quota (see
    /// `METRIC_EVENTS_PER_WINDOW`), atomically; returns, per event, whether
    /// it was counted.
    async fn add_metrics(&self, events: &[MetricEvent], now: Timestamp) -> Result<Vec<bool>>;
    async fn activity_metrics(&self, activity_ids: &[String]) -> Result<HashMap<String, BTreeMap<String, i64>>>;
    /// The windowed notification (see `NotificationWindow`) that a trigger
    /// of deduplication key `key` made at `at` landed on: the key's newest
    /// notification recorded at or before `at`, if it still exists.
    /// Returns its id and when it was recorded.
    async fn windowed_notification(&self, key: &str, at: Timestamp) -> Result<Option<(String, Timestamp)>>;
}

/// Follows between feeds, with their counters and backfill.
#[async_trait]
pub trait FollowStore: Send + Sync {
    /// The accepted follows from one of `sources` to one of `targets`, as
    /// `(target, source)`: which of the given (watched) feeds receive what
    /// is posted to the targets.
    async fn followers_among(&self, targets: &[Fid], sources: &[Fid]) -> Result<Vec<(Fid, Fid)>>;
    /// Inserts the follows (each `false` in the result already existed),
    /// creating the missing feeds given, and the notification paired with
    /// each follow that is new. Every new accepted follow copies up to its
    /// `activity_copy_limit` of its target's newest activities into its
    /// source feed — one transaction.
    async fn insert_follows(&self, follows: &[(Follow, Option<Activity>)], new_feeds: &[Feed]) -> Result<Vec<bool>> {
        self.insert_follows_with(follows, new_feeds, &ExtraWrites::default()).await
    }
    /// `insert_follows` with the `extra` records, in the same transaction;
    /// `extra.each` is completed with every follow inserted
    /// (`Item::Follow`).
    async fn insert_follows_with(
        &self,
        follows: &[(Follow, Option<Activity>)],
        new_feeds: &[Feed],
        extra: &ExtraWrites,
    ) -> Result<Vec<bool>>;
    /// Saves a changed follow (status, role, custom…); `backfill` copies up
    /// to its `activity_copy_limit` of the target's activities into the
    /// source, as on acceptance. `false` when the follow does not exist or,
    /// with `if_updated_at`, is no longer at that version.
    async fn update_follow(&self, follow: &Follow, backfill: bool, if_updated_at: Option<Timestamp>) -> Result<bool> {
        self.update_follow_with(follow, backfill, if_updated_at, &ExtraWrites::default()).await
    }
    /// `update_follow` with the `extra` records (its events): none is
    /// written when the follow is not.
    async fn update_follow_with(
        &self,
        follow: &Follow,
        backfill: bool,
        if_updated_at: Option<Timestamp>,
        extra: &ExtraWrites,
    ) -> Result<bool>;
    /// Deletes the follows `(source, target, keep_history)` that exist (all
    /// of them must when `require_all`, or nothing is deleted); unless
    /// `keep_history`, removes from each source feed the activities that
    /// reached it only through that follow.
    async fn delete_follows(&self, pairs: &[(Fid, Fid, bool)], require_all: bool) -> Result<Vec<Follow>> {
        self.delete_follows_with(pairs, require_all, &ExtraWrites::default()).await
    }
    /// `delete_follows` with the `extra` writes (withdrawn notifications),
    /// in the same transaction; `extra.each` is completed with every follow
    /// deleted (`Item::Follow`).
    async fn delete_follows_with(
        &self,
        pairs: &[(Fid, Fid, bool)],
        require_all: bool,
        extra: &ExtraWrites,
    ) -> Result<Vec<Follow>>;
    async fn get_follow(&self, source: &Fid, target: &Fid) -> Result<Option<Follow>>;
    /// The owners of the feeds following `target` with an accepted follow
    /// asking `push_preference: all`, as `(source feed, owner)`, in source
    /// order after `after`, at most `limit`: a page of whom a new activity
    /// pushes to. `among` are all the feeds the activity went to (`target`
    /// one of them), visited one after another in fid order: an owner comes
    /// once over all of them, at its least (source, target) follow.
    async fn push_followers(
        &self,
        target: &Fid,
        among: &[Fid],
        after: Option<&Fid>,
        limit: usize,
    ) -> Result<Vec<(Fid, String)>>;
    /// Follows matching `query`; a restricted `reader` sees those whose
    /// source or target feed they may query the follows of.
    async fn query_follows(&self, query: &ListQuery, reader: &Reader) -> Result<Vec<Follow>>;
    /// Follows (any status) from feeds `owner` created into `targets`.
    async fn follows_from_owner(&self, owner: &str, targets: &[Fid]) -> Result<Vec<Follow>>;
    /// Follows from feeds of `source_owners` into feeds `target_owner`
    /// created, newest first, at most `per_owner` for each source owner.
    async fn follows_between(
        &self,
        source_owners: &[String],
        target_owner: &str,
        per_owner: usize,
    ) -> Result<Vec<Follow>>;
}

/// Feed members.
#[async_trait]
pub trait MemberStore: Send + Sync {
    /// Upserts `members` of `fid` and deletes the memberships of `remove`
    /// (or, when `replace`, of everyone not in `members`); returns the ids
    /// removed — one transaction. With `if_updated_at` (one per member:
    /// its `updated_at` when read, None when it was no member), only if
    /// every one is still at that version; None otherwise.
    async fn write_members(
        &self,
        fid: &Fid,
        members: &[FeedMember],
        remove: &[String],
        replace: bool,
        if_updated_at: Option<&[Option<Timestamp>]>,
    ) -> Result<Option<Vec<String>>> {
        self.write_members_with(fid, members, remove, replace, if_updated_at, &ExtraWrites::default()).await
    }
    /// `write_members` with the `extra` records, none written when a
    /// version does not hold; `extra.each` is completed with every member
    /// removed (`Item::Member`).
    async fn write_members_with(
        &self,
        fid: &Fid,
        members: &[FeedMember],
        remove: &[String],
        replace: bool,
        if_updated_at: Option<&[Option<Timestamp>]>,
        extra: &ExtraWrites,
    ) -> Result<Option<Vec<String>>>;
    async fn get_members(&self, fid: &Fid, user_ids: &[String]) -> Result<Vec<FeedMember>>;
    /// The memberships (any status) of `user_id` in `fids`.
    async fn memberships(&self, user_id: &str, fids: &[Fid]) -> Result<Vec<FeedMember>>;
    async fn query_members(&self, query: &ListQuery) -> Result<Vec<FeedMember>>;
}

/// Reactions on activities and on comments.
#[async_trait]
pub trait ReactionStore: Send + Sync {
    /// Adds or replaces the user's reaction of its type on `object`
    /// (`exclusive`: removes their other types first); returns the replaced
    /// ones. On a comment, its vote counters change in the same transaction.
    /// Concurrent calls for one (object, user) are serialised.
    async fn put_reaction(&self, on: Reactable, reaction: &Reaction, exclusive: bool) -> Result<Vec<Reaction>> {
        self.put_reaction_with(on, reaction, exclusive, &ExtraWrites::default()).await
    }
    /// `put_reaction` with the `extra` records (its notification, the
    /// reacting user) in the same transaction; `extra.each` is completed
    /// with the reaction as stored, `replaced` when it replaced any
    /// (`Item::Reaction`).
    async fn put_reaction_with(
        &self,
        on: Reactable,
        reaction: &Reaction,
        exclusive: bool,
        extra: &ExtraWrites,
    ) -> Result<Vec<Reaction>>;
    async fn delete_reaction(
        &self,
        on: Reactable,
        object_id: &str,
        user_id: &str,
        kind: &str,
    ) -> Result<Option<Reaction>> {
        self.delete_reaction_with(on, object_id, user_id, kind, &ExtraWrites::default()).await
    }
    /// `delete_reaction` with the `extra` writes (its withdrawn
    /// notification) in the same transaction, none of them written when
    /// there was no such reaction; `extra.each` is completed with the
    /// reaction deleted (`Item::Reaction`).
    async fn delete_reaction_with(
        &self,
        on: Reactable,
        object_id: &str,
        user_id: &str,
        kind: &str,
        extra: &ExtraWrites,
    ) -> Result<Option<Reaction>>;
    /// Groups, latest and the viewer's own reactions of each object.
    async fn reaction_summaries(
        &self,
        on: Reactable,
        object_ids: &[String],
        viewer: Option<&str>,
    ) -> Result<HashMap<String, ReactionSummary>>;
    async fn query_reactions(&self, on: Reactable, query: &ListQuery) -> Result<Vec<Reaction>>;
}

/// Bookmarks and bookmark folders.
#[async_trait]
pub trait BookmarkStore: Send + Sync {
    /// Saves a new bookmark (and the folder it creates, if any) in one
    /// transaction; false, writing nothing, when that placement exists
    /// already.
    async fn insert_bookmark(&self, bookmark: &Bookmark, new_folder: Option<&BookmarkFolder>) -> Result<bool> {
        self.insert_bookmark_with(bookmark, new_folder, &ExtraWrites::default()).await
    }
    /// `insert_bookmark` with the `extra` records (its events).
    async fn insert_bookmark_with(
        &self,
        bookmark: &Bookmark,
        new_folder: Option<&BookmarkFolder>,
        extra: &ExtraWrites,
    ) -> Result<bool>;
    /// Replaces the bookmark placed in `from_folder` ("" = none) with
    /// `bookmark` (moved and/or changed), creating `new_folder` first; None
    /// when there was no such bookmark or, with `if_updated_at`, it is no
    /// longer at that version. One transaction.
    async fn move_bookmark(
        &self,
        from_folder: &str,
        bookmark: &Bookmark,
        new_folder: Option<&BookmarkFolder>,
        if_updated_at: Option<Timestamp>,
    ) -> Result<Option<Bookmark>> {
        self.move_bookmark_with(from_folder, bookmark, new_folder, if_updated_at, &ExtraWrites::default()).await
    }
    /// `move_bookmark` with the `extra` records (its events), none written
    /// when the bookmark is not.
    async fn move_bookmark_with(
        &self,
        from_folder: &str,
        bookmark: &Bookmark,
        new_folder: Option<&BookmarkFolder>,
        if_updated_at: Option<Timestamp>,
        extra: &ExtraWrites,
    ) -> Result<Option<Bookmark>>;
    async fn delete_bookmark(
        &self,
        user_id: &str,
        object_type: &str,
        object_id: &str,
        folder: &str,
    ) -> Result<Option<Bookmark>> {
        self.delete_bookmark_with(user_id, object_type, object_id, folder, &ExtraWrites::default()).await
    }
    /// `delete_bookmark` with the `extra` records, none written when there
    /// was no such bookmark; `extra.each` is completed with the bookmark
    /// deleted (`Item::Bookmark`).
    async fn delete_bookmark_with(
        &self,
        user_id: &str,
        object_type: &str,
        object_id: &str,
        folder: &str,
        extra: &ExtraWrites,
    ) -> Result<Option<Bookmark>>;
    async fn query_bookmarks(&self, query: &ListQuery) -> Result<Vec<Bookmark>>;
    /// Bookmark counts per object and `viewer`'s own bookmarks of them.
    async fn bookmark_summaries(
        &self,
        object_type: &str,
        object_ids: &[String],
        viewer: Option<&str>,
    ) -> Result<(HashMap<String, i64>, Vec<Bookmark>)>;
    async fn get_bookmark_folders(&self, ids: &[String]) -> Result<Vec<BookmarkFolder>>;
    /// Replaces the folder; with `if_updated_at`, only if it is still at
    /// that version (returns false otherwise).
    async fn put_bookmark_folder(&self, folder: &BookmarkFolder, if_updated_at: Option<Timestamp>) -> Result<bool> {
        self.put_bookmark_folder_with(folder, if_updated_at, &ExtraWrites::default()).await
    }
    /// `put_bookmark_folder` with the `extra` records (its events), none
    /// written when the version does not hold.
    async fn put_bookmark_folder_with(
        &self,
        folder: &BookmarkFolder,
        if_updated_at: Option<Timestamp>,
        extra: &ExtraWrites,
    ) -> Result<bool>;
    /// Deletes the folder and the bookmarks in it; false if it did not exist.
    async fn delete_bookmark_folder(&self, id: &str) -> Result<bool> {
        self.delete_bookmark_folder_with(id, &ExtraWrites::default()).await
    }
    /// `delete_bookmark_folder` with the `extra` records, none written when
    /// it did not exist; `extra.each` is completed with the folder deleted
    /// (`Item::Folder`).
    async fn delete_bookmark_folder_with(&self, id: &str, extra: &ExtraWrites) -> Result<bool>;
    async fn query_bookmark_folders(&self, query: &ListQuery) -> Result<Vec<BookmarkFolder>>;
}

/// Threaded comments.
#[async_trait]
pub trait CommentStore: Send + Sync {
    /// Inserts the comments (an existing id fails the whole batch with
    /// `Conflict`), counts them on their parents, and saves the
    /// notification activities — one transaction.
    async fn insert_comments(
        &self,
        comments: &[Comment],
        notifications: &[Activity],
        new_feeds: &[Feed],
    ) -> Result<()> {
        self.insert_comments_with(comments, notifications, new_feeds, &ExtraWrites::default()).await
    }
    /// `insert_comments` with the `extra` writes (their events), in the
    /// same transaction.
    async fn insert_comments_with(
        &self,
        comments: &[Comment],
        notifications: &[Activity],
        new_feeds: &[Feed],
        extra: &ExtraWrites,
    ) -> Result<()>;
    async fn get_comments(&self, ids: &[String]) -> Result<Vec<Comment>>;
    /// Replaces an existing comment's document, status and times; with
    /// `if_updated_at`, only if it is still at that version (returns false
    /// otherwise).
    async fn put_comment(&self, comment: &Comment, if_updated_at: Option<Timestamp>) -> Result<bool> {
        self.put_comment_with(comment, if_updated_at, &ExtraWrites::default()).await
    }
    /// `put_comment` with the `extra` writes (mention notifications made
    /// and withdrawn), in the same transaction: none is written when the
    /// version does not hold.
    async fn put_comment_with(
        &self,
        comment: &Comment,
        if_updated_at: Option<Timestamp>,
        extra: &ExtraWrites,
    ) -> Result<bool>;
    /// Deletes a comment with its replies (at any depth) and their
    /// reactions; returns the deleted ids (none when it did not exist).
    async fn purge_comment(&self, id: &str) -> Result<Vec<String>> {
        self.purge_comment_with(id, &ExtraWrites::default()).await
    }
    /// `purge_comment` with the `extra` writes (withdrawn notifications),
    /// in the same transaction: none is written when the comment is gone.
    async fn purge_comment_with(&self, id: &str, extra: &ExtraWrites) -> Result<Vec<String>>;
    async fn query_comments(&self, query: &ListQuery) -> Result<Vec<Comment>>;
    /// The first `each` replies of every parent, in `sort` order.
    async fn comment_replies(
        &self,
        parents: &[String],
        sort: &[(&'static str, bool)],
        each: usize,
    ) -> Result<Vec<Comment>>;
    /// Live comments per activity, and its newest `latest` top-level ones.
    async fn activity_comments(
        &self,
        activity_ids: &[String],
        latest: usize,
    ) -> Result<(HashMap<String, i64>, Vec<Comment>)>;
}

/// Collections, keyed by (name, id).
#[async_trait]
pub trait CollectionStore: Send + Sync {
    /// Inserts all of them, or none when one exists already: returns the
    /// ref of the first existing one in that case.
    async fn insert_collections(&self, collections: &[Collection]) -> Result<Option<String>>;
    /// Inserts the new ones; existing ones only get the new `custom`.
    async fn upsert_collections(&self, collections: &[Collection]) -> Result<Vec<Collection>>;
    async fn get_collections(&self, refs: &[(String, String)]) -> Result<Vec<Collection>>;
    /// Deletes those that exist; returns them.
    async fn delete_collections(&self, refs: &[(String, String)]) -> Result<Vec<Collection>>;
    async fn query_collections(&self, query: &ListQuery) -> Result<Vec<Collection>>;
}

/// Polls and votes.
#[async_trait]
pub trait PollStore: Send + Sync {
    /// Inserts unless the id exists; returns whether it was inserted.
    async fn insert_poll(&self, poll: &Poll) -> Result<bool>;
    /// Replaces the poll; votes for `removed_options` go with them. With
    /// `if_updated_at`, only if it is still at that version (returns false
    /// otherwise).
    async fn put_poll(
        &self,
        poll: &Poll,
        removed_options: &[String],
        if_updated_at: Option<Timestamp>,
    ) -> Result<bool> {
        self.put_poll_with(poll, removed_options, if_updated_at, &ExtraWrites::default()).await
    }
    /// `put_poll` with the `extra` records (its events), none written when
    /// the version does not hold.
    async fn put_poll_with(
        &self,
        poll: &Poll,
        removed_options: &[String],
        if_updated_at: Option<Timestamp>,
        extra: &ExtraWrites,
    ) -> Result<bool>;
    async fn get_polls(&self, ids: &[String]) -> Result<Vec<Poll>>;
    /// Deletes the poll and its votes; returns whether it existed.
    async fn delete_poll(&self, id: &str) -> Result<bool> {
        self.delete_poll_with(id, &ExtraWrites::default()).await
    }
    /// `delete_poll` with the `extra` records, none written when it did
    /// not exist; `extra.each` is completed with the poll deleted
    /// (`Item::Poll`).
    async fn delete_poll_with(&self, id: &str, extra: &ExtraWrites) -> Result<bool>;
    /// A live activity that carries the poll, if any: one its votes were
    /// cast on, else the first its creator posted with it.
    async fn poll_activity(&self, poll: &Poll) -> Result<Option<Activity>>;
    async fn query_polls(&self, query: &ListQuery) -> Result<Vec<Poll>>;
    /// Casts the vote atomically for its (poll, user): an answer replaces the
    /// user's answer; an option vote replaces the user's option votes when
    /// `exclusive`, is a no-op when that option is already voted, and is
    /// refused beyond `max_votes`.
    async fn cast_vote(&self, vote: &PollVote, exclusive: bool, max_votes: Option<i64>) -> Result<VoteOutcome> {
        self.cast_vote_with(vote, exclusive, max_votes, &ExtraWrites::default()).await
    }
    /// `cast_vote` with the `extra` records, written only when a vote is
    /// stored; `extra.each` is completed with it (`Item::Vote`).
    async fn cast_vote_with(
        &self,
        vote: &PollVote,
        exclusive: bool,
        max_votes: Option<i64>,
        extra: &ExtraWrites,
    ) -> Result<VoteOutcome>;
    /// Deletes the vote — only if `voter` cast it, when given.
    async fn delete_vote(&self, poll_id: &str, vote_id: &str, voter: Option<&str>) -> Result<Option<PollVote>> {
        self.delete_vote_with(poll_id, vote_id, voter, &ExtraWrites::default()).await
    }
    /// `delete_vote` with the `extra` records, none written when no vote
    /// was deleted; `extra.each` is completed with the vote deleted
    /// (`Item::Vote`).
    async fn delete_vote_with(
        &self,
        poll_id: &str,
        vote_id: &str,
        voter: Option<&str>,
        extra: &ExtraWrites,
    ) -> Result<Option<PollVote>>;
    async fn poll_tallies(&self, poll_ids: &[String], viewer: Option<&str>) -> Result<HashMap<String, PollTally>>;
    async fn query_votes(&self, query: &ListQuery) -> Result<Vec<PollVote>>;
}

/// Pinned activities.
#[async_trait]
pub trait PinStore: Send + Sync {
    /// Pins the activity to the feed; returns the pin as stored (an existing
    /// pin is kept unchanged).
    async fn insert_pin(&self, pin: &Pin) -> Result<Pin> {
        self.insert_pin_with(pin, &ExtraWrites::default()).await
    }
    /// `insert_pin` with the `extra` writes in the same transaction;
    /// `extra.each` is completed with a new pin (`Item::Pin`), not with one
    /// that existed.
    async fn insert_pin_with(&self, pin: &Pin, extra: &ExtraWrites) -> Result<Pin>;
    async fn delete_pin(&self, fid: &Fid, activity_id: &str) -> Result<Option<Pin>> {
        self.delete_pin_with(fid, activity_id, &ExtraWrites::default()).await
    }
    /// `delete_pin` with the `extra` writes in the same transaction, none of
    /// them written when there was no pin; `extra.each` is completed with
    /// the pin deleted (`Item::Pin`).
    async fn delete_pin_with(&self, fid: &Fid, activity_id: &str, extra: &ExtraWrites) -> Result<Option<Pin>>;
    /// Pins of live activities.
    async fn query_pins(&self, query: &ListQuery) -> Result<Vec<Pin>>;
}

/// The event outbox: events are appended by the writes that emit them
/// (`ExtraWrites::events`) and read here, in order, by the sinks.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Up to `limit` events after `after`, oldest first. Only events whose
    /// transaction and every earlier one have settled are returned, so no
    /// event can later appear before the last cursor returned.
    async fn events_after(&self, after: EventCursor, limit: usize) -> Result<Vec<(EventCursor, Event)>>;
    /// The cursor of the newest settled event: where a reader that wants
    /// only new events starts.
    async fn events_head(&self) -> Result<EventCursor>;
    /// Records events that go with no other write (control records).
    async fn append_events(&self, events: &[Event]) -> Result<()>;
    /// Removes events recorded before `before`; returns how many.
    async fn prune_events(&self, before: Timestamp) -> Result<u64>;
    /// The stored position of a durable consumer (a webhook target).
    async fn consumer_position(&self, consumer: &str) -> Result<Option<EventCursor>>;
    async fn set_consumer_position(&self, consumer: &str, position: EventCursor) -> Result<()>;
    /// Takes or renews the right to run `consumer` until `lease_until`:
    /// true when no other holder's lease is in force. Several processes
    /// over one database deliver each consumer's events once.
    async fn lease_consumer(
        &self,
        consumer: &str,
        holder: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<bool>;
    /// Forgets `consumer`, its position and lease, unless another holder's
    /// lease is in force: a webhook target removed and later added again
    /// starts from the newest event, like a new one.
    async fn forget_consumer(&self, consumer: &str, holder: &str, now: Timestamp) -> Result<()>;
    /// Changes whenever events are committed, by this process or (where the
    /// database carries notifications) any other: readers wait on it
    /// between polls.
    fn event_writes(&self) -> tokio::sync::watch::Receiver<u64>;
}

/// One background fan-out job, as a worker claimed it: copy `activity_id`
/// into the feeds that follow `origin`, from the follower feed after
/// `after_source` on (`""`: from the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanoutJob {
    pub activity_id: String,
    pub origin: String,
    pub after_source: String,
}

/// What one batch of a fan-out job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanoutStep {
    /// A batch was copied; more follower feeds remain.
    Copied,
    /// The job is finished and gone: every follower feed has the entry, or
    /// the activity was deleted or left the origin feed meanwhile.
    Done,
    /// Another worker holds the job now (this one's lease lapsed).
    Lost,
}

/// Celebrity fan-out: an activity posted to a feed with many followers
/// records a durable job in its own transaction (`store::ops::fanout`), and
/// the process's fan-out worker (`core::fanout`) copies the entry into the
/// follower feeds in bounded batches, each its own transaction.
#[async_trait]
pub trait FanoutStore: Send + Sync {
    /// Whether a job waits for a worker (none holds it, or its lease
    /// lapsed): a cheap read before `claim_fanout`, which writes.
    async fn fanout_waiting(&self, now: Timestamp) -> Result<bool>;
    /// Takes the oldest waiting job for `holder` until `lease_until`.
    /// Workers of several processes never take one job at once.
    async fn claim_fanout(&self, holder: &str, now: Timestamp, lease_until: Timestamp) -> Result<Option<FanoutJob>>;
    /// Copies the next `batch` follower feeds of `job` (as the job row
    /// records its progress, not `job.after_source`) and renews the lease,
    /// in one transaction.
    async fn fanout_step(
        &self,
        job: &FanoutJob,
        holder: &str,
        batch: usize,
        lease_until: Timestamp,
    ) -> Result<FanoutStep>;
    /// Gives a held job back (shutdown), so another worker or the next
    /// start takes it over at once.
    async fn release_fanout(&self, job: &FanoutJob, holder: &str) -> Result<()>;
}

/// Work waiting in a durable queue: how many items, and when the oldest was
/// queued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    pub waiting: i64,
    pub oldest: Option<Timestamp>,
}

/// Database connections of this process: open, and of those idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    pub open: usize,
    pub idle: usize,
    pub max: usize,
}

/// What `GET /metrics` reads of the store at scrape time: cheap, indexed
/// counts, never on a request's path.
#[async_trait]
pub trait MonitorStore: Send + Sync {
    /// Background fan-out jobs not finished (`fanout_jobs`).
    async fn fanout_backlog(&self) -> Result<Backlog>;
    /// Tasks pending or running.
    async fn task_backlog(&self) -> Result<Backlog>;
    /// The connection pool, where the store has one (PostgreSQL).
    fn pool_use(&self) -> Option<PoolUse>;
}

/// What a page of activities shows beside the activities themselves, for
/// one viewer (`EnrichmentStore::activity_extras`).
#[derive(Debug, Default)]
pub struct ActivityExtras {
    pub reactions: HashMap<String, ReactionSummary>,
    /// Live comments per activity.
    pub comment_counts: HashMap<String, i64>,
    /// The newest top-level comments of each activity, newest first.
    pub newest_comments: Vec<Comment>,
    pub bookmark_counts: HashMap<String, i64>,
    /// The viewer's bookmarks of the activities, newest first.
    pub own_bookmarks: Vec<Bookmark>,
    pub metrics: HashMap<String, BTreeMap<String, i64>>,
    pub share_counts: HashMap<String, i64>,
    /// The activities the viewer has hidden.
    pub hidden: HashSet<String>,
}

/// The reads that enrich a page, each one statement however many items it
/// has: on PostgreSQL a statement is a round trip, so a page asks for what
/// it needs at once.
#[async_trait]
pub trait EnrichmentStore: Send + Sync {
    /// `ActivityExtras` of `activity_ids` for `viewer` (without one, the
    /// viewer's parts are empty): the newest `latest_reactions` reactions
    /// and `latest_comments` top-level comments of each.
    async fn activity_extras(
        &self,
        activity_ids: &[String],
        viewer: Option<&str>,
        latest_reactions: usize,
        latest_comments: usize,
    ) -> Result<ActivityExtras>;
    /// The feeds of `fids` (deleted ones included) with their counts.
    async fn feeds_with_counts(&self, fids: &[Fid], now: Timestamp) -> Result<Vec<(Feed, FeedCounts)>>;
    /// `user`'s memberships of `fids` and the follows from their feeds into
    /// them (newest first), whatever their status.
    async fn relations(&self, user: &str, fids: &[Fid]) -> Result<(Vec<FeedMember>, Vec<Follow>)>;
}

/// A keyset position in an aggregated feed's group order: the
/// `(updated_at, group key)` of an edge group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPosition {
    pub updated_at: Timestamp,
    pub key: String,
}

/// Which slice of an aggregated feed's groups to read, newest-updated
/// first. Rows come back in the direction of travel, as `FeedSlice`.
#[derive(Debug, Clone)]
pub enum GroupSlice {
    Start,
    Older(GroupPosition),
    Newer(GroupPosition),
    /// The groups holding any of these activities, newest-updated first.
    Holding(Vec<String>),
}

/// One group of an aggregated feed (`core::aggregation`), as stored, with
/// its newest (or oldest) live member activities and whether its key was
/// marked read or seen (`mark_read`/`mark_seen`) since it last grew.
#[derive(Debug, Clone)]
pub struct StoredGroup {
    pub key: String,
    pub activity_count: i64,
    pub user_count: i64,
    pub user_count_truncated: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub activities: Vec<Activity>,
    pub marked_read: bool,
    pub marked_seen: bool,
    /// Read as a stories feed (`StoriesView`): whether the viewer has
    /// watched every live member, and which of `activities` they watched.
    pub all_watched: bool,
    pub watched: Vec<String>,
}

/// Which members a group page shows: up to `per_group` live ones per
/// group, newest first or `oldest_first`, as a stories feed shows them for
/// its viewer when `stories`.
#[derive(Debug, Clone, Default)]
pub struct GroupMembers {
    pub per_group: usize,
    pub oldest_first: bool,
    pub stories: Option<StoriesView>,
}

/// An aggregated stories feed read for `viewer`: groups count and show only
/// live (unexpired) members, and are left out when none is left; with
/// `skip_watched`, the viewer's watched members are left out the same way.
#[derive(Debug, Clone, Default)]
pub struct StoriesView {
    pub viewer: String,
    pub skip_watched: bool,
}

/// What one MarkActivity request marks, at `at`. Keys are group keys
/// (activity ids in flat feeds, whose groups are single activities);
/// unknown keys are not recorded. `watched` are activity ids, recorded for
/// `watcher` (unknown activities are not).
#[derive(Debug, Clone, Default)]
pub struct Marks {
    pub read: Vec<String>,
    pub seen: Vec<String>,
    pub watched: Vec<String>,
    pub watcher: String,
    pub all_read: bool,
    pub all_seen: bool,
    pub at: Timestamp,
}

/// The events a marking records, built from the feed's state after it.
pub type MarkEvents = dyn Fn(&NotificationState) -> Vec<Event> + Send + Sync;

/// Aggregated and notification feeds: the groups the writes keep
/// (`store::ops::aggregation`), their read/seen state, and marking.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// One page of `fid`'s groups with their live member activities as
    /// `members` says (expired ones are left out as of `now`).
    async fn group_page(
        &self,
        fid: &Fid,
        slice: &GroupSlice,
        limit: usize,
        members: &GroupMembers,
        now: Timestamp,
    ) -> Result<Vec<StoredGroup>>;
    async fn notification_state(&self, fid: &Fid) -> Result<NotificationState>;
    /// Which of `ids` `user` has watched (`mark_watched`).
    async fn watched(&self, user: &str, ids: &[String]) -> Result<Vec<String>>;
    /// Applies `marks` to `fid` and records the events `events` builds
    /// from the state that results, in one transaction; returns that state.
    async fn mark_with(
        &self,
        fid: &Fid,
        marks: &Marks,
        extra: &ExtraWrites,
        events: &MarkEvents,
    ) -> Result<NotificationState>;
}

/// A metric counted per day (`core::usage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageMetric {
    /// Activities created (not edits, not notifications).
    Activities,
    /// Follows created, whatever their status.
    Follows,
    /// API requests served (counted in memory, flushed in batches).
    ApiRequests,
}

impl UsageMetric {
    pub fn as_str(self) -> &'static str {
        match self {
            UsageMetric::Activities => "activities",
            UsageMetric::Follows => "follows",
            UsageMetric::ApiRequests => "api_requests",
        }
    }
}

/// Usage counters per day (`YYYY-MM-DD`, UTC). Writes count themselves in
/// their own transaction (`store::ops::usage::count`); these are the rest.
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Adds `value` to `metric` on `day`, in a transaction of its own.
    async fn add_usage(&self, day: &str, metric: UsageMetric, value: i64) -> Result<()>;
    /// `(day, metric, total)` of every counted day from `from` to `to`
    /// (inclusive), in day order.
    async fn usage_between(&self, from: &str, to: &str) -> Result<Vec<(String, String, i64)>>;
    /// Folds the rows of each (day, metric) counted more than once into
    /// one, keeping totals exact; returns how many it folded.
    async fn compact_usage(&self) -> Result<usize>;
}

/// One kind of a user's records (`core::user_data`: export and deletion).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserDataKind {
    /// Feeds the user created.
    Feeds,
    Activities,
    ActivityReactions,
    CommentReactions,
    Comments,
    Bookmarks,
    BookmarkFolders,
    /// Follows from the user's feeds.
    Follows,
    /// Follows into the user's feeds.
    Followers,
    /// The user's memberships of feeds.
    Memberships,
    /// Collections the user owns.
    Collections,
    PollVotes,
    /// Stories the user marked watched (`{activity_id, watched_at}`),
    /// walked by activity id.
    StoryWatches,
    /// Files and images the user uploaded (`{key, kind, content_type,
    /// size, created_at}`).
    Uploads,
}

/// A keyset position within one kind of a user's records: the record's
/// `created_at` and its key within the user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserDataKey {
    pub created_at: i64,
    pub key: String,
    pub subkey: String,
}

/// A user's records read in bounded pages, and the exports made of them.
#[async_trait]
pub trait UserDataStore: Send + Sync {
    /// Up to `limit` records of `kind` belonging to `user_id`, after `after`
    /// (from the first without it), in key order, as their stored documents.
    async fn user_data_page(
        &self,
        user_id: &str,
        kind: UserDataKind,
        after: Option<&UserDataKey>,
        limit: usize,
    ) -> Result<Vec<(UserDataKey, serde_json::Value)>>;
    /// Forgets that `user_id` watched the stories `activity_ids`.
    async fn delete_story_watches(&self, user_id: &str, activity_ids: &[String]) -> Result<()>;
    /// Starts export `id` of `user_id` afresh: the chunks a previous run of
    /// its task wrote are dropped.
    async fn begin_export(&self, id: &str, user_id: &str, now: Timestamp) -> Result<()>;
    /// Appends chunk `seq` of export `id`'s JSON text.
    async fn put_export_chunk(&self, id: &str, seq: i64, body: &str) -> Result<()>;
    /// Marks export `id` complete, downloadable until `expires_at`, and
    /// removes the exports that expired before `now`.
    async fn finish_export(&self, id: &str, expires_at: Timestamp, now: Timestamp) -> Result<()>;
    /// The user and expiry of export `id`, once complete.
    async fn get_export(&self, id: &str) -> Result<Option<(String, Timestamp)>>;
    /// Up to `limit` chunks of export `id` after `after_seq`, in order.
    async fn export_chunks(&self, id: &str, after_seq: i64, limit: usize) -> Result<Vec<(i64, String)>>;
}

/// Who uploaded which file (`core::uploads`); the bytes are elsewhere.
#[async_trait]
pub trait UploadStore: Send + Sync {
    /// Records a new upload; its key is fresh, so it never meets another.
    async fn insert_upload(&self, upload: &Upload) -> Result<()>;
    async fn get_upload(&self, key: &str) -> Result<Option<Upload>>;
    /// Forgets the upload; false when there was none.
    async fn delete_upload(&self, key: &str) -> Result<bool>;
    /// Forgets those of `keys` that `user_id` uploaded, in one transaction
    /// that records them as orphaned (their bytes still to be removed), and
    /// returns them.
    async fn take_uploads(&self, user_id: &str, keys: &[String]) -> Result<Vec<String>>;
    /// Up to `limit` orphaned uploads of `user_id` with keys after `after`,
    /// in key order.
    async fn upload_orphans(&self, user_id: &str, after: &str, limit: usize) -> Result<Vec<String>>;
    /// Forgets orphaned uploads whose bytes are gone.
    async fn forget_upload_orphans(&self, keys: &[String]) -> Result<()>;
}

/// Push devices and preferences (`core::push`).
#[async_trait]
pub trait PushStore: Send + Sync {
    /// Stores `device` for its user, replacing the user's device of that id
    /// and taking the id from any other user. Returns false, writing
    /// nothing, when the user already has `max` other devices; the count and
    /// the insert are one transaction.
    async fn upsert_device(&self, device: &Device, max: usize) -> Result<bool>;
    /// The devices of these users, oldest first.
    async fn devices_of(&self, user_ids: &[String]) -> Result<Vec<Device>>;
    /// Deletes the user's device `id`; false when the user has none of it.
    async fn delete_device(&self, user_id: &str, id: &str) -> Result<bool>;
    /// The stored preferences of these `(user_id, channel)` scopes (an
    /// empty channel is the user's own); scopes never set are left out.
    async fn push_preferences(&self, scopes: &[(String, String)]) -> Result<Vec<PushPreferences>>;
    /// Replaces the preferences of each scope given, in one transaction.
    /// Returns false, writing nothing, when a user would keep more than
    /// `max_channels` channel scopes.
    async fn save_push_preferences(&self, prefs: &[PushPreferences], max_channels: usize) -> Result<bool>;
}

/// What a translation is cached on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Translated {
    Activity,
    Comment,
}

/// Cached machine translations (`core::translation`).
#[async_trait]
pub trait TranslationStore: Send + Sync {
    /// Adds `entries` to the translations of the activity or comment `id`,
    /// replacing them first if they were made from another text than the
    /// one fingerprinted `of`. Touches nothing else of the record (not its
    /// `updated_at`); concurrent calls for two languages both land. Records
    /// `event` (`feeds.activity.updated` or `feeds.comment.updated`)
    /// completed with the translations stored (`Item::Translations`) in the
    /// same transaction. False, recording nothing, when there is no such
    /// record.
    async fn save_translations(
        &self,
        on: Translated,
        id: &str,
        of: &str,
        entries: &[(String, String)],
        event: &Event,
    ) -> Result<bool>;
}

/// The whole storage interface: every area. Core holds an `Arc<dyn Store>`;
/// a backend implements the area traits and gets `Store` for free.
pub trait Store:
    UserStore
    + TaskStore
    + ConfigStore
    + FeedStore
    + ActivityStore
    + FollowStore
    + MemberStore
    + ReactionStore
    + BookmarkStore
    + CommentStore
    + CollectionStore
    + PollStore
    + PinStore
    + EventStore
    + FanoutStore
    + EnrichmentStore
    + MonitorStore
    + NotificationStore
    + UsageStore
    + UserDataStore
    + UploadStore
    + PushStore
    + TranslationStore
    + 'static
{
}

impl<
        T: UserStore
            + TaskStore
            + ConfigStore
            + FeedStore
            + ActivityStore
            + FollowStore
            + MemberStore
            + ReactionStore
            + BookmarkStore
            + CommentStore
            + CollectionStore
            + PollStore
            + PinStore
            + EventStore
            + FanoutStore
            + EnrichmentStore
            + MonitorStore
            + NotificationStore
            + UsageStore
            + UserDataStore
            + UploadStore
            + PushStore
            + TranslationStore
            + 'static,
    > Store for T
{
}

/// The sliding deduplication window of one notification activity.
#[derive(Debug, Clone)]
pub struct NotificationWindow {
    pub activity_id: String,
    /// What identifies a repeat: trigger, object, actor and recipient.
    pub key: String,
    /// The window in nanoseconds (> 0).
    pub window: i64,
}

/// Records a request writes beside its main one, committed in the same
/// transaction before it, so a request's writes stand or fall together.
#[derive(Debug, Clone, Default)]
pub struct ExtraWrites {
    /// Users the request creates implicitly (`create_users`, a first
    /// GetOrCreateFeed): inserted, or recreated when soft-deleted; a live
    /// user is left as it is.
    pub users: Vec<User>,
    /// Users the request writes whole (GetOrCreateFeed's `user`), as
    /// `upsert_users` does.
    pub user_updates: Vec<User>,
    /// Collections written inline: inserted, or only their `custom` updated.
    pub collections: Vec<Collection>,
    /// Notification activities, with the feeds they need created.
    pub notifications: Vec<Activity>,
    pub feeds: Vec<Feed>,
    /// The sliding deduplication windows of `notifications` (by activity
    /// id): a notification named here is saved only if its key has no
    /// notification recorded within the window before it — decided in the
    /// write transaction, under a lock of the key, so concurrent repeats
    /// notify once. A notification not named here is saved as it is.
    pub windows: Vec<NotificationWindow>,
    /// Notification activities withdrawn (purged) by the request.
    pub withdrawn: Vec<String>,
    /// Background tasks the request queues (`core::tasks`): a task exists
    /// exactly when the write that asked for it committed.
    pub tasks: Vec<Task>,
    /// The events the request emits (the outbox): recorded exactly when the
    /// write commits.
    pub events: Vec<Event>,
    /// The event each item of the main write announces when the write
    /// creates or removes that item — a batch may find some already there
    /// (or already gone), and those announce nothing. The operation records
    /// a copy completed with the item (`Event::completed`); only operations
    /// that document it take one, the others refuse it.
    pub each: Option<Event>,
}

/// A follow suggestion as ranked by the store: the feed, how many distinct
/// people the user follows also follow it, and its accepted followers.
#[derive(Debug, Clone)]
pub struct SuggestedFeed {
    pub feed: Feed,
    pub friends: i64,
    pub followers: i64,
}

/// Which reactions: those on activities or those on comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reactable {
    Activities,
    Comments,
}

impl Reactable {
    /// The filter field that names the reacted object.
    pub fn object_field(self) -> &'static str {
        match self {
            Reactable::Activities => "activity_id",
            Reactable::Comments => "comment_id",
        }
    }
}
