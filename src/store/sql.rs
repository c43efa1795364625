//! SQL both stores share: the translation of a query filter (`core::filter`)
//! into a WHERE clause, with every value bound as a parameter, for each
//! table a query endpoint reads. The two dialects differ only in JSON
//! access, placeholders, list parameters and booleans, which `Dialect`
//! spells out.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::core::error::{Error, Result};
use crate::core::filter::{self, Condition, Field, Filter, Kind, Op, Operand};
use crate::core::model::Fid;
use crate::core::storage::{
    ActivityOrder, ActivityQuery, FeedPosition, FeedSlice, Grants, ListQuery, Projection, RankFields, Reactable, Reader,
};
use crate::core::time::Timestamp;

pub use super::db::{Arg, Dialect, Row};
use super::dialect;

/// How a filterable or sortable field is read from a row.
#[derive(Debug, Clone, Copy)]
pub enum Col {
    /// A column, alias-qualified.
    Column(&'static str),
    /// A column that is NULL when the field is absent, so `$exists` is an
    /// indexable `IS [NOT] NULL`.
    NullableColumn(&'static str),
    /// Top-level fields of the row's JSON document, by type.
    DocText(&'static str),
    DocInt(&'static str),
    DocNum(&'static str),
    DocBool(&'static str),
    /// A JSON array or object of the document (tags, `custom`, …).
    Doc(&'static str),
    /// Computed per table (activity `feed`, `popularity`, …).
    Special,
}

/// A table as a query endpoint sees it: its fields, the document it
/// returns and the columns that make every order total.
pub struct Table {
    pub from: &'static str,
    pub doc: &'static str,
    /// What a row returns, when more than its document: SQLite, PostgreSQL.
    pub select: Option<(&'static str, &'static str)>,
    /// The unique key a page is found by before rows are assembled.
    /// The unique key columns a page is found by before rows are assembled
    /// (offsets then skip index entries, not documents).
    pub key: Option<&'static [&'static str]>,
    /// Rows outside it never match (for example pins of deleted activities).
    pub scope: Option<&'static str>,
    pub fields: &'static [(&'static str, Col)],
    pub tiebreak: &'static [&'static str],
}

pub const ACTIVITIES: Table = Table {
    from: "activities a",
    doc: "a.doc",
    select: None,
    key: None,
    scope: None,
    fields: &[
        ("id", Col::Column("a.id")),
        ("user_id", Col::Column("a.user_id")),
        ("activity_type", Col::DocText("type")),
        ("created_at", Col::Column("a.created_at")),
        ("expires_at", Col::Column("a.expires_at")),
        ("filter_tags", Col::Doc("filter_tags")),
        ("interest_tags", Col::Doc("interest_tags")),
        ("custom", Col::Doc("custom")),
        ("search_data", Col::Doc("search_data")),
        ("text", Col::DocText("text")),
        ("feed", Col::Special),
        ("hidden", Col::Special),
        ("popularity", Col::Special),
        ("within_bounds", Col::Special),
        ("near", Col::Special),
    ],
    tiebreak: &["a.id"],
};

pub const POLLS: Table = Table {
    from: "polls t",
    doc: "t.doc",
    select: None,
    key: None,
    scope: None,
    fields: &[
        ("id", Col::Column("t.id")),
        ("name", Col::DocText("name")),
        ("created_by_id", Col::DocText("created_by_id")),
        ("voting_visibility", Col::DocText("voting_visibility")),
        ("allow_answers", Col::DocBool("allow_answers")),
        ("allow_user_suggested_options", Col::DocBool("allow_user_suggested_options")),
        ("is_closed", Col::DocBool("is_closed")),
        ("max_votes_allowed", Col::DocNum("max_votes_allowed")),
        ("custom", Col::Doc("custom")),
        ("created_at", Col::Column("t.created_at")),
        ("updated_at", Col::DocInt("updated_at")),
    ],
    tiebreak: &["t.id"],
};

pub const POLL_VOTES: Table = Table {
    from: "poll_votes t",
    doc: "t.doc",
    select: None,
    key: None,
    scope: None,
    fields: &[
        ("id", Col::Column("t.id")),
        ("poll_id", Col::Column("t.poll_id")),
        ("user_id", Col::Column("t.user_id")),
        ("option_id", Col::Column("t.option_id")),
        ("is_answer", Col::Column("t.is_answer")),
        ("created_at", Col::Column("t.created_at")),
        ("updated_at", Col::DocInt("updated_at")),
    ],
    tiebreak: &["t.id"],
};

pub const PINS: Table = Table {
    from: "pins t JOIN activities a ON a.id = t.activity_id",
    doc: "t.doc",
    select: None,
    key: None,
    scope: Some("a.deleted_at IS NULL"),
    fields: &[
        ("activity_id", Col::Column("t.activity_id")),
        ("fid", Col::Column("t.fid")),
        ("user_id", Col::DocText("user_id")),
        ("created_at", Col::Column("t.created_at")),
        ("updated_at", Col::DocInt("updated_at")),
    ],
    tiebreak: &["t.fid", "t.activity_id"],
};

pub const COLLECTIONS: Table = Table {
    from: "collections t",
    doc: "t.doc",
    select: None,
    key: None,
    scope: None,
    fields: &[
        ("id", Col::Column("t.id")),
        ("name", Col::Column("t.name")),
        ("user_id", Col::Column("t.user_id")),
        ("custom", Col::Doc("custom")),
        ("created_at", Col::Column("t.created_at")),
        ("updated_at", Col::Column("t.updated_at")),
    ],
    tiebreak: &["t.name", "t.id"],
};

pub const REACTIONS: Table = Table {
    from: "reactions t",
    doc: "t.doc",
    select: None,
    key: None,
    scope: None,
    fields: &[
        ("activity_id", Col::Column("t.activity_id")),
        ("reaction_type", Col::Column("t.type")),
        ("user_id", Col::Column("t.user_id")),
        ("created_at", Col::Column("t.created_at")),
    ],
    tiebreak: &["t.user_id", "t.type"],
};

pub const COMMENT_REACTIONS: Table = Table {
    from: "comment_reactions t",
    doc: "t.doc",
    select: None,
    key: None,
    scope: None,
    fields: &[
        ("comment_id", Col::Column("t.comment_id")),
        ("reaction_type", Col::Column("t.type")),
        ("user_id", Col::Column("t.user_id")),
        ("created_at", Col::Column("t.created_at")),
    ],
    tiebreak: &["t.user_id", "t.type"],
};

/// The table holding the reactions on `on` (each kind of object has its own).
pub fn reaction_table(on: Reactable) -> &'static str {
    match on {
        Reactable::Activities => "reactions",
        Reactable::Comments => "comment_reactions",
    }
}

/// The column of `reaction_table(on)` keyed by the reacted object's id.
pub fn reaction_key(on: Reactable) -> &'static str {
    match on {
        Reactable::Activities => "activity_id",
        Reactable::Comments => "comment_id",
    }
}

/// A `LIMIT`, written into the statement as a literal. Bound as a
/// parameter, SQLite reads its value while planning and marks the statement
/// to be prepared again whenever that parameter is bound, that is on every
/// run (`sqlite3ExprIsInteger` sets the statement's `expmask`): re-parsing
/// took a fifth of a timeline read's CPU. Limits are integers the server
/// bounds, so each distinct value is one more cached statement, and there
/// are few. (An `OFFSET` does not expire the statement and stays bound.)
pub fn limit(n: usize) -> String {
    n.to_string()
}

/// The newest `limit` reactions on each object of `on` among `keys`, rows
/// `r` with `doc`, `created_at`, `user_id` and `type`, for the reaction
/// summaries of single reads and of a page's enrichment alike.
pub fn latest_reactions(d: Dialect, keys: dialect::Keys<'_>, on: Reactable, limit: &str) -> String {
    dialect::latest_per_key(
        d,
        keys,
        "doc, created_at, user_id, type",
        &format!("{} WHERE TRUE", reaction_table(on)),
        reaction_key(on),
        "created_at DESC, user_id, type",
        limit,
    )
}

/// The newest `limit` live top-level comments of each activity among
/// `keys`, rows `r` with `doc`, `created_at` and `id`.
pub fn newest_comments(d: Dialect, keys: dialect::Keys<'_>, limit: &str) -> String {
    dialect::latest_per_key(
        d,
        keys,
        &format!("{} AS doc, t.created_at, t.id", doc_select(d, &COMMENTS)),
        "comments t WHERE t.object_type = 'activity' AND t.parent_id IS NULL AND t.deleted_at IS NULL",
        "t.object_id",
        "t.created_at DESC, t.id DESC",
        limit,
    )
}

/// The list-query table of the reactions on `on`.
pub fn reaction_list_table(on: Reactable) -> &'static Table {
    match on {
        Reactable::Activities => &REACTIONS,
        Reactable::Comments => &COMMENT_REACTIONS,
    }
}

/// The counters a comment row keeps beside its document, merged into it
/// as `counts` on the way out.
pub const COMMENT_SQLITE: &str = "json_set(t.doc, '$.counts', json_object('reply_count', t.reply_count,
    'upvote_count', t.upvote_count, 'downvote_count', t.downvote_count, 'reaction_count', t.reaction_count,
    'score', t.score, 'confidence_score', t.confidence_score, 'controversy_score', t.controversy_score))";
