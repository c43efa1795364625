//! Feed groups: the configuration every feed of a group shares. The built-in
//! groups exist in every app and can be updated but not recreated.

use serde::Deserialize;

use super::error::{Error, Result};
use super::events::{Event, EventType};
use super::model::{validate_id, ActivitySelector, FeedGroup, FeedGroupConfig};
use super::storage::ExtraWrites;
use super::time::Timestamp;
use super::Ctx;

pub const VISIBILITIES: &[&str] = &["public", "visible", "followers", "members", "private"];
const SELECTOR_TYPES: &[&str] =
    &["popular", "proximity", "following", "current_feed", "query", "interest", "follow_suggestion"];

/// Each selector reads up to 1,000 candidates, so a read's work grows with
/// their number.
pub const MAX_SELECTORS: usize = 10;

#[derive(Debug, Deserialize)]
pub struct CreateFeedGroup {
    pub id: String,
    #[serde(flatten)]
    pub config: FeedGroupConfig,
}

fn selector(kind: &str) -> ActivitySelector {
    ActivitySelector { kind: kind.to_string(), ..Default::default() }
}

/// The built-in `foryou` group's ranking expression.
pub const FORYOU_SCORE: &str = "(1 + interest_score) * (popularity > 0 ? popularity : 1) * decay_exp(time)";

/// The groups every app starts with (reference: domain.md §2.2).
pub fn built_in_groups(now: Timestamp) -> Vec<FeedGroup> {
    use serde_json::json;
    let group = |id: &str, config: FeedGroupConfig| FeedGroup {
        id: id.to_string(),
        config: FeedGroupConfig { default_visibility: Some("visible".into()), ..config },
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    let stories = json!({"track_watched": true, "skip_watched": false});
    vec![
        group(
            "user",
            FeedGroupConfig { activity_selectors: Some(vec![selector("current_feed")]), ..Default::default() },
        ),
        group(
            "timeline",
            FeedGroupConfig { activity_selectors: Some(vec![selector("following")]), ..Default::default() },
        ),
        group(
            "foryou",
            FeedGroupConfig {
                // ranking.md "Typical configs", with `1 + interest_score` so
                // that a reader without interests yet still gets popular
                // and fresh first (docs/ranking.md).
                activity_selectors: Some(vec![selector("following"), selector("popular"), selector("interest")]),
                ranking: Some(json!({"type": "interest", "score": FORYOU_SCORE})),
                activity_processors: Some(vec![json!({"type": "text_interest_tags"})]),
                ..Default::default()
            },
        ),
        group(
            "notification",
            FeedGroupConfig {
                activity_selectors: Some(vec![selector("current_feed")]),
                aggregation: Some(json!({"format": "{{ type }}-{{ time.strftime(\"%Y-%m-%d\") }}"})),
                notification: Some(json!({"track_seen": true, "track_read": true})),
                ..Default::default()
            },
        ),
        group(
            "story",
            FeedGroupConfig {
                activity_selectors: Some(vec![selector("current_feed")]),
                stories: Some(stories.clone()),
                ..Default::default()
            },
        ),
        group(
            "stories",
            FeedGroupConfig {
                activity_selectors: Some(vec![selector("following")]),
                aggregation: Some(json!({"format": "{{ user_id }}"})),
                stories: Some(stories),
                ..Default::default()
            },
        ),
    ]
}

pub async fn install_built_in_groups(ctx: &Ctx) -> Result<()> {
    for group in built_in_groups(Timestamp::now()) {
        let inserted = ctx.store.insert_feed_group(&group).await;
        ctx.config.invalidate();
        inserted?;
    }
    Ok(())
}

fn one_of(field: &str, value: Option<&str>, allowed: &[&str]) -> Result<()> {
    match value {
        Some(v) if !allowed.contains(&v) => {
            Err(Error::field(field, format!("{field} must be one of {}, got {v:?}", allowed.join(", "))))
        }
        _ => Ok(()),
    }
}

fn validate(config: &FeedGroupConfig) -> Result<()> {
    // Each section is stored verbatim: a document of its own.
    if let serde_json::Value::Object(sections) = serde_json::to_value(config).map_err(Error::internal)? {
        for (name, section) in &sections {
            super::limits::check(name, section)?;
        }
    }
    one_of("default_visibility", config.default_visibility.as_deref(), VISIBILITIES)?;
    validate_selectors(config.activity_selectors.as_deref())?;
    super::interests::validate_processors(config.activity_processors.as_deref())?;
    validate_aggregation(config.aggregation.as_ref())?;
    validate_ranking(config.ranking.as_ref())?;
    super::push::validate_group_config(config.push_notification.as_ref())?;
    for (name, section, key) in [
        ("notification", &config.notification, "track_seen"),
        ("notification", &config.notification, "track_read"),
        ("stories", &config.stories, "track_watched"),
        ("stories", &config.stories, "skip_watched"),
    ] {
        if let Some(v) = section.as_ref().and_then(|s| s.get(key)).filter(|v| !v.is_null() && !v.is_boolean()) {
            return Err(Error::field(&format!("{name}.{key}"), format!("{name}.{key} must be a boolean, got {v}")));
        }
    }
    match config.notification.as_ref().and_then(|n| n.get("deduplication_window")) {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::String(w)) if parse_window(w).is_some() => {}
        Some(other) => {
            return Err(Error::field(
                "notification.deduplication_window",
                format!(
                    "notification.deduplication_window must be \"\", \"0\" or a duration such as 30m, 1h, 7d, 1w; got {other}"
                ),
            ))
        }
    }
    let shaped = config.aggregation.is_some() || config.notification.is_some() || config.stories.is_some();
    if config.activity_filter.is_some() && shaped {
        return Err(Error::field(
            "activity_filter",
            "activity_filter cannot be combined with aggregation, notification or stories configuration",
        ));
    }
    Ok(())
}

