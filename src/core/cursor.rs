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
    fn cursors_round_trip_and_reject_garbage() {
        let c = encode_position(Timestamp(42), "a|b");
        assert_eq!(decode_position(&c).unwrap(), (Timestamp(42), "a|b".to_string()));
        assert_eq!(decode_offset(&encode_offset(75)).unwrap(), 75);
        assert!(decode_position("not a cursor").is_err());
        assert!(decode_offset(&c).is_err());
        assert!(decode_position(&encode_offset(3)).is_err());
    }
}
