//! The storage backends: implementations of `core::storage::Store` and the
//! SQL they share. The domain core never sees SQL.

pub mod postgres;
pub mod sql;
pub mod sqlite;
