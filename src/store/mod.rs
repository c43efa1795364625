//! The storage backends: one implementation of the `core::storage` traits
//! (`ops`, over the `db` seam) and the two drivers it runs on. The domain
//! core never sees SQL.

pub mod db;
pub mod dialect;
// Transitional while areas move onto the shared operations.
#[allow(dead_code, unused_imports)]
mod ops;
pub mod postgres;
pub mod sql;
pub mod sqlite;
