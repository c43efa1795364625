//! `set`/`unset` partial updates over a record's JSON form, with dotted paths
//! into nested maps (`custom.color`). Pure; the callers decide which top-level
//! fields may be touched.

use serde_json::{Map, Value};

use super::error::{Error, Result};
use super::limits;

/// Applies `set` then `unset` to `doc`. `allowed_set`/`allowed_unset` name
/// the top-level fields that may be touched; anything else is rejected.
pub fn apply(
    doc: &mut Map<String, Value>,
    set: &Map<String, Value>,
    unset: &[String],
    allowed_set: &[&str],
    allowed_unset: &[&str],
) -> Result<()> {
    for (path, value) in set {
        check(path, allowed_set, "set")?;
        set_path(doc, path, value.clone())?;
    }
    for path in unset {
        check(path, allowed_unset, "unset")?;
        unset_path(doc, path);
    }
    check_written(doc, set.keys())
}

/// Checks every object or list that `set` paths wrote to as a stored
/// document, so repeated patches cannot grow one past what reads back.
pub fn check_written<'a>(doc: &Map<String, Value>, paths: impl IntoIterator<Item = &'a String>) -> Result<()> {
    let mut seen: Vec<&str> = Vec::new();
    for path in paths {
        let top = path.split('.').next().unwrap_or(path);
        if seen.contains(&top) {
            continue;
        }
        seen.push(top);
        if let Some(value @ (Value::Object(_) | Value::Array(_))) = doc.get(top) {
            limits::check(top, value)?;
        }
    }
    Ok(())
}

fn check(path: &str, allowed: &[&str], verb: &str) -> Result<()> {
    let top = path.split('.').next().unwrap_or(path);
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(Error::input(format!("invalid field path {path:?}")));
    }
    if !allowed.contains(&top) {
        return Err(Error::field(path, format!("field {path:?} cannot be {verb}: it is reserved or unknown")));
    }
    if path.contains('.') && top != "custom" {
        return Err(Error::field(path, format!("dotted paths are only supported inside custom, got {path:?}")));
    }
    Ok(())
}

/// Sets `path`, creating the maps on the way; the path's size is checked
/// before anything is built.
pub fn set_path(doc: &mut Map<String, Value>, path: &str, value: Value) -> Result<()> {
    limits::check_path(path.split('.').next().unwrap_or(path), path)?;
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().unwrap_or(path);
    let mut node = doc;
    for part in parts {
        let entry = node.entry(part.to_string()).or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        node = match entry {
            Value::Object(map) => map,
            _ => return Ok(()),
        };
    }
    node.insert(last.to_string(), value);
    Ok(())
}

pub fn unset_path(doc: &mut Map<String, Value>, path: &str) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().unwrap_or(path);
    let mut node = doc;
    for part in parts {
        node = match node.get_mut(part) {
            Some(Value::Object(map)) => map,
            _ => return,
        };
    }
    node.remove(last);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn dotted_set_merges_and_plain_set_replaces() {
        let mut doc = obj(json!({"text": "a", "custom": {"keep": 1, "color": "red"}}));
        apply(&mut doc, &obj(json!({"custom.color": "blue", "custom.deep.x": 2})), &[], &["text", "custom"], &[])
            .unwrap();
        assert_eq!(
            Value::Object(doc.clone()),
            json!({"text": "a", "custom": {"keep": 1, "color": "blue", "deep": {"x": 2}}})
        );
        apply(&mut doc, &obj(json!({"custom": {"only": true}})), &[], &["custom"], &[]).unwrap();
        assert_eq!(doc["custom"], json!({"only": true}));
    }

    #[test]
    fn unset_removes_nested_and_rejects_reserved() {
        let mut doc = obj(json!({"custom": {"a": 1, "b": 2}}));
        apply(&mut doc, &Map::new(), &["custom.a".into()], &[], &["custom"]).unwrap();
        assert_eq!(doc["custom"], json!({"b": 2}));
        assert!(apply(&mut doc, &obj(json!({"id": "x"})), &[], &["custom"], &[]).is_err());
        assert!(apply(&mut doc, &Map::new(), &["text.x".into()], &[], &["text"]).is_err());
        assert!(apply(&mut doc, &Map::new(), &["custom..a".into()], &[], &["custom"]).is_err());
    }

    #[test]
    fn paths_and_results_are_bounded() {
        let set = |path: String, v: Value| obj(json!({ path: v }));
        let mut doc = obj(json!({"custom": {}}));
        let deep = format!("custom{}", ".a".repeat(10_000));
        let err = apply(&mut doc, &set(deep, json!(1)), &[], &["custom"], &[]).unwrap_err();
        assert!(err.fields.contains_key("custom"), "{err}");
        assert_eq!(doc["custom"], json!({}), "nothing was built");
        let longest = format!("custom{}", ".a".repeat(limits::MAX_DOCUMENT_DEPTH));
        apply(&mut doc, &set(longest.clone(), json!(1)), &[], &["custom"], &[]).unwrap();
        // A short path to a deep place, or a deep value, is refused.
        assert!(apply(&mut doc, &set(format!("{longest}.b"), json!(1)), &[], &["custom"], &[]).is_err());
        assert!(apply(&mut doc, &set(longest, json!({"b": 1})), &[], &["custom"], &[]).is_err());
    }
}
