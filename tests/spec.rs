//! The route table checked against Stream's OpenAPI spec, read at test time
//! from ../shared (never copied into this repository).

use std::path::PathBuf;

use serde_json::Value;
use tributary::http::OPERATIONS;

fn spec() -> Option<Value> {
    // TRIBUTARY_SPEC overrides the location (worktrees sit deeper).
    let path = std::env::var_os("TRIBUTARY_SPEC")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/spec/feeds-serverside-api.json"));
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).ok(),
        Err(_) => {
            eprintln!("notice: {} not found; skipping the spec route check", path.display());
            None
        }
    }
}

/// `/a/{x}/b/{y}` → `/a/{}/b/{}`: parameter names differ between our table
/// (one name per position, as the router requires) and the spec.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') && seg.ends_with('}') { "{}" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn every_route_exists_in_the_spec_with_its_operation_id_and_success_status() {
    let Some(spec) = spec() else { return };
    let paths = spec["paths"].as_object().expect("spec has paths");
    for (name, method, path, status) in OPERATIONS {
        let (spec_path, item) = paths
            .iter()
            .find(|(p, _)| shape(p) == shape(path))
            .unwrap_or_else(|| panic!("{name}: path {path} is not in the spec"));
        let op = item.get(*method).unwrap_or_else(|| panic!("{name}: {method} {spec_path} is not in the spec"));
        assert_eq!(op["operationId"], *name, "{method} {path} has another operationId in the spec");
        let success: Vec<&String> =
            op["responses"].as_object().expect("responses").keys().filter(|k| k.starts_with('2')).collect();
        assert_eq!(success, vec![&status.to_string()], "{name}: success status differs from the spec");
    }
}

#[test]
fn list_spec_operations_not_served_yet() {
    let Some(spec) = spec() else { return };
    let served: Vec<&str> = OPERATIONS.iter().map(|(name, ..)| *name).collect();
    let mut missing = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let id = op["operationId"].as_str().unwrap_or("?");
            let feeds = path.starts_with("/api/v2/feeds") || matches!(id, "GetTask" | "QueryUsers");
            if feeds && !served.contains(&id) {
                missing.push(format!("{id} ({} {path})", method.to_uppercase()));
            }
        }
    }
    eprintln!("{} feeds operations not served yet:\n  {}", missing.len(), missing.join("\n  "));
}

fn resolve<'a>(spec: &'a Value, mut schema: &'a Value) -> &'a Value {
    while let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
        schema = &spec["components"]["schemas"][name];
    }
    schema
}

/// The properties of an object schema, through `$ref`s and `allOf`.
fn properties<'a>(spec: &'a Value, schema: &'a Value) -> serde_json::Map<String, Value> {
    let schema = resolve(spec, schema);
    let mut out = serde_json::Map::new();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        out.extend(properties(spec, part));
    }
    if let Some(props) = schema["properties"].as_object() {
        out.extend(props.clone());
    }
    out
}

/// The schema at `a.b` / `a[].b` below `body`, if the spec has that field.
fn field_schema(spec: &Value, body: &Value, path: &str) -> Option<Value> {
    let mut schema = body.clone();
    for segment in path.split('.') {
        let (key, each) = segment.strip_suffix("[]").map_or((segment, false), |k| (k, true));
        let mut found = properties(spec, &schema).get(key)?.clone();
        if each {
            found = resolve(spec, &found)["items"].clone();
        }
        schema = found;
    }
    Some(schema)
}

/// Every spec field of every served operation is honoured or refused
/// (`src/http/fields.rs`), and every listed field is in the spec.
#[test]
fn every_request_field_is_honoured_or_refused() {
    use tributary::http::fields::{fields_of, USER_PROFILE};
    let Some(spec) = spec() else { return };
    let mut problems = Vec::new();
    for (name, method, path, _) in OPERATIONS {
        let op = spec["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .find(|(p, _)| shape(p) == shape(path))
            .map(|(_, item)| &item[*method])
            .expect("served operation in spec");
        let Some(table) = fields_of(name) else {
            problems.push(format!("{name}: not in src/http/fields.rs"));
            continue;
        };
        let mut listed: Vec<&str> = table.honoured.iter().chain(table.refused).copied().collect();
        if table.honoured.contains(&"user.id") {
            listed.extend(USER_PROFILE);
        }
        // Uploads are multipart forms; their parts are the body's fields.
        let content = &op["requestBody"]["content"];
        let body = match &content["application/json"]["schema"] {
            Value::Null => content["multipart/form-data"]["schema"].clone(),
            schema => schema.clone(),
        };
        let query: Vec<String> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query" && p["name"] != "api_key")
            .filter_map(|p| p["name"].as_str().map(|n| format!("?{n}")))
            .collect();
        // Spec → table: each top-level field, and each field of the nested
        // objects the table descends into.
        let mut wanted: Vec<String> = properties(&spec, &body).keys().cloned().chain(query.clone()).collect();
        let parents: std::collections::BTreeSet<&str> =
            listed.iter().filter_map(|f| f.rsplit_once('.').map(|(parent, _)| parent)).collect();
        for parent in &parents {
            if let Some(schema) = field_schema(&spec, &body, parent) {
                wanted.extend(properties(&spec, &schema).keys().map(|k| format!("{parent}.{k}")));
            }
        }
        for field in &wanted {
            let covered = listed
                .iter()
                .any(|l| l == field || l.starts_with(&format!("{field}.")) || l.starts_with(&format!("{field}[].")));
            if !covered {
                problems.push(format!("{name}: spec field {field} is neither honoured nor refused"));
            }
        }
        // Table → spec: no stale entries.
        for field in &listed {
            let known = match field.strip_prefix('?') {
                Some(_) => query.iter().any(|q| q == field),
                None => field_schema(&spec, &body, field).is_some(),
            };
            if !known {
                problems.push(format!("{name}: {field} is listed but not in the spec"));
            }
        }
        if table.honoured.contains(&"user.id") && !table.honoured.contains(&"user_id") {
            problems.push(format!("{name}: user.id stands in for user_id, so user_id must be honoured too"));
        }
        if let Some(both) = table.honoured.iter().find(|f| table.refused.contains(f)) {
            problems.push(format!("{name}: {both} is both honoured and refused"));
        }
    }
    assert!(problems.is_empty(), "request field contract:\n  {}", problems.join("\n  "));
}
