//! Feed views (domain.md §2.3): named selector, ranking and aggregation
//! configs, server-side CRUD. Each section is checked by the feed-group
//! validators, so a view is refused exactly where a group would be.

use serde::Deserialize;

use super::error::{Error, Result};
use super::feed_groups::{validate_aggregation, validate_ranking, validate_selectors};
use super::model::{validate_id, ActivitySelector, FeedView};
use super::storage::FeedViewInsert;
use super::time::Timestamp;
use super::Ctx;

/// Most views an app may hold: ListFeedViews returns them all at once.
pub const MAX_VIEWS: usize = 1_000;

/// The sections a request may set (create, get-or-create, update).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FeedViewConfig {
    #[serde(default)]
    pub activity_selectors: Option<Vec<ActivitySelector>>,
    #[serde(default)]
    pub ranking: Option<serde_json::Value>,
    #[serde(default)]
    pub aggregation: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub struct CreateFeedView {
    pub id: String,
    #[serde(flatten)]
    pub config: FeedViewConfig,
}

fn validate(config: &FeedViewConfig) -> Result<()> {
    if let Some(selectors) = &config.activity_selectors {
        super::limits::check("activity_selectors", &serde_json::to_value(selectors).map_err(Error::internal)?)?;
    }
    for (name, section) in [("ranking", &config.ranking), ("aggregation", &config.aggregation)] {
        if let Some(section) = section {
            super::limits::check(name, section)?;
        }
    }
    validate_selectors(config.activity_selectors.as_deref())?;
    validate_ranking(config.ranking.as_ref())?;
    validate_aggregation(config.aggregation.as_ref())
}

fn view(id: String, config: FeedViewConfig, now: Timestamp) -> FeedView {
    FeedView {
        id,
        activity_selectors: config.activity_selectors,
        ranking: config.ranking,
        aggregation: config.aggregation,
        last_used_at: None,
        created_at: now,
        updated_at: now,
    }
}

async fn insert(ctx: &Ctx, view: &FeedView) -> Result<FeedViewInsert> {
    let outcome = ctx.store.insert_feed_view(view, MAX_VIEWS).await?;
    if outcome == FeedViewInsert::Full {
        return Err(Error::input(format!("an app may have at most {MAX_VIEWS} feed views")));
    }
    Ok(outcome)
}

pub async fn create_feed_view(ctx: &Ctx, req: CreateFeedView) -> Result<FeedView> {
    validate_id("feed view id", &req.id)?;
    validate(&req.config)?;
    let view = view(req.id, req.config, Timestamp::now());
    match insert(ctx, &view).await? {
        FeedViewInsert::Inserted => Ok(view),
        _ => Err(Error::field("id", format!("feed view {} already exists", view.id))),
    }
}

pub async fn get_feed_view(ctx: &Ctx, id: &str) -> Result<FeedView> {
    ctx.store.get_feed_view(id).await?.ok_or_else(|| Error::not_found("feed view", id))
}

/// The existing view unchanged, or a new one from `config`; the config is
/// checked either way, so a bad request is refused even when the view exists.
pub async fn get_or_create_feed_view(ctx: &Ctx, id: &str, config: FeedViewConfig) -> Result<(FeedView, bool)> {
    validate_id("feed view id", id)?;
    validate(&config)?;
    if let Some(existing) = ctx.store.get_feed_view(id).await? {
        return Ok((existing, false));
    }
    let view = view(id.to_string(), config, Timestamp::now());
    match insert(ctx, &view).await? {
        FeedViewInsert::Inserted => Ok((view, true)),
        // Lost a race with a concurrent create: the winner's view.
        _ => Ok((get_feed_view(ctx, id).await?, false)),
    }
}

/// Full replacement, as for feed groups: omitted sections are cleared.
pub async fn update_feed_view(ctx: &Ctx, id: &str, config: FeedViewConfig) -> Result<FeedView> {
    validate(&config)?;
    let current = get_feed_view(ctx, id).await?;
    let updated = FeedView {
        last_used_at: current.last_used_at,
        created_at: current.created_at,
        ..view(current.id, config, Timestamp::now())
    };
    if !ctx.store.replace_feed_view(&updated).await? {
        return Err(Error::not_found("feed view", id));
    }
    Ok(updated)
}

pub async fn delete_feed_view(ctx: &Ctx, id: &str) -> Result<()> {
    if !ctx.store.delete_feed_view(id).await? {
        return Err(Error::not_found("feed view", id));
    }
    Ok(())
}

pub async fn list_feed_views(ctx: &Ctx) -> Result<Vec<FeedView>> {
    ctx.store.list_feed_views().await
}
