//! Versioned schema for the PostgreSQL store, recorded in
//! `tributary_migrations`. A step is never edited once released — add one.
//! Records are JSONB documents beside the columns queries use, mirroring the
//! SQLite store so both behave the same.

pub const STEPS: &[&str] = &[
    r#"
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT,
    doc JSONB NOT NULL
);
CREATE INDEX users_created_at ON users (created_at);

CREATE TABLE feed_groups (
    id TEXT PRIMARY KEY,
    doc JSONB NOT NULL
);

CREATE TABLE feeds (
    fid TEXT PRIMARY KEY,
    group_id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    doc JSONB NOT NULL
);

CREATE TABLE activities (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT,
    expires_at BIGINT,
    doc JSONB NOT NULL
);
CREATE INDEX activities_user ON activities (user_id, created_at);

-- See the SQLite schema: the primary key is the page order of a feed.
CREATE TABLE feed_entries (
    fid TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    activity_id TEXT NOT NULL,
    direct BOOLEAN NOT NULL,
    PRIMARY KEY (fid, created_at, activity_id)
);
CREATE INDEX feed_entries_activity ON feed_entries (activity_id);

CREATE TABLE follows (
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    doc JSONB NOT NULL,
    PRIMARY KEY (source, target)
);
CREATE INDEX follows_target ON follows (target, status);
CREATE INDEX follows_created_at ON follows (created_at);

CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    work JSONB NOT NULL,
    result JSONB,
    error JSONB,
    attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    lease_until BIGINT
);
CREATE INDEX tasks_queue ON tasks (status, created_at);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value JSONB NOT NULL
);
"#,
    r#"
CREATE TABLE reactions (
    activity_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    type TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    doc JSONB NOT NULL,
    PRIMARY KEY (activity_id, user_id, type)
);
CREATE INDEX reactions_recent ON reactions (activity_id, created_at DESC);
"#,
    // See the SQLite twin: entries carry their activity's visibility window.
    r#"
ALTER TABLE feed_entries ADD COLUMN visible_until BIGINT;
UPDATE feed_entries e SET visible_until = CASE WHEN a.deleted_at IS NOT NULL THEN 0 ELSE a.expires_at END
FROM activities a WHERE a.id = e.activity_id;
"#,
    r#"
CREATE TABLE pins (
    fid TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    doc JSONB NOT NULL,
    PRIMARY KEY (fid, activity_id)
);
CREATE INDEX pins_recent ON pins (fid, created_at DESC);
CREATE INDEX pins_activity ON pins (activity_id);
"#,
    r#"
CREATE TABLE activity_feedback (
    user_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    hide BOOLEAN NOT NULL DEFAULT FALSE,
    show_more BOOLEAN NOT NULL DEFAULT FALSE,
    show_less BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, activity_id)
);
CREATE TABLE activity_metrics (
    activity_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    value BIGINT NOT NULL,
    PRIMARY KEY (activity_id, metric)
);
CREATE TABLE metric_quota (
    user_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    used BIGINT NOT NULL,
    last_allowed BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, activity_id, metric)
);
"#,
    r#"
ALTER TABLE activities ADD COLUMN parent_id TEXT;
UPDATE activities SET parent_id = doc->>'parent_id';
CREATE INDEX activities_parent ON activities (parent_id, created_at) WHERE parent_id IS NOT NULL;
"#,
    // Private activities carry their author on every feed entry, so user
    // reads filter them in the index scan.
    r#"
ALTER TABLE feed_entries ADD COLUMN private_to TEXT;
UPDATE feed_entries SET private_to = (SELECT a.user_id FROM activities a
    WHERE a.id = feed_entries.activity_id AND a.doc->>'visibility' = 'private');
"#,
    r#"
CREATE TABLE collections (
    name TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    doc JSONB NOT NULL,
    PRIMARY KEY (name, id)
);
CREATE INDEX collections_recent ON collections (created_at);
CREATE INDEX collections_owner ON collections (user_id, created_at);
"#,
    r#"
