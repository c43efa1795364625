//! Feed visibility levels and what each grants per role (server-side config).
//!
//! Every level has built-in grants derived from the documented visibility
//! table (domain.md §2.4); `UpdateFeedVisibility` replaces the grants of the
//! roles it names and keeps the rest, so a level's grants are always its
//! defaults overlaid with the stored changes.
//!
//! Roles a grant names:
//! - `feed_owner` — the feed's creator: everything, on every level;
//! - `feed_member` — a member of the feed (the default member role);
//! - `follower` — a user one of whose feeds follows this feed;
//! - `user` — any other authenticated user;
//! - `anonymous` — a request without a user.
//!
//! Other role names (app roles, custom member or follower roles) may be
//! granted too; they have no built-in grants.
//!
//! Built-in grants, where READ = `read-feed, read-activities, query-follows`
//! and INTERACT = READ plus `add-activity-reaction, add-comment,
//! add-comment-reaction, add-activity-bookmark` and every `*-own-*`
//! capability (`delete-own-activity`, `update-own-comment`, …):
//!
//! | level | feed_member | follower | user | anonymous |
//! |---|---|---|---|---|
//! | `public` | INTERACT, follow, unfollow, add-activity, query-feed-members | INTERACT, follow, unfollow, add-activity | same as follower | READ |
//! | `visible` | INTERACT, follow, unfollow, add-activity, query-feed-members | INTERACT, follow, unfollow | same as follower | READ |
//! | `followers` | INTERACT, follow, unfollow, add-activity, query-feed-members | INTERACT, follow, unfollow | follow (a request, pending until accepted) | — |
//! | `members` | INTERACT, follow, unfollow, add-activity, query-feed-members | unfollow | — | — |
//! | `private` | — | unfollow | — | — |
//!
//! The operations that read and write the configured grants are in
//! `feed_visibility_ops`: the storage interface names `StoredGrants`, so
//! this module stays below it.
//!
//! Posting beyond these (a follower who may post on a `visible` feed) is
//! granted by giving that role `add-activity`. An existing follower may
//! always drop its follow, hence `unfollow` on the closed levels.

use std::collections::{BTreeMap, HashMap};

use super::error::{Error, Result};

pub const PUBLIC: &str = "public";
pub const VISIBLE: &str = "visible";
pub const FOLLOWERS: &str = "followers";
pub const MEMBERS: &str = "members";
pub const PRIVATE: &str = "private";
pub const VISIBILITIES: &[&str] = &[PUBLIC, VISIBLE, FOLLOWERS, MEMBERS, PRIVATE];

pub const FEED_OWNER: &str = "feed_owner";
pub const FEED_MEMBER: &str = "feed_member";
pub const FOLLOWER: &str = "follower";
pub const USER: &str = "user";
pub const ANONYMOUS: &str = "anonymous";
/// The roles with built-in grants, in the order responses list them.
pub const ROLES: &[&str] = &[FEED_OWNER, FEED_MEMBER, FOLLOWER, USER, ANONYMOUS];

const MAX_ROLE: usize = 64;
const MAX_ROLES: usize = 50;

/// A feed capability (an `own_capabilities` value) as a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capability {
    pub name: &'static str,
    /// The operation it allows; the `own` and `any` variants share one.
    pub action: &'static str,
    /// The record whose owner an owner-only grant is checked against.
    pub owner_resource: &'static str,
    pub description: &'static str,
}

impl Capability {
    /// Only on records the requesting user created.
    pub fn owner_only(&self) -> bool {
        self.name.contains("-own-")
    }
}

const fn cap(
    name: &'static str,
    action: &'static str,
    owner_resource: &'static str,
    description: &'static str,
) -> Capability {
    Capability { name, action, owner_resource, description }
}

