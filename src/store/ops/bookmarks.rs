use std::collections::HashMap;

use async_trait::async_trait;

use crate::args;
use crate::core::error::Result;
use crate::core::events::Item;
use crate::core::model::{Bookmark, BookmarkFolder};
use crate::core::storage::{BookmarkStore, ExtraWrites, ListQuery};
use crate::core::time::Timestamp;
use crate::store::db::{Arg, Db, Tx};
use crate::store::sql;

const DELETE_PLACEMENT: &str =
    "DELETE FROM bookmarks WHERE user_id = $1 AND object_type = $2 AND object_id = $3 AND folder_id = $4 RETURNING doc";

async fn insert_folder(tx: &mut dyn Tx, f: &BookmarkFolder) -> Result<()> {
    tx.exec(
        "INSERT INTO bookmark_folders (id, user_id, name, created_at, updated_at, doc) VALUES ($1, $2, $3, $4, $5, $6)",
        args![&f.id, &f.user_id, &f.name, f.created_at, f.updated_at, Arg::doc(f)?],
    )
    .await?;
    Ok(())
}

/// False when the placement exists already.
async fn insert_placement(tx: &mut dyn Tx, b: &Bookmark) -> Result<bool> {
    let n = tx
        .exec(
            "INSERT INTO bookmarks (user_id, object_type, object_id, folder_id, activity_id, created_at, updated_at, doc)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            args![
                &b.user_id,
                &b.object_type,
                &b.object_id,
                b.folder_key(),
                &b.activity_id,
                b.created_at,
                b.updated_at,
                Arg::doc(b)?
            ],
        )
        .await?;
    Ok(n > 0)
}

#[async_trait]
impl<D: Db> BookmarkStore for D {
    async fn insert_bookmark_with(
        &self,
        bookmark: &Bookmark,
        new_folder: Option<&BookmarkFolder>,
        extra: &ExtraWrites,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        if let Some(f) = new_folder {
            insert_folder(&mut *tx, f).await?;
        }
        if !insert_placement(&mut *tx, bookmark).await? {
            // Nothing is written: not the folder, not the events.
            return Ok(false);
        }
        super::write_extra(&mut *tx, extra).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn move_bookmark_with(
        &self,
        from_folder: &str,
        b: &Bookmark,
        new_folder: Option<&BookmarkFolder>,
        if_updated_at: Option<Timestamp>,
        extra: &ExtraWrites,
    ) -> Result<Option<Bookmark>> {
        let mut tx = self.write().await?;
        if let Some(at) = if_updated_at {
            let key = vec![b.user_id.clone(), b.object_type.clone(), b.object_id.clone(), from_folder.to_string()];
            if !super::versions_hold(&mut *tx, sql::versions::BOOKMARK, &[(key, at)]).await? {
                return Ok(None);
            }
        }
        let old: Option<Bookmark> =
            tx.doc(DELETE_PLACEMENT, args![&b.user_id, &b.object_type, &b.object_id, from_folder]).await?;
        let Some(old) = old else { return Ok(None) };
        super::write_extra(&mut *tx, extra).await?;
        if let Some(f) = new_folder {
            insert_folder(&mut *tx, f).await?;
        }
        let moved = Bookmark { created_at: old.created_at, ..b.clone() };
        // Moving onto a placement that exists merges into it.
        tx.exec(
            "DELETE FROM bookmarks WHERE user_id = $1 AND object_type = $2 AND object_id = $3 AND folder_id = $4",
            args![&moved.user_id, &moved.object_type, &moved.object_id, moved.folder_key()],
        )
        .await?;
        insert_placement(&mut *tx, &moved).await?;
        tx.commit().await?;
        Ok(Some(moved))
    }

    async fn delete_bookmark_with(
        &self,
        user_id: &str,
        object_type: &str,
        object_id: &str,
        folder: &str,
        extra: &ExtraWrites,
    ) -> Result<Option<Bookmark>> {
        let mut tx = self.write().await?;
        let deleted: Option<Bookmark> =
            tx.doc(DELETE_PLACEMENT, args![user_id, object_type, object_id, folder]).await?;
        let Some(deleted) = deleted else { return Ok(None) };
        super::write_extra_but_each(&mut *tx, extra).await?;
        super::record_each(&mut *tx, extra, Item::Bookmark(&deleted)).await?;
        tx.commit().await?;
        Ok(Some(deleted))
    }

    async fn query_bookmarks(&self, q: &ListQuery) -> Result<Vec<Bookmark>> {
        super::list(self, &sql::BOOKMARKS, q).await
    }

    async fn bookmark_summaries(
        &self,
        object_type: &str,
        object_ids: &[String],
        viewer: Option<&str>,
    ) -> Result<(HashMap<String, i64>, Vec<Bookmark>)> {
        if object_ids.is_empty() {
            return Ok(Default::default());
        }
        // Both reads on one connection: taking a second one from the pool
        // while holding this one could starve the pool under load.
        let mut read = self.read().await?;
        let counts = read
            .rows(
                "SELECT object_id, COUNT(*) FROM bookmarks WHERE object_type = $1 AND object_id = ANY($2)
                 GROUP BY object_id",
                args![object_type, object_ids],
            )
            .await?
            .iter()
            .map(|r| Ok((r.text(0)?, r.int(1)?)))
            .collect::<Result<_>>()?;
        let own = match viewer {
            Some(viewer) => {
                read.docs(
                    "SELECT doc FROM bookmarks WHERE object_type = $1 AND object_id = ANY($2) AND user_id = $3
                     ORDER BY created_at DESC",
                    args![object_type, object_ids, viewer],
                )
                .await?
            }
            None => Vec::new(),
        };
        Ok((counts, own))
    }

    async fn get_bookmark_folders(&self, ids: &[String]) -> Result<Vec<BookmarkFolder>> {
        super::docs_by_key(self, "bookmark_folders", "id", ids).await
    }

    async fn put_bookmark_folder_with(
        &self,
        f: &BookmarkFolder,
        if_updated_at: Option<Timestamp>,
        extra: &ExtraWrites,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        if let Some(at) = if_updated_at {
            if !super::versions_hold(&mut *tx, sql::versions::BOOKMARK_FOLDER, &[(vec![f.id.clone()], at)]).await? {
                return Ok(false);
            }
        }
        super::write_extra(&mut *tx, extra).await?;
        tx.exec(
            "UPDATE bookmark_folders SET name = $2, updated_at = $3, doc = $4 WHERE id = $1",
            args![&f.id, &f.name, f.updated_at, Arg::doc(f)?],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn delete_bookmark_folder_with(&self, id: &str, extra: &ExtraWrites) -> Result<bool> {
        let mut tx = self.write().await?;
        tx.exec("DELETE FROM bookmarks WHERE folder_id = $1", args![id]).await?;
        let folder: Option<BookmarkFolder> =
            tx.doc("DELETE FROM bookmark_folders WHERE id = $1 RETURNING doc", args![id]).await?;
        let Some(folder) = folder else { return Ok(false) };
        super::write_extra_but_each(&mut *tx, extra).await?;
        super::record_each(&mut *tx, extra, Item::Folder(&folder)).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn query_bookmark_folders(&self, q: &ListQuery) -> Result<Vec<BookmarkFolder>> {
        super::list(self, &sql::BOOKMARK_FOLDERS, q).await
    }
}
