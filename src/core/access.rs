//! Who may do what on a feed: the feed's visibility level grants
//! capabilities to roles, and a user holds roles on a feed by owning it,
//! being a member of it or following it. Server-side requests are trusted;
//! these rules apply to user tokens (domain.md §2.4).

use std::collections::{BTreeMap, HashMap};

use super::error::{Error, Result};
use super::model::{Feed, FeedMember, Fid, Follow, FOLLOW_ACCEPTED, MEMBER_ACTIVE};
use super::{Actor, Ctx};

/// Every capability `own_capabilities` can list.
pub const ALL: &[&str] = &[
    "add-activity",
    "add-activity-bookmark",
    "add-activity-reaction",
    "add-comment",
    "add-comment-reaction",
    "create-feed",
    "delete-any-activity",
    "delete-any-comment",
    "delete-feed",
    "delete-own-activity",
    "delete-own-activity-bookmark",
    "delete-own-activity-reaction",
    "delete-own-comment",
    "delete-own-comment-reaction",
    "follow",
    "pin-activity",
    "query-feed-members",
    "query-follows",
    "read-activities",
    "read-feed",
    "unfollow",
    "update-any-activity",
    "update-any-comment",
    "update-feed",
    "update-feed-followers",
    "update-feed-members",
    "update-own-activity",
    "update-own-activity-bookmark",
    "update-own-comment",
];

pub const READ_FEED: &str = "read-feed";
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

/// The roles a user can hold on a feed. Everyone signed in is `user`; an
/// approved follower is also `follower` (and their follow's
/// `follower_role`); a member holds their member role.
pub const OWNER_ROLE: &str = "feed_owner";
pub const MEMBER_ROLE: &str = "feed_member";
pub const FOLLOWER_ROLE: &str = "follower";
pub const USER_ROLE: &str = "user";
pub const ROLES: &[&str] = &[OWNER_ROLE, MEMBER_ROLE, FOLLOWER_ROLE, USER_ROLE];

const READ: &[&str] = &["read-feed", "read-activities", "query-follows"];
const ENGAGE: &[&str] = &[
    "add-activity-reaction",
    "delete-own-activity-reaction",
    "add-comment",
    "update-own-comment",
    "delete-own-comment",
    "add-comment-reaction",
    "delete-own-comment-reaction",
    "add-activity-bookmark",
    "update-own-activity-bookmark",
    "delete-own-activity-bookmark",
];
const FOLLOWING: &[&str] = &["follow", "unfollow"];
const POST: &[&str] = &["add-activity", "update-own-activity", "delete-own-activity"];
const MEMBERS: &[&str] = &["query-feed-members"];

fn caps(parts: &[&[&str]]) -> Vec<String> {
    let mut out: Vec<String> = parts.iter().flat_map(|p| p.iter().map(|c| c.to_string())).collect();
    out.sort();
    out.dedup();
    out
}

/// The built-in grants of a visibility level, role → capabilities, as the
/// table of domain.md §2.4 reads:
/// - `public`: everyone reads, follows and posts;
/// - `visible`: everyone reads and follows, members post;
/// - `followers`: everyone may ask to follow, approved followers read,
///   members read and post;
/// - `members`: only members read, follow and post;
/// - `private`: the owner alone.
///
/// The owner holds every capability on every level.
pub fn default_grants(visibility: &str) -> Option<BTreeMap<String, Vec<String>>> {
    let (user, follower, member): (Vec<String>, Vec<String>, Vec<String>) = match visibility {
        "public" => (
            caps(&[READ, ENGAGE, FOLLOWING, POST]),
            caps(&[READ, ENGAGE, FOLLOWING, POST]),
            caps(&[READ, ENGAGE, FOLLOWING, POST, MEMBERS]),
        ),
        "visible" => (
            caps(&[READ, ENGAGE, FOLLOWING]),
            caps(&[READ, ENGAGE, FOLLOWING]),
            caps(&[READ, ENGAGE, FOLLOWING, POST, MEMBERS]),
        ),
        "followers" => {
            (caps(&[FOLLOWING]), caps(&[READ, ENGAGE, FOLLOWING]), caps(&[READ, ENGAGE, FOLLOWING, POST, MEMBERS]))
        }
        "members" => (Vec::new(), Vec::new(), caps(&[READ, ENGAGE, FOLLOWING, POST, MEMBERS])),
        "private" => (Vec::new(), Vec::new(), Vec::new()),
        _ => return None,
    };
    let mut grants = BTreeMap::new();
    grants.insert(OWNER_ROLE.to_string(), ALL.iter().map(|c| c.to_string()).collect());
    grants.insert(MEMBER_ROLE.to_string(), member);
    grants.insert(FOLLOWER_ROLE.to_string(), follower);
    grants.insert(USER_ROLE.to_string(), user);
    Some(grants)
}

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