/// Every capability, in the order grants list them.
pub const CAPABILITIES: &[Capability] = &[
    cap("add-activity", "AddActivity", "feed", "Add activities to the feed"),
    cap("add-activity-bookmark", "AddActivityBookmark", "activity", "Bookmark activities of the feed"),
    cap("add-activity-reaction", "AddActivityReaction", "activity", "React to activities of the feed"),
    cap("add-comment", "AddComment", "activity", "Comment on activities of the feed"),
    cap("add-comment-reaction", "AddCommentReaction", "comment", "React to comments on activities of the feed"),
    cap("create-feed", "CreateFeed", "feed", "Create the feed"),
    cap("delete-any-activity", "DeleteActivity", "activity", "Delete any activity of the feed"),
    cap("delete-any-comment", "DeleteComment", "comment", "Delete any comment on activities of the feed"),
    cap("delete-feed", "DeleteFeed", "feed", "Delete the feed"),
    cap("delete-own-activity", "DeleteActivity", "activity", "Delete one's own activities in the feed"),
    cap("delete-own-activity-bookmark", "DeleteActivityBookmark", "bookmark", "Delete one's own bookmarks"),
    cap("delete-own-activity-reaction", "DeleteActivityReaction", "reaction", "Delete one's own activity reactions"),
    cap("delete-own-comment", "DeleteComment", "comment", "Delete one's own comments"),
    cap("delete-own-comment-reaction", "DeleteCommentReaction", "reaction", "Delete one's own comment reactions"),
    cap("follow", "Follow", "feed", "Follow the feed (a request on followers-only feeds)"),
    cap("pin-activity", "PinActivity", "feed", "Pin activities in the feed"),
    cap("query-feed-members", "QueryFeedMembers", "feed", "List the feed's members"),
    cap("query-follows", "QueryFollows", "feed", "List the feed's followers and follows"),
    cap("read-activities", "ReadActivities", "feed", "Read the feed's activities"),
    cap("read-feed", "ReadFeed", "feed", "Read the feed and its metadata"),
    cap("unfollow", "Unfollow", "feed", "Stop following the feed"),
    cap("update-any-activity", "UpdateActivity", "activity", "Update any activity of the feed"),
    cap("update-any-comment", "UpdateComment", "comment", "Update any comment on activities of the feed"),
    cap("update-feed", "UpdateFeed", "feed", "Update the feed's data"),
    cap("update-feed-followers", "UpdateFeedFollowers", "feed", "Accept, reject and remove the feed's followers"),
    cap("update-feed-members", "UpdateFeedMembers", "feed", "Add, update and remove the feed's members"),
    cap("update-own-activity", "UpdateActivity", "activity", "Update one's own activities in the feed"),
    cap("update-own-activity-bookmark", "UpdateActivityBookmark", "bookmark", "Update one's own bookmarks"),
    cap("update-own-comment", "UpdateComment", "comment", "Update one's own comments"),
];

pub fn capability(name: &str) -> Option<&'static Capability> {
    CAPABILITIES.iter().find(|c| c.name == name)
}

const READ: &[&str] = &["read-feed", "read-activities", "query-follows"];
const INTERACT: &[&str] = &[
    "add-activity-reaction",
    "add-comment",
    "add-comment-reaction",
    "add-activity-bookmark",
    "delete-own-activity",
    "delete-own-activity-bookmark",
    "delete-own-activity-reaction",
    "delete-own-comment",
    "delete-own-comment-reaction",
    "update-own-activity",
    "update-own-activity-bookmark",
    "update-own-comment",
];
const FOLLOWING: &[&str] = &["follow", "unfollow"];
const POST: &[&str] = &["add-activity"];
const MEMBER_EXTRA: &[&str] = &["query-feed-members"];

/// Capability names in `CAPABILITIES` order, without repeats.
fn canonical<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let names: Vec<&str> = names.into_iter().collect();
    CAPABILITIES.iter().filter(|c| names.contains(&c.name)).map(|c| c.name.to_string()).collect()
}

fn set(parts: &[&[&'static str]]) -> Vec<String> {
    canonical(parts.iter().flat_map(|p| p.iter().copied()))
}

/// The built-in grants of a level (see the module table); None for a name
/// that is not a level.
pub fn default_grants(visibility: &str) -> Option<BTreeMap<String, Vec<String>>> {
    let member = set(&[READ, INTERACT, FOLLOWING, POST, MEMBER_EXTRA]);
    let reader = set(&[READ, INTERACT, FOLLOWING]);
    let (follower, user, anonymous) = match visibility {
        PUBLIC => {
            let poster = set(&[READ, INTERACT, FOLLOWING, POST]);
            (poster.clone(), poster, set(&[READ]))
        }
        VISIBLE => (reader.clone(), reader, set(&[READ])),
        FOLLOWERS => (reader, set(&[&["follow"]]), Vec::new()),
        MEMBERS => (set(&[&["unfollow"]]), Vec::new(), Vec::new()),
        PRIVATE => (set(&[&["unfollow"]]), Vec::new(), Vec::new()),
        _ => return None,
    };
    let member = if visibility == PRIVATE { Vec::new() } else { member };
    let owner: Vec<String> = CAPABILITIES.iter().map(|c| c.name.to_string()).collect();
    Some(BTreeMap::from([
        (FEED_OWNER.to_string(), owner),
        (FEED_MEMBER.to_string(), member),
        (FOLLOWER.to_string(), follower),
        (USER.to_string(), user),
        (ANONYMOUS.to_string(), anonymous),
    ]))
}

pub fn unknown(visibility: &str) -> Error {
    Error::not_found("feed visibility", visibility)
}

/// Defaults overlaid with the stored per-role changes.
pub fn effective(
    visibility: &str,
    stored: Option<&BTreeMap<String, Vec<String>>>,
) -> Result<BTreeMap<String, Vec<String>>> {
    let mut grants = default_grants(visibility).ok_or_else(|| unknown(visibility))?;
    for (role, names) in stored.into_iter().flatten() {
        // Re-canonicalised on the way out: a capability retired from the
        // list is dropped rather than served.
        grants.insert(role.clone(), canonical(names.iter().map(String::as_str)));
    }
    Ok(grants)
}

/// A level with its grants and the permissions they name.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedVisibility {
    pub name: String,
    pub grants: BTreeMap<String, Vec<String>>,
}

impl FeedVisibility {
    /// Every capability some role is granted, in `CAPABILITIES` order.
    pub fn permissions(&self) -> Vec<&'static Capability> {
        CAPABILITIES.iter().filter(|c| self.grants.values().any(|names| names.iter().any(|n| n == c.name))).collect()
    }
}

