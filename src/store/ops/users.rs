use async_trait::async_trait;

use crate::args;
use crate::core::error::Result;
use crate::core::model::User;
use crate::core::storage::{ExtraWrites, ListQuery, UserStore};
use crate::core::time::Timestamp;
use crate::store::db::{Arg, Db, Tx};
use crate::store::sql;

const UPSERT_USER: &str = "INSERT INTO users (id, name, role, created_at, updated_at, deleted_at, doc)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role,
        updated_at = excluded.updated_at, deleted_at = excluded.deleted_at, doc = excluded.doc";

/// A user a request implies (`ExtraWrites::users`): a soft-deleted user is
/// recreated, a live one is left as it is.
const INSERT_IMPLIED_USER: &str = "INSERT INTO users (id, name, role, created_at, updated_at, deleted_at, doc)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role,
        created_at = excluded.created_at, updated_at = excluded.updated_at, deleted_at = excluded.deleted_at,
        doc = excluded.doc
     WHERE users.deleted_at IS NOT NULL";

async fn write_users(tx: &mut dyn Tx, statement: &str, users: &[User]) -> Result<()> {
    let mut users: Vec<&User> = users.iter().collect();
    users.sort_by(|a, b| a.id.cmp(&b.id));
    for u in users {
        let args = args![&u.id, &u.name, &u.role, u.created_at, u.updated_at, u.deleted_at, Arg::doc(u)?];
        tx.exec(statement, args).await?;
    }
    Ok(())
}

pub(crate) async fn upsert_users(tx: &mut dyn Tx, users: &[User]) -> Result<()> {
    write_users(tx, UPSERT_USER, users).await
}

pub(crate) async fn insert_implied_users(tx: &mut dyn Tx, users: &[User]) -> Result<()> {
    write_users(tx, INSERT_IMPLIED_USER, users).await
}

#[async_trait]
impl<D: Db> UserStore for D {
    async fn upsert_users_with(&self, users: &[User], extra: &ExtraWrites) -> Result<()> {
        let mut tx = self.write().await?;
        super::write_extra(&mut *tx, extra).await?;
        upsert_users(&mut *tx, users).await?;
        tx.commit().await
    }

    async fn update_users_with(
        &self,
        users: &[User],
        if_updated_at: &[Timestamp],
        extra: &ExtraWrites,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let expected: Vec<_> = users.iter().zip(if_updated_at).map(|(u, at)| (vec![u.id.clone()], *at)).collect();
        if !super::versions_hold(&mut *tx, sql::versions::USER, &expected).await? {
            return Ok(false);
        }
        super::write_extra(&mut *tx, extra).await?;
        upsert_users(&mut *tx, users).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn get_users(&self, ids: &[String]) -> Result<Vec<User>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read().await?.docs("SELECT doc FROM users WHERE id = ANY($1)", args![ids]).await
    }

    async fn query_users(&self, q: &ListQuery) -> Result<Vec<User>> {
        super::list(self, &sql::USERS, q).await
    }

    async fn purge_users(&self, ids: &[String]) -> Result<()> {
        let mut tx = self.write().await?;
        tx.exec("DELETE FROM users WHERE id = ANY($1)", args![ids]).await?;
        tx.exec("DELETE FROM story_watches WHERE user_id = ANY($1)", args![ids]).await?;
        // A hard-deleted user's push tokens and preferences go with it.
        tx.exec("DELETE FROM devices WHERE user_id = ANY($1)", args![ids]).await?;
        tx.exec("DELETE FROM push_preferences WHERE user_id = ANY($1)", args![ids]).await?;
        tx.commit().await
    }
}
