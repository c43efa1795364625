//! The seam between the shared operations (`store::ops`) and the two
//! database drivers. An operation opens a transaction (`Db::write`) or a
//! read (`Db::read`), runs statements through `Tx` with neutral arguments,
//! and reads neutral rows back; nothing above this file knows which driver
//! runs it.
//!
//! Shared SQL is written once, in PostgreSQL's spelling for the two things
//! the drivers translate mechanically: placeholders (`$1`) and list
//! parameters (`col = ANY($1)`). The SQLite driver rewrites them to `?1`
//! and `col IN rarray(?1)` when it prepares a statement. Differences that
//! are more than spelling are named fragments in `store::dialect`.

use async_trait::async_trait;
use serde::de::DeserializeOwned;

use crate::core::error::{Error, Result};
use crate::core::time::Timestamp;

/// The channel configuration writes notify on PostgreSQL
/// (`dialect::announce_config`) and every instance's store listens on.
pub const CONFIG_CHANNEL: &str = "tributary_config";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A bound parameter, and a value read back from a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Null,
    /// Text, or a JSON document: PostgreSQL binds text to a `jsonb`
    /// parameter as the document it spells.
    Text(String),
    Int(i64),
    Real(f64),
    Bool(bool),
    /// A list for `= ANY($n)`: a text[] on PostgreSQL, an `rarray` on SQLite.
    Texts(Vec<String>),
}

impl Arg {
    /// A record as its stored JSON document.
    pub fn doc<T: serde::Serialize>(value: &T) -> Result<Arg> {
        serde_json::to_string(value).map(Arg::Text).map_err(Error::internal)
    }
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_string())
    }
}
impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}
impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Arg::Text(s.clone())
    }
}
impl From<i64> for Arg {
    fn from(i: i64) -> Self {
        Arg::Int(i)
    }
}
impl From<usize> for Arg {
    fn from(i: usize) -> Self {
        Arg::Int(i64::try_from(i).unwrap_or(i64::MAX))
    }
}
impl From<f64> for Arg {
    fn from(r: f64) -> Self {
        Arg::Real(r)
    }
}
impl From<bool> for Arg {
    fn from(b: bool) -> Self {
        Arg::Bool(b)
    }
}
impl From<Timestamp> for Arg {
    fn from(t: Timestamp) -> Self {
        Arg::Int(t.0)
    }
}
impl From<Vec<String>> for Arg {
    fn from(v: Vec<String>) -> Self {
        Arg::Texts(v)
    }
}
impl From<&[String]> for Arg {
    fn from(v: &[String]) -> Self {
        Arg::Texts(v.to_vec())
    }
}
impl From<&Vec<String>> for Arg {
    fn from(v: &Vec<String>) -> Self {
        Arg::Texts(v.clone())
    }
}
impl<T: Into<Arg>> From<Option<T>> for Arg {
    fn from(v: Option<T>) -> Self {
        v.map_or(Arg::Null, Into::into)
    }
}

impl From<&Option<String>> for Arg {
    fn from(v: &Option<String>) -> Self {
        v.as_ref().map_or(Arg::Null, Into::into)
    }
}

/// `args![a, b, c]`: the statement arguments, each converted with `Arg::from`.
#[macro_export]
macro_rules! args {
    ($($a:expr),* $(,)?) => { &[$($crate::store::db::Arg::from($a)),*] as &[$crate::store::db::Arg] };
}

/// One row of a result, its columns in select order.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Arg>);

fn column_type(i: usize, want: &str, got: &Arg) -> Error {
    Error::internal(format!("column {i}: expected {want}, found {got:?}"))
}

impl Row {
    fn at(&self, i: usize) -> Result<&Arg> {
        self.0.get(i).ok_or_else(|| Error::internal(format!("no column {i}")))
    }

    pub fn opt_str(&self, i: usize) -> Result<Option<&str>> {
        match self.at(i)? {
            Arg::Text(s) => Ok(Some(s)),
            Arg::Null => Ok(None),
            other => Err(column_type(i, "text", other)),
        }
    }

    pub fn str(&self, i: usize) -> Result<&str> {
        self.opt_str(i)?.ok_or_else(|| column_type(i, "text", &Arg::Null))
    }

    pub fn text(&self, i: usize) -> Result<String> {
        self.str(i).map(str::to_string)
    }

    pub fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        match self.at(i)? {
            Arg::Int(n) => Ok(Some(*n)),
            Arg::Bool(b) => Ok(Some(i64::from(*b))),
            Arg::Null => Ok(None),
            other => Err(column_type(i, "integer", other)),
        }
    }

    pub fn int(&self, i: usize) -> Result<i64> {
        self.opt_int(i)?.ok_or_else(|| column_type(i, "integer", &Arg::Null))
    }

    pub fn opt_real(&self, i: usize) -> Result<Option<f64>> {
        match self.at(i)? {
            Arg::Real(r) => Ok(Some(*r)),
            Arg::Int(n) => Ok(Some(*n as f64)),
            Arg::Null => Ok(None),
            other => Err(column_type(i, "number", other)),
        }
    }

    /// A truth value: a boolean on PostgreSQL, 0 or 1 on SQLite.
    pub fn bool(&self, i: usize) -> Result<bool> {
        match self.at(i)? {
            Arg::Bool(b) => Ok(*b),
            Arg::Int(n) => Ok(*n != 0),
            other => Err(column_type(i, "boolean", other)),
        }
    }

    /// A stored JSON document, decoded.
    pub fn doc<T: DeserializeOwned>(&self, i: usize) -> Result<T> {
        serde_json::from_str(self.str(i)?).map_err(|e| Error::internal(format!("corrupt stored record: {e}")))
    }

    pub fn opt_doc<T: DeserializeOwned>(&self, i: usize) -> Result<Option<T>> {
        self.opt_str(i)?
            .map(|s| serde_json::from_str(s).map_err(|e| Error::internal(format!("corrupt stored record: {e}"))))
            .transpose()
    }
}