/// A `deduplication_window` (`1h`, `7d`; empty or `0` for none) in
/// nanoseconds.
pub fn parse_window(window: &str) -> Option<i64> {
    let window = window.trim();
    if window.is_empty() || window == "0" {
        return Some(0);
    }
    // Windows are documented in seconds to weeks; a year of deduplication
    // keys is refused rather than kept.
    if window.ends_with('y') {
        return None;
    }
    super::time::duration_seconds(window)?.checked_mul(1_000_000_000)
}

/// Checks `activity_selectors` (a feed group's or a feed view's).
pub fn validate_selectors(selectors: Option<&[ActivitySelector]>) -> Result<()> {
    if selectors.is_some_and(|s| s.len() > MAX_SELECTORS) {
        return Err(Error::field(
            "activity_selectors",
            format!("activity_selectors: at most {MAX_SELECTORS} selectors"),
        ));
    }
    for s in selectors.into_iter().flatten() {
        one_of("activity_selectors.type", Some(&s.kind), SELECTOR_TYPES)?;
        if s.cutoff_window.is_some() && s.cutoff_time.is_some() {
            return Err(Error::field(
                "activity_selectors.cutoff_window",
                "activity_selectors: cutoff_window and cutoff_time cannot both be set",
            ));
        }
        if let Some(window) = &s.cutoff_window {
            if super::time::duration_seconds(window).is_none_or(|secs| secs < 3_600) {
                return Err(Error::field(
                    "activity_selectors.cutoff_window",
                    format!(
                        "activity_selectors.cutoff_window must be a whole number with a unit s, m, h, d, w or y, \
                         at least 1h, got {window:?}"
                    ),
                ));
            }
        }
        if s.min_popularity.is_some_and(|p| p < 1) {
            return Err(Error::field(
                "activity_selectors.min_popularity",
                "activity_selectors.min_popularity must be at least 1",
            ));
        }
    }
    // What this server can gather, and each selector's own filter and sort.
    super::selectors::validate(selectors.unwrap_or_default())
}

/// Checks an `aggregation` section (a feed group's or a feed view's).
pub fn validate_aggregation(aggregation: Option<&serde_json::Value>) -> Result<()> {
    let Some(aggregation) = aggregation else { return Ok(()) };
    let field_str = |key: &str| aggregation.get(key).and_then(|v| v.as_str()).map(str::to_string);
    one_of(
        "aggregation.activities_sort",
        field_str("activities_sort").as_deref(),
        &["created_at_asc", "created_at_desc"],
    )?;
    one_of("aggregation.score_strategy", field_str("score_strategy").as_deref(), &["sum", "max", "avg"])?;
    super::aggregation::validate(aggregation)
}

/// Checks a `ranking` section by compiling it: a bad expression, function
/// or default is a 400 naming the field (and the column in `score`).
pub fn validate_ranking(ranking: Option<&serde_json::Value>) -> Result<()> {
    if let Some(ranking) = ranking {
        super::ranking::compile(ranking)?;
    }
    Ok(())
}

