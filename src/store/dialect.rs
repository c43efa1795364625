//! Where SQLite and PostgreSQL really differ, side by side. Everything else
//! is shared SQL (`store::ops`); the mechanical spellings (placeholders,
//! list parameters, jsonb binding) are the drivers' (`store::db`).
//!
//! Most differences are locks: SQLite has one writer connection, so a write
//! transaction already excludes every other, while PostgreSQL serves
//! concurrent transactions (from several processes) and must lock rows, in
//! one global order so two transactions never wait on each other.

use crate::args;
use crate::core::error::Result;
use crate::store::db::{Arg, Dialect, Tx, CONFIG_CHANNEL};

// Row locks.

/// `select` made to lock the rows it reads until commit.
pub fn for_update(dialect: Dialect, select: &str) -> String {
    match dialect {
        // The single writer already excludes other writes.
        Dialect::Sqlite => select.to_string(),
        Dialect::Postgres => format!("{select} FOR UPDATE"),
    }
}

/// `select` made to keep the rows it reads from changing until commit,
/// without excluding other readers that lock them alike.
pub fn for_share(dialect: Dialect, select: &str) -> String {
    match dialect {
        Dialect::Sqlite => select.to_string(),
        Dialect::Postgres => format!("{select} FOR SHARE"),
    }
}

/// Locks the feed rows of `fids` in fid order: transactions that change the
/// counters of several feeds take their locks in one global order, so two
/// of them (mutual follows, overlapping batches) never wait on each other.
pub async fn lock_feeds(tx: &mut dyn Tx, fids: &[String]) -> Result<()> {
    if tx.dialect() == Dialect::Postgres && !fids.is_empty() {
        tx.exec("SELECT 1 FROM feeds WHERE fid = ANY($1) ORDER BY fid FOR UPDATE", args![fids]).await?;
    }
    Ok(())
}

/// Keeps the feed row of `fid` from changing until commit (its counters
/// change with every accepted follow or unfollow of it), without excluding
/// other transactions that share it.
pub async fn share_feed(tx: &mut dyn Tx, fid: &str) -> Result<()> {
    if tx.dialect() == Dialect::Postgres {
        tx.exec("SELECT 1 FROM feeds WHERE fid = $1 FOR SHARE", args![fid]).await?;
    }
    Ok(())
}

/// Appended to a queue's claim subquery: workers in other processes pass
/// over a row another worker is claiming instead of waiting for it or
/// claiming it twice.
pub fn skip_locked(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "",
        Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
    }
}

/// Tells every process sharing the database, once `tx` commits, that the
/// configuration changed (`core::config_cache`); SQLite has one process,
/// whose cache its own writes invalidate.
pub async fn announce_config(tx: &mut dyn Tx) -> Result<()> {
    if tx.dialect() == Dialect::Postgres {
        tx.exec("SELECT pg_notify($1, '')", args![CONFIG_CHANNEL]).await?;
    }
    Ok(())
}

// Locks on keys that may have no row yet (a row lock cannot do it).

/// Serialises transactions on one key until commit; `space` keeps the
/// kinds of key apart.
async fn lock_key(tx: &mut dyn Tx, space: i64, key: &str) -> Result<()> {
    if tx.dialect() == Dialect::Postgres {
        tx.exec("SELECT pg_advisory_xact_lock(hashtextextended($1, $2))", args![key, space]).await?;
    }
    Ok(())
}

/// Concurrent upserts of one activity id, so each sees the feed list the
/// previous one committed.
pub async fn lock_activity_id(tx: &mut dyn Tx, id: &str) -> Result<()> {
    lock_key(tx, 0, id).await
}

/// The reaction writes of one user on one object: two concurrent exclusive
/// reactions must not both survive.
pub async fn lock_reactor(tx: &mut dyn Tx, object_id: &str, user_id: &str) -> Result<()> {
    lock_key(tx, 1, &format!("{object_id}\u{1f}{user_id}")).await
}

/// The notifications of one deduplication key: two concurrent repeats
/// must not both find the window empty and both notify.
pub async fn lock_notification_key(tx: &mut dyn Tx, key: &str) -> Result<()> {
    lock_key(tx, 7, key).await
}

/// The votes of one user on one poll, so each sees the votes the previous
/// one committed: `max_votes` and replacements hold.
pub async fn lock_poll_voter(tx: &mut dyn Tx, poll_id: &str, user_id: &str) -> Result<()> {
    lock_key(tx, 2, &format!("{poll_id}\u{1f}{user_id}")).await
}

/// One user's devices and push preferences, so the bound on how many a
/// user keeps holds under concurrent registrations.
pub async fn lock_push_user(tx: &mut dyn Tx, user_id: &str) -> Result<()> {
    lock_key(tx, 3, user_id).await
}

// The event outbox: readers must never pass over an event whose
// transaction has not committed yet.

/// The value recorded as an event's `tx`: on PostgreSQL the writing
/// transaction's id, so readers can order by transactions that have
/// settled; SQLite's single writer commits in `seq` order, so 0.
pub fn event_tx(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "0",
        Dialect::Postgres => "pg_current_xact_id()::text::bigint",
    }
}

/// Which outbox rows a reader may pass. PostgreSQL sequence values commit
/// out of order, so a reader takes only rows of transactions older than
/// every transaction still running (the snapshot's xmin): nothing can later
/// commit before them. A long transaction delays events, never loses them.
pub fn events_settled(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "TRUE",
        Dialect::Postgres => "tx < pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
    }
}

// JSON edits: the functions are named differently.

