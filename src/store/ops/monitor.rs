//! What `GET /metrics` reads of the store: queue depths by their indexes.

use async_trait::async_trait;

use crate::core::error::Result;
use crate::core::storage::{Backlog, MonitorStore, PoolUse};
use crate::core::time::Timestamp;
use crate::store::db::{Db, Row};

fn backlog(row: Option<Row>) -> Result<Backlog> {
    let Some(row) = row else { return Ok(Backlog::default()) };
    Ok(Backlog { waiting: row.int(0)?, oldest: row.opt_int(1)?.map(Timestamp) })
}

#[async_trait]
impl<D: Db> MonitorStore for D {
    async fn fanout_backlog(&self) -> Result<Backlog> {
        let row = self.read().await?.row("SELECT COUNT(*), MIN(created_at) FROM fanout_jobs", &[]).await?;
        backlog(row)
    }

    async fn task_backlog(&self) -> Result<Backlog> {
        // Both statuses are ranges of the `tasks_queue (status, created_at)` index.
        let row = self
            .read()
            .await?
            .row("SELECT COUNT(*), MIN(created_at) FROM tasks WHERE status IN ('pending', 'running')", &[])
            .await?;
        backlog(row)
    }

    fn pool_use(&self) -> Option<PoolUse> {
        Db::pool_use(self)
    }
}
