//! Polls (app-level objects activities carry through `poll_id`) and votes.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::activities::get_activity;
use super::cursor::Page;
use super::error::{Error, Result};
use super::events::{Event, EventType};
use super::filter::{self, Filter};
use super::model::{Activity, Custom, Poll, PollOption, PollVote, VoteOutcome};
use super::storage::ExtraWrites;
use super::time::Timestamp;
use super::{new_id, patch, users, versions, Actor, Ctx, QueryRequest};

pub const MAX_OPTIONS: usize = 100;
pub const MAX_VOTES_ALLOWED: i64 = 10;

#[derive(Debug, Clone, Deserialize, Default)]
pub struct PollOptionInput {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub custom: Option<Custom>,
    #[serde(default)]
    pub user_id: Option<String>,
}

/// `CreatePollRequest` / `UpdatePollRequest` (a full replacement).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct PollInput {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub options: Option<Vec<PollOptionInput>>,
    #[serde(default)]
    pub voting_visibility: Option<String>,
    #[serde(default)]
    pub enforce_unique_vote: Option<bool>,
    #[serde(default)]
    pub max_votes_allowed: Option<i64>,
    #[serde(default)]
    pub allow_answers: Option<bool>,
    #[serde(default)]
    pub allow_user_suggested_options: Option<bool>,
    #[serde(default)]
    pub is_closed: Option<bool>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub custom: Option<Custom>,
    #[serde(default)]
    pub user_id: Option<String>,
}

/// The rules every stored poll obeys.
fn validate(poll: &Poll) -> Result<()> {
    if poll.name.trim().is_empty() {
        return Err(Error::field("name", "name is a required field"));
    }
    if poll.options.len() > MAX_OPTIONS {
        return Err(Error::field("options", format!("a poll has at most {MAX_OPTIONS} options")));
    }
    for (i, option) in poll.options.iter().enumerate() {
        if option.text.trim().is_empty() {
            return Err(Error::field("options", "every option needs a text"));
        }
        if poll.options[..i].iter().any(|o| o.text == option.text) {
            return Err(Error::field("options", format!("option {:?} appears twice", option.text)));
        }
    }
    if poll.max_votes_allowed.is_some_and(|m| !(1..=MAX_VOTES_ALLOWED).contains(&m)) {
        return Err(Error::field("max_votes_allowed", format!("max_votes_allowed must be 1 to {MAX_VOTES_ALLOWED}")));
    }
    if !["public", "anonymous"].contains(&poll.voting_visibility.as_str()) {
        return Err(Error::field("voting_visibility", "voting_visibility must be public or anonymous"));
    }
    Ok(())
}

/// Builds the poll `input` describes; options keep the ids they name.
fn build(input: PollInput, id: String, created_by_id: String, created_at: Timestamp) -> Result<Poll> {
    let poll = Poll {
        id,
        name: input.name.unwrap_or_default(),
        description: input.description.unwrap_or_default(),
        options: input
            .options
            .unwrap_or_default()
            .into_iter()
            .map(|o| PollOption {
                id: o.id.filter(|i| !i.is_empty()).unwrap_or_else(new_id),
                text: o.text.unwrap_or_default(),
                custom: o.custom.unwrap_or_default(),
            })
            .collect(),
        voting_visibility: input.voting_visibility.unwrap_or_else(|| "public".into()),
        enforce_unique_vote: input.enforce_unique_vote.unwrap_or(false),
        max_votes_allowed: input.max_votes_allowed,
        allow_answers: input.allow_answers.unwrap_or(false),
        allow_user_suggested_options: input.allow_user_suggested_options.unwrap_or(false),
        is_closed: input.is_closed.unwrap_or(false),
        custom: input.custom.unwrap_or_default(),
        created_by_id,
        created_at,
        updated_at: Timestamp::now(),
    };
    validate(&poll)?;
    Ok(poll)
}

pub async fn create_poll(ctx: &Ctx, actor: &Actor, input: PollInput) -> Result<Poll> {
    let creator = actor.acting_user(input.user_id.as_deref())?;
    users::ensure_users(ctx, std::slice::from_ref(&creator)).await?;
    let id = input.id.clone().filter(|i| !i.is_empty()).unwrap_or_else(new_id);
    let poll = build(input, id, creator, Timestamp::now())?;
    if !ctx.store.insert_poll(&poll).await? {
        return Err(Error::field("id", format!("poll {} already exists", poll.id)));
    }
    Ok(poll)
}

