//! Where a listing goes next, as pure functions: after a page, from what
//! the server said of it; and ahead of the server, when fetching pages
//! before the one awaited has arrived.

use crate::types::ResultSet;

/// What to do after a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Ask for the page at this offset.
    Fetch { offset: u32 },
    /// The listing is complete.
    Done,
    /// The server's paging would loop or go back; stop with this message.
    Broken(String),
}

/// Where the page after one requested at `offset` with `limit` is likely
/// to start, for fetching ahead: right after it, unless that is past what
/// the API can address. The guess is checked against [`next_after`] when
/// the page arrives.
pub(crate) fn guess_after(offset: u32, limit: u32) -> Option<u32> {
    offset
        .checked_add(limit)
        .filter(|next| *next <= i32::MAX as u32)
}

/// One page as far as paging is concerned.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PageFacts<'a> {
    /// The offset and limit the page was requested with.
    pub(crate) offset: u32,
    pub(crate) limit: u32,
    /// How many items it held.
    pub(crate) items: usize,
    pub(crate) result_set: Option<&'a ResultSet>,
}

/// Decides the next step. `max_items_left` is how many more items the
/// caller wants after this page (`None`: no cap).
pub(crate) fn next_after(page: PageFacts<'_>, max_items_left: Option<u64>) -> Next {
    if max_items_left == Some(0) || page.items == 0 {
        return Next::Done;
    }
    let result_set = page.result_set;
    // Without `more`, a full page suggests there may be another.
    let more = result_set
        .and_then(|r| r.more)
        .unwrap_or(page.items as u64 >= u64::from(page.limit));
    if !more {
        return Next::Done;
    }
    let past_page = i64::from(page.offset) + page.items as i64;
    let next = match result_set.and_then(|r| r.next_offset) {
        Some(next) if i64::from(next) <= i64::from(page.offset) => {
            return Next::Broken(format!(
                "the server's next_offset ({next}) does not move past the page's offset ({})",
                page.offset
            ));
        }
        // A next offset inside the page just read would hand back items
        // already yielded: the listing goes on after the page instead.
        Some(next) => i64::from(next).max(past_page),
        None => past_page,
    };
    match u32::try_from(next) {
        Ok(offset) if offset <= i32::MAX as u32 => Next::Fetch { offset },
        _ => Next::Broken(format!("the server's next_offset ({next}) is out of range")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result_set(more: Option<bool>, next_offset: Option<i32>) -> ResultSet {
        ResultSet {
            more,
            next_offset,
            ..Default::default()
        }
    }

    fn page(offset: u32, limit: u32, items: usize, rs: Option<&ResultSet>) -> PageFacts<'_> {
        PageFacts {
            offset,
            limit,
            items,
            result_set: rs,
        }
    }

    #[test]
    fn follows_next_offset_while_more() {
        let rs = result_set(Some(true), Some(200));
        assert_eq!(
            next_after(page(0, 200, 200, Some(&rs)), None),
            Next::Fetch { offset: 200 }
        );
    }

    #[test]
    fn stops_on_more_false_empty_pages_and_max_items() {
        let last = result_set(Some(false), Some(450));
        assert_eq!(
            next_after(page(400, 200, 50, Some(&last)), None),
            Next::Done
        );
        let lying = result_set(Some(true), Some(600));
        assert_eq!(
            next_after(page(400, 200, 0, Some(&lying)), None),
            Next::Done
        );
        assert_eq!(
            next_after(page(0, 200, 200, Some(&lying)), Some(0)),
            Next::Done
        );
    }

    #[test]
    fn a_next_offset_that_does_not_advance_is_broken() {
        for next in [0, -5, 100] {
            let rs = result_set(Some(true), Some(next));
            assert!(
                matches!(
                    next_after(page(100, 200, 200, Some(&rs)), None),
                    Next::Broken(_)
                ),
                "{next}"
            );
        }
    }

    #[test]
    fn missing_metadata_falls_back_to_counting() {
        assert_eq!(
            next_after(page(0, 100, 100, None), None),
            Next::Fetch { offset: 100 }
        );
        assert_eq!(next_after(page(100, 100, 40, None), None), Next::Done);
        let no_next = result_set(Some(true), None);
        assert_eq!(
            next_after(page(0, 100, 60, Some(&no_next)), None),
            Next::Fetch { offset: 60 }
        );
    }

    #[test]
    fn a_next_offset_inside_the_page_skips_to_its_end() {
        let creeping = result_set(Some(true), Some(201));
        assert_eq!(
            next_after(page(200, 200, 200, Some(&creeping)), None),
            Next::Fetch { offset: 400 }
        );
        let ahead = result_set(Some(true), Some(500));
        assert_eq!(
            next_after(page(200, 200, 200, Some(&ahead)), None),
            Next::Fetch { offset: 500 }
        );
    }

    #[test]
    fn a_missing_total_is_fine() {
        let rs = ResultSet {
            total_records: None,
            ..result_set(Some(true), Some(20))
        };
        assert_eq!(
            next_after(page(10, 10, 10, Some(&rs)), None),
            Next::Fetch { offset: 20 }
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever the server says, the next offset moves forward or the
        /// listing stops: a listing can never loop.
        #[test]
        fn the_next_offset_always_moves_forward(
            offset in 0u32..=i32::MAX as u32,
            limit in 1u32..=200,
            items in 0usize..=400,
            more in proptest::option::of(any::<bool>()),
            next_offset in proptest::option::of(any::<i32>()),
            left in proptest::option::of(0u64..1_000),
        ) {
            let rs = ResultSet { more, next_offset, ..Default::default() };
            let facts = PageFacts { offset, limit, items, result_set: Some(&rs) };
            if let Next::Fetch { offset: next } = next_after(facts, left) {
                prop_assert!(next > offset);
                prop_assert!(u64::from(next) >= u64::from(offset) + items as u64, "never back into the page");
                prop_assert!(next <= i32::MAX as u32);
                prop_assert!(items > 0);
            }
        }
    }
}
