//! The domain core: rules of feeds, activities, follows, users and tasks.
//! It knows nothing of HTTP and nothing of SQL — it talks to `dyn Store`.
//!
//! This file only declares the modules and re-exports the names every
//! operation uses (`Ctx`, `Actor`, `QueryRequest`, …); it defines nothing, so
//! the modules below it can be layered without import loops
//! (`scripts/import-loops` checks). Bottom to top, roughly: records and rules
//! (`model`, `error`, `time`, `filter`, `cursor`, `feed_visibilities`,
//! `membership_levels`), the storage interface (`storage`), the context
//! (`ctx`, `actor`, `query`), the task queue (`tasks`), the areas (`users`,
//! `feeds`, `follows`, `members`, `pins`, `activities`, …), then what composes
//! them (`feed_read`, `task_runner`, `fanout`).

pub mod access;
pub mod activities;
pub mod actor;
pub mod aggregation;
pub mod app;
pub mod bookmarks;
pub mod collections;
pub mod comments;
pub mod config_cache;
pub mod ctx;
pub mod cursor;
pub mod enrichment;
pub mod error;
pub mod events;
pub mod fanout;
pub mod feed_groups;
pub mod feed_management;
pub mod feed_read;
pub mod feed_views;
pub mod feed_visibilities;
pub mod feed_visibility_ops;
pub mod feedback;
pub mod feeds;
pub mod files;
pub mod filter;
pub mod follows;
pub mod i18n;
pub mod images;
pub mod interests;
pub mod limits;
pub mod members;
pub mod membership_level_ops;
pub mod membership_levels;
pub mod model;
pub mod notification_feeds;
pub mod notifications;
pub mod patch;
pub mod pins;
pub mod polls;
pub mod push;
pub mod push_ops;
pub mod query;
pub mod ranking;
pub mod rate_limits;
pub mod reactions;
pub mod scan;
pub mod selected_feeds;
pub mod selectors;
pub mod storage;
pub mod suggestions;
pub mod task_runner;
pub mod tasks;
pub mod time;
pub mod translation;
pub mod translator;
pub mod uploads;
pub mod usage;
pub mod usage_counter;
pub mod user_data;
pub mod user_data_options;
pub mod users;
pub mod versions;

pub use actor::Actor;
pub use ctx::Ctx;
pub use cursor::{one_direction, page_limit, DEFAULT_LIMIT, MAX_LIMIT};
pub use filter::SortParam;
pub use model::new_id;
pub use query::{QueryRequest, UserListQuery};
