//! Who may do what on a feed: the feed's visibility level grants
//! capabilities to roles, and a user holds roles on a feed by owning it,
//! being a member of it or following it. Server-side requests are trusted;
//! these rules apply to user tokens (domain.md §2.4).

use std::collections::{BTreeMap, HashMap};

use super::error::{Error, Result};
use super::model::{Activity, Feed, FeedMember, Fid, Follow, FOLLOW_ACCEPTED, MEMBER_ACTIVE};
use super::{Actor, Ctx};

pub const READ_FEED: &str = "read-feed";
pub const READ_ACTIVITIES: &str = "read-activities";
pub const DELETE_ANY_ACTIVITY: &str = "delete-any-activity";
pub const ADD_ACTIVITY: &str = "add-activity";
pub const FOLLOW: &str = "follow";
pub const ADD_COMMENT: &str = "add-comment";
pub const ADD_REACTION: &str = "add-activity-reaction";
pub const ADD_COMMENT_REACTION: &str = "add-comment-reaction";
pub const ADD_BOOKMARK: &str = "add-activity-bookmark";
pub const UPDATE_FEED: &str = "update-feed";
pub const DELETE_FEED: &str = "delete-feed";
pub const UPDATE_FEED_MEMBERS: &str = "update-feed-members";
pub const UPDATE_FEED_FOLLOWERS: &str = "update-feed-followers";
pub const QUERY_FEED_MEMBERS: &str = "query-feed-members";

/// The roles a user holds on a feed: every signed-in user is `user`; an
/// approved follower is also `follower` (and their follow's
/// `follower_role`); a member holds their member role; the owner
/// `feed_owner`. What each role may do is the visibility level's grants
/// (`core::feed_visibilities`).
pub use super::feed_visibilities::{
    ANONYMOUS as ANONYMOUS_ROLE, FEED_OWNER as OWNER_ROLE, FOLLOWER as FOLLOWER_ROLE, USER as USER_ROLE,
};

/// What a user is to a feed.
#[derive(Debug, Default, Clone)]
pub struct Standing<'a> {
    pub owner: bool,
    /// Their membership, whatever its status.
    pub membership: Option<&'a FeedMember>,
    /// Follows from their feeds into this one, whatever their status.
    pub follows: Vec<&'a Follow>,
}

impl Standing<'_> {
    pub fn roles(&self) -> Vec<&str> {
        let mut roles = vec![USER_ROLE];
        if self.owner {
            roles.push(OWNER_ROLE);
        }
        if let Some(m) = self.membership.filter(|m| m.status == MEMBER_ACTIVE) {
            roles.push(&m.role);
        }
        for f in self.follows.iter().filter(|f| f.status == FOLLOW_ACCEPTED) {
            roles.push(FOLLOWER_ROLE);
            roles.push(&f.follower_role);
        }
        roles
    }
}

/// The capabilities `standing` gives on `feed` under `grants`.
pub fn capabilities(grants: &BTreeMap<String, Vec<String>>, standing: &Standing) -> Vec<String> {
    let mut out: Vec<String> =
        standing.roles().iter().filter_map(|r| grants.get(*r)).flat_map(|c| c.iter().cloned()).collect();
    out.sort();
    out.dedup();
    out
}

/// `reader` with the grants in force loaded, for lists that decide in SQL
/// which feeds a user-token caller may read.
pub async fn with_grants(ctx: &Ctx, mut reader: crate::core::storage::Reader) -> Result<crate::core::storage::Reader> {
    if reader.restricted {
        reader.grants = Some(super::feed_visibility_ops::all_grants(ctx).await?);
    }
    Ok(reader)
}

/// What one user is to a set of feeds: their memberships and the follows
/// from their feeds into them.
#[derive(Debug, Default, Clone)]
pub struct Relations {
    pub memberships: Vec<FeedMember>,
    pub follows: Vec<Follow>,
}

impl Relations {
    /// One statement whatever the number of feeds.
    pub async fn load(ctx: &Ctx, user: &str, fids: &[Fid]) -> Result<Relations> {
        let (memberships, follows) = ctx.store.relations(user, fids).await?;
        Ok(Relations { memberships, follows })
    }

    pub fn standing<'a>(&'a self, user: &str, feed: &Feed) -> Standing<'a> {
        Standing {
            owner: feed.created_by == user,
            membership: self.memberships.iter().find(|m| m.fid == feed.fid),
            follows: self.follows.iter().filter(|f| f.target == feed.fid).collect(),
        }
    }
}

/// The capabilities of `user` on each of `feeds`, given their relations.
pub async fn capabilities_with(
    ctx: &Ctx,
    user: &str,
    feeds: &[&Feed],
    relations: &Relations,
) -> Result<HashMap<Fid, Vec<String>>> {
    // One read of the configured grants for any number of feeds.
    let grants = super::feed_visibility_ops::all_grants(ctx).await?;
    let none = BTreeMap::new();
    let mut out = HashMap::new();
    for feed in feeds {
        let standing = relations.standing(user, feed);
        out.insert(feed.fid.clone(), capabilities(grants.get(&feed.visibility).unwrap_or(&none), &standing));
    }
    Ok(out)
}

/// The capabilities of `user` on each of `feeds`.
pub async fn capabilities_on(ctx: &Ctx, user: &str, feeds: &[&Feed]) -> Result<HashMap<Fid, Vec<String>>> {
    let fids: Vec<Fid> = feeds.iter().map(|f| f.fid.clone()).collect();
    let relations = Relations::load(ctx, user, &fids).await?;
    capabilities_with(ctx, user, feeds, &relations).await
}

