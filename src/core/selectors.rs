//! Activity selectors (ranking.md §3): where a selected feed's candidates
//! come from. Each selector yields at most `PER_SELECTOR` activities the
//! reader may see; the read (`selected_feeds`) merges, orders and pages
//! them.
//!
//! - `current_feed`, `following`: the feed's own entries (what was posted to
//!   it and what fan-out copied into it), newest first.
//! - `popular`: activities with at least `min_popularity` (default 5) from
//!   feeds the reader may read, most popular first, through the
//!   `(popularity, created_at)` index.
//! - `query`: activities matching the selector's `filter`, in its `sort`.
//! - `interest`: activities whose `interest_tags` hold one of the reader's
//!   interests (`core::interests`), newest first.
//! - `proximity`: activities located near the reader, newest first: inside
//!   the read's (or the selector's) `near` / `within_bounds` filter, else
//!   within `params.distance` km (default 50) of the reading user's stored
//!   location (`custom.lat` / `custom.lng`); none without either. The
//!   store lists the box's activities from its location index.
//! - `follow_suggestion`: the newest activities of the `user` feeds
//!   suggested to the reader (GetFollowSuggestions' ranking, the first
//!   `SUGGESTED_FEEDS`), each read through its feed's index; none for a
//!   read without a user.
//!
//! Every selector honours `cutoff_time` or `cutoff_window` and its `filter`,
//! and the read's own `filter` applies to all of them.

use serde_json::{Map, Value};

use super::error::{Error, Result};
use super::filter::{self, Filter, Operand, ACTIVITY_FIELDS, ACTIVITY_SORT};
use super::interests::Interests;
use super::model::{ActivitySelector, Fid};
use super::storage::{ActivityOrder, ActivityQuery, RankColumns, RankFields, Reader};
use super::time::Timestamp;
use super::{access, Ctx};

/// The most activities one selector contributes to a read.
pub const PER_SELECTOR: usize = 1000;

/// `popular`'s threshold when the selector names none.
const DEFAULT_MIN_POPULARITY: i64 = 5;

/// Selector types whose candidates this server gathers.
pub const GATHERED: &[&str] =
    &["current_feed", "following", "popular", "query", "interest", "proximity", "follow_suggestion"];

/// `proximity`'s radius in km around the reader's stored location when the
/// selector's `params.distance` names none.
const DEFAULT_PROXIMITY_KM: f64 = 50.0;

/// Half the Earth's circumference: no two points are farther apart.
const MAX_PROXIMITY_KM: f64 = 20_016.0;

/// How many suggested feeds `follow_suggestion` reads.
const SUGGESTED_FEEDS: usize = 10;

/// The feed group whose feeds `follow_suggestion` suggests.
const SUGGESTION_GROUP: &str = "user";

/// A candidate, as ranking reads it, and the selector that produced it.
/// Selectors read no documents: a read loads those of its page alone.
pub struct Candidate {
    pub fields: RankFields,
    pub source: &'static str,
}

/// Checks a group's (or view's) selectors when the configuration is written,
/// beyond the shapes `feed_groups::validate_selectors` checks: that this
/// server gathers them, and their filters and sorts, so reads never meet a
/// selector they cannot run.
pub fn validate(selectors: &[ActivitySelector]) -> Result<()> {
    for s in selectors {
        if !GATHERED.contains(&s.kind.as_str()) {
            return Err(Error::field(
                "activity_selectors.type",
                format!(
                    "activity selector {:?} is not supported by this server yet; supported: {}",
                    s.kind,
                    GATHERED.join(", ")
                ),
            ));
        }
        if s.kind == "query" && s.filter.as_ref().is_none_or(|f| f.as_object().is_none_or(Map::is_empty)) {
            return Err(Error::field("activity_selectors.filter", "a query selector needs a filter"));
        }
        selector_filter(s)?;
        selector_sort(s)?;
        if s.kind == "proximity" {
            proximity_km(s)?;
        } else if s.params.as_ref().is_some_and(|p| p.as_object().is_none_or(|p| !p.is_empty())) {
            return Err(Error::field("activity_selectors.params", "params are not supported by these selectors"));
        }
    }
    Ok(())
}

