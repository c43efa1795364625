//! Users: upsert, partial update, query and (async) deletion.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::{Error, Result};
use super::model::{validate_id, Custom, TaskWork, User};
use super::time::Timestamp;
use super::{tasks, Ctx, SortParam};
use crate::store::{UserQuery, UserSortField};

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
    #[serde(default)]
    pub teams_role: Option<Map<String, Value>>,
    #[serde(default)]
    pub invisible: Option<bool>,
    #[serde(default)]
    pub privacy_settings: Option<Value>,
    #[serde(default)]
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

pub async fn upsert_users(ctx: &Ctx, inputs: Vec<UserInput>) -> Result<Vec<User>> {
    if inputs.is_empty() {
        return Err(Error::field("users", "users must contain at least one user"));
    }
    if inputs.len() > 100 {
        return Err(Error::field("users", "at most 100 users can be updated at once"));
    }
    let ids: Vec<String> = inputs.iter().map(|u| u.id.clone()).collect();
    let existing = ctx.store.get_users(&ids).await?;
    let now = Timestamp::now();
    let users = inputs
        .into_iter()
        .map(|input| {
            let old = existing.iter().find(|u| u.id == input.id);
            build(input, old, now)
        })
        .collect::<Result<Vec<_>>>()?;
    ctx.store.upsert_users(&users).await?;
    Ok(users)
}

/// Fields a partial update may set at top level; every other key is custom
/// data, as on Stream.
const USER_FIELDS: &[&str] =
    &["name", "image", "role", "language", "teams", "teams_role", "invisible", "privacy_settings"];

pub async fn update_users_partial(ctx: &Ctx, patches: Vec<UserPatch>) -> Result<Vec<User>> {
    if patches.is_empty() {
        return Err(Error::field("users", "users must contain at least one update"));
    }
    let ids: Vec<String> = patches.iter().map(|p| p.id.clone()).collect();
    let existing = ctx.store.get_users(&ids).await?;
    let now = Timestamp::now();
    let mut out = Vec::with_capacity(patches.len());
    for patch in patches {
        validate_id("user id", &patch.id)?;
        let user = existing
            .iter()
            .find(|u| u.id == patch.id && u.deleted_at.is_none())
            .ok_or_else(|| Error::not_found("user", &patch.id))?;
        let Value::Object(mut doc) = serde_json::to_value(user).map_err(Error::internal)? else {
            return Err(Error::internal("user did not serialize to an object"));
        };
        for (key, value) in patch.set.unwrap_or_default() {
            let top = key.split('.').next().unwrap_or(&key).to_string();
            if top == "id" || top == "created_at" || top == "updated_at" {
                return Err(Error::field(&key, format!("field {key:?} cannot be changed")));
            }
            let path =
                if USER_FIELDS.contains(&top.as_str()) || top == "custom" { key } else { format!("custom.{key}") };
            super::patch::set_path(&mut doc, &path, value);
        }
        for key in patch.unset.unwrap_or_default() {
            let top = key.split('.').next().unwrap_or(&key).to_string();
            let path =
                if USER_FIELDS.contains(&top.as_str()) || top == "custom" { key } else { format!("custom.{key}") };
            super::patch::unset_path(&mut doc, &path);
        }
        doc.entry("role").or_insert_with(|| Value::String("user".into()));
        let mut updated: User = serde_json::from_value(Value::Object(doc))
            .map_err(|e| Error::input(format!("invalid user update: {e}")))?;
        validate_shapes(&updated)?;
        updated.updated_at = now;
        out.push(updated);
    }
    ctx.store.upsert_users(&out).await?;
    Ok(out)
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

pub async fn query_users(ctx: &Ctx, q: QueryUsers) -> Result<Vec<User>> {
    let mut query = UserQuery { limit: super::page_limit(q.limit)?, ..Default::default() };
    let offset = q.offset.unwrap_or(0);
    if !(0..=1000).contains(&offset) {
        return Err(Error::field("offset", "offset must be between 0 and 1000"));
    }
    query.offset = offset as usize;
    for (key, cond) in q.filter_conditions.unwrap_or_default() {
        match key.as_str() {
            "id" => query.ids = Some(id_condition(&cond)?),
            other => return Err(Error::field(other, format!("filtering users by {other:?} is not supported; use id"))),
        }
    }
    for s in q.sort.unwrap_or_default() {
        let field = match s.field.as_deref().unwrap_or("") {
            "id" => UserSortField::Id,
            "name" => UserSortField::Name,
            "role" => UserSortField::Role,
            "created_at" => UserSortField::CreatedAt,
            "updated_at" => UserSortField::UpdatedAt,
            other => return Err(Error::field("sort", format!("cannot sort users by {other:?}"))),
        };
        query.sort.push((field, s.direction.unwrap_or(1) < 0));
    }
    ctx.store.query_users(&query).await
}

/// `"x"`, `{"$eq": "x"}` or `{"$in": ["x", "y"]}`.
fn id_condition(cond: &Value) -> Result<Vec<String>> {
    let strings = |v: &Value| -> Result<Vec<String>> {
        match v {
            Value::String(s) => Ok(vec![s.clone()]),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string).ok_or_else(|| Error::field("id", "$in takes a list of ids")))
                .collect(),
            _ => Err(Error::field("id", "id filter values must be strings")),
        }
    };
    match cond {
        Value::String(_) => strings(cond),
        Value::Object(ops) if ops.len() == 1 => match ops.iter().next() {
            Some((op, v)) if op == "$eq" && v.is_string() => strings(v),
            Some((op, v)) if op == "$in" && v.is_array() => strings(v),
            Some((op, _)) => Err(Error::field("id", format!("unsupported operator {op:?} for id; use $eq or $in"))),
            None => Err(Error::field("id", "empty id filter")),
        },
        _ => Err(Error::field("id", "invalid id filter")),
    }
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
    let hard = match req.user.as_deref().unwrap_or("soft") {
        "soft" => false,
        "hard" | "pruning" => true,
        other => return Err(Error::field("user", format!("user must be soft, pruning or hard, got {other:?}"))),
    };
    tasks::enqueue(ctx, TaskWork::DeleteUsers { user_ids: req.user_ids, hard }).await
}

