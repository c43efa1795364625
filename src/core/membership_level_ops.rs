//! Membership levels stored: the server-side CRUD and the reads that
//! enrichment and members make. The record and its rules are in
//! `membership_levels`.

use std::collections::HashMap;

use super::cursor::Page;
use super::error::{Error, Result};
use super::filter::{self, Filter};
use super::membership_levels::{
    check_description, check_id, check_name, check_priority, check_tags, CreateMembershipLevel, MembershipLevel,
    UpdateMembershipLevel,
};
use super::time::Timestamp;
use super::{new_id, Ctx, QueryRequest};

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
