//! Collections: shared data objects (`name:id`) that many activities
//! reference through `collection_refs`; reads enrich them live.

use serde::Deserialize;

use super::cursor::Page;
use super::error::{Error, Result};
use super::filter::{self, Filter};
use super::model::{Collection, Custom};
use super::time::Timestamp;
use super::{new_id, Actor, Ctx, QueryRequest};

pub const MAX_COLLECTIONS: usize = 100;

#[derive(Debug, Clone, Deserialize)]
pub struct CollectionInput {
    pub name: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(deserialize_with = "crate::core::limits::document")]
    pub custom: Custom,
    #[serde(default)]
    pub user_id: Option<String>,
}

fn validate_part(what: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.len() > 128 || value.contains(':') || value.contains(',') {
        return Err(Error::field(
            what,
            format!("collection {what} {value:?} must be 1 to 128 characters without : or ,"),
        ));
    }
    Ok(())
}

/// `name:id` → (name, id).
pub fn parse_ref(reference: &str) -> Result<(String, String)> {
    match reference.split_once(':') {
        Some((name, id)) if !name.is_empty() && !id.is_empty() => Ok((name.to_string(), id.to_string())),
        _ => Err(Error::field("collection_refs", format!("invalid collection ref {reference:?}: expected name:id"))),
    }
}

pub(crate) fn build(actor: &Actor, inputs: Vec<CollectionInput>) -> Result<Vec<Collection>> {
    if inputs.is_empty() || inputs.len() > MAX_COLLECTIONS {
        return Err(Error::field("collections", format!("collections must contain 1 to {MAX_COLLECTIONS} items")));
    }
    let now = Timestamp::now();
    // One request names each collection once: a repeat would make the
    // stores' single upsert statement touch a row twice.
    let mut seen = std::collections::HashSet::new();
    inputs
        .into_iter()
        .map(|c| {
            validate_part("name", &c.name)?;
            let id = c.id.filter(|i| !i.is_empty()).unwrap_or_else(new_id);
            validate_part("id", &id)?;
            if !seen.insert((c.name.clone(), id.clone())) {
                return Err(Error::field("collections", format!("collection {}:{id} is named twice", c.name)));
            }
            if c.custom.is_empty() {
                return Err(Error::field("custom", "custom is required and must not be empty"));
            }
            let user_id = match actor {
                Actor::User(me) => Some(me.clone()),
                Actor::Server => c.user_id.filter(|u| !u.is_empty()),
                Actor::Anonymous => return Err(Actor::anonymous_refused()),
            };
            Ok(Collection { name: c.name, id, custom: c.custom, user_id, created_at: now, updated_at: now })
        })
        .collect()
}

/// CreateCollections: all or nothing; an existing collection is an error.
/// Server-side, a top-level `user_id` owns the collections that name no owner.
pub async fn create_collections(
    ctx: &Ctx,
    actor: &Actor,
    mut inputs: Vec<CollectionInput>,
    user_id: Option<&str>,
) -> Result<Vec<Collection>> {
    if let Some(owner) = actor.scoped_user(user_id)? {
        for c in inputs.iter_mut().filter(|c| c.user_id.as_deref().unwrap_or("").is_empty()) {
            c.user_id = Some(owner.clone());
        }
    }
    let collections = build(actor, inputs)?;
    match ctx.store.insert_collections(&collections).await? {
        Some(existing) => Err(Error::field("collections", format!("collection {existing} already exists"))),
        None => Ok(collections),
    }
}

/// Collections written inline with activities are created, or — if the
/// caller may — updated (in the activities' transaction): a user token
/// cannot touch another user's collection.
pub async fn check_inline(ctx: &Ctx, actor: &Actor, collections: &[Collection]) -> Result<()> {
    if collections.is_empty() || actor.is_server() {
        return Ok(());
    }
    let refs: Vec<(String, String)> = collections.iter().map(|c| (c.name.clone(), c.id.clone())).collect();
    for existing in ctx.store.get_collections(&refs).await? {
        check_owner(actor, &existing)?;
    }
    Ok(())
}

