//! Collections, alone and as activities reference them.

use serde::Serialize;

use crate::core::model::{Collection, Custom};
use crate::core::time::Timestamp;

#[derive(Debug, Serialize)]
pub struct CollectionResponse {
    pub id: String,
    pub name: String,
    pub custom: Custom,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<&Collection> for CollectionResponse {
    fn from(c: &Collection) -> Self {
        CollectionResponse {
            id: c.id.clone(),
            name: c.name.clone(),
            custom: c.custom.clone(),
            user_id: c.user_id.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A referenced collection as an activity carries it: live data, or
/// `status: notfound` when the collection is gone.
#[derive(Debug, Serialize)]
pub struct EnrichedCollectionResponse {
    #[serde(flatten)]
    pub collection: Option<CollectionResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub status: &'static str,
}

pub(super) fn enriched_collection(reference: &str, found: Option<&Collection>) -> EnrichedCollectionResponse {
    match found {
        Some(c) => EnrichedCollectionResponse { collection: Some(c.into()), id: None, name: None, status: "ok" },
        None => {
            let (name, id) = reference.split_once(':').unwrap_or((reference, ""));
            EnrichedCollectionResponse {
                collection: None,
                id: Some(id.to_string()),
                name: Some(name.to_string()),
                status: "notfound",
            }
        }
    }
}
