//! Thin handlers, one module per resource: extract, call one core function,
//! convert to the wire shape. Each doc comment names the Stream operation.

pub mod activities;
pub mod app;
pub mod bookmarks;
pub mod collections;
pub mod comments;
pub mod feed_groups;
pub mod feed_management;
pub mod feed_views;
pub mod feed_visibilities;
pub mod feeds;
pub mod follows;
pub mod members;
pub mod membership_levels;
pub mod pins;
pub mod polls;
pub mod push;
pub mod rate_limits;
pub mod reactions;
pub mod tasks;
pub mod uploads;
pub mod user_data;
pub mod users;

use serde::Deserialize;

/// A body whose only field is the acting user (`RestoreActivityRequest`,
/// `RestoreCommentRequest`; `user.id` arrives as `user_id`).
#[derive(Deserialize, Default)]
pub struct ActingUser {
    #[serde(default)]
    pub user_id: Option<String>,
}
