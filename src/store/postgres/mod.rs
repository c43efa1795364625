//! The PostgreSQL database: a deadpool connection pool over tokio-postgres
//! and the schema migrations, serialised across instances. `driver` runs the
//! shared operations (`store::ops`) on it.

use std::sync::{Arc, Weak};
use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::core::error::{Error, Result};
use crate::core::storage::ConfigWrites;
use crate::core::time::Timestamp;
use crate::store::db::CONFIG_CHANNEL;

mod driver;

use driver::db_err;
mod migrations;

const POOL_SIZE: usize = 16;
/// The statements each connection keeps prepared (as many as SQLite's
/// statement cache holds): beyond it the cache starts afresh
/// (`driver::prepared`).
pub const STATEMENT_CACHE_CAP: usize = 512;
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
    /// Configuration writes heard of, from any process, and whether the
    /// listener is connected (`ConfigStore::config_writes`).
    config_writes: Arc<watch::Sender<ConfigWrites>>,
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
        let config_writes = Arc::new(watch::Sender::new(ConfigWrites::default()));
        let heard = Heard { events: Arc::downgrade(&event_writes), config: Arc::downgrade(&config_writes) };
        let listener = tokio::spawn(listen_for_events(config, heard));
        let store = PostgresStore { pool, event_writes, config_writes, listener };
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

/// Where the listener counts what it hears; weak, so the listener ends
/// with the store.
struct Heard {
    events: Weak<watch::Sender<u64>>,
    config: Weak<watch::Sender<ConfigWrites>>,
}

impl Heard {
    fn gone(&self) -> bool {
        self.events.strong_count() == 0
    }

    fn event(&self) {
        if let Some(writes) = self.events.upgrade() {
            writes.send_modify(|n| *n += 1);
        }
    }

    /// A configuration write, or (`listening` changing) a gap in which
    /// writes may have gone unheard: either way cached configuration is
    /// stale.
    fn config(&self, listening: bool) {
        if let Some(writes) = self.config.upgrade() {
            writes.send_modify(|w| {
                w.count += 1;
                w.listening = listening;
            });
        }
    }
}

/// Keeps a connection LISTENing for event and configuration writes of any
/// process and counts them, reconnecting after a failure. Each (re)connect
/// counts once too, so readers catch up on what was written while deaf; a
/// lost event notification only delays delivery until the readers' next
/// poll, and while deaf the configuration cache is bypassed.
async fn listen_for_events(config: tokio_postgres::Config, heard: Heard) {
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let listening = async {
                    client.batch_execute(&format!("LISTEN {EVENTS_CHANNEL}; LISTEN {CONFIG_CHANNEL}")).await?;
                    // From here on every configuration write is heard.
                    heard.config(true);
                    futures_never_ready().await
                };
                let messages = async {
                    loop {
                        match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                            Some(Ok(AsyncMessage::Notification(_))) if heard.gone() => return,
                            Some(Ok(AsyncMessage::Notification(n))) if n.channel() == CONFIG_CHANNEL => {
                                heard.config(true)
                            }
                            Some(Ok(AsyncMessage::Notification(_))) => heard.event(),
                            Some(Ok(_)) => {}
                            Some(Err(e)) => {
                                tracing::warn!(error = %e, "event listener connection failed");
                                return;
                            }
                            None => return,
                        }
                    }
                };
                heard.event();
                tokio::select! {
                    result = listening => {
                        if let Err(e) = result {
                            tracing::warn!(error = %e, "LISTEN failed");
                        }
                    }
                    () = messages => {}
                }
                heard.config(false);
            }
            Err(e) => tracing::warn!(error = %e, "event listener cannot connect"),
        }
        if heard.gone() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn futures_never_ready() -> std::result::Result<(), tokio_postgres::Error> {
    std::future::pending().await
}
