//! PostgreSQL: membership levels and feed visibility grants (app-wide config).

use std::collections::BTreeMap;

use super::{db_err, from_doc, to_doc, PostgresStore};
use crate::core::error::Result;
use crate::core::feed_visibilities::StoredGrants;
use crate::core::membership_levels::MembershipLevel;
use crate::core::storage::ListQuery;
use crate::core::time::Timestamp;
use crate::store::sql;

impl PostgresStore {
    pub(super) async fn insert_level(&self, l: &MembershipLevel) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                "INSERT INTO membership_levels (id, name, priority, created_at, updated_at, doc)
                 VALUES ($1, $2, $3, $4, $5, $6::text::jsonb) ON CONFLICT (id) DO NOTHING",
                &[&l.id, &l.name, &l.priority, &l.created_at.0, &l.updated_at.0, &to_doc(l)?],
            )
            .await
            .map_err(db_err)?;
        Ok(n > 0)
    }

    pub(super) async fn get_levels(&self, ids: &[String]) -> Result<Vec<MembershipLevel>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.query_docs("SELECT doc::text FROM membership_levels WHERE id = ANY($1)", &[&ids]).await
    }

    pub(super) async fn replace_level(&self, l: &MembershipLevel, if_updated_at: Timestamp) -> Result<bool> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE membership_levels SET name = $2, priority = $3, updated_at = $4, doc = $5::text::jsonb
                 WHERE id = $1 AND updated_at = $6",
                &[&l.id, &l.name, &l.priority, &l.updated_at.0, &to_doc(l)?, &if_updated_at.0],
            )
            .await
            .map_err(db_err)?;
        Ok(n > 0)
    }

    pub(super) async fn delete_level(&self, id: &str) -> Result<bool> {
        let client = self.client().await?;
        let n = client.execute("DELETE FROM membership_levels WHERE id = $1", &[&id]).await.map_err(db_err)?;
        Ok(n > 0)
    }

    pub(super) async fn query_levels(&self, q: &ListQuery) -> Result<Vec<MembershipLevel>> {
        self.list(&sql::MEMBERSHIP_LEVELS, q).await
    }

    pub(super) async fn visibility_grants(&self) -> Result<StoredGrants> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT visibility, grants::text FROM feed_visibility_grants")
            .await
            .map_err(db_err)?;
        let mut out = StoredGrants::new();
        for row in client.query(&stmt, &[]).await.map_err(db_err)? {
            out.insert(row.get::<_, String>(0), from_doc(row.get::<_, &str>(1))?);
        }
        Ok(out)
    }

    pub(super) async fn merge_visibility_grants(
        &self,
        visibility: &str,
        grants: &BTreeMap<String, Vec<String>>,
    ) -> Result<()> {
        let client = self.client().await?;
        // `||` replaces each named role's list and keeps the others.
        client
            .execute(
                "INSERT INTO feed_visibility_grants AS g (visibility, grants) VALUES ($1, $2::text::jsonb)
                 ON CONFLICT (visibility) DO UPDATE SET grants = g.grants || excluded.grants",
                &[&visibility, &to_doc(grants)?],
            )
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
