//! The query filter language (MongoDB-style JSON) parsed into a typed,
//! validated AST. Each query endpoint passes its allow-list of fields and
//! operators; the stores translate the AST to SQL with bound parameters, so
//! user input is never spliced into SQL text.

use serde_json::{Map, Value};

use super::error::{Error, Result};
use super::time::Timestamp;

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Cond(Condition),
}

impl Filter {
    /// `self AND other`, flattening an `And` on the left.
    pub fn and(self, other: Filter) -> Filter {
        match self {
            Filter::And(mut parts) => {
                parts.push(other);
                Filter::And(parts)
            }
            f => Filter::And(vec![f, other]),
        }
    }

    /// `field ∈ values` for a string field the caller scopes by.
    pub fn is_in(field: &'static str, values: Vec<String>) -> Filter {
        Filter::Cond(Condition {
            field: Field::Named(field),
            kind: Kind::Str,
            op: Op::In,
            value: Operand::Strs(values),
        })
    }

    /// Array `field` shares an element with `values`.
    pub fn tags_any(field: &'static str, values: Vec<String>) -> Filter {
        Filter::Cond(Condition {
            field: Field::Named(field),
            kind: Kind::Tags,
            op: Op::In,
            value: Operand::Strs(values),
        })
    }

    /// `field` is present (`true`) or absent, for a field the caller scopes by.
    pub fn exists(field: &'static str, present: bool) -> Filter {
        Filter::Cond(Condition {
            field: Field::Named(field),
            kind: Kind::Date,
            op: Op::Exists,
            value: Operand::Bool(present),
        })
    }