pub async fn get_poll(ctx: &Ctx, id: &str) -> Result<Poll> {
    ctx.store.get_polls(&[id.to_string()]).await?.pop().ok_or_else(|| Error::not_found("poll", id))
}

/// Only the creator changes a poll through a user token.
async fn owned_poll(ctx: &Ctx, actor: &Actor, id: &str) -> Result<Poll> {
    let poll = get_poll(ctx, id).await?;
    match actor {
        Actor::Anonymous => Err(Actor::anonymous_refused()),
        Actor::User(me) if me != &poll.created_by_id => {
            Err(Error::not_allowed(format!("poll {id} belongs to another user")))
        }
        _ => Ok(poll),
    }
}

fn removed_options(old: &Poll, new: &Poll) -> Vec<String> {
    old.options.iter().filter(|o| !new.options.iter().any(|n| n.id == o.id)).map(|o| o.id.clone()).collect()
}

/// UpdatePoll: replaces the poll; votes for options it drops are deleted.
pub async fn update_poll(ctx: &Ctx, actor: &Actor, input: PollInput) -> Result<Poll> {
    let id = input.id.clone().filter(|i| !i.is_empty()).ok_or_else(|| Error::field("id", "id is a required field"))?;
    // A replacement loses nothing, but which votes go depends on the
    // options it replaces.
    let ((), poll) = change_poll(
        ctx,
        &id,
        || owned_poll(ctx, actor, &id),
        |poll| {
            let new = build(input.clone(), id.clone(), poll.created_by_id.clone(), poll.created_at)?;
            let removed = removed_options(poll, &new);
            *poll = new;
            Ok(((), removed))
        },
    )
    .await?;
    Ok(poll)
}

const SETTABLE: &[&str] = &[
    "name",
    "description",
    "voting_visibility",
    "enforce_unique_vote",
    "max_votes_allowed",
    "allow_answers",
    "allow_user_suggested_options",
    "is_closed",
    "custom",
];
const UNSETTABLE: &[&str] = &["description", "max_votes_allowed", "custom"];
/// The poll's own fields a partial update may not touch; any other name is
/// custom data, as on Stream (its docs' own example sets
/// `{"name": …, "unset": ["custom"]}`, which lands in `custom.unset`).
const RESERVED: &[&str] = &[
    "id",
    "options",
    "created_by",
    "created_by_id",
    "created_at",
    "updated_at",
    "vote_count",
    "vote_counts_by_option",
    "latest_votes_by_option",
    "latest_answers",
    "answers_count",
    "own_votes",
];

/// `path` as the stored poll names it: a field of the poll (kept as it is,
/// so `patch::apply` judges it) or else a custom field.
fn poll_path(path: &str) -> String {
    let top = path.split('.').next().unwrap_or(path);
    if top.is_empty() || SETTABLE.contains(&top) || RESERVED.contains(&top) {
        path.to_string()
    } else {
        format!("custom.{path}")
    }
}

pub async fn update_poll_partial(
    ctx: &Ctx,
    actor: &Actor,
    id: &str,
    set: Map<String, Value>,
    unset: Vec<String>,
) -> Result<Poll> {
    let ((), poll) = change_poll(
        ctx,
        id,
        || owned_poll(ctx, actor, id),
        |poll| {
            let Value::Object(mut doc) = serde_json::to_value(&*poll).map_err(Error::internal)? else {
                return Err(Error::internal("poll did not serialize to an object"));
            };
            let set: Map<String, Value> = set.iter().map(|(k, v)| (poll_path(k), v.clone())).collect();
            let unset: Vec<String> = unset.iter().map(|k| poll_path(k)).collect();
            patch::apply(&mut doc, &set, &unset, SETTABLE, UNSETTABLE)?;
            *poll = serde_json::from_value(Value::Object(doc))
                .map_err(|e| Error::input(format!("invalid value in set: {e}")))?;
            validate(poll)?;
            Ok(((), Vec::new()))
        },
    )
    .await?;
    Ok(poll)
}

