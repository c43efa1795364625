//! The task runner: claims queued tasks (`tasks`) under a lease and runs
//! them. A task whose worker died is claimed again when the lease lapses and
//! run again (every task body is idempotent). It sits above every area whose
//! work it runs.

use std::time::Duration;

use crate::shutdown::Shutdown;

use super::error::{Error, Result};
use super::model::{Task, TaskError, TaskStatus, TaskWork};
use super::tasks::TaskLease;
use super::time::Timestamp;
use super::{feeds, follows, user_data, Ctx};

/// After this many attempts a task that keeps dying is marked failed.
const MAX_ATTEMPTS: i64 = 3;
/// How long a claimed task belongs to its worker. Task bodies finish well
/// within it; a task whose worker died is taken over once it lapses.
const LEASE_SECONDS: i64 = 60;

async fn execute(ctx: &Ctx, task: &Task) -> Result<serde_json::Value> {
    let lease = TaskLease { id: task.id.clone() };
    match &task.work {
        TaskWork::DeleteFeed { fid, hard, purge_user_activities } => {
            feeds::run_delete_feeds(ctx, std::slice::from_ref(fid), *hard, *purge_user_activities).await
        }
        TaskWork::DeleteUsers { user_ids, hard, prune } => {
            user_data::run_delete_users(ctx, &lease, user_ids, *hard, *prune).await
        }
        TaskWork::ExportUserData { user_id, base_url } => user_data::run_export(ctx, &lease, user_id, base_url).await,
        TaskWork::DeleteUserData { user_id, hard } => user_data::run_delete(ctx, &lease, user_id, *hard).await,
        TaskWork::DeleteFeeds { fids, hard, purge_user_activities } => {
            feeds::run_delete_feeds(ctx, fids, *hard, *purge_user_activities).await
        }
        TaskWork::ReconcileVisibility { fid, approve } => follows::run_reconcile_visibility(ctx, fid, *approve).await,
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
        execute(ctx, &task).await
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
