//! Pagination cursors: opaque, tamper-evident and bound to the query they
//! came from. A cursor is `payload || mac`, URL-safe base64 without padding:
//!
//! - the payload is a position (`1`, created_at as 8 bytes, activity id) or
//!   an offset (`2`, 8 bytes);
//! - the MAC is HMAC-SHA256 truncated to 16 bytes, keyed with a key derived
//!   from the app's API secret (so cursors survive restarts and work on every
//!   instance sharing the secret), over `scope digest || payload`;
//! - the scope digest is SHA-256 over the operation's name and each query
//!   part the call site binds: what decides which items a page holds and in
//!   which order (feed id, object id, filter, sort, flags). `limit` is never
//!   bound, so the page size may change between pages; neither is the caller:
//!   a cursor holds only a position and every page applies the caller's own
//!   permissions.
//!
//! Decoding checks the MAC in constant time before reading the payload; every
//! failure (garbled, cut, altered, from another endpoint or query) is the same
//! 400 "invalid cursor", so clients cannot probe which part was wrong.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::error::{Error, Result};
use super::time::Timestamp;

type HmacSha256 = Hmac<Sha256>;

const POSITION: u8 = 1;
const OFFSET: u8 = 2;
const BYTES: u8 = 3;
const MAC_LEN: usize = 16;
/// Longer strings are refused before any decoding: no valid cursor is.
const MAX_CURSOR_LEN: usize = 1024;

/// The key cursors are signed with.
#[derive(Clone)]
pub struct CursorKey([u8; 32]);

impl CursorKey {
    /// The key of an app: HMAC(api secret, "tributary cursor v1"), the same
    /// on every instance and after restarts.
    pub fn derive(api_secret: &str) -> CursorKey {
        CursorKey(keyed(api_secret.as_bytes()).chain_update(b"tributary cursor v1").finalize().into_bytes().into())
    }

    /// A key of this process only: its cursors die with it. For contexts
    /// built without an app secret (tools, benches).
    pub fn random() -> CursorKey {
        CursorKey(rand::random())
    }

    /// The scope of one operation; bind the query parts that decide its
    /// results before encoding or decoding.
    pub fn scope(&self, operation: &'static str) -> Scope {
        let mut query = Sha256::new();
        query.update(operation.as_bytes());
        query.update(b"\n");
        Scope { key: self.clone(), operation, query, field: None }
    }
}

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

fn keyed(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; this cannot fail.
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts any key length")
}

/// What cursors are bound to: an operation and the query parts bound to it.
#[derive(Clone)]
pub struct Scope {
    key: CursorKey,
    operation: &'static str,
    query: Sha256,
    /// The request field errors name instead of `next`/`prev`.
    field: Option<&'static str>,
}

impl std::fmt::Debug for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope").field("operation", &self.operation).finish_non_exhaustive()
    }
}

impl Scope {
    /// Binds one more query part, as its compact JSON (objects have sorted
    /// keys, so equal JSON binds equally).
    pub fn bind<T: serde::Serialize + ?Sized>(mut self, part: &T) -> Scope {
        // Compact JSON holds no raw newline, so the separator keeps parts apart.
        let json = serde_json::to_vec(part).unwrap_or_else(|e| e.to_string().into_bytes());
        self.query.update(&json);
        self.query.update(b"\n");
        self
    }

    /// Names `field` (e.g. `followers_pagination`) in errors, for cursors
    /// that arrive inside a nested pager.
    pub fn reported_as(mut self, field: &'static str) -> Scope {
        self.field = Some(field);
        self
    }

    /// Cursor for keyset pages: the `(created_at, id)` of an edge item.
    pub fn encode_position(&self, created_at: Timestamp, id: &str) -> String {
        let mut payload = Vec::with_capacity(9 + id.len());
        payload.push(POSITION);
        payload.extend_from_slice(&created_at.0.to_be_bytes());
        payload.extend_from_slice(id.as_bytes());
        self.seal(payload)
    }

    /// Reads a position cursor given as request field `field`.
    pub fn decode_position(&self, cursor: &str, field: &str) -> Result<(Timestamp, String)> {
        let payload = self.open(cursor, field)?;
        match payload.split_first() {
            Some((&POSITION, rest)) if rest.len() >= 8 => {
                let (ts, id) = rest.split_at(8);
                let ts = i64::from_be_bytes(ts.try_into().map_err(|_| self.invalid(field))?);
                let id = String::from_utf8(id.to_vec()).map_err(|_| self.invalid(field))?;
                Ok((Timestamp(ts), id))
            }
            _ => Err(self.invalid(field)),
        }
    }

