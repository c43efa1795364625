//! Comments, flat and threaded.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::core::comments::ThreadNode;
use crate::core::enrichment::Lookup;
use crate::core::model::{Comment, Custom, Reaction, ReactionSummary};
use crate::core::time::Timestamp;

use super::{FeedsReactionResponse, ReactionGroupResponse, UserResponse};

#[derive(Debug, Serialize)]
pub struct CommentResponse {
    pub id: String,
    pub object_id: String,
    pub object_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    pub user: UserResponse,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub attachments: Vec<Value>,
    pub custom: Custom,
    pub mentioned_users: Vec<UserResponse>,
    pub status: String,
    pub reply_count: i64,
    pub upvote_count: i64,
    pub downvote_count: i64,
    pub reaction_count: i64,
    pub bookmark_count: i64,
    pub score: i64,
    pub confidence_score: f64,
    pub controversy_score: f64,
    pub reaction_groups: BTreeMap<String, ReactionGroupResponse>,
    pub latest_reactions: Vec<FeedsReactionResponse>,
    pub own_reactions: Vec<FeedsReactionResponse>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
    /// Cached translations of the current text (TranslateComment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub i18n: Option<std::collections::BTreeMap<String, String>>,
}

/// A comment with the replies a threaded read loaded below it.
#[derive(Debug, Serialize)]
pub struct ThreadedCommentResponse {
    #[serde(flatten)]
    pub comment: CommentResponse,
    pub replies: Vec<ThreadedCommentResponse>,
    pub meta: RepliesMetaResponse,
}

#[derive(Debug, Serialize)]
pub struct RepliesMetaResponse {
    pub has_more: bool,
    pub remaining: i64,
    pub depth_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl Lookup {
    pub fn comment(&self, c: &Comment) -> CommentResponse {
        let reactions = self.comment_reactions.get(&c.id);
        let list = |pick: fn(&ReactionSummary) -> &Vec<Reaction>| {
            reactions.map(|r| pick(r).iter().map(|x| self.reaction(x)).collect()).unwrap_or_default()
        };
        let (text, i18n) = self.translated(c.text.as_deref(), &c.i18n);
        CommentResponse {
            id: c.id.clone(),
            object_id: c.object_id.clone(),
            object_type: c.object_type.clone(),
            parent_id: c.parent_id.clone(),
            user: self.user(&c.user_id),
            text,
            attachments: super::attachments(&c.attachments),
            custom: c.custom.clone(),
            mentioned_users: c.mentioned_user_ids.iter().map(|id| self.user(id)).collect(),
            status: c.status.clone(),
            reply_count: c.counts.reply_count,
            upvote_count: c.counts.upvote_count,
            downvote_count: c.counts.downvote_count,
            reaction_count: c.counts.reaction_count,
            bookmark_count: self.comment_bookmarks.get(&c.id).copied().unwrap_or(0),
            score: c.counts.score,
            confidence_score: c.counts.confidence_score,
            controversy_score: c.counts.controversy_score,
            reaction_groups: reactions
                .map(|r| r.groups.iter().map(|(kind, g)| (kind.clone(), g.into())).collect())
                .unwrap_or_default(),
            latest_reactions: list(|r| &r.latest),
            own_reactions: list(|r| &r.own),
            created_at: c.created_at,
            updated_at: c.updated_at,
            edited_at: c.edited_at,
            deleted_at: c.deleted_at,
            i18n,
        }
    }

    pub fn thread(&self, node: &ThreadNode) -> ThreadedCommentResponse {
        ThreadedCommentResponse {
            comment: self.comment(&node.comment),
            replies: node.replies.iter().map(|r| self.thread(r)).collect(),
            meta: RepliesMetaResponse {
                has_more: node.meta.has_more,
                remaining: node.meta.remaining,
                depth_truncated: node.meta.depth_truncated,
                next_cursor: node.meta.next_cursor.clone(),
            },
        }
    }
}
