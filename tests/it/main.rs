//! Integration tests that drive Tributary over HTTP: the server runs
//! in-process on an ephemeral port (see `support`), except for the
//! durability test, which kills the built binary with SIGKILL, and
//! `config_file`, which starts it with a configuration file.
//!
//! Run with `cargo test --test it`.

mod acting_user;
mod app;
mod atomic_requests;
mod auth;
mod authless;
mod concurrency;
mod config_file;
mod cors;
mod cursors;
mod durability;
mod edge;
mod errors;
mod fanout;
mod feed_views;
mod fields;
mod fuzz_regressions;
mod hostile;
mod instances;
mod interests;
mod limits;
mod lost_writes;
mod metrics;
mod notifications;
mod push;
mod queries;
mod rate_limits;
mod realtime;
mod realtime_activities;
mod realtime_social;
mod selected_feeds;
mod store;
mod support;
mod transactions;
mod translation;
mod uploads;
mod user_data;
mod webhooks;