    /// Cursor for offset-paged lists.
    pub fn encode_offset(&self, offset: usize) -> String {
        let mut payload = vec![OFFSET];
        payload.extend_from_slice(&(offset as u64).to_be_bytes());
        self.seal(payload)
    }

    /// Reads an offset cursor given as request field `field`.
    pub fn decode_offset(&self, cursor: &str, field: &str) -> Result<usize> {
        let payload = self.open(cursor, field)?;
        match payload.split_first() {
            Some((&OFFSET, rest)) => {
                let n = u64::from_be_bytes(rest.try_into().map_err(|_| self.invalid(field))?);
                usize::try_from(n).map_err(|_| self.invalid(field))
            }
            _ => Err(self.invalid(field)),
        }
    }

    /// Cursor holding a payload of the caller's own layout (a ranked feed's
    /// sort key), sealed like the others.
    pub fn encode_bytes(&self, bytes: Vec<u8>) -> String {
        let mut payload = Vec::with_capacity(1 + bytes.len());
        payload.push(BYTES);
        payload.extend_from_slice(&bytes);
        self.seal(payload)
    }

    /// Reads a payload cursor given as request field `field`.
    pub fn decode_bytes(&self, cursor: &str, field: &str) -> Result<Vec<u8>> {
        let payload = self.open(cursor, field)?;
        match payload.split_first() {
            Some((&BYTES, rest)) => Ok(rest.to_vec()),
            _ => Err(self.invalid(field)),
        }
    }

    fn mac(&self) -> HmacSha256 {
        keyed(&self.key.0).chain_update(self.query.clone().finalize())
    }

    fn seal(&self, mut payload: Vec<u8>) -> String {
        let tag = self.mac().chain_update(&payload).finalize().into_bytes();
        payload.extend_from_slice(&tag[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(payload)
    }

    /// The payload of a cursor this scope sealed; anything else is refused
    /// before its payload is looked at.
    fn open(&self, cursor: &str, field: &str) -> Result<Vec<u8>> {
        if cursor.len() > MAX_CURSOR_LEN {
            return Err(self.invalid(field));
        }
        let mut bytes = URL_SAFE_NO_PAD.decode(cursor.trim_end_matches('=')).map_err(|_| self.invalid(field))?;
        if bytes.len() <= MAC_LEN {
            return Err(self.invalid(field));
        }
        let tag = bytes.split_off(bytes.len() - MAC_LEN);
        self.mac().chain_update(&bytes).verify_truncated_left(&tag).map_err(|_| self.invalid(field))?;
        Ok(bytes)
    }

    fn invalid(&self, field: &str) -> Error {
        Error::field(self.field.unwrap_or(field), "invalid cursor")
    }
}

/// One page of an offset-paged list, with the cursors that lead on.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
    pub prev: Option<String>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page { items: Vec::new(), next: None, prev: None }
    }
}

/// Where an offset page starts, read from the request's `next`/`prev`.
#[derive(Debug, Clone)]
pub struct OffsetWindow {
    pub offset: usize,
    pub limit: usize,
    scope: Scope,
}

impl OffsetWindow {
    /// The window a request's `limit`, `next` and `prev` describe.
    /// Its cursors must have been sealed in `scope`, and so are the ones it
    /// hands out.
    pub fn from_request(
        scope: Scope,
        limit: Option<i64>,
        next: &Option<String>,
        prev: &Option<String>,
    ) -> Result<Self> {
        let (next, prev) = one_direction(next, prev)?;
        OffsetWindow::new(scope, page_limit(limit)?, next, prev)
    }

    pub fn new(scope: Scope, limit: usize, next: Option<&str>, prev: Option<&str>) -> Result<Self> {
        let offset = match (next, prev) {
            (Some(_), Some(_)) => return Err(Error::input("pass either next or prev, not both")),
            (Some(c), None) => scope.decode_offset(c, "next")?,
            (None, Some(c)) => scope.decode_offset(c, "prev")?.saturating_sub(limit),
            (None, None) => 0,
        };
        Ok(OffsetWindow { offset, limit, scope })
    }

    /// Rows to ask the store for: one more than a page shows whether another
    /// page follows.
    pub fn fetch(&self) -> usize {
        self.limit + 1
    }

