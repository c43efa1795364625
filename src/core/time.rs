//! Time on the wire is integer nanoseconds since the epoch; requests may also
//! send RFC 3339 strings (with or without a zone — naive means UTC).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// Nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

/// A config duration — a count and one unit of `s`, `m`, `h`, `d`, `w` or
/// `y` (365 days), as `90m`, `7d`, `1y` — in seconds.
pub fn duration_seconds(text: &str) -> Option<i64> {
    let (n, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        "y" => 31_536_000,
        _ => return None,
    };
    n.parse::<i64>().ok()?.checked_mul(unit)
}

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX))
    }

    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Ok(n) = text.parse::<i64>() {
            return Some(Timestamp(n));
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            return t.timestamp_nanos_opt().map(Timestamp);
        }
        for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
                return t.and_utc().timestamp_nanos_opt().map(Timestamp);
            }
        }
        None
    }

    pub fn plus_seconds(self, seconds: i64) -> Self {
        Timestamp(self.0.saturating_add(seconds.saturating_mul(1_000_000_000)))
    }
}

/// Accepts integer nanoseconds, floats (seconds with fraction are not used by
/// any SDK, so a number is always nanoseconds) and date strings.
impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Float(f64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(Timestamp(n)),
            Raw::Float(f) => Ok(Timestamp(f as i64)),
            Raw::Text(s) => {
                Timestamp::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("invalid timestamp {s:?}")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_a_count_and_one_unit() {
        assert_eq!(duration_seconds("90m"), Some(5_400));
        assert_eq!(duration_seconds("7d"), Some(604_800));
        assert_eq!(duration_seconds("1y"), Some(31_536_000));
        for bad in ["", "d", "7", "7 d", "7days", "-1h", "1.5h", "99999999999999999999s"] {
            assert_eq!(duration_seconds(bad), None, "{bad:?}");
        }
        assert_eq!(duration_seconds("9223372036854775807w"), None, "overflow is refused");
    }

    #[test]
    fn parses_every_form_the_sdks_send() {
        let z = Timestamp::parse("2025-07-30T12:00:00Z").unwrap();
        assert_eq!(z.0, 1_753_876_800_000_000_000);
        assert_eq!(Timestamp::parse("2025-07-30T12:00:00").unwrap(), z);
        assert_eq!(Timestamp::parse("2025-07-30T12:00:00+00:00").unwrap(), z);
        assert_eq!(Timestamp::parse("2025-07-30T12:00:00.000Z").unwrap(), z);
        assert_eq!(Timestamp::parse("2025-07-30T14:00:00+02:00").unwrap(), z);
        assert_eq!(Timestamp::parse("1753876800000000000").unwrap(), z);
        assert!(Timestamp::parse("yesterday").is_none());
    }
}
