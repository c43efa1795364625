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

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: Field,
    pub op: Op,
    pub value: Operand,
}

/// A filterable field; `Custom` is a dotted path below `custom`.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Named(&'static str),
    Custom(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    In,
    Gt,
    Gte,
    Lt,
    Lte,
    Exists,
    Contains,
    Q,
    Autocomplete,
}

impl Op {
    fn parse(name: &str) -> Result<Op> {
        Ok(match name {
            "$eq" => Op::Eq,
            "$in" => Op::In,
            "$gt" => Op::Gt,
            "$gte" => Op::Gte,
            "$lt" => Op::Lt,
            "$lte" => Op::Lte,
            "$exists" => Op::Exists,
            "$contains" => Op::Contains,
            "$q" => Op::Q,
            "$autocomplete" => Op::Autocomplete,
            other => return Err(Error::field("filter", format!("unknown or unsupported operator {other:?}"))),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Str(String),
    Num(f64),
    Bool(bool),
    Time(Timestamp),
    Strs(Vec<String>),
    /// Any JSON scalar, for `custom` paths whose type the data decides.
    Json(Value),
    JsonList(Vec<Value>),
    Bounds {
        ne_lat: f64,
        ne_lng: f64,
        sw_lat: f64,
        sw_lng: f64,
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
}

pub struct FieldSpec {
    pub name: &'static str,
    pub kind: Kind,
    pub ops: &'static [Op],
}

const EQ_IN: &[Op] = &[Op::Eq, Op::In];
const RANGE: &[Op] = &[Op::Eq, Op::Gt, Op::Gte, Op::Lt, Op::Lte];
const RANGE_EXISTS: &[Op] = &[Op::Eq, Op::Gt, Op::Gte, Op::Lt, Op::Lte, Op::Exists];
const TAGS: &[Op] = &[Op::Eq, Op::In, Op::Contains];

/// QueryActivities and the feed-read filter. Operators the stores cannot
/// answer yet (`near`, `search_data`, JSON `$contains`) are left out, so
/// they are refused by name instead of silently ignored.
pub const ACTIVITY_FIELDS: &[FieldSpec] = &[
    FieldSpec { name: "id", kind: Kind::Str, ops: EQ_IN },
    FieldSpec { name: "user_id", kind: Kind::Str, ops: EQ_IN },
    FieldSpec { name: "activity_type", kind: Kind::Str, ops: EQ_IN },
    FieldSpec { name: "feed", kind: Kind::Str, ops: EQ_IN },
    FieldSpec { name: "created_at", kind: Kind::Date, ops: RANGE },
    FieldSpec { name: "expires_at", kind: Kind::Date, ops: RANGE_EXISTS },
    FieldSpec { name: "filter_tags", kind: Kind::Tags, ops: TAGS },
    FieldSpec { name: "interest_tags", kind: Kind::Tags, ops: TAGS },
    FieldSpec {
        name: "custom",
        kind: Kind::Object,
        ops: &[Op::Eq, Op::In, Op::Gt, Op::Gte, Op::Lt, Op::Lte, Op::Exists],
    },
    FieldSpec { name: "text", kind: Kind::Text, ops: &[Op::Eq, Op::Q, Op::Autocomplete] },
    FieldSpec { name: "hidden", kind: Kind::Bool, ops: &[Op::Eq] },
    FieldSpec { name: "popularity", kind: Kind::Num, ops: RANGE },
    FieldSpec { name: "within_bounds", kind: Kind::Bounds, ops: &[Op::Eq] },
];

pub const ACTIVITY_SORT: &[&str] = &["created_at"];

/// Bounds on what one filter may ask for.
const MAX_DEPTH: usize = 5;
const MAX_CONDITIONS: usize = 100;

/// Parses `filter` against the endpoint's allow-list. `{}` matches all.
pub fn parse(filter: &Map<String, Value>, fields: &[FieldSpec]) -> Result<Filter> {
    let mut budget = MAX_CONDITIONS;
    parse_object(filter, fields, 0, &mut budget)
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

fn parse_field(key: &str, value: &Value, fields: &[FieldSpec], budget: &mut usize) -> Result<Vec<Filter>> {
    let (root, path) = match key.split_once('.') {
        Some((root, path)) => (root, Some(path)),
        None => (key, None),
    };
    let spec = fields.iter().find(|f| f.name == root).ok_or_else(|| {
        let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
        Error::field(key, format!("cannot filter by {key:?}; filterable fields: {}", names.join(", ")))
    })?;
    let field = match (spec.kind, path) {
        (Kind::Object, Some(path)) => {
            let parts: Vec<String> = path.split('.').map(str::to_string).collect();
            if parts.iter().any(|p| p.is_empty() || !p.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')) {
                return Err(Error::field(key, format!("invalid path {key:?}")));
            }
            Field::Custom(parts)
        }
        (Kind::Object, None) => {
            return Err(Error::field(key, format!("filter {key} by a dotted path such as {key}.name")));
        }
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
            return Err(Error::field(key, format!("operator {op:?} is not supported for {key}")));
        }
        *budget = budget
            .checked_sub(1)
            .ok_or_else(|| Error::field("filter", format!("a filter has at most {MAX_CONDITIONS} conditions")))?;
        let value = operand_for(key, spec.kind, op, operand)?;
        out.push(Filter::Cond(Condition { field: field.clone(), op, value }));
    }
    Ok(out)
}

fn string(key: &str, v: &Value) -> Result<String> {
    v.as_str().map(str::to_string).ok_or_else(|| Error::field(key, format!("{key} takes a string")))
}

fn strings(key: &str, v: &Value) -> Result<Vec<String>> {
    let items = v.as_array().ok_or_else(|| Error::field(key, format!("{key} takes a list")))?;
    if items.len() > 100 {
        return Err(Error::field(key, format!("{key} lists at most 100 values")));
    }
    items.iter().map(|i| string(key, i)).collect()
}

fn number(key: &str, v: &Value, name: &str) -> Result<f64> {
    v.get(name).and_then(Value::as_f64).ok_or_else(|| Error::field(key, format!("{key} needs a number {name}")))
}

fn operand_for(key: &str, kind: Kind, op: Op, v: &Value) -> Result<Operand> {
    Ok(match (kind, op) {
        (_, Op::Exists) => Operand::Bool(v.as_bool().ok_or_else(|| Error::field(key, "$exists takes true or false"))?),
        (Kind::Str, Op::In) => Operand::Strs(strings(key, v)?),
        (Kind::Str, _) => {
            let s = string(key, v)?;
            if key == "feed" {
                super::model::Fid::parse(&s).map_err(|e| Error::field(key, e.message))?;
            }
            Operand::Str(s)
        }
        (Kind::Date, _) => {
            let t = match v {
                Value::String(s) => Timestamp::parse(s),
                Value::Number(n) => n.as_i64().map(Timestamp),
                _ => None,
            };
            Operand::Time(t.ok_or_else(|| Error::field(key, format!("{key} takes a date (RFC 3339)")))?)
        }
        (Kind::Bool, _) => {
            Operand::Bool(v.as_bool().ok_or_else(|| Error::field(key, format!("{key} takes a boolean")))?)
        }
        (Kind::Num, _) => Operand::Num(v.as_f64().ok_or_else(|| Error::field(key, format!("{key} takes a number")))?),
        (Kind::Tags, Op::Contains) => Operand::Str(string(key, v)?),
        (Kind::Tags, _) => Operand::Strs(strings(key, v)?),
        (Kind::Object, Op::In) => {
            let items = v.as_array().ok_or_else(|| Error::field(key, format!("{key} $in takes a list")))?;
            if items.iter().any(|i| i.is_object() || i.is_array()) {
                return Err(Error::field(key, format!("{key} $in takes a list of scalars")));
            }
            Operand::JsonList(items.clone())
        }
        (Kind::Object, _) if v.is_object() || v.is_array() || v.is_null() => {
            return Err(Error::field(key, format!("{key} compares with a string, number or boolean")))
        }
        (Kind::Object, Op::Eq) => Operand::Json(v.clone()),
        (Kind::Object, _) if v.is_boolean() => {
            return Err(Error::field(key, format!("{key} ranges take numbers or strings")))
        }
        (Kind::Object, _) => Operand::Json(v.clone()),
        (Kind::Text, _) => {
            let s = string(key, v)?;
            if op != Op::Eq && s.trim().is_empty() {
                return Err(Error::field(key, format!("{key} search needs some text")));
            }
            Operand::Str(s)
        }
        (Kind::Bounds, _) => {
            let b = Operand::Bounds {
                ne_lat: number(key, v, "ne_lat")?,
                ne_lng: number(key, v, "ne_lng")?,
                sw_lat: number(key, v, "sw_lat")?,
                sw_lng: number(key, v, "sw_lng")?,
            };
            if let Operand::Bounds { ne_lat, sw_lat, .. } = b {
                if !(-90.0..=90.0).contains(&ne_lat) || !(-90.0..=90.0).contains(&sw_lat) || sw_lat > ne_lat {
                    return Err(Error::field(key, "within_bounds needs sw_lat <= ne_lat, both in [-90, 90]"));
                }
            }
            b
        }
    })
}

/// The words of a `$q` search: lowercase, split on anything not alphanumeric.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(v: Value) -> Result<Filter> {
        parse(v.as_object().expect("object"), ACTIVITY_FIELDS)
    }

    fn cond(field: Field, op: Op, value: Operand) -> Filter {
        Filter::Cond(Condition { field, op, value })
    }

    #[test]
    fn shorthand_operators_and_logic_parse_to_typed_conditions() {
        assert_eq!(p(json!({})).unwrap(), Filter::And(vec![]));
        assert_eq!(
            p(json!({"activity_type": "post"})).unwrap(),
            cond(Field::Named("activity_type"), Op::Eq, Operand::Str("post".into()))
        );
        assert_eq!(
            p(json!({"created_at": {"$gte": "2025-07-30T12:00:00Z"}})).unwrap(),
            cond(Field::Named("created_at"), Op::Gte, Operand::Time(Timestamp(1_753_876_800_000_000_000)))
        );
        assert_eq!(
            p(json!({"custom.priority": {"$gte": 3}})).unwrap(),
            cond(Field::Custom(vec!["priority".into()]), Op::Gte, Operand::Json(json!(3)))
        );
        assert_eq!(
            p(json!({"filter_tags": ["a", "b"]})).unwrap(),
            cond(Field::Named("filter_tags"), Op::Eq, Operand::Strs(vec!["a".into(), "b".into()]))
        );
        let f = p(json!({"$or": [{"user_id": "a"}, {"$and": [{"text": {"$q": "hi"}}, {"hidden": false}]}]})).unwrap();
        assert!(matches!(f, Filter::Or(ref parts) if parts.len() == 2));
        let two = p(json!({"created_at": {"$gt": "2025-01-01T00:00:00Z", "$lt": "2026-01-01T00:00:00Z"}})).unwrap();
        assert!(matches!(two, Filter::And(ref parts) if parts.len() == 2));
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
        let keys = ["id", "user_id", "custom.a", "filter_tags", "text", "$and", "$or", "$in", "$q", "x", "created_at"];
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
    fn search_words_are_lowercase_alphanumeric_runs() {
        assert_eq!(words("Hello, World! it's 2025"), vec!["hello", "world", "it", "s", "2025"]);
    }
}