    pub fn page<T>(&self, mut rows: Vec<T>) -> Page<T> {
        let more = rows.len() > self.limit;
        rows.truncate(self.limit);
        Page {
            items: rows,
            next: more.then(|| self.scope.encode_offset(self.offset + self.limit)),
            prev: (self.offset > 0).then(|| self.scope.encode_offset(self.offset)),
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

/// A page request of a nested list (`followers_pagination`, …).
#[derive(Debug, Clone, serde::Deserialize, Default)]
pub struct Pager {
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub prev: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        CursorKey::derive("secret").scope("QueryThings").bind("feed:1").bind(&serde_json::json!({"a": 1}))
    }

    #[test]
    fn offset_windows_page_both_ways() {
        let first = OffsetWindow::new(scope(), 2, None, None).unwrap();
        let page = first.page(vec![1, 2, 3]);
        assert_eq!((page.items, page.prev.is_none()), (vec![1, 2], true));
        let next = page.next.unwrap();
        let second = OffsetWindow::new(scope(), 2, Some(&next), None).unwrap();
        assert_eq!(second.offset, 2);
        let page = second.page(vec![3]);
        assert!(page.next.is_none());
        let back = OffsetWindow::new(scope(), 2, None, page.prev.as_deref()).unwrap();
        assert_eq!(back.offset, 0);
        assert!(OffsetWindow::new(scope(), 2, Some(&next), Some(&next)).is_err());
        assert!(OffsetWindow::new(scope(), 2, Some("garbage"), None).is_err());
    }

    #[test]
    fn cursors_round_trip() {
        let c = scope().encode_position(Timestamp(-42), "a|b");
        assert_eq!(scope().decode_position(&c, "next").unwrap(), (Timestamp(-42), "a|b".to_string()));
        assert_eq!(scope().decode_offset(&scope().encode_offset(75), "next").unwrap(), 75);
        // The key derives from the secret alone: another process agrees.
        let again = CursorKey::derive("secret").scope("QueryThings").bind("feed:1").bind(&serde_json::json!({"a": 1}));
        assert_eq!(again.decode_offset(&scope().encode_offset(3), "next").unwrap(), 3);
    }

    fn assert_invalid(result: Result<impl std::fmt::Debug>, field: &str) {
        let e = result.expect_err("cursor must be refused");
        assert_eq!((e.code, e.message.as_str()), (super::super::error::Code::InputError, "invalid cursor"));
        assert!(e.fields.contains_key(field), "{e:?}");
    }

    #[test]
    fn truncated_or_altered_cursors_are_refused() {
        let c = scope().encode_position(Timestamp(42), "0194f3a0-aaaa-7bbb-8ccc-123456789abc");
        assert_invalid(scope().decode_position(&c[..c.len() / 2], "next"), "next");
        assert_invalid(scope().decode_position(&c[..c.len() - 1], "prev"), "prev");
        for i in 0..c.len() {
            let mut flipped = c.clone().into_bytes();
            flipped[i] = if flipped[i] == b'A' { b'B' } else { b'A' };
            let flipped = String::from_utf8(flipped).unwrap();
            assert_invalid(scope().decode_position(&flipped, "next"), "next");
        }
        assert_invalid(scope().decode_position("", "next"), "next");
        assert_invalid(scope().decode_position("not a cursor", "next"), "next");
        assert_invalid(scope().decode_position(&"A".repeat(4000), "next"), "next");
        // Position and offset cursors do not stand in for each other.
        assert_invalid(scope().decode_offset(&c, "next"), "next");
        assert_invalid(scope().decode_position(&scope().encode_offset(3), "next"), "next");
    }

    #[test]
    fn cursors_are_bound_to_their_scope_and_key() {
        let c = scope().encode_offset(10);
        let other_operation =
            CursorKey::derive("secret").scope("QueryOthers").bind("feed:1").bind(&serde_json::json!({"a": 1}));
        assert_invalid(other_operation.decode_offset(&c, "next"), "next");
        let other_query =
            CursorKey::derive("secret").scope("QueryThings").bind("feed:1").bind(&serde_json::json!({"a": 2}));
        assert_invalid(other_query.decode_offset(&c, "next"), "next");
        let other_feed =
            CursorKey::derive("secret").scope("QueryThings").bind("feed:2").bind(&serde_json::json!({"a": 1}));
        assert_invalid(other_feed.decode_offset(&c, "next"), "next");
        // Parts are kept apart: ("ab", "c") is not ("a", "bc").
        let split = |a: &str, b: &str| CursorKey::derive("secret").scope("Q").bind(a).bind(b);
        assert_invalid(split("a", "bc").decode_offset(&split("ab", "c").encode_offset(1), "next"), "next");
        let other_key =
            CursorKey::derive("another secret").scope("QueryThings").bind("feed:1").bind(&serde_json::json!({"a": 1}));
        assert_invalid(other_key.decode_offset(&c, "next"), "next");
        let pager = other_query.reported_as("followers_pagination");
        assert_invalid(pager.decode_offset(&c, "next"), "followers_pagination");
    }
}
