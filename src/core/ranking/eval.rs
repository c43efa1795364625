//! Evaluating a compiled expression. Total by construction: no input makes
//! it panic, and every result is a finite number.
//!
//! - A variable the activity lacks takes its `defaults` value, else 0 (text
//!   variables: the empty string).
//! - Division by zero is 0. An undefined result (NaN: `ln(-1)`, `0 ^ -1`…)
//!   is 0; an overflow is clamped to ±`f64::MAX`.
//! - Text where a number is needed reads as that number if it is one
//!   (`"2.5"`), else 0. Truth: a non-zero number, a non-empty text.
//! - `rand` draws from a generator seeded by `Env::seed`, so a read that
//!   seeds per activity re-ranks the same way on every page.
//!
//! Evaluation allocates nothing: values borrow from the inputs and the AST.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use super::ast::{BinOp, Expr, Func, UnOp, Var};
use super::decay::{parse_time, Decay, Shape};
use crate::core::model::Activity;

/// A value during evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Num(f64),
    Text(&'a str),
}

/// An owned value, for `defaults`.
#[derive(Debug, Clone, PartialEq)]
pub enum Const {
    Num(f64),
    Text(String),
}

impl Const {
    fn value(&self) -> Value<'_> {
        match self {
            Const::Num(n) => Value::Num(*n),
            Const::Text(s) => Value::Text(s),
        }
    }
}

impl Value<'_> {
    pub fn num(self) -> f64 {
        match self {
            Value::Num(n) => n,
            Value::Text(s) => s.trim().parse::<f64>().ok().map(finite).unwrap_or(0.0),
        }
    }

    fn truthy(self) -> bool {
        match self {
            Value::Num(n) => n != 0.0 && !n.is_nan(),
            Value::Text(s) => !s.is_empty(),
        }
    }
}

/// What an expression reads about the activity being scored.
pub trait Inputs {
    /// The variable's value, or `None` when the activity has none (then the
    /// config's `defaults` apply).
    fn get(&self, var: &Var) -> Option<Value<'_>>;
}

/// The evaluation's clock and random seed.
#[derive(Debug, Clone, Copy)]
pub struct Env {
    /// UNIX seconds.
    pub now: f64,
    pub seed: u64,
}

/// `Inputs` over the fields of an activity as a read has them.
#[derive(Debug, Default, Clone)]
pub struct ActivityInputs<'a> {
    /// Creation time, UNIX seconds.
    pub time: Option<f64>,
    pub kind: Option<&'a str>,
    pub reaction_count: Option<f64>,
    pub reaction_counts: Option<&'a BTreeMap<String, i64>>,
    pub comment_count: Option<f64>,
    pub bookmark_count: Option<f64>,
    pub share_count: Option<f64>,
    /// When absent, computed from the counts (ranking.md §1.1).
    pub popularity: Option<f64>,
    pub interest_score: Option<f64>,
    pub preference_score: Option<f64>,
    pub selector_source: Option<&'a str>,
    pub custom: Option<&'a Map<String, Json>>,
    /// The read's `external_ranking` inputs.
    pub external: Option<&'a Map<String, Json>>,
}

impl<'a> ActivityInputs<'a> {
    /// The activity's own fields (time, type, custom data); counters,
    /// scores, the selector and the read's inputs are the caller's to add.
    pub fn of(activity: &'a Activity) -> Self {
        ActivityInputs {
            time: Some(activity.created_at.0 as f64 / 1e9),
            kind: Some(&activity.kind),
            custom: Some(&activity.custom),
            ..Default::default()
        }
    }
}

fn json_value(v: &Json) -> Option<Value<'_>> {
    match v {
        Json::Number(n) => n.as_f64().map(Value::Num),
        Json::String(s) => Some(Value::Text(s)),
        Json::Bool(b) => Some(Value::Num(if *b { 1.0 } else { 0.0 })),
        _ => None,
    }
}

