//! The PostgreSQL database: a deadpool connection pool over tokio-postgres
//! and the schema migrations, serialised across instances. `driver` runs the
//! shared operations (`store::ops`) on it.

use std::sync::{Arc, Weak};
use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::core::error::{Error, Result};
use crate::core::time::Timestamp;

mod driver;

use driver::db_err;
mod migrations;

const POOL_SIZE: usize = 16;
/// Serialises schema migrations when several instances start at once.
const MIGRATION_LOCK: i64 = 0x7472_6962_7574_6172;

/// The channel event writers NOTIFY and every process LISTENs on: the
/// database is the broker between instances.
const EVENTS_CHANNEL: &str = "tributary_events";

pub struct PostgresStore {
    pool: Pool,
    /// Counts event writes heard of, from this process or (through
    /// LISTEN) any other (`Db::event_writes`).
    event_writes: Arc<watch::Sender<u64>>,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| Error::internal(format!("invalid TRIBUTARY_DATABASE_URL: {e}")))?;
        let manager =
            Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager).max_size(POOL_SIZE).build().map_err(db_err)?;
        let event_writes = Arc::new(watch::Sender::new(0));
        let listener = tokio::spawn(listen_for_events(config, Arc::downgrade(&event_writes)));
        let store = PostgresStore { pool, event_writes, listener };
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

/// Keeps a connection LISTENing for event writes of any process and counts
/// them into `event_writes`, reconnecting after a failure. Each (re)connect
/// counts once too, so readers catch up on what was written while deaf; a
/// lost notification only delays delivery until the readers' next poll.
async fn listen_for_events(config: tokio_postgres::Config, event_writes: Weak<watch::Sender<u64>>) {
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let listening = async {
                    client.batch_execute(&format!("LISTEN {EVENTS_CHANNEL}")).await?;
                    futures_never_ready().await
                };
                let messages = async {
                    loop {
                        match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                            Some(Ok(AsyncMessage::Notification(_))) => match event_writes.upgrade() {
                                Some(writes) => writes.send_modify(|n| *n += 1),
                                None => return,
                            },
                            Some(Ok(_)) => {}
                            Some(Err(e)) => {
                                tracing::warn!(error = %e, "event listener connection failed");
                                return;
                            }
                            None => return,
                        }
                    }
                };
                if let Some(writes) = event_writes.upgrade() {
                    writes.send_modify(|n| *n += 1);
                }
                tokio::select! {
                    result = listening => {
                        if let Err(e) = result {
                            tracing::warn!(error = %e, "LISTEN failed");
                        }
                    }
                    () = messages => {}
                }
            }
            Err(e) => tracing::warn!(error = %e, "event listener cannot connect"),
        }
        if event_writes.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn futures_never_ready() -> std::result::Result<(), tokio_postgres::Error> {
    std::future::pending().await
}
