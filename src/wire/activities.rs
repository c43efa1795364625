//! Activities with everything a response embeds in them, and bookmarks (an
//! activity holds the viewer's bookmarks, and a bookmark holds its
//! activity: one family of types).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::enrichment::Lookup;
use crate::core::model::{Activity, Bookmark, Custom, Fid, Location, Translations};
use crate::core::time::Timestamp;

use super::collections::enriched_collection;
use super::feeds::FeedJson;
use super::{
    BookmarkFolderResponse, CommentResponse, EnrichedCollectionResponse, FeedsReactionResponse, PollResponseData,
    ReactionGroupResponse, UserResponse,
};

#[derive(Debug, Serialize)]
pub struct ActivityResponse {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub user: UserResponse,
    pub feeds: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub attachments: Vec<Value>,
    pub custom: Custom,
    pub visibility: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    pub mentioned_users: Vec<UserResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Box<ActivityResponse>>,
    pub search_data: Custom,
    pub filter_tags: Vec<String>,
    pub interest_tags: Vec<String>,
    pub collections: BTreeMap<String, EnrichedCollectionResponse>,
    pub restrict_replies: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_feed: Option<FeedJson>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    /// Cached translations of the current text (TranslateActivity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub i18n: Option<BTreeMap<String, String>>,
    pub reaction_count: i64,
    pub reaction_groups: BTreeMap<String, ReactionGroupResponse>,
    pub latest_reactions: Vec<FeedsReactionResponse>,
    pub own_reactions: Vec<FeedsReactionResponse>,
    // Comments and bookmarks arrive with their own issue; until then these
    // are the true (empty) values, not stand-ins.
    pub comment_count: i64,
    pub comments: Vec<CommentResponse>,
    pub bookmark_count: i64,
    pub own_bookmarks: Vec<BookmarkResponse>,
    pub share_count: i64,
    pub popularity: i64,
    pub score: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector_source: Option<String>,
    /// Ranked reads with `include_score_vars`: the variables the score read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score_vars: Option<serde_json::Map<String, Value>>,
    pub hidden: bool,
    pub preview: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<BTreeMap<String, i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_context: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll: Option<PollResponseData>,
    /// Reads of stories feeds that track watched state, and stories read by
    /// GetActivity and QueryActivities for a user: whether the viewer
    /// watched it (`mark_watched`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_watched: Option<bool>,
}

impl ActivityResponse {
    fn new(a: &Activity, lookup: &Lookup, current_feed: Option<&Fid>) -> Self {
        // "Premium preview": a tag-restricted activity reaches other user-token
        // readers without its content, unless their membership level in one
        // of its feeds unlocks the tag.
        let preview = a.visibility == "tag"
            && lookup.restricted_to.as_ref().is_some_and(|me| me != &a.user_id)
            && !lookup.unlocked.contains(&a.id);
        if preview {
            let stripped = Activity {
                text: None,
                attachments: Vec::new(),
                custom: Map::new(),
                search_data: Map::new(),
                ..a.clone()
            };
            return ActivityResponse { preview: true, ..ActivityResponse::full(&stripped, lookup, current_feed, true) };
        }
        ActivityResponse::full(a, lookup, current_feed, true)
    }

