//! The fan-out worker: copies activities posted to feeds with many
//! followers into the follower feeds, one bounded batch per transaction,
//! from the durable jobs the activity writes recorded (`FanoutStore`; the
//! design is in `store::ops::fanout`). One worker per process; jobs are
//! leased, so workers of several processes over one database never copy
//! the same job at once, and a job whose worker died is taken over when its
//! lease lapses.

use std::time::Duration;

use crate::shutdown::Shutdown;

use super::storage::{FanoutJob, FanoutStep};
use super::time::Timestamp;
use super::{new_id, Ctx};

/// Follower feeds copied per transaction unless configured: a batch holds
/// the SQLite writer for a few milliseconds.
pub const DEFAULT_BATCH: usize = 5_000;
/// How long a claimed job belongs to its worker; renewed with every batch.
/// Short, so a job whose process died resumes soon after a restart.
const LEASE_SECONDS: i64 = 5;
/// The longest wait between two looks for jobs. Workers are woken at once
/// by event writes (every activity write emits one); the poll covers jobs
/// of other processes whose lease lapsed.
const MAX_POLL: Duration = Duration::from_millis(500);
/// How long a wake-up waits for the writes right behind it.
const COALESCE: Duration = Duration::from_millis(5);

/// Runs fan-out jobs until `shutdown` fires, `batch` follower feeds per
/// transaction; a job in progress is given back on shutdown.
pub async fn run_worker(ctx: Ctx, batch: usize, shutdown: Shutdown) {
    let holder = new_id();
    let mut writes = ctx.store.event_writes();
    loop {
        if shutdown.is_triggered() {
            return;
        }
        let now = Timestamp::now();
        let claimed = match ctx.store.fanout_waiting(now).await {
            Ok(false) => Ok(None),
            Ok(true) => ctx.store.claim_fanout(&holder, now, now.plus_seconds(LEASE_SECONDS)).await,
            Err(e) => Err(e),
        };
        match claimed {
            Ok(Some(job)) => run_job(&ctx, &job, &holder, batch, &shutdown).await,
            Ok(None) => {
                tokio::select! {
                    // Writes come in bursts: one look per `COALESCE`, not a
                    // read per write.
                    _ = writes.changed() => tokio::time::sleep(COALESCE).await,
                    _ = tokio::time::sleep(MAX_POLL) => {}
                    _ = shutdown.wait() => return,
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "claiming a fan-out job failed");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.wait() => return,
                }
            }
        }
    }
}

async fn run_job(ctx: &Ctx, job: &FanoutJob, holder: &str, batch: usize, shutdown: &Shutdown) {
    loop {
        if shutdown.is_triggered() {
            if let Err(e) = ctx.store.release_fanout(job, holder).await {
                tracing::warn!(activity = %job.activity_id, error = %e, "giving a fan-out job back failed");
            }
            return;
        }
        let lease_until = Timestamp::now().plus_seconds(LEASE_SECONDS);
        match ctx.store.fanout_step(job, holder, batch, lease_until).await {
            Ok(FanoutStep::Copied) => {}
            Ok(FanoutStep::Done | FanoutStep::Lost) => return,
            Err(e) => {
                // Given back, and claimed again from the last batch that
                // committed (or, if even that failed, when the lease lapses).
                tracing::warn!(activity = %job.activity_id, origin = %job.origin, error = %e, "a fan-out batch failed");
                let _ = ctx.store.release_fanout(job, holder).await;
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.wait() => {}
                }
                return;
            }
        }
    }
}