pub async fn create_feed_group(ctx: &Ctx, req: CreateFeedGroup) -> Result<FeedGroup> {
    validate_id("feed group id", &req.id)?;
    validate(&req.config)?;
    let now = Timestamp::now();
    let group =
        FeedGroup { id: req.id, config: with_defaults(req.config), created_at: now, updated_at: now, deleted_at: None };
    let inserted = ctx.store.insert_feed_group_with(&group, &group_event(EventType::FeedGroupChanged, &group)).await;
    // Committed or not known to have failed before committing: either way
    // the cached feed groups are no longer to be trusted.
    ctx.config.invalidate();
    if !inserted? {
        return Err(Error::field("id", format!("feed group {} already exists", group.id)));
    }
    Ok(group)
}

fn with_defaults(mut config: FeedGroupConfig) -> FeedGroupConfig {
    config.default_visibility.get_or_insert_with(|| "visible".into());
    config
}

pub async fn get_feed_group(ctx: &Ctx, id: &str, include_soft_deleted: bool) -> Result<FeedGroup> {
    match ctx.store.get_feed_group(id).await? {
        Some(g) if g.deleted_at.is_none() || include_soft_deleted => Ok(g),
        _ => Err(Error::not_found("feed group", id)),
    }
}

/// A live group, for operations that need one to exist (adding to a feed).
pub async fn live_group(ctx: &Ctx, id: &str) -> Result<FeedGroup> {
    match ctx.store.get_feed_group(id).await? {
        Some(g) if g.deleted_at.is_none() => Ok(g),
        _ => Err(Error::input(format!("feed group {id} does not exist"))),
    }
}

pub async fn get_or_create_feed_group(ctx: &Ctx, id: &str, config: FeedGroupConfig) -> Result<(FeedGroup, bool)> {
    if let Some(g) = ctx.store.get_feed_group(id).await? {
        if g.deleted_at.is_none() {
            return Ok((g, false));
        }
    }
    match create_feed_group(ctx, CreateFeedGroup { id: id.to_string(), config }).await {
        Ok(g) => Ok((g, true)),
        // Lost a race with a concurrent create: return the winner's group.
        Err(e) if e.code == super::error::Code::InputError => match ctx.store.get_feed_group(id).await? {
            Some(g) if g.deleted_at.is_none() => Ok((g, false)),
            _ => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// Full replacement: omitted sections are cleared.
pub async fn update_feed_group(ctx: &Ctx, id: &str, config: FeedGroupConfig) -> Result<FeedGroup> {
    validate(&config)?;
    let mut group = get_feed_group(ctx, id, false).await?;
    group.config = with_defaults(config);
    group.updated_at = Timestamp::now();
    let put = ctx.store.put_feed_group_with(&group, &group_event(EventType::FeedGroupChanged, &group)).await;
    ctx.config.invalidate();
    put?;
    Ok(group)
}

pub async fn delete_feed_group(ctx: &Ctx, id: &str, hard: bool) -> Result<()> {
    let mut group = get_feed_group(ctx, id, hard).await?;
    let deleted = group_event(EventType::FeedGroupDeleted, &group);
    let written = if hard {
        ctx.store.purge_feed_group_with(id, &deleted).await.map(|_| ())
    } else {
        group.deleted_at = Some(Timestamp::now());
        ctx.store.put_feed_group_with(&group, &deleted).await
    };
    ctx.config.invalidate();
    written
}

pub async fn restore_feed_group(ctx: &Ctx, id: &str) -> Result<FeedGroup> {
    let mut group = get_feed_group(ctx, id, true).await?;
    if group.deleted_at.take().is_some() {
        group.updated_at = Timestamp::now();
        let put = ctx.store.put_feed_group_with(&group, &group_event(EventType::FeedGroupRestored, &group)).await;
        ctx.config.invalidate();
        put?;
    }
    Ok(group)
}

/// A feed group's event, with its `group_id` (and the group itself when
/// it changed). A group is no feed, so the event names none: it goes to
/// webhooks only, never to a WebSocket.
fn group_event(kind: EventType, group: &FeedGroup) -> ExtraWrites {
    let event = Event::new(kind, None).with(|s| {
        s.fields.insert("group_id".into(), serde_json::Value::from(group.id.clone()));
        if kind == EventType::FeedGroupChanged {
            s.feed_group = Some(group.clone());
        }
    });
    ExtraWrites { events: vec![event], ..Default::default() }
}

pub async fn list_feed_groups(ctx: &Ctx, include_soft_deleted: bool) -> Result<Vec<FeedGroup>> {
    let groups = ctx.store.list_feed_groups().await?;
    Ok(groups.into_iter().filter(|g| include_soft_deleted || g.deleted_at.is_none()).collect())
}
