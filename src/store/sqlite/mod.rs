//! The SQLite database: one writer connection (SQLite serialises writers
//! anyway; `group` shares its commits between concurrent writes) and a few
//! reader connections, WAL mode, the schema migrations.
//! `driver` runs the shared operations (`store::ops`) on it.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{Mutex, OwnedMutexGuard};

use rusqlite::functions::FunctionFlags;
pub use rusqlite::trace::TraceEvent;
use rusqlite::trace::TraceEventCodes;
use rusqlite::Connection;

use crate::core::error::{Error, Result};
use crate::core::filter::distance_km;

mod driver;
mod group;

use group::GroupCommit;
mod migrations;

const READERS: usize = 4;

fn db_err(e: rusqlite::Error) -> Error {
    Error::internal(format!("sqlite: {e}"))
}

/// Runs `f` where it may block on the disk without stalling the runtime.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

pub struct SqliteStore {
    /// The writer connection, shared by group commit.
    group: Arc<GroupCommit>,
    readers: Vec<Arc<Mutex<Connection>>>,
    next_reader: AtomicUsize,
}

fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(db_err)?;
    // synchronous=FULL: an acknowledged write survives power loss, not only
    // a process crash. busy_timeout covers a second process on the file.
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;
         PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;
         PRAGMA temp_store=MEMORY;",
    )
    .map_err(db_err)?;
    // The `near` filter's distance; SQLite has no trigonometry built in.
    conn.create_scalar_function(
        "distance_km",
        4,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let coordinates = (0..4).map(|i| ctx.get::<Option<f64>>(i)).collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(match coordinates[..] {
                [Some(lat1), Some(lng1), Some(lat2), Some(lng2)] => Some(distance_km(lat1, lng1, lat2, lng2)),
                _ => None,
            })
        },
    )
    .map_err(db_err)?;
    // List parameters (`= ANY($n)` in shared SQL) bind as `rarray` tables.
    rusqlite::vtab::array::load_module(&conn).map_err(db_err)?;
    // Room for every constant statement of the shared operations, and for
    // the common shapes of the statements built per request.
    conn.set_prepared_statement_cache_capacity(512);
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let version: usize = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).map_err(db_err)? as usize;
    for (i, step) in migrations::STEPS.iter().enumerate().skip(version) {
        let tx = conn.transaction().map_err(db_err)?;
        tx.execute_batch(step).map_err(db_err)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1)).map_err(db_err)?;
        tx.commit().map_err(db_err)?;
    }
    Ok(())
}

impl SqliteStore {
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::internal(format!("cannot create data dir {}: {e}", dir.display())))?;
        let path = dir.join("tributary.sqlite3");
        let mut writer = open(&path)?;
        migrate(&mut writer)?;
        let readers = (0..READERS).map(|_| open(&path).map(|c| Arc::new(Mutex::new(c)))).collect::<Result<Vec<_>>>()?;
        Ok(SqliteStore { group: Arc::new(GroupCommit::new(writer)), readers, next_reader: AtomicUsize::new(0) })
    }

    /// Calls `hook` with the text of every statement any connection runs —
    /// for diagnostics, and for tests that bound how many queries a request
    /// costs.
    pub fn trace_statements(&self, hook: Option<fn(TraceEvent<'_>)>) -> Result<()> {
        // Called between requests, so every connection is free.
        let busy = || Error::internal("sqlite connection busy");
        let events = TraceEventCodes::SQLITE_TRACE_STMT;
        self.group.try_writer().ok_or_else(busy)?.trace_v2(events, hook);
        for reader in &self.readers {
            reader.try_lock().map_err(|_| busy())?.trace_v2(events, hook);
        }
        Ok(())
    }

    /// How many COMMITs the writer has run; next to the writes acknowledged,
    /// it shows how many writes each group commit carried.
    pub fn group_commits(&self) -> u64 {
        self.group.commits()
    }

    /// A reader connection: a free one if there is one, else the next in turn.
    async fn reader(&self) -> OwnedMutexGuard<Connection> {
        for reader in &self.readers {
            if let Ok(conn) = reader.clone().try_lock_owned() {
                return conn;
            }
        }
        let slot = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[slot].clone().lock_owned().await
    }
}
