//! The HTTP edge: one route table, one layer stack, `serve` used by `main`
//! and by the tests alike.

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::config::CorsOrigins;
use crate::core::error::{Code, Error};
use error::ApiError;
use reply::{Operation, OPERATION};

pub mod auth;
pub mod cors;
pub mod credentials;
pub mod error;
pub mod extract;
pub mod fields;
pub mod handlers;
pub mod listen;
pub mod metrics;
pub mod rate_limit;
pub mod realtime;
pub mod reply;
pub mod state;

pub use extract::MAX_BODY_BYTES;
pub use state::AppState;

/// Declares every operation once: name (the spec's operationId), method,
/// path, success status, handler. `routes` and `OPERATIONS` both come from
/// this list, so the route table and the spec check cannot drift apart.
macro_rules! operations {
    ($( $name:ident: $method:ident $path:literal => $status:literal $handler:path; )*) => {
        /// `(operationId, method, path, success status)` for every route.
        pub const OPERATIONS: &[(&str, &str, &str, u16)] = &[
            $( (stringify!($name), stringify!($method), $path, $status), )*
        ];

        fn routes(router: Router<AppState>, state: &AppState) -> Router<AppState> {
            router
            $( .route($path, axum::routing::$method($handler).layer(middleware::from_fn_with_state(
                state.clone(),
                |State(state): State<AppState>, req: Request, next: Next| {
                    in_operation(state, stringify!($name), $status, req, next)
                },
            ))) )*
        }
    };
}

use handlers::{
    activities, app, bookmarks, collections, comments, feed_groups, feeds, follows, members, pins, polls, push,
    rate_limits, reactions, tasks, uploads, users,
};
use handlers::{feed_views, feed_visibilities, membership_levels};