    /// `with_own_bookmarks`: false for the activity inside an own bookmark,
    /// which would otherwise hold itself.
    fn full(a: &Activity, lookup: &Lookup, current_feed: Option<&Fid>, with_own_bookmarks: bool) -> Self {
        let current = current_feed.or(if a.feeds.len() == 1 { a.feeds.first() } else { None });
        let reactions = lookup.reactions.get(&a.id);
        let reaction_count = reactions.map_or(0, |r| r.count());
        let share_count = lookup.share_counts.get(&a.id).copied().unwrap_or(0);
        let comment_count = lookup.comment_counts.get(&a.id).copied().unwrap_or(0);
        let bookmark_count = lookup.activity_bookmarks.get(&a.id).copied().unwrap_or(0);
        let own_bookmarks = match lookup.own_bookmarks.get(&a.id) {
            Some(own) if with_own_bookmarks => own
                .iter()
                .map(|b| {
                    let inner = ActivityResponse::full(a, lookup, current_feed, false);
                    lookup.bookmark_with(b, Some(Box::new(inner)), None)
                })
                .collect(),
            _ => Vec::new(),
        };
        let (text, i18n) = lookup.translated(a.text.as_deref(), &a.i18n);
        ActivityResponse {
            id: a.id.clone(),
            kind: a.kind.clone(),
            user: lookup.user(&a.user_id),
            feeds: a.feeds.iter().map(Fid::to_string).collect(),
            text,
            attachments: super::attachments(&a.attachments),
            custom: a.custom.clone(),
            visibility: a.visibility.clone(),
            visibility_tag: a.visibility_tag.clone(),
            location: a.location.clone(),
            expires_at: a.expires_at,
            mentioned_users: a.mentioned_user_ids.iter().map(|id| lookup.user(id)).collect(),
            // One level deep: a parent's own parent is not expanded.
            parent: a
                .parent_id
                .as_ref()
                .and_then(|id| lookup.parents.get(id))
                .map(|p| Box::new(ActivityResponse::new(&Activity { parent_id: None, ..p.clone() }, lookup, None))),
            search_data: a.search_data.clone(),
            filter_tags: a.filter_tags.clone(),
            interest_tags: a.interest_tags.clone(),
            collections: a
                .collection_refs
                .iter()
                .map(|r| (r.clone(), enriched_collection(r, lookup.collections.get(r))))
                .collect(),
            restrict_replies: a.restrict_replies.clone(),
            current_feed: current.filter(|f| lookup.feeds.contains_key(*f)).map(|f| lookup.feed_json(f, true)),
            created_at: a.created_at,
            updated_at: a.updated_at,
            edited_at: a.edited_at,
            deleted_at: a.deleted_at,
            i18n,
            reaction_count,
            reaction_groups: reactions
                .map(|r| r.groups.iter().map(|(kind, g)| (kind.clone(), g.into())).collect())
                .unwrap_or_default(),
            latest_reactions: reactions
                .map(|r| r.latest.iter().map(|x| lookup.reaction(x)).collect())
                .unwrap_or_default(),
            own_reactions: reactions.map(|r| r.own.iter().map(|x| lookup.reaction(x)).collect()).unwrap_or_default(),
            comment_count,
            comments: lookup
                .latest_comments
                .get(&a.id)
                .map(|cs| cs.iter().map(|c| lookup.comment(c)).collect())
                .unwrap_or_default(),
            bookmark_count,
            own_bookmarks,
            share_count,
            // The same sum the `popularity` filter and sort compute in SQL.
            popularity: reaction_count + 2 * comment_count + 3 * bookmark_count + 3 * share_count,
            score: lookup.ranks.get(&a.id).map_or(0.0, |r| r.score),
            selector_source: lookup.ranks.get(&a.id).and_then(|r| r.source.map(str::to_string)),
            score_vars: lookup.ranks.get(&a.id).and_then(|r| r.vars.clone()),
            hidden: lookup.hidden.contains(&a.id),
            preview: false,
            metrics: lookup.metrics.get(&a.id).cloned(),
            notification_context: a.notification_context.clone(),
            poll: a.poll_id.as_ref().and_then(|id| lookup.poll(id)),
            is_watched: lookup
                .watched
                .as_ref()
                .map(|w| w.contains(&a.id))
                .or_else(|| lookup.story_watched.get(&a.id).copied()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ShareResponse {
    pub activity_id: String,
    pub user: UserResponse,
    pub created_at: Timestamp,
}

#[derive(Debug, Serialize)]
pub struct BookmarkResponse {
    pub object_id: String,
    pub object_type: String,
    pub activity_id: String,
    /// Required by the spec; absent only while being assembled.
    pub activity: Option<Box<ActivityResponse>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<CommentResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder: Option<BookmarkFolderResponse>,
    pub user: UserResponse,
    pub custom: Custom,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Lookup {
    pub fn activity(&self, a: &Activity, current_feed: Option<&Fid>) -> ActivityResponse {
        ActivityResponse::new(a, self, current_feed)
    }

    /// A record's `text` and wire `i18n` (translations of its current text
    /// only), projected for the read's `language` (`ReadLanguage::project`).
    pub fn translated(
        &self,
        text: Option<&str>,
        i18n: &Option<Translations>,
    ) -> (Option<String>, Option<BTreeMap<String, String>>) {
        let stored = Translations::of_text(i18n, text).map(|t| &t.texts);
        match &self.language {
            Some(read) => read.project(text, stored),
            None => (text.map(str::to_string), stored.cloned()),
        }
    }

    /// A bookmark with its activity (and comment) from `for_bookmarks`.
    pub fn bookmark(&self, b: &Bookmark) -> BookmarkResponse {
        let activity = self.bookmarked_activities.get(&b.activity_id).map(|a| Box::new(self.activity(a, None)));
        let comment = self.bookmarked_comments.get(&b.object_id).filter(|_| b.object_type == "comment");
        self.bookmark_with(b, activity, comment.map(|c| self.comment(c)))
    }

    pub(super) fn bookmark_with(
        &self,
        b: &Bookmark,
        activity: Option<Box<ActivityResponse>>,
        comment: Option<CommentResponse>,
    ) -> BookmarkResponse {
        BookmarkResponse {
            object_id: b.object_id.clone(),
            object_type: b.object_type.clone(),
            activity_id: b.activity_id.clone(),
            activity,
            comment,
            folder: b.folder_id.as_ref().and_then(|id| self.folders.get(id)).map(|f| self.folder(f)),
            user: self.user(&b.user_id),
            custom: b.custom.clone(),
            created_at: b.created_at,
            updated_at: b.updated_at,
        }
    }
}