CREATE TABLE polls (
    id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    doc JSONB NOT NULL
);
CREATE INDEX polls_recent ON polls (created_at);
CREATE TABLE poll_votes (
    id TEXT PRIMARY KEY,
    poll_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    option_id TEXT NOT NULL,
    is_answer BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    doc JSONB NOT NULL
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
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT,
    reply_count BIGINT NOT NULL DEFAULT 0,
    upvote_count BIGINT NOT NULL DEFAULT 0,
    downvote_count BIGINT NOT NULL DEFAULT 0,
    reaction_count BIGINT NOT NULL DEFAULT 0,
    score BIGINT NOT NULL DEFAULT 0,
    confidence_score DOUBLE PRECISION NOT NULL DEFAULT 0,
    controversy_score DOUBLE PRECISION NOT NULL DEFAULT 0,
    doc JSONB NOT NULL
);
CREATE INDEX comments_thread ON comments (object_type, object_id, parent_id, created_at);
CREATE INDEX comments_replies ON comments (parent_id, created_at) WHERE parent_id IS NOT NULL;
CREATE INDEX comments_user ON comments (user_id, created_at);
CREATE TABLE comment_reactions (
    comment_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    type TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    doc JSONB NOT NULL,
    PRIMARY KEY (comment_id, user_id, type)
);
CREATE INDEX comment_reactions_recent ON comment_reactions (comment_id, created_at DESC);
"#,
    // Bookmarks key on (user, object, folder) with "" for "no folder", so
    // the primary key makes each placement unique.
    r#"
CREATE TABLE bookmark_folders (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    doc JSONB NOT NULL
);
CREATE INDEX bookmark_folders_user ON bookmark_folders (user_id, created_at);
CREATE TABLE bookmarks (
    user_id TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    folder_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    doc JSONB NOT NULL,
    PRIMARY KEY (user_id, object_type, object_id, folder_id)
);
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
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    doc JSONB NOT NULL,
    PRIMARY KEY (fid, user_id)
);
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
    priority BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    doc JSONB NOT NULL
);
CREATE INDEX membership_levels_created_at ON membership_levels (created_at);
CREATE INDEX membership_levels_priority ON membership_levels (priority);
CREATE TABLE feed_visibility_grants (
    visibility TEXT PRIMARY KEY,
    grants JSONB NOT NULL
);
"#,
    // See the SQLite twin: generated columns for QueryFeeds.
    r#"
ALTER TABLE feeds
    ADD COLUMN feed_id TEXT GENERATED ALWAYS AS (split_part(fid, ':', 2)) STORED,
    ADD COLUMN visibility TEXT GENERATED ALWAYS AS (doc->>'visibility') STORED,
    ADD COLUMN updated_at BIGINT GENERATED ALWAYS AS ((doc->>'updated_at')::bigint) STORED,
    ADD COLUMN deleted_at BIGINT GENERATED ALWAYS AS ((doc->>'deleted_at')::bigint) STORED;
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
ALTER TABLE feeds ADD COLUMN follower_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN following_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;
UPDATE feeds SET
    follower_count = (SELECT COUNT(*) FROM follows f WHERE f.target = feeds.fid AND f.status = 'accepted'),
    following_count = (SELECT COUNT(*) FROM follows f WHERE f.source = feeds.fid AND f.status = 'accepted'),
    member_count = (SELECT COUNT(*) FROM feed_members m WHERE m.fid = feeds.fid AND m.status = 'member');
CREATE INDEX feeds_group_followers ON feeds (group_id, follower_count DESC, fid);
"#,
    // See the SQLite twin: the event outbox. `tx` is the writing
    // transaction's id (`dialect::event_tx`).
    r#"