operations! {
    GetApp: get "/api/v2/app" => 200 app::get_app;
    UpdateApp: patch "/api/v2/app" => 200 app::update_app;

    UpdateUsers: post "/api/v2/users" => 201 users::update_users;
    UpdateUsersPartial: patch "/api/v2/users" => 200 users::update_users_partial;
    QueryUsers: get "/api/v2/users" => 200 users::query_users;
    DeleteUsers: post "/api/v2/users/delete" => 201 users::delete_users;
    CreateGuest: post "/api/v2/guest" => 201 users::create_guest;
    GetTask: get "/api/v2/tasks/{id}" => 200 tasks::get_task;

    UploadFile: post "/api/v2/uploads/file" => 201 uploads::upload_file;
    DeleteFile: delete "/api/v2/uploads/file" => 200 uploads::delete_file;
    UploadImage: post "/api/v2/uploads/image" => 201 uploads::upload_image;
    DeleteImage: delete "/api/v2/uploads/image" => 200 uploads::delete_image;
    UpdatePushNotificationPreferences: post "/api/v2/push_preferences" => 201 push::update_push_preferences;
    CreateDevice: post "/api/v2/devices" => 201 push::create_device;
    ListDevices: get "/api/v2/devices" => 200 push::list_devices;
    DeleteDevice: delete "/api/v2/devices" => 200 push::delete_device;

    CreatePoll: post "/api/v2/polls" => 201 polls::create_poll;
    UpdatePoll: put "/api/v2/polls" => 201 polls::update_poll;
    QueryPolls: post "/api/v2/polls/query" => 201 polls::query_polls;
    GetPoll: get "/api/v2/polls/{poll}" => 200 polls::get_poll;
    UpdatePollPartial: patch "/api/v2/polls/{poll}" => 200 polls::update_poll_partial;
    DeletePoll: delete "/api/v2/polls/{poll}" => 200 polls::delete_poll;
    CreatePollOption: post "/api/v2/polls/{poll}/options" => 201 polls::create_poll_option;
    UpdatePollOption: put "/api/v2/polls/{poll}/options" => 201 polls::update_poll_option;
    GetPollOption: get "/api/v2/polls/{poll}/options/{option}" => 200 polls::get_poll_option;
    DeletePollOption: delete "/api/v2/polls/{poll}/options/{option}" => 200 polls::delete_poll_option;
    QueryPollVotes: post "/api/v2/polls/{poll}/votes" => 201 polls::query_poll_votes;

    ListFeedGroups: get "/api/v2/feeds/feed_groups" => 200 feed_groups::list_feed_groups;
    CreateFeedGroup: post "/api/v2/feeds/feed_groups" => 201 feed_groups::create_feed_group;
    GetFeedGroup: get "/api/v2/feeds/feed_groups/{group}" => 200 feed_groups::get_feed_group;
    GetOrCreateFeedGroup: post "/api/v2/feeds/feed_groups/{group}" => 201 feed_groups::get_or_create_feed_group;
    UpdateFeedGroup: put "/api/v2/feeds/feed_groups/{group}" => 201 feed_groups::update_feed_group;
    DeleteFeedGroup: delete "/api/v2/feeds/feed_groups/{group}" => 200 feed_groups::delete_feed_group;
    RestoreFeedGroup: post "/api/v2/feeds/feed_groups/{group}/restore" => 201 feed_groups::restore_feed_group;

    ListFeedViews: get "/api/v2/feeds/feed_views" => 200 feed_views::list_feed_views;
    CreateFeedView: post "/api/v2/feeds/feed_views" => 201 feed_views::create_feed_view;
    GetFeedView: get "/api/v2/feeds/feed_views/{id}" => 200 feed_views::get_feed_view;
    GetOrCreateFeedView: post "/api/v2/feeds/feed_views/{id}" => 201 feed_views::get_or_create_feed_view;
    UpdateFeedView: put "/api/v2/feeds/feed_views/{id}" => 201 feed_views::update_feed_view;
    DeleteFeedView: delete "/api/v2/feeds/feed_views/{id}" => 200 feed_views::delete_feed_view;

    GetOrCreateFeed: post "/api/v2/feeds/feed_groups/{group}/feeds/{feed}" => 201 feeds::get_or_create_feed;
    UpdateFeed: put "/api/v2/feeds/feed_groups/{group}/feeds/{feed}" => 201 feeds::update_feed;
    DeleteFeed: delete "/api/v2/feeds/feed_groups/{group}/feeds/{feed}" => 200 feeds::delete_feed;
    PinActivity: post "/api/v2/feeds/feed_groups/{group}/feeds/{feed}/activities/{activity}/pin" => 201 pins::pin_activity;
    UnpinActivity: delete "/api/v2/feeds/feed_groups/{group}/feeds/{feed}/activities/{activity}/pin" => 200 pins::unpin_activity;
    QueryPinnedActivities: post "/api/v2/feeds/feed_groups/{group}/feeds/{feed}/pinned_activities/query" => 201 pins::query_pinned_activities;
    MarkActivity: post "/api/v2/feeds/feed_groups/{group}/feeds/{feed}/activities/mark/batch" => 201 feeds::mark_activity;

    AddActivity: post "/api/v2/feeds/activities" => 201 activities::add_activity;
    UpsertActivities: post "/api/v2/feeds/activities/batch" => 201 activities::upsert_activities;
    UpdateActivitiesPartialBatch: patch "/api/v2/feeds/activities/batch/partial" => 200 activities::update_activities_partial_batch;
    DeleteActivities: post "/api/v2/feeds/activities/delete" => 201 activities::delete_activities;
    QueryActivities: post "/api/v2/feeds/activities/query" => 201 activities::query_activities;
    TrackActivityMetrics: post "/api/v2/feeds/activities/metrics/track" => 201 activities::track_activity_metrics;
    ActivityFeedback: post "/api/v2/feeds/activities/{id}/feedback" => 201 activities::activity_feedback;
    QueryActivityShares: get "/api/v2/feeds/activities/{id}/shares" => 200 activities::query_activity_shares;
    CastPollVote: post "/api/v2/feeds/activities/{id}/polls/{poll}/vote" => 201 polls::cast_poll_vote;
    DeletePollVote: delete "/api/v2/feeds/activities/{id}/polls/{poll}/vote/{vote}" => 200 polls::delete_poll_vote;
    GetActivity: get "/api/v2/feeds/activities/{id}" => 200 activities::get_activity;
    UpdateActivity: put "/api/v2/feeds/activities/{id}" => 201 activities::update_activity;
    UpdateActivityPartial: patch "/api/v2/feeds/activities/{id}" => 200 activities::update_activity_partial;
    DeleteActivity: delete "/api/v2/feeds/activities/{id}" => 200 activities::delete_activity;
    RestoreActivity: post "/api/v2/feeds/activities/{id}/restore" => 201 activities::restore_activity;
    TranslateActivity: post "/api/v2/feeds/activities/{id}/translate" => 201 activities::translate_activity;

    BatchQueryActivityReactions: post "/api/v2/feeds/activities/reactions/query" => 201 reactions::batch_query_activity_reactions;
    AddActivityReaction: post "/api/v2/feeds/activities/{id}/reactions" => 201 reactions::add_activity_reaction;
    QueryActivityReactions: post "/api/v2/feeds/activities/{id}/reactions/query" => 201 reactions::query_activity_reactions;
    DeleteActivityReaction: delete "/api/v2/feeds/activities/{id}/reactions/{kind}" => 200 reactions::delete_activity_reaction;

    AddBookmark: post "/api/v2/feeds/activities/{id}/bookmarks" => 201 bookmarks::add_bookmark;
    UpdateBookmark: patch "/api/v2/feeds/activities/{id}/bookmarks" => 200 bookmarks::update_bookmark;
    DeleteBookmark: delete "/api/v2/feeds/activities/{id}/bookmarks" => 200 bookmarks::delete_bookmark;
    AddCommentBookmark: post "/api/v2/feeds/comments/{id}/bookmarks" => 201 bookmarks::add_comment_bookmark;
    UpdateCommentBookmark: patch "/api/v2/feeds/comments/{id}/bookmarks" => 200 bookmarks::update_comment_bookmark;
    DeleteCommentBookmark: delete "/api/v2/feeds/comments/{id}/bookmarks" => 200 bookmarks::delete_comment_bookmark;
    QueryBookmarks: post "/api/v2/feeds/bookmarks/query" => 201 bookmarks::query_bookmarks;
    QueryBookmarkFolders: post "/api/v2/feeds/bookmark_folders/query" => 201 bookmarks::query_bookmark_folders;
    UpdateBookmarkFolder: patch "/api/v2/feeds/bookmark_folders/{id}" => 200 bookmarks::update_bookmark_folder;
    DeleteBookmarkFolder: delete "/api/v2/feeds/bookmark_folders/{id}" => 200 bookmarks::delete_bookmark_folder;

    GetComments: get "/api/v2/feeds/comments" => 200 comments::get_comments;
    AddComment: post "/api/v2/feeds/comments" => 201 comments::add_comment;
    AddCommentsBatch: post "/api/v2/feeds/comments/batch" => 201 comments::add_comments_batch;
    QueryComments: post "/api/v2/feeds/comments/query" => 201 comments::query_comments;
    GetComment: get "/api/v2/feeds/comments/{id}" => 200 comments::get_comment;
    UpdateComment: patch "/api/v2/feeds/comments/{id}" => 200 comments::update_comment;
    DeleteComment: delete "/api/v2/feeds/comments/{id}" => 200 comments::delete_comment;
    UpdateCommentPartial: post "/api/v2/feeds/comments/{id}/partial" => 201 comments::update_comment_partial;
    RestoreComment: post "/api/v2/feeds/comments/{id}/restore" => 201 comments::restore_comment;
    GetCommentReplies: get "/api/v2/feeds/comments/{id}/replies" => 200 comments::get_comment_replies;
    TranslateComment: post "/api/v2/feeds/comments/{id}/translate" => 201 comments::translate_comment;
    BatchQueryCommentReactions: post "/api/v2/feeds/comments/reactions/query" => 201 reactions::batch_query_comment_reactions;
    AddCommentReaction: post "/api/v2/feeds/comments/{id}/reactions" => 201 reactions::add_comment_reaction;
    QueryCommentReactions: post "/api/v2/feeds/comments/{id}/reactions/query" => 201 reactions::query_comment_reactions;
    DeleteCommentReaction: delete "/api/v2/feeds/comments/{id}/reactions/{kind}" => 200 reactions::delete_comment_reaction;

    CreateCollections: post "/api/v2/feeds/collections" => 201 collections::create_collections;
    UpsertCollections: put "/api/v2/feeds/collections" => 201 collections::upsert_collections;
    UpdateCollections: patch "/api/v2/feeds/collections" => 200 collections::update_collections;
    ReadCollections: get "/api/v2/feeds/collections" => 200 collections::read_collections;
    DeleteCollections: delete "/api/v2/feeds/collections" => 200 collections::delete_collections;
    QueryCollections: post "/api/v2/feeds/collections/query" => 201 collections::query_collections;

    Follow: post "/api/v2/feeds/follows" => 201 follows::follow;
    GetOrCreateFollow: post "/api/v2/feeds/follows/upsert" => 201 follows::get_or_create_follow;
    QueryFollows: post "/api/v2/feeds/follows/query" => 201 follows::query_follows;
    Unfollow: delete "/api/v2/feeds/follows/{source}/{target}" => 200 follows::unfollow;
    UpdateFollow: patch "/api/v2/feeds/follows" => 200 follows::update_follow;
    AcceptFollow: post "/api/v2/feeds/follows/accept" => 201 follows::accept_follow;
    RejectFollow: post "/api/v2/feeds/follows/reject" => 201 follows::reject_follow;
    FollowBatch: post "/api/v2/feeds/follows/batch" => 201 follows::follow_batch;
    GetOrCreateFollows: post "/api/v2/feeds/follows/batch/upsert" => 201 follows::follow_batch;
    GetOrCreateUnfollow: post "/api/v2/feeds/unfollow/upsert" => 201 follows::get_or_create_unfollow;
    UnfollowBatch: post "/api/v2/feeds/unfollow/batch" => 201 follows::unfollow_batch;
    GetOrCreateUnfollows: post "/api/v2/feeds/unfollow/batch/upsert" => 201 follows::get_or_create_unfollows;

    UpdateFeedMembers: patch "/api/v2/feeds/feed_groups/{group}/feeds/{feed}/members" => 200 members::update_feed_members;
    AcceptFeedMemberInvite: post "/api/v2/feeds/feed_groups/{group}/feeds/{feed}/members/accept" => 201 members::accept_feed_member_invite;
    RejectFeedMemberInvite: post "/api/v2/feeds/feed_groups/{group}/feeds/{feed}/members/reject" => 201 members::reject_feed_member_invite;
    QueryFeedMembers: post "/api/v2/feeds/feed_groups/{group}/feeds/{feed}/members/query" => 201 members::query_feed_members;
    ChangeFeedVisibility: post "/api/v2/feeds/feed_groups/{group}/feeds/{feed}/change_visibility" => 201 feeds::change_feed_visibility;
    OwnBatch: post "/api/v2/feeds/feeds/own/batch" => 201 feeds::own_batch;

    CreateMembershipLevel: post "/api/v2/feeds/membership_levels" => 201 membership_levels::create_membership_level;
    QueryMembershipLevels: post "/api/v2/feeds/membership_levels/query" => 201 membership_levels::query_membership_levels;
    UpdateMembershipLevel: patch "/api/v2/feeds/membership_levels/{id}" => 200 membership_levels::update_membership_level;
    DeleteMembershipLevel: delete "/api/v2/feeds/membership_levels/{id}" => 200 membership_levels::delete_membership_level;
    ListFeedVisibilities: get "/api/v2/feeds/feed_visibilities" => 200 feed_visibilities::list_feed_visibilities;
    GetFeedVisibility: get "/api/v2/feeds/feed_visibilities/{name}" => 200 feed_visibilities::get_feed_visibility;
    UpdateFeedVisibility: put "/api/v2/feeds/feed_visibilities/{name}" => 201 feed_visibilities::update_feed_visibility;

    QueryFeeds: post "/api/v2/feeds/feeds/query" => 201 handlers::feed_management::query_feeds;
    CreateFeedsBatch: post "/api/v2/feeds/feeds/batch" => 201 handlers::feed_management::create_feeds_batch;
    DeleteFeedsBatch: post "/api/v2/feeds/feeds/delete" => 201 handlers::feed_management::delete_feeds_batch;
    GetFeedCounts: get "/api/v2/feeds/feed_groups/{group}/feeds/{feed}/counts" => 200 handlers::feed_management::get_feed_counts;
    GetFollowSuggestions: get "/api/v2/feeds/feed_groups/{group}/follow_suggestions" => 200 handlers::feed_management::get_follow_suggestions;

    GetFeedsRateLimits: get "/api/v2/feeds/feeds/rate_limits" => 200 rate_limits::get_rate_limits;
    GetRateLimits: get "/api/v2/rate_limits" => 200 rate_limits::get_rate_limits;
    QueryFeedsUsageStats: post "/api/v2/feeds/stats/usage" => 201 handlers::user_data::query_feeds_usage_stats;
    DeleteFeedUserData: post "/api/v2/feeds/users/{user_id}/delete" => 201 handlers::user_data::delete_feed_user_data;
    ExportFeedUserData: post "/api/v2/feeds/users/{user_id}/export" => 201 handlers::user_data::export_feed_user_data;
    GetUserInterests: get "/api/v2/feeds/users/{user_id}/interests" => 200 users::get_user_interests;
}