pub const COMMENT_POSTGRES: &str =
    "(t.doc || jsonb_build_object('counts', jsonb_build_object('reply_count', t.reply_count,
    'upvote_count', t.upvote_count, 'downvote_count', t.downvote_count, 'reaction_count', t.reaction_count,
    'score', t.score, 'confidence_score', t.confidence_score, 'controversy_score', t.controversy_score)))::text";

pub const COMMENTS: Table = Table {
    from: "comments t",
    doc: "t.doc",
    select: Some((COMMENT_SQLITE, COMMENT_POSTGRES)),
    key: Some(&["t.id"]),
    scope: None,
    fields: &[
        ("id", Col::Column("t.id")),
        ("object_type", Col::Column("t.object_type")),
        ("object_id", Col::Column("t.object_id")),
        ("parent_id", Col::NullableColumn("t.parent_id")),
        ("status", Col::Column("t.status")),
        ("user_id", Col::Column("t.user_id")),
        ("comment_text", Col::DocText("text")),
        ("custom", Col::Doc("custom")),
        ("created_at", Col::Column("t.created_at")),
        ("reply_count", Col::Column("t.reply_count")),
        ("upvote_count", Col::Column("t.upvote_count")),
        ("downvote_count", Col::Column("t.downvote_count")),
        ("score", Col::Column("t.score")),
        ("confidence_score", Col::Column("t.confidence_score")),
        ("controversy_score", Col::Column("t.controversy_score")),
    ],
    tiebreak: &["t.id"],
};

/// Bookmarks of live activities (and of comments on them): a soft-deleted
/// activity's bookmarks come back with it on restore.
pub const BOOKMARKS: Table = Table {
    from: "bookmarks t JOIN activities a ON a.id = t.activity_id",
    doc: "t.doc",
    select: None,
    key: None,
    scope: Some("a.deleted_at IS NULL"),
    fields: &[
        ("activity_id", Col::Column("t.activity_id")),
        ("object_id", Col::Column("t.object_id")),
        ("object_type", Col::Column("t.object_type")),
        ("user_id", Col::Column("t.user_id")),
        ("folder_id", Col::Column("t.folder_id")),
        ("created_at", Col::Column("t.created_at")),
        ("updated_at", Col::Column("t.updated_at")),
    ],
    tiebreak: &["t.user_id", "t.object_type", "t.object_id", "t.folder_id"],
};

pub const BOOKMARK_FOLDERS: Table = Table {
    from: "bookmark_folders t",
    doc: "t.doc",
    select: None,
    key: None,
    scope: None,
    fields: &[
        ("folder_name", Col::Column("t.name")),
        ("user_id", Col::Column("t.user_id")),
        ("custom", Col::Doc("custom")),
        ("created_at", Col::Column("t.created_at")),
        ("updated_at", Col::Column("t.updated_at")),
    ],
    tiebreak: &["t.id"],
};

/// Follows: `*_feed` and `*_fid` name the same column; `*_id` is the feed
/// id without its group, `*_created_by_name` the name of the feed's owner.
pub const FOLLOWS: Table = Table {
    from: "follows t",
    doc: "t.doc",
    select: None,
    key: Some(&["t.source", "t.target"]),
    scope: None,
    fields: &[
        ("source_feed", Col::Column("t.source")),
        ("source_fid", Col::Column("t.source")),
        ("target_feed", Col::Column("t.target")),
        ("target_fid", Col::Column("t.target")),
        (
            "source_id",
            Col::Column("(SELECT substr(t.source, length(s.group_id) + 2) FROM feeds s WHERE s.fid = t.source)"),
        ),
        (
            "target_id",
            Col::Column("(SELECT substr(t.target, length(s.group_id) + 2) FROM feeds s WHERE s.fid = t.target)"),
        ),
        ("status", Col::Column("t.status")),
        (
            "source_created_by_name",
            Col::Column("(SELECT u.name FROM feeds s JOIN users u ON u.id = s.created_by WHERE s.fid = t.source)"),
        ),
        (
            "target_created_by_name",
            Col::Column("(SELECT u.name FROM feeds s JOIN users u ON u.id = s.created_by WHERE s.fid = t.target)"),
        ),
        ("created_at", Col::Column("t.created_at")),
        ("updated_at", Col::Column("t.updated_at")),
    ],
    tiebreak: &["t.source", "t.target"],
};

pub const FEED_MEMBERS: Table = Table {
    from: "feed_members t",
    doc: "t.doc",
    select: None,
    key: Some(&["t.fid", "t.user_id"]),
    scope: None,
    fields: &[
        ("fid", Col::Column("t.fid")),
        ("user_id", Col::Column("t.user_id")),
        ("role", Col::Column("t.role")),
        ("status", Col::Column("t.status")),
        ("user_name", Col::Column("(SELECT u.name FROM users u WHERE u.id = t.user_id)")),
        ("created_at", Col::Column("t.created_at")),
        ("updated_at", Col::Column("t.updated_at")),
    ],
    tiebreak: &["t.fid", "t.user_id"],
};

pub const MEMBERSHIP_LEVELS: Table = Table {
    from: "membership_levels t",
    doc: "t.doc",
    select: None,
    key: None,
    scope: None,
    fields: &[
        ("id", Col::Column("t.id")),
        ("name", Col::Column("t.name")),
        ("description", Col::DocText("description")),
        ("priority", Col::Column("t.priority")),
        ("tags", Col::Doc("tags")),
        ("custom", Col::Doc("custom")),
        ("created_at", Col::Column("t.created_at")),
        ("updated_at", Col::Column("t.updated_at")),
    ],
    tiebreak: &["t.id"],
};

/// QueryUsers. `deleted_at` and `deactivated_at` are not client filters:
/// core scopes every query by them. A missing name sorts and compares as
/// `""` on both stores (their NULL orders differ).
pub const USERS: Table = Table {
    from: "users t",
    doc: "t.doc",
    select: None,
    key: None,
    scope: None,
    fields: &[
        ("id", Col::Column("t.id")),
        ("name", Col::Column("COALESCE(t.name, '')")),
        ("role", Col::Column("t.role")),
        ("teams", Col::Doc("teams")),
        ("language", Col::DocText("language")),
        ("custom", Col::Doc("custom")),
        ("created_at", Col::Column("t.created_at")),
        ("updated_at", Col::Column("t.updated_at")),
        ("deleted_at", Col::NullableColumn("t.deleted_at")),
        ("deactivated_at", Col::DocInt("deactivated_at")),
    ],
    tiebreak: &["t.id"],
};

/// Live feeds; the computed fields are defined in `sql::feeds`.
pub const FEEDS: Table = Table {
    from: "feeds t",
    doc: "t.doc",
    select: None,
    key: None,
    scope: Some("t.deleted_at IS NULL"),
    fields: &[
        ("id", Col::Column("t.feed_id")),
        ("feed", Col::Column("t.fid")),
        ("group_id", Col::Column("t.group_id")),
        ("created_by_id", Col::Column("t.created_by")),
        ("visibility", Col::Column("t.visibility")),
        ("name", Col::DocText("name")),
        ("description", Col::DocText("description")),
        ("created_by.name", Col::Column("(SELECT u.name FROM users u WHERE u.id = t.created_by)")),
        ("filter_tags", Col::Doc("filter_tags")),
        ("activity_count", Col::Special),
        ("follower_count", Col::Column("t.follower_count")),
        ("following_count", Col::Column("t.following_count")),
        ("member_count", Col::Column("t.member_count")),
        ("members", Col::Special),
        ("created_at", Col::Column("t.created_at")),
        ("updated_at", Col::Column("t.updated_at")),
        ("following_users", Col::Special),
        ("following_feeds", Col::Special),
        ("within_bounds", Col::Special),
        ("near", Col::Special),
    ],
    tiebreak: &["t.fid"],
};

mod feeds;
pub use feeds::{feed_query, feed_totals_query, follow_suggestions_query};

pub struct SqlBuilder {
    pub dialect: Dialect,
    pub params: Vec<Arg>,
    table: &'static Table,
    /// Whose per-user state (`hidden`) a filter reads.
    viewer: Option<String>,
    /// Names the nested `json_each` aliases of SQLite containment.
    aliases: usize,
    /// The instant computed counts (a feed's live activities) refer to.
    now: Timestamp,
}

impl SqlBuilder {
    pub fn new(dialect: Dialect, table: &'static Table) -> Self {
        SqlBuilder { dialect, params: Vec::new(), table, viewer: None, aliases: 0, now: Timestamp(0) }
    }

    /// Binds `p` and returns its placeholder.
    pub fn bind(&mut self, p: Arg) -> String {
        self.params.push(p);
        match self.dialect {
            // Numbered on both, so one placeholder may appear twice.
            Dialect::Sqlite => format!("?{}", self.params.len()),
            Dialect::Postgres => format!("${}", self.params.len()),
        }
    }

    fn text(&mut self, s: &str) -> String {
        self.bind(Arg::Text(s.to_string()))
    }

