//! Versioned schema for the SQLite store. `PRAGMA user_version` records how
//! many steps ran; a step is never edited once released — add a new one.
//!
//! Records are JSON documents (`doc`) beside the columns that queries filter,
//! sort or join on, so new optional fields need no migration.

pub const STEPS: &[&str] = &[
    r#"
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT,
    role TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER,
    doc TEXT NOT NULL
);
CREATE INDEX users_created_at ON users (created_at);

CREATE TABLE feed_groups (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);

CREATE TABLE feeds (
    fid TEXT PRIMARY KEY,
    group_id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    doc TEXT NOT NULL
);

CREATE TABLE activities (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    deleted_at INTEGER,
    expires_at INTEGER,
    doc TEXT NOT NULL
);
CREATE INDEX activities_user ON activities (user_id, created_at);

-- One row per (feed, activity): `direct` = the activity names this feed in
-- its `feeds`; otherwise it arrived by fan-out through a follow. An
-- activity's created_at never changes, so the primary key is both the
-- uniqueness of (feed, activity) and the feed's page order: one b-tree per
-- fan-out insert instead of two.
CREATE TABLE feed_entries (
    fid TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    activity_id TEXT NOT NULL,
    direct INTEGER NOT NULL,
    PRIMARY KEY (fid, created_at, activity_id)
) WITHOUT ROWID;
CREATE INDEX feed_entries_activity ON feed_entries (activity_id);

CREATE TABLE follows (
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (source, target)
) WITHOUT ROWID;
CREATE INDEX follows_target ON follows (target, status);
CREATE INDEX follows_created_at ON follows (created_at);

CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    work TEXT NOT NULL,
    result TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX tasks_queue ON tasks (status, created_at);
"#,
    // Task leases let several workers share one queue: a claim holds a task
    // until `lease_until`, after which another worker may take it over.
    r#"
ALTER TABLE tasks ADD COLUMN lease_until INTEGER;
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE reactions (
    activity_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    type TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (activity_id, user_id, type)
) WITHOUT ROWID;
CREATE INDEX reactions_recent ON reactions (activity_id, created_at DESC);
"#,
    // Feed entries carry their activity's visibility window, so feed reads
    // and activity counts are range scans of one table, with no join to
    // filter out deleted or expired activities.
    r#"
ALTER TABLE feed_entries ADD COLUMN visible_until INTEGER;
UPDATE feed_entries SET visible_until = (
    SELECT CASE WHEN a.deleted_at IS NOT NULL THEN 0 ELSE a.expires_at END
    FROM activities a WHERE a.id = feed_entries.activity_id);
"#,
    r#"
CREATE TABLE pins (
    fid TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (fid, activity_id)
) WITHOUT ROWID;
CREATE INDEX pins_recent ON pins (fid, created_at DESC);
CREATE INDEX pins_activity ON pins (activity_id);
"#,
    r#"
CREATE TABLE activity_feedback (
    user_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    hide INTEGER NOT NULL DEFAULT 0,
    show_more INTEGER NOT NULL DEFAULT 0,
    show_less INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, activity_id)
) WITHOUT ROWID;
CREATE TABLE activity_metrics (
    activity_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (activity_id, metric)
) WITHOUT ROWID;
CREATE TABLE metric_quota (
    user_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    used INTEGER NOT NULL,
    last_allowed INTEGER NOT NULL,
    PRIMARY KEY (user_id, activity_id, metric)
) WITHOUT ROWID;
"#,
    // Reshares and replies point at their parent; counted per parent.
    r#"
ALTER TABLE activities ADD COLUMN parent_id TEXT;
UPDATE activities SET parent_id = json_extract(doc, '$.parent_id');
CREATE INDEX activities_parent ON activities (parent_id, created_at) WHERE parent_id IS NOT NULL;
"#,
    // Private activities carry their author on every feed entry, so user
    // reads filter them in the index scan.
    r#"
