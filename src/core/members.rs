//! Feed members: who belongs to a feed, in which role and membership
//! level, and the invites that make someone a member once they accept.

use std::collections::HashMap;

use serde::Deserialize;

use super::access;
use super::cursor::{Page, Pager};
use super::error::{Error, Result};
use super::events::{Event, EventType};
use super::feeds::{get_live_feed, MemberInput};
use super::filter::{self, Filter};
use super::model::{FeedMember, Fid, DEFAULT_MEMBER_ROLE, MEMBER_ACTIVE, MEMBER_PENDING, MEMBER_REJECTED};
use super::storage::ExtraWrites;
use super::time::Timestamp;
use super::users;
use super::versions;
use super::{Actor, Ctx, QueryRequest};

pub const MAX_MEMBERS_PER_UPDATE: usize = 100;

#[derive(Debug, Deserialize)]
pub struct UpdateMembers {
    pub operation: String,
    #[serde(default)]
    pub members: Vec<MemberInput>,
}

#[derive(Debug, Default)]
pub struct MemberChanges {
    pub added: Vec<FeedMember>,
    pub updated: Vec<FeedMember>,
    pub removed_ids: Vec<String>,
}

/// UpdateFeedMembers: `upsert` adds or changes the members given,
/// `remove` takes them out, `set` makes them the whole member list — one
/// transaction. An invite makes a `pending` member until the user accepts.
pub async fn update_members(ctx: &Ctx, actor: &Actor, fid: &Fid, req: UpdateMembers) -> Result<MemberChanges> {
    let feed = get_live_feed(ctx, fid).await?;
    access::require(ctx, actor, &feed, access::UPDATE_FEED_MEMBERS).await?;
    check_shape(&req.members)?;
    let user_ids: Vec<String> = req.members.iter().map(|m| m.user_id.clone()).collect();
    let by = actor.viewer(None);
    // Each member removed announces itself, whoever the store finds.
    let each = Some(Event::new(EventType::FeedMemberRemoved, by).in_feeds([fid.clone()]));
    match req.operation.as_str() {
        "remove" => {
            let extra = ExtraWrites { each, ..Default::default() };
            let written = ctx.store.write_members_with(fid, &[], &user_ids, false, None, &extra).await?;
            Ok(MemberChanges { removed_ids: written.unwrap_or_default(), ..Default::default() })
        }
        "upsert" | "set" => {
            check_references(ctx, &req.members.iter().collect::<Vec<_>>()).await?;
            for _ in 0..versions::WRITE_ATTEMPTS {
                let existing: HashMap<String, FeedMember> =
                    ctx.store.get_members(fid, &user_ids).await?.into_iter().map(|m| (m.user_id.clone(), m)).collect();
                let (mut changes, rows, read_at) = upserted(fid, &req.members, &existing);
                let added = changes.added.iter().map(|m| member_event(EventType::FeedMemberAdded, by, m));
                let updated = changes.updated.iter().map(|m| member_event(EventType::FeedMemberUpdated, by, m));
                let extra =
                    ExtraWrites { events: added.chain(updated).collect(), each: each.clone(), ..Default::default() };
                let replace = req.operation == "set";
                let written = ctx.store.write_members_with(fid, &rows, &[], replace, Some(&read_at), &extra).await?;
                if let Some(removed_ids) = written {
                    changes.removed_ids = removed_ids;
                    return Ok(changes);
                }
            }
            Err(versions::contended("feed members of", &fid.to_string()))
        }
        other => Err(Error::field("operation", format!("operation must be upsert, remove or set, got {other:?}"))),
    }
}

/// An event about one membership, in its feed.
fn member_event(kind: EventType, by: Option<&str>, member: &FeedMember) -> Event {
    Event::new(kind, by).in_feeds([member.fid.clone()]).with(|s| s.members = vec![member.clone()])
}

/// The memberships `inputs` make of the `existing` ones (and of none), with
/// the version each was read at (None: a new member).
fn upserted(
    fid: &Fid,
    inputs: &[MemberInput],
    existing: &HashMap<String, FeedMember>,
) -> (MemberChanges, Vec<FeedMember>, Vec<Option<Timestamp>>) {
    let now = Timestamp::now();
    let mut changes = MemberChanges::default();
    let (mut rows, mut read_at) = (Vec::with_capacity(inputs.len()), Vec::with_capacity(inputs.len()));
    for input in inputs.iter().cloned() {
        let invite = input.invite.unwrap_or(false);
        match existing.get(&input.user_id) {
            Some(old) => {
                let mut m = old.clone();
                if let Some(role) = input.role.filter(|r| !r.is_empty()) {
                    m.role = role;
                }
                if let Some(custom) = input.custom {
                    m.custom = Some(custom);
                }
                if let Some(level) = input.membership_level {
                    m.membership_level = Some(level).filter(|l| !l.is_empty());
                }
                // A new invite to someone who declined asks again.
                if invite && m.status == MEMBER_REJECTED {
                    m.status = MEMBER_PENDING.into();
                    m.invite_rejected_at = None;
                }
                m.updated_at = versions::next_version(old.updated_at);
                changes.updated.push(m.clone());
                rows.push(m);
                read_at.push(Some(old.updated_at));
            }
            None => {
                let m = new_member(fid, input, now);
                changes.added.push(m.clone());
                rows.push(m);
                read_at.push(None);
            }
        }
    }
    (changes, rows, read_at)
}

