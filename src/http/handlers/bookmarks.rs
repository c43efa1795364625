use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::core::bookmarks::{self, BookmarkRequest, Bookmarkable, UpdateFolder};
use crate::core::enrichment::Lookup;
use crate::core::model::{Bookmark, BookmarkFolder};
use crate::core::{Actor, QueryRequest, UserListQuery};
use crate::http::auth::Auth;
use crate::http::error::ApiResult;
use crate::http::extract::{WireJson, WireLanguage, WirePath, WireQuery};
use crate::http::reply::Reply;
use crate::http::AppState;
use crate::wire::{BookmarkFolderResponse, BookmarkResponse};

#[derive(Serialize)]
pub struct BookmarkBody {
    bookmark: BookmarkResponse,
}

/// One bookmark, enriched for its owner.
async fn render(
    state: &AppState,
    actor: &Actor,
    (bookmark, folder): (Bookmark, Option<BookmarkFolder>),
) -> ApiResult<Reply<BookmarkBody>> {
    let reader = actor.reader(Some(&bookmark.user_id));
    let lookup = Lookup::for_bookmarks(&state.ctx, std::slice::from_ref(&bookmark), folder.as_slice(), &reader).await?;
    Ok(Reply(BookmarkBody { bookmark: lookup.bookmark(&bookmark) }))
}

/// AddBookmark — `POST /api/v2/feeds/activities/{activity_id}/bookmarks`.
pub async fn add_bookmark(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(id): WirePath<String>,
    WireJson(req): WireJson<BookmarkRequest>,
) -> ApiResult<Reply<BookmarkBody>> {
    let added = bookmarks::add_bookmark(&state.ctx, &actor, Bookmarkable::Activity(&id), req).await?;
    render(&state, &actor, added).await
}

/// UpdateBookmark — `PATCH /api/v2/feeds/activities/{activity_id}/bookmarks`.
pub async fn update_bookmark(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(id): WirePath<String>,
    WireJson(req): WireJson<BookmarkRequest>,
) -> ApiResult<Reply<BookmarkBody>> {
    let updated = bookmarks::update_bookmark(&state.ctx, &actor, Bookmarkable::Activity(&id), req).await?;
    render(&state, &actor, updated).await
}

#[derive(Deserialize, Default)]
pub struct DeleteParams {
    #[serde(default)]
    folder_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
}

/// DeleteBookmark — `DELETE /api/v2/feeds/activities/{activity_id}/bookmarks`.
pub async fn delete_bookmark(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(id): WirePath<String>,
    WireQuery(q): WireQuery<DeleteParams>,
) -> ApiResult<Reply<BookmarkBody>> {
    let object = Bookmarkable::Activity(&id);
    let gone = bookmarks::delete_bookmark(&state.ctx, &actor, object, q.folder_id, q.user_id.as_deref()).await?;
    render(&state, &actor, gone).await
}

/// AddCommentBookmark — `POST /api/v2/feeds/comments/{comment_id}/bookmarks`.
pub async fn add_comment_bookmark(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(id): WirePath<String>,
    WireJson(req): WireJson<BookmarkRequest>,
) -> ApiResult<Reply<BookmarkBody>> {
    let added = bookmarks::add_bookmark(&state.ctx, &actor, Bookmarkable::Comment(&id), req).await?;
    render(&state, &actor, added).await
}

/// UpdateCommentBookmark — `PATCH /api/v2/feeds/comments/{comment_id}/bookmarks`.
pub async fn update_comment_bookmark(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(id): WirePath<String>,
    WireJson(req): WireJson<BookmarkRequest>,
) -> ApiResult<Reply<BookmarkBody>> {
    let updated = bookmarks::update_bookmark(&state.ctx, &actor, Bookmarkable::Comment(&id), req).await?;
    render(&state, &actor, updated).await
}

/// DeleteCommentBookmark — `DELETE /api/v2/feeds/comments/{comment_id}/bookmarks`.
pub async fn delete_comment_bookmark(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(id): WirePath<String>,
    WireQuery(q): WireQuery<DeleteParams>,
) -> ApiResult<Reply<BookmarkBody>> {
    let object = Bookmarkable::Comment(&id);
    let gone = bookmarks::delete_bookmark(&state.ctx, &actor, object, q.folder_id, q.user_id.as_deref()).await?;
    render(&state, &actor, gone).await
}

#[derive(Serialize)]
pub struct QueryBookmarksResponse {
    bookmarks: Vec<BookmarkResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

/// QueryBookmarks — `POST /api/v2/feeds/bookmarks/query`.
pub async fn query_bookmarks(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireLanguage(language): WireLanguage,
    WireJson(req): WireJson<UserListQuery>,
) -> ApiResult<Reply<QueryBookmarksResponse>> {
    let page = bookmarks::query_bookmarks(&state.ctx, &actor, req.query, req.user_id.as_deref()).await?;
    // Each bookmark shows its activity as its owner sees it; a page is one
    // owner's for user tokens, and read server-side otherwise.
    let mut lookup = Lookup::for_bookmarks(&state.ctx, &page.items, &[], &actor.reader(None)).await?;
    lookup.language = language;
    Ok(Reply(QueryBookmarksResponse {
        bookmarks: page.items.iter().map(|b| lookup.bookmark(b)).collect(),
        next: page.next,
        prev: page.prev,
    }))
}

#[derive(Serialize)]
pub struct QueryBookmarkFoldersResponse {
    bookmark_folders: Vec<BookmarkFolderResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

/// QueryBookmarkFolders — `POST /api/v2/feeds/bookmark_folders/query`.
pub async fn query_bookmark_folders(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<QueryRequest>,
) -> ApiResult<Reply<QueryBookmarkFoldersResponse>> {
    let page = bookmarks::query_bookmark_folders(&state.ctx, &actor, req).await?;
    let owners: Vec<String> = page.items.iter().map(|f| f.user_id.clone()).collect();
    let lookup = Lookup::users(&state.ctx, &owners).await?;
    Ok(Reply(QueryBookmarkFoldersResponse {
        bookmark_folders: page.items.iter().map(|f| lookup.folder(f)).collect(),
        next: page.next,
        prev: page.prev,
    }))
}

#[derive(Serialize)]
pub struct FolderBody {
    bookmark_folder: BookmarkFolderResponse,
}

/// UpdateBookmarkFolder — `PATCH /api/v2/feeds/bookmark_folders/{folder_id}`.
pub async fn update_bookmark_folder(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(id): WirePath<String>,
    WireJson(req): WireJson<UpdateFolder>,
) -> ApiResult<Reply<FolderBody>> {
    actor.editor(&state.ctx, req.user_id.as_deref()).await?;
    let folder = bookmarks::update_bookmark_folder(&state.ctx, &actor, &id, req).await?;
    let lookup = Lookup::users(&state.ctx, std::slice::from_ref(&folder.user_id)).await?;
    Ok(Reply(FolderBody { bookmark_folder: lookup.folder(&folder) }))
}

#[derive(Serialize)]
pub struct Empty {}

/// DeleteBookmarkFolder — `DELETE /api/v2/feeds/bookmark_folders/{folder_id}`.
pub async fn delete_bookmark_folder(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(id): WirePath<String>,
) -> ApiResult<Reply<Empty>> {
    bookmarks::delete_bookmark_folder(&state.ctx, &actor, &id).await?;
    Ok(Reply(Empty {}))
}