    fn truth(&self, b: bool) -> &'static str {
        match (self.dialect, b) {
            (Dialect::Sqlite, true) => "1",
            (Dialect::Sqlite, false) => "0",
            (Dialect::Postgres, true) => "TRUE",
            (Dialect::Postgres, false) => "FALSE",
        }
    }

    /// `column IN (…)` / `column = ANY(…)`; an empty list matches nothing.
    fn in_list(&mut self, column: &str, values: &[String]) -> String {
        if values.is_empty() {
            return self.truth(false).into();
        }
        match self.dialect {
            Dialect::Sqlite => {
                let marks: Vec<String> = values.iter().map(|v| self.text(v)).collect();
                format!("{column} IN ({})", marks.join(", "))
            }
            Dialect::Postgres => format!("{column} = ANY({})", self.bind(Arg::Texts(values.to_vec()))),
        }
    }

    fn col(&self, name: &str) -> Result<Col> {
        self.table
            .fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
            .ok_or_else(|| Error::internal(format!("{name} is not a field of {}", self.table.from)))
    }

    /// A top-level text field of the document.
    fn doc_text(&self, field: &str) -> String {
        let doc = self.table.doc;
        match self.dialect {
            Dialect::Sqlite => format!("json_extract({doc}, '$.{field}')"),
            Dialect::Postgres => format!("({doc}->>'{field}')"),
        }
    }

    /// The SQL value of a field, typed for comparison and ordering.
    fn expr(&self, name: &str) -> Result<String> {
        let doc = self.table.doc;
        Ok(match (self.col(name)?, self.dialect) {
            (Col::Column(c) | Col::NullableColumn(c), _) => c.to_string(),
            (Col::DocText(f), _) => self.doc_text(f),
            (Col::DocInt(f) | Col::DocNum(f) | Col::DocBool(f), Dialect::Sqlite) => self.doc_text(f),
            (Col::DocInt(f), Dialect::Postgres) => format!("(({doc}->>'{f}')::bigint)"),
            (Col::DocNum(f), Dialect::Postgres) => format!("(({doc}->>'{f}')::float8)"),
            (Col::DocBool(f), Dialect::Postgres) => format!("(({doc}->>'{f}')::boolean)"),
            (Col::Doc(_), _) | (Col::Special, _) => {
                return Err(Error::internal(format!("{name} has no scalar SQL value")));
            }
        })
    }

    /// The JSON path `root.path…` of the document as SQLite path text.
    fn sqlite_path(root: &str, path: &[String]) -> String {
        let quoted: String = path.iter().map(|p| format!(".\"{p}\"")).collect();
        format!("$.{root}{quoted}")
    }

    /// The JSON value at `root.path…` (bound path, so no user text in SQL).
    fn doc_path(&mut self, root: &str, path: &[String]) -> String {
        let doc = self.table.doc;
        match self.dialect {
            Dialect::Sqlite => {
                let p = self.text(&Self::sqlite_path(root, path));
                format!("json_extract({doc}, {p})")
            }
            Dialect::Postgres => {
                let p = self.bind(Arg::Texts(Self::pg_path(root, path)));
                format!("({doc} #> {p}::text[])")
            }
        }
    }

    fn pg_path(root: &str, path: &[String]) -> Vec<String> {
        std::iter::once(root.to_string()).chain(path.iter().cloned()).collect()
    }

    /// A JSON value at a path as text, for searches.
    fn doc_path_text(&mut self, root: &str, path: &[String]) -> String {
        match self.dialect {
            Dialect::Sqlite => self.doc_path(root, path),
            Dialect::Postgres => {
                let p = self.bind(Arg::Texts(Self::pg_path(root, path)));
                format!("({} #>> {p}::text[])", self.table.doc)
            }
        }
    }

    /// A scalar to compare with a `doc_path` value.
    fn json_scalar(&mut self, v: &Value) -> String {
        match self.dialect {
            Dialect::Sqlite => match v {
                Value::Bool(b) => self.bind(Arg::Int(i64::from(*b))),
                Value::Number(n) => self.number(n),
                Value::String(s) => self.text(s),
                _ => "NULL".into(),
            },
            Dialect::Postgres => format!("{}::text::jsonb", self.text(&v.to_string())),
        }
    }

    fn number(&mut self, n: &serde_json::Number) -> String {
        match n.as_i64() {
            Some(i) => self.bind(Arg::Int(i)),
            None => self.bind(Arg::Real(n.as_f64().unwrap_or_default())),
        }
    }

    /// Rows whose JSON at `root.path…` contains `v`, with PostgreSQL's
    /// `@>` semantics on both stores: objects match key by key, every
    /// element of an array must match some element, scalars match equal
    /// scalars, and at the top a scalar also matches an array holding it.
    fn contains(&mut self, root: &str, path: &[String], v: &Value) -> String {
        match self.dialect {
            Dialect::Postgres => {
                let at = self.bind(Arg::Texts(Self::pg_path(root, path)));
                let value = self.text(&v.to_string());
                format!("(({} #> {at}::text[]) @> {value}::text::jsonb)", self.table.doc)
            }
            Dialect::Sqlite => {
                let at = self.text(&Self::sqlite_path(root, path));
                self.sqlite_contains(&at, v, true)
            }
        }
    }

    /// `path` is SQL that yields a JSON path into the document.
    fn sqlite_contains(&mut self, path: &str, v: &Value, top: bool) -> String {
        let doc = self.table.doc;
        match v {
            Value::Object(members) => {
                let mut parts = vec![format!("json_type({doc}, {path}) = 'object'")];
                for (key, value) in members {
                    let key = self.text(&format!(".\"{key}\""));
                    parts.push(self.sqlite_contains(&format!("({path} || {key})"), value, false));
                }
                format!("({})", parts.join(" AND "))
            }
            Value::Array(items) => {
                let mut parts = vec![format!("json_type({doc}, {path}) = 'array'")];
                for item in items {
                    let t = self.alias();
                    let inner = self.sqlite_contains(&format!("{t}.fullkey"), item, false);
                    parts.push(format!("EXISTS (SELECT 1 FROM json_each({doc}, {path}) {t} WHERE {inner})"));
                }
                format!("({})", parts.join(" AND "))
            }
            scalar if top => {
                let equal = self.sqlite_scalar_eq(path, scalar);
                let t = self.alias();
                let held = self.sqlite_scalar_eq(&format!("{t}.fullkey"), scalar);
                format!(
                    "({equal} OR (json_type({doc}, {path}) = 'array'
                       AND EXISTS (SELECT 1 FROM json_each({doc}, {path}) {t} WHERE {held})))"
                )
            }
            scalar => self.sqlite_scalar_eq(path, scalar),
        }
    }

    fn sqlite_scalar_eq(&mut self, path: &str, v: &Value) -> String {
        let doc = self.table.doc;
        match v {
            Value::Null => format!("json_type({doc}, {path}) = 'null'"),
            Value::Bool(true) => format!("json_type({doc}, {path}) = 'true'"),
            Value::Bool(false) => format!("json_type({doc}, {path}) = 'false'"),
            Value::Number(n) => {
                let n = self.number(n);
                format!("(json_type({doc}, {path}) IN ('integer', 'real') AND json_extract({doc}, {path}) = {n})")
            }
            Value::String(s) => {
                let s = self.text(s);
                format!("(json_type({doc}, {path}) = 'text' AND json_extract({doc}, {path}) = {s})")
            }
            Value::Array(_) | Value::Object(_) => self.truth(false).into(),
        }
    }

    fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("j{}", self.aliases)
    }

    /// Rows whose JSON array `field` holds every tag (`all`) or one of them.
    fn tags(&mut self, field: &str, tags: &[String], all: bool) -> String {
        if tags.is_empty() {
            return self.truth(all).into();
        }
        let doc = self.table.doc;
        match self.dialect {
            Dialect::Sqlite => {
                let each = |test: String| {
                    format!("EXISTS (SELECT 1 FROM json_each({doc}, '$.{field}') t WHERE t.value {test})")
                };
                if all {
                    let parts: Vec<String> = tags.iter().map(|t| each(format!("= {}", self.text(t)))).collect();
                    format!("({})", parts.join(" AND "))
                } else {
                    let marks: Vec<String> = tags.iter().map(|t| self.text(t)).collect();
                    each(format!("IN ({})", marks.join(", ")))
                }
            }
            Dialect::Postgres => {
                let op = if all { "?&" } else { "?|" };
                format!("(({doc}->'{field}') {op} {}::text[])", self.bind(Arg::Texts(tags.to_vec())))
            }
        }
    }

    /// Case-insensitive word search over the text `expr`: every word of the
    /// query (`$q`), or a word starting with the query (`$autocomplete`).
    /// Words are alphanumeric runs, so they hold no LIKE wildcards.
    fn search(&mut self, expr: &str, op: Op, query: &str) -> String {
        let text = format!("lower({expr})");
        let words = filter::words(query);
        if words.is_empty() {
            return self.truth(false).into();
        }
        if op == Op::Autocomplete {
            let prefix = words.join(" ");
            let start = self.text(&format!("{prefix}%"));
            let inner = self.text(&format!("% {prefix}%"));
            return format!("({text} LIKE {start} OR {text} LIKE {inner})");
        }
        let parts: Vec<String> =
            words.iter().map(|w| format!("{text} LIKE {}", self.text(&format!("%{w}%")))).collect();
        format!("({})", parts.join(" AND "))
    }

    /// `$autocomplete` on a plain string field (a user's id or name): the
    /// value starts with the query, or one of its words does (`search`),
    /// case-insensitively. `substr` compares without LIKE wildcards.
    fn prefix_search(&mut self, expr: &str, query: &str) -> String {
        let words = self.search(expr, Op::Autocomplete, query);
        let length = self.bind(Arg::Int(query.chars().count() as i64));
        let prefix = self.text(&query.to_lowercase());
        format!("(substr(lower({expr}), 1, {length}) = {prefix} OR {words})")
    }

    fn compare(op: Op) -> &'static str {
        match op {
            Op::Gt => ">",
            Op::Gte => ">=",
            Op::Lt => "<",
            Op::Lte => "<=",
            _ => "=",
        }
    }

    /// The WHERE clause of a filter over this builder's table.
    pub fn filter(&mut self, f: &Filter) -> Result<String> {
        Ok(match f {
            Filter::And(parts) if parts.is_empty() => self.truth(true).into(),
            Filter::Or(parts) if parts.is_empty() => self.truth(false).into(),
            Filter::And(parts) => {
                let sql = parts.iter().map(|p| self.filter(p)).collect::<Result<Vec<_>>>()?;
                format!("({})", sql.join(" AND "))
            }
            Filter::Or(parts) => {
                let sql = parts.iter().map(|p| self.filter(p)).collect::<Result<Vec<_>>>()?;
                format!("({})", sql.join(" OR "))
            }
            Filter::Cond(c) => match &c.field {
                Field::Named(name) if matches!(self.col(name)?, Col::Special) => self.activity_condition(c)?,
                Field::Named(name) => self.named_condition(name, c)?,
                Field::Json { root, path } => self.json_condition(root, path, c)?,
            },
        })
    }

    fn named_condition(&mut self, name: &str, c: &Condition) -> Result<String> {
        if let Col::Doc(field) = self.col(name)? {
            return Ok(match (c.kind, c.op, &c.value) {
                (Kind::Tags, Op::Eq, Operand::Strs(tags)) => self.tags(field, tags, true),
                (Kind::Tags, Op::In, Operand::Strs(tags)) => self.tags(field, tags, false),
                (Kind::Tags, Op::Contains, Operand::Str(tag)) => self.tags(field, std::slice::from_ref(tag), true),
                _ => return Err(unbuilt(c)),
            });
        }
        let nullable = matches!(self.col(name)?, Col::NullableColumn(_));
        let expr = self.expr(name)?;
        Ok(match (c.kind, c.op, &c.value) {
            (Kind::Str, Op::Exists, Operand::Bool(b)) if !nullable => {
                format!("COALESCE({expr}, '') {} ''", if *b { "<>" } else { "=" })
            }
            (_, Op::Exists, Operand::Bool(b)) => format!("{expr} IS {}NULL", if *b { "NOT " } else { "" }),
            (Kind::Str | Kind::Text, Op::Eq, Operand::Str(v)) => format!("{expr} = {}", self.text(v)),
            (Kind::Str, Op::In, Operand::Strs(v)) => self.in_list(&expr, v),
            // A row without the field is "not equal", as in MongoDB.
            (Kind::Str, Op::Ne, Operand::Str(v)) => format!("({expr} IS NULL OR {expr} <> {})", self.text(v)),
            (Kind::Str, Op::Nin, Operand::Strs(v)) => {
                format!("({expr} IS NULL OR NOT {})", self.in_list(&expr, v))
            }
            (Kind::Str, op @ (Op::Gt | Op::Gte | Op::Lt | Op::Lte), Operand::Str(v)) => {
                format!("{expr} {} {}", Self::compare(op), self.text(v))
            }
            (Kind::Str, Op::Autocomplete, Operand::Str(q)) => self.prefix_search(&expr, q),
            (Kind::Date, Op::In, Operand::Times(times)) => {
                if times.is_empty() {
                    return Ok(self.truth(false).into());
                }
                let marks: Vec<String> = times.iter().map(|t| self.bind(Arg::Int(t.0))).collect();
                format!("{expr} IN ({})", marks.join(", "))
            }
            (Kind::Str, Op::Contains, Operand::Str(v)) => {
                // Case-insensitive substring, without LIKE wildcards to escape.
                let v = self.text(v);
                match self.dialect {
                    Dialect::Sqlite => format!("instr(lower({expr}), lower({v})) > 0"),
                    Dialect::Postgres => format!("strpos(lower({expr}), lower({v})) > 0"),
                }
            }
            (Kind::Text, Op::Q | Op::Autocomplete, Operand::Str(q)) => self.search(&expr, c.op, q),
            (Kind::Date, op, Operand::Time(t)) => {
                format!("{expr} {} {}", Self::compare(op), self.bind(Arg::Int(t.0)))
            }
            (Kind::Num, op, Operand::Num(n)) => {
                let n = self.real(*n);
                format!("{expr} {} {n}", Self::compare(op))
            }
            (Kind::Bool, Op::Eq, Operand::Bool(b)) => format!("{expr} = {}", self.truth(*b)),
            _ => return Err(unbuilt(c)),
        })
    }

    fn real(&mut self, n: f64) -> String {
        let p = self.bind(Arg::Real(n));
        match self.dialect {
            Dialect::Sqlite => p,
            Dialect::Postgres => format!("{p}::float8"),
        }
    }

    fn json_condition(&mut self, root: &str, path: &[String], c: &Condition) -> Result<String> {
        Ok(match (c.op, &c.value) {
            (Op::Exists, Operand::Bool(b)) => {
                let value = self.doc_path(root, path);
                let present = match self.dialect {
                    Dialect::Sqlite => format!("{value} IS NOT NULL"),
                    Dialect::Postgres => format!("({value} IS NOT NULL AND jsonb_typeof({value}) <> 'null')"),
                };
                if *b {
                    present
                } else {
                    format!("NOT {present}")
                }
            }
            (Op::PathExists, _) => match self.dialect {
                Dialect::Sqlite => {
                    let p = self.text(&Self::sqlite_path(root, path));
                    format!("json_type({}, {p}) IS NOT NULL", self.table.doc)
                }
                Dialect::Postgres => format!("{} IS NOT NULL", self.doc_path(root, path)),
            },
            (Op::Contains, Operand::Json(v)) => self.contains(root, path, v),
            (Op::In, Operand::JsonList(values)) if path.is_empty() => {
                if values.is_empty() {
                    return Ok(self.truth(false).into());
                }
                let parts: Vec<String> = values.iter().map(|v| self.contains(root, path, v)).collect();
                format!("({})", parts.join(" OR "))
            }
            (Op::In, Operand::JsonList(values)) => {
                if values.is_empty() {
                    return Ok(self.truth(false).into());
                }
                let parts: Vec<String> = values
                    .iter()
                    .map(|v| {
                        let value = self.doc_path(root, path);
                        let scalar = self.json_scalar(v);
                        format!("{value} = {scalar}")
                    })
                    .collect();
                format!("({})", parts.join(" OR "))
            }
            (Op::Q | Op::Autocomplete, Operand::Str(q)) => {
                let text = self.doc_path_text(root, path);
                self.search(&text, c.op, q)
            }
            (op, Operand::Json(v)) => {
                let value = self.doc_path(root, path);
                let scalar = self.json_scalar(v);
                format!("{value} {} {scalar}", Self::compare(op))
            }
            _ => return Err(unbuilt(c)),
        })
    }

    /// The number the response's `popularity` shows: reactions, two per
    /// live comment, three per bookmark and per live share, kept on the row
    /// by triggers (the migrations) so sorts and filters can use its index.
    fn popularity(&self) -> &'static str {
        "a.popularity"
    }

    /// The `location` of the row's document (activities and feeds alike).
    fn location(&self) -> (String, String) {
        let doc = self.table.doc;
        match self.dialect {
            Dialect::Sqlite => {
                (format!("json_extract({doc}, '$.location.lat')"), format!("json_extract({doc}, '$.location.lng')"))
            }
            Dialect::Postgres => (
                format!("(({doc} #>> '{{location,lat}}')::float8)"),
                format!("(({doc} #>> '{{location,lng}}')::float8)"),
            ),
        }
    }

    fn activity_condition(&mut self, c: &Condition) -> Result<String> {
        Ok(match (&c.field, c.op, &c.value) {
            (Field::Named("feed"), _, value) => {
                let fids = match value {
                    Operand::Str(s) => vec![s.clone()],
                    Operand::Strs(v) => v.clone(),
                    _ => Vec::new(),
                };
                let direct = self.truth(true);
                let list = self.in_list("ff.fid", &fids);
                format!(
                    "EXISTS (SELECT 1 FROM feed_entries f JOIN feeds ff ON ff.seq = f.feed_seq
                             WHERE f.activity_seq = a.seq AND f.direct = {direct} AND {list})"
                )
            }
            (Field::Named("popularity"), op, Operand::Num(n)) => {
                // The column is an integer: compared with an integer bound it
                // reads its index (PostgreSQL casts the column, and so scans
                // the table, when the bound is a float8).
                let bound = match op {
                    Op::Gt | Op::Lte => n.floor(),
                    Op::Gte | Op::Lt => n.ceil(),
                    _ if n.fract() != 0.0 => return Ok(self.truth(false).into()),
                    _ => *n,
                };
                let n = self.bind(Arg::Int(bound as i64));
                format!("{} {} {n}", self.popularity(), Self::compare(op))
            }
            (Field::Named("hidden"), Op::Eq, Operand::Bool(hidden)) => {
                let Some(viewer) = self.viewer.clone() else { return Ok(self.truth(!hidden).into()) };
                let user = self.text(&viewer);
                let yes = self.truth(true);
                let exists = format!(
                    "EXISTS (SELECT 1 FROM activity_feedback h WHERE h.activity_id = a.id AND h.user_id = {user} AND h.hide = {yes})"
                );
                if *hidden {
                    exists
                } else {
                    format!("NOT {exists}")
                }
            }
            (Field::Named("within_bounds"), Op::Eq, Operand::Bounds { ne_lat, ne_lng, sw_lat, sw_lng }) => {
                let (lat, lng) = self.location();
                let (s, n) = (self.bind(Arg::Real(*sw_lat)), self.bind(Arg::Real(*ne_lat)));
                let (w, e) = (self.bind(Arg::Real(*sw_lng)), self.bind(Arg::Real(*ne_lng)));
                // A box across the antimeridian has its west edge east of its east edge.
                let lng_ok = if sw_lng <= ne_lng {
                    format!("{lng} >= {w} AND {lng} <= {e}")
                } else {
                    format!("({lng} >= {w} OR {lng} <= {e})")
                };
                format!("({lat} >= {s} AND {lat} <= {n} AND {lng_ok})")
            }
            (Field::Named("near"), Op::Eq, Operand::Near { lat, lng, km }) => {
                let (row_lat, row_lng) = self.location();
                // A latitude band first: cheap, and exact for what it drops.
                let band = km / filter::EARTH_RADIUS_KM * 180.0 / std::f64::consts::PI;
                let (lo, hi) = (self.real(lat - band), self.real(lat + band));
                let (p_lat, p_lng, limit) = (self.real(*lat), self.real(*lng), self.real(*km));
                let distance = match self.dialect {
                    // Registered on every connection (`store::sqlite`) as `filter::distance_km`.
                    Dialect::Sqlite => format!("distance_km({row_lat}, {row_lng}, {p_lat}, {p_lng})"),
                    Dialect::Postgres => format!(
                        "(2 * {r} * asin(least(1, sqrt(
                            power(sin(radians({row_lat} - {p_lat}) / 2), 2)
                            + cos(radians({p_lat})) * cos(radians({row_lat}))
                              * power(sin(radians({row_lng} - {p_lng}) / 2), 2)))))",
                        r = filter::EARTH_RADIUS_KM
                    ),
                };
                format!("({row_lat} BETWEEN {lo} AND {hi} AND {distance} <= {limit})")
            }
            _ => return self.feed_condition(c),
        })
    }

    /// `ORDER BY` for `(field, descending)` keys, then the table's tiebreak
    /// in the direction of the first key.
    fn order_by(&self, sort: &[(&str, bool)], reverse: bool) -> Result<String> {
        let dir = |descending: bool| if descending != reverse { "DESC" } else { "ASC" };
        let mut keys = Vec::new();
        for (field, descending) in sort {
            let expr = match self.col(field)? {
                Col::Special if *field == "popularity" => self.popularity().to_string(),
                _ => self.expr(field)?,
            };
            keys.push(format!("{expr} {}", dir(*descending)));
        }
        let last = sort.first().is_some_and(|(_, d)| *d);
        keys.extend(self.table.tiebreak.iter().map(|t| format!("{t} {}", dir(last))));
        Ok(keys.join(", "))
    }
}

