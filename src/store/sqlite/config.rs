//! SQLite: membership levels and feed visibility grants (app-wide config).

use std::collections::BTreeMap;

use rusqlite::params;

use super::{db_err, from_doc, to_doc, SqliteStore};
use crate::core::error::Result;
use crate::core::feed_visibilities::StoredGrants;
use crate::core::membership_levels::MembershipLevel;
use crate::core::storage::ListQuery;
use crate::core::time::Timestamp;
use crate::store::sql;

impl SqliteStore {
    pub(super) async fn insert_level(&self, level: &MembershipLevel) -> Result<bool> {
        let (l, doc) = (level.clone(), to_doc(level)?);
        self.write(move |tx| {
            let n = tx
                .execute(
                    "INSERT INTO membership_levels (id, name, priority, created_at, updated_at, doc)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
                    params![l.id, l.name, l.priority, l.created_at.0, l.updated_at.0, doc],
                )
                .map_err(db_err)?;
            Ok(n > 0)
        })
        .await
    }

    pub(super) async fn get_levels(&self, ids: &[String]) -> Result<Vec<MembershipLevel>> {
        self.docs_by_key("membership_levels", "id", ids).await
    }

    pub(super) async fn replace_level(&self, level: &MembershipLevel, if_updated_at: Timestamp) -> Result<bool> {
        let (l, doc) = (level.clone(), to_doc(level)?);
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE membership_levels SET name = ?2, priority = ?3, updated_at = ?4, doc = ?5
                     WHERE id = ?1 AND updated_at = ?6",
                    params![l.id, l.name, l.priority, l.updated_at.0, doc, if_updated_at.0],
                )
                .map_err(db_err)?;
            Ok(n > 0)
        })
        .await
    }

    pub(super) async fn delete_level(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.write(move |tx| {
            Ok(tx.execute("DELETE FROM membership_levels WHERE id = ?1", params![id]).map_err(db_err)? > 0)
        })
        .await
    }

    pub(super) async fn query_levels(&self, q: &ListQuery) -> Result<Vec<MembershipLevel>> {
        self.list(&sql::MEMBERSHIP_LEVELS, q).await
    }

    pub(super) async fn visibility_grants(&self) -> Result<StoredGrants> {
        self.read(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT visibility, grants FROM feed_visibility_grants").map_err(db_err)?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(db_err)?;
            let mut out = StoredGrants::new();
            for row in rows {
                let (visibility, grants) = row.map_err(db_err)?;
                out.insert(visibility, from_doc(&grants)?);
            }
            Ok(out)
        })
        .await
    }

    pub(super) async fn merge_visibility_grants(
        &self,
        visibility: &str,
        grants: &BTreeMap<String, Vec<String>>,
    ) -> Result<()> {
        let (visibility, grants) = (visibility.to_string(), to_doc(grants)?);
        self.write(move |tx| {
            // json_patch replaces each named role's list and keeps the others.
            tx.execute(
                "INSERT INTO feed_visibility_grants (visibility, grants) VALUES (?1, json(?2))
                 ON CONFLICT (visibility) DO UPDATE
                 SET grants = json_patch(feed_visibility_grants.grants, excluded.grants)",
                params![visibility, grants],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }
}