CREATE TABLE events (
    seq BIGSERIAL PRIMARY KEY,
    tx BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX events_order ON events (tx, seq);
CREATE INDEX events_created ON events (created_at);
CREATE TABLE event_consumers (
    name TEXT PRIMARY KEY,
    tx BIGINT,
    seq BIGINT,
    holder TEXT,
    lease_until BIGINT
);
"#,
    // See the SQLite twin: background fan-out jobs. PostgreSQL's
    // `follows_target` index holds no `source`, so the keyset walk over one
    // target's accepted followers gets an index of its own.
    r#"
CREATE TABLE fanout_jobs (
    activity_id TEXT NOT NULL,
    origin TEXT NOT NULL,
    after_source TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    holder TEXT,
    lease_until BIGINT,
    PRIMARY KEY (activity_id, origin)
);
CREATE INDEX fanout_jobs_created ON fanout_jobs (created_at);
CREATE INDEX follows_target_source ON follows (target, status, source);
"#,
    // Compact timelines: see the SQLite twin. Identity columns number the
    // existing rows as they are added.
    r#"
ALTER TABLE feeds ADD COLUMN seq BIGINT GENERATED BY DEFAULT AS IDENTITY;
CREATE UNIQUE INDEX feeds_seq ON feeds (seq);
ALTER TABLE activities ADD COLUMN seq BIGINT GENERATED BY DEFAULT AS IDENTITY;
CREATE UNIQUE INDEX activities_seq ON activities (seq);
CREATE TABLE feed_entries_v2 (
    feed_seq BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    activity_seq BIGINT NOT NULL,
    direct BOOLEAN NOT NULL,
    visible_until BIGINT,
    private_to TEXT,
    CONSTRAINT feed_entries_v2_pkey PRIMARY KEY (feed_seq, created_at, activity_seq)
);
INSERT INTO feed_entries_v2 (feed_seq, created_at, activity_seq, direct, visible_until, private_to)
    SELECT f.seq, e.created_at, a.seq, e.direct, e.visible_until, e.private_to
    FROM feed_entries e JOIN feeds f ON f.fid = e.fid JOIN activities a ON a.id = e.activity_id;
DROP TABLE feed_entries;
ALTER TABLE feed_entries_v2 RENAME TO feed_entries;
ALTER TABLE feed_entries RENAME CONSTRAINT feed_entries_v2_pkey TO feed_entries_pkey;
CREATE INDEX feed_entries_activity ON feed_entries (activity_seq);
"#,
    // Aggregated and notification feeds (`store::ops::aggregation`): one
    // row per (feed, group key) kept up to date by each write into a feed of
    // a group with an aggregation or notification config, its member
    // activities (an activity is in at most one group per feed), the feed's
    // `mark_all_*` times and the keys marked read/seen (a mark is dropped
    // when the group grows again) or activities marked watched. See the SQLite twin.
    r#"
CREATE TABLE aggregation_groups (
    fid TEXT NOT NULL,
    group_key TEXT NOT NULL,
    activity_count BIGINT NOT NULL,
    user_count BIGINT NOT NULL,
    user_count_truncated BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (fid, group_key)
);
CREATE INDEX aggregation_groups_page ON aggregation_groups (fid, updated_at, group_key);
CREATE TABLE aggregation_members (
    fid TEXT NOT NULL,
    group_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    activity_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (fid, group_key, created_at, activity_id)
);
CREATE UNIQUE INDEX aggregation_members_activity ON aggregation_members (activity_id, fid);
CREATE INDEX aggregation_members_user ON aggregation_members (fid, group_key, user_id);
CREATE TABLE notification_state (
    fid TEXT PRIMARY KEY,
    last_read_at BIGINT,
    last_seen_at BIGINT
);
CREATE TABLE notification_marks (
    fid TEXT NOT NULL,
    item TEXT NOT NULL,
    read_at BIGINT,
    seen_at BIGINT,
    watched_at BIGINT,
    PRIMARY KEY (fid, item)
);
"#,
    // Usage counters and GDPR exports (issue 17): see the SQLite twin.
    r#"
CREATE TABLE usage_daily (
    day TEXT NOT NULL,
    metric TEXT NOT NULL,
    value BIGINT NOT NULL
);
CREATE INDEX usage_daily_day ON usage_daily (day, metric);
CREATE TABLE user_exports (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);
CREATE INDEX user_exports_expiry ON user_exports (expires_at);
CREATE TABLE user_export_chunks (
    export_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (export_id, seq)
);
CREATE INDEX reactions_user ON reactions (user_id, created_at);
CREATE INDEX comment_reactions_user ON comment_reactions (user_id, created_at);
CREATE INDEX poll_votes_by_user ON poll_votes (user_id, created_at);
"#,
    // Popularity kept on the activity row by triggers: see the SQLite twin.
    // Row-level triggers take the activity's row lock for the increment, so
    // concurrent reactions to one activity serialise there and lose nothing.
    r#"
ALTER TABLE activities ADD COLUMN popularity BIGINT NOT NULL DEFAULT 0;
UPDATE activities SET popularity =
    (SELECT COUNT(*) FROM reactions r WHERE r.activity_id = activities.id)
    + 2 * (SELECT COUNT(*) FROM comments c WHERE c.object_type = 'activity' AND c.object_id = activities.id
           AND c.deleted_at IS NULL)
    + 3 * (SELECT COUNT(*) FROM bookmarks k WHERE k.object_type = 'activity' AND k.object_id = activities.id)
    + 3 * (SELECT COUNT(*) FROM activities s WHERE s.parent_id = activities.id AND s.deleted_at IS NULL);
CREATE INDEX activities_popularity ON activities (popularity, created_at);

CREATE FUNCTION popularity_add(activity TEXT, delta BIGINT) RETURNS void LANGUAGE sql AS
    'UPDATE activities SET popularity = popularity + delta WHERE id = activity';

CREATE FUNCTION popularity_reactions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN PERFORM popularity_add(NEW.activity_id, 1);
    ELSE PERFORM popularity_add(OLD.activity_id, -1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER popularity_reactions AFTER INSERT OR DELETE ON reactions
    FOR EACH ROW EXECUTE FUNCTION popularity_reactions();

CREATE FUNCTION popularity_comments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.object_type = 'activity' AND OLD.deleted_at IS NULL THEN
        PERFORM popularity_add(OLD.object_id, -2);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.object_type = 'activity' AND NEW.deleted_at IS NULL THEN
        PERFORM popularity_add(NEW.object_id, 2);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER popularity_comments AFTER INSERT OR DELETE ON comments
    FOR EACH ROW EXECUTE FUNCTION popularity_comments();
CREATE TRIGGER popularity_comments_soft_deleted AFTER UPDATE OF deleted_at ON comments
    FOR EACH ROW WHEN ((OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL))
    EXECUTE FUNCTION popularity_comments();

CREATE FUNCTION popularity_bookmarks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.object_type = 'activity' THEN PERFORM popularity_add(NEW.object_id, 3);
    ELSIF TG_OP = 'DELETE' AND OLD.object_type = 'activity' THEN PERFORM popularity_add(OLD.object_id, -3);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER popularity_bookmarks AFTER INSERT OR DELETE ON bookmarks
    FOR EACH ROW EXECUTE FUNCTION popularity_bookmarks();

CREATE FUNCTION popularity_shares() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.parent_id IS NOT NULL AND OLD.deleted_at IS NULL THEN
        PERFORM popularity_add(OLD.parent_id, -3);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.parent_id IS NOT NULL AND NEW.deleted_at IS NULL THEN
        PERFORM popularity_add(NEW.parent_id, 3);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER popularity_shares AFTER INSERT OR DELETE ON activities
    FOR EACH ROW EXECUTE FUNCTION popularity_shares();
CREATE TRIGGER popularity_shares_soft_deleted AFTER UPDATE OF deleted_at ON activities
    FOR EACH ROW WHEN ((OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL))
    EXECUTE FUNCTION popularity_shares();
"#,
    // Activity text in a trigram index (pg_trgm), so `text $q` finds rare
    // words without walking every activity: see the SQLite twin. pg_trgm is
    // a trusted extension shipped with PostgreSQL; where it cannot be
    // installed the index is skipped (a notice says so) and `$q` keeps the
    // budgeted scan (`store::dialect::text_candidates` checks for the index).
    r#"
DO $$
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'pg_trgm not installed (%): text searches use the budgeted scan', SQLERRM;
    END;
    BEGIN
        CREATE INDEX activities_text_trgm ON activities USING gin (lower(doc ->> 'text') public.gin_trgm_ops);
    EXCEPTION WHEN undefined_object OR insufficient_privilege THEN
        RAISE NOTICE 'no trigram index (%): text searches use the budgeted scan', SQLERRM;
    END;
END $$;
"#,
    // Stories (issue 15): which activities each user has watched, for the
    // `is_watched` of their reads of stories feeds, whichever feed they saw
    // them in. Keyed by user first: a read asks for one viewer's marks.
    r#"
CREATE TABLE story_watches (
    user_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    watched_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, activity_id)
);
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
    // Uploads (issue 18): see the SQLite twin.
    r#"
CREATE TABLE uploads (
    key TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX uploads_user ON uploads (user_id, created_at);
"#,
    // Push devices and preferences (issue 18): see the SQLite twin.
    r#"
CREATE TABLE devices (
    user_id TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    doc JSONB NOT NULL,
    PRIMARY KEY (user_id, id)
);
CREATE INDEX devices_id ON devices (id);
CREATE TABLE push_preferences (
    user_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    doc JSONB NOT NULL,
    PRIMARY KEY (user_id, channel)
);
"#,
    // Sliding notification deduplication windows (issue 15): see the SQLite twin.
    r#"
CREATE TABLE notification_windows (
    dedup_key TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    activity_id TEXT NOT NULL,
    PRIMARY KEY (dedup_key, recorded_at)
);
CREATE INDEX notification_windows_activity ON notification_windows (activity_id);
"#,
    // Activity locations (issue 16): see the SQLite twin.
    r#"
CREATE INDEX activities_location ON activities
    (((doc #>> '{location,lat}')::float8), ((doc #>> '{location,lng}')::float8))
    WHERE ((doc #>> '{location,lat}')::float8) IS NOT NULL;
"#,
    // Orphaned uploads (issue 18): see the SQLite twin.
    r#"
CREATE TABLE upload_orphans (
    key TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    orphaned_at BIGINT NOT NULL
);
CREATE INDEX upload_orphans_user ON upload_orphans (user_id, key);
"#,
    // Follows with `push_preference: all` (issue 18): see the SQLite twin.
    r#"
CREATE INDEX follows_push_all ON follows (target, source)
    WHERE status = 'accepted' AND (doc ->> 'push_preference') = 'all';
"#,
];
