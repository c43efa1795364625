//! Response enrichment: the users, feeds, reactions, comments, polls,
//! collections and bookmarks a response refers to, batch-loaded so a page
//! costs a fixed number of queries.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::value::RawValue;

use super::error::Result;
use super::model::{self, Activity, Collection, Feed, FeedCounts, Fid, Follow, Poll, PollTally, ReactionSummary, User};
use super::storage::{ActivityExtras, Reactable, Reader};
use super::time::Timestamp;
use super::{access, collections, membership_level_ops, membership_levels, Ctx};

/// How many of its newest comments an activity response embeds.
pub const LATEST_COMMENTS: usize = 5;

/// Users, feeds and parent activities referenced by a response, loaded in
/// batches so building a page costs a fixed number of queries however many
/// items it has.
#[derive(Default)]
pub struct Lookup {
    pub users: HashMap<String, User>,
    /// Reads of stories feeds that track watched state: the activities the
    /// viewer watched (each activity's `is_watched`).
    pub watched: Option<HashSet<String>>,
    /// Activity reads (GetActivity, QueryActivities): the stories among the
    /// activities and whether the viewer watched each (`add_story_watches`).
    pub story_watched: HashMap<String, bool>,
    pub feeds: HashMap<Fid, (Feed, FeedCounts)>,
    pub parents: HashMap<String, Activity>,
    pub reactions: HashMap<String, ReactionSummary>,
    /// Activities the viewer has hidden.
    pub hidden: HashSet<String>,
    pub metrics: HashMap<String, BTreeMap<String, i64>>,
    pub share_counts: HashMap<String, i64>,
    /// The user-token reader permission rules apply to, if any.
    pub restricted_to: Option<String>,
    /// Collections the activities reference, by `name:id`.
    pub collections: HashMap<String, Collection>,
    pub polls: HashMap<String, (Poll, PollTally)>,
    /// Live comments per activity, and the newest top-level ones.
    pub comment_counts: HashMap<String, i64>,
    pub latest_comments: HashMap<String, Vec<model::Comment>>,
    /// Reactions of the comments shown, by comment id.
    pub comment_reactions: HashMap<String, ReactionSummary>,
    /// Bookmark counts of the activities and comments shown, the viewer's
    /// own bookmarks of the activities, and the folders those are in.
    pub activity_bookmarks: HashMap<String, i64>,
    pub comment_bookmarks: HashMap<String, i64>,
    pub own_bookmarks: HashMap<String, Vec<model::Bookmark>>,
    pub folders: HashMap<String, model::BookmarkFolder>,
    /// The objects of bookmark responses.
    pub bookmarked_activities: HashMap<String, Activity>,
    pub bookmarked_comments: HashMap<String, model::Comment>,
    /// The viewer's `own_*` fields, for the feeds they were asked for.
    pub own: HashMap<Fid, OwnFields>,
    /// Membership levels of the members shown.
    pub levels: HashMap<String, membership_levels::MembershipLevel>,
    /// `tag`-visibility activities the restricted viewer's membership
    /// level unlocks (everyone else gets them as previews).
    pub unlocked: HashSet<String>,
    /// Feeds as responses show them (with or without the viewer's `own_*`
    /// fields), serialised once per lookup: a page's activities all show
    /// the same `current_feed`, a `following` page the same source feed
    /// (`wire` splices the bytes). Emptied whenever the lookup gains data.
    pub rendered_feeds: Mutex<HashMap<(Fid, bool), Arc<RawValue>>>,
    /// Scores and selectors of a selected feed's activities
    /// (`selected_feeds`); others show a score of 0 and no source.
    pub ranks: HashMap<String, Rank>,
    /// The read's `language` / `translate_text`: how every activity and
    /// comment rendered from this lookup shows its stored translations.
    pub language: Option<super::i18n::ReadLanguage>,
}

