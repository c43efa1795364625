use async_trait::async_trait;

use crate::args;
use crate::core::error::{Error, Result};
use crate::core::events::Item;
use crate::core::model::{Fid, Pin};
use crate::core::storage::{ExtraWrites, ListQuery, PinStore};
use crate::store::db::{Arg, Db};
use crate::store::sql;

#[async_trait]
impl<D: Db> PinStore for D {
    async fn insert_pin_with(&self, pin: &Pin, extra: &ExtraWrites) -> Result<Pin> {
        let mut tx = self.write().await?;
        super::write_extra_but_each(&mut *tx, extra).await?;
        let fid = pin.fid.to_string();
        let inserted = tx
            .doc(
                "INSERT INTO pins (fid, activity_id, created_at, doc) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (fid, activity_id) DO NOTHING RETURNING doc",
                args![&fid, &pin.activity_id, pin.created_at, Arg::doc(pin)?],
            )
            .await?;
        let stored = match inserted {
            Some(p) => {
                super::record_each(&mut *tx, extra, Item::Pin(&p)).await?;
                p
            }
            // Pinned already: the existing pin is kept as it is.
            None => tx
                .doc("SELECT doc FROM pins WHERE fid = $1 AND activity_id = $2", args![&fid, &pin.activity_id])
                .await?
                .ok_or_else(|| Error::internal("pin vanished"))?,
        };
        tx.commit().await?;
        Ok(stored)
    }

    async fn delete_pin_with(&self, fid: &Fid, activity_id: &str, extra: &ExtraWrites) -> Result<Option<Pin>> {
        let mut tx = self.write().await?;
        let deleted: Option<Pin> = tx
            .doc(
                "DELETE FROM pins WHERE fid = $1 AND activity_id = $2 RETURNING doc",
                args![fid.to_string(), activity_id],
            )
            .await?;
        let Some(pin) = deleted else { return Ok(None) };
        super::write_extra_but_each(&mut *tx, extra).await?;
        super::record_each(&mut *tx, extra, Item::Pin(&pin)).await?;
        tx.commit().await?;
        Ok(Some(pin))
    }

    async fn query_pins(&self, q: &ListQuery) -> Result<Vec<Pin>> {
        super::list(self, &sql::PINS, q).await
    }
}
