use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::core::comments::{self, NewComment, PartialComment, QueryComments, Thread, ThreadRequest, UpdateComment};
use crate::core::enrichment::Lookup;
use crate::core::i18n::ReadLanguage;
use crate::core::model::{Activity, Comment};
use crate::core::Actor;
use crate::http::auth::{Auth, Visitor};
use crate::http::error::ApiResult;
use crate::http::extract::{WireJson, WireLanguage, WirePath, WireQuery};
use crate::http::handlers::ActingUser;
use crate::http::reply::Reply;
use crate::http::AppState;
use crate::wire::{ActivityResponse, CommentResponse, ThreadedCommentResponse};

/// Comment responses for `viewer`, enriched in one batch, translations
/// shown as the read asks (`language`).
async fn render(
    state: &AppState,
    comments: &[Comment],
    viewer: Option<&str>,
    language: Option<ReadLanguage>,
) -> ApiResult<Vec<CommentResponse>> {
    let mut lookup = Lookup::for_comments(&state.ctx, comments, viewer).await?;
    lookup.language = language;
    Ok(comments.iter().map(|c| lookup.comment(c)).collect())
}

#[derive(Serialize)]
pub struct AddCommentResponse {
    comment: CommentResponse,
    notification_created: bool,
    mention_notifications_created: i64,
}

/// AddComment — `POST /api/v2/feeds/comments`.
pub async fn add_comment(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<NewComment>,
) -> ApiResult<Reply<AddCommentResponse>> {
    let added = comments::add_comment(&state.ctx, &actor, req).await?;
    let viewer = added.comments.first().map(|c| c.user_id.clone());
    let comment = render(&state, &added.comments, viewer.as_deref(), None).await?.remove(0);
    Ok(Reply(AddCommentResponse {
        comment,
        notification_created: added.notification_created,
        mention_notifications_created: added.mention_notifications_created,
    }))
}

#[derive(Deserialize)]
pub struct AddCommentsBatch {
    comments: Vec<NewComment>,
}

#[derive(Serialize)]
pub struct CommentsResponse {
    comments: Vec<CommentResponse>,
}

/// AddCommentsBatch — `POST /api/v2/feeds/comments/batch`.
pub async fn add_comments_batch(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireJson(req): WireJson<AddCommentsBatch>,
) -> ApiResult<Reply<CommentsResponse>> {
    let added = comments::add_comments(&state.ctx, &actor, req.comments).await?;
    Ok(Reply(CommentsResponse { comments: render(&state, &added.comments, actor.viewer(None), None).await? }))
}

#[derive(Deserialize, Default)]
pub struct ViewerParams {
    #[serde(default)]
    user_id: Option<String>,
}

#[derive(Serialize)]
pub struct CommentResponseBody {
    comment: CommentResponse,
}

/// GetComment — `GET /api/v2/feeds/comments/{id}`.
pub async fn get_comment(
    State(state): State<AppState>,
    Visitor(actor): Visitor,
    WirePath(id): WirePath<String>,
    WireQuery(q): WireQuery<ViewerParams>,
    WireLanguage(language): WireLanguage,
) -> ApiResult<Reply<CommentResponseBody>> {
    let comment = comments::read_comment(&state.ctx, &actor, &id).await?;
    actor.may_name(q.user_id.as_deref())?;
    let viewer = actor.viewer(q.user_id.as_deref());
    Ok(Reply(CommentResponseBody { comment: render(&state, &[comment], viewer, language).await?.remove(0) }))
}

/// UpdateComment — `PATCH /api/v2/feeds/comments/{id}`.
pub async fn update_comment(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(id): WirePath<String>,
    WireJson(req): WireJson<UpdateComment>,
) -> ApiResult<Reply<CommentResponseBody>> {
    let viewer = actor.editor(&state.ctx, req.user_id.as_deref()).await?;
    let comment = comments::update_comment(&state.ctx, &actor, &id, req).await?;
    Ok(Reply(CommentResponseBody { comment: render(&state, &[comment], viewer.as_deref(), None).await?.remove(0) }))
}

/// UpdateCommentPartial — `POST /api/v2/feeds/comments/{id}/partial`.
pub async fn update_comment_partial(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(id): WirePath<String>,
    WireJson(req): WireJson<PartialComment>,
) -> ApiResult<Reply<CommentResponseBody>> {
    let viewer = actor.editor(&state.ctx, req.user_id.as_deref()).await?;
    let comment = comments::update_comment_partial(&state.ctx, &actor, &id, req).await?;
    Ok(Reply(CommentResponseBody { comment: render(&state, &[comment], viewer.as_deref(), None).await?.remove(0) }))
}

#[derive(Deserialize, Default)]
pub struct DeleteParams {
    #[serde(default)]
    hard_delete: bool,
    #[serde(default)]
    delete_notification_activity: bool,
}

#[derive(Serialize)]
pub struct CommentWithActivity {
    comment: CommentResponse,
    activity: ActivityResponse,
}