/// What a selected feed's read says of one activity's place in it.
#[derive(Debug, Clone)]
pub struct Rank {
    pub score: f64,
    /// Named when several selectors fed the read.
    pub source: Option<&'static str>,
    /// With `include_score_vars`: the variables the score read.
    pub vars: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `own_follows`, `own_followings`, `own_membership` and
/// `own_capabilities` of one feed for one user; `None` = not asked for.
#[derive(Debug, Default, Clone)]
pub struct OwnFields {
    pub follows: Option<Vec<Follow>>,
    pub followings: Option<Vec<Follow>>,
    pub membership: Option<Option<model::FeedMember>>,
    pub capabilities: Option<Vec<String>>,
}

/// Which `own_*` fields to compute (OwnBatch's `fields`).
#[derive(Debug, Clone, Copy)]
pub struct OwnWanted {
    pub follows: bool,
    pub followings: bool,
    pub membership: bool,
    pub capabilities: bool,
}

impl OwnWanted {
    /// What a feed read shows unless told otherwise: everything but
    /// `own_followings`, which costs a join and is opt-in.
    pub const DEFAULT: OwnWanted = OwnWanted { follows: true, followings: false, membership: true, capabilities: true };
    pub const ALL: OwnWanted = OwnWanted { follows: true, followings: true, membership: true, capabilities: true };
}

/// How many `own_followings` a feed shows at most.
pub const MAX_OWN_FOLLOWINGS: usize = 5;

impl Lookup {
    /// Everything the given activities and follows refer to, plus `fids`;
    /// `own_*` fields are those of the reader's viewer, and a restricted
    /// reader gets `tag`-visibility content as previews.
    /// `is_watched` for activity reads (GetActivity, QueryActivities): the
    /// stories among `activities` — those with `expires_at` posted to a feed
    /// whose group tracks watched stories (`stories.track_watched`) — and
    /// whether `viewer` watched each. Batched: nothing is read for a page
    /// without an expiring activity; otherwise the feed groups come from the
    /// config cache and one statement reads the viewer's watches of the
    /// page's stories. No viewer (a
    /// server-side read naming nobody): nothing, `is_watched` is absent.
    pub async fn add_story_watches(&mut self, ctx: &Ctx, viewer: Option<&str>, activities: &[Activity]) -> Result<()> {
        let Some(viewer) = viewer else { return Ok(()) };
        let expiring: Vec<&Activity> = activities.iter().filter(|a| a.expires_at.is_some()).collect();
        if expiring.is_empty() {
            return Ok(());
        }
        let groups = ctx.config.feed_groups(|| ctx.store.list_feed_groups()).await?;
        let tracking: HashSet<&str> = groups
            .iter()
            .filter(|g| g.deleted_at.is_none())
            .filter(|g| {
                let stories = g.config.stories.as_ref();
                stories.and_then(|s| s.get("track_watched")).and_then(serde_json::Value::as_bool) == Some(true)
            })
            .map(|g| g.id.as_str())
            .collect();
        let mut stories: Vec<String> = expiring
            .into_iter()
            .filter(|a| a.feeds.iter().any(|f| tracking.contains(f.group.as_str())))
            .map(|a| a.id.clone())
            .collect();
        stories.sort();
        stories.dedup();
        if stories.is_empty() {
            return Ok(());
        }
        let watched: HashSet<String> = ctx.store.watched(viewer, &stories).await?.into_iter().collect();
        for id in stories {
            let seen = watched.contains(&id);
            self.story_watched.insert(id, seen);
        }
        Ok(())
    }

    pub async fn load(
        ctx: &Ctx,
        activities: &[Activity],
        follows: &[Follow],
        fids: &[Fid],
        reader: &Reader,
    ) -> Result<Lookup> {
        Self::load_with_users(ctx, activities, follows, fids, &[], reader).await
    }

    /// Only the given users (for lists of reactions, shares…).
    pub async fn users(ctx: &Ctx, ids: &[String]) -> Result<Lookup> {
        let users = ctx.store.get_users(ids).await?;
        Ok(Lookup { users: users.into_iter().map(|u| (u.id.clone(), u)).collect(), ..Default::default() })
    }

