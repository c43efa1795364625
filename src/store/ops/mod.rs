//! The store's operations, written once for both databases: each area's
//! `core::storage` trait implemented for every `Db`, over the `store::db`
//! seam. A statement here is the SQL both databases run; where they really
//! differ, the operation calls a named hook from `store::dialect`.

mod activities;
mod aggregation;
mod bookmarks;
mod collections;
mod comments;
mod config;
mod enrichment;
mod events;
mod fanout;
mod feeds;
mod follows;
mod members;
mod monitor;
mod pins;
mod polls;
mod push;
mod reactions;
mod tasks;
mod translations;
mod uploads;
mod usage;
mod user_data;
mod users;

use serde::de::DeserializeOwned;

use crate::args;
use crate::core::error::Result;
use crate::core::events::Item;
use crate::core::storage::{ExtraWrites, ListQuery};
use crate::core::time::Timestamp;
use crate::store::db::{Db, Tx};
use crate::store::{dialect, sql};

/// One page of a filtered list query over `table`.
pub(crate) async fn list<T: DeserializeOwned>(
    db: &(impl Db + ?Sized),
    table: &'static sql::Table,
    q: &ListQuery,
) -> Result<Vec<T>> {
    let (sql, args) = sql::list_query(db.dialect(), table, q)?;
    db.read().await?.rows_once(&sql, &args).await?.iter().map(|r| r.doc(0)).collect()
}

/// The documents of `table` whose `column` is one of `keys`.
pub(crate) async fn docs_by_key<T: DeserializeOwned>(
    db: &(impl Db + ?Sized),
    table: &'static str,
    column: &'static str,
    keys: &[String],
) -> Result<Vec<T>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT doc FROM {table} WHERE {column} = ANY($1)");
    db.read().await?.docs(&sql, args![keys]).await
}

pub(crate) use activities::{purge_activities, save_activity};
pub(crate) use collections::upsert_collections;
pub(crate) use events::insert_events;
pub(crate) use feeds::insert_feed;
pub(crate) use members::write_members;
pub(crate) use tasks::insert_tasks;
pub(crate) use users::{insert_implied_users, upsert_users};

/// Whether every row still has the version (`updated_at`) a read-modify-write
/// started from; `select` is one of `sql::versions`, keyed by `expected`'s
/// key columns. On PostgreSQL the rows stay locked at that version until
/// commit, taken in key order so concurrent batches cannot deadlock.
pub(crate) async fn versions_hold(
    tx: &mut dyn Tx,
    select: &str,
    expected: &[(Vec<String>, Timestamp)],
) -> Result<bool> {
    let mut expected = expected.to_vec();
    expected.sort();
    let select = dialect::for_update(tx.dialect(), select);
    for (key, at) in &expected {
        let args: Vec<_> = key.iter().map(crate::store::db::Arg::from).collect();
        let found = tx.row(&select, &args).await?.map(|r| r.opt_int(0)).transpose()?;
        if found != Some(Some(at.0)) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The records a request implies beside its main write (`ExtraWrites`),
/// each kind in key order so concurrent requests lock rows alike. An
/// operation that completes `extra.each` per item calls `write_extra_but_each`
/// and `record_each` instead: here it is refused, never silently dropped.
pub(crate) async fn write_extra(tx: &mut dyn Tx, extra: &ExtraWrites) -> Result<()> {
    if extra.each.is_some() {
        return Err(crate::core::error::Error::internal("this write records no per-item events"));
    }
    write_extra_but_each(tx, extra).await
}

/// Records `extra.each`, if any, completed with `item`: one item the main
/// write created or removed.
pub(crate) async fn record_each(tx: &mut dyn Tx, extra: &ExtraWrites, item: Item<'_>) -> Result<()> {
    match &extra.each {
        Some(event) => insert_events(tx, std::slice::from_ref(&event.completed(item))).await,
        None => Ok(()),
    }
}

/// Saves notification activity `n` unless `extra.windows` names it and its
/// deduplication key has a notification recorded within the window before
/// it (a sliding window: the key's newest notification, one index probe,
/// under the key's lock so concurrent repeats see each other). Returns
/// whether it was saved.
pub(crate) async fn save_notification(
    tx: &mut dyn Tx,
    n: &crate::core::model::Activity,
    extra: &ExtraWrites,
) -> Result<bool> {
    if let Some(w) = extra.windows.iter().find(|w| w.activity_id == n.id) {
        dialect::lock_notification_key(tx, &w.key).await?;
        let newest = tx
            .row(
                "SELECT recorded_at FROM notification_windows WHERE dedup_key = $1
                 ORDER BY recorded_at DESC LIMIT 1",
                args![&w.key],
            )
            .await?
            .map(|r| r.int(0))
            .transpose()?;
        if newest.is_some_and(|at| n.created_at.0 - at < w.window) {
            return Ok(false);
        }
        tx.exec(
            "INSERT INTO notification_windows (dedup_key, recorded_at, activity_id) VALUES ($1, $2, $3)
             ON CONFLICT (dedup_key, recorded_at) DO NOTHING",
            args![&w.key, n.created_at, &n.id],
        )
        .await?;
    }
    save_activity(tx, n).await?;
    Ok(true)
}

/// `write_extra` for the operations that complete `extra.each` themselves.
pub(crate) async fn write_extra_but_each(tx: &mut dyn Tx, extra: &ExtraWrites) -> Result<()> {
    purge_activities(tx, &extra.withdrawn).await?;
    let mut feeds: Vec<_> = extra.feeds.iter().collect();
    feeds.sort_by(|a, b| a.fid.cmp(&b.fid));
    for feed in feeds {
        insert_feed(tx, feed).await?;
    }
    upsert_users(tx, &extra.user_updates).await?;
    insert_implied_users(tx, &extra.users).await?;
    upsert_collections(tx, &extra.collections).await?;
    for n in &extra.notifications {
        save_notification(tx, n, extra).await?;
    }
    insert_tasks(tx, &extra.tasks).await?;
    insert_events(tx, &extra.events).await
}
