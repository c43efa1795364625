//! GDPR requests for one user's feed data (ExportFeedUserData,
//! DeleteFeedUserData, and the data side of DeleteUsers), each run as a task.
//! Both walk the user's records kind by kind in keyset pages of
//! `UserDataOptions::batch` (`UserDataStore::user_data_page`), so memory and
//! every transaction stay bounded however much the user wrote, and renew the
//! task's lease after each page, so a task whose worker died is taken over
//! within `tasks::RENEWED_LEASE_SECONDS` and run again. Re-running is safe:
//! an export starts afresh, a deletion finds only what is left.
//!
//! An export is stored as chunks of its JSON text (one per page) and served
//! chunk by chunk from a link that carries its id and expiry under a MAC
//! (`cursor::Scope`): it cannot be guessed, and it stops working when it
//! expires or the export is pruned.

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::error::{Code, Error, Result};
use super::model::{
    validate_id, Activity, Bookmark, BookmarkFolder, Collection, Comment, Feed, FeedMember, Follow, PollVote, Reaction,
    TaskWork, User,
};
use super::storage::{Reactable, UserDataKey, UserDataKind};
use super::tasks::{self, TaskLease};
use super::time::Timestamp;
pub use super::user_data_options::{UserDataOptions, DEFAULT_BATCH, DEFAULT_EXPORT_LINK_TTL_SECS};
use super::{activities, uploads, Actor, Ctx};

/// The sections of an export, in order, with the kind of record each holds.
const SECTIONS: &[(&str, UserDataKind)] = &[
    ("feeds", UserDataKind::Feeds),
    ("activities", UserDataKind::Activities),
    ("activity_reactions", UserDataKind::ActivityReactions),
    ("comments", UserDataKind::Comments),
    ("comment_reactions", UserDataKind::CommentReactions),
    ("bookmark_folders", UserDataKind::BookmarkFolders),
    ("bookmarks", UserDataKind::Bookmarks),
    ("follows", UserDataKind::Follows),
    ("followers", UserDataKind::Followers),
    ("memberships", UserDataKind::Memberships),
    ("collections", UserDataKind::Collections),
    ("poll_votes", UserDataKind::PollVotes),
    ("story_watches", UserDataKind::StoryWatches),
    ("uploads", UserDataKind::Uploads),
];

/// The path exports are downloaded from, the link's token appended.
pub const DOWNLOAD_PATH: &str = "/api/v2/feeds/user_data_exports/";
const LINK_SCOPE: &str = "ExportFeedUserData";

/// ExportFeedUserData: queues the export of `user_id`'s data; its result
/// will link to it under `base_url` (how the caller reached this server).
pub async fn export_user_data(ctx: &Ctx, user_id: &str, base_url: &str) -> Result<String> {
    validate_id("user_id", user_id)?;
    tasks::enqueue(ctx, TaskWork::ExportUserData { user_id: user_id.to_string(), base_url: base_url.to_string() }).await
}

/// DeleteFeedUserData: queues the deletion of `user_id`'s feed data.
pub async fn delete_user_data(ctx: &Ctx, user_id: &str, hard: bool) -> Result<String> {
    validate_id("user_id", user_id)?;
    tasks::enqueue(ctx, TaskWork::DeleteUserData { user_id: user_id.to_string(), hard }).await
}

/// Walks every record of `kind` of `user_id`, a page at a time, renewing
/// the lease after each.
async fn each_page<F, Fut>(
    ctx: &Ctx,
    lease: &TaskLease,
    user_id: &str,
    kind: UserDataKind,
    mut page: F,
) -> Result<usize>
where
    F: FnMut(Vec<Value>) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let mut after: Option<UserDataKey> = None;
    let mut seen = 0;
    loop {
        let rows = ctx.store.user_data_page(user_id, kind, after.as_ref(), ctx.user_data.batch).await?;
        let Some((last, _)) = rows.last() else { return Ok(seen) };
        after = Some(last.clone());
        seen += rows.len();
        page(rows.into_iter().map(|(_, doc)| doc).collect()).await?;
        lease.renew(ctx).await?;
    }
}

