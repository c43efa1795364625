//! `RankingConfig` (`{type, score, defaults, functions}`) checked and
//! compiled once, at config time; a bad config is a 400 naming the field
//! (`ranking.score`, `ranking.functions.<name>.scale`, …) and, for the
//! expression, the column.

use serde_json::Value;

use super::ast::{Expr, Var, BUILT_IN};
use super::decay::Decay;
use super::eval::{Const, Cx, Env, Inputs};
use super::parser::parse;
use crate::core::error::{Error, Result};

/// Most entries `functions` and `defaults` may each hold.
pub const MAX_ENTRIES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankingKind {
    Expression,
    Interest,
}

/// A compiled ranking: score with `Ranking::score`.
#[derive(Debug, Clone)]
pub struct Ranking {
    pub kind: RankingKind,
    pub expr: Expr,
    pub defaults: Vec<(Var, Const)>,
    pub functions: Vec<Decay>,
}

fn field_error(field: &str, message: impl std::fmt::Display) -> Error {
    Error::field(field, format!("{field}: {message}"))
}

/// Checks and compiles a `ranking` section. `Ok(None)` for `recency`, which
/// means newest first, as without a ranking.
pub fn compile(config: &Value) -> Result<Option<Ranking>> {
    let Value::Object(map) = config else {
        return Err(field_error("ranking", "must be an object"));
    };
    if let Some((key, _)) =
        map.iter().find(|(k, v)| !v.is_null() && !["type", "score", "defaults", "functions"].contains(&k.as_str()))
    {
        return Err(field_error(&format!("ranking.{key}"), "is not a field of ranking"));
    }
    let kind = match map.get("type") {
        Some(Value::String(t)) if t == "expression" => RankingKind::Expression,
        Some(Value::String(t)) if t == "interest" => RankingKind::Interest,
        Some(Value::String(t)) if t == "recency" => return Ok(None),
        Some(Value::String(t)) => {
            return Err(field_error("ranking.type", format!("must be one of expression, interest, got {t:?}")))
        }
        None | Some(Value::Null) => return Err(field_error("ranking.type", "is a required field")),
        Some(_) => return Err(field_error("ranking.type", "must be a string")),
    };

    let mut names = Vec::new();
    let mut functions = Vec::new();
    match map.get("functions") {
        None | Some(Value::Null) => {}
        Some(Value::Object(fs)) => {
            if fs.len() > MAX_ENTRIES {
                return Err(field_error("ranking.functions", format!("at most {MAX_ENTRIES} functions")));
            }
            for (name, config) in fs {
                let field = format!("ranking.functions.{name}");
                let lower = name.to_ascii_lowercase();
                let valid = lower.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && lower.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && lower.len() <= 64;
                if !valid {
                    return Err(field_error(&field, "a function name is letters, digits and '_', up to 64"));
                }
                if BUILT_IN.iter().any(|(n, _)| *n == lower) || names.contains(&lower) {
                    return Err(field_error(&field, format!("the name {name} is already taken")));
                }
                let decay = Decay::from_config(config).map_err(|(key, message)| {
                    if key.is_empty() {
                        field_error(&field, message)
                    } else {
                        field_error(&format!("{field}.{key}"), message)
                    }
                })?;
                names.push(lower);
                functions.push(decay);
            }
        }
        Some(_) => return Err(field_error("ranking.functions", "must be an object")),
    }

    let mut defaults = Vec::new();
    match map.get("defaults") {
        None | Some(Value::Null) => {}
        Some(Value::Object(ds)) => {
            if ds.len() > MAX_ENTRIES {
                return Err(field_error("ranking.defaults", format!("at most {MAX_ENTRIES} defaults")));
            }
            for (name, value) in ds {
                let field = format!("ranking.defaults.{name}");
                let var = Var::resolve(name).map_err(|m| field_error(&field, m))?;
                let value = match value {
                    Value::Number(n) => Const::Num(n.as_f64().unwrap_or(0.0)),
                    Value::Bool(b) => Const::Num(if *b { 1.0 } else { 0.0 }),
                    Value::String(s) => Const::Text(s.clone()),
                    _ => return Err(field_error(&field, "must be a number, boolean or string")),
                };
                defaults.push((var, value));
            }
        }
        Some(_) => return Err(field_error("ranking.defaults", "must be an object")),
    }

    let score = match map.get("score") {
        Some(Value::String(s)) => s,
        None | Some(Value::Null) => return Err(field_error("ranking.score", "is a required field")),
        Some(_) => return Err(field_error("ranking.score", "must be a string")),
    };
    let expr = parse(score, &names).map_err(|e| field_error("ranking.score", e))?;
    Ok(Some(Ranking { kind, expr, defaults, functions }))
}