/// The operation ids the route table serves.
pub fn operation_names() -> Vec<&'static str> {
    OPERATIONS.iter().map(|(name, ..)| *name).chain(["StopWatchingFeed"]).collect()
}

/// Runs one operation: names it for replies and errors, refuses control
/// characters, reads the body, applies the rate limits, and records the
/// request's metrics.
async fn in_operation(state: AppState, name: &'static str, status: u16, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let response = OPERATION
        .scope(Operation { name, status, started }, async move {
            match refuse_control_characters(req.uri()) {
                Ok(()) => buffer_body(&state, name, req, next).await,
                Err(e) => ApiError(e).into_response(),
            }
        })
        .await;
    let labels = || vec![("operation", name.to_string()), ("status", response.status().as_u16().to_string())];
    crate::metrics::count(&crate::metrics::REQUESTS, labels(), 1);
    crate::metrics::observe(&crate::metrics::REQUEST_SECONDS, labels(), started.elapsed().as_secs_f64());
    response
}

/// No id or parameter of the API holds a control character (U+0000–U+001F,
/// U+007F), and PostgreSQL cannot store NUL at all: refuse them in every
/// percent-decoded path segment and query parameter, before any extractor
/// sees the request. Bytes suffice: in UTF-8 these code points never occur
/// inside a multi-byte character.
fn refuse_control_characters(uri: &axum::http::Uri) -> Result<(), Error> {
    // Decoded byte by byte: no allocation on the every-request path.
    let has_control = |s: &str| percent_encoding::percent_decode_str(s).any(|b| b.is_ascii_control());
    if has_control(uri.path()) {
        return Err(Error::input("path segments must not contain control characters"));
    }
    for pair in uri.query().unwrap_or("").split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if has_control(key) {
            return Err(Error::input("query parameter names must not contain control characters"));
        }
        if has_control(value) {
            let name = percent_encoding::percent_decode_str(key).decode_utf8_lossy().into_owned();
            return Err(Error::field(&name, format!("{name} must not contain control characters")));
        }
    }
    Ok(())
}

