//! Decay functions, Elasticsearch-style (reference: ranking.md §1.3): a
//! value at distance `scale` beyond `offset` from `origin` scores `decay`,
//! one at the origin scores 1, and every result lies in [0, 1].

use serde_json::Value;

use crate::core::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Linear,
    Exp,
    Gauss,
}

impl Shape {
    pub fn parse(base: &str) -> Option<Shape> {
        match base.to_ascii_lowercase().as_str() {
            "decay_linear" | "linear" => Some(Shape::Linear),
            "decay_exp" | "exp" => Some(Shape::Exp),
            "decay_gauss" | "gauss" => Some(Shape::Gauss),
            _ => None,
        }
    }
}

/// Which side of the origin decays; values on the other side score 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Both,
    /// Values before the origin decay (the past, for times).
    Left,
    /// Values after the origin decay.
    Right,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Origin {
    /// The evaluation's `now`, UNIX seconds.
    Now,
    At(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decay {
    pub shape: Shape,
    pub origin: Origin,
    /// Seconds (or plain units, for inputs that are not times).
    pub scale: f64,
    pub offset: f64,
    pub decay: f64,
    pub direction: Direction,
}

/// The scale of `decay_*(x)` called without a config: one day.
pub const DEFAULT_SCALE: f64 = 86_400.0;
pub const DEFAULT_DECAY: f64 = 0.5;

impl Decay {
    pub fn built_in(shape: Shape) -> Decay {
        Decay {
            shape,
            origin: Origin::Now,
            scale: DEFAULT_SCALE,
            offset: 0.0,
            decay: DEFAULT_DECAY,
            direction: Direction::Both,
        }
    }

    /// Parses a `DecayFunctionConfig`. The error names the bad key.
    pub fn from_config(config: &Value) -> Result<Decay, (&'static str, String)> {
        let Value::Object(map) = config else {
            return Err(("", "must be an object".into()));
        };
        if let Some(key) =
            map.keys().find(|k| !["base", "origin", "scale", "offset", "decay", "direction"].contains(&k.as_str()))
        {
            return Err(("", format!("unknown key {key:?}")));
        }
        let text = |key: &'static str| -> Result<Option<String>, (&'static str, String)> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(_) => Err((key, "must be a string".into())),
            }
        };
        let base = text("base")?.ok_or(("base", "is required (decay_linear, decay_exp or decay_gauss)".to_string()))?;
        let shape = Shape::parse(&base)
            .ok_or(("base", format!("must be decay_linear, decay_exp or decay_gauss, got {base:?}")))?;
        let mut decay = Decay::built_in(shape);
        if let Some(s) = text("scale")? {
            decay.scale = duration(&s)
                .filter(|v| *v > 0.0)
                .ok_or(("scale", format!("must be a positive number or duration such as 30m, 12h, 5d, got {s:?}")))?;
        }
        if let Some(s) = text("offset")? {
            decay.offset = duration(&s)
                .filter(|v| *v >= 0.0)
                .ok_or(("offset", format!("must be a number or duration such as 1d, got {s:?}")))?;
        }
        if let Some(s) = text("decay")? {
            decay.decay = s
                .parse::<f64>()
                .ok()
                .filter(|d| *d > 0.0 && *d < 1.0)
                .ok_or(("decay", format!("must be a number between 0 and 1 (exclusive), got {s:?}")))?;
        }
        if let Some(s) = text("origin")? {
            decay.origin = if s.eq_ignore_ascii_case("now") {
                Origin::Now
            } else {
                match s.parse::<f64>().ok().filter(|v| v.is_finite()).or_else(|| parse_time(&s)) {
                    Some(v) => Origin::At(v),
                    None => return Err(("origin", format!("must be now, a number or an RFC 3339 time, got {s:?}"))),
                }
            };
        }
        if let Some(s) = text("direction")? {
            decay.direction = match s.to_ascii_lowercase().as_str() {
                "both" => Direction::Both,
                "left" | "past" | "before" => Direction::Left,
                "right" | "future" | "after" => Direction::Right,
                _ => return Err(("direction", format!("must be both, left or right, got {s:?}"))),
            };
        }
        Ok(decay)
    }

    /// The score of `x`, in [0, 1]; `now` is the evaluation's time.
    pub fn apply(&self, x: f64, now: f64) -> f64 {
        let origin = match self.origin {
            Origin::Now => now,
            Origin::At(o) => o,
        };
        let delta = x - origin;
        let distance = match self.direction {
            Direction::Left if delta > 0.0 => 0.0,
            Direction::Right if delta < 0.0 => 0.0,
            _ => delta.abs(),
        };
        let d = (distance - self.offset).max(0.0);
        let r = match self.shape {
            Shape::Linear => (1.0 - d * (1.0 - self.decay) / self.scale).max(0.0),
            Shape::Exp => self.decay.powf(d / self.scale),
            Shape::Gauss => self.decay.powf((d / self.scale).powi(2)),
        };
        if r.is_nan() {
            0.0
        } else {
            r.clamp(0.0, 1.0)
        }
    }
}

