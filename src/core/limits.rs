//! Bounds on client-controlled JSON, so that no request can exhaust the
//! stack or store a record that cannot be read back.
//!
//! serde_json refuses to parse documents nested deeper than 128 levels and
//! recurses when it serialises or drops a `Value`. A stored record wraps each
//! free-form field (`custom`, `attachments`…) a few levels down, and
//! responses wrap records a few more, so documents are held well below that:
//! what the server accepts it can always read back. Every check here walks
//! JSON with an explicit stack, never by recursion.

use std::io;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::error::{Error, Result};

/// Levels of nesting in one stored document: `1` and `"x"` are 0 deep,
/// `{"a": 1}` and `[1]` are 1 deep. Stored records add at most four levels
/// (a poll option's custom, a notification's comment attachments), so a
/// record stays far from serde_json's 128.
pub const MAX_DOCUMENT_DEPTH: usize = 32;

/// Encoded bytes of one stored document. Generous for app metadata, yet a
/// record holding a few of them (custom, search_data, attachments) stays
/// small enough to copy into every follower's timeline page.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// Levels of nesting in a whole request body: a document at
/// `MAX_DOCUMENT_DEPTH` inside a batch request (`activities[i].custom`)
/// needs fewer than 40.
pub const MAX_BODY_DEPTH: usize = 64;

/// Segments of a dotted `set`/`unset` path (`custom.a.b`): the field and
/// one per level of a document.
pub const MAX_PATH_SEGMENTS: usize = MAX_DOCUMENT_DEPTH + 1;

/// Bytes of a dotted `set`/`unset` path or a filter's `custom.<path>`.
pub const MAX_PATH_BYTES: usize = 1024;

/// `$and`/`$or` levels in one filter.
pub const MAX_FILTER_DEPTH: usize = 5;

/// Conditions in one filter, over all its `$and`/`$or` branches.
pub const MAX_FILTER_CONDITIONS: usize = 100;

/// Nesting and values of one `$contains` operand (each value becomes SQL).
pub const MAX_CONTAINS_DEPTH: usize = 8;
pub const MAX_CONTAINS_VALUES: usize = 100;

/// Checks one stored document before it is written; the error names `field`.
pub fn check(field: &str, value: &Value) -> Result<()> {
    named(field, violation(value, deeper_than(value, MAX_DOCUMENT_DEPTH)))
}

/// `check` for a document held as a map (`custom`).
pub fn check_map(field: &str, map: &Map<String, Value>) -> Result<()> {
    let too_deep = map.values().any(|v| deeper_than(v, MAX_DOCUMENT_DEPTH - 1));
    named(field, violation(map, too_deep))
}

fn named(field: &str, problem: Option<String>) -> Result<()> {
    match problem {
        Some(problem) => Err(Error::field(field, format!("{field} {problem}"))),
        None => Ok(()),
    }
}

/// `deserialize_with` for request fields that are stored documents: the
/// request parser names the field (`activities[0].custom`) in the error.
/// (Inside a `#[serde(flatten)]` struct the parser loses the name: check
/// those fields with `check`/`check_map` instead.)
pub fn document<'de, D: Deserializer<'de>, T: DeserializeOwned>(de: D) -> Result<T, D::Error> {
    let value = Value::deserialize(de)?;
    if let Some(problem) = violation(&value, deeper_than(&value, MAX_DOCUMENT_DEPTH)) {
        return Err(D::Error::custom(problem));
    }
    T::deserialize(value).map_err(D::Error::custom)
}

/// What is wrong with a document, if anything.
fn violation<T: Serialize + ?Sized>(doc: &T, too_deep: bool) -> Option<String> {
    if too_deep {
        return Some(format!("nests more than {MAX_DOCUMENT_DEPTH} levels deep"));
    }
    // Within the depth bound serde_json's recursion is shallow and safe.
    let mut counter = ByteCounter(0);
    if serde_json::to_writer(&mut counter, doc).is_err() || counter.0 > MAX_DOCUMENT_BYTES {
        return Some(format!("is larger than {MAX_DOCUMENT_BYTES} bytes encoded as JSON"));
    }
    None
}

/// Whether `value` nests more than `max` levels (the walk stops there).
pub fn deeper_than(value: &Value, max: usize) -> bool {
    let mut stack: Vec<(&Value, usize)> = vec![(value, 0)];
    while let Some((node, level)) = stack.pop() {
        let is_container = matches!(node, Value::Object(_) | Value::Array(_));
        if is_container && level + 1 > max {
            return true;
        }
        match node {
            Value::Object(map) => stack.extend(map.values().map(|child| (child, level + 1))),
            Value::Array(items) => stack.extend(items.iter().map(|child| (child, level + 1))),
            _ => {}
        }
    }
    false
}

/// Counts encoded bytes, giving up once past the limit.
struct ByteCounter(usize);

