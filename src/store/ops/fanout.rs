//! Fan-out on write, inline or in the background. An activity's entry is
//! copied into the feeds that follow its origin feeds. For an origin with up
//! to `INLINE_FOLLOWERS` accepted followers that is one statement in the
//! activity's own transaction, as before. Above it, copying would hold the
//! single SQLite writer (or a PostgreSQL transaction) for as long as a
//! million rows take, so the transaction records a job instead
//! (`fanout_jobs`, one per activity and origin feed): the fan-out worker
//! (`core::fanout`) copies the entry in batches of follower feeds taken in
//! `follows.source` order, one short transaction each, and deletes the job
//! after the last. The job is durable with the activity, so an acknowledged
//! activity reaches every follower across a crash; a restarted worker goes
//! on from the recorded `after_source`.
//!
//! Each batch reads the state of the moment, inside its own transaction:
//! the current accepted follows (an unfollow during the job is not undone,
//! a follow during it was backfilled and the copy does nothing), and the
//! activity's current document (`visible_until`, `private_to` as
//! `save_activity` writes them; a purged activity, or one no longer in the
//! origin feed, ends the job). On PostgreSQL the batch locks the job row,
//! then the origin feed row (shared: a follow or unfollow of that feed
//! changes its counters, so it waits for the batch or the batch for it),
//! then the activity row (shared: an update or delete of the activity waits
//! for the batch, and the batch sees what it committed); the writers that
//! remove jobs (`cancel_jobs`) do so before they touch the activity.

use async_trait::async_trait;

use crate::args;
use crate::core::error::Result;
use crate::core::model::Activity;
use crate::core::storage::{FanoutJob, FanoutStep, FanoutStore};
use crate::core::time::Timestamp;
use crate::metrics;
use crate::store::db::{Arg, Db, Tx};
use crate::store::dialect;

use super::aggregation;

/// An origin feed with more accepted followers than this is fanned out in
/// the background. At 1,000 the inline copy costs a few milliseconds of the
/// writer; a feed with a million followers would hold it for seconds.
pub const INLINE_FOLLOWERS: i64 = 1_000;

/// The follower feeds of one origin feed, in keyset order, after `$2`.
const FOLLOWERS_AFTER: &str = "WHERE target = $1 AND status = 'accepted' AND source > $2";

/// Copies the entry of activity `$3` (its `seq`; `created_at` `$2`,
/// visibility `$4`, `$5`) into every accepted follower feed of the origins
/// `$1`.
const COPY_TO_FOLLOWERS: &str =
    "INSERT INTO feed_entries (feed_seq, created_at, activity_seq, direct, visible_until, private_to)
     SELECT s.seq, $2, $3, FALSE, $4, $5 FROM follows f JOIN feeds s ON s.fid = f.source
     WHERE f.target = ANY($1) AND f.status = 'accepted'
     ON CONFLICT DO NOTHING";

/// Fans the entry of `a` (stored as `seq` with `created_at`) out to the
/// followers of the feeds in `added`: inline for the small ones, as a job
/// for the big. Follower feeds of a group with a grouping also get `a` in
/// its group.
pub(crate) async fn fan_out(
    tx: &mut dyn Tx,
    a: &Activity,
    seq: i64,
    created_at: Timestamp,
    added: &[String],
    groupings: &[aggregation::GroupRule],
) -> Result<()> {
    // Feeds nobody follows (most writes) cost no fan-out statements: their
    // accepted follows are counted in `follower_count` by every write that
    // adds or removes one, in the same transaction.
    let followed = tx
        .rows(
            "SELECT fid, follower_count FROM feeds WHERE fid = ANY($1) AND follower_count > 0 ORDER BY fid",
            args![added],
        )
        .await?;
    let (mut small, mut big) = (Vec::new(), Vec::new());
    for row in &followed {
        let (fid, followers) = (row.text(0)?, row.int(1)?);
        if followers > INLINE_FOLLOWERS {
            big.push(fid)
        } else {
            small.push(fid)
        }
    }
    if !small.is_empty() {
        aggregation::join_followers(tx, groupings, a, created_at, &small, None).await?;
        let started = std::time::Instant::now();
        let copied =
            tx.exec(COPY_TO_FOLLOWERS, args![small, created_at, seq, a.visible_until(), a.private_to()]).await?;
        metrics::fanout("inline", copied, started);
    }
    for origin in &big {
        tx.exec(
            "INSERT INTO fanout_jobs (activity_id, origin, after_source, created_at) VALUES ($1, $2, '', $3)
             ON CONFLICT (activity_id, origin) DO UPDATE SET after_source = '', holder = NULL, lease_until = NULL",
            args![&a.id, origin, Timestamp::now()],
        )
        .await?;
    }
    Ok(())
}

/// Ends the fan-out jobs of the activities `ids` (all their origins, or only
/// `origins` when given): they were deleted, or left those feeds. Called
/// before the activity rows are touched, so a running batch finishes first
/// and what it copied is seen by the caller's next statements.
pub(crate) async fn cancel_jobs(tx: &mut dyn Tx, ids: &[String], origins: Option<&[String]>) -> Result<()> {
    match origins {
        None => tx.exec("DELETE FROM fanout_jobs WHERE activity_id = ANY($1)", args![ids]).await?,
        Some(origins) => {
            tx.exec("DELETE FROM fanout_jobs WHERE activity_id = ANY($1) AND origin = ANY($2)", args![ids, origins])
                .await?
        }
    };
    Ok(())
}