/// An RFC 3339 time (naive means UTC) as UNIX seconds; numbers are not
/// times here (a decay origin or `to_unix_timestamp` takes them as seconds).
pub fn parse_time(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.parse::<f64>().is_ok() {
        return None;
    }
    Timestamp::parse(text).map(|t| t.0 as f64 / 1e9)
}

/// A duration in seconds: `30s`, `30m`, `12h`, `5d`, `2w`, `1y`, or a plain
/// number (taken as is: seconds for times, the input's own unit otherwise).
pub fn duration(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Ok(n) = text.parse::<f64>() {
        return n.is_finite().then_some(n);
    }
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let n: f64 = number.trim().parse().ok()?;
    let unit = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3_600.0,
        "d" => 86_400.0,
        "w" => 604_800.0,
        "y" => 31_536_000.0,
        _ => return None,
    };
    let v = n * unit;
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations() {
        assert_eq!(duration("5d"), Some(432_000.0));
        assert_eq!(duration("30m"), Some(1_800.0));
        assert_eq!(duration("1.5h"), Some(5_400.0));
        assert_eq!(duration("7"), Some(7.0));
        assert_eq!(duration("5 parsecs"), None);
        assert_eq!(duration("d"), None);
    }

    #[test]
    fn shapes_score_decay_at_scale() {
        let now = 1_000_000.0;
        for shape in [Shape::Linear, Shape::Exp, Shape::Gauss] {
            let d = Decay { offset: 3_600.0, ..Decay::built_in(shape) };
            assert_eq!(d.apply(now, now), 1.0);
            assert_eq!(d.apply(now - 3_600.0, now), 1.0, "inside the offset");
            let at_scale = d.apply(now - 3_600.0 - DEFAULT_SCALE, now);
            assert!((at_scale - 0.5).abs() < 1e-12, "{shape:?}: {at_scale}");
            assert!(d.apply(now - 100.0 * DEFAULT_SCALE, now) < 0.01);
        }
    }

    #[test]
    fn direction_limits_the_decaying_side() {
        let d = Decay { direction: Direction::Left, ..Decay::built_in(Shape::Exp) };
        assert_eq!(d.apply(5e6, 1e6), 1.0);
        assert!(d.apply(0.0, 1e6) < 1.0);
    }

    #[test]
    fn config_errors_name_the_key() {
        let bad = |c: serde_json::Value| Decay::from_config(&c).unwrap_err().0;
        assert_eq!(bad(json!({"scale": "1d"})), "base");
        assert_eq!(bad(json!({"base": "decay_cubic"})), "base");
        assert_eq!(bad(json!({"base": "decay_exp", "scale": "0d"})), "scale");
        assert_eq!(bad(json!({"base": "decay_exp", "decay": "1.5"})), "decay");
        assert_eq!(bad(json!({"base": "decay_exp", "origin": "yesterday"})), "origin");
        assert_eq!(bad(json!({"base": "decay_exp", "direction": "up"})), "direction");
        let ok = Decay::from_config(&json!({"base": "decay_gauss", "scale": "5d", "offset": "1d", "decay": "0.3",
            "origin": "2026-01-01T00:00:00Z"}))
        .unwrap();
        assert_eq!(ok.shape, Shape::Gauss);
        assert_eq!(ok.origin, Origin::At(1_767_225_600.0));
    }
}
