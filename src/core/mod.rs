//! The domain core: rules of feeds, activities, follows, users and tasks.
//! It knows nothing of HTTP and nothing of SQL — it talks to `dyn Store`.

use std::sync::Arc;

use tokio::sync::Notify;

use error::{Error, Result};
use storage::{Reader, Store};

pub mod access;
pub mod activities;
pub mod bookmarks;
pub mod collections;
pub mod comments;
pub mod cursor;
pub mod enrichment;
pub mod error;
pub mod feed_groups;
pub mod feed_management;
pub mod feed_visibilities;
pub mod feedback;
pub mod feeds;
pub mod filter;
pub mod follows;
pub mod limits;
pub mod members;
pub mod membership_levels;
pub mod model;
pub mod notifications;
pub mod patch;
pub mod pins;
pub mod polls;
pub mod reactions;
pub mod storage;
pub mod suggestions;
pub mod tasks;
pub mod time;
pub mod users;
pub mod versions;

/// Everything a core operation needs; built once in `main` and shared.
#[derive(Clone)]
pub struct Ctx {
    pub store: Arc<dyn Store>,
    /// Wakes the task runner when work is queued.
    pub task_signal: Arc<Notify>,
    /// Signs pagination cursors.
    pub cursor_key: cursor::CursorKey,
}

impl Ctx {
    /// A context whose cursors are signed with a key of this process only;
    /// the server uses `with_cursor_key` so cursors outlive it.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Ctx { store, task_signal: Arc::new(Notify::new()), cursor_key: cursor::CursorKey::random() }
    }

    pub fn with_cursor_key(self, cursor_key: cursor::CursorKey) -> Self {
        Ctx { cursor_key, ..self }
    }

    /// The cursor scope of `operation` (see `cursor`).
    pub fn cursor_scope(&self, operation: &'static str) -> cursor::Scope {
        self.cursor_key.scope(operation)
    }
}

/// Who is calling: a server-side token may act for anyone; a user token acts
/// as that user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Server,
    User(String),
}

impl Actor {
    pub fn is_server(&self) -> bool {
        matches!(self, Actor::Server)
    }

    /// The user a write is attributed to: the token's user, or server-side the
    /// `user_id` the body names (required).
    pub fn acting_user(&self, body_user_id: Option<&str>) -> Result<String> {
        match (self, body_user_id.filter(|s| !s.is_empty())) {
            (Actor::User(me), Some(other)) if other != me => Err(Self::not_for(other)),
            (Actor::User(me), _) => Ok(me.clone()),
            (Actor::Server, Some(id)) => Ok(id.to_string()),
            (Actor::Server, None) => {
                Err(Error::field("user_id", "user_id is a required field for server-side requests"))
            }
        }
    }

    /// Refuses a user token that names another user in a read's `user_id`
    /// (403 naming it); server-side any user may be named.
    pub fn may_name(&self, named: Option<&str>) -> Result<()> {
        self.scoped_user(named).map(|_| ())
    }

    /// Whose `own_*` fields a response shows: the token's user, or
    /// server-side the user the request names.
    pub fn viewer<'a>(&'a self, named: Option<&'a str>) -> Option<&'a str> {
        match self {
            Actor::User(me) => Some(me),
            Actor::Server => named.filter(|s| !s.is_empty()),
        }
    }

    /// The perspective of a read: own state of the viewer, permission rules
    /// for user tokens only.
    pub fn reader(&self, named: Option<&str>) -> Reader {
        Reader { viewer: self.viewer(named).map(str::to_string), restricted: !self.is_server(), grants: None }
    }

    /// The user a request is scoped to (whose records a list shows, who owns
    /// what it creates): a user token's own — naming anyone else is refused —
    /// or server-side the user the request names, if any.
    pub fn scoped_user(&self, named: Option<&str>) -> Result<Option<String>> {
        match (self, named.filter(|s| !s.is_empty())) {
            (Actor::User(me), Some(other)) if other != me => Err(Self::not_for(other)),
            (Actor::User(me), _) => Ok(Some(me.clone())),
            (Actor::Server, named) => Ok(named.map(str::to_string)),
        }
    }

