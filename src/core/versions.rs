//! Read-modify-write without lost updates. The core reads a record, applies
//! the change (a `set`/`unset` patch, changed fields) and validates it, then
//! asks the store to write it only if the row is still at the `updated_at`
//! it read: the store checks that under the row lock inside its write
//! transaction. When another write got there first, the whole change is
//! re-applied to the fresh row, validation included.

use super::error::Error;
use super::time::Timestamp;

/// Attempts per request. Every failed attempt means another write to the
/// same row committed meanwhile, so N concurrent writers all succeed within
/// N attempts; with SQLite's single writer, losers re-read in lock-step and
/// that bound is reached, so it sits above the 51 writers the tests race.
pub const WRITE_ATTEMPTS: usize = 64;

/// The `updated_at` for a new version of a record last updated at
/// `previous`: now, but strictly later, so the version always changes.
pub fn next_version(previous: Timestamp) -> Timestamp {
    Timestamp(Timestamp::now().0.max(previous.0.saturating_add(1)))
}

/// The error once `WRITE_ATTEMPTS` writes lost their race.
pub fn contended(what: &str, id: &str) -> Error {
    Error::input(format!("{what} {id} is being updated concurrently; retry"))
}