/// Applies `change` to the poll as `read` returns it and saves the result
/// if no other write came first, else starts again from the fresh poll (see
/// `versions`). `change` returns its outcome and the options whose votes go.
async fn change_poll<T, R, F>(
    ctx: &Ctx,
    id: &str,
    read: R,
    mut change: impl FnMut(&mut Poll) -> Result<(T, Vec<String>)>,
) -> Result<(T, Poll)>
where
    R: Fn() -> F,
    F: std::future::Future<Output = Result<Poll>>,
{
    let mut carrier = None;
    for _ in 0..versions::WRITE_ATTEMPTS {
        let mut poll = read().await?;
        let version = poll.updated_at;
        let was_closed = poll.is_closed;
        let (outcome, removed) = change(&mut poll)?;
        poll.updated_at = versions::next_version(version);
        if carrier.is_none() {
            carrier = Some(ctx.store.poll_activity(&poll).await?);
        }
        let kind = if poll.is_closed && !was_closed { EventType::PollClosed } else { EventType::PollUpdated };
        let events = carrier.iter().flatten().map(|activity| poll_event(kind, activity, &poll)).collect();
        let extra = ExtraWrites { events, ..Default::default() };
        if ctx.store.put_poll_with(&poll, &removed, Some(version), &extra).await? {
            return Ok((outcome, poll));
        }
    }
    Err(versions::contended("poll", id))
}

/// A poll event, where the activity carrying the poll went (its feeds and
/// the timelines following them). A poll no activity carries has no feed
/// to announce it in, so it announces nothing.
fn poll_event(kind: EventType, activity: &Activity, poll: &Poll) -> Event {
    Event::beside_activity(kind, None, activity).with(|s| s.poll = Some(poll.clone()))
}

pub async fn delete_poll(ctx: &Ctx, actor: &Actor, id: &str) -> Result<()> {
    let poll = owned_poll(ctx, actor, id).await?;
    let each = ctx.store.poll_activity(&poll).await?.map(|a| poll_event(EventType::PollDeleted, &a, &poll));
    ctx.store.delete_poll_with(id, &ExtraWrites { each, ..Default::default() }).await?;
    Ok(())
}

/// QueryPolls, newest first unless sorted.
pub async fn query_polls(ctx: &Ctx, q: QueryRequest) -> Result<Page<Poll>> {
    let cursors = ctx.cursor_scope("QueryPolls");
    let (query, window) = q.list(cursors, filter::POLL_FIELDS, filter::POLL_SORT, ("created_at", true))?;
    Ok(window.page(ctx.store.query_polls(&query).await?))
}

/// Adds an option: the creator, or anyone when the poll allows suggestions.
pub async fn create_poll_option(ctx: &Ctx, actor: &Actor, poll_id: &str, input: PollOptionInput) -> Result<PollOption> {
    let option =
        PollOption { id: new_id(), text: input.text.unwrap_or_default(), custom: input.custom.unwrap_or_default() };
    let (option, _) = change_poll(
        ctx,
        poll_id,
        || get_poll(ctx, poll_id),
        |poll| {
            if let Actor::User(me) = actor {
                if me != &poll.created_by_id && !poll.allow_user_suggested_options {
                    return Err(Error::not_allowed(format!("poll {poll_id} does not take suggested options")));
                }
            }
            poll.options.push(option.clone());
            validate(poll)?;
            Ok((option.clone(), Vec::new()))
        },
    )
    .await?;
    Ok(option)
}

pub async fn update_poll_option(ctx: &Ctx, actor: &Actor, poll_id: &str, input: PollOptionInput) -> Result<PollOption> {
    let id = input.id.unwrap_or_default();
    let (text, custom) = (input.text.unwrap_or_default(), input.custom.unwrap_or_default());
    let (updated, _) = change_poll(
        ctx,
        poll_id,
        || owned_poll(ctx, actor, poll_id),
        |poll| {
            let option =
                poll.options.iter_mut().find(|o| o.id == id).ok_or_else(|| Error::not_found("poll option", &id))?;
            option.text = text.clone();
            option.custom = custom.clone();
            let updated = option.clone();
            validate(poll)?;
            Ok((updated, Vec::new()))
        },
    )
    .await?;
    Ok(updated)
}

pub async fn delete_poll_option(ctx: &Ctx, actor: &Actor, poll_id: &str, option_id: &str) -> Result<()> {
    change_poll(
        ctx,
        poll_id,
        || owned_poll(ctx, actor, poll_id),
        |poll| {
            let before = poll.options.len();
            poll.options.retain(|o| o.id != option_id);
            if poll.options.len() == before {
                return Err(Error::not_found("poll option", option_id));
            }
            Ok(((), vec![option_id.to_string()]))
        },
    )
    .await?;
    Ok(())
}

pub async fn get_poll_option(ctx: &Ctx, poll_id: &str, option_id: &str) -> Result<PollOption> {
    let poll = get_poll(ctx, poll_id).await?;
    poll.options.into_iter().find(|o| o.id == option_id).ok_or_else(|| Error::not_found("poll option", option_id))
}

