//! Bookmarks and bookmark folders.

use serde::Serialize;

use crate::core::enrichment::Lookup;
use crate::core::model::{Bookmark, BookmarkFolder, Custom};
use crate::core::time::Timestamp;

use super::{ActivityResponse, CommentResponse, UserResponse};

#[derive(Debug, Clone, Serialize)]
pub struct BookmarkFolderResponse {
    pub id: String,
    pub name: String,
    pub user: UserResponse,
    pub custom: Custom,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
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
    pub fn folder(&self, f: &BookmarkFolder) -> BookmarkFolderResponse {
        BookmarkFolderResponse {
            id: f.id.clone(),
            name: f.name.clone(),
            user: self.user(&f.user_id),
            custom: f.custom.clone(),
            created_at: f.created_at,
            updated_at: f.updated_at,
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
