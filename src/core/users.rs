//! Users: upsert, partial update, query and (async) deletion.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::{Code, Error, Result};
use super::events::{Event, EventType};
use super::filter::{self, Filter};
use super::model::{validate_id, Custom, TaskWork, User};
use super::time::Timestamp;
use super::{tasks, Actor, Ctx, SortParam};
use crate::core::storage::{ExtraWrites, ListQuery};

/// `UserRequest`: a full replacement of the user's data.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct UserInput {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub teams: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub teams_role: Option<Map<String, Value>>,
    #[serde(default)]
    pub invisible: Option<bool>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub privacy_settings: Option<Value>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub custom: Option<Custom>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UserPatch {
    pub id: String,
    #[serde(default)]
    pub set: Option<Map<String, Value>>,
    #[serde(default)]
    pub unset: Option<Vec<String>>,
}

/// Stored fields kept as free JSON must still have the shape clients decode:
/// `teams_role` maps a team to a role name, `privacy_settings` is an object.
fn validate_shapes(user: &User) -> Result<()> {
    if let Some((team, _)) = user.teams_role.iter().flatten().find(|(_, role)| !role.is_string()) {
        return Err(Error::field(&format!("teams_role.{team}"), "a team's role must be a string"));
    }
    match &user.privacy_settings {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(settings)) => validate_privacy_settings(settings),
        Some(_) => Err(Error::field("privacy_settings", "privacy_settings must be an object")),
    }
}

/// Each privacy setting the spec names is `{"enabled": bool}`, `enabled` required.
fn validate_privacy_settings(settings: &Map<String, Value>) -> Result<()> {
    for name in ["delivery_receipts", "read_receipts", "typing_indicators"] {
        let Some(setting) = settings.get(name) else { continue };
        if !setting.get("enabled").is_some_and(Value::is_boolean) {
            let field = format!("privacy_settings.{name}.enabled");
            return Err(Error::field(&field, format!("{field} must be a boolean")));
        }
    }
    Ok(())
}

fn build(input: UserInput, existing: Option<&User>, now: Timestamp) -> Result<User> {
    validate_id("user id", &input.id)?;
    let user = User {
        name: input.name,
        image: input.image,
        role: input.role.filter(|r| !r.is_empty()).unwrap_or_else(|| "user".into()),
        language: input.language.unwrap_or_default(),
        teams: input.teams.unwrap_or_default(),
        teams_role: input.teams_role,
        invisible: input.invisible.unwrap_or(false),
        privacy_settings: input.privacy_settings,
        custom: input.custom.unwrap_or_default(),
        created_at: existing.map_or(now, |u| u.created_at),
        updated_at: now,
        deactivated_at: existing.and_then(|u| u.deactivated_at),
        deleted_at: None,
        revoke_tokens_issued_before: existing.and_then(|u| u.revoke_tokens_issued_before),
        id: input.id,
    };
    validate_shapes(&user)?;
    Ok(user)
}

/// User fields only a server token may change: with them a user could
/// grant itself a role or teams, or lift its own ban or token revocation.
const SERVER_ONLY_FIELDS: &[&str] = &[
    "role",
    "teams",
    "teams_role",
    "banned",
    "shadow_banned",
    "revoke_tokens_issued_before",
    "deactivated_at",
    "deleted_at",
];

fn server_only(field: &str) -> Error {
    let mut error = Error::field(field, format!("{field} can only be changed with a server-side token"));
    error.code = Code::NotAllowed;
    error
}

/// A user token writes only its own user, and never its server-only fields
/// (sending their current value is harmless, so clients may echo a user
/// back).
fn authorize_write(actor: &Actor, id: &str) -> Result<()> {
    match actor {
        Actor::Anonymous => Err(Actor::anonymous_refused()),
        Actor::User(me) if me != id => Err(Error::not_allowed(format!("user {me} cannot update user {id}"))),
        _ => Ok(()),
    }
}

/// For a user token: refuses a changed server-only field of a full update
/// and keeps the stored values of the ones left out, so the replacement
/// cannot reset them either.
fn keep_server_fields(input: &mut UserInput, existing: Option<&User>) -> Result<()> {
    let role = existing.map_or("user", |u| u.role.as_str());
    let teams = existing.map(|u| u.teams.clone()).unwrap_or_default();
    let teams_role = existing.and_then(|u| u.teams_role.clone());
    if input.role.as_deref().is_some_and(|r| !r.is_empty() && r != role) {
        return Err(server_only("role"));
    }
    if input.teams.as_ref().is_some_and(|t| *t != teams) {
        return Err(server_only("teams"));
    }
    if input.teams_role.is_some() && input.teams_role != teams_role {
        return Err(server_only("teams_role"));
    }
    input.role = Some(role.to_string());
    input.teams = Some(teams);
    input.teams_role = teams_role;
    Ok(())
}