/// Reads the whole request body before the handler runs, also for handlers
/// that take none: a reply sent before the body was read would leave the
/// connection unusable, and SDKs send `{}` even where nothing is expected.
/// A body that trickles or stalls is cut off after the connection's
/// `BodyReadTimeout` (408, code 23).
async fn buffer_body(state: &AppState, name: &'static str, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let limit = body_limit(state, name);
    let read = axum::body::to_bytes(body, limit);
    let read = match parts.extensions.get::<listen::BodyReadTimeout>() {
        Some(&listen::BodyReadTimeout(limit)) => match tokio::time::timeout(limit, read).await {
            Ok(read) => read,
            Err(_) => {
                let message = format!("the request body did not arrive within {} ms", limit.as_millis());
                return ApiError(Error::new(Code::RequestTimeout, message)).into_response();
            }
        },
        None => read.await,
    };
    match read {
        Ok(bytes) => {
            // After the body is read (a reply before it would leave the
            // connection unusable), before anything else is done.
            let verdict = rate_limit::admit(state, name, &mut parts);
            if let Some(refused) = verdict.filter(|v| !v.admitted()) {
                return rate_limit::refused(name, &refused);
            }
            let mut response = match checked_fields(parts.uri.query(), bytes) {
                Ok(bytes) => next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await,
                Err(error) => ApiError(error).into_response(),
            };
            if let Some(verdict) = &verdict {
                rate_limit::add_headers(response.headers_mut(), verdict);
            }
            response
        }
        Err(e) => {
            let too_big =
                std::error::Error::source(&e).is_some_and(|cause| cause.is::<http_body_util::LengthLimitError>());
            let error = if too_big {
                Error::new(Code::PayloadTooBig, format!("request body is larger than {limit} bytes"))
            } else {
                Error::input(format!("could not read request body: {e}"))
            };
            ApiError(error).into_response()
        }
    }
}