ALTER TABLE feed_entries ADD COLUMN private_to TEXT;
UPDATE feed_entries SET private_to = (SELECT a.user_id FROM activities a
    WHERE a.id = feed_entries.activity_id AND json_extract(a.doc, '$.visibility') = 'private');
"#,
    r#"
CREATE TABLE collections (
    name TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (name, id)
) WITHOUT ROWID;
CREATE INDEX collections_recent ON collections (created_at);
CREATE INDEX collections_owner ON collections (user_id, created_at);
"#,
    r#"
CREATE TABLE polls (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX polls_recent ON polls (created_at);
CREATE TABLE poll_votes (
    id TEXT PRIMARY KEY,
    poll_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    option_id TEXT NOT NULL,
    is_answer INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX poll_votes_user ON poll_votes (poll_id, user_id);
CREATE INDEX poll_votes_recent ON poll_votes (poll_id, option_id, created_at);
"#,
    // QueryActivities walks activities in created_at order.
    r#"
CREATE INDEX activities_created ON activities (created_at, id);
"#,
    // Comments keep their counters in columns, updated in the transaction
    // that adds a reply or a vote, so threads sort by score from an index.
    r#"
CREATE TABLE comments (
    id TEXT PRIMARY KEY,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    parent_id TEXT,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER,
    reply_count INTEGER NOT NULL DEFAULT 0,
    upvote_count INTEGER NOT NULL DEFAULT 0,
    downvote_count INTEGER NOT NULL DEFAULT 0,
    reaction_count INTEGER NOT NULL DEFAULT 0,
    score INTEGER NOT NULL DEFAULT 0,
    confidence_score REAL NOT NULL DEFAULT 0,
    controversy_score REAL NOT NULL DEFAULT 0,
    doc TEXT NOT NULL
);
CREATE INDEX comments_thread ON comments (object_type, object_id, parent_id, created_at);
CREATE INDEX comments_replies ON comments (parent_id, created_at) WHERE parent_id IS NOT NULL;
CREATE INDEX comments_user ON comments (user_id, created_at);
CREATE TABLE comment_reactions (
    comment_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    type TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (comment_id, user_id, type)
) WITHOUT ROWID;
CREATE INDEX comment_reactions_recent ON comment_reactions (comment_id, created_at DESC);
"#,
    // Bookmarks key on (user, object, folder) with "" for "no folder", so
    // the primary key makes each placement unique.
    r#"
CREATE TABLE bookmark_folders (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX bookmark_folders_user ON bookmark_folders (user_id, created_at);
CREATE TABLE bookmarks (
    user_id TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    folder_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (user_id, object_type, object_id, folder_id)
) WITHOUT ROWID;
CREATE INDEX bookmarks_object ON bookmarks (object_type, object_id);
CREATE INDEX bookmarks_activity ON bookmarks (activity_id);
CREATE INDEX bookmarks_user ON bookmarks (user_id, created_at);
CREATE INDEX bookmarks_folder ON bookmarks (folder_id) WHERE folder_id <> '';
"#,
    // Feed members, and the indexes that read follows by feed in time
    // order (query_follows, follower lists).
    r#"
CREATE TABLE feed_members (
    fid TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (fid, user_id)
) WITHOUT ROWID;
CREATE INDEX feed_members_user ON feed_members (user_id);
CREATE INDEX feed_members_fid_created ON feed_members (fid, created_at);
CREATE INDEX follows_target_created ON follows (target, created_at);
CREATE INDEX follows_source_created ON follows (source, created_at);
"#,
    // Membership levels (app-wide config, few rows) and the per-role grant
    // changes of each feed visibility level (one row per changed level;
    // defaults live in code).
    r#"
CREATE TABLE membership_levels (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    priority INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX membership_levels_created_at ON membership_levels (created_at);
CREATE INDEX membership_levels_priority ON membership_levels (priority);
CREATE TABLE feed_visibility_grants (
    visibility TEXT PRIMARY KEY,
    grants TEXT NOT NULL
);
"#,
    // QueryFeeds filters and sorts on feed fields that lived only in `doc`.
    // Generated columns backfill themselves and cannot drift from the
    // document, whichever statement writes it.
    r#"
ALTER TABLE feeds ADD COLUMN feed_id TEXT GENERATED ALWAYS AS (substr(fid, instr(fid, ':') + 1)) VIRTUAL;
ALTER TABLE feeds ADD COLUMN visibility TEXT GENERATED ALWAYS AS (json_extract(doc, '$.visibility')) VIRTUAL;
ALTER TABLE feeds ADD COLUMN updated_at INTEGER GENERATED ALWAYS AS (json_extract(doc, '$.updated_at')) VIRTUAL;
ALTER TABLE feeds ADD COLUMN deleted_at INTEGER GENERATED ALWAYS AS (json_extract(doc, '$.deleted_at')) VIRTUAL;
CREATE INDEX feeds_created ON feeds (created_at, fid);
CREATE INDEX feeds_updated ON feeds (updated_at, fid);
CREATE INDEX feeds_owner ON feeds (created_by, created_at, fid);
CREATE INDEX feeds_group ON feeds (group_id, created_at, fid);
CREATE INDEX feeds_feed_id ON feeds (feed_id);
"#,
    // Follower, following and member counts as counters, changed in the
    // transaction that changes an accepted follow or a membership: a feed
    // with 100,000 followers is read without counting them.
    r#"
ALTER TABLE feeds ADD COLUMN follower_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN following_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;
UPDATE feeds SET
    follower_count = (SELECT COUNT(*) FROM follows f WHERE f.target = feeds.fid AND f.status = 'accepted'),
    following_count = (SELECT COUNT(*) FROM follows f WHERE f.source = feeds.fid AND f.status = 'accepted'),
    member_count = (SELECT COUNT(*) FROM feed_members m WHERE m.fid = feeds.fid AND m.status = 'member');
CREATE INDEX feeds_group_followers ON feeds (group_id, follower_count DESC, fid);
"#,
    // The event outbox (`core::events`): appended by the writes that emit
    // events, read in order by the WebSocket hub and the webhook deliverers,
    // whose durable positions and leases are `event_consumers`.
    r#"
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tx INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX events_order ON events (tx, seq);
CREATE INDEX events_created ON events (created_at);
CREATE TABLE event_consumers (
    name TEXT PRIMARY KEY,
    tx INTEGER,
    seq INTEGER,
    holder TEXT,
    lease_until INTEGER
);
"#,
    // Celebrity fan-out (`store::ops::fanout`): an activity posted to a feed
    // with more accepted followers than `fanout::INLINE_FOLLOWERS` records
    // one job per such origin feed in its own transaction; a background
    // worker copies the entry into the follower feeds in bounded batches in
    // follower-feed order, `after_source` being the last follower feed
    // copied (empty before the first batch), and deletes the job when done.
    // `holder` and `lease_until` say which worker runs it. The keyset walk
    // over one target's accepted followers reads `follows_target`, whose
    // entries end with the primary key (`source`) in a WITHOUT ROWID table.
    r#"
CREATE TABLE fanout_jobs (
    activity_id TEXT NOT NULL,
    origin TEXT NOT NULL,
    after_source TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    holder TEXT,
    lease_until INTEGER,
    PRIMARY KEY (activity_id, origin)
);
CREATE INDEX fanout_jobs_created ON fanout_jobs (created_at);
"#,
    // Compact timelines: feeds and activities get integer surrogate keys
    // (`seq`, the rowid itself, AUTOINCREMENT so a key is never reused), and
    // a timeline entry stores those instead of the feed id text and the
    // activity id, once, in the WITHOUT ROWID primary key b-tree. The two
    // rebuilt tables keep every column, generated column and index; entries
    // whose feed or activity row is gone cannot be read and are dropped.
    r#"
CREATE TABLE feeds_v2 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    fid TEXT NOT NULL UNIQUE,
    group_id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    feed_id TEXT GENERATED ALWAYS AS (substr(fid, instr(fid, ':') + 1)) VIRTUAL,
    visibility TEXT GENERATED ALWAYS AS (json_extract(doc, '$.visibility')) VIRTUAL,
    updated_at INTEGER GENERATED ALWAYS AS (json_extract(doc, '$.updated_at')) VIRTUAL,
    deleted_at INTEGER GENERATED ALWAYS AS (json_extract(doc, '$.deleted_at')) VIRTUAL,
    follower_count INTEGER NOT NULL DEFAULT 0,
    following_count INTEGER NOT NULL DEFAULT 0,
    member_count INTEGER NOT NULL DEFAULT 0
);
INSERT INTO feeds_v2 (seq, fid, group_id, created_by, created_at, doc, follower_count, following_count, member_count)
    SELECT rowid, fid, group_id, created_by, created_at, doc, follower_count, following_count, member_count
    FROM feeds ORDER BY rowid;

CREATE TABLE activities_v2 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    deleted_at INTEGER,
    expires_at INTEGER,
    doc TEXT NOT NULL,
    parent_id TEXT
);
INSERT INTO activities_v2 (seq, id, user_id, created_at, deleted_at, expires_at, doc, parent_id)
    SELECT rowid, id, user_id, created_at, deleted_at, expires_at, doc, parent_id
    FROM activities ORDER BY rowid;

CREATE TABLE feed_entries_v2 (
    feed_seq INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    activity_seq INTEGER NOT NULL,
    direct INTEGER NOT NULL,
    visible_until INTEGER,
    private_to TEXT,
    PRIMARY KEY (feed_seq, created_at, activity_seq)
) WITHOUT ROWID;
INSERT INTO feed_entries_v2 (feed_seq, created_at, activity_seq, direct, visible_until, private_to)
    SELECT f.seq, e.created_at, a.seq, e.direct, e.visible_until, e.private_to
    FROM feed_entries e JOIN feeds_v2 f ON f.fid = e.fid JOIN activities_v2 a ON a.id = e.activity_id;

DROP TABLE feed_entries;
DROP TABLE activities;
DROP TABLE feeds;
ALTER TABLE feeds_v2 RENAME TO feeds;
ALTER TABLE activities_v2 RENAME TO activities;
ALTER TABLE feed_entries_v2 RENAME TO feed_entries;

CREATE INDEX feeds_created ON feeds (created_at, fid);
CREATE INDEX feeds_updated ON feeds (updated_at, fid);
CREATE INDEX feeds_owner ON feeds (created_by, created_at, fid);
CREATE INDEX feeds_group ON feeds (group_id, created_at, fid);
CREATE INDEX feeds_feed_id ON feeds (feed_id);
CREATE INDEX feeds_group_followers ON feeds (group_id, follower_count DESC, fid);
CREATE INDEX activities_user ON activities (user_id, created_at);
CREATE INDEX activities_parent ON activities (parent_id, created_at) WHERE parent_id IS NOT NULL;
CREATE INDEX activities_created ON activities (created_at, id);
CREATE INDEX feed_entries_activity ON feed_entries (activity_seq);
"#,
    // Aggregated and notification feeds (`store::ops::aggregation`): one
    // row per (feed, group key) kept up to date by each write into a feed of
    // a group with an aggregation or notification config, its member
    // activities (an activity is in at most one group per feed), the feed's
    // `mark_all_*` times and the keys marked read/seen (a mark is dropped
    // when the group grows again) or activities marked watched.
    r#"
CREATE TABLE aggregation_groups (
    fid TEXT NOT NULL,
    group_key TEXT NOT NULL,
    activity_count INTEGER NOT NULL,
    user_count INTEGER NOT NULL,
    user_count_truncated INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (fid, group_key)
) WITHOUT ROWID;
CREATE INDEX aggregation_groups_page ON aggregation_groups (fid, updated_at, group_key);
CREATE TABLE aggregation_members (
    fid TEXT NOT NULL,
    group_key TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    activity_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (fid, group_key, created_at, activity_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX aggregation_members_activity ON aggregation_members (activity_id, fid);
CREATE INDEX aggregation_members_user ON aggregation_members (fid, group_key, user_id);
CREATE TABLE notification_state (
    fid TEXT PRIMARY KEY,
    last_read_at INTEGER,
    last_seen_at INTEGER
);
CREATE TABLE notification_marks (
    fid TEXT NOT NULL,
    item TEXT NOT NULL,
    read_at INTEGER,
    seen_at INTEGER,
    watched_at INTEGER,
    PRIMARY KEY (fid, item)
) WITHOUT ROWID;
"#,
    // Usage counters and GDPR exports (issue 17). `usage_daily` is
    // append-only: every counted write inserts its own row (no hot row to
    // lock, so concurrent writers on PostgreSQL never wait on each other or
    // deadlock), and the usage flusher folds a day's rows into one
    // (`store::ops::usage`). An export is written in chunks by its task, one
    // transaction per page, and streamed back chunk by chunk. The indexes
    // let a user's reactions and votes be read (exported, deleted) in
    // bounded keyset pages.
    r#"
CREATE TABLE usage_daily (
    day TEXT NOT NULL,
    metric TEXT NOT NULL,
    value INTEGER NOT NULL
);
CREATE INDEX usage_daily_day ON usage_daily (day, metric);
CREATE TABLE user_exports (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER
);
CREATE INDEX user_exports_expiry ON user_exports (expires_at);
CREATE TABLE user_export_chunks (
    export_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (export_id, seq)
) WITHOUT ROWID;
CREATE INDEX reactions_user ON reactions (user_id, created_at);
CREATE INDEX comment_reactions_user ON comment_reactions (user_id, created_at);
CREATE INDEX poll_votes_by_user ON poll_votes (user_id, created_at);
"#,
    // Popularity is kept on the activity row by triggers (one reaction, two
    // per live comment, three per bookmark and per live share), so a sort or
    // filter by popularity reads an index instead of computing four counts
    // per row, and no write path can forget to maintain it.
    r#"
ALTER TABLE activities ADD COLUMN popularity INTEGER NOT NULL DEFAULT 0;
UPDATE activities SET popularity =
    (SELECT COUNT(*) FROM reactions r WHERE r.activity_id = activities.id)
    + 2 * (SELECT COUNT(*) FROM comments c WHERE c.object_type = 'activity' AND c.object_id = activities.id
           AND c.deleted_at IS NULL)
    + 3 * (SELECT COUNT(*) FROM bookmarks k WHERE k.object_type = 'activity' AND k.object_id = activities.id)
    + 3 * (SELECT COUNT(*) FROM activities s WHERE s.parent_id = activities.id AND s.deleted_at IS NULL);
CREATE INDEX activities_popularity ON activities (popularity, created_at);

CREATE TRIGGER popularity_reaction_added AFTER INSERT ON reactions BEGIN
    UPDATE activities SET popularity = popularity + 1 WHERE id = NEW.activity_id;
END;
CREATE TRIGGER popularity_reaction_removed AFTER DELETE ON reactions BEGIN
    UPDATE activities SET popularity = popularity - 1 WHERE id = OLD.activity_id;
END;
CREATE TRIGGER popularity_comment_added AFTER INSERT ON comments
WHEN NEW.object_type = 'activity' AND NEW.deleted_at IS NULL BEGIN
    UPDATE activities SET popularity = popularity + 2 WHERE id = NEW.object_id;
END;
CREATE TRIGGER popularity_comment_removed AFTER DELETE ON comments
WHEN OLD.object_type = 'activity' AND OLD.deleted_at IS NULL BEGIN
    UPDATE activities SET popularity = popularity - 2 WHERE id = OLD.object_id;
END;
CREATE TRIGGER popularity_comment_soft_deleted AFTER UPDATE OF deleted_at ON comments
WHEN NEW.object_type = 'activity' AND (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) BEGIN
    UPDATE activities SET popularity = popularity + CASE WHEN NEW.deleted_at IS NULL THEN 2 ELSE -2 END
    WHERE id = NEW.object_id;
END;
CREATE TRIGGER popularity_bookmark_added AFTER INSERT ON bookmarks WHEN NEW.object_type = 'activity' BEGIN
    UPDATE activities SET popularity = popularity + 3 WHERE id = NEW.object_id;
END;
CREATE TRIGGER popularity_bookmark_removed AFTER DELETE ON bookmarks WHEN OLD.object_type = 'activity' BEGIN
    UPDATE activities SET popularity = popularity - 3 WHERE id = OLD.object_id;
END;
CREATE TRIGGER popularity_share_added AFTER INSERT ON activities
WHEN NEW.parent_id IS NOT NULL AND NEW.deleted_at IS NULL BEGIN
    UPDATE activities SET popularity = popularity + 3 WHERE id = NEW.parent_id;
END;
CREATE TRIGGER popularity_share_removed AFTER DELETE ON activities
WHEN OLD.parent_id IS NOT NULL AND OLD.deleted_at IS NULL BEGIN
    UPDATE activities SET popularity = popularity - 3 WHERE id = OLD.parent_id;
END;
CREATE TRIGGER popularity_share_soft_deleted AFTER UPDATE OF deleted_at ON activities
WHEN NEW.parent_id IS NOT NULL AND (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) BEGIN
    UPDATE activities SET popularity = popularity + CASE WHEN NEW.deleted_at IS NULL THEN 3 ELSE -3 END
    WHERE id = NEW.parent_id;
END;
"#,
    // Activity text in a trigram full-text index, so `text $q` finds rare
    // words without walking every activity (`store::dialect::text_candidates`).
    // Trigrams match any substring of three characters or more, which is
    // what `$q` matches, so the index narrows without changing results.
    // Contentless: the text stays in the document; triggers keep the index.
    r#"
CREATE VIRTUAL TABLE activity_text USING fts5(text, content='', tokenize='trigram');
INSERT INTO activity_text (rowid, text)
    SELECT seq, json_extract(doc, '$.text') FROM activities WHERE json_extract(doc, '$.text') IS NOT NULL;
CREATE TRIGGER activity_text_added AFTER INSERT ON activities
WHEN json_extract(NEW.doc, '$.text') IS NOT NULL BEGIN
    INSERT INTO activity_text (rowid, text) VALUES (NEW.seq, json_extract(NEW.doc, '$.text'));
END;
CREATE TRIGGER activity_text_removed AFTER DELETE ON activities
WHEN json_extract(OLD.doc, '$.text') IS NOT NULL BEGIN
    INSERT INTO activity_text (activity_text, rowid, text) VALUES ('delete', OLD.seq, json_extract(OLD.doc, '$.text'));
END;
CREATE TRIGGER activity_text_changed AFTER UPDATE OF doc ON activities
WHEN json_extract(OLD.doc, '$.text') IS NOT json_extract(NEW.doc, '$.text') BEGIN
    INSERT INTO activity_text (activity_text, rowid, text)
        SELECT 'delete', OLD.seq, json_extract(OLD.doc, '$.text') WHERE json_extract(OLD.doc, '$.text') IS NOT NULL;
    INSERT INTO activity_text (rowid, text)
        SELECT NEW.seq, json_extract(NEW.doc, '$.text') WHERE json_extract(NEW.doc, '$.text') IS NOT NULL;
END;
"#,
    // Stories (issue 15): which activities each user has watched, for the
    // `is_watched` of their reads of stories feeds, whichever feed they saw
    // them in. Keyed by user first: a read asks for one viewer's marks.
    r#"
CREATE TABLE story_watches (
    user_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    watched_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, activity_id)
) WITHOUT ROWID;
CREATE INDEX story_watches_activity ON story_watches (activity_id);
"#,
    // Feed views (issue 16): named selector, ranking and aggregation configs
    // that a feed read may use instead of its group's. One JSON document
    // per view, like feed groups.
    r#"
CREATE TABLE feed_views (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
"#,
    // Uploads (issue 18): who uploaded each file, so only its uploader (or a
    // server-side call) deletes it, across restarts and instances. The bytes
    // live in the configured file store, not here.
    r#"
CREATE TABLE uploads (
    key TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX uploads_user ON uploads (user_id, created_at);
"#,
    // Push devices and preferences (issue 18, `store::ops::push`). A device
    // id (a push token) belongs to one user at a time; the index finds it
    // when another user registers it. Preferences are one document per
    // (user, channel scope), '' being the user's own.
    r#"
CREATE TABLE devices (
    user_id TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (user_id, id)
) WITHOUT ROWID;
CREATE INDEX devices_id ON devices (id);
CREATE TABLE push_preferences (
    user_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (user_id, channel)
) WITHOUT ROWID;
"#,
    // Sliding notification deduplication windows (issue 15,
    // `store::ops::save_notification`): one row per notification made with
    // a `deduplication_window`, keyed by its dedup key (a hash of trigger,
    // object, actor and recipient) and the time it was recorded. A repeat
    // is a duplicate when the key's newest row is younger than the window;
    // a withdrawal finds the notification a trigger landed on as the key's
    // newest row at or before the trigger. Rows go with their activity.
    r#"
CREATE TABLE notification_windows (
    dedup_key TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    activity_id TEXT NOT NULL,
    PRIMARY KEY (dedup_key, recorded_at)
) WITHOUT ROWID;
CREATE INDEX notification_windows_activity ON notification_windows (activity_id);
"#,
    // Activity locations (issue 16): the `proximity` selector and the
    // `near` / `within_bounds` filters list the activities inside a box
    // from this index (`store::sql::location_candidates`, `store::dialect::location_columns`) instead of
    // walking every activity. Partial: only located activities are in it.
    // The expressions are the ones the statements use, character for
    // character, so the planner matches them.
    r#"
CREATE INDEX activities_location ON activities
    (json_extract(doc, '$.location.lat'), json_extract(doc, '$.location.lng'))
    WHERE json_extract(doc, '$.location.lat') IS NOT NULL;
"#,
    // Orphaned uploads (issue 18): uploads whose records a GDPR deletion
    // removed, kept until their bytes are removed from the file store after
    // the commit; one whose removal failed stays here and is retried when the
    // user's data is deleted again.
    r#"
CREATE TABLE upload_orphans (
    key TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    orphaned_at INTEGER NOT NULL
);
CREATE INDEX upload_orphans_user ON upload_orphans (user_id, key);
"#,
    // Follows with `push_preference: all` (issue 18): the push bridge pages
    // the followers a new activity pushes to in source order from this
    // index (`store::dialect::follow_pushes_all`), without reading the
    // follows that want nothing. Partial: only accepted follows asking all.
    r#"
CREATE INDEX follows_push_all ON follows (target, source)
    WHERE status = 'accepted' AND json_extract(doc, '$.push_preference') = 'all';
"#,
    // `follows_push_all` without `status` in its condition. SQLite checks
    // whether a statement's bound values satisfy a partial index's
    // condition, so every statement binding `status = ?` (each followers or
    // following page, on every feed read) was marked to be prepared again
    // on each run. The push bridge's query states the status itself.
    r#"
DROP INDEX follows_push_all;
CREATE INDEX follows_push_all ON follows (target, source) WHERE json_extract(doc, '$.push_preference') = 'all';
"#,
];

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, StatementStatus};

    use super::STEPS;

    /// A partial index whose condition names a column that statements bind
    /// (`status = ?`) has SQLite prepare those statements again on every
    /// run, to see whether the bound value satisfies the condition: no
    /// index may do that to the statements of the hot paths.
    #[test]
    fn no_partial_index_makes_bound_statements_prepare_again() {
        let conn = Connection::open_in_memory().unwrap();
        for step in STEPS {
            conn.execute_batch(step).unwrap();
        }
        let statements = [
            "SELECT doc FROM follows t WHERE t.target = ?1 AND t.status = ?2 ORDER BY t.created_at DESC LIMIT 25",
            "SELECT doc FROM follows t WHERE t.source = ?1 AND t.status = ?2 ORDER BY t.created_at DESC LIMIT 25",
            "SELECT doc FROM bookmarks WHERE user_id = ?1 AND folder_id = ?2 LIMIT 25",
            "SELECT doc FROM activities WHERE parent_id = ?1 AND deleted_at IS NULL LIMIT 25",
        ];
        for sql in statements {
            let mut stmt = conn.prepare_cached(sql).unwrap();
            for _ in 0..3 {
                let values = ["x", "accepted"].into_iter().take(stmt.parameter_count());
                stmt.query(rusqlite::params_from_iter(values)).unwrap().next().unwrap();
            }
            assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0, "{sql} is prepared again on each run");
        }
    }

    /// Existing timelines survive the move to integer keys: each entry
    /// points at its feed and activity by their old rowids, and new rows
    /// are numbered after them.
    #[test]
    fn compact_timelines_migrate_existing_entries() {
        let conn = Connection::open_in_memory().unwrap();
        let compaction = STEPS.iter().position(|s| s.contains("CREATE TABLE feeds_v2")).unwrap();
        for step in &STEPS[..compaction] {
            conn.execute_batch(step).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO feeds (fid, group_id, created_by, created_at, doc, follower_count)
                 VALUES ('user:ann', 'user', 'ann', 1, '{\"visibility\":\"public\"}', 1),
                        ('timeline:bob', 'timeline', 'bob', 2, '{}', 0);
             INSERT INTO activities (id, user_id, created_at, doc) VALUES ('a1', 'ann', 10, '{}'), ('a2', 'ann', 20, '{}');
             INSERT INTO feed_entries (fid, created_at, activity_id, direct, visible_until, private_to)
                 VALUES ('user:ann', 10, 'a1', 1, NULL, NULL), ('user:ann', 20, 'a2', 1, 5, 'ann'),
                        ('timeline:bob', 20, 'a2', 0, 5, 'ann');",
        )
        .unwrap();
        conn.execute_batch(STEPS[compaction]).unwrap();
        let mut read = conn
            .prepare(
                "SELECT f.fid, e.created_at, a.id, e.direct, e.visible_until, e.private_to, f.visibility, f.follower_count
                 FROM feed_entries e JOIN feeds f ON f.seq = e.feed_seq JOIN activities a ON a.seq = e.activity_seq
                 ORDER BY f.fid, e.created_at",
            )
            .unwrap();
        type Entry = (String, i64, String, bool, Option<i64>, Option<String>, Option<String>, i64);
        let entries: Vec<Entry> = read
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let public = Some("public".to_string());
        assert_eq!(
            entries,
            vec![
                ("timeline:bob".into(), 20, "a2".into(), false, Some(5), Some("ann".into()), None, 0),
                ("user:ann".into(), 10, "a1".into(), true, None, None, public.clone(), 1),
                ("user:ann".into(), 20, "a2".into(), true, Some(5), Some("ann".into()), public, 1),
            ]
        );
        conn.execute("INSERT INTO activities (id, user_id, created_at, doc) VALUES ('a3', 'ann', 30, '{}')", [])
            .unwrap();
        let seq: i64 = conn.query_row("SELECT seq FROM activities WHERE id = 'a3'", [], |r| r.get(0)).unwrap();
        assert_eq!(seq, 3);
    }
}