/// For a user token: refuses `set`/`unset` of a server-only field unless it
/// leaves the stored value as it is.
fn check_patch_fields(patch: &UserPatch, current: &Map<String, Value>) -> Result<()> {
    let top = |key: &str| key.split('.').next().unwrap_or(key).to_string();
    for (key, value) in patch.set.iter().flatten() {
        let field = top(key);
        if SERVER_ONLY_FIELDS.contains(&field.as_str()) && (field != *key || current.get(key) != Some(value)) {
            return Err(server_only(&field));
        }
    }
    for key in patch.unset.iter().flatten() {
        let field = top(key);
        if SERVER_ONLY_FIELDS.contains(&field.as_str()) && current.get(key).is_some_and(|v| !v.is_null()) {
            return Err(server_only(&field));
        }
    }
    Ok(())
}

/// UpdateUsers as `actor`: a user token may only write itself, without
/// server-only fields.
pub async fn update_users(ctx: &Ctx, actor: &Actor, mut inputs: Vec<UserInput>) -> Result<Vec<User>> {
    for input in &inputs {
        authorize_write(actor, &input.id)?;
    }
    if actor.is_server() {
        return upsert_users(ctx, inputs).await;
    }
    let ids: Vec<String> = inputs.iter().map(|u| u.id.clone()).collect();
    let existing = ctx.store.get_users(&ids).await?;
    for input in &mut inputs {
        keep_server_fields(input, existing.iter().find(|u| u.id == input.id))?;
    }
    upsert_users(ctx, inputs).await
}

pub async fn upsert_users(ctx: &Ctx, inputs: Vec<UserInput>) -> Result<Vec<User>> {
    let users = replacements(ctx, inputs).await?;
    let extra = ExtraWrites { events: updated_events(&users), ..Default::default() };
    ctx.store.upsert_users_with(&users, &extra).await?;
    Ok(users)
}

/// The `user.updated` event of each user written, for that user's
/// connections.
pub fn updated_events(users: &[User]) -> Vec<Event> {
    users.iter().map(|u| Event::for_user(EventType::UserUpdated, &u.id).with(|s| s.user = Some(u.clone()))).collect()
}

/// The users an UpdateUsers request writes, built over the stored ones.
pub async fn replacements(ctx: &Ctx, inputs: Vec<UserInput>) -> Result<Vec<User>> {
    if inputs.is_empty() {
        return Err(Error::field("users", "users must contain at least one user"));
    }
    if inputs.len() > 100 {
        return Err(Error::field("users", "at most 100 users can be updated at once"));
    }
    let ids: Vec<String> = inputs.iter().map(|u| u.id.clone()).collect();
    let existing = ctx.store.get_users(&ids).await?;
    let now = Timestamp::now();
    inputs
        .into_iter()
        .map(|input| {
            let old = existing.iter().find(|u| u.id == input.id);
            build(input, old, now)
        })
        .collect::<Result<Vec<_>>>()
}

/// Fields a partial update may set at top level; every other key is custom
/// data, as on Stream.
const USER_FIELDS: &[&str] =
    &["name", "image", "role", "language", "teams", "teams_role", "invisible", "privacy_settings"];

pub async fn update_users_partial(ctx: &Ctx, actor: &Actor, patches: Vec<UserPatch>) -> Result<Vec<User>> {
    if patches.is_empty() {
        return Err(Error::field("users", "users must contain at least one update"));
    }
    for patch in &patches {
        authorize_write(actor, &patch.id)?;
    }
    let ids: Vec<String> = patches.iter().map(|p| p.id.clone()).collect();
    for _ in 0..super::versions::WRITE_ATTEMPTS {
        let existing = ctx.store.get_users(&ids).await?;
        let (out, read_at) = apply_patches(actor, &existing, &patches)?;
        let extra = ExtraWrites { events: updated_events(&out), ..Default::default() };
        if ctx.store.update_users_with(&out, &read_at, &extra).await? {
            return Ok(out);
        }
    }
    Err(super::versions::contended("users", &ids.join(",")))
}