/// The grants in force for each visibility level: configured ones
/// (`UpdateFeedVisibility`) over the built-in defaults.
pub async fn grants_for(_ctx: &Ctx, visibility: &str) -> Result<BTreeMap<String, Vec<String>>> {
    default_grants(visibility).ok_or_else(|| Error::not_found("feed visibility", visibility))
}

/// What one user is to a set of feeds: their memberships and the follows
/// from their feeds into them.
#[derive(Debug, Default, Clone)]
pub struct Relations {
    pub memberships: Vec<FeedMember>,
    pub follows: Vec<Follow>,
}

impl Relations {
    /// Two queries whatever the number of feeds.
    pub async fn load(ctx: &Ctx, user: &str, fids: &[Fid]) -> Result<Relations> {
        Ok(Relations {
            memberships: ctx.store.memberships(user, fids).await?,
            follows: ctx.store.follows_from_owner(user, fids).await?,
        })
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
    let mut grants: HashMap<&str, BTreeMap<String, Vec<String>>> = HashMap::new();
    let mut out = HashMap::new();
    for feed in feeds {
        if !grants.contains_key(feed.visibility.as_str()) {
            grants.insert(&feed.visibility, grants_for(ctx, &feed.visibility).await?);
        }
        let standing = relations.standing(user, feed);
        out.insert(feed.fid.clone(), capabilities(&grants[feed.visibility.as_str()], &standing));
    }
    Ok(out)
}

/// The capabilities of `user` on each of `feeds`.
pub async fn capabilities_on(ctx: &Ctx, user: &str, feeds: &[&Feed]) -> Result<HashMap<Fid, Vec<String>>> {
    let fids: Vec<Fid> = feeds.iter().map(|f| f.fid.clone()).collect();
    let relations = Relations::load(ctx, user, &fids).await?;
    capabilities_with(ctx, user, feeds, &relations).await
}

/// Refuses a user-token caller `capability` on `feed`.
pub async fn require(ctx: &Ctx, actor: &Actor, feed: &Feed, capability: &str) -> Result<()> {
    let Actor::User(me) = actor else { return Ok(()) };
    if &feed.created_by == me {
        return Ok(());
    }
    let caps = capabilities_on(ctx, me, &[feed]).await?;
    if caps.get(&feed.fid).is_some_and(|c| c.iter().any(|c| c == capability)) {
        return Ok(());
    }
    Err(Error::not_allowed(format!(
        "user {me} is not allowed to {capability} on feed {} ({} feed)",
        feed.fid, feed.visibility
    )))
}

/// Refuses a user-token caller `capability` unless one of `feeds` grants it
/// (an activity is reachable through any feed it was posted to).
pub async fn require_any(ctx: &Ctx, actor: &Actor, feeds: &[Feed], capability: &str) -> Result<()> {
    let Actor::User(me) = actor else { return Ok(()) };
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
        capabilities(&default_grants(visibility).unwrap(), standing).iter().any(|c| c == cap)
    }

    #[test]
    fn pending_invites_and_strangers_hold_only_the_user_role() {
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
        assert!(ALL.iter().all(|c| has("private", &owner, c)));
    }
}