fn records<T: DeserializeOwned>(docs: Vec<Value>) -> Result<Vec<T>> {
    docs.into_iter().map(|d| serde_json::from_value(d).map_err(Error::internal)).collect()
}

/// Task body of ExportFeedUserData: writes the export's JSON text in
/// chunks, then links to it.
pub async fn run_export(ctx: &Ctx, lease: &TaskLease, user_id: &str, base_url: &str) -> Result<Value> {
    let id = lease.id.as_str();
    let now = Timestamp::now();
    ctx.store.begin_export(id, user_id, now).await?;
    let user: Option<User> = ctx.store.get_users(&[user_id.to_string()]).await?.pop();
    let head = json!({ "user_id": user_id, "exported_at": now, "user": user }).to_string();
    let mut chunks = Chunks { ctx, id, seq: 0 };
    // The head object without its closing brace; sections follow it.
    chunks.put(&head[..head.len() - 1]).await?;
    let mut counts = serde_json::Map::new();
    for (name, kind) in SECTIONS {
        chunks.put(&format!(",{}:[", Value::from(*name))).await?;
        let mut first = true;
        let n = each_page(ctx, lease, user_id, *kind, |docs| {
            let text: Vec<String> = match kind {
                // Listed by URL, as the user knows them.
                UserDataKind::Uploads => {
                    docs.iter().map(|d| uploads::export_doc(ctx, d, base_url).to_string()).collect()
                }
                _ => docs.iter().map(Value::to_string).collect(),
            };
            let body = format!("{}{}", if first { "" } else { "," }, text.join(","));
            first = false;
            chunks.put_owned(body)
        })
        .await?;
        chunks.put("]").await?;
        counts.insert(name.to_string(), Value::from(n));
    }
    chunks.put("}").await?;
    let expires_at = Timestamp::now().plus_seconds(ctx.user_data.export_link_ttl_secs);
    ctx.store.finish_export(id, expires_at, Timestamp::now()).await?;
    let token = ctx.cursor_scope(LINK_SCOPE).encode_position(expires_at, id);
    let url = format!("{}{DOWNLOAD_PATH}{token}", base_url.trim_end_matches('/'));
    Ok(json!({ "url": url, "user_id": user_id, "expires_at": expires_at, "counts": counts }))
}

/// The chunks of one export, numbered as they are written.
struct Chunks<'a> {
    ctx: &'a Ctx,
    id: &'a str,
    seq: i64,
}

impl<'a> Chunks<'a> {
    async fn put(&mut self, body: &str) -> Result<()> {
        self.put_owned(body.to_string()).await
    }

    fn put_owned(&mut self, body: String) -> impl std::future::Future<Output = Result<()>> + 'a {
        self.seq += 1;
        let (ctx, id, seq) = (self.ctx, self.id, self.seq);
        async move { ctx.store.put_export_chunk(id, seq, &body).await }
    }
}

/// The export a download link names, once checked: its id. An unknown or
/// altered link is a 404, an expired one a 403.
pub async fn open_export_link(ctx: &Ctx, token: &str) -> Result<String> {
    let not_found = || Error::not_found("export", "at this link");
    let (expires_at, id) = ctx.cursor_scope(LINK_SCOPE).decode_position(token, "token").map_err(|_| not_found())?;
    if expires_at < Timestamp::now() {
        return Err(Error::new(Code::NotAllowed, "this export link has expired; export the user's data again"));
    }
    match ctx.store.get_export(&id).await? {
        Some((_, stored)) if stored == expires_at => Ok(id),
        _ => Err(not_found()),
    }
}

/// How many chunks one read of a download takes.
pub const CHUNKS_PER_READ: usize = 16;

