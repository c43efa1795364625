//! Feed visibility levels as configured: the built-in grants
//! (`feed_visibilities`) overlaid with the stored changes, and the
//! server-side operations that read and change them.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::error::Result;
use super::feed_visibilities::{default_grants, effective, unknown, validate, FeedVisibility, VISIBILITIES};
use super::storage::Grants;
use super::Ctx;

/// Role → capability names granted on feeds of this visibility, as
/// configured. Unknown visibility → not found.
pub async fn grants(ctx: &Ctx, visibility: &str) -> Result<BTreeMap<String, Vec<String>>> {
    if default_grants(visibility).is_none() {
        return Err(unknown(visibility));
    }
    match all_grants(ctx).await?.get(visibility) {
        Some(grants) => Ok(grants.clone()),
        None => Err(unknown(visibility)),
    }
}

/// The configured grants of every level — for callers that decide about
/// feeds of several visibilities at once. Read through the process's
/// configuration cache: no database read while nothing changed them.
pub async fn all_grants(ctx: &Ctx) -> Result<Arc<Grants>> {
    ctx.config
        .grants(|| async {
            let stored = ctx.store.feed_visibility_grants().await?;
            VISIBILITIES.iter().map(|v| Ok((v.to_string(), effective(v, stored.get(*v))?))).collect()
        })
        .await
}

/// ListFeedVisibilities: all five levels.
pub async fn list_visibilities(ctx: &Ctx) -> Result<Vec<FeedVisibility>> {
    let all = all_grants(ctx).await?;
    Ok(all.iter().map(|(name, grants)| FeedVisibility { name: name.clone(), grants: grants.clone() }).collect())
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
        let merged = ctx.store.merge_feed_visibility_grants(name, &changes).await;
        // Committed or not known to have failed before committing: either
        // way the cached grants are no longer to be trusted.
        ctx.config.invalidate();
        merged?;
    }
    get_visibility(ctx, name).await
}