impl Inputs for ActivityInputs<'_> {
    fn get(&self, var: &Var) -> Option<Value<'_>> {
        let num = |v: Option<f64>| v.map(Value::Num);
        match var {
            Var::Time => num(self.time),
            Var::Age => None,
            Var::Type => self.kind.map(Value::Text),
            Var::Popularity => num(self.popularity.or_else(|| {
                let counts = [self.reaction_count, self.comment_count, self.bookmark_count, self.share_count];
                if counts.iter().all(Option::is_none) {
                    return None;
                }
                let [r, c, b, s] = counts.map(|c| c.unwrap_or(0.0));
                Some(r + 2.0 * c + 3.0 * b + 3.0 * s)
            })),
            Var::ReactionCount => num(self.reaction_count),
            Var::ReactionCounts(kind) => self.reaction_counts?.get(kind).map(|n| Value::Num(*n as f64)),
            Var::CommentCount => num(self.comment_count),
            Var::BookmarkCount => num(self.bookmark_count),
            Var::ShareCount => num(self.share_count),
            Var::InterestScore => num(self.interest_score),
            Var::PreferenceScore => num(self.preference_score),
            Var::SelectorSource => self.selector_source.map(Value::Text),
            Var::Custom(path) => {
                let (first, rest) = path.split_first()?;
                let mut v = self.custom?.get(first)?;
                for key in rest {
                    v = v.as_object()?.get(key)?;
                }
                json_value(v)
            }
            Var::External(name) => json_value(self.external?.get(name)?),
        }
    }
}

/// NaN is 0; ±infinity is ±`f64::MAX`.
pub fn finite(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(-f64::MAX, f64::MAX)
    }
}

/// The state of one evaluation.
pub struct Cx<'a> {
    pub inputs: &'a dyn Inputs,
    pub defaults: &'a [(Var, Const)],
    pub functions: &'a [Decay],
    pub now: f64,
    rng: u64,
}

impl<'a> Cx<'a> {
    pub fn new(inputs: &'a dyn Inputs, defaults: &'a [(Var, Const)], functions: &'a [Decay], env: Env) -> Self {
        Cx { inputs, defaults, functions, now: env.now, rng: env.seed }
    }