/// The parser only builds the combinations the stores translate; anything
/// else is a bug between the two, not bad input.
fn unbuilt(c: &Condition) -> Error {
    Error::internal(format!("no SQL for {:?} {:?} {:?}", c.field, c.kind, c.op))
}

pub fn doc_select(dialect: Dialect, table: &Table) -> String {
    match (dialect, table.select) {
        (Dialect::Sqlite, Some((sqlite, _))) => sqlite.to_string(),
        (Dialect::Postgres, Some((_, postgres))) => postgres.to_string(),
        (Dialect::Sqlite, None) => table.doc.to_string(),
        (Dialect::Postgres, None) => format!("{}::text", table.doc),
    }
}

/// The columns of `activities a` a read of `projection` selects: the
/// document, or the `RankFields` (`id, created_at, popularity, type,
/// interest_tags`, the last as JSON text; NULL where not asked for), read
/// by `rank_fields`.
pub fn activity_columns(dialect: Dialect, projection: Projection) -> String {
    match projection {
        Projection::Documents => doc_select(dialect, &ACTIVITIES),
        Projection::RankFields(read) => {
            let kind = if read.kind { "a.doc->>'type'" } else { "NULL" };
            let tags = if read.interest_tags { "a.doc->'interest_tags'" } else { "NULL" };
            format!("a.id, a.created_at, a.popularity, {kind}, {tags}")
        }
    }
}

