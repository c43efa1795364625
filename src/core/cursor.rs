//! Opaque pagination cursors. Clients cannot read or forge meaningful values:
//! a cursor that fails to decode is a 400, never a silently wrong page.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::error::{Error, Result};
use super::time::Timestamp;

const FEED: &str = "f1";
const OFFSET: &str = "o1";

/// Cursor for keyset pages of a feed: the `(created_at, id)` of an edge item.
pub fn encode_position(created_at: Timestamp, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{FEED}|{}|{id}", created_at.0))
}

pub fn decode_position(cursor: &str) -> Result<(Timestamp, String)> {
    let text = decode(cursor)?;
    let mut parts = text.splitn(3, '|');
    match (parts.next(), parts.next().and_then(|t| t.parse().ok()), parts.next()) {
        (Some(FEED), Some(ts), Some(id)) => Ok((Timestamp(ts), id.to_string())),
        _ => Err(invalid()),
    }
}

/// Cursor for offset-paged lists (follows, members).
pub fn encode_offset(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{OFFSET}|{offset}"))
}

pub fn decode_offset(cursor: &str) -> Result<usize> {
    let text = decode(cursor)?;
    match text.split_once('|') {
        Some((OFFSET, n)) => n.parse().map_err(|_| invalid()),
        _ => Err(invalid()),
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
#[derive(Debug, Clone, Copy)]
pub struct OffsetWindow {
    pub offset: usize,
    pub limit: usize,
}

impl OffsetWindow {
    /// The window a request's `limit`, `next` and `prev` describe.
    pub fn from_request(limit: Option<i64>, next: &Option<String>, prev: &Option<String>) -> Result<Self> {
        let (next, prev) = super::one_direction(next, prev)?;
        OffsetWindow::new(super::page_limit(limit)?, next, prev)
    }

    pub fn new(limit: usize, next: Option<&str>, prev: Option<&str>) -> Result<Self> {
        let offset = match (next, prev) {
            (Some(_), Some(_)) => return Err(Error::input("pass either next or prev, not both")),
            (Some(c), None) => decode_offset(c)?,
            (None, Some(c)) => decode_offset(c)?.saturating_sub(limit),
            (None, None) => 0,
        };
        Ok(OffsetWindow { offset, limit })
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
            next: more.then(|| encode_offset(self.offset + self.limit)),
            prev: (self.offset > 0).then(|| encode_offset(self.offset)),
        }
    }
}

fn decode(cursor: &str) -> Result<String> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim_end_matches('=')).map_err(|_| invalid())?;
    String::from_utf8(bytes).map_err(|_| invalid())
}

fn invalid() -> Error {
    Error::input("invalid pagination cursor")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_windows_page_both_ways() {
        let first = OffsetWindow::new(2, None, None).unwrap();
        let page = first.page(vec![1, 2, 3]);
        assert_eq!((page.items, page.prev.is_none()), (vec![1, 2], true));
        let next = page.next.unwrap();
        let second = OffsetWindow::new(2, Some(&next), None).unwrap();
        assert_eq!(second.offset, 2);
        let page = second.page(vec![3]);
        assert!(page.next.is_none());
        let back = OffsetWindow::new(2, None, page.prev.as_deref()).unwrap();
        assert_eq!(back.offset, 0);
        assert!(OffsetWindow::new(2, Some(&next), Some(&next)).is_err());
        assert!(OffsetWindow::new(2, Some("garbage"), None).is_err());
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = encode_position(Timestamp(42), "a|b");
        assert_eq!(decode_position(&c).unwrap(), (Timestamp(42), "a|b".to_string()));
        assert_eq!(decode_offset(&encode_offset(75)).unwrap(), 75);
        assert!(decode_position("not a cursor").is_err());
        assert!(decode_offset(&c).is_err());
        assert!(decode_position(&encode_offset(3)).is_err());
    }
}
