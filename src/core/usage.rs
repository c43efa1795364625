//! Usage statistics (QueryFeedsUsageStats): per-day counters kept as the
//! work happens. Activities and follows count themselves in the transaction
//! that creates them (`store::ops::usage`), so they are exact. API requests
//! are counted in memory (`usage_counter`) and written every
//! `FLUSH_INTERVAL` by `run_flusher` (and at shutdown): a process killed
//! without a shutdown loses at most that interval of its request count,
//! requests served in the last interval before midnight UTC may be counted
//! on the next day, and a process reports its own unwritten requests but
//! not those of other instances.

use std::time::Duration;

use chrono::{Days, NaiveDate};

use crate::shutdown::Shutdown;

use super::error::{Error, Result};
use super::storage::UsageMetric;
use super::time::Timestamp;
use super::usage_counter::day_of;
use super::Ctx;

/// How often counted API requests are written (and counters compacted).
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(10);
/// The longest date range one query may span, in days.
pub const MAX_RANGE_DAYS: u64 = 366;
/// The range when `from` is not given: this many days before `to`.
const DEFAULT_RANGE_DAYS: u64 = 30;

/// One metric over the range: the value of every day, oldest first, and
/// their total.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DailySeries {
    pub daily: Vec<(String, i64)>,
    pub total: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsageStats {
    pub activities: DailySeries,
    pub follows: DailySeries,
    pub api_requests: DailySeries,
}

/// A `YYYY-MM-DD` date sent as `field`.
fn parse_day(field: &str, text: &str) -> Result<NaiveDate> {
    let parsed = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().filter(|_| text.len() == 10);
    parsed.ok_or_else(|| Error::field(field, format!("{field} must be a date in YYYY-MM-DD format, got {text:?}")))
}

/// The days from `from` to `to` (inclusive) a request asks for, defaulted
/// and checked.
pub fn date_range(from: Option<&str>, to: Option<&str>, today: NaiveDate) -> Result<(NaiveDate, NaiveDate)> {
    let to = match to.filter(|t| !t.is_empty()) {
        Some(t) => parse_day("to", t)?,
        None => today,
    };
    let from = match from.filter(|f| !f.is_empty()) {
        Some(f) => parse_day("from", f)?,
        None => to.checked_sub_days(Days::new(DEFAULT_RANGE_DAYS)).unwrap_or(to),
    };
    if from > to {
        return Err(Error::field("from", format!("from ({from}) must not be after to ({to})")));
    }
    if (to - from).num_days() as u64 >= MAX_RANGE_DAYS {
        return Err(Error::field(
            "from",
            format!("the range from {from} to {to} spans more than {MAX_RANGE_DAYS} days"),
        ));
    }
    Ok((from, to))
}

pub async fn usage_stats(ctx: &Ctx, from: Option<&str>, to: Option<&str>) -> Result<UsageStats> {
    let now = Timestamp::now();
    let today = day_of(now);
    let today_date = parse_day("today", &today)?;
    let (from, to) = date_range(from, to, today_date)?;
    let rows = ctx.store.usage_between(&from.to_string(), &to.to_string()).await?;
    let mut stats = UsageStats::default();
    let mut day = from;
    while day <= to {
        let date = day.to_string();
        let value = |metric: UsageMetric| {
            rows.iter().filter(|(d, m, _)| *d == date && m == metric.as_str()).map(|(_, _, v)| *v).sum::<i64>()
        };
        let unwritten = if date == today { ctx.api_requests.pending() } else { 0 };
        push(&mut stats.activities, &date, value(UsageMetric::Activities));
        push(&mut stats.follows, &date, value(UsageMetric::Follows));
        push(&mut stats.api_requests, &date, value(UsageMetric::ApiRequests) + unwritten);
        let Some(next) = day.succ_opt() else { break };
        day = next;
    }
    Ok(stats)
}

fn push(series: &mut DailySeries, date: &str, value: i64) {
    series.daily.push((date.to_string(), value));
    series.total += value;
}

/// Writes the API requests counted in memory, and folds counter rows.
async fn flush(ctx: &Ctx) {
    let n = ctx.api_requests.take();
    if n > 0 {
        if let Err(e) = ctx.store.add_usage(&day_of(Timestamp::now()), UsageMetric::ApiRequests, n).await {
            tracing::warn!(error = %e, "writing the API request count failed; retrying with the next batch");
            ctx.api_requests.give_back(n);
        }
    }
    if let Err(e) = ctx.store.compact_usage().await {
        tracing::warn!(error = %e, "compacting usage counters failed");
    }
}

/// Flushes the request counter every `FLUSH_INTERVAL` until `shutdown`,
/// then once more.
pub async fn run_flusher(ctx: Ctx, shutdown: Shutdown) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(FLUSH_INTERVAL) => flush(&ctx).await,
            _ = shutdown.wait() => break,
        }
    }
    flush(&ctx).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn ranges_default_to_the_last_thirty_days_and_refuse_bad_dates() {
        let today = day("2026-03-31");
        assert_eq!(date_range(None, None, today).unwrap(), (day("2026-03-01"), today));
        assert_eq!(date_range(Some("2026-03-05"), None, today).unwrap(), (day("2026-03-05"), today));
        for (from, to, field) in [
            (Some("2026-3-5"), None, "from"),
            (Some("yesterday"), None, "from"),
            (None, Some("2026-02-30"), "to"),
            (Some("2026-03-02"), Some("2026-03-01"), "from"),
            (Some("2024-01-01"), Some("2026-01-01"), "from"),
        ] {
            let e = date_range(from, to, today).unwrap_err();
            assert!(e.fields.contains_key(field), "{from:?}..{to:?}: {e:?}");
        }
    }
}
