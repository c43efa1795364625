//! Membership levels: app-wide tiers (server-side CRUD) that a feed member
//! can be assigned. A level's `tags` are what unlocks `tag`-visibility
//! activities for that member; `priority` ranks levels (higher = better).
//! Deleting a level is irreversible; members that still name it simply
//! resolve to no level.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::cursor::Page;
use super::error::{Error, Result};
use super::filter::{self, Filter};
use super::model::Custom;
use super::time::Timestamp;
use super::{new_id, Ctx, QueryRequest};

pub const MAX_ID: usize = 255;
pub const MAX_NAME: usize = 255;
pub const MAX_DESCRIPTION: usize = 1000;
/// Not in the spec: keeps one level's document (and the tag checks made
/// against it on reads) small.
pub const MAX_TAGS: usize = 100;
pub const MAX_TAG: usize = 255;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MembershipLevel {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub priority: i64,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub custom: Custom,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl MembershipLevel {
    /// Whether this level unlocks activities restricted to `tag`.
    pub fn grants_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

/// CreateMembershipLevelRequest. The spec marks `id` required, but ids of
/// client-named records are generated when absent everywhere else, so an
/// empty or missing one gets a UUID here too.
#[derive(Debug, Clone, Deserialize)]
pub struct CreateMembershipLevel {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub priority: Option<i64>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub custom: Option<Custom>,
}

/// UpdateMembershipLevelRequest: only the fields sent change.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UpdateMembershipLevel {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub priority: Option<i64>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub custom: Option<Custom>,
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::field("name", "name is a required field"));
    }
    if name.chars().count() > MAX_NAME {
        return Err(Error::field("name", format!("name must be at most {MAX_NAME} characters")));
    }
    Ok(())
}

/// An empty description clears it.
fn check_description(description: Option<String>) -> Result<Option<String>> {
    match description {
        Some(d) if d.chars().count() > MAX_DESCRIPTION => {
            Err(Error::field("description", format!("description must be at most {MAX_DESCRIPTION} characters")))
        }
        Some(d) if d.is_empty() => Ok(None),
        other => Ok(other),
    }
}

fn check_priority(priority: i64) -> Result<i64> {
    if !(0..=i64::from(i32::MAX)).contains(&priority) {
        return Err(Error::field("priority", format!("priority must be between 0 and {}, got {priority}", i32::MAX)));
    }
    Ok(priority)
}