/// `doc` with its top-level `field` set to the SQL value `value` (a
/// number or text, not a document).
pub fn doc_set(dialect: Dialect, doc: &str, field: &str, value: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("json_set({doc}, '$.{field}', {value})"),
        Dialect::Postgres => format!("jsonb_set({doc}, '{{{field}}}', to_jsonb({value}))"),
    }
}

/// `doc` with its top-level `field` replaced by `source`'s (a document).
pub fn doc_copy(dialect: Dialect, doc: &str, field: &str, source: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("json_set({doc}, '$.{field}', json(json_extract({source}, '$.{field}')))"),
        Dialect::Postgres => format!("jsonb_set({doc}, '{{{field}}}', {source}->'{field}')"),
    }
}

/// `doc` with the top-level fields of `patch` (a document) set over its own,
/// its other fields kept. (SQLite's merge patch would drop a field set to
/// null; the documents merged here hold none.)
pub fn doc_merge(dialect: Dialect, doc: &str, patch: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("json_patch({doc}, {patch})"),
        Dialect::Postgres => format!("{doc} || {patch}"),
    }
}

/// The condition that a follow row (`table`'s `doc`) asks for every new
/// activity of its target (`push_preference: all`): the predicate of the
/// partial index `follows_push_all`, spelled as there so the planner uses it.
pub fn follow_pushes_all(dialect: Dialect, table: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("json_extract({table}.doc, '$.push_preference') = 'all'"),
        Dialect::Postgres => format!("({table}.doc ->> 'push_preference') = 'all'"),
    }
}

/// `follows` as `alias`, read through the partial index `follows_push_all`:
/// SQLite, without statistics, would rather take `follows_target` and read
/// the follows that ask nothing; PostgreSQL picks it by itself.
pub fn follows_pushing_all(dialect: Dialect, alias: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("follows {alias} INDEXED BY follows_push_all"),
        Dialect::Postgres => format!("follows {alias}"),
    }
}

// Query shapes.

/// The keys `latest_per_key` reads the rows of.
#[derive(Debug, Clone, Copy)]
pub enum Keys<'a> {
    /// The list parameter `$1`.
    List,
    /// The ids of a one-column relation (a `WITH` table) of that name.
    Ids(&'a str),
}

/// The newest `limit` rows of every key of `keys`: a relation `r` with the
/// `columns` (each named) of the rows of `from` (a table and a `WHERE`
/// clause) whose `key` is that key, taken in `order`.
pub fn latest_per_key(
    dialect: Dialect,
    keys: Keys<'_>,
    columns: &str,
    from: &str,
    key: &str,
    order: &str,
    limit: &str,
) -> String {
    match dialect {
        // No LATERAL: SQLite numbers each key's rows, walking its
        // (key, created_at) index.
        Dialect::Sqlite => {
            let among = match keys {
                Keys::List => format!("{key} = ANY($1)"),
                Keys::Ids(table) => format!("{key} IN (SELECT id FROM {table})"),
            };
            format!(
                "(SELECT * FROM (SELECT {columns}, ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY {order}) AS n
                                 FROM {from} AND {among}) WHERE n <= {limit}) r"
            )
        }
        // LATERAL: an index range per key, however many rows a key has
        // (ROW_NUMBER would read and sort them all).
        Dialect::Postgres => {
            let source = match keys {
                Keys::List => "unnest(CAST($1 AS TEXT[])) AS latest_key(k)".to_string(),
                Keys::Ids(table) => format!("(SELECT id AS k FROM {table}) AS latest_key"),
            };
            format!(
                "{source} CROSS JOIN LATERAL (
                     SELECT {columns} FROM {from} AND {key} = latest_key.k ORDER BY {order} LIMIT {limit}) r"
            )
        }
    }
}

// Full-text search.

/// The statement listing the keys (`seq`) of the activities whose text
/// holds every word, at most `limit` of them (a literal, see `sql::limit`), through the
/// trigram index. On PostgreSQL, where the index is optional, a row `-1`
/// says it is missing and nothing was searched.
pub fn text_candidates(dialect: Dialect, words: &[String], limit: usize) -> (String, Vec<Arg>) {
    match dialect {
        Dialect::Sqlite => {
            // Words are alphanumeric runs, so quoting them as phrases is safe.
            let query = words.iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(" AND ");
            (
                format!("SELECT rowid FROM activity_text WHERE activity_text MATCH $1 LIMIT {limit}"),
                vec![Arg::Text(query)],
            )
        }
        Dialect::Postgres => {
            let likes: Vec<String> = (1..=words.len()).map(|i| format!("lower(doc ->> 'text') LIKE ${i}")).collect();
            let sql = format!(
                "SELECT CAST(-1 AS BIGINT) WHERE to_regclass('activities_text_trgm') IS NULL
                 UNION ALL
                 (SELECT seq FROM activities WHERE to_regclass('activities_text_trgm') IS NOT NULL AND {}
                  LIMIT {limit})",
                likes.join(" AND ")
            );
            (sql, words.iter().map(|w| Arg::Text(format!("%{w}%"))).collect())
        }
    }
}

// Locations.

/// An activity's location latitude and longitude as numbers: the
/// expressions of the `activities_location` index, verbatim, so the planner
/// matches them.
pub fn location_columns(dialect: Dialect) -> (&'static str, &'static str) {
    match dialect {
        Dialect::Sqlite => ("json_extract(doc, '$.location.lat')", "json_extract(doc, '$.location.lng')"),
        Dialect::Postgres => ("((doc #>> '{location,lat}')::float8)", "((doc #>> '{location,lng}')::float8)"),
    }
}
