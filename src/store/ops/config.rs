use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::args;
use crate::core::error::{Error, Result};
use crate::core::feed_visibilities::StoredGrants;
use crate::core::membership_levels::MembershipLevel;
use crate::core::model::{FeedGroup, FeedView};
use crate::core::storage::{ConfigStore, ConfigWrites, ExtraWrites, FeedViewInsert, ListQuery};
use crate::core::time::Timestamp;
use crate::store::db::{Arg, Db};
use crate::store::{dialect, sql};

#[async_trait]
impl<D: Db> ConfigStore for D {
    fn config_writes(&self) -> Option<tokio::sync::watch::Receiver<ConfigWrites>> {
        Db::config_writes(self)
    }

    async fn setting_or_insert(&self, key: &str, value: &serde_json::Value) -> Result<serde_json::Value> {
        let mut tx = self.write().await?;
        tx.exec(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            args![key, value.to_string()],
        )
        .await?;
        let stored = tx
            .row("SELECT value FROM settings WHERE key = $1", args![key])
            .await?
            .ok_or_else(|| Error::internal(format!("setting {key} vanished")))?
            .doc(0)?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn setting(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let row = self.read().await?.row("SELECT value FROM settings WHERE key = $1", args![key]).await?;
        row.map(|r| r.doc(0)).transpose()
    }

    async fn replace_setting(
        &self,
        key: &str,
        value: &serde_json::Value,
        current: Option<&serde_json::Value>,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        // The row lock holds the compared value until the write commits.
        let select = dialect::for_update(tx.dialect(), "SELECT value FROM settings WHERE key = $1");
        let stored: Option<serde_json::Value> = tx.row(&select, args![key]).await?.map(|r| r.doc(0)).transpose()?;
        let written = if stored.as_ref() != current {
            0
        } else if current.is_some() {
            tx.exec("UPDATE settings SET value = $2 WHERE key = $1", args![key, value.to_string()]).await?
        } else {
            // A concurrent first write may insert first: then nothing is written.
            tx.exec(
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                args![key, value.to_string()],
            )
            .await?
        };
        dialect::announce_config(&mut *tx).await?;
        tx.commit().await?;
        Ok(written > 0)
    }

    async fn get_feed_group(&self, id: &str) -> Result<Option<FeedGroup>> {
        self.read().await?.doc("SELECT doc FROM feed_groups WHERE id = $1", args![id]).await
    }

    async fn list_feed_groups(&self) -> Result<Vec<FeedGroup>> {
        self.read().await?.docs("SELECT doc FROM feed_groups ORDER BY id", args![]).await
    }

    async fn insert_feed_group_with(&self, group: &FeedGroup, extra: &ExtraWrites) -> Result<bool> {
        let mut tx = self.write().await?;
        let n = tx
            .exec(
                "INSERT INTO feed_groups (id, doc) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                args![&group.id, Arg::doc(group)?],
            )
            .await?;
        if n == 0 {
            return Ok(false);
        }
        super::write_extra(&mut *tx, extra).await?;
        dialect::announce_config(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn put_feed_group_with(&self, group: &FeedGroup, extra: &ExtraWrites) -> Result<()> {
        let mut tx = self.write().await?;
        super::write_extra(&mut *tx, extra).await?;
        tx.exec(
            "INSERT INTO feed_groups (id, doc) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
            args![&group.id, Arg::doc(group)?],
        )
        .await?;
        dialect::announce_config(&mut *tx).await?;
        tx.commit().await
    }

    async fn purge_feed_group_with(&self, id: &str, extra: &ExtraWrites) -> Result<bool> {
        let mut tx = self.write().await?;
        let n = tx.exec("DELETE FROM feed_groups WHERE id = $1", args![id]).await?;
        if n == 0 {
            return Ok(false);
        }
        super::write_extra(&mut *tx, extra).await?;
        dialect::announce_config(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn get_feed_view(&self, id: &str) -> Result<Option<FeedView>> {
        self.read().await?.doc("SELECT doc FROM feed_views WHERE id = $1", args![id]).await
    }

    async fn list_feed_views(&self) -> Result<Vec<FeedView>> {
        self.read().await?.docs("SELECT doc FROM feed_views ORDER BY id", args![]).await
    }

    async fn insert_feed_view(&self, view: &FeedView, max_views: usize) -> Result<FeedViewInsert> {
        let mut tx = self.write().await?;
        let exists = tx.row("SELECT 1 FROM feed_views WHERE id = $1", args![&view.id]).await?.is_some();
        if exists {
            return Ok(FeedViewInsert::Exists);
        }
        let count = tx.row("SELECT COUNT(*) FROM feed_views", args![]).await?.map(|r| r.int(0)).transpose()?;
        if count.unwrap_or(0) >= max_views as i64 {
            return Ok(FeedViewInsert::Full);
        }
        let n = tx
            .exec(
                "INSERT INTO feed_views (id, doc) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                args![&view.id, Arg::doc(view)?],
            )
            .await?;
        if n == 0 {
            // A concurrent create of the same id won.
            return Ok(FeedViewInsert::Exists);
        }
        dialect::announce_config(&mut *tx).await?;
        tx.commit().await?;
        Ok(FeedViewInsert::Inserted)
    }

    async fn replace_feed_view(&self, view: &FeedView) -> Result<bool> {
        let mut tx = self.write().await?;
        let n = tx.exec("UPDATE feed_views SET doc = $2 WHERE id = $1", args![&view.id, Arg::doc(view)?]).await?;
        if n == 0 {
            return Ok(false);
        }
        dialect::announce_config(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn delete_feed_view(&self, id: &str) -> Result<bool> {
        let mut tx = self.write().await?;
        let n = tx.exec("DELETE FROM feed_views WHERE id = $1", args![id]).await?;
        if n == 0 {
            return Ok(false);
        }
        dialect::announce_config(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn insert_membership_level(&self, l: &MembershipLevel) -> Result<bool> {
        let mut tx = self.write().await?;
        let n = tx
            .exec(
                "INSERT INTO membership_levels (id, name, priority, created_at, updated_at, doc)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
                args![&l.id, &l.name, l.priority, l.created_at, l.updated_at, Arg::doc(l)?],
            )
            .await?;
        dialect::announce_config(&mut *tx).await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn get_membership_levels(&self, ids: &[String]) -> Result<Vec<MembershipLevel>> {
        super::docs_by_key(self, "membership_levels", "id", ids).await
    }

    async fn replace_membership_level(&self, l: &MembershipLevel, if_updated_at: Timestamp) -> Result<bool> {
        let mut tx = self.write().await?;
        let n = tx
            .exec(
                "UPDATE membership_levels SET name = $2, priority = $3, updated_at = $4, doc = $5
                 WHERE id = $1 AND updated_at = $6",
                args![&l.id, &l.name, l.priority, l.updated_at, Arg::doc(l)?, if_updated_at],
            )
            .await?;
        dialect::announce_config(&mut *tx).await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn delete_membership_level(&self, id: &str) -> Result<bool> {
        let mut tx = self.write().await?;
        let n = tx.exec("DELETE FROM membership_levels WHERE id = $1", args![id]).await?;
        dialect::announce_config(&mut *tx).await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn query_membership_levels(&self, q: &ListQuery) -> Result<Vec<MembershipLevel>> {
        super::list(self, &sql::MEMBERSHIP_LEVELS, q).await
    }

    async fn feed_visibility_grants(&self) -> Result<StoredGrants> {
        let rows = self.read().await?.rows("SELECT visibility, grants FROM feed_visibility_grants", args![]).await?;
        rows.iter().map(|r| Ok((r.text(0)?, r.doc(1)?))).collect()
    }

    async fn merge_feed_visibility_grants(
        &self,
        visibility: &str,
        grants: &BTreeMap<String, Vec<String>>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        // Each named role's list is replaced, the other roles' kept.
        let merged = dialect::doc_merge(tx.dialect(), "feed_visibility_grants.grants", "excluded.grants");
        tx.exec(
            &format!(
                "INSERT INTO feed_visibility_grants (visibility, grants) VALUES ($1, $2)
                 ON CONFLICT (visibility) DO UPDATE SET grants = {merged}"
            ),
            args![visibility, Arg::doc(grants)?],
        )
        .await?;
        dialect::announce_config(&mut *tx).await?;
        tx.commit().await
    }
}