async fn with_activity(
    state: &AppState,
    actor: &Actor,
    editor: Option<&str>,
    comment: Comment,
    activity: Activity,
) -> ApiResult<Reply<CommentWithActivity>> {
    let reader = actor.reader(editor);
    let lookup = Lookup::load(&state.ctx, std::slice::from_ref(&activity), &[], &[], &reader).await?;
    let comment = render(state, &[comment], reader.viewer.as_deref(), None).await?.remove(0);
    Ok(Reply(CommentWithActivity { comment, activity: lookup.activity(&activity, None) }))
}

/// DeleteComment — `DELETE /api/v2/feeds/comments/{id}`.
pub async fn delete_comment(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(id): WirePath<String>,
    WireQuery(q): WireQuery<DeleteParams>,
) -> ApiResult<Reply<CommentWithActivity>> {
    let (comment, activity) =
        comments::delete_comment(&state.ctx, &actor, &id, q.hard_delete, q.delete_notification_activity).await?;
    with_activity(&state, &actor, None, comment, activity).await
}

/// RestoreComment — `POST /api/v2/feeds/comments/{id}/restore`.
pub async fn restore_comment(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(id): WirePath<String>,
    WireJson(req): WireJson<ActingUser>,
) -> ApiResult<Reply<CommentWithActivity>> {
    let editor = actor.editor(&state.ctx, req.user_id.as_deref()).await?;
    let (comment, activity) = comments::restore_comment(&state.ctx, &actor, &id).await?;
    with_activity(&state, &actor, editor.as_deref(), comment, activity).await
}

#[derive(Serialize)]
pub struct ThreadResponse {
    comments: Vec<ThreadedCommentResponse>,
    sort: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

async fn render_thread(
    state: &AppState,
    thread: Thread,
    viewer: Option<&str>,
    language: Option<ReadLanguage>,
) -> ApiResult<Reply<ThreadResponse>> {
    fn collect<'a>(nodes: &'a [comments::ThreadNode], out: &mut Vec<&'a Comment>) {
        for n in nodes {
            out.push(&n.comment);
            collect(&n.replies, out);
        }
    }
    let mut all = Vec::new();
    collect(&thread.comments, &mut all);
    let mut lookup = Lookup::for_comments(&state.ctx, all, viewer).await?;
    lookup.language = language;
    Ok(Reply(ThreadResponse {
        comments: thread.comments.iter().map(|n| lookup.thread(n)).collect(),
        sort: thread.sort,
        next: thread.next,
        prev: thread.prev,
    }))
}

/// GetComments — `GET /api/v2/feeds/comments`.
pub async fn get_comments(
    State(state): State<AppState>,
    Visitor(actor): Visitor,
    WireQuery(q): WireQuery<ThreadRequest>,
    WireLanguage(language): WireLanguage,
) -> ApiResult<Reply<ThreadResponse>> {
    actor.may_name(q.user_id.as_deref())?;
    let viewer = actor.viewer(q.user_id.as_deref()).map(str::to_string);
    let thread = comments::get_comments(&state.ctx, &actor, q).await?;
    render_thread(&state, thread, viewer.as_deref(), language).await
}

/// GetCommentReplies — `GET /api/v2/feeds/comments/{id}/replies`.
pub async fn get_comment_replies(
    State(state): State<AppState>,
    Visitor(actor): Visitor,
    WirePath(id): WirePath<String>,
    WireQuery(q): WireQuery<ThreadRequest>,
    WireLanguage(language): WireLanguage,
) -> ApiResult<Reply<ThreadResponse>> {
    actor.may_name(q.user_id.as_deref())?;
    let viewer = actor.viewer(q.user_id.as_deref()).map(str::to_string);
    let thread = comments::get_comment_replies(&state.ctx, &actor, &id, q).await?;
    render_thread(&state, thread, viewer.as_deref(), language).await
}

#[derive(Serialize)]
pub struct QueryCommentsResponse {
    comments: Vec<CommentResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

/// QueryComments — `POST /api/v2/feeds/comments/query`.
pub async fn query_comments(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireLanguage(language): WireLanguage,
    WireJson(req): WireJson<QueryComments>,
) -> ApiResult<Reply<QueryCommentsResponse>> {
    actor.may_name(req.user_id.as_deref())?;
    let viewer = actor.viewer(req.user_id.as_deref()).map(str::to_string);
    let page = comments::query_comments(&state.ctx, req).await?;
    Ok(Reply(QueryCommentsResponse {
        comments: render(&state, &page.items, viewer.as_deref(), language).await?,
        next: page.next,
        prev: page.prev,
    }))
}

/// TranslateComment — `POST /api/v2/feeds/comments/{id}/translate`.
pub async fn translate_comment(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WirePath(id): WirePath<String>,
    WireJson(req): WireJson<super::activities::TranslateRequest>,
) -> ApiResult<Reply<CommentResponseBody>> {
    let comment = crate::core::translation::translate_comment(&state.ctx, &actor, &id, &req.language).await?;
    let viewer = actor.viewer(None);
    Ok(Reply(CommentResponseBody { comment: render(&state, &[comment], viewer, None).await?.remove(0) }))
}
