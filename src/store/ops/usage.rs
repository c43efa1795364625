//! Usage counters (`core::usage`). Counting is an append: each counted write
//! inserts a `(day, metric, value)` row in its own transaction, so no two
//! writers ever wait on one counter row (on PostgreSQL a shared row would
//! serialise every activity write of the cluster until commit, and two
//! transactions counting two metrics in opposite order could deadlock).
//! `compact_usage` folds a (day, metric)'s rows into one, so reads stay
//! small; totals are exact at every moment.

use async_trait::async_trait;

use crate::args;
use crate::core::error::Result;
use crate::core::storage::{UsageMetric, UsageStore};
use crate::core::time::Timestamp;
use crate::core::usage_counter::day_of;
use crate::store::db::{Db, Tx};
use crate::store::sql;

/// Counts `value` of `metric` today, in the transaction of the write it
/// counts: committed with it or not at all.
pub(crate) async fn count(tx: &mut dyn Tx, metric: UsageMetric, value: i64) -> Result<()> {
    if value == 0 {
        return Ok(());
    }
    let day = day_of(Timestamp::now());
    tx.exec("INSERT INTO usage_daily (day, metric, value) VALUES ($1, $2, $3)", args![day, metric.as_str(), value])
        .await?;
    Ok(())
}

/// How many (day, metric) groups one compaction folds at most.
const COMPACT_GROUPS: usize = 200;

#[async_trait]
impl<D: Db> UsageStore for D {
    async fn add_usage(&self, day: &str, metric: UsageMetric, value: i64) -> Result<()> {
        let mut tx = self.write().await?;
        tx.exec("INSERT INTO usage_daily (day, metric, value) VALUES ($1, $2, $3)", args![day, metric.as_str(), value])
            .await?;
        tx.commit().await
    }

    async fn usage_between(&self, from: &str, to: &str) -> Result<Vec<(String, String, i64)>> {
        let rows = self
            .read()
            .await?
            .rows(
                "SELECT day, metric, CAST(SUM(value) AS BIGINT) FROM usage_daily WHERE day >= $1 AND day <= $2
                 GROUP BY day, metric ORDER BY day, metric",
                args![from, to],
            )
            .await?;
        rows.iter().map(|r| Ok((r.text(0)?, r.text(1)?, r.int(2)?))).collect()
    }

    async fn compact_usage(&self) -> Result<usize> {
        let groups = self
            .read()
            .await?
            .rows(
                &format!(
                    "SELECT day, metric FROM usage_daily GROUP BY day, metric HAVING COUNT(*) > 1 LIMIT {}",
                    sql::limit(COMPACT_GROUPS)
                ),
                args![],
            )
            .await?;
        for group in &groups {
            let (day, metric) = (group.text(0)?, group.text(1)?);
            let mut tx = self.write().await?;
            // The sum of exactly the rows this statement removed: a row
            // committed meanwhile is either among them or left for later.
            let removed = tx
                .rows("DELETE FROM usage_daily WHERE day = $1 AND metric = $2 RETURNING value", args![&day, &metric])
                .await?;
            let total = removed.iter().map(|r| r.int(0)).sum::<Result<i64>>()?;
            tx.exec("INSERT INTO usage_daily (day, metric, value) VALUES ($1, $2, $3)", args![&day, &metric, total])
                .await?;
            tx.commit().await?;
        }
        Ok(groups.len())
    }
}
