//! Feed visibility levels as configured: the built-in grants
//! (`feed_visibilities`) overlaid with the stored changes, and the
//! server-side operations that read and change them.

use std::collections::BTreeMap;

use super::error::Result;
use super::feed_visibilities::{default_grants, effective, unknown, validate, FeedVisibility, VISIBILITIES};
use super::Ctx;

/// Role → capability names granted on feeds of this visibility, as
/// configured. Unknown visibility → not found.
pub async fn grants(ctx: &Ctx, visibility: &str) -> Result<BTreeMap<String, Vec<String>>> {
    if default_grants(visibility).is_none() {
        return Err(unknown(visibility));
    }
    let stored = ctx.store.feed_visibility_grants().await?;
    effective(visibility, stored.get(visibility))
}

/// The configured grants of every level in one read — for callers that
/// decide about feeds of several visibilities at once.
pub async fn all_grants(ctx: &Ctx) -> Result<BTreeMap<String, BTreeMap<String, Vec<String>>>> {
    let stored = ctx.store.feed_visibility_grants().await?;
    VISIBILITIES.iter().map(|v| Ok((v.to_string(), effective(v, stored.get(*v))?))).collect()
}

/// ListFeedVisibilities: all five levels.
pub async fn list_visibilities(ctx: &Ctx) -> Result<Vec<FeedVisibility>> {
    Ok(all_grants(ctx).await?.into_iter().map(|(name, grants)| FeedVisibility { name, grants }).collect())
}

/// GetFeedVisibility.
pub async fn get_visibility(ctx: &Ctx, name: &str) -> Result<FeedVisibility> {
    Ok(FeedVisibility { name: name.to_string(), grants: grants(ctx, name).await? })
}

/// UpdateFeedVisibility: the roles named get exactly the capabilities
/// listed (an empty list revokes all); other roles keep theirs.
pub async fn update_visibility(
    ctx: &Ctx,
    name: &str,
    grants: Option<BTreeMap<String, Vec<String>>>,
) -> Result<FeedVisibility> {
    if default_grants(name).is_none() {
        return Err(unknown(name));
    }
    let changes = validate(grants.unwrap_or_default())?;
    if !changes.is_empty() {
        ctx.store.merge_feed_visibility_grants(name, &changes).await?;
    }
    get_visibility(ctx, name).await
}