/// A row's `RankFields`, from the columns `activity_columns` names for
/// them, starting at column `at`.
pub fn rank_fields(r: &Row, at: usize) -> Result<RankFields> {
    let tags = r.opt_str(at + 4)?;
    Ok(RankFields {
        id: r.text(at)?,
        created_at: Timestamp(r.int(at + 1)?),
        popularity: r.int(at + 2)?,
        kind: r.opt_str(at + 3)?.unwrap_or_default().to_string(),
        interest_tags: match tags {
            Some(json) => serde_json::from_str(json).unwrap_or_default(),
            None => Vec::new(),
        },
    })
}

/// Whether a live (not soft-deleted) activity has the id `$1`.
pub const LIVE_ACTIVITY: &str = "SELECT 1 FROM activities WHERE id = $1 AND deleted_at IS NULL";

/// The first `each` replies of every comment in `parents`, in `sort` order
/// (one statement for a whole level of a thread; only the rows kept are
/// assembled).
pub fn replies_query(
    dialect: Dialect,
    parents: &[String],
    sort: &[(&'static str, bool)],
    each: usize,
) -> Result<(String, Vec<Arg>)> {
    let mut b = SqlBuilder::new(dialect, &COMMENTS);
    let parents = b.in_list("t.parent_id", parents);
    let order = b.order_by(sort, false)?;
    let each = b.bind(Arg::Int(each as i64));
    let sql = format!(
        "SELECT {} FROM (SELECT t.id AS k, ROW_NUMBER() OVER (PARTITION BY t.parent_id ORDER BY {order}) AS n
                          FROM comments t WHERE {parents}) r
         JOIN comments t ON t.id = r.k WHERE r.n <= {each} ORDER BY t.parent_id, r.n",
        doc_select(dialect, &COMMENTS)
    );
    Ok((sql, b.params))
}

/// A filtered, sorted, offset-paged list of one table's documents. Tables
/// whose rows are assembled on the way out (`select`) are sorted by key
/// first and assembled only for the rows of the page.
pub fn list_query(dialect: Dialect, table: &'static Table, q: &ListQuery) -> Result<(String, Vec<Arg>)> {
    scoped_list_query(dialect, table, q, |_| None)
}

/// QueryFollows: a user-token reader sees the follows whose source or
/// target feed grants them `query-follows`.
pub fn follow_query(dialect: Dialect, q: &ListQuery, reader: &Reader) -> Result<(String, Vec<Arg>)> {
    scoped_list_query(dialect, &FOLLOWS, q, |b| {
        reader.restricted.then(|| {
            let me = b.text(reader.viewer.as_deref().unwrap_or_default());
            let grants = grants_of(reader);
            let everyone = reader.everyone_role();
            let source = readable_feed(b, "sf", &me, (&grants, everyone), "query-follows");
            let target = readable_feed(b, "tf", &me, (&grants, everyone), "query-follows");
            format!(
                "(EXISTS (SELECT 1 FROM feeds sf WHERE sf.fid = t.source AND {source})
                  OR EXISTS (SELECT 1 FROM feeds tf WHERE tf.fid = t.target AND {target}))"
            )
        })
    })
}

/// A list query with one more condition, from `scope`, beside the filter.
fn scoped_list_query(
    dialect: Dialect,
    table: &'static Table,
    q: &ListQuery,
    scope: impl FnOnce(&mut SqlBuilder) -> Option<String>,
) -> Result<(String, Vec<Arg>)> {
    let mut b = SqlBuilder::new(dialect, table);
    let mut clauses: Vec<String> = table.scope.iter().map(|s| s.to_string()).collect();
    clauses.extend(scope(&mut b));
    clauses.push(b.filter(&q.filter)?);
    let order = b.order_by(&q.sort, false)?;
    let (limit, offset) = (limit(q.limit), b.bind(Arg::Int(q.offset as i64)));
    let (select, from, clauses) = (doc_select(dialect, table), table.from, clauses.join(" AND "));
    let sql = match table.key {
        Some(key) => {
            let keys: Vec<String> = key.iter().enumerate().map(|(i, k)| format!("{k} AS k{i}")).collect();
            let join: Vec<String> = key.iter().enumerate().map(|(i, k)| format!("{k} = p.k{i}")).collect();
            format!(
                "SELECT {select} FROM (SELECT {} FROM {from} WHERE {clauses} ORDER BY {order}
                                      LIMIT {limit} OFFSET {offset}) p
                 JOIN {from} ON {} ORDER BY {order}",
                keys.join(", "),
                join.join(" AND ")
            )
        }
        None => format!("SELECT {select} FROM {from} WHERE {clauses} ORDER BY {order} LIMIT {limit} OFFSET {offset}"),
    };
    Ok((sql, b.params))
}

