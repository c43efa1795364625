//! The storage backends: one implementation of the `core::storage` traits
//! (`ops`, over the `db` seam) and the two drivers it runs on. The domain
//! core never sees SQL.

pub mod db;
pub mod dialect;
pub mod files;
mod ops;
pub mod postgres;
pub mod sql;
pub mod sqlite;