/// One batch of `job` inside `tx`; see the module notes for the lock order.
async fn step(
    tx: &mut dyn Tx,
    job: &FanoutJob,
    holder: &str,
    batch: usize,
    lease_until: Timestamp,
) -> Result<FanoutStep> {
    let key = args![&job.activity_id, &job.origin];
    let select = dialect::for_update(
        tx.dialect(),
        "SELECT after_source, holder FROM fanout_jobs WHERE activity_id = $1 AND origin = $2",
    );
    let Some(row) = tx.row(&select, key).await? else { return Ok(FanoutStep::Done) };
    if row.opt_str(1)? != Some(holder) {
        return Ok(FanoutStep::Lost);
    }
    let after = row.text(0)?;
    dialect::share_feed(tx, &job.origin).await?;
    let activity = tx
        .row(
            &dialect::for_share(tx.dialect(), "SELECT doc, seq FROM activities WHERE id = $1"),
            args![&job.activity_id],
        )
        .await?
        .map(|r| Ok::<_, crate::core::error::Error>((r.doc::<Activity>(0)?, r.int(1)?)))
        .transpose()?;
    let Some((a, seq)) = activity.filter(|(a, _)| a.feeds.iter().any(|f| f.to_string() == job.origin)) else {
        tx.exec("DELETE FROM fanout_jobs WHERE activity_id = $1 AND origin = $2", key).await?;
        return Ok(FanoutStep::Done);
    };
    // The batch's last follower feed; none when fewer than `batch` remain.
    let last = tx
        .row(
            &format!("SELECT source FROM follows {FOLLOWERS_AFTER} ORDER BY source LIMIT 1 OFFSET $3"),
            args![&job.origin, &after, batch.saturating_sub(1)],
        )
        .await?
        .map(|r| r.text(0))
        .transpose()?;
    let copy = format!(
        "INSERT INTO feed_entries (feed_seq, created_at, activity_seq, direct, visible_until, private_to)
         SELECT s.seq, $3, $4, FALSE, $5, $6 FROM follows JOIN feeds s ON s.fid = follows.source
         {FOLLOWERS_AFTER} {}
         ON CONFLICT DO NOTHING",
        if last.is_some() { "AND source <= $7" } else { "" }
    );
    let mut copy_args = args![&job.origin, &after, a.created_at, seq, a.visible_until(), a.private_to()].to_vec();
    copy_args.extend(last.as_ref().map(Arg::from));
    let started = std::time::Instant::now();
    let copied = tx.exec(&copy, &copy_args).await?;
    metrics::fanout("background", copied, started);
    let groupings = aggregation::groupings(tx).await?;
    let range = Some((after.as_str(), last.as_deref()));
    aggregation::join_followers(tx, &groupings, &a, a.created_at, std::slice::from_ref(&job.origin), range).await?;
    match last {
        Some(last) => {
            tx.exec(
                "UPDATE fanout_jobs SET after_source = $3, lease_until = $4 WHERE activity_id = $1 AND origin = $2",
                args![&job.activity_id, &job.origin, last, lease_until],
            )
            .await?;
            Ok(FanoutStep::Copied)
        }
        None => {
            tx.exec("DELETE FROM fanout_jobs WHERE activity_id = $1 AND origin = $2", key).await?;
            Ok(FanoutStep::Done)
        }
    }
}

#[async_trait]
impl<D: Db> FanoutStore for D {
    async fn fanout_waiting(&self, now: Timestamp) -> Result<bool> {
        let row = self
            .read()
            .await?
            .row("SELECT 1 FROM fanout_jobs WHERE holder IS NULL OR lease_until < $1 LIMIT 1", args![now])
            .await?;
        Ok(row.is_some())
    }

    async fn claim_fanout(&self, holder: &str, now: Timestamp, lease_until: Timestamp) -> Result<Option<FanoutJob>> {
        let mut tx = self.write().await?;
        let sql = format!(
            "UPDATE fanout_jobs SET holder = $1, lease_until = $3
             WHERE (activity_id, origin) = (SELECT activity_id, origin FROM fanout_jobs
                                            WHERE holder IS NULL OR lease_until < $2
                                            ORDER BY created_at LIMIT 1 {})
             RETURNING activity_id, origin, after_source",
            dialect::skip_locked(self.dialect())
        );
        let claimed = tx.row(&sql, args![holder, now, lease_until]).await?;
        let job = claimed
            .map(|r| {
                Ok::<_, crate::core::error::Error>(FanoutJob {
                    activity_id: r.text(0)?,
                    origin: r.text(1)?,
                    after_source: r.text(2)?,
                })
            })
            .transpose()?;
        tx.commit().await?;
        Ok(job)
    }

    async fn fanout_step(
        &self,
        job: &FanoutJob,
        holder: &str,
        batch: usize,
        lease_until: Timestamp,
    ) -> Result<FanoutStep> {
        let mut tx = self.write().await?;
        let done = step(&mut *tx, job, holder, batch.max(1), lease_until).await?;
        if done != FanoutStep::Lost {
            tx.commit().await?;
        }
        Ok(done)
    }

    async fn release_fanout(&self, job: &FanoutJob, holder: &str) -> Result<()> {
        let mut tx = self.write().await?;
        tx.exec(
            "UPDATE fanout_jobs SET holder = NULL, lease_until = NULL
             WHERE activity_id = $1 AND origin = $2 AND holder = $3",
            args![&job.activity_id, &job.origin, holder],
        )
        .await?;
        tx.commit().await
    }
}
