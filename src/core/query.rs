//! The body every query endpoint takes, and how it becomes a store query.

use super::cursor;
use super::error;
use super::filter::{self, SortParam};
use super::storage;

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