/// Checks an update's grants: known capability names only, canonical order.
pub fn validate(grants: BTreeMap<String, Vec<String>>) -> Result<BTreeMap<String, Vec<String>>> {
    if grants.len() > MAX_ROLES {
        return Err(Error::field("grants", format!("grants names at most {MAX_ROLES} roles")));
    }
    grants
        .into_iter()
        .map(|(role, names)| {
            if role.trim().is_empty() || role.chars().count() > MAX_ROLE {
                return Err(Error::field("grants", format!("role names must be 1 to {MAX_ROLE} characters")));
            }
            if let Some(bad) = names.iter().find(|n| capability(n).is_none()) {
                return Err(Error::field(
                    &format!("grants.{role}"),
                    format!("unknown permission {bad:?} for role {role}"),
                ));
            }
            let names = canonical(names.iter().map(String::as_str));
            Ok((role, names))
        })
        .collect()
}

/// The stored per-role changes of each level: visibility → role →
/// capability names.
pub type StoredGrants = HashMap<String, BTreeMap<String, Vec<String>>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn has(grants: &BTreeMap<String, Vec<String>>, role: &str, name: &str) -> bool {
        grants[role].iter().any(|n| n == name)
    }

    #[test]
    fn defaults_follow_the_visibility_table() {
        for v in VISIBILITIES {
            let g = default_grants(v).expect("level");
            assert_eq!(g[FEED_OWNER].len(), CAPABILITIES.len(), "{v}: the owner may do everything");
            assert!(g.values().flatten().all(|n| capability(n).is_some()), "{v}: only known capabilities");
        }
        let public = default_grants(PUBLIC).expect("public");
        assert!(has(&public, USER, "add-activity") && has(&public, ANONYMOUS, "read-activities"));
        let visible = default_grants(VISIBLE).expect("visible");
        assert!(has(&visible, USER, "follow") && !has(&visible, USER, "add-activity"));
        assert!(has(&visible, FEED_MEMBER, "add-activity"));
        let followers = default_grants(FOLLOWERS).expect("followers");
        assert_eq!(followers[USER], ["follow"]);
        assert!(has(&followers, FOLLOWER, "read-activities") && followers[ANONYMOUS].is_empty());
        let members = default_grants(MEMBERS).expect("members");
        assert!(has(&members, FEED_MEMBER, "read-feed") && !has(&members, FOLLOWER, "read-feed"));
        assert!(!has(&members, USER, "follow"));
        let private = default_grants(PRIVATE).expect("private");
        assert!(ROLES.iter().skip(1).all(|r| !has(&private, r, "read-feed")));
        assert!(default_grants("secret").is_none());
    }

    #[test]
    fn stored_roles_replace_defaults_and_unknown_permissions_are_refused() {
        let changes = validate(BTreeMap::from([
            (USER.to_string(), vec!["read-feed".to_string(), "add-activity".to_string(), "read-feed".to_string()]),
            ("moderator".to_string(), vec!["delete-any-activity".to_string()]),
        ]))
        .expect("valid");
        assert_eq!(changes[USER], ["add-activity", "read-feed"], "canonical order, no repeats");
        let grants = effective(VISIBLE, Some(&changes)).expect("visible");
        assert_eq!(grants[USER], ["add-activity", "read-feed"]);
        assert_eq!(grants["moderator"], ["delete-any-activity"]);
        assert_eq!(grants[FOLLOWER], default_grants(VISIBLE).expect("visible")[FOLLOWER]);

        let bad = validate(BTreeMap::from([(USER.to_string(), vec!["fly".to_string()])])).expect_err("unknown");
        assert_eq!(bad.code, crate::core::error::Code::InputError);
        assert!(validate(BTreeMap::from([(" ".to_string(), vec![])])).is_err());
    }
}
