//! Background tasks.

use serde::Serialize;
use serde_json::Value;

use crate::core::model::{Task, TaskError};
use crate::core::time::Timestamp;

#[derive(Debug, Serialize)]
pub struct GetTaskResponse {
    pub task_id: String,
    pub status: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskError>,
}

impl From<Task> for GetTaskResponse {
    fn from(t: Task) -> Self {
        GetTaskResponse {
            task_id: t.id,
            status: t.status.as_str().to_string(),
            created_at: t.created_at,
            updated_at: t.updated_at,
            result: t.result,
            error: t.error,
        }
    }
}
