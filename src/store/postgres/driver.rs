//! The PostgreSQL driver under the shared operations: a deadpool pool over
//! tokio-postgres. Arguments bind by the type PostgreSQL infers for each
//! placeholder, so shared SQL needs no casts: text binds to a `jsonb`
//! parameter as the document it spells, and `jsonb` reads back as text.

use async_trait::async_trait;
use bytes::{BufMut, BytesMut};
use deadpool_postgres::{Object, StatementCache};
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use tokio_postgres::Statement;

use std::sync::Arc;

use tokio::sync::watch;

use super::{PostgresStore, EVENTS_CHANNEL, STATEMENT_CACHE_CAP};
use crate::core::error::{Error, Result};
use crate::store::db::{Arg, Db, Dialect, Row, Tx};

pub(super) fn db_err(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("postgres: {e}"))
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// An argument bound as the type its placeholder has.
#[derive(Debug)]
struct Bound<'a>(&'a Arg);

impl ToSql for Bound<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, BoxError> {
        match self.0 {
            Arg::Null => Ok(IsNull::Yes),
            Arg::Text(t) if *ty == Type::JSONB => {
                out.put_u8(1); // the jsonb binary format's version
                out.put_slice(t.as_bytes());
                Ok(IsNull::No)
            }
            Arg::Text(t) if *ty == Type::JSON => {
                out.put_slice(t.as_bytes());
                Ok(IsNull::No)
            }
            Arg::Text(t) => t.as_str().to_sql(ty, out),
            Arg::Int(i) if *ty == Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
            Arg::Int(i) if *ty == Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
            Arg::Int(i) if *ty == Type::FLOAT8 => (*i as f64).to_sql(ty, out),
            Arg::Int(i) => i.to_sql(ty, out),
            Arg::Real(r) => r.to_sql(ty, out),
            Arg::Bool(b) => b.to_sql(ty, out),
            Arg::Texts(list) => list.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A column value read as the neutral `Arg`.
struct Column(Arg);

impl<'a> FromSql<'a> for Column {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> std::result::Result<Self, BoxError> {
        Ok(Column(match *ty {
            Type::BOOL => Arg::Bool(bool::from_sql(ty, raw)?),
            Type::INT2 => Arg::Int(i16::from_sql(ty, raw)?.into()),
            Type::INT4 => Arg::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT8 => Arg::Int(i64::from_sql(ty, raw)?),
            Type::FLOAT4 => Arg::Real(f32::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Arg::Real(f64::from_sql(ty, raw)?),
            Type::JSONB => match raw.split_first() {
                Some((1, doc)) => Arg::Text(std::str::from_utf8(doc)?.to_string()),
                _ => return Err("unsupported jsonb format".into()),
            },
            Type::JSON => Arg::Text(std::str::from_utf8(raw)?.to_string()),
            Type::TEXT_ARRAY | Type::VARCHAR_ARRAY => Arg::Texts(Vec::<String>::from_sql(ty, raw)?),
            _ => Arg::Text(String::from_sql(ty, raw)?),
        }))
    }

    fn from_sql_null(_: &Type) -> std::result::Result<Self, BoxError> {
        Ok(Column(Arg::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn rows_of(rows: Vec<tokio_postgres::Row>) -> Result<Vec<Row>> {
    rows.iter()
        .map(|r| {
            (0..r.len()).map(|i| r.try_get::<_, Column>(i).map(|c| c.0).map_err(db_err)).collect::<Result<_>>().map(Row)
        })
        .collect()
}

/// `sql` prepared on `client`, through the connection's statement cache,
/// which holds at most `STATEMENT_CACHE_CAP` statements.
///
/// deadpool's cache never forgets a statement, and each one it keeps is
/// also a statement prepared in the server's session. Texts that vary with
/// a request (a literal `LIMIT`, a `UNION ALL` branch per group, an
/// optional clause) would grow both for as long as the connection lives,
/// so a full cache is emptied before the next statement is prepared: the
/// statements in use again are prepared again, once each, and the dropped
/// ones are closed on the server. Emptying the whole cache (rather than
/// evicting the least used entry, which deadpool does not track) costs at
/// most one extra prepare per statement per `STATEMENT_CACHE_CAP` new texts.
/// Counting the cache walks its entries, which at this size is far cheaper
/// than the round trip the statement makes anyway.
async fn prepared(client: &Object, sql: &str) -> Result<Statement> {
    let cache = &client.statement_cache;
    if cache.size() >= STATEMENT_CACHE_CAP {
        cache.clear();
    }
    // A preparation that fails, or is cancelled, leaves an empty entry
    // keyed by its text that the cache's size does not count: it goes too.
    let mut unfinished = Unfinished(Some((cache, sql)));
    let statement = client.prepare_cached(sql).await.map_err(db_err)?;
    unfinished.0 = None;
    Ok(statement)
}

/// A statement cache entry being prepared, removed when dropped unfinished.
struct Unfinished<'a>(Option<(&'a StatementCache, &'a str)>);

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        if let Some((cache, sql)) = self.0.take() {
            cache.remove(sql, &[]);
        }
    }
}

pub(super) struct PgTx {
    client: Option<Object>,
    /// A write transaction is open and must be committed or rolled back.
    open: bool,
    /// The store's event-write counter (write transactions only), bumped
    /// at commit when the transaction wrote events: other processes hear
    /// of them through the NOTIFY the transaction sent.
    event_writes: Option<Arc<watch::Sender<u64>>>,
    announced: bool,
}

impl PgTx {
    fn client(&self) -> Result<&Object> {
        self.client.as_ref().ok_or_else(|| Error::internal("postgres: transaction already finished"))
    }
}

#[async_trait]
impl Tx for PgTx {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn exec(&mut self, sql: &str, args: &[Arg]) -> Result<u64> {
        let client = self.client()?;
        let stmt = prepared(client, sql).await?;
        let bound: Vec<Bound<'_>> = args.iter().map(Bound).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b as &(dyn ToSql + Sync)).collect();
        client.execute(&stmt, &refs).await.map_err(db_err)
    }

    async fn rows(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<Row>> {
        let client = self.client()?;
        let stmt = prepared(client, sql).await?;
        let bound: Vec<Bound<'_>> = args.iter().map(Bound).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b as &(dyn ToSql + Sync)).collect();
        rows_of(client.query(&stmt, &refs).await.map_err(db_err)?)
    }

    async fn rows_once(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<Row>> {
        let client = self.client()?;
        let bound: Vec<Bound<'_>> = args.iter().map(Bound).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b as &(dyn ToSql + Sync)).collect();
        rows_of(client.query(sql, &refs).await.map_err(db_err)?)
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        if self.open {
            self.client()?.batch_execute("COMMIT").await.map_err(db_err)?;
            self.open = false;
            if let (true, Some(writes)) = (self.announced, &self.event_writes) {
                writes.send_modify(|n| *n += 1);
            }
        }
        Ok(())
    }

    async fn announce_events(&mut self) -> Result<()> {
        if !self.announced {
            // Delivered to every LISTENing process only if this commits.
            let notify = format!("NOTIFY {EVENTS_CHANNEL}");
            self.client()?.batch_execute(&notify).await.map_err(db_err)?;
            self.announced = true;
        }
        Ok(())
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else { return };
        if !self.open {
            return;
        }
        // Roll back before the connection goes back to the pool. Where that
        // cannot finish (no runtime, a runtime shutting down, an error), the
        // connection is closed instead, which also ends the transaction: a
        // pooled connection is never left inside one.
        let mut closing = ClosesUnlessReturned(Some(client));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let rolled_back = match &closing.0 {
                    Some(client) => client.batch_execute("ROLLBACK").await.is_ok(),
                    None => false,
                };
                if rolled_back {
                    closing.0.take(); // back to the pool
                }
            });
        }
    }
}

/// A connection that is closed when dropped, unless taken back first.
struct ClosesUnlessReturned(Option<Object>);

impl Drop for ClosesUnlessReturned {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            drop(Object::take(client));
        }
    }
}

#[async_trait]
impl Db for PostgresStore {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn read(&self) -> Result<Box<dyn Tx + '_>> {
        let client = self.pool.get().await.map_err(db_err)?;
        Ok(Box::new(PgTx { client: Some(client), open: false, event_writes: None, announced: false }))
    }

    async fn write(&self) -> Result<Box<dyn Tx + '_>> {
        let client = self.pool.get().await.map_err(db_err)?;
        client.batch_execute("BEGIN").await.map_err(db_err)?;
        let event_writes = Some(self.event_writes.clone());
        Ok(Box::new(PgTx { client: Some(client), open: true, event_writes, announced: false }))
    }

    fn event_writes(&self) -> watch::Receiver<u64> {
        self.event_writes.subscribe()
    }

    fn config_writes(&self) -> Option<watch::Receiver<crate::core::storage::ConfigWrites>> {
        Some(self.config_writes.subscribe())
    }

    fn pool_use(&self) -> Option<crate::core::storage::PoolUse> {
        let status = self.pool.status();
        Some(crate::core::storage::PoolUse { open: status.size, idle: status.available, max: status.max_size })
    }
}