    /// Uniform in [0, 1) (splitmix64).
    fn uniform(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        // Box–Muller; 1 - u is in (0, 1], so the log is finite.
        let u = 1.0 - self.uniform();
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// A variable's value as the score reads it: the activity's, else its
    /// default, else 0 (or the empty text).
    pub fn var(&self, var: &'a Var) -> Value<'a> {
        // Inputs come from stored documents and the request: NaN or an
        // infinity there must not leak into the score.
        match self.inputs.get(var) {
            Some(Value::Num(n)) => return Value::Num(finite(n)),
            Some(text) => return text,
            None => {}
        }
        if let Some((_, c)) = self.defaults.iter().find(|(v, _)| v == var) {
            return c.value();
        }
        match var {
            Var::Age => match self.inputs.get(&Var::Time) {
                Some(t) => Value::Num(finite(self.now - t.num())),
                None => Value::Num(0.0),
            },
            Var::Type | Var::SelectorSource => Value::Text(""),
            _ => Value::Num(0.0),
        }
    }

    pub fn eval(&mut self, expr: &'a Expr) -> Value<'a> {
        match expr {
            Expr::Num(n) => Value::Num(*n),
            Expr::Str(s) => Value::Text(s),
            Expr::Var(v) => self.var(v),
            Expr::Unary(UnOp::Neg, e) => Value::Num(-self.eval(e).num()),
            Expr::Unary(UnOp::Not, e) => Value::Num(bool_num(!self.eval(e).truthy())),
            Expr::Ternary(c, a, b) => {
                if self.eval(c).truthy() {
                    self.eval(a)
                } else {
                    self.eval(b)
                }
            }
            Expr::Binary(BinOp::And, a, b) => {
                let r = self.eval(a).truthy() && self.eval(b).truthy();
                Value::Num(bool_num(r))
            }
            Expr::Binary(BinOp::Or, a, b) => {
                let r = self.eval(a).truthy() || self.eval(b).truthy();
                Value::Num(bool_num(r))
            }
            Expr::Binary(op, a, b) => {
                let (a, b) = (self.eval(a), self.eval(b));
                Value::Num(binary(*op, a, b))
            }
            Expr::Call(f, args) => Value::Num(finite(self.call(f, args))),
        }
    }

    fn arg(&mut self, args: &'a [Expr], i: usize) -> f64 {
        args.get(i).map(|a| self.eval(a).num()).unwrap_or(0.0)
    }

    fn call(&mut self, f: &Func, args: &'a [Expr]) -> f64 {
        let decay = |shape| Decay::built_in(shape);
        match f {
            Func::Ln => self.arg(args, 0).ln(),
            Func::Log => self.arg(args, 0).log10(),
            Func::Sin => self.arg(args, 0).sin(),
            Func::Cos => self.arg(args, 0).cos(),
            Func::Tan => self.arg(args, 0).tan(),
            Func::Abs => self.arg(args, 0).abs(),
            Func::Trunc => self.arg(args, 0).trunc(),
            Func::Round => self.arg(args, 0).round(),
            Func::Min => (0..args.len()).map(|i| self.arg(args, i)).fold(f64::INFINITY, f64::min),
            Func::Max => (0..args.len()).map(|i| self.arg(args, i)).fold(f64::NEG_INFINITY, f64::max),
            Func::DecayLinear => decay(Shape::Linear).apply(self.arg(args, 0), self.now),
            Func::DecayExp => decay(Shape::Exp).apply(self.arg(args, 0), self.now),
            Func::DecayGauss => decay(Shape::Gauss).apply(self.arg(args, 0), self.now),
            Func::User(_, i) => {
                let x = self.arg(args, 0);
                self.functions.get(*i).map(|d| d.apply(x, self.now)).unwrap_or(0.0)
            }
            Func::Rand if args.len() == 2 => {
                let (lo, hi) = (self.arg(args, 0), self.arg(args, 1));
                lo + self.uniform() * (hi - lo)
            }
            Func::Rand => self.uniform(),
            Func::RandNormal if args.len() == 4 => {
                let (lo, hi, sigma, mu) = (self.arg(args, 0), self.arg(args, 1), self.arg(args, 2), self.arg(args, 3));
                let x = mu + sigma * self.normal();
                if lo <= hi {
                    x.clamp(lo, hi)
                } else {
                    x
                }
            }
            Func::RandNormal => self.normal(),
            Func::ToUnixTimestamp => match args.first().map(|a| self.eval(a)) {
                Some(Value::Text(s)) => parse_time(s).unwrap_or_else(|| Value::Text(s).num()),
                Some(v) => v.num(),
                None => 0.0,
            },
            Func::Dist => {
                let [lat1, lng1, lat2, lng2] = [0, 1, 2, 3].map(|i| self.arg(args, i));
                let unit = match args.get(4) {
                    Some(Expr::Str(u)) => u.as_str(),
                    _ => "km",
                };
                haversine_km(lat1, lng1, lat2, lng2)
                    / match unit {
                        "M" | "mi" => 1.609_344,
                        "N" | "nm" => 1.852,
                        _ => 1.0,
                    }
            }
        }
    }
}

fn bool_num(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

fn binary(op: BinOp, a: Value<'_>, b: Value<'_>) -> f64 {
    if let (Value::Text(x), Value::Text(y)) = (a, b) {
        let r = match op {
            BinOp::Eq => x == y,
            BinOp::Ne => x != y,
            BinOp::Lt => x < y,
            BinOp::Le => x <= y,
            BinOp::Gt => x > y,
            BinOp::Ge => x >= y,
            _ => return binary(op, Value::Num(a.num()), Value::Num(b.num())),
        };
        return bool_num(r);
    }
    // Text against a number (custom data of either kind) compares equal
    // only if the text is that number.
    let (x, y) = (a.num(), b.num());
    let mixed = matches!((a, b), (Value::Text(_), Value::Num(_)) | (Value::Num(_), Value::Text(_)));
    let r = match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div if y == 0.0 => 0.0,
        BinOp::Div => x / y,
        BinOp::Pow => x.powf(y),
        BinOp::Eq => bool_num(x == y && !(mixed && text_is_not_number(a, b))),
        BinOp::Ne => bool_num(!(x == y && !(mixed && text_is_not_number(a, b)))),
        BinOp::Lt => bool_num(x < y),
        BinOp::Le => bool_num(x <= y),
        BinOp::Gt => bool_num(x > y),
        BinOp::Ge => bool_num(x >= y),
        // `Cx::eval` short-circuits these; kept total for direct callers.
        BinOp::And => bool_num(a.truthy() && b.truthy()),
        BinOp::Or => bool_num(a.truthy() || b.truthy()),
    };
    finite(r)
}

fn text_is_not_number(a: Value<'_>, b: Value<'_>) -> bool {
    [a, b].iter().any(|v| matches!(v, Value::Text(s) if s.trim().parse::<f64>().is_err()))
}

fn haversine_km(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    const EARTH_KM: f64 = 6_371.008_8;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lng2 - lng1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_KM * h.clamp(0.0, 1.0).sqrt().asin()
}
