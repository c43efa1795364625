//! The context every core operation runs in.

use std::sync::Arc;

use tokio::sync::Notify;

use super::config_cache::ConfigCache;
use super::cursor;
use super::files::Uploads;
use super::storage::Store;
use super::translator::Translator;
use super::usage_counter::RequestCounter;
use super::user_data_options::UserDataOptions;

/// Everything a core operation needs; built once in `main` and shared.
#[derive(Clone)]
pub struct Ctx {
    pub store: Arc<dyn Store>,
    /// Wakes the task runner when work is queued.
    pub task_signal: Arc<Notify>,
    /// Signs pagination cursors.
    pub cursor_key: cursor::CursorKey,
    /// Configuration read by every request, kept in process. One per store
    /// in a process: configuration writes go through the `Ctx` (and its
    /// clones) whose cache they invalidate.
    pub config: Arc<ConfigCache>,
    /// API requests served and not yet written to the usage counters.
    pub api_requests: Arc<RequestCounter>,
    /// How GDPR exports and deletions run.
    pub user_data: UserDataOptions,
    /// Where uploaded files go; `None` refuses uploads (unit-test contexts).
    pub uploads: Option<Uploads>,
    /// The machine translation provider, if one is configured.
    pub translator: Option<Arc<dyn Translator>>,
}

impl Ctx {
    /// A context whose cursors are signed with a key of this process only;
    /// the server uses `with_cursor_key` so cursors outlive it.
    pub fn new(store: Arc<dyn Store>) -> Self {
        let config = Arc::new(ConfigCache::new(store.config_writes()));
        Ctx {
            store,
            task_signal: Arc::new(Notify::new()),
            cursor_key: cursor::CursorKey::random(),
            config,
            api_requests: Arc::default(),
            user_data: UserDataOptions::default(),
            uploads: None,
            translator: None,
        }
    }

    pub fn with_user_data(self, user_data: UserDataOptions) -> Self {
        Ctx { user_data, ..self }
    }

    pub fn with_uploads(self, uploads: Uploads) -> Self {
        Ctx { uploads: Some(uploads), ..self }
    }

    pub fn with_translator(self, translator: Option<Arc<dyn Translator>>) -> Self {
        Ctx { translator, ..self }
    }

    pub fn with_cursor_key(self, cursor_key: cursor::CursorKey) -> Self {
        Ctx { cursor_key, ..self }
    }

    /// The cursor scope of `operation` (see `cursor`).
    pub fn cursor_scope(&self, operation: &'static str) -> cursor::Scope {
        self.cursor_key.scope(operation)
    }
}
