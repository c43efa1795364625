use async_trait::async_trait;

use crate::args;
use crate::core::error::Result;
use crate::core::model::{Task, TaskError, TaskStatus};
use crate::core::storage::{ExtraWrites, TaskStore};
use crate::core::time::Timestamp;
use crate::store::db::{Arg, Db, Row, Tx};
use crate::store::dialect;

const TASK_COLUMNS: &str = "id, status, work, result, error, attempts, created_at, updated_at";

fn task(r: &Row) -> Result<Task> {
    Ok(Task {
        id: r.text(0)?,
        status: TaskStatus::parse(r.str(1)?),
        work: r.doc(2)?,
        result: r.opt_doc(3)?,
        error: r.opt_doc(4)?,
        attempts: r.int(5)?,
        created_at: Timestamp(r.int(6)?),
        updated_at: Timestamp(r.int(7)?),
    })
}

pub(crate) async fn insert_tasks(tx: &mut dyn Tx, tasks: &[Task]) -> Result<()> {
    for t in tasks {
        tx.exec(
            "INSERT INTO tasks (id, status, work, result, error, attempts, created_at, updated_at)
             VALUES ($1, $2, $3, NULL, NULL, 0, $4, $5)",
            args![&t.id, t.status.as_str(), Arg::doc(&t.work)?, t.created_at, t.updated_at],
        )
        .await?;
    }
    Ok(())
}

#[async_trait]
impl<D: Db> TaskStore for D {
    async fn insert_task(&self, task: &Task) -> Result<()> {
        let mut tx = self.write().await?;
        super::write_extra(&mut *tx, &ExtraWrites { tasks: vec![task.clone()], ..Default::default() }).await?;
        tx.commit().await
    }

    async fn get_task(&self, id: &str) -> Result<Option<Task>> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1");
        self.read().await?.row(&sql, args![id]).await?.as_ref().map(task).transpose()
    }

    async fn claim_task(&self, now: Timestamp, lease_until: Timestamp) -> Result<Option<Task>> {
        let mut tx = self.write().await?;
        let sql = format!(
            "UPDATE tasks SET status = 'running', attempts = attempts + 1, updated_at = $1, lease_until = $2
             WHERE id = (SELECT id FROM tasks
                         WHERE status = 'pending' OR (status = 'running' AND lease_until < $1)
                         ORDER BY created_at LIMIT 1 {})
             RETURNING {TASK_COLUMNS}",
            dialect::skip_locked(self.dialect())
        );
        let claimed = tx.row(&sql, args![now, lease_until]).await?.as_ref().map(task).transpose()?;
        tx.commit().await?;
        Ok(claimed)
    }

    async fn renew_task(&self, id: &str, lease_until: Timestamp) -> Result<()> {
        let mut tx = self.write().await?;
        tx.exec("UPDATE tasks SET lease_until = $2 WHERE id = $1 AND status = 'running'", args![id, lease_until])
            .await?;
        tx.commit().await
    }

    async fn finish_task(
        &self,
        id: &str,
        status: TaskStatus,
        result: Option<serde_json::Value>,
        error: Option<TaskError>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        let error = error.map(|e| Arg::doc(&e)).transpose()?.unwrap_or(Arg::Null);
        tx.exec(
            "UPDATE tasks SET status = $2, result = $3, error = $4, updated_at = $5 WHERE id = $1",
            args![id, status.as_str(), result.map(|r| r.to_string()), error, Timestamp::now()],
        )
        .await?;
        tx.commit().await
    }
}
