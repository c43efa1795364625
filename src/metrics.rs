//! The process's Prometheus metrics: counters and histograms recorded where
//! the work happens (the HTTP edge, fan-out, webhooks), rendered in
//! Prometheus' text format by `GET /metrics` beside the gauges read at
//! scrape time (queues, pools, sockets).
//!
//! A small registry of our own rather than `metrics` +
//! `metrics-exporter-prometheus`: a dozen families with fixed buckets need
//! no more than a locked map, the text format is a few lines, and it spares
//! two crates (and their own dependency trees) on every build. Like those
//! crates' recorder it is one per process: every server a process runs (the
//! tests run several) adds to the same series.
//!
//! This module imports nothing from the crate, so every layer may record.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{LazyLock, Mutex};

/// One metric family: its name, help text and, for histograms, bucket
/// bounds.
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    /// Empty for counters.
    pub buckets: &'static [f64],
}

const SECONDS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
const ENTRIES: &[f64] = &[1.0, 10.0, 100.0, 1_000.0, 5_000.0, 10_000.0, 100_000.0, 1_000_000.0];

pub const REQUESTS: Family = Family {
    name: "tributary_http_requests_total",
    help: "API requests answered, by operation (Stream's operationId) and HTTP status.",
    buckets: &[],
};
pub const REQUEST_SECONDS: Family = Family {
    name: "tributary_http_request_duration_seconds",
    help: "Time to answer an API request, by operation and HTTP status.",
    buckets: SECONDS,
};
pub const RATE_LIMITED: Family = Family {
    name: "tributary_rate_limited_total",
    help: "Requests refused with 429 by a rate limit, by operation and scope (app or user).",
    buckets: &[],
};
pub const FANOUT_ENTRIES: Family = Family {
    name: "tributary_fanout_entries",
    help: "Feed entries one fan-out copy wrote, by mode: inline (an activity into its origins' follower feeds, in the write), background (one batch of a big feed's fan-out job), backfill (a new follow's copies of the target's activities).",
    buckets: ENTRIES,
};
pub const FANOUT_SECONDS: Family = Family {
    name: "tributary_fanout_duration_seconds",
    help: "Time of one fan-out copy, by mode (as tributary_fanout_entries).",
    buckets: SECONDS,
};
pub const WEBHOOK_DELIVERIES: Family = Family {
    name: "tributary_webhook_deliveries_total",
    help: "Webhook requests sent, by outcome (delivered, failed, skipped after the retry window).",
    buckets: &[],
};

/// Records one fan-out copy of `entries` feed entries that began at
/// `started`.
pub fn fanout(mode: &'static str, entries: u64, started: std::time::Instant) {
    observe(&FANOUT_ENTRIES, vec![("mode", mode.into())], entries as f64);
    observe(&FANOUT_SECONDS, vec![("mode", mode.into())], started.elapsed().as_secs_f64());
}

/// Label pairs of one series, in the order given.
pub type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
struct Series {
    /// Per bucket (not cumulative); counters use `count` only.
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Registry {
    series: BTreeMap<(&'static str, Labels), Series>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Default::default);

/// The families, in the order they are rendered.
const FAMILIES: &[&Family] =
    &[&REQUESTS, &REQUEST_SECONDS, &RATE_LIMITED, &FANOUT_ENTRIES, &FANOUT_SECONDS, &WEBHOOK_DELIVERIES];

fn with_series(family: &Family, labels: Labels, f: impl FnOnce(&mut Series)) {
    let mut registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    let series = registry.series.entry((family.name, labels)).or_default();
    if series.buckets.len() != family.buckets.len() {
        series.buckets = vec![0; family.buckets.len()];
    }
    f(series);
}

/// Adds `by` to a counter.
pub fn count(family: &Family, labels: Labels, by: u64) {
    with_series(family, labels, |s| s.count += by);
}

/// Records one observation of a histogram.
pub fn observe(family: &Family, labels: Labels, value: f64) {
    with_series(family, labels, |s| {
        if let Some(i) = family.buckets.iter().position(|bound| value <= *bound) {
            s.buckets[i] += 1;
        }
        s.sum += value;
        s.count += 1;
    });
}

/// A value read at scrape time.
pub struct Gauge {
    pub name: &'static str,
    pub help: &'static str,
    pub samples: Vec<(Labels, f64)>,
}

/// Everything in Prometheus' text exposition format (version 0.0.4), the
/// recorded families first, then `gauges`.
pub fn render(gauges: &[Gauge]) -> String {
    let registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = String::new();
    for family in FAMILIES {
        let kind = if family.buckets.is_empty() { "counter" } else { "histogram" };
        let _ = writeln!(out, "# HELP {} {}\n# TYPE {} {kind}", family.name, family.help, family.name);
        for ((_, labels), series) in registry.series.iter().filter(|((name, _), _)| *name == family.name) {
            render_series(&mut out, family, labels, series);
        }
    }
    for gauge in gauges {
        let _ = writeln!(out, "# HELP {} {}\n# TYPE {} gauge", gauge.name, gauge.help, gauge.name);
        for (labels, value) in &gauge.samples {
            let _ = writeln!(out, "{}{} {}", gauge.name, label_text(labels, None), number(*value));
        }
    }
    out
}

fn render_series(out: &mut String, family: &Family, labels: &Labels, series: &Series) {
    if family.buckets.is_empty() {
        let _ = writeln!(out, "{}{} {}", family.name, label_text(labels, None), series.count);
        return;
    }
    let mut cumulative = 0;
    for (bound, n) in family.buckets.iter().zip(&series.buckets) {
        cumulative += n;
        let _ = writeln!(out, "{}_bucket{} {cumulative}", family.name, label_text(labels, Some(&number(*bound))));
    }
    let _ = writeln!(out, "{}_bucket{} {}", family.name, label_text(labels, Some("+Inf")), series.count);
    let _ = writeln!(out, "{}_sum{} {}", family.name, label_text(labels, None), number(series.sum));
    let _ = writeln!(out, "{}_count{} {}", family.name, label_text(labels, None), series.count);
}

fn label_text(labels: &Labels, le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

/// Label values escape backslash, quote and newline.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn number(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_gauges() {
        count(&REQUESTS, vec![("operation", "UnitTestOp".into()), ("status", "201".into())], 2);
        observe(&FANOUT_SECONDS, vec![("mode", "unit\"test".into())], 0.003);
        let text = render(&[Gauge { name: "tributary_test_gauge", help: "A gauge.", samples: vec![(vec![], 7.0)] }]);
        assert!(text.contains("tributary_http_requests_total{operation=\"UnitTestOp\",status=\"201\"} 2"), "{text}");
        assert!(text.contains("tributary_fanout_duration_seconds_bucket{mode=\"unit\\\"test\",le=\"0.0025\"} 0"));
        assert!(text.contains("tributary_fanout_duration_seconds_bucket{mode=\"unit\\\"test\",le=\"0.005\"} 1"));
        assert!(text.contains("tributary_fanout_duration_seconds_count{mode=\"unit\\\"test\"} 1"));
        assert!(text.contains("# TYPE tributary_test_gauge gauge\ntributary_test_gauge 7\n"));
    }
}
