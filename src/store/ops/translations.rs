use async_trait::async_trait;
use serde_json::Value;

use super::insert_events;
use crate::args;
use crate::core::error::{Error, Result};
use crate::core::events::{Event, Item};
use crate::core::model::Translations;
use crate::core::storage::{Translated, TranslationStore};
use crate::store::db::{Arg, Db};
use crate::store::dialect;

#[async_trait]
impl<D: Db> TranslationStore for D {
    async fn save_translations(
        &self,
        on: Translated,
        id: &str,
        of: &str,
        entries: &[(String, String)],
        event: &Event,
    ) -> Result<bool> {
        let table = match on {
            Translated::Activity => "activities",
            Translated::Comment => "comments",
        };
        let mut tx = self.write().await?;
        // Read and written under the row lock (PostgreSQL; SQLite has one
        // writer), so a concurrent translation or edit is not lost.
        let select = dialect::for_update(tx.dialect(), &format!("SELECT doc FROM {table} WHERE id = $1"));
        let Some(mut doc) = tx.doc::<Value>(&select, args![id]).await? else { return Ok(false) };
        let current: Option<Translations> =
            doc.get("i18n").cloned().and_then(|v| serde_json::from_value(v).ok()).filter(|t: &Translations| t.of == of);
        let mut translations = current.unwrap_or_else(|| Translations { of: of.to_string(), ..Default::default() });
        translations.texts.extend(entries.iter().cloned());
        let object =
            doc.as_object_mut().ok_or_else(|| Error::internal(format!("{table} {id}: doc is not an object")))?;
        object.insert("i18n".into(), serde_json::to_value(&translations).map_err(Error::internal)?);
        tx.exec(&format!("UPDATE {table} SET doc = $2 WHERE id = $1"), args![id, Arg::doc(&doc)?]).await?;
        insert_events(&mut *tx, &[event.completed(Item::Translations(&translations))]).await?;
        tx.commit().await?;
        Ok(true)
    }
}