/// Whether the feed row `f` (columns `fid`, `visibility`, `created_by`)
/// grants `capability` to the user bound at `me`, by the grants in force:
/// their own feeds; levels granting it to `everyone` (the `user` role, or
/// `anonymous` for a logged-out reader, `Reader::everyone_role`); levels granting it to
/// the role of their active membership; levels granting it to followers,
/// or to their follow's `follower_role`, when one of their feeds follows it
/// (accepted) — the roles of `core::access`. Level and role names are
/// bound, never spliced.
pub fn readable_feed(
    b: &mut SqlBuilder,
    f: &str,
    me: &str,
    (grants, everyone): (&Grants, &str),
    capability: &str,
) -> String {
    use crate::core::feed_visibilities::{FEED_OWNER, FOLLOWER, USER};
    let granted = |level: &BTreeMap<String, Vec<String>>, role: &str| {
        level.get(role).is_some_and(|caps| caps.iter().any(|c| c == capability))
    };
    let open: Vec<String> = grants.iter().filter(|(_, g)| granted(g, everyone)).map(|(v, _)| v.clone()).collect();
    let followed: Vec<String> = grants.iter().filter(|(_, g)| granted(g, FOLLOWER)).map(|(v, _)| v.clone()).collect();
    let mut clauses = vec![format!("{f}.created_by = {me}"), b.in_list(&format!("{f}.visibility"), &open)];
    // Other role names (member roles, follows' `follower_role`) per level.
    let role_levels: Vec<(&String, Vec<String>)> = grants
        .iter()
        .map(|(level, roles)| {
            let named = roles
                .iter()
                .filter(|(role, caps)| {
                    ![USER, FEED_OWNER, FOLLOWER].contains(&role.as_str()) && caps.iter().any(|c| c == capability)
                })
                .map(|(role, _)| role.clone())
                .collect::<Vec<_>>();
            (level, named)
        })
        .filter(|(_, named)| !named.is_empty())
        .collect();
    let mut as_member = Vec::new();
    let mut as_follower = Vec::new();
    if !followed.is_empty() {
        as_follower.push(b.in_list(&format!("{f}.visibility"), &followed));
    }
    let follower_role = match b.dialect {
        Dialect::Sqlite => "json_extract(rw.doc, '$.follower_role')",
        Dialect::Postgres => "(rw.doc->>'follower_role')",
    };
    for (level, roles) in &role_levels {
        let level = b.text(level);
        as_member.push(format!("({f}.visibility = {level} AND {})", b.in_list("rm.role", roles)));
        as_follower.push(format!("({f}.visibility = {level} AND {})", b.in_list(follower_role, roles)));
    }
    if !as_member.is_empty() {
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM feed_members rm WHERE rm.fid = {f}.fid AND rm.user_id = {me}
                     AND rm.status = 'member' AND ({}))",
            as_member.join(" OR ")
        ));
    }
    if !as_follower.is_empty() {
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM follows rw JOIN feeds rs ON rs.fid = rw.source
                     WHERE rw.target = {f}.fid AND rw.status = 'accepted' AND rs.created_by = {me}
                       AND ({}))",
            as_follower.join(" OR ")
        ));
    }
    format!("({})", clauses.join(" OR "))
}

/// The grants `reader` decides by: those loaded for it, or the built-in ones.
pub fn grants_of(reader: &Reader) -> std::borrow::Cow<'_, Grants> {
    use crate::core::feed_visibilities::{default_grants, VISIBILITIES};
    match &reader.grants {
        Some(g) => std::borrow::Cow::Borrowed(g.as_ref()),
        None => std::borrow::Cow::Owned(
            VISIBILITIES.iter().filter_map(|v| default_grants(v).map(|g| (v.to_string(), g))).collect(),
        ),
    }
}

/// Whether an index finds the activities `filter` keeps without walking
/// them in time order: a top-level `id` or `user_id` equality (the primary
/// key, the `(user_id, created_at)` index). Other filters are tested row by
/// row along `activities_created`, under the scan budget.
pub fn narrowed_by_index(filter: &Filter) -> bool {
    match filter {
        Filter::And(parts) => parts.iter().any(narrowed_by_index),
        Filter::Cond(Condition { field: Field::Named(name), op: Op::Eq | Op::In, .. }) => {
            matches!(*name, "id" | "user_id")
        }
        _ => false,
    }
}

/// How many activities a text search may narrow a query to. A search
/// matching more is common enough that the budgeted walk meets its matches
/// soon, so the query walks instead of sorting every match.
pub const TEXT_CANDIDATES: usize = 1000;

/// The words of the filter's required `text $q` conditions that the
/// trigram index can look up (three characters or more).
pub fn indexed_search_words(filter: &Filter) -> Vec<String> {
    match filter {
        Filter::And(parts) => parts.iter().flat_map(indexed_search_words).collect(),
        Filter::Cond(Condition { field: Field::Named("text"), op: Op::Q, value: Operand::Str(q), .. }) => {
            filter::words(q).into_iter().filter(|w| w.chars().count() >= 3).collect()
        }
        _ => Vec::new(),
    }
}

/// How many located activities a `near` or `within_bounds` condition may
/// narrow a query to through the location index. A box holding more is
/// dense enough that the budgeted walk meets its matches soon, so the
/// query walks instead.
pub const LOCATION_CANDIDATES: usize = 1000;

/// A box on the globe that holds every match of a location condition:
/// latitudes `south..=north`, longitudes `west..=east` (`west > east` when
/// it crosses the antimeridian), `None` for every longitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoBox {
    pub south: f64,
    pub north: f64,
    pub lng: Option<(f64, f64)>,
}

impl GeoBox {
    /// The box around a `near` circle: the latitude band of its radius and
    /// the widest longitude span a point of the circle reaches at the
    /// centre's latitude (every longitude when the circle holds a pole).
    pub fn around(lat: f64, lng: f64, km: f64) -> GeoBox {
        let r = km / filter::EARTH_RADIUS_KM;
        let band = r.to_degrees();
        let (south, north) = (lat - band, lat + band);
        let spread = r.sin() / lat.to_radians().cos();
        let lng = if north >= 90.0
            || south <= -90.0
            || r >= std::f64::consts::FRAC_PI_2
            || spread.is_nan()
            || spread >= 1.0
        {
            None
        } else {
            let d = spread.asin().to_degrees();
            let (mut west, mut east) = (lng - d, lng + d);
            if west < -180.0 {
                west += 360.0;
            }
            if east > 180.0 {
                east -= 360.0;
            }
            Some((west, east))
        };
        GeoBox { south: south.max(-90.0), north: north.min(90.0), lng }
    }

    /// The box of a top-level `near` or `within_bounds` condition of the
    /// filter (the first one; any of them bounds every match).
    pub fn of(filter: &Filter) -> Option<GeoBox> {
        match filter {
            Filter::And(parts) => parts.iter().find_map(GeoBox::of),
            Filter::Cond(Condition { op: Op::Eq, value: Operand::Near { lat, lng, km }, .. }) => {
                Some(GeoBox::around(*lat, *lng, *km))
            }
            Filter::Cond(Condition {
                op: Op::Eq, value: Operand::Bounds { ne_lat, ne_lng, sw_lat, sw_lng }, ..
            }) => Some(GeoBox { south: *sw_lat, north: *ne_lat, lng: Some((*sw_lng, *ne_lng)) }),
            _ => None,
        }
    }
}

/// The statement listing the keys (`seq`) of the located activities inside
/// `geo`, at most `LOCATION_CANDIDATES + 1` of them, from the
/// `activities_location` index (whose expressions these are, verbatim).
pub fn location_candidates(dialect: Dialect, geo: &GeoBox) -> (String, Vec<Arg>) {
    let (lat, lng) = dialect::location_columns(dialect);
    let mut args = vec![Arg::Real(geo.south), Arg::Real(geo.north)];
    let lng_ok = match geo.lng {
        None => String::new(),
        Some((west, east)) => {
            args.extend([Arg::Real(west), Arg::Real(east)]);
            if west <= east {
                format!(" AND {lng} >= $3 AND {lng} <= $4")
            } else {
                format!(" AND ({lng} >= $3 OR {lng} <= $4)")
            }
        }
    };
    let sql = format!(
        "SELECT seq FROM activities WHERE {lat} IS NOT NULL AND {lat} >= $1 AND {lat} <= $2{lng_ok} LIMIT {}",
        limit(LOCATION_CANDIDATES + 1)
    );
    (sql, args)
}

/// `a.seq` among `candidates`: keys read from the database, written out.
fn among(candidates: &[i64]) -> String {
    if candidates.is_empty() {
        return "1 = 0".into();
    }
    let keys: Vec<String> = candidates.iter().map(i64::to_string).collect();
    format!("a.seq IN ({})", keys.join(", "))
}

/// The filter's top-level `created_at` conditions: the budgeted walk stays
/// within their range, so it does not spend its budget outside it.
fn time_range(filter: &Filter) -> Vec<&Filter> {
    match filter {
        Filter::And(parts) => parts.iter().flat_map(time_range).collect(),
        Filter::Cond(Condition { field: Field::Named("created_at"), value: Operand::Time(_), .. }) => vec![filter],
        _ => Vec::new(),
    }
}

/// The walk of a budgeted QueryActivities scan: `(order, start)` of the
/// `(created_at, id)` index from the query's position, `None` when the
/// query has no budget (a computed sort, or an index narrows its filter).
fn budgeted_walk(q: &ActivityQuery, narrowed: bool) -> Option<(bool, Option<&FeedPosition>, usize)> {
    let budget = q.scan_budget.filter(|_| !narrowed)?;
    let ActivityOrder::Created { newest_first, position, backwards } = &q.order else { return None };
    (!narrowed_by_index(&q.filter)).then_some((*newest_first != *backwards, position.as_ref(), budget.max(1)))
}