impl io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        if self.0 > MAX_DOCUMENT_BYTES {
            return Err(io::Error::other("document too large"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Checks the nesting of a raw JSON request body before it is parsed, by
/// counting brackets outside strings.
pub fn check_body_depth(body: &[u8]) -> Result<()> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &byte in body {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_BODY_DEPTH {
                    return Err(Error::input(format!("request body nests deeper than {MAX_BODY_DEPTH} levels")));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Checks a dotted path's size before anything is built from it; the error
/// names `field`, the path's top-level field.
pub fn check_path(field: &str, path: &str) -> Result<()> {
    let segments = path.split('.').count();
    if segments > MAX_PATH_SEGMENTS || path.len() > MAX_PATH_BYTES {
        let shown: String = path.chars().take(40).collect();
        return Err(Error::field(
            field,
            format!(
                "path {shown:?}… has {segments} segments and {} bytes; at most {MAX_PATH_SEGMENTS} segments and \
                 {MAX_PATH_BYTES} bytes are allowed",
                path.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(levels: usize) -> Value {
        let mut v = json!(1);
        for _ in 0..levels {
            v = json!({ "a": v });
        }
        v
    }

    #[test]
    fn depth_counts_containers() {
        assert!(!deeper_than(&json!(1), 0));
        assert!(deeper_than(&json!({}), 0));
        assert!(deeper_than(&json!({"a": [1]}), 1));
        assert!(!deeper_than(&json!({"a": [1], "b": 2}), 2));
    }

    #[test]
    fn documents_at_the_limits_pass_and_beyond_fail() {
        assert!(check("custom", &nested(MAX_DOCUMENT_DEPTH)).is_ok());
        let err = check("custom", &nested(MAX_DOCUMENT_DEPTH + 1)).unwrap_err();
        assert!(err.fields.contains_key("custom"), "{err}");
        // `{"s":"…"}` is 8 bytes around the string.
        let fits = json!({ "s": "x".repeat(MAX_DOCUMENT_BYTES - 8) });
        assert_eq!(serde_json::to_vec(&fits).unwrap().len(), MAX_DOCUMENT_BYTES);
        assert!(check("custom", &fits).is_ok());
        let over = json!({ "s": "x".repeat(MAX_DOCUMENT_BYTES - 7) });
        assert!(check("custom", &over).unwrap_err().message.contains("larger"));
        let as_map = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert!(check_map("custom", &as_map(fits)).is_ok());
        assert!(check_map("custom", &as_map(over)).is_err());
        assert!(check_map("custom", &as_map(nested(MAX_DOCUMENT_DEPTH))).is_ok());
        assert!(check_map("custom", &as_map(nested(MAX_DOCUMENT_DEPTH + 1))).is_err());
    }

    #[test]
    fn deep_documents_are_walked_without_recursion() {
        // Built by hand: serde_json's own parser stops at 128 levels.
        let mut v = json!(1);
        for _ in 0..100_000 {
            v = Value::Array(vec![v]);
        }
        assert!(deeper_than(&v, MAX_DOCUMENT_DEPTH));
        assert!(check("custom", &v).is_err());
        // Dropping it would recurse; unwrap it level by level instead.
        while let Value::Array(mut items) = v {
            v = items.pop().unwrap_or(Value::Null);
        }
    }

    #[test]
    fn body_depth_ignores_brackets_in_strings() {
        let ok = format!("{}{}", "[".repeat(MAX_BODY_DEPTH), "]".repeat(MAX_BODY_DEPTH));
        assert!(check_body_depth(ok.as_bytes()).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_BODY_DEPTH + 1), "]".repeat(MAX_BODY_DEPTH + 1));
        assert!(check_body_depth(deep.as_bytes()).is_err());
        let quoted = format!(r#"{{"a": "{}\"{}"}}"#, "[".repeat(1000), "{".repeat(1000));
        assert!(check_body_depth(quoted.as_bytes()).is_ok());
        assert!(check_body_depth("[".repeat(1_000_000).as_bytes()).is_err());
    }

    #[test]
    fn paths_are_bounded_before_use() {
        assert!(check_path("custom", &format!("custom{}", ".a".repeat(MAX_PATH_SEGMENTS - 1))).is_ok());
        let long = format!("custom{}", ".a".repeat(10_000));
        let err = check_path("custom", &long).unwrap_err();
        assert!(err.fields.contains_key("custom") && err.message.len() < 300, "{err}");
        assert!(check_path("custom", &format!("custom.{}", "k".repeat(MAX_PATH_BYTES))).is_err());
    }

    #[test]
    fn document_fields_are_checked_while_parsing() {
        #[derive(Deserialize)]
        struct Input {
            #[serde(default, deserialize_with = "document")]
            custom: Option<serde_json::Map<String, Value>>,
        }
        let ok: Input = serde_json::from_value(json!({ "custom": { "a": 1 } })).unwrap();
        assert_eq!(ok.custom.map(|c| c.len()), Some(1));
        assert!(serde_json::from_value::<Input>(json!({})).unwrap().custom.is_none());
        assert!(serde_json::from_value::<Input>(json!({ "custom": null })).unwrap().custom.is_none());
        let deep = json!({ "custom": nested(MAX_DOCUMENT_DEPTH + 1) });
        assert!(serde_json::from_value::<Input>(deep).is_err());
    }
}