/// `proximity`'s radius around the reader's stored location: its
/// `params.distance` (km, above 0, at most half the Earth's circumference)
/// or the default. Other params are refused.
fn proximity_km(s: &ActivitySelector) -> Result<f64> {
    let invalid = |m: &str| Error::field("activity_selectors.params", m.to_string());
    let params = match &s.params {
        None | Some(Value::Null) => return Ok(DEFAULT_PROXIMITY_KM),
        Some(Value::Object(p)) => p,
        Some(_) => return Err(invalid("params must be an object")),
    };
    if let Some(key) = params.keys().find(|k| *k != "distance") {
        return Err(invalid(&format!("unknown proximity param {key:?}; supported: distance (km)")));
    }
    match params.get("distance") {
        None => Ok(DEFAULT_PROXIMITY_KM),
        Some(d) => d
            .as_f64()
            .filter(|d| *d > 0.0 && *d <= MAX_PROXIMITY_KM)
            .ok_or_else(|| invalid(&format!("distance must be a number of km in (0, {MAX_PROXIMITY_KM}]"))),
    }
}

/// A validation error inside a selector's section, reported on `field`.
fn under(field: &str, e: Error) -> Error {
    match e.code {
        super::error::Code::InputError => Error::field(field, e.message),
        _ => e,
    }
}

/// `cutoff_window` in nanoseconds (checked when the configuration was
/// written).
fn window_ns(window: &str) -> Result<i64> {
    super::time::duration_seconds(window)
        .and_then(|secs| secs.checked_mul(1_000_000_000))
        .ok_or_else(|| Error::field("activity_selectors.cutoff_window", format!("invalid cutoff_window {window:?}")))
}

/// The selector's `sort` (newest first by default), checked against
/// QueryActivities' sortable fields; one parser for the config check and
/// the read.
fn selector_sort(s: &ActivitySelector) -> Result<Vec<(&'static str, bool)>> {
    let sort: Option<Vec<filter::SortParam>> =
        s.sort
            .as_ref()
            .map(|v| serde_json::from_value(v.clone()))
            .transpose()
            .map_err(|_| Error::field("activity_selectors.sort", "sort must be a list of {field, direction}"))?;
    filter::parse_sort(sort.as_deref(), ACTIVITY_SORT, ("created_at", true))
        .map_err(|e| under("activity_selectors.sort", e))
}

/// The order the selector's `sort` reads in: by creation time through the
/// time index when that is the first key, else sorted.
fn selector_order(s: &ActivitySelector) -> Result<ActivityOrder> {
    let sort = selector_sort(s)?;
    Ok(if sort[0].0 == "created_at" {
        ActivityOrder::Created { newest_first: sort[0].1, position: None, backwards: false }
    } else {
        ActivityOrder::Sorted { sort, offset: 0 }
    })
}

fn selector_filter(s: &ActivitySelector) -> Result<Option<Filter>> {
    match &s.filter {
        Some(Value::Object(f)) if !f.is_empty() => {
            Ok(Some(filter::parse(f, ACTIVITY_FIELDS).map_err(|e| under("activity_selectors.filter", e))?))
        }
        Some(Value::Object(_)) | Some(Value::Null) | None => Ok(None),
        Some(_) => Err(Error::field("activity_selectors.filter", "filter must be an object")),
    }
}

/// The selector's conditions with the read's `filter`: its own filter, its
/// cutoff, and `extra` (a selector's built-in condition).
fn conditions(
    s: &ActivitySelector,
    read_filter: Option<&Filter>,
    now: Timestamp,
    extra: Vec<Filter>,
) -> Result<Filter> {
    let mut parts = extra;
    parts.extend(selector_filter(s)?);
    parts.extend(read_filter.cloned());
    let cutoff = match (&s.cutoff_time, &s.cutoff_window) {
        (Some(t), _) => Some(*t),
        (None, Some(w)) => Some(Timestamp(now.0.saturating_sub(window_ns(w)?))),
        _ => None,
    };
    if let Some(cutoff) = cutoff {
        parts.push(parse_one(serde_json::json!({"created_at": {"$gte": cutoff.0}}))?);
    }
    Ok(Filter::And(parts))
}

fn parse_one(v: Value) -> Result<Filter> {
    match v {
        Value::Object(f) => filter::parse(&f, ACTIVITY_FIELDS),
        _ => Err(Error::internal("a selector condition is an object")),
    }
}

