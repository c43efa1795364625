//! Pinned activities.

use serde::Serialize;

use crate::core::enrichment::Lookup;
use crate::core::pins::PinnedPage;
use crate::core::time::Timestamp;

use super::{ActivityResponse, UserResponse};

#[derive(Debug, Serialize)]
pub struct ActivityPinResponse {
    pub activity: ActivityResponse,
    pub feed: String,
    pub user: UserResponse,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Lookup {
    /// Pins whose activity is gone (deleted meanwhile) are left out.
    pub fn pins(&self, page: &PinnedPage) -> Vec<ActivityPinResponse> {
        page.pins
            .items
            .iter()
            .filter_map(|p| {
                let activity = page.activities.get(&p.activity_id)?;
                Some(ActivityPinResponse {
                    activity: self.activity(activity, Some(&p.fid)),
                    feed: p.fid.to_string(),
                    user: self.user(&p.user_id),
                    created_at: p.created_at,
                    updated_at: p.updated_at,
                })
            })
            .collect()
    }
}
