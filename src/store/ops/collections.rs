use crate::args;
use crate::core::error::Result;
use crate::core::model::Collection;
use crate::store::db::{Arg, Tx};
use crate::store::dialect::{doc_copy, doc_set};

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