impl Ranking {
    /// The variables the score reads, each once, in order of appearance:
    /// what a read must load, and what `include_score_vars` reports.
    pub fn variables(&self) -> Vec<&Var> {
        fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a Var>) {
            match e {
                Expr::Var(v) if !out.contains(&v) => out.push(v),
                Expr::Num(_) | Expr::Str(_) | Expr::Var(_) => {}
                Expr::Unary(_, a) => walk(a, out),
                Expr::Binary(_, a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                Expr::Ternary(c, a, b) => {
                    walk(c, out);
                    walk(a, out);
                    walk(b, out);
                }
                Expr::Call(_, args) => args.iter().for_each(|a| walk(a, out)),
            }
        }
        let mut out = Vec::new();
        walk(&self.expr, &mut out);
        out
    }

    /// The activity's score: always a finite number.
    pub fn score(&self, inputs: &dyn Inputs, env: Env) -> f64 {
        Cx::new(inputs, &self.defaults, &self.functions, env).eval(&self.expr).num()
    }

    /// Each variable the score reads with the value it read (defaults
    /// applied): what `include_score_vars` shows as `score_vars`.
    pub fn score_vars(&self, inputs: &dyn Inputs, env: Env) -> serde_json::Map<String, Value> {
        let cx = Cx::new(inputs, &self.defaults, &self.functions, env);
        self.variables()
            .into_iter()
            .map(|v| {
                let value = match cx.var(v) {
                    super::eval::Value::Num(n) => serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
                    super::eval::Value::Text(t) => Value::String(t.to_string()),
                };
                (v.name(), value)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::super::eval::ActivityInputs;
    use super::*;

    const DAY: f64 = 86_400.0;
    const NOW: f64 = 1_800_000_000.0;

    fn ranking(config: Value) -> Ranking {
        compile(&config).unwrap().unwrap()
    }

    fn error(config: Value) -> (String, String) {
        let e = compile(&config).unwrap_err();
        let (field, _) = e.fields.iter().next().unwrap();
        (field.clone(), e.message)
    }

    fn env() -> Env {
        Env { now: NOW, seed: 7 }
    }

    #[test]
    fn config_errors_name_field_and_column() {
        assert_eq!(
            error(json!({"type": "expression", "score": "decay_exp(time)) * 2"})),
            ("ranking.score".into(), "ranking.score: unexpected ')' at 16".into())
        );
        assert_eq!(error(json!({"type": "expression"})).0, "ranking.score");
        assert_eq!(error(json!({"score": "1"})).0, "ranking.type");
        assert_eq!(error(json!({"type": "best", "score": "1"})).0, "ranking.type");
        assert_eq!(error(json!({"type": "expression", "score": "1", "weights": {}})).0, "ranking.weights");
        assert_eq!(
            error(json!({"type": "expression", "score": "f(time)", "functions": {"f": {"base": "decay_cubic"}}})).0,
            "ranking.functions.f.base"
        );
        assert_eq!(
            error(json!({"type": "expression", "score": "1", "functions": {"ln": {"base": "decay_exp"}}})).0,
            "ranking.functions.ln"
        );
        assert_eq!(
            error(json!({"type": "expression", "score": "1", "defaults": {"a.b": 1}})).0,
            "ranking.defaults.a.b"
        );
        assert_eq!(
            error(json!({"type": "expression", "score": "1", "defaults": {"popularity": [1]}})).0,
            "ranking.defaults.popularity"
        );
        assert!(compile(&json!({"type": "recency"})).unwrap().is_none());
    }

    #[test]
    fn the_built_in_foryou_expression_prefers_fresh_and_popular() {
        let r = ranking(json!({"type": "expression", "score": "decay_linear(time) * (1 + popularity)"}));
        let fresh = ActivityInputs { time: Some(NOW), reaction_count: Some(1.0), ..Default::default() };
        let old = ActivityInputs { time: Some(NOW - 3.0 * DAY), reaction_count: Some(1.0), ..Default::default() };
        assert_eq!(r.score(&fresh, env()), 2.0);
        assert!(r.score(&old, env()) < r.score(&fresh, env()));
    }

    #[test]
    fn user_decay_moves_an_old_popular_post_below_a_fresh_one() {
        let r = ranking(json!({"type": "expression", "score": "simple_gauss(time) * popularity",
            "functions": {"simple_gauss": {"base": "decay_gauss", "scale": "5d", "offset": "1d", "decay": "0.3"}}}));
        let old = ActivityInputs { time: Some(NOW - 20.0 * DAY), popularity: Some(100.0), ..Default::default() };
        let fresh = ActivityInputs { time: Some(NOW - 3_600.0), popularity: Some(5.0), ..Default::default() };
        assert!(r.score(&fresh, env()) > r.score(&old, env()));
        let at_scale = ActivityInputs { time: Some(NOW - 6.0 * DAY), popularity: Some(1.0), ..Default::default() };
        assert!((r.score(&at_scale, env()) - 0.3).abs() < 1e-9);
    }

    #[test]
    fn variables_defaults_and_external_inputs() {
        let counts: BTreeMap<String, i64> = [("like".to_string(), 4)].into();
        let custom = json!({"topic": "cats", "boost": 2, "deep": {"x": "3"}});
        let external = json!({"user_score": 0.5});
        let a = ActivityInputs {
            time: Some(NOW - 60.0),
            kind: Some("post"),
            reaction_count: Some(4.0),
            reaction_counts: Some(&counts),
            comment_count: Some(1.0),
            bookmark_count: Some(1.0),
            share_count: Some(0.0),
            selector_source: Some("popular"),
            custom: custom.as_object(),
            external: external.as_object(),
            ..Default::default()
        };
        let score = |text: &str| ranking(json!({"type": "expression", "score": text})).score(&a, env());
        assert_eq!(score("popularity"), 4.0 + 2.0 + 3.0);
        assert_eq!(score("reaction_counts.like + reaction_counts.wow"), 4.0);
        assert_eq!(score("age"), 60.0);
        assert_eq!(score("type == 'post' ? 10 : 1"), 10.0);
        assert_eq!(score("selector_source == \"popular\""), 1.0);
        assert_eq!(score("custom.topic == 'cats' && custom.boost == 2"), 1.0);
        assert_eq!(score("custom.deep.x * 2"), 6.0);
        assert_eq!(score("user_score * 4"), 2.0);
        assert_eq!(score("missing + custom.missing + 1"), 1.0);
        let with_defaults = ranking(json!({"type": "expression", "score": "missing * interest_score",
            "defaults": {"missing": 3, "interest_score": 2}}));
        assert_eq!(with_defaults.score(&a, env()), 6.0);
    }

    #[test]
    fn score_vars_show_what_the_score_read() {
        let r = ranking(json!({"type": "interest", "score": "interest_score * popularity + missing + age * 0",
            "defaults": {"missing": 2}}));
        let a = ActivityInputs {
            time: Some(NOW - 60.0),
            interest_score: Some(0.5),
            popularity: Some(4.0),
            ..Default::default()
        };
        let vars = r.score_vars(&a, env());
        assert_eq!(vars.get("interest_score"), Some(&json!(0.5)));
        assert_eq!(vars.get("popularity"), Some(&json!(4.0)));
        assert_eq!(vars.get("missing"), Some(&json!(2.0)));
        assert_eq!(vars.get("age"), Some(&json!(60.0)));
        assert_eq!(vars.len(), 4);
        assert_eq!(r.score(&a, env()), 4.0);
    }

    #[test]
    fn variables_are_listed_once_in_order() {
        let r = ranking(json!({"type": "expression",
            "score": "popularity * decay_exp(time) + (custom.x > 1 ? popularity : user_score)"}));
        let names: Vec<String> = r.variables().iter().map(|v| v.name()).collect();
        assert_eq!(names, ["popularity", "time", "custom.x", "user_score"]);
    }

    #[test]
    fn inputs_of_an_activity() {
        let mut activity = crate::core::model::Activity::blank();
        activity.kind = "post".into();
        activity.created_at = crate::core::time::Timestamp((NOW as i64 - 120) * 1_000_000_000);
        activity.custom.insert("boost".into(), json!(3));
        let r = ranking(json!({"type": "expression", "score": "type == 'post' ? custom.boost * age : 0"}));
        assert_eq!(r.score(&ActivityInputs::of(&activity), env()), 360.0);
    }

    #[test]
    fn functions_and_the_documented_edge_cases() {
        let a = ActivityInputs::default();
        let score = |text: &str| ranking(json!({"type": "expression", "score": text})).score(&a, env());
        assert_eq!(score("1 / 0"), 0.0);
        assert_eq!(score("0 / 0"), 0.0);
        assert_eq!(score("ln(0)"), -f64::MAX);
        assert_eq!(score("ln(-1)"), 0.0);
        assert_eq!(score("10 ^ 400"), f64::MAX);
        assert_eq!(score("log(1000)"), 3.0);
        assert_eq!(score("min(3, 1, 2) + max(3, 1, 2)"), 4.0);
        assert_eq!(score("trunc(-2.7) + round(2.5) + abs(-1)"), 2.0);
        assert_eq!(score("2 ^ 3 ^ 2"), 512.0);
        assert_eq!(score("-2 ^ 2"), -4.0);
        assert_eq!(score("!0 + !1"), 1.0);
        assert_eq!(score("to_unix_timestamp('2026-01-01T00:00:00Z')"), 1_767_225_600.0);
        let paris_london = score("dist(48.8566, 2.3522, 51.5074, -0.1278)");
        assert!((paris_london - 343.5).abs() < 1.0, "{paris_london}");
        let miles = score("dist(48.8566, 2.3522, 51.5074, -0.1278, 'M')");
        assert!((miles - paris_london / 1.609_344).abs() < 1e-6);
        for _ in 0..100 {
            let r = score("rand(5, 6)");
            assert!((5.0..6.0).contains(&r));
            let n = score("rand_normal(-1, 1, 10, 0)");
            assert!((-1.0..=1.0).contains(&n));
        }
        assert_eq!(score("rand()"), score("rand()"), "one seed, one draw");
    }
}
