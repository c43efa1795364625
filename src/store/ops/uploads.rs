use async_trait::async_trait;

use crate::args;
use crate::core::error::{Error, Result};
use crate::core::files::{Upload, UploadKind};
use crate::core::storage::UploadStore;
use crate::core::time::Timestamp;
use crate::store::db::Db;
use crate::store::sql;

#[async_trait]
impl<D: Db> UploadStore for D {
    async fn insert_upload(&self, upload: &Upload) -> Result<()> {
        let mut tx = self.write().await?;
        tx.exec(
            "INSERT INTO uploads (key, user_id, kind, content_type, size, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            args![
                &upload.key,
                &upload.user_id,
                upload.kind.as_str(),
                &upload.content_type,
                upload.size,
                upload.created_at
            ],
        )
        .await?;
        tx.commit().await
    }

    async fn get_upload(&self, key: &str) -> Result<Option<Upload>> {
        let row = self
            .read()
            .await?
            .row("SELECT key, user_id, kind, content_type, size, created_at FROM uploads WHERE key = $1", args![key])
            .await?;
        row.map(|r| {
            let kind = r.str(2)?;
            Ok(Upload {
                key: r.text(0)?,
                user_id: r.text(1)?,
                kind: UploadKind::parse(kind).ok_or_else(|| Error::internal(format!("unknown upload kind {kind}")))?,
                content_type: r.text(3)?,
                size: r.int(4)?,
                created_at: Timestamp(r.int(5)?),
            })
        })
        .transpose()
    }

    async fn delete_upload(&self, key: &str) -> Result<bool> {
        let mut tx = self.write().await?;
        let deleted = tx.exec("DELETE FROM uploads WHERE key = $1", args![key]).await?;
        tx.commit().await?;
        Ok(deleted > 0)
    }

    async fn take_uploads(&self, user_id: &str, keys: &[String]) -> Result<Vec<String>> {
        let mut tx = self.write().await?;
        let taken = tx
            .texts("DELETE FROM uploads WHERE key = ANY($1) AND user_id = $2 RETURNING key", args![keys, user_id])
            .await?;
        let now = Timestamp::now();
        for key in &taken {
            tx.exec(
                "INSERT INTO upload_orphans (key, user_id, orphaned_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
                args![key, user_id, now],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(taken)
    }

    async fn upload_orphans(&self, user_id: &str, after: &str, limit: usize) -> Result<Vec<String>> {
        let sql = format!(
            "SELECT key FROM upload_orphans WHERE user_id = $1 AND key > $2 ORDER BY key LIMIT {}",
            sql::limit(limit)
        );
        self.read().await?.texts(&sql, args![user_id, after]).await
    }

    async fn forget_upload_orphans(&self, keys: &[String]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut tx = self.write().await?;
        tx.exec("DELETE FROM upload_orphans WHERE key = ANY($1)", args![keys]).await?;
        tx.commit().await
    }
}
