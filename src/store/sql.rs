//! SQL both stores share: the translation of a query filter (`core::filter`)
//! into a WHERE clause over `activities a`, with every value bound as a
//! parameter. The two dialects differ only in JSON access, placeholders,
//! list parameters and booleans, which `Dialect` spells out.

use serde_json::Value;

use crate::core::error::{Error, Result};
use crate::core::filter::{self, Condition, Field, Filter, Op, Operand};
use crate::core::model::Fid;
use crate::core::time::Timestamp;
use crate::store::{ActivityQuery, FeedSlice, Reader};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A bound parameter, converted to the driver's type by each store.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlParam {
    Text(String),
    Int(i64),
    Real(f64),
    Bool(bool),
    /// A text[] on PostgreSQL; SQLite expands lists into several `?`.
    Texts(Vec<String>),
}

pub struct SqlBuilder {
    pub dialect: Dialect,
    pub params: Vec<SqlParam>,
}

impl SqlBuilder {
    pub fn new(dialect: Dialect) -> Self {
        SqlBuilder { dialect, params: Vec::new() }
    }

    /// Binds `p` and returns its placeholder.
    pub fn bind(&mut self, p: SqlParam) -> String {
        self.params.push(p);
        match self.dialect {
            Dialect::Sqlite => "?".into(),
            Dialect::Postgres => format!("${}", self.params.len()),
        }
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
                let marks: Vec<String> = values.iter().map(|v| self.bind(SqlParam::Text(v.clone()))).collect();
                format!("{column} IN ({})", marks.join(", "))
            }
            Dialect::Postgres => format!("{column} = ANY({})", self.bind(SqlParam::Texts(values.to_vec()))),
        }
    }

    /// The text of a top-level JSON field of the activity document.
    fn doc_text(&self, field: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("json_extract(a.doc, '$.{field}')"),
            Dialect::Postgres => format!("(a.doc->>'{field}')"),
        }
    }

    /// A JSON value at `root.path…` (bound path, so no user text in SQL).
    fn doc_path(&mut self, root: &str, path: &[String]) -> String {
        match self.dialect {
            Dialect::Sqlite => {
                let quoted: String = path.iter().map(|p| format!(".\"{p}\"")).collect();
                let p = self.bind(SqlParam::Text(format!("$.{root}{quoted}")));
                format!("json_extract(a.doc, {p})")
            }
            Dialect::Postgres => {
                let mut parts = vec![root.to_string()];
                parts.extend(path.iter().cloned());
                let p = self.bind(SqlParam::Texts(parts));
                format!("(a.doc #> {p}::text[])")
            }
        }
    }

    /// A scalar to compare with a `doc_path` value.
    fn json_scalar(&mut self, v: &Value) -> String {
        match self.dialect {
            Dialect::Sqlite => match v {
                Value::Bool(b) => self.bind(SqlParam::Int(i64::from(*b))),
                Value::Number(n) => match n.as_i64() {
                    Some(i) => self.bind(SqlParam::Int(i)),
                    None => self.bind(SqlParam::Real(n.as_f64().unwrap_or_default())),
                },
                Value::String(s) => self.bind(SqlParam::Text(s.clone())),
                _ => "NULL".into(),
            },
            Dialect::Postgres => format!("{}::text::jsonb", self.bind(SqlParam::Text(v.to_string()))),
        }
    }

    /// Activities whose `field` array holds every tag (`all`) or one of them.
    fn tags(&mut self, field: &str, tags: &[String], all: bool) -> String {
        if tags.is_empty() {
            return self.truth(all).into();
        }
        match self.dialect {
            Dialect::Sqlite => {
                let each = |test: String| {
                    format!("EXISTS (SELECT 1 FROM json_each(a.doc, '$.{field}') t WHERE t.value {test})")
                };
                if all {
                    let parts: Vec<String> =
                        tags.iter().map(|t| each(format!("= {}", self.bind(SqlParam::Text(t.clone()))))).collect();
                    format!("({})", parts.join(" AND "))
                } else {
                    let marks: Vec<String> = tags.iter().map(|t| self.bind(SqlParam::Text(t.clone()))).collect();
                    each(format!("IN ({})", marks.join(", ")))
                }
            }
            Dialect::Postgres => {
                let op = if all { "?&" } else { "?|" };
                format!("((a.doc->'{field}') {op} {}::text[])", self.bind(SqlParam::Texts(tags.to_vec())))
            }
        }
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

    /// The WHERE clause of an activity filter. `viewer` answers `hidden`.
    pub fn activity_filter(&mut self, f: &Filter, viewer: Option<&str>) -> Result<String> {
        Ok(match f {
            Filter::And(parts) if parts.is_empty() => self.truth(true).into(),
            Filter::Or(parts) if parts.is_empty() => self.truth(false).into(),
            Filter::And(parts) => {
                let sql = parts.iter().map(|p| self.activity_filter(p, viewer)).collect::<Result<Vec<_>>>()?;
                format!("({})", sql.join(" AND "))
            }
            Filter::Or(parts) => {
                let sql = parts.iter().map(|p| self.activity_filter(p, viewer)).collect::<Result<Vec<_>>>()?;
                format!("({})", sql.join(" OR "))
            }
            Filter::Cond(c) => self.condition(c, viewer)?,
        })
    }

    fn condition(&mut self, c: &Condition, viewer: Option<&str>) -> Result<String> {
        let column = |name: &str| match name {
            "id" => "a.id".to_string(),
            "user_id" => "a.user_id".to_string(),
            "created_at" => "a.created_at".to_string(),
            "expires_at" => "a.expires_at".to_string(),
            other => other.to_string(),
        };
        Ok(match (&c.field, c.op, &c.value) {
            (Field::Named(name @ ("id" | "user_id")), Op::Eq, Operand::Str(v)) => {
                format!("{} = {}", column(name), self.bind(SqlParam::Text(v.clone())))
            }
            (Field::Named(name @ ("id" | "user_id")), Op::In, Operand::Strs(v)) => self.in_list(&column(name), v),
            (Field::Named("activity_type"), Op::Eq, Operand::Str(v)) => {
                format!("{} = {}", self.doc_text("type"), self.bind(SqlParam::Text(v.clone())))
            }
            (Field::Named("activity_type"), Op::In, Operand::Strs(v)) => {
                let col = self.doc_text("type");
                self.in_list(&col, v)
            }
            (Field::Named("feed"), _, value) => {
                let fids = match value {
                    Operand::Str(s) => vec![s.clone()],
                    Operand::Strs(v) => v.clone(),
                    _ => Vec::new(),
                };
                let direct = self.truth(true);
                let list = self.in_list("f.fid", &fids);
                format!("EXISTS (SELECT 1 FROM feed_entries f WHERE f.activity_id = a.id AND f.direct = {direct} AND {list})")
            }
            (Field::Named(name @ ("created_at" | "expires_at")), Op::Exists, Operand::Bool(b)) => {
                format!("{} IS {}NULL", column(name), if *b { "NOT " } else { "" })
            }
            (Field::Named(name @ ("created_at" | "expires_at")), op, Operand::Time(t)) => {
                format!("{} {} {}", column(name), Self::compare(op), self.bind(SqlParam::Int(t.0)))
            }
            (Field::Named(name @ ("filter_tags" | "interest_tags")), Op::Eq, Operand::Strs(tags)) => {
                self.tags(name, tags, true)
            }
            (Field::Named(name @ ("filter_tags" | "interest_tags")), Op::In, Operand::Strs(tags)) => {
                self.tags(name, tags, false)
            }
            (Field::Named(name @ ("filter_tags" | "interest_tags")), Op::Contains, Operand::Str(tag)) => {
                self.tags(name, std::slice::from_ref(tag), true)
            }
            (Field::Custom(path), Op::Exists, Operand::Bool(b)) => {
                let value = self.doc_path("custom", path);
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
            (Field::Custom(path), Op::In, Operand::JsonList(values)) => {
                if values.is_empty() {
                    return Ok(self.truth(false).into());
                }
                let parts: Vec<String> = values
                    .iter()
                    .map(|v| {
                        let value = self.doc_path("custom", path);
                        let scalar = self.json_scalar(v);
                        format!("{value} = {scalar}")
                    })
                    .collect();
                format!("({})", parts.join(" OR "))
            }
            (Field::Custom(path), op, Operand::Json(v)) => {
                let value = self.doc_path("custom", path);
                let scalar = self.json_scalar(v);
                format!("{value} {} {scalar}", Self::compare(op))
            }
            (Field::Named("text"), Op::Eq, Operand::Str(v)) => {
                format!("{} = {}", self.doc_text("text"), self.bind(SqlParam::Text(v.clone())))
            }
            (Field::Named("text"), Op::Q, Operand::Str(q)) => {
                // Every word of the query, case-insensitively. Words are
                // alphanumeric runs, so they hold no LIKE wildcards.
                let text = format!("lower({})", self.doc_text("text"));
                let parts: Vec<String> = filter::words(q)
                    .into_iter()
                    .map(|w| format!("{text} LIKE {}", self.bind(SqlParam::Text(format!("%{w}%")))))
                    .collect();
                if parts.is_empty() {
                    return Ok(self.truth(false).into());
                }
                format!("({})", parts.join(" AND "))
            }
            (Field::Named("text"), Op::Autocomplete, Operand::Str(q)) => {
                let prefix = filter::words(q).join(" ");
                if prefix.is_empty() {
                    return Ok(self.truth(false).into());
                }
                let text = format!("lower({})", self.doc_text("text"));
                let start = self.bind(SqlParam::Text(format!("{prefix}%")));
                let inner = self.bind(SqlParam::Text(format!("% {prefix}%")));
                format!("({text} LIKE {start} OR {text} LIKE {inner})")
            }
            (Field::Named("popularity"), op, Operand::Num(n)) => {
                // The same sum the response's `popularity` shows: reactions
                // plus three per live share, from indexed counts.
                let threshold = self.bind(SqlParam::Real(*n));
                let threshold = match self.dialect {
                    Dialect::Sqlite => threshold,
                    Dialect::Postgres => format!("{threshold}::float8"),
                };
                format!(
                    "((SELECT COUNT(*) FROM reactions r WHERE r.activity_id = a.id)
                      + 3 * (SELECT COUNT(*) FROM activities s WHERE s.parent_id = a.id AND s.deleted_at IS NULL)) {} {}",
                    Self::compare(op),
                    threshold
                )
            }
            (Field::Named("hidden"), Op::Eq, Operand::Bool(hidden)) => {
                let Some(viewer) = viewer else { return Ok(self.truth(!hidden).into()) };
                let user = self.bind(SqlParam::Text(viewer.to_string()));
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
                let (lat, lng) = match self.dialect {
                    Dialect::Sqlite => (
                        "json_extract(a.doc, '$.location.lat')".to_string(),
                        "json_extract(a.doc, '$.location.lng')".to_string(),
                    ),
                    Dialect::Postgres => (
                        "((a.doc #>> '{location,lat}')::float8)".to_string(),
                        "((a.doc #>> '{location,lng}')::float8)".to_string(),
                    ),
                };
                let (s, n) = (self.bind(SqlParam::Real(*sw_lat)), self.bind(SqlParam::Real(*ne_lat)));
                let (w, e) = (self.bind(SqlParam::Real(*sw_lng)), self.bind(SqlParam::Real(*ne_lng)));
                // A box across the antimeridian has its west edge east of its east edge.
                let lng_ok = if sw_lng <= ne_lng {
                    format!("{lng} >= {w} AND {lng} <= {e}")
                } else {
                    format!("({lng} >= {w} OR {lng} <= {e})")
                };
                format!("({lat} >= {s} AND {lat} <= {n} AND {lng_ok})")
            }
            // The parser only builds the combinations above; anything else
            // is a bug between the two, not bad input.
            (field, op, _) => return Err(Error::internal(format!("no SQL for {field:?} {op:?}"))),
        })
    }
}