    /// `load`, plus users referenced outside activities and follows.
    pub async fn load_with_users(
        ctx: &Ctx,
        activities: &[Activity],
        follows: &[Follow],
        fids: &[Fid],
        extra_users: &[String],
        reader: &Reader,
    ) -> Result<Lookup> {
        let viewer = reader.viewer.as_deref();
        let parent_ids: Vec<String> =
            activities.iter().filter_map(|a| a.parent_id.clone()).collect::<HashSet<_>>().into_iter().collect();
        let parents: HashMap<String, Activity> = ctx
            .store
            .get_activities(&parent_ids)
            .await?
            .into_iter()
            .filter(|a| a.deleted_at.is_none())
            .map(|a| (a.id.clone(), a))
            .collect();

        let activity_ids: Vec<String> = activities.iter().chain(parents.values()).map(|a| a.id.clone()).collect();
        // What the activities show beside themselves: one statement.
        let extras = ctx.store.activity_extras(&activity_ids, viewer, model::LATEST_REACTIONS, LATEST_COMMENTS).await?;
        let ActivityExtras {
            reactions,
            comment_counts,
            newest_comments: newest,
            bookmark_counts: activity_bookmarks,
            own_bookmarks: own,
            metrics,
            share_counts,
            hidden,
        } = extras;
        // The comments shown, and the viewer's bookmark folders, only when
        // there are any.
        let comment_ids: Vec<String> = newest.iter().map(|c| c.id.clone()).collect();
        let comment_reactions = ctx.store.reaction_summaries(Reactable::Comments, &comment_ids, viewer).await?;
        let (comment_bookmarks, _) = ctx.store.bookmark_summaries("comment", &comment_ids, None).await?;
        let folder_ids: Vec<String> =
            own.iter().filter_map(|b| b.folder_id.clone()).collect::<HashSet<_>>().into_iter().collect();
        let folders =
            ctx.store.get_bookmark_folders(&folder_ids).await?.into_iter().map(|f| (f.id.clone(), f)).collect();
        let mut own_bookmarks: HashMap<String, Vec<model::Bookmark>> = HashMap::new();
        for b in own {
            own_bookmarks.entry(b.object_id.clone()).or_default().push(b);
        }
        let refs: Vec<(String, String)> = activities
            .iter()
            .chain(parents.values())
            .flat_map(|a| a.collection_refs.iter())
            .collect::<HashSet<_>>()
            .into_iter()
            .filter_map(|r| collections::parse_ref(r).ok())
            .collect();
        let collections = ctx.store.get_collections(&refs).await?.into_iter().map(|c| (c.reference(), c)).collect();

        let poll_ids: Vec<String> = activities
            .iter()
            .chain(parents.values())
            .filter_map(|a| a.poll_id.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let polls = Self::load_polls(ctx, &poll_ids, viewer).await?;

        let mut user_ids: HashSet<String> = HashSet::new();
        user_ids.extend(Self::poll_users(&polls));
        for summary in reactions.values().chain(comment_reactions.values()) {
            user_ids.extend(summary.latest.iter().chain(&summary.own).map(|r| r.user_id.clone()));
        }
        user_ids.extend(own_bookmarks.values().flatten().map(|b| b.user_id.clone()));
        for c in &newest {
            user_ids.insert(c.user_id.clone());
            user_ids.extend(c.mentioned_user_ids.iter().cloned());
        }
        let mut latest_comments: HashMap<String, Vec<model::Comment>> = HashMap::new();
        for c in newest {
            latest_comments.entry(c.object_id.clone()).or_default().push(c);
        }
        let mut feed_ids: HashSet<Fid> = fids.iter().cloned().collect();
        for a in activities.iter().chain(parents.values()) {
            user_ids.insert(a.user_id.clone());
            user_ids.extend(a.mentioned_user_ids.iter().cloned());
            if let [only] = a.feeds.as_slice() {
                feed_ids.insert(only.clone());
            }
        }
        for f in follows {
            feed_ids.insert(f.source.clone());
            feed_ids.insert(f.target.clone());
        }
        user_ids.extend(extra_users.iter().cloned());
        let feed_ids: Vec<Fid> = feed_ids.into_iter().collect();
        let feeds = ctx.store.feeds_with_counts(&feed_ids, Timestamp::now()).await?;
        user_ids.extend(feeds.iter().map(|(f, _)| f.created_by.clone()));
        let user_ids: Vec<String> = user_ids.into_iter().collect();
        let users = ctx.store.get_users(&user_ids).await?;
        // An anonymous reader is restricted to "" (no author has that id),
        // so tag-restricted activities reach it as previews.
        let restricted_to = reader.restricted.then(|| reader.viewer.clone().unwrap_or_default());
        let unlocked = match &restricted_to {
            Some(viewer) => Self::unlocked_for(ctx, viewer, activities.iter().chain(parents.values())).await?,
            None => HashSet::new(),
        };
        Ok(Lookup {
            unlocked,
            users: users.into_iter().map(|u| (u.id.clone(), u)).collect(),
            feeds: feeds.into_iter().map(|(f, c)| (f.fid.clone(), (f, c))).collect(),
            parents,
            reactions,
            hidden,
            metrics,
            share_counts,
            restricted_to,
            collections,
            polls,
            comment_counts,
            latest_comments,
            comment_reactions,
            activity_bookmarks,
            comment_bookmarks,
            own_bookmarks,
            folders,
            ..Default::default()
        })
    }

    /// Loads `viewer`'s `own_*` fields for `fids` (feeds already in this
    /// lookup) and the feeds and users those fields refer to: a fixed
    /// number of queries however many feeds.
    pub async fn add_own(&mut self, ctx: &Ctx, viewer: &str, fids: &[Fid], wanted: OwnWanted) -> Result<()> {
        self.add_own_with(ctx, viewer, fids, wanted, None).await
    }

    /// `add_own` reusing `viewer`'s relations to exactly `fids` when the
    /// caller has them already.
    pub async fn add_own_with(
        &mut self,
        ctx: &Ctx,
        viewer: &str,
        fids: &[Fid],
        wanted: OwnWanted,
        known: Option<access::Relations>,
    ) -> Result<()> {
        self.forget_rendered();
        let feeds: Vec<Feed> = fids.iter().filter_map(|f| self.feeds.get(f).map(|(feed, _)| feed.clone())).collect();
        if feeds.is_empty() {
            return Ok(());
        }
        let fids: Vec<Fid> = feeds.iter().map(|f| f.fid.clone()).collect();
        let relations = match known {
            Some(relations) => relations,
            None => access::Relations::load(ctx, viewer, &fids).await?,
        };
        let refs: Vec<&Feed> = feeds.iter().collect();
        let mut caps = if wanted.capabilities {
            access::capabilities_with(ctx, viewer, &refs, &relations).await?
        } else {
            HashMap::new()
        };
        let followings = if wanted.followings {
            let owners: Vec<String> =
                feeds.iter().map(|f| f.created_by.clone()).collect::<HashSet<_>>().into_iter().collect();
            ctx.store.follows_between(&owners, viewer, MAX_OWN_FOLLOWINGS).await?
        } else {
            Vec::new()
        };
        let mut more_feeds: HashSet<Fid> = HashSet::new();
        for feed in &feeds {
            let follows: Vec<Follow> = relations.follows.iter().filter(|f| f.target == feed.fid).cloned().collect();
            let theirs = followings.clone();
            more_feeds.extend(follows.iter().chain(&theirs).flat_map(|f| [f.source.clone(), f.target.clone()]));
            let own = OwnFields {
                follows: wanted.follows.then_some(follows),
                followings: wanted.followings.then_some(theirs),
                membership: wanted
                    .membership
                    .then(|| relations.memberships.iter().find(|m| m.fid == feed.fid).cloned()),
                capabilities: if wanted.capabilities { caps.remove(&feed.fid) } else { None },
            };
            self.own.insert(feed.fid.clone(), own);
        }
        // Followings of a feed are those from its owner's feeds: known only
        // once their source feeds are loaded, so they are narrowed here.
        let missing: Vec<Fid> = more_feeds.into_iter().filter(|f| !self.feeds.contains_key(f)).collect();
        self.add_feeds(ctx, &missing).await?;
        if wanted.followings {
            for feed in &feeds {
                if let Some(own) = self.own.get_mut(&feed.fid) {
                    let owner_of = |fid: &Fid| self.feeds.get(fid).map(|(f, _)| f.created_by.clone());
                    if let Some(list) = own.followings.as_mut() {
                        list.retain(|f| owner_of(&f.source).as_deref() == Some(feed.created_by.as_str()));
                    }
                }
            }
        }
        let mut users: Vec<String> =
            relations.memberships.iter().map(|m| m.user_id.clone()).filter(|u| !self.users.contains_key(u)).collect();
        if !self.users.contains_key(viewer) {
            users.push(viewer.to_string());
        }
        self.add_users(ctx, &users).await
    }

    /// Rendered feeds may show what the lookup is gaining: render them again.
    fn forget_rendered(&mut self) {
        self.rendered_feeds.get_mut().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Loads feeds (with counts and owners) not yet in this lookup.
    pub async fn add_feeds(&mut self, ctx: &Ctx, fids: &[Fid]) -> Result<()> {
        self.forget_rendered();
        let fids: Vec<Fid> = fids.iter().filter(|f| !self.feeds.contains_key(*f)).cloned().collect();
        if fids.is_empty() {
            return Ok(());
        }
        let feeds = ctx.store.feeds_with_counts(&fids, Timestamp::now()).await?;
        let owners: Vec<String> = feeds.iter().map(|(f, _)| f.created_by.clone()).collect();
        for (f, c) in feeds {
            self.feeds.insert(f.fid.clone(), (f, c));
        }
        self.add_users(ctx, &owners).await
    }

    /// Loads users not yet in this lookup.
    pub async fn add_users(&mut self, ctx: &Ctx, ids: &[String]) -> Result<()> {
        self.forget_rendered();
        let ids: Vec<String> =
            ids.iter().filter(|u| !self.users.contains_key(*u)).cloned().collect::<HashSet<_>>().into_iter().collect();
        if ids.is_empty() {
            return Ok(());
        }
        for u in ctx.store.get_users(&ids).await? {
            self.users.insert(u.id.clone(), u);
        }
        Ok(())
    }

    /// What member responses show: their users.
    pub async fn for_members(ctx: &Ctx, members: &[&model::FeedMember]) -> Result<Lookup> {
        let mut lookup = Lookup::default();
        lookup.add_members(ctx, members).await?;
        Ok(lookup)
    }

    pub async fn add_members(&mut self, ctx: &Ctx, members: &[&model::FeedMember]) -> Result<()> {
        self.forget_rendered();
        let users: Vec<String> = members.iter().map(|m| m.user_id.clone()).collect();
        let levels: Vec<String> = members
            .iter()
            .filter_map(|m| m.membership_level.clone())
            .filter(|l| !self.levels.contains_key(l))
            .collect();
        self.levels.extend(membership_level_ops::get_levels(ctx, &levels).await?);
        self.add_users(ctx, &users).await
    }

    /// Which `tag`-visibility activities `viewer` sees whole through the
    /// membership level they hold in one of the activity's feeds; costs
    /// nothing when no such activity is shown.
    async fn unlocked_for<'a>(
        ctx: &Ctx,
        viewer: &str,
        activities: impl Iterator<Item = &'a Activity>,
    ) -> Result<HashSet<String>> {
        let tagged: Vec<&Activity> = activities.filter(|a| a.visibility == "tag" && a.user_id != viewer).collect();
        if tagged.is_empty() {
            return Ok(HashSet::new());
        }
        let fids: Vec<Fid> =
            tagged.iter().flat_map(|a| a.feeds.iter().cloned()).collect::<HashSet<_>>().into_iter().collect();
        let memberships: Vec<model::FeedMember> = ctx
            .store
            .memberships(viewer, &fids)
            .await?
            .into_iter()
            .filter(|m| m.status == model::MEMBER_ACTIVE && m.membership_level.is_some())
            .collect();
        if memberships.is_empty() {
            return Ok(HashSet::new());
        }
        let level_ids: Vec<String> = memberships.iter().filter_map(|m| m.membership_level.clone()).collect();
        let levels = membership_level_ops::get_levels(ctx, &level_ids).await?;
        let tags: Vec<String> =
            tagged.iter().filter_map(|a| a.visibility_tag.clone()).collect::<HashSet<_>>().into_iter().collect();
        let granting = membership_level_ops::levels_granting(ctx, &tags).await?;
        Ok(tagged
            .iter()
            .filter(|a| {
                let tag = a.visibility_tag.as_deref().unwrap_or_default();
                memberships.iter().filter(|m| a.feeds.contains(&m.fid)).any(|m| {
                    let level = m.membership_level.as_ref().and_then(|l| levels.get(l));
                    level.is_some_and(|l| membership_levels::unlocks(l, tag, &granting))
                })
            })
            .map(|a| a.id.clone())
            .collect())
    }

    /// What comment responses show: their authors, mentioned users and
    /// reactions (with `viewer`'s own), in three queries for any number.
    pub async fn for_comments<'a>(
        ctx: &Ctx,
        comments: impl IntoIterator<Item = &'a model::Comment>,
        viewer: Option<&str>,
    ) -> Result<Lookup> {
        let comments: Vec<&model::Comment> = comments.into_iter().collect();
        let ids: Vec<String> = comments.iter().map(|c| c.id.clone()).collect();
        let comment_reactions = ctx.store.reaction_summaries(Reactable::Comments, &ids, viewer).await?;
        let mut users: HashSet<String> = HashSet::new();
        for c in &comments {
            users.insert(c.user_id.clone());
            users.extend(c.mentioned_user_ids.iter().cloned());
        }
        for summary in comment_reactions.values() {
            users.extend(summary.latest.iter().chain(&summary.own).map(|r| r.user_id.clone()));
        }
        let users: Vec<String> = users.into_iter().collect();
        let mut lookup = Lookup::users(ctx, &users).await?;
        lookup.comment_reactions = comment_reactions;
        lookup.comment_bookmarks = ctx.store.bookmark_summaries("comment", &ids, None).await?.0;
        Ok(lookup)
    }

