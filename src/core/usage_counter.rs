//! The in-memory half of the usage counters (`usage`): API requests are
//! counted with one atomic increment each and written to the store in
//! batches by the usage flusher, so serving a request (a feed read above
//! all) costs no statement.

use std::sync::atomic::{AtomicI64, Ordering};

use super::time::Timestamp;

/// API requests this process served and has not written yet.
#[derive(Debug, Default)]
pub struct RequestCounter {
    pending: AtomicI64,
}

impl RequestCounter {
    /// Counts one request.
    pub fn hit(&self) {
        self.pending.fetch_add(1, Ordering::Relaxed);
    }

    /// The requests counted and not yet taken.
    pub fn pending(&self) -> i64 {
        self.pending.load(Ordering::Relaxed)
    }

    /// Takes every request counted so far, for the flusher to write.
    pub fn take(&self) -> i64 {
        self.pending.swap(0, Ordering::Relaxed)
    }

    /// Puts back requests whose write failed, to be written with the next
    /// batch.
    pub fn give_back(&self, n: i64) {
        self.pending.fetch_add(n, Ordering::Relaxed);
    }
}

/// The UTC day of `at`, as usage counters key it (`YYYY-MM-DD`).
pub fn day_of(at: Timestamp) -> String {
    chrono::DateTime::from_timestamp_nanos(at.0).date_naive().format("%Y-%m-%d").to_string()
}