    /// Who changes an existing object (update, delete, restore): a user
    /// token's own user — naming anyone else is refused — or server-side the
    /// user the request names, who must exist, if any. The named user
    /// changes no permission rule: server-side calls may do anything, as on
    /// Stream ("permission checking only happens on client-side calls"). It
    /// is the viewer whose `own_*` fields the response carries.
    pub async fn editor(&self, ctx: &Ctx, named: Option<&str>) -> Result<Option<String>> {
        let editor = self.scoped_user(named)?;
        if let (Actor::Server, Some(id)) = (self, &editor) {
            users::ensure_users(ctx, std::slice::from_ref(id)).await.map_err(|e| match e.code {
                error::Code::InputError => Error::field("user_id", format!("user {id} does not exist")),
                _ => e,
            })?;
        }
        Ok(editor)
    }

    /// A user token naming another user as `user_id`.
    fn not_for(other: &str) -> Error {
        Error::not_allowed_field("user_id", format!("a user token cannot act for user {other}"))
    }

    /// Server-only operations reject user tokens.
    pub fn require_server(&self) -> Result<()> {
        match self {
            Actor::Server => Ok(()),
            Actor::User(_) => Err(Error::not_allowed("this endpoint is server-side only: use a server token")),
        }
    }
}

pub const DEFAULT_LIMIT: usize = 25;
pub const MAX_LIMIT: usize = 100;

/// `0`/absent → the default page size; above 100 is an input error.
pub fn page_limit(limit: Option<i64>) -> Result<usize> {
    match limit {
        None | Some(0) => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT as i64).contains(&n) => Ok(n as usize),
        Some(n) => Err(Error::field("limit", format!("limit must be between 0 and {MAX_LIMIT}, got {n}"))),
    }
}

pub fn one_direction<'a>(
    next: &'a Option<String>,
    prev: &'a Option<String>,
) -> Result<(Option<&'a str>, Option<&'a str>)> {
    let next = next.as_deref().filter(|s| !s.is_empty());
    let prev = prev.as_deref().filter(|s| !s.is_empty());
    if next.is_some() && prev.is_some() {
        return Err(Error::input("pass either next or prev, not both"));
    }
    Ok((next, prev))
}

/// The body every query endpoint takes: a filter, a sort, a page size and
/// cursors.
#[derive(Debug, Clone, serde::Deserialize, Default)]
pub struct QueryRequest {
    #[serde(default)]
    pub filter: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    pub sort: Option<Vec<SortParam>>,
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub prev: Option<String>,
}

/// A list query that may be narrowed to one user's records (`user_id`).
#[derive(Debug, Clone, serde::Deserialize, Default)]
pub struct UserListQuery {
    #[serde(flatten)]
    pub query: QueryRequest,
    #[serde(default)]
    pub user_id: Option<String>,
}

impl QueryRequest {
    /// The store query this request asks for, checked against the
    /// endpoint's filterable and sortable fields, and the offset window its
    /// cursors describe. Cursors are bound to `scope` (the operation and
    /// its path ids) plus this request's filter and sort.
    pub fn list(
        &self,
        scope: cursor::Scope,
        fields: &[filter::FieldSpec],
        sortable: &[&'static str],
        default_sort: (&'static str, bool),
    ) -> error::Result<(storage::ListQuery, cursor::OffsetWindow)> {
        let filter = filter::parse_optional(self.filter.as_ref(), fields)?;
        let sort = filter::parse_sort(self.sort.as_deref(), sortable, default_sort)?;
        let scope = scope.bind(&self.filter.as_ref().filter(|f| !f.is_empty())).bind(&sort);
        let window = cursor::OffsetWindow::from_request(scope, self.limit, &self.next, &self.prev)?;
        let query = storage::ListQuery { filter, sort, limit: window.fetch(), offset: window.offset };
        Ok((query, window))
    }
}

/// `SortParamRequest`: `direction` 1 ascending, -1 descending.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SortParam {
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub direction: Option<i64>,
}

impl SortParam {
    /// Whether the `index`-th sort key is descending: `direction` is 1
    /// (also when absent) or -1, nothing else.
    pub fn descending(&self, index: usize) -> Result<bool> {
        match self.direction.unwrap_or(1) {
            1 => Ok(false),
            -1 => Ok(true),
            other => {
                let field = format!("sort[{index}].direction");
                Err(Error::field(&field, format!("{field} must be 1 or -1, got {other}")))
            }
        }
    }
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