/// The patched users, and the version each was read at.
fn apply_patches(actor: &Actor, existing: &[User], patches: &[UserPatch]) -> Result<(Vec<User>, Vec<Timestamp>)> {
    let mut out: Vec<User> = Vec::with_capacity(patches.len());
    let mut read_at = Vec::with_capacity(patches.len());
    for patch in patches {
        validate_id("user id", &patch.id)?;
        let user = existing
            .iter()
            .find(|u| u.id == patch.id && u.deleted_at.is_none())
            .ok_or_else(|| Error::not_found("user", &patch.id))?;
        let Value::Object(mut doc) = serde_json::to_value(user).map_err(Error::internal)? else {
            return Err(Error::internal("user did not serialize to an object"));
        };
        if !actor.is_server() {
            check_patch_fields(patch, &doc)?;
        }
        let mut written = Vec::new();
        for (key, value) in patch.set.clone().unwrap_or_default() {
            let top = key.split('.').next().unwrap_or(&key).to_string();
            if top == "id" || top == "created_at" || top == "updated_at" {
                return Err(Error::field(&key, format!("field {key:?} cannot be changed")));
            }
            let path =
                if USER_FIELDS.contains(&top.as_str()) || top == "custom" { key } else { format!("custom.{key}") };
            super::patch::set_path(&mut doc, &path, value)?;
            written.push(path);
        }
        for key in patch.unset.clone().unwrap_or_default() {
            let top = key.split('.').next().unwrap_or(&key).to_string();
            let path =
                if USER_FIELDS.contains(&top.as_str()) || top == "custom" { key } else { format!("custom.{key}") };
            super::patch::unset_path(&mut doc, &path);
        }
        super::patch::check_written(&doc, &written)?;
        doc.entry("role").or_insert_with(|| Value::String("user".into()));
        let mut updated: User = serde_json::from_value(Value::Object(doc))
            .map_err(|e| Error::input(format!("invalid user update: {e}")))?;
        validate_shapes(&updated)?;
        updated.updated_at = super::versions::next_version(user.updated_at);
        read_at.push(user.updated_at);
        out.push(updated);
    }
    Ok((out, read_at))
}

/// The `payload` of `GET /users`. Only the parts this server acts on are
/// typed; `null`s count as absent.
#[derive(Debug, Deserialize, Default)]
pub struct QueryUsers {
    #[serde(default)]
    pub filter_conditions: Option<Map<String, Value>>,
    #[serde(default)]
    pub sort: Option<Vec<SortParam>>,
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub offset: Option<i64>,
    #[serde(default)]
    pub include_deactivated_users: Option<bool>,
}

/// QueryUsers: the filter language over `filter::USER_FIELDS`, at most 100
/// users from an offset of at most 1000, soft-deleted users never and
/// deactivated ones only when asked.
pub async fn query_users(ctx: &Ctx, q: QueryUsers) -> Result<Vec<User>> {
    let limit = super::page_limit(q.limit)?;
    let offset = q.offset.unwrap_or(0);
    if !(0..=1000).contains(&offset) {
        return Err(Error::field("offset", "offset must be between 0 and 1000"));
    }
    let mut filter = filter::parse_optional(q.filter_conditions.as_ref(), filter::USER_FIELDS)?
        .and(Filter::exists("deleted_at", false));
    if !q.include_deactivated_users.unwrap_or(false) {
        filter = filter.and(Filter::exists("deactivated_at", false));
    }
    let sort = filter::parse_sort(q.sort.as_deref(), filter::USER_SORT, ("id", false))?;
    ctx.store.query_users(&ListQuery { filter, sort, limit, offset: offset as usize }).await
}

#[derive(Debug, Deserialize)]
pub struct DeleteUsers {
    pub user_ids: Vec<String>,
    /// `soft` (default), `pruning` or `hard`.
    #[serde(default)]
    pub user: Option<String>,
}

pub async fn delete_users(ctx: &Ctx, req: DeleteUsers) -> Result<String> {
    if req.user_ids.is_empty() || req.user_ids.len() > 100 {
        return Err(Error::field("user_ids", "user_ids must contain between 1 and 100 ids"));
    }
    // `soft` keeps the users' data, `pruning` clears their profiles and
    // soft-deletes their feed data, `hard` deletes it all (`user_data`).
    let (hard, prune) = match req.user.as_deref().unwrap_or("soft") {
        "soft" => (false, false),
        "pruning" => (false, true),
        "hard" => (true, false),
        other => return Err(Error::field("user", format!("user must be soft, pruning or hard, got {other:?}"))),
    };
    tasks::enqueue(ctx, TaskWork::DeleteUsers { user_ids: req.user_ids, hard, prune }).await
}

