use std::collections::HashMap;

use async_trait::async_trait;

use crate::args;
use crate::core::error::Result;
use crate::core::events::Item;
use crate::core::model::{Reaction, ReactionGroup, ReactionSummary, LATEST_REACTIONS};
use crate::core::storage::{ExtraWrites, ListQuery, Reactable, ReactionStore};
use crate::core::time::Timestamp;
use crate::store::db::{Arg, Db};
use crate::store::{dialect, sql};

use super::comments::{lock_comment, recount_comment_votes};

#[async_trait]
impl<D: Db> ReactionStore for D {
    async fn put_reaction_with(
        &self,
        on: Reactable,
        reaction: &Reaction,
        exclusive: bool,
        extra: &ExtraWrites,
    ) -> Result<Vec<Reaction>> {
        let (table, key) = (sql::reaction_table(on), sql::reaction_key(on));
        let (object, user, kind) = (reaction.object_id(), &reaction.user_id, &reaction.kind);
        let mut tx = self.write().await?;
        super::write_extra_but_each(&mut *tx, extra).await?;
        dialect::lock_reactor(&mut *tx, object, user).await?;
        if on == Reactable::Comments {
            lock_comment(&mut *tx, object).await?;
        }
        let mut gone: Vec<Reaction> = Vec::new();
        if exclusive {
            let sql = format!("DELETE FROM {table} WHERE {key} = $1 AND user_id = $2 AND type <> $3 RETURNING doc");
            gone.extend(tx.docs::<Reaction>(&sql, args![object, user, kind]).await?);
        }
        let sql = format!("SELECT doc FROM {table} WHERE {key} = $1 AND user_id = $2 AND type = $3");
        gone.extend(tx.doc::<Reaction>(&sql, args![object, user, kind]).await?);
        let doc = dialect::doc_set(self.dialect(), "excluded.doc", "created_at", &format!("{table}.created_at"));
        let upsert = format!(
            "INSERT INTO {table} ({key}, user_id, type, created_at, updated_at, doc) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT ({key}, user_id, type) DO UPDATE SET updated_at = excluded.updated_at, doc = {doc}"
        );
        let args = args![object, user, kind, reaction.created_at, reaction.updated_at, Arg::doc(reaction)?];
        tx.exec(&upsert, args).await?;
        if on == Reactable::Comments {
            recount_comment_votes(&mut *tx, object).await?;
        }
        // Re-adding a type updates it: it keeps its first created_at.
        let mut stored = reaction.clone();
        if let Some(old) = gone.iter().find(|r| &r.kind == kind) {
            stored.created_at = old.created_at;
        }
        super::record_each(&mut *tx, extra, Item::Reaction { reaction: &stored, replaced: !gone.is_empty() }).await?;
        tx.commit().await?;
        Ok(gone)
    }

    async fn delete_reaction_with(
        &self,
        on: Reactable,
        object_id: &str,
        user_id: &str,
        kind: &str,
        extra: &ExtraWrites,
    ) -> Result<Option<Reaction>> {
        let (table, key) = (sql::reaction_table(on), sql::reaction_key(on));
        let mut tx = self.write().await?;
        if on == Reactable::Comments {
            lock_comment(&mut *tx, object_id).await?;
        }
        let sql = format!("DELETE FROM {table} WHERE {key} = $1 AND user_id = $2 AND type = $3 RETURNING doc");
        let Some(gone) = tx.doc::<Reaction>(&sql, args![object_id, user_id, kind]).await? else {
            // Nothing was deleted: nothing is withdrawn or announced.
            return Ok(None);
        };
        if on == Reactable::Comments {
            recount_comment_votes(&mut *tx, object_id).await?;
        }
        super::write_extra_but_each(&mut *tx, extra).await?;
        super::record_each(&mut *tx, extra, Item::Reaction { reaction: &gone, replaced: false }).await?;
        tx.commit().await?;
        Ok(Some(gone))
    }

    async fn reaction_summaries(
        &self,
        on: Reactable,
        object_ids: &[String],
        viewer: Option<&str>,
    ) -> Result<HashMap<String, ReactionSummary>> {
        let (table, key) = (sql::reaction_table(on), sql::reaction_key(on));
        let mut out: HashMap<String, ReactionSummary> = HashMap::new();
        if object_ids.is_empty() {
            return Ok(out);
        }
        let mut db = self.read().await?;
        let groups = format!(
            "SELECT {key}, type, COUNT(*), MIN(created_at), MAX(created_at) FROM {table}
             WHERE {key} = ANY($1) GROUP BY {key}, type"
        );
        for r in db.rows(&groups, args![object_ids]).await? {
            let group = ReactionGroup {
                count: r.int(2)?,
                first_reaction_at: Timestamp(r.int(3)?),
                last_reaction_at: Timestamp(r.int(4)?),
            };
            out.entry(r.text(0)?).or_default().groups.insert(r.text(1)?, group);
        }
        let latest = sql::latest_reactions(self.dialect(), dialect::Keys::List, on, "$2");
        let latest = format!("SELECT r.doc FROM {latest} ORDER BY r.created_at DESC, r.user_id, r.type");
        for r in db.docs::<Reaction>(&latest, args![object_ids, LATEST_REACTIONS]).await? {
            out.entry(r.object_id().to_string()).or_default().latest.push(r);
        }
        if let Some(viewer) = viewer {
            let own =
                format!("SELECT doc FROM {table} WHERE {key} = ANY($1) AND user_id = $2 ORDER BY created_at DESC");
            for r in db.docs::<Reaction>(&own, args![object_ids, viewer]).await? {
                out.entry(r.object_id().to_string()).or_default().own.push(r);
            }
        }
        Ok(out)
    }

    async fn query_reactions(&self, on: Reactable, q: &ListQuery) -> Result<Vec<Reaction>> {
        super::list(self, sql::reaction_list_table(on), q).await
    }
}
