//! Usage statistics.

use serde::Serialize;

use crate::core::usage::{DailySeries, UsageStats};

#[derive(Debug, Serialize)]
pub struct DailyMetricResponse {
    pub date: String,
    pub value: i64,
}

#[derive(Debug, Serialize)]
pub struct DailyMetricStatsResponse {
    pub daily: Vec<DailyMetricResponse>,
    pub total: i64,
}

impl From<DailySeries> for DailyMetricStatsResponse {
    fn from(s: DailySeries) -> Self {
        DailyMetricStatsResponse {
            daily: s.daily.into_iter().map(|(date, value)| DailyMetricResponse { date, value }).collect(),
            total: s.total,
        }
    }
}

/// `emau` is left out: engaged-user tracking is not kept (the spec omits it
/// when it is not enabled).
#[derive(Debug, Serialize)]
pub struct QueryFeedsUsageStatsResponse {
    pub activities: DailyMetricStatsResponse,
    pub follows: DailyMetricStatsResponse,
    pub api_requests: DailyMetricStatsResponse,
    /// No OpenAI requests are made by this server: every day is 0.
    pub openai_requests: DailyMetricStatsResponse,
}

impl From<UsageStats> for QueryFeedsUsageStatsResponse {
    fn from(s: UsageStats) -> Self {
        let none = DailySeries { daily: s.activities.daily.iter().map(|(d, _)| (d.clone(), 0)).collect(), total: 0 };
        QueryFeedsUsageStatsResponse {
            activities: s.activities.into(),
            follows: s.follows.into(),
            api_requests: s.api_requests.into(),
            openai_requests: none.into(),
        }
    }
}
