//! Bookmarks of activities and comments, and the per-user folders that hold
//! them. A bookmark is identified by (user, object, folder): the same object
//! may sit in several folders, and once outside any.

use serde::Deserialize;

use super::access;
use super::activities::get_activity;
use super::comments::get_comment;
use super::cursor::Page;
use super::error::{Error, Result};
use super::events::{Event, EventType};
use super::filter::{self, Filter};
use super::model::{Bookmark, BookmarkFolder, Custom};
use super::storage::ExtraWrites;
use super::time::Timestamp;
use super::{new_id, users, Actor, Ctx, QueryRequest};

const MAX_FOLDER_NAME: usize = 255;

/// What is bookmarked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bookmarkable<'a> {
    Activity(&'a str),
    Comment(&'a str),
}

impl Bookmarkable<'_> {
    fn object_type(&self) -> &'static str {
        match self {
            Bookmarkable::Activity(_) => "activity",
            Bookmarkable::Comment(_) => "comment",
        }
    }

    fn id(&self) -> &str {
        match self {
            Bookmarkable::Activity(id) | Bookmarkable::Comment(id) => id,
        }
    }

    /// The activity it is, or the live one its comment is on.
    async fn activity_id(&self, ctx: &Ctx) -> Result<String> {
        match self {
            Bookmarkable::Activity(id) => Ok(get_activity(ctx, id).await?.id),
            Bookmarkable::Comment(id) => Ok(get_comment(ctx, id).await?.object_id),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct NewFolder {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub custom: Option<Custom>,
}

#[derive(Debug, Deserialize, Default)]
pub struct BookmarkRequest {
    #[serde(default)]
    pub folder_id: Option<String>,
    #[serde(default)]
    pub new_folder: Option<NewFolder>,
    /// Update only: move to this folder ("" takes it out of its folder).
    #[serde(default)]
    pub new_folder_id: Option<String>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub custom: Option<Custom>,
    #[serde(default)]
    pub user_id: Option<String>,
}

fn folder_key(id: &Option<String>) -> &str {
    id.as_deref().unwrap_or("")
}

/// A folder `user` owns.
async fn own_folder(ctx: &Ctx, user: &str, id: &str) -> Result<BookmarkFolder> {
    match ctx.store.get_bookmark_folders(&[id.to_string()]).await?.pop() {
        Some(f) if f.user_id == user => Ok(f),
        _ => Err(Error::not_found("bookmark folder", id)),
    }
}

fn new_folder(user: &str, input: NewFolder, now: Timestamp) -> Result<BookmarkFolder> {
    let name = input.name.unwrap_or_default();
    if name.trim().is_empty() || name.chars().count() > MAX_FOLDER_NAME {
        return Err(Error::field("new_folder.name", format!("a folder name is 1 to {MAX_FOLDER_NAME} characters")));
    }
    Ok(BookmarkFolder {
        id: new_id(),
        user_id: user.to_string(),
        name,
        custom: input.custom.unwrap_or_default(),
        created_at: now,
        updated_at: now,
    })
}

/// The folder a request puts the bookmark in: an existing one of the user's,
/// or one it creates (returned to be saved with the bookmark).
async fn target_folder(
    ctx: &Ctx,
    user: &str,
    existing: Option<&str>,
    create: Option<NewFolder>,
    now: Timestamp,
) -> Result<(Option<String>, Option<BookmarkFolder>)> {
    match (existing.filter(|f| !f.is_empty()), create) {
        (Some(_), Some(_)) => Err(Error::input("pass either a folder id or new_folder, not both")),
        (Some(id), None) => Ok((Some(own_folder(ctx, user, id).await?.id), None)),
        (None, Some(input)) => {
            let folder = new_folder(user, input, now)?;
            Ok((Some(folder.id.clone()), Some(folder)))
        }
        (None, None) => Ok((None, None)),
    }
}

/// Bookmarks `object` for the acting user; returns it with its folder.
pub async fn add_bookmark(
    ctx: &Ctx,
    actor: &Actor,
    object: Bookmarkable<'_>,
    req: BookmarkRequest,
) -> Result<(Bookmark, Option<BookmarkFolder>)> {
    let user = actor.acting_user(req.user_id.as_deref())?;
    users::ensure_users(ctx, std::slice::from_ref(&user)).await?;
    let activity_id = object.activity_id(ctx).await?;
    access::require_on_activity_id(ctx, actor, &activity_id, access::ADD_BOOKMARK).await?;
    let now = Timestamp::now();
    let (folder_id, created) = target_folder(ctx, &user, req.folder_id.as_deref(), req.new_folder, now).await?;
    let bookmark = Bookmark {
        user_id: user,
        object_type: object.object_type().into(),
        object_id: object.id().to_string(),
        activity_id,
        folder_id,
        custom: req.custom.unwrap_or_default(),
        created_at: now,
        updated_at: now,
    };
    let extra = announce(bookmark_event(EventType::BookmarkAdded, &bookmark));
    if !ctx.store.insert_bookmark_with(&bookmark, created.as_ref(), &extra).await? {
        return Err(Error::field(
            "folder_id",
            format!("{} {} is already bookmarked there", bookmark.object_type, bookmark.object_id),
        ));
    }
    let folder = folder_of(ctx, &bookmark, created).await?;
    Ok((bookmark, folder))
}

async fn folder_of(ctx: &Ctx, b: &Bookmark, created: Option<BookmarkFolder>) -> Result<Option<BookmarkFolder>> {
    match (created, &b.folder_id) {
        (Some(f), _) => Ok(Some(f)),
        (None, Some(id)) => Ok(ctx.store.get_bookmark_folders(std::slice::from_ref(id)).await?.pop()),
        (None, None) => Ok(None),
    }
}

/// Changes `custom` and/or moves the bookmark named by `folder_id` (its
/// current folder) to `new_folder_id` or a `new_folder`.
pub async fn update_bookmark(
    ctx: &Ctx,
    actor: &Actor,
    object: Bookmarkable<'_>,
    req: BookmarkRequest,
) -> Result<(Bookmark, Option<BookmarkFolder>)> {
    let user = actor.acting_user(req.user_id.as_deref())?;
    let activity_id = object.activity_id(ctx).await?;
    let now = Timestamp::now();
    let from = folder_key(&req.folder_id).to_string();
    let (folder_id, created) = match (req.new_folder_id.as_deref(), req.new_folder) {
        (Some(_), Some(_)) => return Err(Error::input("pass either new_folder_id or new_folder, not both")),
        (Some(""), None) => (None, None),
        (Some(id), None) => target_folder(ctx, &user, Some(id), None, now).await?,
        (None, Some(input)) => target_folder(ctx, &user, None, Some(input), now).await?,
        (None, None) => (req.folder_id.clone().filter(|f| !f.is_empty()), None),
    };
    let name = format!("{} {}", object.object_type(), object.id());
    // On the current row (see `versions`): a move keeps a concurrent edit.
    for _ in 0..super::versions::WRITE_ATTEMPTS {
        let current = ctx
            .store
            .query_bookmarks(&placement(&user, object, &from))
            .await?
            .pop()
            .ok_or_else(|| Error::not_found("bookmark", &name))?;
        let version = current.updated_at;
        let changed = Bookmark {
            folder_id: folder_id.clone(),
            custom: req.custom.clone().unwrap_or(current.custom),
            updated_at: super::versions::next_version(version),
            activity_id: activity_id.clone(),
            ..current
        };
        let extra = announce(bookmark_event(EventType::BookmarkUpdated, &changed));
        if let Some(moved) =
            ctx.store.move_bookmark_with(&from, &changed, created.as_ref(), Some(version), &extra).await?
        {
            let folder = folder_of(ctx, &moved, created).await?;
            return Ok((moved, folder));
        }
    }
    Err(super::versions::contended("bookmark", &name))
}

/// The one bookmark of `user` on `object` in `folder` ("" = none).
fn placement(user: &str, object: Bookmarkable<'_>, folder: &str) -> crate::core::storage::ListQuery {
    let filter = Filter::eq("user_id", user)
        .and(Filter::eq("object_type", object.object_type()))
        .and(Filter::eq("object_id", object.id()))
        .and(Filter::eq("folder_id", folder));
    crate::core::storage::ListQuery { filter, sort: vec![("created_at", true)], limit: 1, offset: 0 }
}

pub async fn delete_bookmark(
    ctx: &Ctx,
    actor: &Actor,
    object: Bookmarkable<'_>,
    folder_id: Option<String>,
    user_id: Option<&str>,
) -> Result<(Bookmark, Option<BookmarkFolder>)> {
    let user = actor.acting_user(user_id)?;
    object.activity_id(ctx).await?;
    let extra = ExtraWrites { each: Some(Event::for_user(EventType::BookmarkDeleted, &user)), ..Default::default() };
    let gone = ctx
        .store
        .delete_bookmark_with(&user, object.object_type(), object.id(), folder_key(&folder_id), &extra)
        .await?
        .ok_or_else(|| Error::not_found("bookmark", &format!("{} {}", object.object_type(), object.id())))?;
    let folder = folder_of(ctx, &gone, None).await?;
    Ok((gone, folder))
}

/// QueryBookmarks, newest first unless sorted; a user token sees its own.
pub async fn query_bookmarks(
    ctx: &Ctx,
    actor: &Actor,
    q: QueryRequest,
    user_id: Option<&str>,
) -> Result<Page<Bookmark>> {
    let cursors = ctx.cursor_scope("QueryBookmarks");
    let (mut query, window) = q.list(cursors, filter::BOOKMARK_FIELDS, filter::BOOKMARK_SORT, ("created_at", true))?;
    if let Some(owner) = actor.scoped_user(user_id)? {
        query.filter = query.filter.and(Filter::eq("user_id", owner));
    }
    Ok(window.page(ctx.store.query_bookmarks(&query).await?))
}

/// QueryBookmarkFolders, newest first unless sorted; a user token sees its own.
pub async fn query_bookmark_folders(ctx: &Ctx, actor: &Actor, q: QueryRequest) -> Result<Page<BookmarkFolder>> {
    let cursors = ctx.cursor_scope("QueryBookmarkFolders");
    let (mut query, window) = q.list(cursors, filter::FOLDER_FIELDS, filter::FOLDER_SORT, ("created_at", true))?;
    if let Some(me) = actor.scoped_user(None)? {
        query.filter = query.filter.and(Filter::eq("user_id", me));
    }
    Ok(window.page(ctx.store.query_bookmark_folders(&query).await?))
}

#[derive(Debug, Deserialize, Default)]
pub struct UpdateFolder {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::core::limits::document")]
    pub custom: Option<Custom>,
    #[serde(default)]
    pub user_id: Option<String>,
}

/// A folder the caller may change: its owner's (or any, server-side).
async fn folder_for(ctx: &Ctx, actor: &Actor, id: &str) -> Result<BookmarkFolder> {
    let folder = ctx
        .store
        .get_bookmark_folders(&[id.to_string()])
        .await?
        .pop()
        .ok_or_else(|| Error::not_found("bookmark folder", id))?;
    match actor {
        Actor::Anonymous => Err(Actor::anonymous_refused()),
        Actor::User(me) if me != &folder.user_id => Err(Error::not_found("bookmark folder", id)),
        _ => Ok(folder),
    }
}

/// Changes the fields given, on the current row (see `versions`).
pub async fn update_bookmark_folder(ctx: &Ctx, actor: &Actor, id: &str, req: UpdateFolder) -> Result<BookmarkFolder> {
    if let Some(name) = &req.name {
        if name.trim().is_empty() || name.chars().count() > MAX_FOLDER_NAME {
            return Err(Error::field("name", format!("a folder name is 1 to {MAX_FOLDER_NAME} characters")));
        }
    }
    for _ in 0..super::versions::WRITE_ATTEMPTS {
        let mut folder = folder_for(ctx, actor, id).await?;
        let version = folder.updated_at;
        if let Some(name) = &req.name {
            folder.name = name.clone();
        }
        if let Some(custom) = &req.custom {
            folder.custom = custom.clone();
        }
        folder.updated_at = super::versions::next_version(version);
        let event = Event::for_user(EventType::BookmarkFolderUpdated, &folder.user_id)
            .with(|s| s.bookmark_folder = Some(folder.clone()));
        if ctx.store.put_bookmark_folder_with(&folder, Some(version), &announce(event)).await? {
            return Ok(folder);
        }
    }
    Err(super::versions::contended("bookmark folder", id))
}

/// Deletes the folder with the bookmarks in it.
pub async fn delete_bookmark_folder(ctx: &Ctx, actor: &Actor, id: &str) -> Result<()> {
    let folder = folder_for(ctx, actor, id).await?;
    let each = Some(Event::for_user(EventType::BookmarkFolderDeleted, &folder.user_id));
    ctx.store.delete_bookmark_folder_with(id, &ExtraWrites { each, ..Default::default() }).await?;
    Ok(())
}

/// A bookmark event, for its owner's connections only.
fn bookmark_event(kind: EventType, bookmark: &Bookmark) -> Event {
    Event::for_user(kind, &bookmark.user_id).with(|s| s.bookmark = Some(bookmark.clone()))
}

fn announce(event: Event) -> ExtraWrites {
    ExtraWrites { events: vec![event], ..Default::default() }
}
