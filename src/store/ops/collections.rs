use async_trait::async_trait;

use crate::args;
use crate::core::error::Result;
use crate::core::model::Collection;
use crate::core::storage::{CollectionStore, ListQuery};
use crate::store::db::{Arg, Db, Tx};
use crate::store::dialect::{doc_copy, doc_set};
use crate::store::sql;

/// Inserts the new collections; existing ones only get the new `custom`.
pub(crate) async fn upsert_collections(tx: &mut dyn Tx, collections: &[Collection]) -> Result<Vec<Collection>> {
    if collections.is_empty() {
        return Ok(Vec::new());
    }
    let d = tx.dialect();
    let doc =
        doc_set(d, &doc_copy(d, "collections.doc", "custom", "excluded.doc"), "updated_at", "excluded.updated_at");
    let upsert = format!(
        "INSERT INTO collections (name, id, user_id, created_at, updated_at, doc) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (name, id) DO UPDATE SET updated_at = excluded.updated_at, doc = {doc}
         RETURNING doc"
    );
    let mut out = Vec::with_capacity(collections.len());
    for c in collections {
        let args = args![&c.name, &c.id, &c.user_id, c.created_at, c.updated_at, Arg::doc(c)?];
        out.extend(tx.doc(&upsert, args).await?);
    }
    Ok(out)
}

/// `(name, id) IN (VALUES ($1, $2), …)` over `refs`, with its arguments.
fn refs_in(refs: &[(String, String)]) -> (String, Vec<Arg>) {
    let pairs: Vec<String> = (0..refs.len()).map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2)).collect();
    let args = refs.iter().flat_map(|(name, id)| [Arg::from(name), Arg::from(id)]).collect();
    (format!("(name, id) IN (VALUES {})", pairs.join(", ")), args)
}

#[async_trait]
impl<D: Db> CollectionStore for D {
    async fn insert_collections(&self, collections: &[Collection]) -> Result<Option<String>> {
        let mut tx = self.write().await?;
        for c in collections {
            let n = tx
                .exec(
                    "INSERT INTO collections (name, id, user_id, created_at, updated_at, doc)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name, id) DO NOTHING",
                    args![&c.name, &c.id, &c.user_id, c.created_at, c.updated_at, Arg::doc(c)?],
                )
                .await?;
            if n == 0 {
                // Dropping the transaction rolls back the ones inserted so far.
                return Ok(Some(c.reference()));
            }
        }
        tx.commit().await?;
        Ok(None)
    }

    async fn upsert_collections(&self, collections: &[Collection]) -> Result<Vec<Collection>> {
        let mut tx = self.write().await?;
        let out = upsert_collections(&mut *tx, collections).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn get_collections(&self, refs: &[(String, String)]) -> Result<Vec<Collection>> {
        if refs.is_empty() {
            return Ok(Vec::new());
        }
        let (refs_in, args) = refs_in(refs);
        let rows = self.read().await?.rows_once(&format!("SELECT doc FROM collections WHERE {refs_in}"), &args).await?;
        rows.iter().map(|r| r.doc(0)).collect()
    }

    async fn delete_collections(&self, refs: &[(String, String)]) -> Result<Vec<Collection>> {
        if refs.is_empty() {
            return Ok(Vec::new());
        }
        let (refs_in, args) = refs_in(refs);
        let mut tx = self.write().await?;
        let rows = tx.rows_once(&format!("DELETE FROM collections WHERE {refs_in} RETURNING doc"), &args).await?;
        let deleted = rows.iter().map(|r| r.doc(0)).collect::<Result<_>>()?;
        tx.commit().await?;
        Ok(deleted)
    }

    async fn query_collections(&self, q: &ListQuery) -> Result<Vec<Collection>> {
        super::list(self, &sql::COLLECTIONS, q).await
    }
}