/// Every selector's candidates, in selector order, each activity once (the
/// first selector to yield it names its source), with the `columns` of their
/// documents the ranking reads.
#[allow(clippy::too_many_arguments)]
pub async fn gather(
    ctx: &Ctx,
    fid: &Fid,
    selectors: &[ActivitySelector],
    reader: &Reader,
    read_filter: Option<&Filter>,
    now: Timestamp,
    interests: Option<&Interests>,
    columns: RankColumns,
) -> Result<Vec<Candidate>> {
    let mut out: Vec<Candidate> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for s in selectors {
        let source = GATHERED.iter().copied().find(|k| *k == s.kind).ok_or_else(|| {
            Error::field("activity_selectors.type", format!("activity selector {:?} is not supported", s.kind))
        })?;
        let found = match source {
            "current_feed" | "following" => {
                let filter = conditions(s, read_filter, now, Vec::new())?;
                ctx.store.feed_rank_fields(fid, PER_SELECTOR, now, reader, Some(&filter), columns).await?
            }
            "popular" => {
                let min = s.min_popularity.filter(|p| *p >= 1).unwrap_or(DEFAULT_MIN_POPULARITY);
                let popular = parse_one(serde_json::json!({"popularity": {"$gte": min}}))?;
                let filter = conditions(s, read_filter, now, vec![popular])?;
                let sort = vec![("popularity", true), ("created_at", true)];
                select(ctx, reader, filter, ActivityOrder::Sorted { sort, offset: 0 }, now, false, columns).await?
            }
            "interest" => interest(ctx, s, reader, read_filter, now, interests, columns).await?,
            "proximity" => proximity(ctx, s, reader, read_filter, now, columns).await?,
            "follow_suggestion" => suggested(ctx, s, reader, read_filter, now, columns).await?,
            _ => {
                let filter = conditions(s, read_filter, now, Vec::new())?;
                select(ctx, reader, filter, selector_order(s)?, now, true, columns).await?
            }
        };
        for fields in found {
            if seen.insert(fields.id.clone()) {
                out.push(Candidate { fields, source });
            }
        }
    }
    Ok(out)
}

/// `interest`: activities carrying one of the reader's interests (its
/// positive-weight tags: the top five computed ones and the read's
/// `interest_weights`), newest first (or in the selector's `sort`), seen as
/// the reader sees them. A reader without interests gets none.
async fn interest(
    ctx: &Ctx,
    s: &ActivitySelector,
    reader: &Reader,
    read_filter: Option<&Filter>,
    now: Timestamp,
    interests: Option<&Interests>,
    columns: RankColumns,
) -> Result<Vec<RankFields>> {
    let wanted = interests.map(Interests::wanted).unwrap_or_default();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let tags = parse_one(serde_json::json!({"interest_tags": {"$in": wanted}}))?;
    let filter = conditions(s, read_filter, now, vec![tags])?;
    select(ctx, reader, filter, selector_order(s)?, now, true, columns).await
}

/// Whether a filter bounds its matches to a place: a top-level `near` or
/// `within_bounds` condition, which the store narrows through its location
/// index.
fn locates(filter: &Filter) -> bool {
    match filter {
        Filter::And(parts) => parts.iter().any(locates),
        Filter::Cond(c) => matches!(c.value, Operand::Near { .. } | Operand::Bounds { .. }),
        _ => false,
    }
}

/// The reading user's stored location (`custom.lat`, `custom.lng`), when
/// it is a valid point.
async fn reader_location(ctx: &Ctx, reader: &Reader) -> Result<Option<(f64, f64)>> {
    let Some(viewer) = &reader.viewer else { return Ok(None) };
    let users = ctx.store.get_users(std::slice::from_ref(viewer)).await?;
    let Some(user) = users.first() else { return Ok(None) };
    let coordinate = |k: &str| user.custom.get(k).and_then(Value::as_f64);
    Ok(match (coordinate("lat"), coordinate("lng")) {
        (Some(lat), Some(lng)) if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lng) => Some((lat, lng)),
        _ => None,
    })
}

/// `proximity`: located activities near the reader, newest first, from the
/// read's or the selector's location filter, else around the reader's
/// stored location; nothing without either.
async fn proximity(
    ctx: &Ctx,
    s: &ActivitySelector,
    reader: &Reader,
    read_filter: Option<&Filter>,
    now: Timestamp,
    columns: RankColumns,
) -> Result<Vec<RankFields>> {
    let located = read_filter.is_some_and(locates) || selector_filter(s)?.as_ref().is_some_and(locates);
    let mut extra = Vec::new();
    if !located {
        let Some((lat, lng)) = reader_location(ctx, reader).await? else { return Ok(Vec::new()) };
        let distance = proximity_km(s)?;
        extra.push(parse_one(serde_json::json!({"near": {"$eq": {"lat": lat, "lng": lng, "distance": distance}}}))?);
    }
    let filter = conditions(s, read_filter, now, extra)?;
    let order = ActivityOrder::Created { newest_first: true, position: None, backwards: false };
    select(ctx, reader, filter, order, now, true, columns).await
}

