//! Bookmark folders (a bookmark is rendered with its activity, in
//! `activities`).

use serde::Serialize;

use crate::core::enrichment::Lookup;
use crate::core::model::{BookmarkFolder, Custom};
use crate::core::time::Timestamp;

use super::UserResponse;

#[derive(Debug, Clone, Serialize)]
pub struct BookmarkFolderResponse {
    pub id: String,
    pub name: String,
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
}