/// Tags in the order given, without repeats.
fn check_tags(tags: Vec<String>) -> Result<Vec<String>> {
    if tags.len() > MAX_TAGS {
        return Err(Error::field("tags", format!("tags lists at most {MAX_TAGS} tags")));
    }
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        if tag.is_empty() || tag.chars().count() > MAX_TAG {
            return Err(Error::field("tags", format!("each tag must be 1 to {MAX_TAG} characters")));
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

fn check_id(id: &str) -> Result<()> {
    if id.chars().count() > MAX_ID {
        return Err(Error::field("id", format!("id must be at most {MAX_ID} characters")));
    }
    // `…/membership_levels/query` is QueryMembershipLevels: a level with this
    // id could never be updated or deleted by path.
    if id == "query" {
        return Err(Error::field("id", "id \"query\" is reserved"));
    }
    Ok(())
}

/// CreateMembershipLevel; an existing id is an input error.
pub async fn create_level(ctx: &Ctx, req: CreateMembershipLevel) -> Result<MembershipLevel> {
    let id = req.id.filter(|i| !i.is_empty()).unwrap_or_else(new_id);
    check_id(&id)?;
    check_name(&req.name)?;
    let now = Timestamp::now();
    let level = MembershipLevel {
        id,
        name: req.name,
        description: check_description(req.description)?,
        priority: check_priority(req.priority.unwrap_or(0))?,
        tags: check_tags(req.tags.unwrap_or_default())?,
        custom: req.custom.unwrap_or_default(),
        created_at: now,
        updated_at: now,
    };
    if !ctx.store.insert_membership_level(&level).await? {
        return Err(Error::field("id", format!("membership level {} already exists", level.id)));
    }
    Ok(level)
}

/// How often an update re-reads a level that changed under it before
/// giving up; only a burst of concurrent writers to one level gets there.
const UPDATE_ATTEMPTS: usize = 5;

/// UpdateMembershipLevel: a partial update. Concurrent updates of different
/// fields both land: the write only succeeds against the version it read.
pub async fn update_level(ctx: &Ctx, id: &str, req: UpdateMembershipLevel) -> Result<MembershipLevel> {
    if let Some(name) = &req.name {
        check_name(name)?;
    }
    let description = req.description.map(|d| check_description(Some(d))).transpose()?;
    let priority = req.priority.map(check_priority).transpose()?;
    let tags = req.tags.map(check_tags).transpose()?;
    for _ in 0..UPDATE_ATTEMPTS {
        let Some(old) = ctx.store.get_membership_levels(&[id.to_string()]).await?.pop() else {
            return Err(Error::not_found("membership level", id));
        };
        let mut level = old.clone();
        if let Some(name) = &req.name {
            level.name = name.clone();
        }
        if let Some(description) = &description {
            level.description = description.clone();
        }
        if let Some(priority) = priority {
            level.priority = priority;
        }
        if let Some(tags) = &tags {
            level.tags = tags.clone();
        }
        if let Some(custom) = &req.custom {
            level.custom = custom.clone();
        }
        // Strictly later, so the version check below always sees a change.
        level.updated_at = Timestamp(Timestamp::now().0.max(old.updated_at.0 + 1));
        if ctx.store.replace_membership_level(&level, old.updated_at).await? {
            return Ok(level);
        }
    }
    Err(Error::input(format!("membership level {id} is being updated concurrently; retry")))
}

/// DeleteMembershipLevel.
pub async fn delete_level(ctx: &Ctx, id: &str) -> Result<()> {
    if !ctx.store.delete_membership_level(id).await? {
        return Err(Error::not_found("membership level", id));
    }
    Ok(())
}

/// QueryMembershipLevels, newest first unless sorted.
pub async fn query_levels(ctx: &Ctx, q: QueryRequest) -> Result<Page<MembershipLevel>> {
    let cursors = ctx.cursor_scope("QueryMembershipLevels");
    let (query, window) =
        q.list(cursors, filter::MEMBERSHIP_LEVEL_FIELDS, filter::MEMBERSHIP_LEVEL_SORT, ("created_at", true))?;
    Ok(window.page(ctx.store.query_membership_levels(&query).await?))
}

/// The levels with these ids, in one query; unknown (or deleted) ids are
/// absent. For enriching feed members and deciding who sees `tag`-visibility
/// activities in full.
pub async fn get_levels(ctx: &Ctx, ids: &[String]) -> Result<HashMap<String, MembershipLevel>> {
    let mut wanted: Vec<String> = ids.iter().filter(|i| !i.is_empty()).cloned().collect();
    wanted.sort();
    wanted.dedup();
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let levels = ctx.store.get_membership_levels(&wanted).await?;
    Ok(levels.into_iter().map(|l| (l.id.clone(), l)).collect())
}

/// The levels that list any of `tags`: the bar a member's level must
/// reach (by `priority`) to see activities restricted to one of them.
pub async fn levels_granting(ctx: &Ctx, tags: &[String]) -> Result<Vec<MembershipLevel>> {
    if tags.is_empty() {
        return Ok(Vec::new());
    }
    let query = crate::core::storage::ListQuery {
        filter: Filter::tags_any("tags", tags.to_vec()),
        sort: vec![("priority", false)],
        limit: 1000,
        offset: 0,
    };
    ctx.store.query_membership_levels(&query).await
}

/// Whether a member at `level` sees an activity restricted to `tag` in
/// full: their level lists the tag, or ranks at least as high as the
/// lowest level that does (`granting`: the levels listing it).
pub fn unlocks(level: &MembershipLevel, tag: &str, granting: &[MembershipLevel]) -> bool {
    level.grants_tag(tag)
        || granting
            .iter()
            .filter(|l| l.grants_tag(tag))
            .map(|l| l.priority)
            .min()
            .is_some_and(|bar| level.priority >= bar)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(id: &str, tags: &[&str]) -> CreateMembershipLevel {
        CreateMembershipLevel {
            id: Some(id.into()),
            name: format!("{id} tier"),
            description: None,
            priority: Some(1),
            tags: Some(tags.iter().map(|t| t.to_string()).collect()),
            custom: None,
        }
    }

    #[tokio::test]
    async fn get_levels_reads_many_at_once_and_skips_unknown_ids() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = crate::sqlite_test_ctx(dir.path());
        create_level(&ctx, create("gold", &["premium", "premium", "vip"])).await.expect("gold");
        create_level(&ctx, create("silver", &["premium"])).await.expect("silver");
        let err = create_level(&ctx, create("gold", &[])).await.expect_err("duplicate");
        assert_eq!(err.code, crate::core::error::Code::InputError);

        let ids = ["gold", "silver", "gone", "gold", ""].map(String::from);
        let levels = get_levels(&ctx, &ids).await.expect("levels");
        assert_eq!(levels.len(), 2);
        assert_eq!(levels["gold"].tags, ["premium", "vip"], "repeated tags are dropped");
        assert!(levels["gold"].grants_tag("vip") && !levels["silver"].grants_tag("vip"));

        delete_level(&ctx, "gold").await.expect("delete");
        assert!(!get_levels(&ctx, &ids).await.expect("levels").contains_key("gold"));
        assert!(get_levels(&ctx, &[]).await.expect("none").is_empty());
    }

    #[tokio::test]
    async fn update_changes_only_the_fields_sent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = crate::sqlite_test_ctx(dir.path());
        let made = create_level(&ctx, create("gold", &["premium"])).await.expect("gold");
        let update = UpdateMembershipLevel { priority: Some(7), ..Default::default() };
        let updated = update_level(&ctx, "gold", update).await.expect("update");
        assert_eq!((updated.priority, updated.tags.clone(), updated.name.clone()), (7, made.tags, made.name));
        assert!(updated.updated_at > made.updated_at && updated.created_at == made.created_at);
        let missing = update_level(&ctx, "nope", UpdateMembershipLevel::default()).await.expect_err("missing");
        assert_eq!(missing.code, crate::core::error::Code::NotFound);
    }
}