/// `follow_suggestion`: the newest activities of the feeds suggested to the
/// reader that the reader may read, each feed read through its own index
/// (an equal share of `PER_SELECTOR` each), merged newest first.
async fn suggested(
    ctx: &Ctx,
    s: &ActivitySelector,
    reader: &Reader,
    read_filter: Option<&Filter>,
    now: Timestamp,
    columns: RankColumns,
) -> Result<Vec<RankFields>> {
    let Some(viewer) = &reader.viewer else { return Ok(Vec::new()) };
    let feeds = super::suggestions::suggested_feeds(ctx, viewer, SUGGESTION_GROUP, SUGGESTED_FEEDS).await?;
    let all: Vec<&super::model::Feed> = feeds.iter().collect();
    let capabilities = access::capabilities_on(ctx, viewer, &all).await?;
    let readable: Vec<&Fid> = feeds
        .iter()
        .map(|f| &f.fid)
        .filter(|fid| capabilities.get(*fid).is_some_and(|c| c.iter().any(|c| c == access::READ_ACTIVITIES)))
        .collect();
    if readable.is_empty() {
        return Ok(Vec::new());
    }
    let filter = conditions(s, read_filter, now, Vec::new())?;
    let reader = Reader { restricted: true, ..reader.clone() };
    let share = PER_SELECTOR.div_ceil(readable.len());
    let mut found = Vec::new();
    for fid in readable {
        found.extend(ctx.store.feed_rank_fields(fid, share, now, &reader, Some(&filter), columns).await?);
    }
    found.sort_by(|a: &RankFields, b: &RankFields| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
    found.dedup_by(|a, b| a.id == b.id);
    found.truncate(PER_SELECTOR);
    Ok(found)
}

/// App-wide candidates through QueryActivities' store query, seen as the
/// reader sees them: a server-side read of a user's feed takes that user's
/// perspective (a logged-out visitor's without one), so selectors never
/// surface what the feed's reader could not open.
async fn select(
    ctx: &Ctx,
    reader: &Reader,
    mut filter: Filter,
    order: ActivityOrder,
    now: Timestamp,
    budgeted: bool,
    columns: RankColumns,
) -> Result<Vec<RankFields>> {
    if reader.viewer.is_some() {
        if let Filter::And(parts) = &mut filter {
            parts.push(parse_one(serde_json::json!({"hidden": false}))?);
        }
    }
    let reader = Reader { restricted: true, grants: None, ..reader.clone() };
    let query = ActivityQuery {
        filter,
        order,
        limit: PER_SELECTOR,
        now,
        include_expired: false,
        include_deleted: false,
        include_private: false,
        reader: access::with_grants(ctx, reader).await?,
        // A query selector's filter may match rarely; its walk is bounded
        // like QueryActivities'. `popular` reads its index.
        scan_budget: budgeted.then_some(super::scan::SCAN_BUDGET),
    };
    ctx.store.query_rank_fields(&query, columns).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selector(v: Value) -> ActivitySelector {
        serde_json::from_value(v).expect("selector")
    }

    #[test]
    fn validation_names_the_field() {
        let cases = [
            (serde_json::json!({"type": "proximity", "params": {"radius": 5}}), "activity_selectors.params"),
            (serde_json::json!({"type": "proximity", "params": {"distance": 0}}), "activity_selectors.params"),
            (serde_json::json!({"type": "follow_suggestion", "params": {"x": 1}}), "activity_selectors.params"),
            (serde_json::json!({"type": "query"}), "activity_selectors.filter"),
            (serde_json::json!({"type": "query", "filter": {"nope": 1}}), "activity_selectors.filter"),
            (serde_json::json!({"type": "following", "params": {"x": 1}}), "activity_selectors.params"),
        ];
        for (v, field) in cases {
            let err = validate(&[selector(v.clone())]).expect_err("refused");
            assert!(err.fields.contains_key(field), "{v}: {err:?}");
        }
        let fine = selector(serde_json::json!({"type": "popular", "min_popularity": 2, "cutoff_window": "7d"}));
        assert!(validate(&[fine]).is_ok());
        let near = selector(serde_json::json!({"type": "proximity", "params": {"distance": 12.5}}));
        assert_eq!(proximity_km(&near).expect("distance"), 12.5);
        assert_eq!(proximity_km(&selector(serde_json::json!({"type": "proximity"}))).expect("default"), 50.0);
        assert!(validate(&[selector(serde_json::json!({"type": "follow_suggestion", "cutoff_window": "2d"}))]).is_ok());
    }
}
