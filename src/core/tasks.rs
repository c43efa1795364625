//! Durable background tasks. A task row is written before the request that
//! asked for it returns, so an acknowledged task is never lost. Workers claim
//! tasks under a lease; a task whose worker died is claimed again when the
//! lease lapses and run again (every task body is idempotent).

use std::time::Duration;

use crate::shutdown::Shutdown;

use super::error::{Error, Result};
use super::model::{Task, TaskError, TaskStatus, TaskWork};
use super::time::Timestamp;
use super::{feeds, new_id, users, Ctx};

/// After this many attempts a task that keeps dying is marked failed.
const MAX_ATTEMPTS: i64 = 3;
/// How long a claimed task belongs to its worker. Task bodies finish well
/// within it; a task whose worker died is taken over once it lapses.
const LEASE_SECONDS: i64 = 60;

pub async fn enqueue(ctx: &Ctx, work: TaskWork) -> Result<String> {
    let task = pending(work);
    ctx.store.insert_task(&task).await?;
    wake(ctx);
    Ok(task.id)
}

/// A new task for a request to write in its own transaction
/// (`ExtraWrites::tasks`); `wake` the runner once that committed.
pub fn pending(work: TaskWork) -> Task {
    let now = Timestamp::now();
    Task {
        id: new_id(),
        work,
        status: TaskStatus::Pending,
        result: None,
        error: None,
        attempts: 0,
        created_at: now,
        updated_at: now,
    }
}

/// Tells the runner a task was queued, so it starts without waiting.
pub fn wake(ctx: &Ctx) {
    ctx.task_signal.notify_one();
}

pub async fn get_task(ctx: &Ctx, id: &str) -> Result<Task> {
    ctx.store.get_task(id).await?.ok_or_else(|| Error::not_found("task", id))
}

async fn execute(ctx: &Ctx, work: &TaskWork) -> Result<serde_json::Value> {
    match work {
        TaskWork::DeleteFeed { fid, hard, purge_user_activities } => {
            feeds::run_delete_feeds(ctx, std::slice::from_ref(fid), *hard, *purge_user_activities).await
        }
        TaskWork::DeleteUsers { user_ids, hard } => users::run_delete_users(ctx, user_ids, *hard).await,
        TaskWork::DeleteFeeds { fids, hard, purge_user_activities } => {
            feeds::run_delete_feeds(ctx, fids, *hard, *purge_user_activities).await
        }
        TaskWork::ReconcileVisibility { fid, approve } => feeds::run_reconcile_visibility(ctx, fid, *approve).await,
    }
}

/// Runs queued tasks until `shutdown` fires. One runner per process; claiming
/// is atomic in the store, so several processes never run the same task.
pub async fn run_worker(ctx: Ctx, shutdown: Shutdown) {
    loop {
        if shutdown.is_triggered() {
            return;
        }
        let now = Timestamp::now();
        match ctx.store.claim_task(now, now.plus_seconds(LEASE_SECONDS)).await {
            Ok(Some(task)) => run_one(&ctx, task).await,
            Ok(None) => {
                tokio::select! {
                    _ = ctx.task_signal.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.wait() => return,
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "claiming a task failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn run_one(ctx: &Ctx, task: Task) {
    let outcome = if task.attempts > MAX_ATTEMPTS {
        Err(Error::internal("task was interrupted too many times"))
    } else {
        execute(ctx, &task.work).await
    };
    let finished = match outcome {
        Ok(result) => ctx.store.finish_task(&task.id, TaskStatus::Completed, Some(result), None).await,
        Err(e) => {
            tracing::warn!(task = %task.id, error = %e, "task failed");
            let error = TaskError { kind: format!("{:?}", e.code), description: e.message };
            ctx.store.finish_task(&task.id, TaskStatus::Failed, None, Some(error)).await
        }
    };
    if let Err(e) = finished {
        tracing::error!(task = %task.id, error = %e, "could not record task outcome");
    }
}
