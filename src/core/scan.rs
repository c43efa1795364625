//! QueryActivities' scan budget. A filter that no index narrows (no
//! top-level `id` or `user_id` equality) is tested row by row while the
//! store walks activities in `(created_at, id)` order; a rare match would
//! otherwise read the whole table for one page. So one request examines at
//! most `SCAN_BUDGET` activities from its starting position (within the
//! filter's top-level `created_at` range) and returns what matched among
//! them. When the budget stops the scan before the end, the page carries a
//! cursor to where it stopped: a page may then hold fewer than `limit`
//! activities, even none, but paging on returns every match exactly once.

use super::storage::FeedPosition;

/// Activities one QueryActivities request examines at most, when no index
/// narrows its filter: a page that finds nothing among them costs about
/// 2 ms over HTTP (p99 13 ms on a loaded machine; `cargo bench --bench
/// http`, the rare-match row, docs/architecture.md).
pub const SCAN_BUDGET: usize = 2_000;

/// A page of a scan, in page order, with the positions its `next` and
/// `prev` cursors continue from.
#[derive(Debug, PartialEq)]
pub struct ScanPage<T> {
    pub items: Vec<T>,
    pub next: Option<FeedPosition>,
    pub prev: Option<FeedPosition>,
}

/// Cuts the `found` matches of a scan (in the direction of travel, up to
/// `limit + 1` of them) to a page. `backwards` scans read towards the
/// start (a `prev` cursor); `continuing` scans started from a cursor.
/// `scanned_to` is where the budget stopped the scan, if it did.
///
/// Onward (in the direction of travel) the next scan starts after the last
/// match kept when more matched, else where the budget stopped. Back, it
/// starts before the first match kept, or, on a page with no match, from
/// where the scan stopped (the activities it passed over match nothing).
pub fn page<T>(
    mut found: Vec<T>,
    limit: usize,
    backwards: bool,
    continuing: bool,
    scanned_to: Option<FeedPosition>,
    position: impl Fn(&T) -> FeedPosition,
) -> ScanPage<T> {
    let more = found.len() > limit;
    found.truncate(limit);
    let onward = if more { found.last().map(&position) } else { scanned_to.clone() };
    let back = found.first().map(&position).or(scanned_to);
    if backwards {
        found.reverse();
        ScanPage { items: found, next: back, prev: onward }
    } else {
        ScanPage { items: found, next: onward, prev: back.filter(|_| continuing) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::time::Timestamp;

    fn at(n: i64) -> FeedPosition {
        FeedPosition { created_at: Timestamp(n), activity_id: format!("a{n}") }
    }

    fn run(found: Vec<i64>, limit: usize, backwards: bool, continuing: bool, cut: Option<i64>) -> ScanPage<i64> {
        page(found, limit, backwards, continuing, cut.map(at), |n| at(*n))
    }

    #[test]
    fn a_full_page_continues_after_its_last_match() {
        let p = run(vec![9, 8, 7], 2, false, false, Some(3));
        assert_eq!(p, ScanPage { items: vec![9, 8], next: Some(at(8)), prev: None });
    }

    #[test]
    fn a_short_page_cut_by_the_budget_continues_where_the_scan_stopped() {
        let p = run(vec![9], 2, false, true, Some(3));
        assert_eq!(p, ScanPage { items: vec![9], next: Some(at(3)), prev: Some(at(9)) });
    }

    #[test]
    fn an_empty_page_cut_by_the_budget_points_both_ways_at_the_scan_end() {
        let p = run(vec![], 2, false, true, Some(3));
        assert_eq!(p, ScanPage { items: vec![], next: Some(at(3)), prev: Some(at(3)) });
    }

    #[test]
    fn a_scan_that_reached_the_end_has_no_next() {
        let p = run(vec![9], 2, false, false, None);
        assert_eq!(p, ScanPage { items: vec![9], next: None, prev: None });
    }

    #[test]
    fn backwards_pages_come_out_in_page_order_with_the_cursors_swapped() {
        // Travel order is oldest first when reading back.
        let p = run(vec![4, 5, 6], 2, true, true, Some(20));
        assert_eq!(p, ScanPage { items: vec![5, 4], next: Some(at(4)), prev: Some(at(5)) });
        let p = run(vec![], 2, true, true, Some(20));
        assert_eq!(p, ScanPage { items: vec![], next: Some(at(20)), prev: Some(at(20)) });
        let p = run(vec![4], 2, true, true, None);
        assert_eq!(p, ScanPage { items: vec![4], next: Some(at(4)), prev: None });
    }
}
