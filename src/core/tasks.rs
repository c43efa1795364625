//! Durable background tasks: the queue. A task row is written before the
//! request that asked for it returns, so an acknowledged task is never lost.
//! The runner (`task_runner`) claims and runs them.

use super::error::{Error, Result};
use super::model::{Task, TaskStatus, TaskWork};
use super::time::Timestamp;
use super::{new_id, Ctx};

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

/// The lease a long task renews as it makes progress (`TaskLease::renew`):
/// short, so a task whose worker died is taken over soon after.
pub const RENEWED_LEASE_SECONDS: i64 = 20;

/// The claim a worker holds on the task it runs.
#[derive(Debug, Clone)]
pub struct TaskLease {
    pub id: String,
}

impl TaskLease {
    /// Keeps the task this worker's for `RENEWED_LEASE_SECONDS` more: called
    /// after each bounded step of a long task.
    pub async fn renew(&self, ctx: &Ctx) -> Result<()> {
        ctx.store.renew_task(&self.id, Timestamp::now().plus_seconds(RENEWED_LEASE_SECONDS)).await
    }
}

pub async fn get_task(ctx: &Ctx, id: &str) -> Result<Task> {
    ctx.store.get_task(id).await?.ok_or_else(|| Error::not_found("task", id))
}