    /// `field == value` for a string field the caller scopes by.
    pub fn eq(field: &'static str, value: impl Into<String>) -> Filter {
        Filter::Cond(Condition {
            field: Field::Named(field),
            kind: Kind::Str,
            op: Op::Eq,
            value: Operand::Str(value.into()),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: Field,
    pub kind: Kind,
    pub op: Op,
    pub value: Operand,
}

/// A filterable field; `Json` is a JSON object field (`custom`,
/// `search_data`) or a dotted path below it (`path` empty = the object).
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Named(&'static str),
    Json { root: &'static str, path: Vec<String> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    /// Not equal; a row without the field matches (users only).
    Ne,
    In,
    /// Equal to none of the values; a row without the field matches.
    Nin,
    Gt,
    Gte,
    Lt,
    Lte,
    Exists,
    Contains,
    PathExists,
    Q,
    Autocomplete,
}

impl Op {
    fn parse(name: &str) -> Result<Op> {
        Ok(match name {
            "$eq" => Op::Eq,
            "$ne" => Op::Ne,
            "$in" => Op::In,
            "$nin" => Op::Nin,
            "$gt" => Op::Gt,
            "$gte" => Op::Gte,
            "$lt" => Op::Lt,
            "$lte" => Op::Lte,
            "$exists" => Op::Exists,
            "$contains" => Op::Contains,
            "$path_exists" => Op::PathExists,
            "$q" => Op::Q,
            "$autocomplete" => Op::Autocomplete,
            other => return Err(Error::field("filter", format!("unknown or unsupported operator {other:?}"))),
        })
    }

    fn name(self) -> &'static str {
        match self {
            Op::Eq => "$eq",
            Op::Ne => "$ne",
            Op::In => "$in",
            Op::Nin => "$nin",
            Op::Gt => "$gt",
            Op::Gte => "$gte",
            Op::Lt => "$lt",
            Op::Lte => "$lte",
            Op::Exists => "$exists",
            Op::Contains => "$contains",
            Op::PathExists => "$path_exists",
            Op::Q => "$q",
            Op::Autocomplete => "$autocomplete",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Str(String),
    Num(f64),
    Bool(bool),
    Time(Timestamp),
    Times(Vec<Timestamp>),
    Strs(Vec<String>),
    /// Any JSON value: a scalar for `custom` paths whose type the data
    /// decides, or the document a `$contains` looks for.
    Json(Value),
    JsonList(Vec<Value>),
    Bounds {
        ne_lat: f64,
        ne_lng: f64,
        sw_lat: f64,
        sw_lng: f64,
    },
    Near {
        lat: f64,
        lng: f64,
        km: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Num,
    Date,
    Bool,
    Tags,
    Object,
    Text,
    Bounds,
    Near,
}

pub struct FieldSpec {
    pub name: &'static str,
    pub kind: Kind,
    pub ops: &'static [Op],
}

const fn spec(name: &'static str, kind: Kind, ops: &'static [Op]) -> FieldSpec {
    FieldSpec { name, kind, ops }
}

const EQ: &[Op] = &[Op::Eq];
const EQ_IN: &[Op] = &[Op::Eq, Op::In];
const EQ_IN_EXISTS: &[Op] = &[Op::Eq, Op::In, Op::Exists];
const RANGE: &[Op] = &[Op::Eq, Op::Gt, Op::Gte, Op::Lt, Op::Lte];
const RANGE_EXISTS: &[Op] = &[Op::Eq, Op::Gt, Op::Gte, Op::Lt, Op::Lte, Op::Exists];
const TAGS: &[Op] = &[Op::Eq, Op::In, Op::Contains];
const OBJECT: &[Op] = &[Op::Eq, Op::In, Op::Gt, Op::Gte, Op::Lt, Op::Lte, Op::Exists, Op::Contains, Op::PathExists];
const OBJECT_TEXT: &[Op] = &[
    Op::Eq,
    Op::In,
    Op::Gt,
    Op::Gte,
    Op::Lt,
    Op::Lte,
    Op::Exists,
    Op::Contains,
    Op::PathExists,
    Op::Q,
    Op::Autocomplete,
];

/// QueryActivities and the feed-read filter.
pub const ACTIVITY_FIELDS: &[FieldSpec] = &[
    spec("id", Kind::Str, EQ_IN),
    spec("user_id", Kind::Str, EQ_IN),
    spec("activity_type", Kind::Str, EQ_IN),
    spec("feed", Kind::Str, EQ_IN),
    spec("created_at", Kind::Date, RANGE),
    spec("expires_at", Kind::Date, RANGE_EXISTS),
    spec("filter_tags", Kind::Tags, TAGS),
    spec("interest_tags", Kind::Tags, TAGS),
    spec("custom", Kind::Object, OBJECT),
    spec("search_data", Kind::Object, &[Op::Contains, Op::In, Op::PathExists]),
    spec("text", Kind::Text, &[Op::Eq, Op::Q, Op::Autocomplete]),
    spec("hidden", Kind::Bool, EQ),
    spec("popularity", Kind::Num, RANGE),
    spec("within_bounds", Kind::Bounds, EQ),
    spec("near", Kind::Near, EQ),
];
pub const ACTIVITY_SORT: &[&str] = &["created_at", "popularity"];

pub const POLL_FIELDS: &[FieldSpec] = &[
    spec("id", Kind::Str, EQ_IN),
    spec("name", Kind::Str, EQ_IN),
    spec("created_by_id", Kind::Str, EQ_IN),
    spec("voting_visibility", Kind::Str, EQ),
    spec("allow_answers", Kind::Bool, EQ),
    spec("allow_user_suggested_options", Kind::Bool, EQ),
    spec("is_closed", Kind::Bool, EQ),
    spec("max_votes_allowed", Kind::Num, RANGE_EXISTS),
    spec("custom", Kind::Object, OBJECT_TEXT),
    spec("created_at", Kind::Date, RANGE),
    spec("updated_at", Kind::Date, RANGE),
];
pub const POLL_SORT: &[&str] = &["id", "name", "created_at", "updated_at", "is_closed"];

pub const VOTE_FIELDS: &[FieldSpec] = &[
    spec("id", Kind::Str, EQ_IN),
    spec("poll_id", Kind::Str, EQ_IN),
    spec("user_id", Kind::Str, EQ_IN),
    spec("option_id", Kind::Str, EQ_IN_EXISTS),
    spec("is_answer", Kind::Bool, EQ),
    spec("created_at", Kind::Date, RANGE),
    spec("updated_at", Kind::Date, RANGE),
];
pub const VOTE_SORT: &[&str] = &["id", "created_at", "updated_at"];

pub const PIN_FIELDS: &[FieldSpec] = &[
    spec("activity_id", Kind::Str, EQ_IN),
    spec("fid", Kind::Str, EQ_IN),
    spec("user_id", Kind::Str, EQ_IN),
    spec("created_at", Kind::Date, RANGE),
    spec("updated_at", Kind::Date, RANGE),
];
pub const PIN_SORT: &[&str] = &["created_at"];

pub const COLLECTION_FIELDS: &[FieldSpec] = &[
    spec("id", Kind::Str, EQ_IN),
    spec("name", Kind::Str, EQ_IN),
    spec("user_id", Kind::Str, EQ_IN),
    spec("custom", Kind::Object, OBJECT_TEXT),
    spec("created_at", Kind::Date, RANGE),
    spec("updated_at", Kind::Date, RANGE),
];
pub const COLLECTION_SORT: &[&str] = &["created_at", "updated_at"];

/// QueryFollows (`*_fid` are aliases of `*_feed`).
pub const FOLLOW_FIELDS: &[FieldSpec] = &[
    spec("source_feed", Kind::Str, EQ_IN),
    spec("target_feed", Kind::Str, EQ_IN),
    spec("source_fid", Kind::Str, EQ_IN),
    spec("target_fid", Kind::Str, EQ_IN),
    spec("source_id", Kind::Str, EQ_IN),
    spec("target_id", Kind::Str, EQ_IN),
    spec("status", Kind::Str, EQ_IN),
    spec("source_created_by_name", Kind::Str, EQ_IN),
    spec("target_created_by_name", Kind::Str, EQ_IN),
    spec("created_at", Kind::Date, RANGE),
];

/// QueryFeedMembers (the path scopes `fid` to one feed already).
pub const FEED_MEMBER_FIELDS: &[FieldSpec] = &[
    spec("fid", Kind::Str, EQ_IN),
    spec("role", Kind::Str, EQ_IN),
    spec("status", Kind::Str, EQ_IN),
    spec("user_id", Kind::Str, EQ_IN),
    spec("user_name", Kind::Str, EQ_IN),
    spec("created_at", Kind::Date, RANGE),
    spec("updated_at", Kind::Date, RANGE),
];
pub const FEED_MEMBER_SORT: &[&str] = &["created_at", "updated_at", "user_id"];

const NUM_RANGE: &[Op] = &[Op::Gt, Op::Gte, Op::Lt, Op::Lte];

/// QueryComments (its sort is a mode, not a field list).
pub const COMMENT_FIELDS: &[FieldSpec] = &[
    spec("id", Kind::Str, EQ_IN),
    spec("object_id", Kind::Str, EQ_IN),
    spec("object_type", Kind::Str, EQ_IN),
    spec("parent_id", Kind::Str, EQ_IN),
    spec("status", Kind::Str, EQ_IN),
    spec("user_id", Kind::Str, EQ_IN),
    spec("comment_text", Kind::Text, &[Op::Q]),
    spec("created_at", Kind::Date, RANGE),
    spec("custom", Kind::Object, OBJECT),
    spec("upvote_count", Kind::Num, NUM_RANGE),
    spec("downvote_count", Kind::Num, NUM_RANGE),
    spec("reply_count", Kind::Num, NUM_RANGE),
    spec("score", Kind::Num, NUM_RANGE),
    spec("confidence_score", Kind::Num, NUM_RANGE),
    spec("controversy_score", Kind::Num, NUM_RANGE),
];

pub const ACTIVITY_REACTION_FIELDS: &[FieldSpec] = &[
    spec("reaction_type", Kind::Str, EQ_IN),
    spec("user_id", Kind::Str, EQ_IN),
    spec("activity_id", Kind::Str, EQ_IN),
    spec("created_at", Kind::Date, RANGE),
];
pub const COMMENT_REACTION_FIELDS: &[FieldSpec] = &[
    spec("reaction_type", Kind::Str, EQ_IN),
    spec("user_id", Kind::Str, EQ_IN),
    spec("comment_id", Kind::Str, EQ_IN),
    spec("created_at", Kind::Date, RANGE),
];
pub const REACTION_SORT: &[&str] = &["created_at"];

pub const BOOKMARK_FIELDS: &[FieldSpec] = &[
    spec("activity_id", Kind::Str, EQ_IN),
    spec("object_id", Kind::Str, EQ_IN),
    spec("object_type", Kind::Str, EQ_IN),
    spec("user_id", Kind::Str, EQ_IN),
    spec("folder_id", Kind::Str, EQ_IN_EXISTS),
    spec("created_at", Kind::Date, RANGE),
    spec("updated_at", Kind::Date, RANGE),
];
pub const BOOKMARK_SORT: &[&str] = &["created_at", "updated_at"];

pub const FOLDER_FIELDS: &[FieldSpec] = &[
    spec("folder_name", Kind::Str, &[Op::Eq, Op::In, Op::Contains]),
    spec("user_id", Kind::Str, EQ_IN),
    spec("custom", Kind::Object, OBJECT_TEXT),
    spec("created_at", Kind::Date, RANGE),
    spec("updated_at", Kind::Date, RANGE),
];
pub const FOLDER_SORT: &[&str] = &["created_at", "updated_at"];

/// QueryMembershipLevels.
pub const MEMBERSHIP_LEVEL_FIELDS: &[FieldSpec] = &[
    spec("id", Kind::Str, EQ_IN),
    spec("name", Kind::Str, EQ_IN),
    spec("description", Kind::Str, EQ_IN),
    spec("priority", Kind::Num, RANGE),
    spec("tags", Kind::Tags, TAGS),
    spec("custom", Kind::Object, &[Op::Contains, Op::In, Op::PathExists]),
    spec("created_at", Kind::Date, RANGE),
    spec("updated_at", Kind::Date, RANGE),
];
pub const MEMBERSHIP_LEVEL_SORT: &[&str] = &["priority", "created_at", "updated_at"];
const SEARCH: &[Op] = &[Op::Eq, Op::Q, Op::Autocomplete];

/// QueryFeeds. `members`/`member_count` join this list with feed members.
pub const FEED_FIELDS: &[FieldSpec] = &[
    spec("id", Kind::Str, EQ_IN),
    spec("feed", Kind::Str, EQ_IN),
    spec("group_id", Kind::Str, EQ_IN),
    spec("created_by_id", Kind::Str, EQ_IN),
    spec("visibility", Kind::Str, EQ_IN),
    spec("name", Kind::Text, SEARCH),
    spec("description", Kind::Text, SEARCH),
    spec("created_by.name", Kind::Text, SEARCH),
    spec("filter_tags", Kind::Tags, TAGS),
    spec("activity_count", Kind::Num, RANGE),
    spec("follower_count", Kind::Num, RANGE),
    spec("following_count", Kind::Num, RANGE),
    spec("member_count", Kind::Num, RANGE),
    spec("members", Kind::Str, &[Op::In]),
    spec("created_at", Kind::Date, RANGE),
    spec("updated_at", Kind::Date, RANGE),
    spec("following_users", Kind::Str, &[Op::In]),
    spec("following_feeds", Kind::Str, &[Op::In]),
    spec("near", Kind::Near, EQ),
    spec("within_bounds", Kind::Bounds, EQ),
];
pub const FEED_SORT: &[&str] =
    &["created_at", "updated_at", "follower_count", "following_count", "member_count", "activity_count"];

const USER_DATE: &[Op] = &[Op::Eq, Op::In, Op::Gt, Op::Gte, Op::Lt, Op::Lte, Op::Exists];
const USER_OBJECT: &[Op] = &[Op::Eq, Op::In, Op::Gt, Op::Gte, Op::Lt, Op::Lte, Op::Exists, Op::Contains];

/// QueryUsers: the spec's fields this server stores. `email`, `username`,
/// `banned`, `shadow_banned`, `bypass_moderation` and `last_active` are
/// not kept, so filtering by them is refused (400 naming the field).
pub const USER_FIELDS: &[FieldSpec] = &[
    spec(
        "id",
        Kind::Str,
        &[Op::Eq, Op::Ne, Op::In, Op::Nin, Op::Gt, Op::Gte, Op::Lt, Op::Lte, Op::Exists, Op::Autocomplete],
    ),
    spec("name", Kind::Str, &[Op::Eq, Op::In, Op::Gt, Op::Gte, Op::Lt, Op::Lte, Op::Exists, Op::Autocomplete]),
    spec("role", Kind::Str, &[Op::Eq, Op::In, Op::Gt, Op::Gte, Op::Lt, Op::Lte, Op::Exists]),
    spec("teams", Kind::Tags, TAGS),
    spec("language", Kind::Str, EQ),
    spec("created_at", Kind::Date, USER_DATE),
    spec("updated_at", Kind::Date, USER_DATE),
    spec("custom", Kind::Object, USER_OBJECT),
];
pub const USER_SORT: &[&str] = &["id", "name", "role", "created_at", "updated_at"];

/// Bounds on what one filter may ask for (see `limits`).
use super::limits::{
    MAX_CONTAINS_DEPTH, MAX_CONTAINS_VALUES, MAX_FILTER_CONDITIONS as MAX_CONDITIONS, MAX_FILTER_DEPTH as MAX_DEPTH,
    MAX_PATH_BYTES, MAX_PATH_SEGMENTS,
};
const MAX_SORT: usize = 5;

/// Parses an optional `filter` against the endpoint's allow-list; absent or
/// `{}` matches all.
pub fn parse_optional(filter: Option<&Map<String, Value>>, fields: &[FieldSpec]) -> Result<Filter> {
    match filter {
        Some(f) => parse(f, fields),
        None => Ok(Filter::And(Vec::new())),
    }
}

/// Parses `filter` against the endpoint's allow-list. `{}` matches all.
pub fn parse(filter: &Map<String, Value>, fields: &[FieldSpec]) -> Result<Filter> {
    let mut budget = MAX_CONDITIONS;
    parse_object(filter, fields, 0, &mut budget)
}

/// A `sort` list checked against the endpoint's sortable fields, as
/// `(field, descending)`; `default` when the request has none. A missing
/// `direction` is ascending, as the spec documents.
pub fn parse_sort(
    sort: Option<&[SortParam]>,
    allowed: &[&'static str],
    default: (&'static str, bool),
) -> Result<Vec<(&'static str, bool)>> {
    let sort = sort.unwrap_or_default();
    if sort.is_empty() {
        return Ok(vec![default]);
    }
    if sort.len() > MAX_SORT {
        return Err(Error::field("sort", format!("sort takes at most {MAX_SORT} fields")));
    }
    sort.iter()
        .enumerate()
        .map(|(i, s)| {
            let name = s.field.as_deref().unwrap_or("");
            let field = allowed.iter().find(|f| **f == name).ok_or_else(|| {
                Error::field("sort", format!("cannot sort by {name:?}; sortable fields: {}", allowed.join(", ")))
            })?;
            Ok((*field, s.descending(i)?))
        })
        .collect()
}

fn parse_object(obj: &Map<String, Value>, fields: &[FieldSpec], depth: usize, budget: &mut usize) -> Result<Filter> {
    if depth > MAX_DEPTH {
        return Err(Error::field("filter", format!("filters nest at most {MAX_DEPTH} levels")));
    }
    let mut all = Vec::new();
    for (key, value) in obj {
        match key.as_str() {
            "$and" | "$or" => {
                let items = value
                    .as_array()
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| Error::field("filter", format!("{key} takes a non-empty list of filters")))?;
                let parts = items
                    .iter()
                    .map(|item| match item {
                        Value::Object(o) => parse_object(o, fields, depth + 1, budget),
                        _ => Err(Error::field("filter", format!("{key} items must be filter objects"))),
                    })
                    .collect::<Result<Vec<_>>>()?;
                all.push(if key == "$and" { Filter::And(parts) } else { Filter::Or(parts) });
            }
            op if op.starts_with('$') => {
                return Err(Error::field("filter", format!("unknown or unsupported operator {op:?}")));
            }
            field => all.extend(parse_field(field, value, fields, budget)?),
        }
    }
    Ok(if all.len() == 1 { all.remove(0) } else { Filter::And(all) })
}

/// A dotted path below a JSON field, each segment a plain key.
fn json_path(key: &str, path: &str) -> Result<Vec<String>> {
    // The field itself is one segment of the whole path.
    if path.len() > MAX_PATH_BYTES || path.split('.').count() + 1 > MAX_PATH_SEGMENTS {
        return Err(Error::field(
            key.split('.').next().unwrap_or(key),
            format!("filter paths have at most {MAX_PATH_SEGMENTS} segments and {MAX_PATH_BYTES} bytes"),
        ));
    }
    let parts: Vec<String> = path.split('.').map(str::to_string).collect();
    if parts.iter().any(|p| p.is_empty() || !p.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')) {
        return Err(Error::field(key, format!("invalid path {key:?}")));
    }
    Ok(parts)
}

fn parse_field(key: &str, value: &Value, fields: &[FieldSpec], budget: &mut usize) -> Result<Vec<Filter>> {
    let (root, path) = match key.split_once('.') {
        // A field whose name has a dot (`created_by.name`), not a path.
        Some(_) if fields.iter().any(|f| f.name == key) => (key, None),
        Some((root, path)) => (root, Some(path)),
        None => (key, None),
    };
    let spec = fields.iter().find(|f| f.name == root).ok_or_else(|| {
        let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
        Error::field(key, format!("cannot filter by {key:?}; filterable fields: {}", names.join(", ")))
    })?;
    let field = match (spec.kind, path) {
        (Kind::Object, Some(path)) => Field::Json { root: spec.name, path: json_path(key, path)? },
        (Kind::Object, None) => Field::Json { root: spec.name, path: Vec::new() },
        (_, Some(_)) => return Err(Error::field(key, format!("{root} has no nested fields"))),
        (_, None) => Field::Named(spec.name),
    };
    // `{"f": v}` is `{"f": {"$eq": v}}`; an object value holds operators.
    let ops: Vec<(Op, &Value)> = match value {
        Value::Object(o) if o.keys().all(|k| k.starts_with('$')) && !o.is_empty() => {
            o.iter().map(|(k, v)| Ok((Op::parse(k)?, v))).collect::<Result<_>>()?
        }
        _ => vec![(Op::Eq, value)],
    };
    let mut out = Vec::with_capacity(ops.len());
    for (op, operand) in ops {
        if !spec.ops.contains(&op) {
            return Err(Error::field(key, format!("operator {} is not supported for {key}", op.name())));
        }
        *budget = budget
            .checked_sub(1)
            .ok_or_else(|| Error::field("filter", format!("a filter has at most {MAX_CONDITIONS} conditions")))?;
        out.push(Filter::Cond(condition(key, &field, spec.kind, op, operand)?));
    }
    Ok(out)
}

fn string(key: &str, v: &Value) -> Result<String> {
    v.as_str().map(str::to_string).ok_or_else(|| Error::field(key, format!("{key} takes a string")))
}

fn strings(key: &str, v: &Value) -> Result<Vec<String>> {
    list(key, v)?.iter().map(|i| string(key, i)).collect()
}

fn list<'v>(key: &str, v: &'v Value) -> Result<&'v Vec<Value>> {
    let items = v.as_array().ok_or_else(|| Error::field(key, format!("{key} takes a list")))?;
    if items.len() > 100 {
        return Err(Error::field(key, format!("{key} lists at most 100 values")));
    }
    Ok(items)
}

fn date(key: &str, v: &Value) -> Result<Timestamp> {
    let t = match v {
        Value::String(s) => Timestamp::parse(s),
        Value::Number(n) => n.as_i64().map(Timestamp),
        _ => None,
    };
    t.ok_or_else(|| Error::field(key, format!("{key} takes a date (RFC 3339)")))
}

fn number(key: &str, v: &Value, name: &str) -> Result<f64> {
    v.get(name)
        .and_then(Value::as_f64)
        .filter(|n| n.is_finite())
        .ok_or_else(|| Error::field(key, format!("{key} needs a number {name}")))
}

fn search_text(key: &str, op: Op, v: &Value) -> Result<Operand> {
    let s = string(key, v)?;
    if op != Op::Eq && words(&s).is_empty() {
        return Err(Error::field(key, format!("{key} search needs some words")));
    }
    Ok(Operand::Str(s))
}

/// Keys of a `$contains` document end up in JSON paths; they are plain
/// text, so no quoting tricks reach the store. Each value becomes SQL on
/// SQLite, hence the bounds.
fn containable(key: &str, v: &Value) -> Result<()> {
    let mut stack = vec![(v, 0usize)];
    let mut values = 0usize;
    while let Some((node, depth)) = stack.pop() {
        values += 1;
        if values > MAX_CONTAINS_VALUES {
            return Err(Error::field(key, format!("{key} $contains holds at most {MAX_CONTAINS_VALUES} values")));
        }
        if depth > MAX_CONTAINS_DEPTH {
            return Err(Error::field(key, format!("{key} $contains nests at most {MAX_CONTAINS_DEPTH} levels")));
        }
        match node {
            Value::Object(o) => {
                for (k, child) in o {
                    if k.is_empty() || k.chars().any(|c| c == '"' || c == '\\' || c.is_control()) {
                        return Err(Error::field(key, format!("{key} $contains has an invalid key {k:?}")));
                    }
                    stack.push((child, depth + 1));
                }
            }
            Value::Array(items) => stack.extend(items.iter().map(|child| (child, depth + 1))),
            _ => {}
        }
    }
    Ok(())
}

fn condition(key: &str, field: &Field, kind: Kind, op: Op, v: &Value) -> Result<Condition> {
    let at_root = matches!(field, Field::Json { path, .. } if path.is_empty());
    let value = match (kind, op) {
        (_, Op::Exists) => Operand::Bool(v.as_bool().ok_or_else(|| Error::field(key, "$exists takes true or false"))?),
        (Kind::Str, Op::In | Op::Nin) => Operand::Strs(strings(key, v)?),
        (Kind::Str, Op::Autocomplete) => search_text(key, Op::Autocomplete, v)?,
        (Kind::Str, _) => {
            let s = string(key, v)?;
            if key == "feed" || key == "fid" {
                super::model::Fid::parse(&s).map_err(|e| Error::field(key, e.message))?;
            }
            Operand::Str(s)
        }
        (Kind::Date, Op::In) => Operand::Times(list(key, v)?.iter().map(|d| date(key, d)).collect::<Result<_>>()?),
        (Kind::Date, _) => Operand::Time(date(key, v)?),
        (Kind::Bool, _) => {
            Operand::Bool(v.as_bool().ok_or_else(|| Error::field(key, format!("{key} takes a boolean")))?)
        }
        (Kind::Num, _) => Operand::Num(
            v.as_f64().filter(|n| n.is_finite()).ok_or_else(|| Error::field(key, format!("{key} takes a number")))?,
        ),
        (Kind::Tags, Op::Contains) => Operand::Str(string(key, v)?),
        // One tag is a list of one (`teams: "red"`).
        (Kind::Tags, _) if v.is_string() => Operand::Strs(vec![string(key, v)?]),
        (Kind::Tags, _) => Operand::Strs(strings(key, v)?),
        (Kind::Object, Op::PathExists) => {
            if !at_root {
                return Err(Error::field(key, format!("$path_exists applies to {key} itself, with a dotted path")));
            }
            let Field::Json { root, .. } = field else { unreachable!("object kinds have JSON fields") };
            let path = json_path(key, &string(key, v)?)?;
            return Ok(Condition { field: Field::Json { root, path }, kind, op, value: Operand::Bool(true) });
        }
        (Kind::Object, Op::Contains) => {
            if at_root && !v.is_object() {
                return Err(Error::field(key, format!("{key} $contains takes an object")));
            }
            containable(key, v)?;
            Operand::Json(v.clone())
        }
        (Kind::Object, Op::In) if at_root => {
            let items = list(key, v)?;
            if !items.iter().all(Value::is_object) {
                return Err(Error::field(key, format!("{key} $in takes a list of objects")));
            }
            containable(key, v)?;
            Operand::JsonList(items.clone())
        }
        (Kind::Object, _) if at_root => {
            return Err(Error::field(key, format!("filter {key} by a dotted path such as {key}.name")));
        }
        (Kind::Object, Op::In) => {
            let items = list(key, v)?;
            if items.iter().any(|i| i.is_object() || i.is_array()) {
                return Err(Error::field(key, format!("{key} $in takes a list of scalars")));
            }
            Operand::JsonList(items.clone())
        }
        (Kind::Object, Op::Q | Op::Autocomplete) => search_text(key, op, v)?,
        (Kind::Object, _) if v.is_object() || v.is_array() || v.is_null() => {
            return Err(Error::field(key, format!("{key} compares with a string, number or boolean")))
        }
        (Kind::Object, Op::Eq) => Operand::Json(v.clone()),
        (Kind::Object, _) if v.is_boolean() => {
            return Err(Error::field(key, format!("{key} ranges take numbers or strings")))
        }
        (Kind::Object, _) => Operand::Json(v.clone()),
        (Kind::Text, _) => search_text(key, op, v)?,
        (Kind::Bounds, _) => {
            let (ne_lat, ne_lng) = (number(key, v, "ne_lat")?, number(key, v, "ne_lng")?);
            let (sw_lat, sw_lng) = (number(key, v, "sw_lat")?, number(key, v, "sw_lng")?);
            if !(-90.0..=90.0).contains(&ne_lat) || !(-90.0..=90.0).contains(&sw_lat) || sw_lat > ne_lat {
                return Err(Error::field(key, "within_bounds needs sw_lat <= ne_lat, both in [-90, 90]"));
            }
            Operand::Bounds { ne_lat, ne_lng, sw_lat, sw_lng }
        }
        (Kind::Near, _) => {
            let (lat, lng, km) = (number(key, v, "lat")?, number(key, v, "lng")?, number(key, v, "distance")?);
            if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lng) || km < 0.0 {
                return Err(Error::field(
                    key,
                    "near needs lat in [-90, 90], lng in [-180, 180] and distance >= 0 (km)",
                ));
            }
            Operand::Near { lat, lng, km }
        }
    };
    Ok(Condition { field: field.clone(), kind, op, value })
}

/// The words of a `$q` search: lowercase, split on anything not alphanumeric.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Great-circle distance in kilometres (haversine, mean Earth radius). The
/// stores compute the same formula in SQL for `near`.
pub fn distance_km(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let (dp, dl) = ((lat2 - lat1).to_radians(), (lng2 - lng1).to_radians());
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

pub const EARTH_RADIUS_KM: f64 = 6371.0;

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(v: Value) -> Result<Filter> {
        parse(v.as_object().expect("object"), ACTIVITY_FIELDS)
    }

    fn cond(field: Field, kind: Kind, op: Op, value: Operand) -> Filter {
        Filter::Cond(Condition { field, kind, op, value })
    }

    #[test]
    fn shorthand_operators_and_logic_parse_to_typed_conditions() {
        assert_eq!(p(json!({})).unwrap(), Filter::And(vec![]));
        assert_eq!(
            p(json!({"activity_type": "post"})).unwrap(),
            cond(Field::Named("activity_type"), Kind::Str, Op::Eq, Operand::Str("post".into()))
        );
        assert_eq!(
            p(json!({"created_at": {"$gte": "2025-07-30T12:00:00Z"}})).unwrap(),
            cond(Field::Named("created_at"), Kind::Date, Op::Gte, Operand::Time(Timestamp(1_753_876_800_000_000_000)))
        );
        assert_eq!(
            p(json!({"custom.priority": {"$gte": 3}})).unwrap(),
            cond(
                Field::Json { root: "custom", path: vec!["priority".into()] },
                Kind::Object,
                Op::Gte,
                Operand::Json(json!(3))
            )
        );
        assert_eq!(
            p(json!({"filter_tags": ["a", "b"]})).unwrap(),
            cond(Field::Named("filter_tags"), Kind::Tags, Op::Eq, Operand::Strs(vec!["a".into(), "b".into()]))
        );
        let f = p(json!({"$or": [{"user_id": "a"}, {"$and": [{"text": {"$q": "hi"}}, {"hidden": false}]}]})).unwrap();
        assert!(matches!(f, Filter::Or(ref parts) if parts.len() == 2));
        let two = p(json!({"created_at": {"$gt": "2025-01-01T00:00:00Z", "$lt": "2026-01-01T00:00:00Z"}})).unwrap();
        assert!(matches!(two, Filter::And(ref parts) if parts.len() == 2));
        assert_eq!(
            p(json!({"search_data": {"$path_exists": "campaign.id"}})).unwrap(),
            cond(
                Field::Json { root: "search_data", path: vec!["campaign".into(), "id".into()] },
                Kind::Object,
                Op::PathExists,
                Operand::Bool(true)
            )
        );
        assert_eq!(
            p(json!({"custom": {"$contains": {"a": [1]}}})).unwrap(),
            cond(
                Field::Json { root: "custom", path: vec![] },
                Kind::Object,
                Op::Contains,
                Operand::Json(json!({"a": [1]}))
            )
        );
        assert_eq!(
            p(json!({"near": {"$eq": {"lat": 52.0, "lng": 4.5, "distance": 10}}})).unwrap(),
            cond(Field::Named("near"), Kind::Near, Op::Eq, Operand::Near { lat: 52.0, lng: 4.5, km: 10.0 })
        );
    }

    #[test]
    fn sorts_are_checked_and_default_ascending() {
        let s = |v: Value| serde_json::from_value::<Vec<SortParam>>(v).unwrap();
        let parsed = parse_sort(
            Some(&s(json!([{"field": "popularity", "direction": -1}, {"field": "created_at"}]))),
            ACTIVITY_SORT,
            ("created_at", true),
        );
        assert_eq!(parsed.unwrap(), vec![("popularity", true), ("created_at", false)]);
        assert_eq!(parse_sort(None, ACTIVITY_SORT, ("created_at", true)).unwrap(), vec![("created_at", true)]);
        assert!(parse_sort(Some(&s(json!([{"field": "color"}]))), ACTIVITY_SORT, ("created_at", true)).is_err());
        let six = s(Value::Array(vec![json!({"field": "created_at"}); 6]));
        assert!(parse_sort(Some(&six), ACTIVITY_SORT, ("created_at", true)).is_err());
    }

    #[test]
    fn haversine_distances() {
        // Amsterdam to Rotterdam is about 57 km.
        let d = distance_km(52.3676, 4.9041, 51.9244, 4.4777);
        assert!((d - 57.0).abs() < 2.0, "{d}");
        assert_eq!(distance_km(10.0, 10.0, 10.0, 10.0), 0.0);
    }

    #[test]
    fn bad_filters_name_what_is_wrong() {
        let cases = [
            (json!({"color": "red"}), "color"),
            (json!({"user_id": {"$gt": "a"}}), "user_id"),
            (json!({"$nor": [{"id": "a"}]}), "$nor"),
            (json!({"id": {"$in": "a"}}), "id"),
            (json!({"created_at": {"$gt": "yesterday"}}), "created_at"),
            (json!({"expires_at": {"$exists": "yes"}}), "$exists"),
            (json!({"custom": {"a": 1}}), "custom"),
            (json!({"custom..a": 1}), "custom..a"),
            (json!({"text": {"$q": "  "}}), "text"),
            (json!({"$and": []}), "$and"),
            (json!({"feed": "no-colon"}), "feed"),
            (json!({"within_bounds": {"ne_lat": 1}}), "within_bounds"),
            (json!({"popularity": {"$gt": "many"}}), "popularity"),
            (json!({"popularity": {"$in": [1]}}), "popularity"),
            (json!({"custom": {"$contains": [1]}}), "custom"),
            (json!({"custom": {"$contains": {"a\"b": 1}}}), "custom"),
            (json!({"custom.a": {"$path_exists": "b"}}), "custom.a"),
            (json!({"search_data": {"$path_exists": "a..b"}}), "search_data"),
            (json!({"search_data": {"$in": [1, 2]}}), "search_data"),
            (json!({"search_data.a": {"$gt": 1}}), "search_data.a"),
            (json!({"near": {"lat": 1, "lng": 2}}), "near"),
            (json!({"near": {"lat": 91, "lng": 2, "distance": 1}}), "near"),
            (json!({"text": {"$q": "?!"}}), "text"),
        ];
        for (filter, needle) in cases {
            let err = p(filter.clone()).expect_err(&filter.to_string());
            assert_eq!(err.code, crate::core::error::Code::InputError);
            assert!(err.message.contains(needle) || err.fields.contains_key(needle), "{filter}: {}", err.message);
        }
    }

    #[test]
    fn nesting_and_size_are_bounded() {
        let mut deep = json!({"id": "x"});
        for _ in 0..7 {
            deep = json!({"$and": [deep]});
        }
        assert!(p(deep).is_err());
        let many: Vec<Value> = (0..101).map(|i| json!({"id": format!("a{i}")})).collect();
        assert!(p(json!({"$or": many})).is_err());
        let long = format!("custom{}", ".a".repeat(MAX_PATH_SEGMENTS));
        assert!(p(json!({ long: 1 })).is_err());
        let wide: Map<String, Value> = (0..MAX_CONTAINS_VALUES).map(|i| (format!("k{i}"), json!(i))).collect();
        assert!(p(json!({"custom": {"$contains": wide}})).is_err());
    }

    /// A tiny xorshift generator: random JSON never makes `parse` panic, and
    /// every failure is an input error.
    #[test]
    fn random_json_never_panics() {
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let keys = [
            "id",
            "user_id",
            "custom.a",
            "custom",
            "search_data",
            "filter_tags",
            "text",
            "near",
            "lat",
            "$and",
            "$or",
            "$in",
            "$q",
            "$contains",
            "$path_exists",
            "x",
            "created_at",
        ];
        fn value(next: &mut dyn FnMut() -> u64, keys: &[&str], depth: u32) -> Value {
            match next() % if depth > 3 { 5 } else { 7 } {
                0 => Value::Null,
                1 => json!(next().is_multiple_of(2)),
                2 => json!((next() % 1000) as i64 - 500),
                3 => json!(keys[(next() % keys.len() as u64) as usize]),
                4 => json!("2025-07-30T12:00:00Z"),
                5 => Value::Array((0..next() % 4).map(|_| value(next, keys, depth + 1)).collect()),
                _ => Value::Object(
                    (0..next() % 4)
                        .map(|_| {
                            (keys[(next() % keys.len() as u64) as usize].to_string(), value(next, keys, depth + 1))
                        })
                        .collect(),
                ),
            }
        }
        for _ in 0..5000 {
            if let Value::Object(o) = value(&mut next, &keys, 0) {
                if let Err(e) = parse(&o, ACTIVITY_FIELDS) {
                    assert_eq!(e.code, crate::core::error::Code::InputError);
                }
            }
        }
    }

    #[test]
    fn user_filters_take_their_own_operators_only() {
        let u = |v: Value| parse(v.as_object().expect("object"), USER_FIELDS);
        assert_eq!(
            u(json!({"id": {"$nin": ["a"]}})).unwrap(),
            cond(Field::Named("id"), Kind::Str, Op::Nin, Operand::Strs(vec!["a".into()]))
        );
        assert_eq!(
            u(json!({"teams": "red"})).unwrap(),
            cond(Field::Named("teams"), Kind::Tags, Op::Eq, Operand::Strs(vec!["red".into()]))
        );
        assert_eq!(
            u(json!({"created_at": {"$in": ["2025-07-30T12:00:00Z", 5]}})).unwrap(),
            cond(
                Field::Named("created_at"),
                Kind::Date,
                Op::In,
                Operand::Times(vec![Timestamp(1_753_876_800_000_000_000), Timestamp(5)])
            )
        );
        assert!(u(json!({"name": {"$autocomplete": "jo"}})).is_ok());
        for bad in [
            json!({"role": {"$ne": "admin"}}),
            json!({"name": {"$nin": ["x"]}}),
            json!({"email": "a@b.c"}),
            json!({"created_at": {"$in": ["never"]}}),
        ] {
            assert!(u(bad.clone()).is_err(), "{bad}");
        }
        assert!(p(json!({"user_id": {"$ne": "a"}})).is_err(), "other lists have no $ne");
    }

    #[test]
    fn search_words_are_lowercase_alphanumeric_runs() {
        assert_eq!(words("Hello, World! it's 2025"), vec!["hello", "world", "it", "s", "2025"]);
    }
}