/// The most bytes `name`'s request body may hold: uploads take files up
/// to the configured limit, everything else is JSON of at most `MAX_BODY_BYTES`.
fn body_limit(state: &AppState, name: &str) -> usize {
    match (name, &state.ctx.uploads) {
        ("UploadFile" | "UploadImage", Some(uploads)) => uploads.max_bytes + handlers::uploads::FORM_OVERHEAD_BYTES,
        _ => MAX_BODY_BYTES,
    }
}

/// Applies the request-field contract (`fields.rs`) of the running
/// operation. A body that is not JSON is left for the handler to refuse.
fn checked_fields(query: Option<&str>, bytes: axum::body::Bytes) -> Result<axum::body::Bytes, Error> {
    let Some(op) = reply::current_operation() else { return Ok(bytes) };
    // Most bodies name no refused field and no `user`: skip the second parse.
    let parse = !bytes.is_empty() && fields::body_may_matter(op.name, &bytes);
    let mut body: Option<serde_json::Value> = if parse { serde_json::from_slice(&bytes).ok() } else { None };
    fields::check(op.name, query, body.as_ref())?;
    let Some(value) = body.as_mut() else { return Ok(bytes) };
    if fields::user_id_from_user(op.name, value)? {
        return serde_json::to_vec(value).map(Into::into).map_err(Error::internal);
    }
    Ok(bytes)
}