/// The capabilities an anonymous caller has on `feed`: what the feed's
/// visibility level grants the `anonymous` role (read, on `public` and
/// `visible` feeds, by default).
fn anonymous_capabilities<'g>(grants: &'g super::storage::Grants, feed: &Feed) -> &'g [String] {
    grants.get(&feed.visibility).and_then(|g| g.get(ANONYMOUS_ROLE)).map_or(&[], Vec::as_slice)
}

/// Refuses an anonymous caller `capability` unless one of `feeds` grants
/// it to the `anonymous` role.
async fn require_anonymous(ctx: &Ctx, feeds: &[&Feed], capability: &str) -> Result<()> {
    let grants = super::feed_visibility_ops::all_grants(ctx).await?;
    if feeds.iter().any(|f| anonymous_capabilities(&grants, f).iter().any(|c| c == capability)) {
        return Ok(());
    }
    Err(Error::not_allowed(format!("anonymous users are not allowed to {capability} here: connect a user first")))
}

/// Refuses a user-token or anonymous caller `capability` on `feed`.
pub async fn require(ctx: &Ctx, actor: &Actor, feed: &Feed, capability: &str) -> Result<()> {
    let me = match actor {
        Actor::Server => return Ok(()),
        Actor::Anonymous => return require_anonymous(ctx, &[feed], capability).await,
        Actor::User(me) => me,
    };
    if &feed.created_by == me {
        return Ok(());
    }
    let relations = Relations::load(ctx, me, std::slice::from_ref(&feed.fid)).await?;
    require_related(ctx, me, feed, capability, &relations).await
}

/// `require` for user `me` whose relations to `feed` are loaded already
/// (a feed read keeps them for its `own_*` fields).
pub async fn require_related(ctx: &Ctx, me: &str, feed: &Feed, capability: &str, relations: &Relations) -> Result<()> {
    let caps = capabilities_with(ctx, me, &[feed], relations).await?;
    if feed.created_by == me || caps.get(&feed.fid).is_some_and(|c| c.iter().any(|c| c == capability)) {
        return Ok(());
    }
    Err(Error::not_allowed(format!(
        "user {me} is not allowed to {capability} on feed {} ({} feed)",
        feed.fid, feed.visibility
    )))
}

/// Refuses a user-token or anonymous caller `capability` unless one of
/// `feeds` grants it (an activity is reachable through any feed it was
/// posted to).
pub async fn require_any(ctx: &Ctx, actor: &Actor, feeds: &[Feed], capability: &str) -> Result<()> {
    let me = match actor {
        Actor::Server => return Ok(()),
        Actor::Anonymous => return require_anonymous(ctx, &feeds.iter().collect::<Vec<_>>(), capability).await,
        Actor::User(me) => me,
    };
    if feeds.is_empty() || feeds.iter().any(|f| &f.created_by == me) {
        return Ok(());
    }
    let refs: Vec<&Feed> = feeds.iter().collect();
    let caps = capabilities_on(ctx, me, &refs).await?;
    if caps.values().any(|c| c.iter().any(|c| c == capability)) {
        return Ok(());
    }
    Err(Error::not_allowed(format!("user {me} is not allowed to {capability} here")))
}

/// Refuses a user-token or anonymous caller `capability` on `activity`
/// unless they wrote it or one of its feeds grants it to them.
pub async fn require_on_activity(ctx: &Ctx, actor: &Actor, activity: &Activity, capability: &str) -> Result<()> {
    match actor {
        Actor::Server => return Ok(()),
        Actor::User(me) if &activity.user_id == me => return Ok(()),
        Actor::User(_) | Actor::Anonymous => {}
    }
    let feeds: Vec<Feed> =
        ctx.store.get_feeds(&activity.feeds).await?.into_iter().filter(|f| f.deleted_at.is_none()).collect();
    require_any(ctx, actor, &feeds, capability).await
}

/// The same for an activity known by id (comments and bookmarks).
pub async fn require_on_activity_id(ctx: &Ctx, actor: &Actor, activity_id: &str, capability: &str) -> Result<()> {
    if actor.is_server() {
        return Ok(());
    }
    match ctx.store.get_activities(&[activity_id.to_string()]).await?.pop() {
        Some(activity) => require_on_activity(ctx, actor, &activity, capability).await,
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::time::Timestamp;

    fn member(role: &str, status: &str) -> FeedMember {
        FeedMember {
            fid: Fid::new("user", "o").unwrap(),
            user_id: "u".into(),
            role: role.into(),
            status: status.into(),
            custom: None,
            membership_level: None,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            invite_accepted_at: None,
            invite_rejected_at: None,
        }
    }

    fn has(visibility: &str, standing: &Standing, cap: &str) -> bool {
        let grants = crate::core::feed_visibilities::default_grants(visibility).unwrap();
        capabilities(&grants, standing).iter().any(|c| c == cap)
    }

    #[test]
    fn pending_invites_and_strangers_hold_only_the_user_role() {
        const MEMBER_ROLE: &str = crate::core::feed_visibilities::FEED_MEMBER;
        let pending = member(MEMBER_ROLE, "pending");
        let invited = Standing { membership: Some(&pending), ..Default::default() };
        assert!(!has("members", &invited, READ_FEED));
        assert!(has("visible", &invited, READ_FEED));
        assert!(!has("visible", &invited, ADD_ACTIVITY));
        let active = member(MEMBER_ROLE, MEMBER_ACTIVE);
        let joined = Standing { membership: Some(&active), ..Default::default() };
        assert!(has("members", &joined, READ_FEED) && has("members", &joined, ADD_ACTIVITY));
        assert!(!has("private", &joined, READ_FEED));
        let owner = Standing { owner: true, ..Default::default() };
        let all = crate::core::feed_visibilities::CAPABILITIES;
        assert!(all.iter().all(|c| has("private", &owner, c.name)));
    }
}
