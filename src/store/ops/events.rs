use async_trait::async_trait;

use crate::args;
use crate::core::error::Result;
use crate::core::events::{Event, EventCursor};
use crate::core::storage::EventStore;
use crate::core::time::Timestamp;
use crate::store::db::{Arg, Db, Tx};
use crate::store::{dialect, sql};

/// How many expired events one prune statement removes at most, so pruning
/// never holds the writer for long.
const PRUNE_BATCH: usize = 10_000;

/// Appends `events` to the outbox inside the caller's transaction.
pub(crate) async fn insert_events(tx: &mut dyn Tx, events: &[Event]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let sql = format!("INSERT INTO events (tx, created_at, doc) VALUES ({}, $1, $2)", dialect::event_tx(tx.dialect()));
    for event in events {
        tx.exec(&sql, args![event.created_at, Arg::doc(event)?]).await?;
    }
    tx.announce_events().await
}

#[async_trait]
impl<D: Db> EventStore for D {
    fn event_writes(&self) -> tokio::sync::watch::Receiver<u64> {
        Db::event_writes(self)
    }

    async fn events_after(&self, after: EventCursor, limit: usize) -> Result<Vec<(EventCursor, Event)>> {
        let sql = format!(
            "SELECT tx, seq, doc FROM events WHERE (tx, seq) > ($1, $2) AND {} ORDER BY tx, seq LIMIT {}",
            dialect::events_settled(self.dialect()),
            sql::limit(limit)
        );
        let rows = self.read().await?.rows(&sql, args![after.tx, after.seq]).await?;
        rows.iter().map(|r| Ok((EventCursor { tx: r.int(0)?, seq: r.int(1)? }, r.doc(2)?))).collect()
    }

    async fn events_head(&self) -> Result<EventCursor> {
        let sql = format!(
            "SELECT tx, seq FROM events WHERE {} ORDER BY tx DESC, seq DESC LIMIT 1",
            dialect::events_settled(self.dialect())
        );
        let row = self.read().await?.row(&sql, args![]).await?;
        row.map_or(Ok(EventCursor::default()), |r| Ok(EventCursor { tx: r.int(0)?, seq: r.int(1)? }))
    }

    async fn append_events(&self, events: &[Event]) -> Result<()> {
        let mut tx = self.write().await?;
        insert_events(&mut *tx, events).await?;
        tx.commit().await
    }

    async fn prune_events(&self, before: Timestamp) -> Result<u64> {
        let mut tx = self.write().await?;
        let prune = format!(
            "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE created_at < $1 LIMIT {})",
            sql::limit(PRUNE_BATCH)
        );
        let n = tx.exec(&prune, args![before]).await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn consumer_position(&self, consumer: &str) -> Result<Option<EventCursor>> {
        let row = self
            .read()
            .await?
            .row("SELECT tx, seq FROM event_consumers WHERE name = $1 AND seq IS NOT NULL", args![consumer])
            .await?;
        row.map(|r| Ok(EventCursor { tx: r.int(0)?, seq: r.int(1)? })).transpose()
    }

    async fn set_consumer_position(&self, consumer: &str, position: EventCursor) -> Result<()> {
        let mut tx = self.write().await?;
        tx.exec(
            "INSERT INTO event_consumers (name, tx, seq) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET tx = excluded.tx, seq = excluded.seq",
            args![consumer, position.tx, position.seq],
        )
        .await?;
        tx.commit().await
    }

    async fn lease_consumer(
        &self,
        consumer: &str,
        holder: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let n = tx
            .exec(
                "INSERT INTO event_consumers (name, holder, lease_until) VALUES ($1, $2, $4)
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until
                 WHERE event_consumers.holder IS NULL OR event_consumers.holder = excluded.holder
                    OR event_consumers.lease_until < $3",
                args![consumer, holder, now, lease_until],
            )
            .await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn forget_consumer(&self, consumer: &str, holder: &str, now: Timestamp) -> Result<()> {
        let mut tx = self.write().await?;
        tx.exec(
            "DELETE FROM event_consumers
             WHERE name = $1 AND (holder IS NULL OR holder = $2 OR lease_until < $3)",
            args![consumer, holder, now],
        )
        .await?;
        tx.commit().await
    }
}