/// UpsertCollections (server-side): existing collections get the new custom.
pub async fn upsert_collections(ctx: &Ctx, inputs: Vec<CollectionInput>) -> Result<Vec<Collection>> {
    let collections = build(&Actor::Server, inputs)?;
    ctx.store.upsert_collections(&collections).await
}

/// A user token may only touch its own collections.
fn check_owner(actor: &Actor, c: &Collection) -> Result<()> {
    match actor {
        Actor::Anonymous => Err(Actor::anonymous_refused()),
        Actor::User(me) if c.user_id.as_deref() != Some(me) => {
            Err(Error::not_allowed(format!("collection {} belongs to another user", c.reference())))
        }
        _ => Ok(()),
    }
}

/// UpdateCollections: replaces `custom` of existing collections (all must exist).
pub async fn update_collections(ctx: &Ctx, actor: &Actor, inputs: Vec<CollectionInput>) -> Result<Vec<Collection>> {
    if inputs.iter().any(|c| c.id.as_deref().unwrap_or("").is_empty()) {
        return Err(Error::field("id", "id is a required field"));
    }
    let refs: Vec<(String, String)> =
        inputs.iter().map(|c| (c.name.clone(), c.id.clone().unwrap_or_default())).collect();
    let existing = ctx.store.get_collections(&refs).await?;
    for (name, id) in &refs {
        let found = existing
            .iter()
            .find(|c| &c.name == name && &c.id == id)
            .ok_or_else(|| Error::not_found("collection", &format!("{name}:{id}")))?;
        check_owner(actor, found)?;
    }
    let now = Timestamp::now();
    let updated: Vec<Collection> = build(actor, inputs)?
        .into_iter()
        .map(|mut c| {
            if let Some(old) = existing.iter().find(|o| o.name == c.name && o.id == c.id) {
                c.user_id = old.user_id.clone();
                c.created_at = old.created_at;
            }
            c.updated_at = now;
            c
        })
        .collect();
    ctx.store.upsert_collections(&updated).await
}

pub async fn read_collections(ctx: &Ctx, actor: &Actor, refs: &[String]) -> Result<Vec<Collection>> {
    let pairs = refs.iter().map(|r| parse_ref(r)).collect::<Result<Vec<_>>>()?;
    if pairs.len() > MAX_COLLECTIONS {
        return Err(Error::field("collection_refs", format!("at most {MAX_COLLECTIONS} collection refs")));
    }
    let found = ctx.store.get_collections(&pairs).await?;
    Ok(found.into_iter().filter(|c| check_owner(actor, c).is_ok() || actor.is_server()).collect())
}

pub async fn delete_collections(ctx: &Ctx, actor: &Actor, refs: &[String]) -> Result<Vec<Collection>> {
    if refs.is_empty() {
        return Err(Error::field("collection_refs", "collection_refs is a required parameter"));
    }
    let pairs = refs.iter().map(|r| parse_ref(r)).collect::<Result<Vec<_>>>()?;
    for c in ctx.store.get_collections(&pairs).await? {
        check_owner(actor, &c)?;
    }
    ctx.store.delete_collections(&pairs).await
}

/// QueryCollections, newest first unless sorted; a user token sees its own
/// collections.
pub async fn query_collections(
    ctx: &Ctx,
    actor: &Actor,
    q: QueryRequest,
    user_id: Option<&str>,
) -> Result<Page<Collection>> {
    let cursors = ctx.cursor_scope("QueryCollections");
    let (mut query, window) =
        q.list(cursors, filter::COLLECTION_FIELDS, filter::COLLECTION_SORT, ("created_at", true))?;
    if let Some(owner) = actor.scoped_user(user_id)? {
        query.filter = query.filter.and(Filter::eq("user_id", owner));
    }
    Ok(window.page(ctx.store.query_collections(&query).await?))
}