/// `(a.created_at, a.id)` beyond `p` in the direction of travel (`cmp` is
/// `<` for descending walks) as SQL.
fn past(b: &mut SqlBuilder, cmp: &str, p: &FeedPosition) -> String {
    let (t, id) = (b.bind(Arg::Int(p.created_at.0)), b.text(&p.activity_id));
    format!("(a.created_at, a.id) {cmp} ({t}, {id})")
}

/// The statement finding where a budgeted scan stops: the positions
/// (`created_at`, `id`) of the budget's last activity on the walk and of
/// the one after it, read from the index alone. `None` when the query is
/// not budgeted.
pub fn activity_scan_end(
    dialect: Dialect,
    q: &ActivityQuery,
    candidates: Option<&[i64]>,
) -> Result<Option<(String, Vec<Arg>)>> {
    let Some((descending, position, budget)) = budgeted_walk(q, candidates.is_some()) else { return Ok(None) };
    let mut b = SqlBuilder::new(dialect, &ACTIVITIES);
    let mut clauses = Vec::new();
    if let Some(p) = position {
        clauses.push(past(&mut b, if descending { "<" } else { ">" }, p));
    }
    for f in time_range(&q.filter) {
        clauses.push(b.filter(f)?);
    }
    if clauses.is_empty() {
        clauses.push(b.truth(true).into());
    }
    let order = if descending { "DESC" } else { "ASC" };
    let skip = b.bind(Arg::Int(budget as i64 - 1));
    let sql = format!(
        "SELECT a.created_at, a.id FROM activities a WHERE {}
         ORDER BY a.created_at {order}, a.id {order} LIMIT 2 OFFSET {skip}",
        clauses.join(" AND ")
    );
    Ok(Some((sql, b.params)))
}

/// The whole QueryActivities statement: filter, lifecycle and visibility
/// rules, position, order and limit; a budgeted scan (`activity_scan_end`)
/// reads no further than `end`, inclusive; `candidates` (`text_candidates`)
/// are the only activities that can match.
pub fn activity_query(
    dialect: Dialect,
    q: &ActivityQuery,
    end: Option<&FeedPosition>,
    candidates: Option<&[i64]>,
    projection: Projection,
) -> Result<(String, Vec<Arg>)> {
    let columns = activity_columns(dialect, projection);
    let mut b = SqlBuilder::new(dialect, &ACTIVITIES);
    b.viewer = q.reader.viewer.clone();
    let mut clauses = vec![b.filter(&q.filter)?];
    if !q.include_deleted {
        clauses.push("a.deleted_at IS NULL".into());
    }
    if !q.include_expired {
        clauses.push(format!("(a.expires_at IS NULL OR a.expires_at > {})", b.bind(Arg::Int(q.now.0))));
    }
    if q.reader.restricted {
        // Another user's activity is read through a readable feed it was
        // posted to, and a private one by its author alone. Privacy is read
        // from that entry (`private_to`, kept with the activity's
        // visibility on every entry), not from the document: parsing each
        // candidate's document cost a popular selector most of its time.
        let me = b.text(q.reader.viewer.as_deref().unwrap_or_default());
        let direct = b.truth(true);
        let grants = (&*grants_of(&q.reader), q.reader.everyone_role());
        let readable = readable_feed(&mut b, "rf", &me, grants, "read-activities");
        clauses.push(format!(
            "(a.user_id = {me} OR EXISTS (SELECT 1 FROM feed_entries re JOIN feeds rf ON rf.seq = re.feed_seq
                                      WHERE re.activity_seq = a.seq AND re.direct = {direct}
                                        AND re.private_to IS NULL AND {readable}))"
        ));
    } else if !q.include_private {
        // Private activities reach their author; server-side reads ask for
        // all of them with `include_private`.
        let visibility = b.doc_text("visibility");
        let me = b.text(q.reader.viewer.as_deref().unwrap_or_default());
        clauses.push(format!("({visibility} <> 'private' OR a.user_id = {me})"));
    }
    let (newest_first, position, backwards) = match &q.order {
        ActivityOrder::Sorted { sort, offset } => {
            clauses.extend(candidates.map(among));
            let order = b.order_by(sort, false)?;
            let (limit, offset) = (limit(q.limit), b.bind(Arg::Int(*offset as i64)));
            let sql = format!(
                "SELECT {columns} FROM activities a WHERE {} ORDER BY {order} LIMIT {limit} OFFSET {offset}",
                clauses.join(" AND ")
            );
            return Ok((sql, b.params));
        }
        ActivityOrder::Created { newest_first, position, backwards } => (*newest_first, position, *backwards),
    };
    let descending = newest_first != backwards;
    let mut range: Vec<String> = candidates.map(among).into_iter().collect();
    if let Some(p) = position {
        range.push(past(&mut b, if descending { "<" } else { ">" }, p));
    }
    if let Some(end) = end {
        range.push(past(&mut b, if descending { ">=" } else { "<=" }, end));
    }
    let order = if descending { "DESC" } else { "ASC" };
    let limit = limit(q.limit);
    let sql = match dialect {
        // SQLite walks the (created_at, id) index in order and stops at the
        // limit on its own.
        Dialect::Sqlite => {
            clauses.extend(range);
            format!(
                "SELECT {columns} FROM activities a WHERE {} ORDER BY a.created_at {order}, a.id {order} LIMIT {limit}",
                clauses.join(" AND ")
            )
        }
        // PostgreSQL cannot estimate JSON predicates and would rather sort the
        // whole table; `OFFSET 0` keeps the ordered index scan as a subquery
        // the filter reads from until the limit is reached.
        Dialect::Postgres => {
            let range = if range.is_empty() { String::new() } else { format!("WHERE {}", range.join(" AND ")) };
            format!(
                "SELECT {columns} FROM (SELECT * FROM activities a {range}
                     ORDER BY a.created_at {order}, a.id {order} OFFSET 0) a
                 WHERE {} ORDER BY a.created_at {order}, a.id {order} LIMIT {limit}",
                clauses.join(" AND ")
            )
        }
    };
    Ok((sql, b.params))
}

/// One keyset page of a feed: entries in page order, joined to their live
/// activities, without what the reader may not or will not see, narrowed by
/// an optional activity filter.
#[allow(clippy::too_many_arguments)]
pub fn feed_page(
    dialect: Dialect,
    fid: &Fid,
    slice: &FeedSlice,
    limit: usize,
    now: Timestamp,
    reader: &Reader,
    filter: Option<&Filter>,
    projection: Projection,
) -> Result<(String, Vec<Arg>)> {
    let mut b = SqlBuilder::new(dialect, &ACTIVITIES);
    b.viewer = reader.viewer.clone();
    let mut clauses = vec![
        format!("e.feed_seq = (SELECT seq FROM feeds WHERE fid = {})", b.text(&fid.to_string())),
        format!("(e.visible_until IS NULL OR e.visible_until > {})", b.bind(Arg::Int(now.0))),
    ];
    if reader.restricted {
        let me = b.text(reader.viewer.as_deref().unwrap_or_default());
        clauses.push(format!("(e.private_to IS NULL OR e.private_to = {me})"));
    }
    if let Some(viewer) = &reader.viewer {
        // Uncorrelated, so read once per page (PostgreSQL hashes it, SQLite
        // builds a temporary index): a correlated NOT EXISTS let
        // PostgreSQL's planner, misjudging a large feed as small, probe the
        // viewer's feedback once per entry of the whole feed. The column
        // is NOT NULL, so NOT IN means exactly "not hidden".
        let (user, yes) = (b.text(viewer), b.truth(true));
        clauses.push(format!(
            "e.activity_seq NOT IN (SELECT ha.seq FROM activity_feedback h JOIN activities ha ON ha.id = h.activity_id
                                    WHERE h.user_id = {user} AND h.hide = {yes})"
        ));
    }
    if let Some(watcher) = &reader.skip_watched_by {
        let user = b.text(watcher);
        clauses.push(format!(
            "e.activity_seq NOT IN (SELECT wa.seq FROM story_watches w JOIN activities wa ON wa.id = w.activity_id
                                    WHERE w.user_id = {user})"
        ));
    }
    let (order, position) = match slice {
        FeedSlice::Start => ("DESC", None),
        FeedSlice::Older(p) => ("DESC", Some((p, "<"))),
        FeedSlice::Newer(p) => ("ASC", Some((p, ">"))),
    };
    if let Some((p, cmp)) = position {
        // The cursor names its activity; were that one purged meanwhile,
        // the page goes on past every entry of the same instant.
        let (t, id) = (b.bind(Arg::Int(p.created_at.0)), b.text(&p.activity_id));
        let gone = if cmp == "<" { 0 } else { i64::MAX };
        clauses.push(format!(
            "(e.created_at, e.activity_seq) {cmp} ({t}, COALESCE((SELECT seq FROM activities WHERE id = {id}), {gone}))"
        ));
    }
    // Both sources of the page: the feed's entries, and the entries a
    // background fan-out has yet to copy into it (`PENDING_ENTRIES`).
    let filtered = match filter {
        Some(filter) => {
            clauses.push(b.filter(filter)?);
            true
        }
        None => false,
    };
    let limit = self::limit(limit);
    let clauses = clauses.join(" AND ");
    // Without an activity filter every clause is the entry's: the page is
    // cut from the entries alone and only its activities are read.
    // PostgreSQL, whatever it believes of the feed's size (a freshly filled
    // timeline looked like 20 rows to it), then never joins every entry of
    // a large feed to its activity before sorting. (Entries and their
    // activity are removed together, so the join drops nothing.)
    let join = if filtered { "JOIN activities a ON a.seq = e.activity_seq" } else { "" };
    let branch = |source: &str| {
        format!(
            "SELECT * FROM (SELECT e.activity_seq, e.created_at FROM {source} {join} WHERE {clauses}
                            ORDER BY e.created_at {order}, e.activity_seq {order} LIMIT {limit}) p"
        )
    };
    // UNION: an entry copied meanwhile, or pending from two origins, once.
    // The page is cut from the keys, and only its activities are joined:
    // ordering rows that carry their documents had SQLite copy every
    // document of a long page into a temporary b-tree. The rows come in no
    // order; the caller sorts them by `(created_at, activity_seq)`.
    let sql = format!(
        "SELECT e.created_at, e.activity_seq, {} FROM (
            SELECT activity_seq, created_at FROM ({} UNION {}) u
            ORDER BY created_at {order}, activity_seq {order} LIMIT {limit}) e
         JOIN activities a ON a.seq = e.activity_seq",
        activity_columns(dialect, projection),
        branch("feed_entries e"),
        branch(&format!("({PENDING_ENTRIES}) e")),
    );
    Ok((sql, b.params))
}