/// Task body of DeleteFeedUserData (and of DeleteUsers' data): removes
/// everything `user_id` made, kind by kind, in pages. `hard` purges
/// activities, comments and feeds; otherwise they are soft-deleted:
/// activities and feeds are hidden from every read (and restorable like any
/// soft delete), comments keep their place in threads as `deleted`, their
/// text, attachments, custom data and mentions cleared. Reactions, votes,
/// bookmarks, folders, memberships, follows (from and to the user's feeds),
/// collections and uploads (records and stored files) have no soft form and
/// go either way. Each record is
/// removed through the store operation that removes it anywhere else, so
/// every counter (followers, members, replies, votes) stays right.
pub async fn run_delete(ctx: &Ctx, lease: &TaskLease, user_id: &str, hard: bool) -> Result<Value> {
    let store = &ctx.store;
    let user = user_id;
    let owner = user_id.to_string();
    let member = std::slice::from_ref(&owner);
    let mut counts = serde_json::Map::new();
    let mut count = |name: &str, n: usize| {
        counts.insert(name.to_string(), Value::from(n));
    };
    let n = each_page(ctx, lease, user_id, UserDataKind::ActivityReactions, |docs| async move {
        for r in records::<Reaction>(docs)? {
            store.delete_reaction(Reactable::Activities, &r.activity_id, user, &r.kind).await?;
        }
        Ok(())
    })
    .await?;
    count("activity_reactions", n);
    let n = each_page(ctx, lease, user_id, UserDataKind::CommentReactions, |docs| async move {
        for r in records::<Reaction>(docs)? {
            store.delete_reaction(Reactable::Comments, r.object_id(), user, &r.kind).await?;
        }
        Ok(())
    })
    .await?;
    count("comment_reactions", n);
    let n = each_page(ctx, lease, user_id, UserDataKind::PollVotes, |docs| async move {
        for v in records::<PollVote>(docs)? {
            store.delete_vote(&v.poll_id, &v.id, Some(user)).await?;
        }
        Ok(())
    })
    .await?;
    count("poll_votes", n);
    let n = each_page(ctx, lease, user_id, UserDataKind::Bookmarks, |docs| async move {
        for b in records::<Bookmark>(docs)? {
            store.delete_bookmark(user, &b.object_type, &b.object_id, b.folder_key()).await?;
        }
        Ok(())
    })
    .await?;
    count("bookmarks", n);
    let n = each_page(ctx, lease, user_id, UserDataKind::StoryWatches, |docs| async move {
        let ids: Vec<String> = docs.iter().filter_map(|d| d["activity_id"].as_str().map(str::to_string)).collect();
        store.delete_story_watches(user, &ids).await
    })
    .await?;
    count("story_watches", n);
    let n = each_page(ctx, lease, user_id, UserDataKind::BookmarkFolders, |docs| async move {
        for f in records::<BookmarkFolder>(docs)? {
            store.delete_bookmark_folder(&f.id).await?;
        }
        Ok(())
    })
    .await?;
    count("bookmark_folders", n);
    let n = each_page(ctx, lease, user_id, UserDataKind::Comments, |docs| async move {
        for mut c in records::<Comment>(docs)? {
            if hard {
                store.purge_comment(&c.id).await?;
            } else if c.deleted_at.is_none() {
                let version = c.updated_at;
                let now = super::versions::next_version(version);
                (c.status, c.deleted_at, c.updated_at) = ("deleted".into(), Some(now), now);
                // A soft-deleted comment stays in its thread, so what she
                // wrote goes: only its place remains.
                (c.text, c.attachments, c.custom, c.mentioned_user_ids) = (None, vec![], Default::default(), vec![]);
                // Changed meanwhile: the next run of the task finds it again.
                store.put_comment(&c, Some(version)).await?;
            }
        }
        Ok(())
    })
    .await?;
    count("comments", n);
    let n = each_page(ctx, lease, user_id, UserDataKind::Memberships, |docs| async move {
        for m in records::<FeedMember>(docs)? {
            store.write_members(&m.fid, &[], member, false, None).await?;
        }
        Ok(())
    })
    .await?;
    count("memberships", n);
    for (name, kind) in [("follows", UserDataKind::Follows), ("followers", UserDataKind::Followers)] {
        let n = each_page(ctx, lease, user_id, kind, |docs| async move {
            let pairs: Vec<_> = records::<Follow>(docs)?.into_iter().map(|f| (f.source, f.target, false)).collect();
            store.delete_follows(&pairs, false).await.map(|_| ())
        })
        .await?;
        count(name, n);
    }
    let n = each_page(ctx, lease, user_id, UserDataKind::Activities, |docs| async move {
        // Through the activities' own deletion, in its batches: watchers
        // and webhooks hear `feeds.activity.deleted`, and the mention
        // notifications they made are withdrawn.
        let activities = records::<Activity>(docs)?;
        let ids: Vec<String> =
            activities.into_iter().filter(|a| hard || a.deleted_at.is_none()).map(|a| a.id).collect();
        for batch in ids.chunks(activities::MAX_BATCH) {
            activities::delete_activities(ctx, &Actor::Server, batch.to_vec(), hard, true).await?;
        }
        Ok(())
    })
    .await?;
    count("activities", n);
    let n = each_page(ctx, lease, user_id, UserDataKind::Collections, |docs| async move {
        let refs: Vec<_> = records::<Collection>(docs)?.into_iter().map(|c| (c.name, c.id)).collect();
        store.delete_collections(&refs).await.map(|_| ())
    })
    .await?;
    count("collections", n);
    let n = each_page(ctx, lease, user_id, UserDataKind::Feeds, |docs| async move {
        for mut feed in records::<Feed>(docs)? {
            if hard {
                store.purge_feed(&feed.fid).await?;
            } else if feed.deleted_at.is_none() {
                let version = feed.updated_at;
                let now = super::versions::next_version(version);
                (feed.deleted_at, feed.updated_at) = (Some(now), now);
                store.put_feed(&feed, Some(version)).await?;
            }
        }
        Ok(())
    })
    .await?;
    count("feeds", n);
    // Uploads have no soft form either. Their records go a page at a time,
    // each page's in one transaction that keeps them as orphans; their
    // bytes are removed after it commits. Orphans an earlier run failed to
    // remove are retried first.
    let mut after = String::new();
    loop {
        let keys = store.upload_orphans(user, &after, ctx.user_data.batch).await?;
        let Some(last) = keys.last() else { break };
        after = last.clone();
        uploads::remove_orphans(ctx, &keys).await?;
        lease.renew(ctx).await?;
    }
    let n = each_page(ctx, lease, user_id, UserDataKind::Uploads, |docs| async move {
        let keys: Vec<String> = docs.iter().filter_map(|d| d["key"].as_str().map(str::to_string)).collect();
        let taken = store.take_uploads(user, &keys).await?;
        uploads::remove_orphans(ctx, &taken).await.map(|_| ())
    })
    .await?;
    count("uploads", n);
    Ok(json!({ "user_id": user_id, "hard_delete": hard, "deleted": counts }))
}

/// Task body of DeleteUsers. `soft` marks the users deleted and keeps their
/// data; `pruning` also clears their profiles and soft-deletes their feed
/// data; `hard` deletes their feed data (as DeleteFeedUserData with
/// `hard_delete`) and then the users. Re-running is safe.
pub async fn run_delete_users(
    ctx: &Ctx,
    lease: &TaskLease,
    user_ids: &[String],
    hard: bool,
    prune: bool,
) -> Result<Value> {
    for id in user_ids {
        if hard || prune {
            run_delete(ctx, lease, id, hard).await?;
        }
    }
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
                if prune {
                    (u.name, u.image, u.custom) = (None, None, Default::default());
                    u.privacy_settings = None;
                }
                u
            })
            .collect();
        ctx.store.upsert_users(&users).await?;
    }
    Ok(json!({ "deleted_user_ids": user_ids }))
}
