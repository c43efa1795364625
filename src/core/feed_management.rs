//! Feed management across many feeds: QueryFeeds, CreateFeedsBatch,
//! DeleteFeedsBatch (async task) and GetFeedCounts.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::cursor::Page;
use super::error::{Error, Result};
use super::feeds::{new_feed, validate_input, FeedInput, MemberInput};
use super::members::{check_new_members, new_member};
use super::model::{Feed, FeedMember, Fid, TaskWork};
use super::time::Timestamp;
use super::{filter, tasks, users, Actor, Ctx, QueryRequest};

pub const MAX_CREATE: usize = 1000;
pub const MAX_DELETE: usize = 100;

/// QueryFeeds: live feeds, newest first unless sorted; user tokens see the
/// feeds they may read.
pub async fn query_feeds(ctx: &Ctx, actor: &Actor, q: &QueryRequest) -> Result<Page<Feed>> {
    let cursors = ctx.cursor_scope("QueryFeeds");
    let (query, window) = q.list(cursors, filter::FEED_FIELDS, filter::FEED_SORT, ("created_at", true))?;
    let reader = super::access::with_grants(ctx, actor.reader(None)).await?;
    let feeds = ctx.store.query_feeds(&query, &reader, Timestamp::now()).await?;
    Ok(window.page(feeds))
}

/// `FeedRequest`: one feed of a CreateFeedsBatch, what it is created with
/// beside its id and owner.
#[derive(Debug, Deserialize)]
pub struct FeedRequest {
    pub feed_group_id: String,
    pub feed_id: String,
    #[serde(default)]
    pub created_by_id: Option<String>,
    #[serde(flatten)]
    pub data: FeedInput,
}

#[derive(Debug, Deserialize)]
pub struct CreateFeedsBatch {
    pub feeds: Vec<FeedRequest>,
    #[serde(default)]
    pub create_users: Option<bool>,
}

/// CreateFeedsBatch: validates every feed first, then writes the new ones
/// in one transaction. Feeds that exist already are left unchanged; the
/// result lists every requested fid in request order.
pub async fn create_feeds_batch(ctx: &Ctx, req: CreateFeedsBatch) -> Result<Vec<Fid>> {
    if req.feeds.is_empty() || req.feeds.len() > MAX_CREATE {
        return Err(Error::field("feeds", format!("feeds takes 1 to {MAX_CREATE} feeds")));
    }
    let mut seen = HashSet::new();
    let mut checked = Vec::with_capacity(req.feeds.len());
    for (i, f) in req.feeds.into_iter().enumerate() {
        let fid =
            Fid::new(&f.feed_group_id, &f.feed_id).map_err(|e| Error::field(&format!("feeds[{i}]"), e.message))?;
        if !seen.insert(fid.clone()) {
            return Err(Error::field("feeds", format!("feed {fid} is listed twice")));
        }
        let owner = f.created_by_id.clone().filter(|o| !o.is_empty()).ok_or_else(|| {
            let field = format!("feeds[{i}].created_by_id");
            Error::field(&field, format!("{field} is a required field"))
        })?;
        let input = f.data;
        validate_input(&input).map_err(|e| Error::field(&format!("feeds[{i}]"), e.message))?;
        checked.push((fid, owner, input));
    }
    let member_lists: Vec<&[MemberInput]> =
        checked.iter().filter_map(|(_, _, input)| input.members.as_deref()).collect();
    check_new_members(ctx, &member_lists).await?;

    // One read for every group the batch names.
    let groups: HashMap<String, Option<String>> = ctx
        .store
        .list_feed_groups()
        .await?
        .into_iter()
        .filter(|g| g.deleted_at.is_none())
        .map(|g| (g.id.clone(), g.config.default_visibility.clone()))
        .collect();
    if let Some((fid, ..)) = checked.iter().find(|(fid, ..)| !groups.contains_key(&fid.group)) {
        return Err(Error::not_found("feed group", &fid.group));
    }
    let owners: Vec<String> = checked.iter().map(|(_, o, _)| o.clone()).collect::<HashSet<_>>().into_iter().collect();
    let implied = users::implied_users(ctx, &owners, req.create_users.unwrap_or(false)).await?;

    let now = Timestamp::now();
    let fids: Vec<Fid> = checked.iter().map(|(fid, ..)| fid.clone()).collect();
    let feeds: Vec<(Feed, Vec<FeedMember>)> = checked
        .into_iter()
        .map(|(fid, owner, mut input)| {
            let visibility = groups.get(&fid.group).cloned().flatten().unwrap_or_else(|| "visible".into());
            let members = input.members.take().unwrap_or_default();
            let members = members.into_iter().map(|m| new_member(&fid, m, now)).collect();
            (new_feed(&fid, &visibility, &owner, input, now), members)
        })
        .collect();
    // Each feed created announces itself, by its owner; one that exists,
    // nothing.
    let each = Some(super::events::Event::new(super::events::EventType::FeedCreated, None));
    let extra = crate::core::storage::ExtraWrites { users: implied, each, ..Default::default() };
    ctx.store.insert_feeds_with(&feeds, &extra).await?;
    Ok(fids)
}

