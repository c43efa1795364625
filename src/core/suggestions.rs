//! Follow suggestions (GetFollowSuggestions).
//!
//! The signal, computed and ranked in SQL with a LIMIT
//! (`store::sql::feeds::follow_suggestions_query`):
//!
//! - **Candidates**: live feeds of the requested group that are not
//!   `private`, not owned by the user, and not followed (in any follow
//!   status, so pending requests are not suggested again) by any of the
//!   user's feeds.
//! - **friends_of_friends**: the user's "friends" are the other owners of
//!   live feeds the user's feeds follow (accepted). The score is the number
//!   of distinct friends who own a feed with an accepted follow of the
//!   candidate — "followed by N people you follow". People, not feeds, so a
//!   friend following from both `timeline` and `foryou` counts once.
//! - **popularity**: the candidate's accepted followers.
//!
//! Ranking is friends_of_friends, then popularity, then fid.
//! `recommendation_score = friends_of_friends + popularity / (popularity + 1)`
//! orders exactly like the ranking: the second term stays below one, so it
//! only breaks ties between equal friend counts. `algorithm_used` is
//! `friends_of_friends` when any suggestion has a friend signal, otherwise
//! `popular` (a new user with no follows gets the most followed feeds).

use std::collections::BTreeMap;

use super::error::{Error, Result};
use super::model::Feed;
use super::storage::SuggestedFeed;
use super::{page_limit, Actor, Ctx};

pub struct Suggestion {
    pub feed: Feed,
    pub reason: String,
    pub recommendation_score: f64,
    pub algorithm_scores: BTreeMap<String, f64>,
}

pub struct Suggestions {
    pub items: Vec<Suggestion>,
    pub algorithm_used: &'static str,
}

/// Suggestions for the token's user or, server-side, for `user_id`.
pub async fn follow_suggestions(
    ctx: &Ctx,
    actor: &Actor,
    group: &str,
    limit: Option<i64>,
    user_id: Option<&str>,
) -> Result<Suggestions> {
    let limit = page_limit(limit)?;
    // A user token naming anyone else is refused here (403 naming user_id).
    let user = actor.acting_user(user_id)?;
    if !group_exists(ctx, group).await? {
        return Err(Error::not_found("feed group", group));
    }
    let ranked = ranked(ctx, &user, group, limit).await?;
    let algorithm_used = if ranked.iter().any(|s| s.friends > 0) { "friends_of_friends" } else { "popular" };
    let items = ranked
        .into_iter()
        .map(|s| {
            let (friends, followers) = (s.friends as f64, s.followers as f64);
            let reason = match s.friends {
                0 => "popular".to_string(),
                1 => "followed by 1 person you follow".to_string(),
                n => format!("followed by {n} people you follow"),
            };
            Suggestion {
                feed: s.feed,
                reason,
                recommendation_score: friends + followers / (followers + 1.0),
                algorithm_scores: BTreeMap::from([
                    ("friends_of_friends".to_string(), friends),
                    ("popularity".to_string(), followers),
                ]),
            }
        })
        .collect();
    Ok(Suggestions { items, algorithm_used })
}

/// The suggestions' feeds and signals, best first (no group check).
async fn ranked(ctx: &Ctx, user: &str, group: &str, limit: usize) -> Result<Vec<SuggestedFeed>> {
    let grants = super::feed_visibility_ops::all_grants(ctx).await?;
    ctx.store.follow_suggestions(user, group, limit, &grants).await
}

/// The feeds of `group` suggested to `user`, best first, as
/// GetFollowSuggestions ranks them: the `follow_suggestion` selector reads
/// their activities. None when the group does not exist.
pub async fn suggested_feeds(ctx: &Ctx, user: &str, group: &str, limit: usize) -> Result<Vec<Feed>> {
    if !group_exists(ctx, group).await? {
        return Ok(Vec::new());
    }
    Ok(ranked(ctx, user, group, limit).await?.into_iter().map(|s| s.feed).collect())
}

/// Whether `group` is a live feed group. (Read from the store: the
/// `follow_suggestion` selector calls this module, and `feed_groups`
/// checks selectors, so this module does not import `feed_groups`.)
async fn group_exists(ctx: &Ctx, group: &str) -> Result<bool> {
    Ok(ctx.store.get_feed_group(group).await?.is_some_and(|g| g.deleted_at.is_none()))
}