async fn health() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

async fn unknown_route(req: Request) -> ApiError {
    Error::new(Code::RouteNotFound, format!("{} {} is not a known endpoint", req.method(), req.uri().path())).into()
}

async fn count_request(
    axum::extract::State(requests): axum::extract::State<std::sync::Arc<crate::core::usage_counter::RequestCounter>>,
    req: Request,
    next: Next,
) -> Response {
    requests.hit();
    next.run(req).await
}

async fn wrong_method(req: Request) -> ApiError {
    Error::new(Code::MethodNotAllowed, format!("method {} is not allowed on {}", req.method(), req.uri().path())).into()
}

/// The app. `cors` is the outermost layer, so preflights are answered before
/// routing and every response, panics included, carries the CORS headers.
pub fn build_app(state: AppState, cors: CorsOrigins) -> Router {
    routes(Router::new(), &state)
        // Usage statistics count every API operation served: one atomic
        // increment (`core::usage`).
        .route_layer(middleware::from_fn_with_state(state.ctx.api_requests.clone(), count_request))
        .route("/health", get(health))
        .route("/metrics", get(metrics::metrics))
        // The event WebSocket and the client-side StopWatchingFeed are not in
        // the server-side spec the operation table is checked against.
        .route("/api/v2/connect", get(realtime::connect))
        // An export's download link (`core::user_data`): not an API
        // operation, and its token is its only credential.
        .route(
            &format!("{}{{token}}", crate::core::user_data::DOWNLOAD_PATH),
            get(handlers::user_data::download_export),
        )
        // Uploaded files kept on local disk: public, like a CDN URL.
        .route(&format!("{}{{token}}/{{name}}", crate::core::files::PUBLIC_PATH), get(handlers::uploads::serve_file))
        .route(
            "/api/v2/feeds/feed_groups/{group}/feeds/{id}/watch",
            axum::routing::delete(realtime::stop_watching).layer(middleware::from_fn_with_state(
                state.clone(),
                |State(state): State<AppState>, req: Request, next: Next| {
                    in_operation(state, "StopWatchingFeed", 200, req, next)
                },
            )),
        )
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CompressionLayer::new())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(CatchPanicLayer::custom(|_| ApiError(Error::internal("handler panicked")).into_response()))
        .layer(middleware::from_fn_with_state(std::sync::Arc::new(cors), cors::cors))
        .with_state(state)
}