    /// What bookmark responses show: their activities (fully enriched for
    /// `reader`), comments and folders.
    pub async fn for_bookmarks(
        ctx: &Ctx,
        bookmarks: &[model::Bookmark],
        folders: &[model::BookmarkFolder],
        reader: &Reader,
    ) -> Result<Lookup> {
        let activity_ids: Vec<String> =
            bookmarks.iter().map(|b| b.activity_id.clone()).collect::<HashSet<_>>().into_iter().collect();
        let activities = ctx.store.get_activities(&activity_ids).await?;
        let comment_ids: Vec<String> =
            bookmarks.iter().filter(|b| b.object_type == "comment").map(|b| b.object_id.clone()).collect();
        let comments = ctx.store.get_comments(&comment_ids).await?;
        let mut users: Vec<String> = bookmarks.iter().map(|b| b.user_id.clone()).collect();
        users.extend(
            comments.iter().flat_map(|c| std::iter::once(c.user_id.clone()).chain(c.mentioned_user_ids.clone())),
        );
        let mut lookup = Lookup::load_with_users(ctx, &activities, &[], &[], &users, reader).await?;
        let viewer = reader.viewer.as_deref();
        lookup.comment_reactions.extend(ctx.store.reaction_summaries(Reactable::Comments, &comment_ids, viewer).await?);
        lookup.comment_bookmarks.extend(ctx.store.bookmark_summaries("comment", &comment_ids, None).await?.0);
        let folder_ids: Vec<String> = bookmarks.iter().filter_map(|b| b.folder_id.clone()).collect();
        let known: HashSet<&String> = folders.iter().map(|f| &f.id).collect();
        let missing: Vec<String> = folder_ids.into_iter().filter(|id| !known.contains(id)).collect();
        let loaded = ctx.store.get_bookmark_folders(&missing).await?;
        lookup.folders.extend(folders.iter().cloned().chain(loaded).map(|f| (f.id.clone(), f)));
        lookup.bookmarked_activities = activities.into_iter().map(|a| (a.id.clone(), a)).collect();
        lookup.bookmarked_comments = comments.into_iter().map(|c| (c.id.clone(), c)).collect();
        Ok(lookup)
    }

