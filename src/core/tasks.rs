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

pub async fn get_task(ctx: &Ctx, id: &str) -> Result<Task> {
    ctx.store.get_task(id).await?.ok_or_else(|| Error::not_found("task", id))
}