/// A transaction (from `Db::write`) or a read (from `Db::read`) on one
/// connection. A write that is dropped without `commit` rolls back.
#[async_trait]
pub trait Tx: Send {
    fn dialect(&self) -> Dialect;
    /// Runs a statement; returns the rows it changed. Statements are kept
    /// prepared per connection, in a cache of bounded size on both drivers.
    async fn exec(&mut self, sql: &str, args: &[Arg]) -> Result<u64>;
    async fn rows(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<Row>>;
    /// `rows` for statements built per request (filters): PostgreSQL's
    /// per-connection statement cache starts afresh when full, so texts that
    /// seldom recur would keep flushing the constant statements out of it;
    /// they are not kept there. SQLite's is an LRU, and keeps them.
    async fn rows_once(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<Row>>;
    async fn commit(self: Box<Self>) -> Result<()>;
    /// Events were written: when this transaction commits, the event
    /// readers of every process hear of it (`EventStore::event_writes`).
    async fn announce_events(&mut self) -> Result<()>;
}

impl dyn Tx + '_ {
    /// The first row, if any.
    pub async fn row(&mut self, sql: &str, args: &[Arg]) -> Result<Option<Row>> {
        Ok(self.rows(sql, args).await?.into_iter().next())
    }

    /// The documents in the first column of every row.
    pub async fn docs<T: DeserializeOwned>(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<T>> {
        self.rows(sql, args).await?.iter().map(|r| r.doc(0)).collect()
    }

    /// The document in the first column of the first row, if any.
    pub async fn doc<T: DeserializeOwned>(&mut self, sql: &str, args: &[Arg]) -> Result<Option<T>> {
        self.row(sql, args).await?.map(|r| r.doc(0)).transpose()
    }

    /// The texts in the first column of every row.
    pub async fn texts(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<String>> {
        self.rows(sql, args).await?.iter().map(|r| r.text(0)).collect()
    }

    /// The integer in the first column of the first row (0 without rows).
    pub async fn int(&mut self, sql: &str, args: &[Arg]) -> Result<i64> {
        match self.row(sql, args).await? {
            Some(r) => Ok(r.opt_int(0)?.unwrap_or(0)),
            None => Ok(0),
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.dialect() == Dialect::Postgres
    }
}

/// A database the shared operations run on: a driver.
#[async_trait]
pub trait Db: Send + Sync + 'static {
    fn dialect(&self) -> Dialect;
    /// A connection for reads, outside any write transaction.
    async fn read(&self) -> Result<Box<dyn Tx + '_>>;
    /// A new write transaction.
    async fn write(&self) -> Result<Box<dyn Tx + '_>>;
    /// Counts committed event writes (this process's, and on PostgreSQL
    /// every process's): a reader waits for it to change.
    fn event_writes(&self) -> tokio::sync::watch::Receiver<u64>;
    /// Configuration writes of every process sharing the database, where
    /// there can be others (`ConfigStore::config_writes`).
    fn config_writes(&self) -> Option<tokio::sync::watch::Receiver<crate::core::storage::ConfigWrites>> {
        None
    }
    /// The connection pool's use, where there is a pool (`MonitorStore`).
    fn pool_use(&self) -> Option<crate::core::storage::PoolUse> {
        None
    }
}

/// Rewrites shared SQL for SQLite: `$n` → `?n` and `= ANY($n)` →
/// ` IN rarray(?n)`, outside quoted strings. Runs before every statement,
/// so it copies the text between rewrites in slices; the patterns are
/// ASCII, so every slice boundary is a character boundary.
pub fn sqlite_spelling(sql: &str) -> String {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 16);
    let (mut i, mut copied, mut quoted) = (0, 0, false);
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'=' if !quoted && bytes[i..].starts_with(b"= ANY($") => {
                let digits = bytes[i + 7..].iter().take_while(|b| b.is_ascii_digit()).count();
                if digits > 0 && bytes.get(i + 7 + digits) == Some(&b')') {
                    out.push_str(&sql[copied..i]);
                    out.push_str("IN rarray(?");
                    out.push_str(&sql[i + 7..i + 7 + digits]);
                    out.push(')');
                    i += 8 + digits;
                    copied = i;
                    continue;
                }
            }
            b'$' if !quoted && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                out.push_str(&sql[copied..i]);
                out.push('?');
                copied = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push_str(&sql[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::sqlite_spelling;

    #[test]
    fn sqlite_spelling_rewrites_placeholders_and_lists_outside_strings() {
        assert_eq!(
            sqlite_spelling("SELECT doc FROM t WHERE id = ANY($1) AND x = $2 AND p = '$.a' AND q = '$3'"),
            "SELECT doc FROM t WHERE id IN rarray(?1) AND x = ?2 AND p = '$.a' AND q = '$3'"
        );
        assert_eq!(sqlite_spelling("a <> $10 é"), "a <> ?10 é");
    }
}