    /// Polls with their tallies (for `viewer`'s own votes) and the users they
    /// show, for the poll endpoints.
    pub async fn for_polls(ctx: &Ctx, poll_ids: &[String], viewer: Option<&str>) -> Result<Lookup> {
        let polls = Self::load_polls(ctx, poll_ids, viewer).await?;
        let users: Vec<String> = Self::poll_users(&polls).collect();
        let mut lookup = Lookup::users(ctx, &users).await?;
        lookup.polls = polls;
        Ok(lookup)
    }

    async fn load_polls(
        ctx: &Ctx,
        poll_ids: &[String],
        viewer: Option<&str>,
    ) -> Result<HashMap<String, (Poll, PollTally)>> {
        let polls = ctx.store.get_polls(poll_ids).await?;
        let mut tallies = ctx.store.poll_tallies(poll_ids, viewer).await?;
        Ok(polls
            .into_iter()
            .map(|p| {
                let tally = tallies.remove(&p.id).unwrap_or_default();
                (p.id.clone(), (p, tally))
            })
            .collect())
    }

    fn poll_users(polls: &HashMap<String, (Poll, PollTally)>) -> impl Iterator<Item = String> + '_ {
        polls.values().flat_map(|(poll, tally)| {
            let votes = tally.latest_by_option.values().flatten().chain(&tally.latest_answers).chain(&tally.own);
            std::iter::once(poll.created_by_id.clone()).chain(votes.map(|v| v.user_id.clone()))
        })
    }
}