/// Task body for `DeleteUsers`. Idempotent, so a resumed task is harmless.
pub async fn run_delete_users(ctx: &Ctx, user_ids: &[String], hard: bool) -> Result<Value> {
    if hard {
        ctx.store.purge_users(user_ids).await?;
    } else {
        let now = Timestamp::now();
        let users: Vec<User> = ctx
            .store
            .get_users(user_ids)
            .await?
            .into_iter()
            .map(|mut u| {
                u.deleted_at.get_or_insert(now);
                u.updated_at = now;
                u
            })
            .collect();
        ctx.store.upsert_users(&users).await?;
    }
    Ok(serde_json::json!({ "deleted_user_ids": user_ids }))
}

/// Checks that every id names a live user; with `create` the missing ones
/// are created with defaults instead (`create_users: true`).
pub async fn ensure_users(ctx: &Ctx, ids: &[String], create: bool) -> Result<()> {
    let wanted: HashSet<&String> = ids.iter().collect();
    let ids: Vec<String> = wanted.iter().map(|s| s.to_string()).collect();
    let found = ctx.store.get_users(&ids).await?;
    let live: HashSet<&str> = found.iter().filter(|u| u.deleted_at.is_none()).map(|u| u.id.as_str()).collect();
    let missing: Vec<String> = ids.iter().filter(|id| !live.contains(id.as_str())).cloned().collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !create {
        return Err(Error::input(format!(
            "user {} does not exist; create it with update_users or pass create_users: true",
            missing[0]
        )));
    }
    let inputs = missing.into_iter().map(|id| UserInput { id, ..Default::default() }).collect();
    upsert_users(ctx, inputs).await.map(|_| ())
}