/// The whole QueryActivities statement: filter, lifecycle and visibility
/// rules, keyset position, order and limit.
pub fn activity_query(dialect: Dialect, q: &ActivityQuery) -> Result<(String, Vec<SqlParam>)> {
    let mut b = SqlBuilder::new(dialect);
    let viewer = q.reader.viewer.as_deref();
    let mut clauses = vec![b.activity_filter(&q.filter, viewer)?];
    if !q.include_deleted {
        clauses.push("a.deleted_at IS NULL".into());
    }
    if !q.include_expired {
        clauses.push(format!("(a.expires_at IS NULL OR a.expires_at > {})", b.bind(SqlParam::Int(q.now.0))));
    }
    if q.reader.restricted {
        let visibility = b.doc_text("visibility");
        let me = b.bind(SqlParam::Text(viewer.unwrap_or_default().to_string()));
        clauses.push(format!("({visibility} <> 'private' OR a.user_id = {me})"));
    }
    let descending = q.newest_first != q.backwards;
    let mut position = None;
    if let Some(p) = &q.position {
        let (t, id) = (b.bind(SqlParam::Int(p.created_at.0)), b.bind(SqlParam::Text(p.activity_id.clone())));
        position = Some(format!("{} ({t}, {id})", if descending { "<" } else { ">" }));
    }
    let order = if descending { "DESC" } else { "ASC" };
    let limit = b.bind(SqlParam::Int(q.limit as i64));
    let sql = match dialect {
        // SQLite walks the (created_at, id) index in order and stops at the
        // limit on its own.
        Dialect::Sqlite => {
            clauses.extend(position.map(|p| format!("(a.created_at, a.id) {p}")));
            format!(
                "SELECT a.doc FROM activities a WHERE {} ORDER BY a.created_at {order}, a.id {order} LIMIT {limit}",
                clauses.join(" AND ")
            )
        }
        // PostgreSQL cannot estimate JSON predicates and would rather sort the
        // whole table; `OFFSET 0` keeps the ordered index scan as a subquery
        // the filter reads from until the limit is reached.
        Dialect::Postgres => {
            let start = position.map(|p| format!("WHERE (created_at, id) {p}")).unwrap_or_default();
            format!(
                "SELECT a.doc::text FROM (SELECT * FROM activities {start}
                     ORDER BY created_at {order}, id {order} OFFSET 0) a
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
pub fn feed_page(
    dialect: Dialect,
    fid: &Fid,
    slice: &FeedSlice,
    limit: usize,
    now: Timestamp,
    reader: &Reader,
    filter: Option<&Filter>,
) -> Result<(String, Vec<SqlParam>)> {
    let mut b = SqlBuilder::new(dialect);
    let mut clauses = vec![
        format!("e.fid = {}", b.bind(SqlParam::Text(fid.to_string()))),
        format!("(e.visible_until IS NULL OR e.visible_until > {})", b.bind(SqlParam::Int(now.0))),
    ];
    let viewer = reader.viewer.as_deref();
    if reader.restricted {
        let me = b.bind(SqlParam::Text(viewer.unwrap_or_default().to_string()));
        clauses.push(format!("(e.private_to IS NULL OR e.private_to = {me})"));
    }
    if let Some(viewer) = viewer {
        let (user, yes) = (b.bind(SqlParam::Text(viewer.to_string())), b.truth(true));
        clauses.push(format!(
            "NOT EXISTS (SELECT 1 FROM activity_feedback h
                         WHERE h.user_id = {user} AND h.activity_id = e.activity_id AND h.hide = {yes})"
        ));
    }
    let (order, position) = match slice {
        FeedSlice::Start => ("DESC", None),
        FeedSlice::Older(p) => ("DESC", Some((p, "<"))),
        FeedSlice::Newer(p) => ("ASC", Some((p, ">"))),
    };
    if let Some((p, cmp)) = position {
        let (t, id) = (b.bind(SqlParam::Int(p.created_at.0)), b.bind(SqlParam::Text(p.activity_id.clone())));
        clauses.push(format!("(e.created_at, e.activity_id) {cmp} ({t}, {id})"));
    }
    if let Some(filter) = filter {
        clauses.push(b.activity_filter(filter, viewer)?);
    }
    let limit = b.bind(SqlParam::Int(limit as i64));
    let doc = if dialect == Dialect::Postgres { "a.doc::text" } else { "a.doc" };
    let sql = format!(
        "SELECT {doc} FROM feed_entries e JOIN activities a ON a.id = e.activity_id WHERE {}
         ORDER BY e.created_at {order}, e.activity_id {order} LIMIT {limit}",
        clauses.join(" AND ")
    );
    Ok((sql, b.params))
}
