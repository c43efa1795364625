use async_trait::async_trait;

use crate::args;
use crate::core::error::Result;
use crate::core::push::{Device, PushPreferences};
use crate::core::storage::PushStore;
use crate::store::db::{Arg, Db};
use crate::store::dialect;

#[async_trait]
impl<D: Db> PushStore for D {
    async fn upsert_device(&self, device: &Device, max: usize) -> Result<bool> {
        let mut tx = self.write().await?;
        // A push token is one install's: whichever user registers it last
        // gets its pushes. Locks in user order so two moves cannot deadlock.
        let previous = tx.texts("SELECT user_id FROM devices WHERE id = $1", args![&device.id]).await?;
        let mut users: Vec<&str> = previous.iter().map(String::as_str).chain([device.user_id.as_str()]).collect();
        users.sort();
        users.dedup();
        for user in users {
            dialect::lock_push_user(&mut *tx, user).await?;
        }
        let others = tx
            .int("SELECT COUNT(*) FROM devices WHERE user_id = $1 AND id <> $2", args![&device.user_id, &device.id])
            .await?;
        if others >= max as i64 {
            return Ok(false);
        }
        tx.exec("DELETE FROM devices WHERE id = $1 AND user_id <> $2", args![&device.id, &device.user_id]).await?;
        tx.exec(
            "INSERT INTO devices (user_id, id, created_at, doc) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, id) DO UPDATE SET doc = excluded.doc",
            args![&device.user_id, &device.id, device.created_at, Arg::doc(device)?],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn devices_of(&self, user_ids: &[String]) -> Result<Vec<Device>> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read()
            .await?
            .docs("SELECT doc FROM devices WHERE user_id = ANY($1) ORDER BY user_id, created_at, id", args![user_ids])
            .await
    }

    async fn delete_device(&self, user_id: &str, id: &str) -> Result<bool> {
        let mut tx = self.write().await?;
        let n = tx.exec("DELETE FROM devices WHERE user_id = $1 AND id = $2", args![user_id, id]).await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn push_preferences(&self, scopes: &[(String, String)]) -> Result<Vec<PushPreferences>> {
        let mut users: Vec<String> = scopes.iter().map(|(u, _)| u.clone()).collect();
        users.sort();
        users.dedup();
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let all: Vec<PushPreferences> =
            self.read().await?.docs("SELECT doc FROM push_preferences WHERE user_id = ANY($1)", args![&users]).await?;
        Ok(all.into_iter().filter(|p| scopes.iter().any(|(u, c)| *u == p.user_id && *c == p.channel)).collect())
    }

    async fn save_push_preferences(&self, prefs: &[PushPreferences], max_channels: usize) -> Result<bool> {
        let mut tx = self.write().await?;
        let mut users: Vec<&str> = prefs.iter().map(|p| p.user_id.as_str()).collect();
        users.sort();
        users.dedup();
        for user in &users {
            dialect::lock_push_user(&mut *tx, user).await?;
        }
        for p in prefs {
            tx.exec(
                "INSERT INTO push_preferences (user_id, channel, doc) VALUES ($1, $2, $3)
                 ON CONFLICT (user_id, channel) DO UPDATE SET doc = excluded.doc",
                args![&p.user_id, &p.channel, Arg::doc(p)?],
            )
            .await?;
        }
        for user in users {
            let channels = tx
                .int("SELECT COUNT(*) FROM push_preferences WHERE user_id = $1 AND channel <> ''", args![user])
                .await?;
            if channels > max_channels as i64 {
                return Ok(false);
            }
        }
        tx.commit().await?;
        Ok(true)
    }
}