/// Checks that every id names a live user; with `create` the missing ones
/// are returned, built with defaults, for the caller to write in the
/// transaction of its request (`create_users: true`).
pub async fn implied_users(ctx: &Ctx, ids: &[String], create: bool) -> Result<Vec<User>> {
    let wanted: HashSet<&String> = ids.iter().collect();
    let ids: Vec<String> = wanted.iter().map(|s| s.to_string()).collect();
    let found = ctx.store.get_users(&ids).await?;
    let live: HashSet<&str> = found.iter().filter(|u| u.deleted_at.is_none()).map(|u| u.id.as_str()).collect();
    let mut missing: Vec<String> = ids.iter().filter(|id| !live.contains(id.as_str())).cloned().collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    if !create {
        missing.sort();
        return Err(Error::input(format!(
            "user {} does not exist; create it with update_users or pass create_users: true",
            missing[0]
        )));
    }
    let now = Timestamp::now();
    missing.into_iter().map(|id| build(UserInput { id, ..Default::default() }, None, now)).collect()
}

/// Checks that every id names a live user.
pub async fn ensure_users(ctx: &Ctx, ids: &[String]) -> Result<()> {
    implied_users(ctx, ids, false).await.map(|_| ())
}

/// `Actor::editor` lives here, above the users it checks.
impl Actor {
    /// Who changes an existing object (update, delete, restore): a user
    /// token's own user — naming anyone else is refused — or server-side the
    /// user the request names, who must exist, if any. The named user
    /// changes no permission rule: server-side calls may do anything, as on
    /// Stream ("permission checking only happens on client-side calls"). It
    /// is the viewer whose `own_*` fields the response carries.
    pub async fn editor(&self, ctx: &Ctx, named: Option<&str>) -> Result<Option<String>> {
        let editor = self.scoped_user(named)?;
        if let (Actor::Server, Some(id)) = (self, &editor) {
            ensure_users(ctx, std::slice::from_ref(id)).await.map_err(|e| match e.code {
                Code::InputError => Error::field("user_id", format!("user {id} does not exist")),
                _ => e,
            })?;
        }
        Ok(editor)
    }
}

/// The `user_details` of a WebSocket connect, as Stream's `connectUser`
/// applies them: a new user is created; an existing one gets the name,
/// image and custom data sent (other fields, such as the role, are not
/// the client's to set).
pub async fn connect_user(ctx: &Ctx, details: UserInput) -> Result<User> {
    validate_id("user_details.id", &details.id)?;
    let existing = ctx.store.get_users(std::slice::from_ref(&details.id)).await?.pop();
    let Some(user) = existing.filter(|u| u.deleted_at.is_none()) else {
        let input = UserInput {
            id: details.id,
            name: details.name,
            image: details.image,
            custom: details.custom,
            ..Default::default()
        };
        return upsert_users(ctx, vec![input]).await?.pop().ok_or_else(|| Error::internal("upsert returned no user"));
    };
    let mut set = Map::new();
    if details.name.is_some() && details.name != user.name {
        set.insert("name".into(), Value::from(details.name));
    }
    if details.image.is_some() && details.image != user.image {
        set.insert("image".into(), Value::from(details.image));
    }
    if let Some(custom) = details.custom.filter(|c| !c.is_empty() && *c != user.custom) {
        set.insert("custom".into(), Value::Object(custom));
    }
    if set.is_empty() {
        return Ok(user);
    }
    let patch = UserPatch { id: user.id.clone(), set: Some(set), unset: None };
    update_users_partial(ctx, &Actor::Server, vec![patch]).await?.pop().ok_or_else(|| Error::internal("no user"))
}

/// The role of users made by CreateGuest.
pub const GUEST_ROLE: &str = "guest";

/// CreateGuest: a new user with the `guest` role, from the `UserRequest` a
/// logged-out visitor sends (id, name, image, language, invisible, privacy
/// settings, custom; another role and any teams are refused). Its id is the requested one with a random suffix (or a
/// random one), so a guest can never take over an existing user's id, nor
/// get a token for one.
pub async fn create_guest(ctx: &Ctx, mut input: UserInput) -> Result<User> {
    if input.role.as_deref().is_some_and(|r| !r.is_empty() && r != GUEST_ROLE) {
        return Err(Error::field("user.role", "user.role of a guest can only be guest"));
    }
    if input.teams.as_ref().is_some_and(|t| !t.is_empty()) {
        return Err(Error::field("user.teams", "user.teams must be empty: guests belong to no team"));
    }
    if input.teams_role.as_ref().is_some_and(|t| !t.is_empty()) {
        return Err(Error::field("user.teams_role", "user.teams_role must be empty: guests belong to no team"));
    }
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..12];
    input.id = match input.id.as_str() {
        "" => format!("guest-{suffix}"),
        requested => {
            validate_id("user.id", requested)?;
            format!("{requested}-{suffix}")
        }
    };
    validate_id("user.id", &input.id).map_err(|_| Error::field("user.id", "user.id is too long for a guest id"))?;
    input.role = Some(GUEST_ROLE.into());
    upsert_users(ctx, vec![input]).await?.pop().ok_or_else(|| Error::internal("upsert returned no user"))
}
