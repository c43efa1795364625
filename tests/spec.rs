//! The route table checked against Stream's OpenAPI spec, read at test time
//! from ../shared (never copied into this repository).

use std::path::PathBuf;

use serde_json::Value;
use tributary::http::OPERATIONS;

fn spec() -> Option<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/spec/feeds-serverside-api.json");
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