#[derive(Debug, Deserialize)]
pub struct DeleteFeedsBatch {
    pub feeds: Vec<String>,
    #[serde(default)]
    pub hard_delete: Option<bool>,
    #[serde(default)]
    pub purge_user_activities: Option<bool>,
}

/// DeleteFeedsBatch: every feed must exist. They are marked deleted at once,
/// in one transaction (reads stop seeing them); a task purges them when
/// `hard_delete`.
pub async fn delete_feeds_batch(ctx: &Ctx, req: DeleteFeedsBatch) -> Result<String> {
    let (hard, purge_user_activities) = (req.hard_delete.unwrap_or(false), req.purge_user_activities.unwrap_or(false));
    super::feeds::check_purge(hard, purge_user_activities)?;
    let mut fids = super::feeds::parse_fids("feeds", &req.feeds, MAX_DELETE)?;
    let mut seen = HashSet::new();
    fids.retain(|f| seen.insert(f.clone()));
    // The task is written with the deletions, on the current rows (see
    // `versions`), so a concurrent UpdateFeed is neither lost nor undone.
    let task = tasks::pending(TaskWork::DeleteFeeds { fids: fids.clone(), hard, purge_user_activities });
    // Server-side only: no acting user.
    let deleted_events = fids
        .iter()
        .map(|fid| super::events::Event::new(super::events::EventType::FeedDeleted, None).in_feeds([fid.clone()]));
    let queued = crate::core::storage::ExtraWrites {
        tasks: vec![task.clone()],
        events: deleted_events.collect(),
        ..Default::default()
    };
    for _ in 0..super::versions::WRITE_ATTEMPTS {
        let found: HashMap<Fid, Feed> = ctx
            .store
            .get_feeds(&fids)
            .await?
            .into_iter()
            .filter(|f| f.deleted_at.is_none())
            .map(|f| (f.fid.clone(), f))
            .collect();
        if let Some(missing) = fids.iter().find(|f| !found.contains_key(f)) {
            return Err(Error::not_found("feed", &missing.to_string()));
        }
        let versions: Vec<Timestamp> = fids.iter().filter_map(|fid| found.get(fid).map(|f| f.updated_at)).collect();
        let deleted: Vec<Feed> = fids
            .iter()
            .filter_map(|fid| found.get(fid).cloned())
            .map(|mut f| {
                let now = super::versions::next_version(f.updated_at);
                f.deleted_at = Some(now);
                f.updated_at = now;
                f
            })
            .collect();
        if ctx.store.put_feeds_with(&deleted, &versions, &queued).await? {
            tasks::wake(ctx);
            return Ok(task.id);
        }
    }
    Err(super::versions::contended("feeds", &req.feeds.join(",")))
}

pub struct FeedTotals {
    pub activity_count: i64,
    pub comment_count: i64,
}

/// GetFeedCounts: the feed's live activities and the live comments on them.
pub async fn feed_counts(ctx: &Ctx, actor: &Actor, fid: &Fid) -> Result<FeedTotals> {
    let feed = super::feeds::get_live_feed(ctx, fid).await?;
    super::access::require(ctx, actor, &feed, super::access::READ_FEED).await?;
    let (activity_count, comment_count) = ctx.store.feed_totals(fid, Timestamp::now()).await?;
    Ok(FeedTotals { activity_count, comment_count })
}