fn check_shape(members: &[MemberInput]) -> Result<()> {
    if members.len() > MAX_MEMBERS_PER_UPDATE {
        return Err(Error::field("members", format!("members must contain at most {MAX_MEMBERS_PER_UPDATE} items")));
    }
    let mut seen = std::collections::HashSet::new();
    for m in members {
        if m.user_id.is_empty() {
            return Err(Error::field("members", "every member needs a user_id"));
        }
        if !seen.insert(m.user_id.as_str()) {
            return Err(Error::field("members", format!("user {} is listed twice", m.user_id)));
        }
    }
    Ok(())
}

/// Checks the members feeds are about to be created with (one list per
/// feed), before anything is written: well-formed lists, and existing users
/// and membership levels — two queries for any number of feeds.
pub async fn check_new_members(ctx: &Ctx, lists: &[&[MemberInput]]) -> Result<()> {
    for members in lists {
        check_shape(members)?;
    }
    let all: Vec<&MemberInput> = lists.iter().flat_map(|l| l.iter()).collect();
    check_references(ctx, &all).await
}

/// A membership as `input` starts it: `pending` when it is an invite.
pub fn new_member(fid: &Fid, input: MemberInput, now: Timestamp) -> FeedMember {
    FeedMember {
        fid: fid.clone(),
        user_id: input.user_id,
        role: input.role.filter(|r| !r.is_empty()).unwrap_or_else(|| DEFAULT_MEMBER_ROLE.into()),
        status: if input.invite.unwrap_or(false) { MEMBER_PENDING } else { MEMBER_ACTIVE }.into(),
        custom: input.custom,
        membership_level: input.membership_level.filter(|l| !l.is_empty()),
        created_at: now,
        updated_at: now,
        invite_accepted_at: None,
        invite_rejected_at: None,
    }
}

/// The users and membership levels members name must exist.
async fn check_references(ctx: &Ctx, members: &[&MemberInput]) -> Result<()> {
    let user_ids: Vec<String> = members.iter().map(|m| m.user_id.clone()).collect();
    users::ensure_users(ctx, &user_ids).await?;
    let ids: Vec<String> =
        members.iter().filter_map(|m| m.membership_level.clone()).filter(|l| !l.is_empty()).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let found = super::membership_level_ops::get_levels(ctx, &ids).await?;
    match ids.iter().find(|id| !found.contains_key(*id)) {
        Some(missing) => Err(Error::field("membership_level", format!("membership level {missing} does not exist"))),
        None => Ok(()),
    }
}

/// AcceptFeedMemberInvite / RejectFeedMemberInvite: the invited user
/// (the token's, or server-side the one named) answers their invite.
pub async fn answer_invite(
    ctx: &Ctx,
    actor: &Actor,
    fid: &Fid,
    user_id: Option<&str>,
    accept: bool,
) -> Result<FeedMember> {
    let user = actor.acting_user(user_id)?;
    get_live_feed(ctx, fid).await?;
    for _ in 0..versions::WRITE_ATTEMPTS {
        let mut member = ctx
            .store
            .get_members(fid, std::slice::from_ref(&user))
            .await?
            .pop()
            .ok_or_else(|| Error::not_found("feed member invite", &format!("{user} on {fid}")))?;
        if member.status != MEMBER_PENDING {
            return Err(Error::input(format!(
                "user {user} has no pending invite to feed {fid} (status {})",
                member.status
            )));
        }
        let version = member.updated_at;
        let now = versions::next_version(version);
        if accept {
            member.status = MEMBER_ACTIVE.into();
            member.invite_accepted_at = Some(now);
        } else {
            member.status = MEMBER_REJECTED.into();
            member.invite_rejected_at = Some(now);
        }
        member.updated_at = now;
        let one = std::slice::from_ref(&member);
        let extra = ExtraWrites {
            events: vec![member_event(EventType::FeedMemberUpdated, Some(&user), &member)],
            ..Default::default()
        };
        if ctx.store.write_members_with(fid, one, &[], false, Some(&[Some(version)]), &extra).await?.is_some() {
            return Ok(member);
        }
    }
    Err(versions::contended("feed member", &format!("{user} on {fid}")))
}

pub type MemberPage = Page<FeedMember>;

/// QueryFeedMembers: the members of one feed, by filter and sort.
pub async fn query_members(ctx: &Ctx, actor: &Actor, fid: &Fid, q: QueryRequest) -> Result<MemberPage> {
    let feed = get_live_feed(ctx, fid).await?;
    access::require(ctx, actor, &feed, access::QUERY_FEED_MEMBERS).await?;
    let cursors = ctx.cursor_scope("QueryFeedMembers").bind(&fid.to_string());
    let (mut query, window) =
        q.list(cursors, filter::FEED_MEMBER_FIELDS, filter::FEED_MEMBER_SORT, ("created_at", true))?;
    query.filter = query.filter.and(Filter::eq("fid", fid.to_string()));
    Ok(window.page(ctx.store.query_members(&query).await?))
}

/// The first page of members a feed read shows, newest first.
pub async fn page_of(ctx: &Ctx, fid: &Fid, pager: &Pager) -> Result<MemberPage> {
    let request =
        QueryRequest { limit: pager.limit, next: pager.next.clone(), prev: pager.prev.clone(), ..Default::default() };
    let cursors = ctx.cursor_scope("GetOrCreateFeed.members").bind(&fid.to_string()).reported_as("member_pagination");
    let (mut query, window) =
        request.list(cursors, filter::FEED_MEMBER_FIELDS, filter::FEED_MEMBER_SORT, ("created_at", true))?;
    query.filter = Filter::eq("fid", fid.to_string());
    Ok(window.page(ctx.store.query_members(&query).await?))
}