pub async fn query_poll_votes(ctx: &Ctx, poll_id: &str, q: QueryRequest) -> Result<Page<PollVote>> {
    get_poll(ctx, poll_id).await?;
    let cursors = ctx.cursor_scope("QueryPollVotes").bind(poll_id);
    let (mut query, window) = q.list(cursors, filter::VOTE_FIELDS, filter::VOTE_SORT, ("created_at", true))?;
    query.filter = query.filter.and(Filter::eq("poll_id", poll_id));
    Ok(window.page(ctx.store.query_votes(&query).await?))
}

#[derive(Debug, Deserialize, Default)]
pub struct VoteData {
    #[serde(default)]
    pub option_id: Option<String>,
    #[serde(default)]
    pub answer_text: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct CastVote {
    #[serde(default)]
    pub vote: Option<VoteData>,
    #[serde(default)]
    pub user_id: Option<String>,
}

/// A poll as an activity carries it: the activity must name this poll.
async fn activity_poll(ctx: &Ctx, activity_id: &str, poll_id: &str) -> Result<(Activity, Poll)> {
    let activity = get_activity(ctx, activity_id).await?;
    if activity.poll_id.as_deref() != Some(poll_id) {
        return Err(Error::field("poll_id", format!("activity {activity_id} does not carry poll {poll_id}")));
    }
    Ok((activity, get_poll(ctx, poll_id).await?))
}

pub async fn cast_poll_vote(
    ctx: &Ctx,
    actor: &Actor,
    activity_id: &str,
    poll_id: &str,
    req: CastVote,
) -> Result<(PollVote, Poll)> {
    let user_id = actor.acting_user(req.user_id.as_deref())?;
    users::ensure_users(ctx, std::slice::from_ref(&user_id)).await?;
    let (activity, poll) = activity_poll(ctx, activity_id, poll_id).await?;
    if poll.is_closed {
        return Err(Error::input(format!("poll {poll_id} is closed")));
    }
    let data = req.vote.unwrap_or_default();
    let now = Timestamp::now();
    let mut vote = PollVote {
        id: new_id(),
        poll_id: poll.id.clone(),
        activity_id: Some(activity_id.to_string()),
        option_id: String::new(),
        answer_text: None,
        is_answer: false,
        user_id,
        created_at: now,
        updated_at: now,
    };
    match (data.option_id.filter(|o| !o.is_empty()), data.answer_text.filter(|a| !a.trim().is_empty())) {
        (Some(option), None) => {
            if !poll.options.iter().any(|o| o.id == option) {
                return Err(Error::field("option_id", format!("poll {poll_id} has no option {option}")));
            }
            vote.option_id = option;
        }
        (None, Some(answer)) => {
            if !poll.allow_answers {
                return Err(Error::field("answer_text", format!("poll {poll_id} does not allow answers")));
            }
            vote.answer_text = Some(answer);
            vote.is_answer = true;
        }
        _ => return Err(Error::field("vote", "a vote names exactly one of option_id or answer_text")),
    }
    // A vote that replaces the voter's earlier ones is a change.
    let each = Some(poll_event(EventType::PollVoteCasted, &activity, &poll));
    let extra = ExtraWrites { each, ..Default::default() };
    match ctx.store.cast_vote_with(&vote, poll.enforce_unique_vote, poll.max_votes_allowed, &extra).await? {
        VoteOutcome::Cast { vote, .. } => Ok((vote, poll)),
        VoteOutcome::TooManyVotes => Err(Error::input(format!(
            "user {} already cast the {} votes poll {poll_id} allows",
            vote.user_id,
            poll.max_votes_allowed.unwrap_or_default()
        ))),
    }
}

pub async fn delete_poll_vote(
    ctx: &Ctx,
    actor: &Actor,
    activity_id: &str,
    poll_id: &str,
    vote_id: &str,
    user_id: Option<&str>,
) -> Result<(PollVote, Poll)> {
    // A user token removes only its own votes; server-side, `user_id` (if
    // given) must be the voter.
    let voter = actor.scoped_user(user_id)?;
    let (activity, poll) = activity_poll(ctx, activity_id, poll_id).await?;
    let each = Some(poll_event(EventType::PollVoteRemoved, &activity, &poll));
    let vote = ctx
        .store
        .delete_vote_with(poll_id, vote_id, voter.as_deref(), &ExtraWrites { each, ..Default::default() })
        .await?
        .ok_or_else(|| Error::not_found("vote", vote_id))?;
    Ok((vote, poll))
}
