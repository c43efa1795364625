//! The PostgreSQL database: a deadpool connection pool over tokio-postgres
//! and the schema migrations, serialised across instances. `driver` runs the
//! shared operations (`store::ops`) on it.

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use crate::core::error::{Error, Result};
use crate::core::time::Timestamp;

mod driver;

use driver::db_err;
mod migrations;

const POOL_SIZE: usize = 16;
/// Serialises schema migrations when several instances start at once.
const MIGRATION_LOCK: i64 = 0x7472_6962_7574_6172;

pub struct PostgresStore {
    pool: Pool,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| Error::internal(format!("invalid TRIBUTARY_DATABASE_URL: {e}")))?;
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager).max_size(POOL_SIZE).build().map_err(db_err)?;
        let store = PostgresStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let mut client = self.pool.get().await.map_err(db_err)?;
        let tx = client.transaction().await.map_err(db_err)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(db_err)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS tributary_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await
        .map_err(db_err)?;
        let done: i64 = tx
            .query_one("SELECT COALESCE(MAX(version), 0) FROM tributary_migrations", &[])
            .await
            .map_err(db_err)?
            .get(0);
        for (i, step) in migrations::STEPS.iter().enumerate().skip(done as usize) {
            tx.batch_execute(step).await.map_err(db_err)?;
            tx.execute(
                "INSERT INTO tributary_migrations (version, applied_at) VALUES ($1, $2)",
                &[&(i as i64 + 1), &Timestamp::now().0],
            )
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }
}