/// The entries background fan-out jobs (`store::ops::fanout`) have still to
/// copy, as rows of `feed_entries`: the follower feed, and the origin
/// feed's own entry of the activity (kept up to date with the activity's
/// expiry, deletion and privacy like every entry). A feed's page reads
/// them beside its entries, so an acknowledged activity is in every
/// follower's timeline at once however far its fan-out has got; a
/// batch copies entries and moves `after_source` past them in one
/// transaction, so a read sees each entry in exactly one of the two.
/// Without jobs this is an empty scan.
const PENDING_ENTRIES: &str = "SELECT fs.seq AS feed_seq, o.created_at, o.activity_seq, o.visible_until, o.private_to
     FROM fanout_jobs j
     JOIN follows f ON f.target = j.origin AND f.status = 'accepted' AND f.source > j.after_source
     JOIN feeds fs ON fs.fid = f.source
     JOIN feeds og ON og.fid = j.origin
     JOIN activities ja ON ja.id = j.activity_id
     JOIN feed_entries o ON o.feed_seq = og.seq AND o.activity_seq = ja.seq";

/// Statements reading a row's version — its `updated_at` — by its key
/// columns (`$1`, `$2`…, bound as text), for conditional writes: a write
/// commits only while every row it changes still has the version the core
/// read it at. The same text runs on both dialects; PostgreSQL appends
/// `FOR UPDATE` (`locked`) so the row stays at that version until commit,
/// while SQLite's single writer connection already excludes other writes.
pub mod versions {
    /// Deleted activities read as absent: a soft delete does not move
    /// `updated_at`, and an edit must not resurrect the activity.
    pub const ACTIVITY: &str =
        "SELECT CAST(doc->>'updated_at' AS BIGINT) FROM activities WHERE id = $1 AND deleted_at IS NULL";
    pub const COMMENT: &str = "SELECT updated_at FROM comments WHERE id = $1";
    pub const USER: &str = "SELECT updated_at FROM users WHERE id = $1";
    pub const FEED: &str = "SELECT CAST(doc->>'updated_at' AS BIGINT) FROM feeds WHERE fid = $1";
    pub const POLL: &str = "SELECT CAST(doc->>'updated_at' AS BIGINT) FROM polls WHERE id = $1";
    pub const FOLLOW: &str = "SELECT updated_at FROM follows WHERE source = $1 AND target = $2";
    pub const BOOKMARK_FOLDER: &str = "SELECT updated_at FROM bookmark_folders WHERE id = $1";
    pub const BOOKMARK: &str = "SELECT updated_at FROM bookmarks
         WHERE user_id = $1 AND object_type = $2 AND object_id = $3 AND folder_id = $4";
    pub const FEED_MEMBER: &str = "SELECT updated_at FROM feed_members WHERE fid = $1 AND user_id = $2";

    pub fn locked(select: &str) -> String {
        format!("{select} FOR UPDATE")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{params_from_iter, types::Value as SqlValue, Connection};
    use serde_json::json;

    /// Whether `geo` holds the point.
    fn holds(geo: &GeoBox, lat: f64, lng: f64) -> bool {
        let lng_ok = match geo.lng {
            None => true,
            Some((w, e)) if w <= e => lng >= w && lng <= e,
            Some((w, e)) => lng >= w || lng <= e,
        };
        lat >= geo.south && lat <= geo.north && lng_ok
    }

    /// The box around a `near` circle holds every point of the circle: on
    /// a grid of centres (poles and the antimeridian included), points in
    /// every direction just inside the radius are in the box.
    #[test]
    fn a_near_box_holds_its_circle() {
        for lat in [-89.9, -60.0, -17.0, 0.0, 45.0, 80.0, 89.9] {
            for lng in [-179.99, -90.0, 0.0, 120.0, 179.99] {
                for km in [0.5, 20.0, 500.0, 3000.0] {
                    let geo = GeoBox::around(lat, lng, km);
                    for step in 0..72 {
                        let bearing = (step as f64 * 5.0).to_radians();
                        let d = km * 0.999 / filter::EARTH_RADIUS_KM;
                        let (p1, l1) = (lat.to_radians(), lng.to_radians());
                        let p2 = (p1.sin() * d.cos() + p1.cos() * d.sin() * bearing.cos()).asin();
                        let l2 = l1 + (bearing.sin() * d.sin() * p1.cos()).atan2(d.cos() - p1.sin() * p2.sin());
                        let (plat, mut plng) = (p2.to_degrees(), l2.to_degrees());
                        plng = (plng + 540.0).rem_euclid(360.0) - 180.0;
                        assert!(filter::distance_km(lat, lng, plat, plng) <= km);
                        assert!(holds(&geo, plat, plng), "{lat},{lng} {km} km: {plat},{plng} outside {geo:?}");
                    }
                }
            }
        }
        // A small circle's box is small; one across the antimeridian wraps.
        let geo = GeoBox::around(0.0, 179.99, 20.0);
        let (w, e) = geo.lng.expect("a longitude span");
        assert!(w > e && w > 179.0 && e < -179.0, "{geo:?}");
        assert!(!holds(&geo, 0.0, 0.0));
        assert_eq!(GeoBox::around(89.9, 0.0, 50.0).lng, None, "a circle holding the pole spans every longitude");
    }

    /// PostgreSQL's `jsonb @>`, the semantics `$contains` promises.
    fn pg_contains(target: &Value, v: &Value, top: bool) -> bool {
        match (target, v) {
            (Value::Object(t), Value::Object(v)) => {
                v.iter().all(|(k, v)| t.get(k).is_some_and(|t| pg_contains(t, v, false)))
            }
            (Value::Array(t), Value::Array(v)) => v.iter().all(|e| t.iter().any(|x| pg_contains(x, e, false))),
            (Value::Array(t), scalar) if top && !scalar.is_object() => t.iter().any(|x| pg_contains(x, scalar, false)),
            (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
            (a, b) if !a.is_object() && !a.is_array() => a == b,
            _ => false,
        }
    }

    fn random_json(next: &mut dyn FnMut() -> u64, depth: u32) -> Value {
        let keys = ["a", "b", "c"];
        match next() % if depth > 2 { 5 } else { 7 } {
            0 => Value::Null,
            1 => json!(next().is_multiple_of(2)),
            2 => json!((next() % 3) as i64),
            3 => json!(["x", "y", "1"][(next() % 3) as usize]),
            4 => json!(1.0),
            5 => Value::Array((0..next() % 3).map(|_| random_json(next, depth + 1)).collect()),
            _ => Value::Object(
                (0..next() % 3)
                    .map(|_| (keys[(next() % 3) as usize].to_string(), random_json(next, depth + 1)))
                    .collect(),
            ),
        }
    }

    /// SQLite has no `@>`: its containment SQL must agree with PostgreSQL's
    /// on random documents and random operands.
    #[test]
    fn sqlite_containment_agrees_with_postgres_semantics() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE activities (doc TEXT NOT NULL)").unwrap();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut matched = 0;
        for _ in 0..3000 {
            let custom = random_json(&mut next, 0);
            let operand = random_json(&mut next, 0);
            conn.execute("DELETE FROM activities", []).unwrap();
            conn.execute("INSERT INTO activities (doc) VALUES (?1)", [json!({"custom": custom}).to_string()]).unwrap();
            let mut b = SqlBuilder::new(Dialect::Sqlite, &ACTIVITIES);
            let clause = b.contains("custom", &[], &operand);
            let values: Vec<SqlValue> = b
                .params
                .into_iter()
                .map(|p| match p {
                    Arg::Text(t) => SqlValue::Text(t),
                    Arg::Int(i) => SqlValue::Integer(i),
                    Arg::Real(r) => SqlValue::Real(r),
                    other => panic!("{other:?}"),
                })
                .collect();
            let sql = format!("SELECT COUNT(*) FROM activities a WHERE {clause}");
            let got: i64 = conn.query_row(&sql, params_from_iter(values), |r| r.get(0)).unwrap();
            let want = pg_contains(&custom, &operand, true);
            assert_eq!(got == 1, want, "{custom} @> {operand}");
            matched += usize::from(want);
        }
        assert!(matched > 100, "the generator should produce matches too ({matched})");
    }
}
