//! The guard every reader of the listing keeps against a server that
//! answers the same conversations whatever it is asked (a proxy that
//! ignores `_offset`, say): `more` stays true and `next_offset` moves on, so
//! the paging rules alone would read for ever.

use std::collections::HashSet;

use super::marks::Mark;
use crate::Error;

/// Pages in a row that bring nothing new before the server is taken to be
/// answering the same conversations over and over. A live inbox can shift a
/// page's worth under a reader now and then; four pages of nothing but
/// repeats it does not.
const MOST_STALE_PAGES: u32 = 4;

/// Counts pages in a row that brought nothing new; remembers, for a reader
/// that has no record of its own, each state of a conversation it met.
#[derive(Clone, Debug, Default)]
pub(crate) struct StaleGuard {
    in_a_row: u32,
    met: HashSet<Mark>,
}

impl StaleGuard {
    /// Whether this state of a conversation was met before; remembers it.
    pub(crate) fn met_before(&mut self, mark: Mark) -> bool {
        !self.met.insert(mark)
    }

    /// After a page of conversations with these marks: an error once too
    /// many pages in a row held only what was met before.
    pub(crate) fn page_of(&mut self, marks: &[Mark]) -> Result<(), Error> {
        let fresh = marks.iter().filter(|m| !self.met_before(**m)).count();
        self.page(marks.len(), fresh)
    }

    /// After a page of `items` conversations, `fresh` of them new to the
    /// reader: an error once too many pages in a row brought nothing new.
    /// An empty page is no evidence either way (it ends a read anyway).
    pub(crate) fn page(&mut self, items: usize, fresh: usize) -> Result<(), Error> {
        if items > 0 && fresh == 0 {
            self.in_a_row += 1;
        } else {
            self.in_a_row = 0;
        }
        if self.in_a_row >= MOST_STALE_PAGES {
            return Err(Error::pagination(format!(
                "{MOST_STALE_PAGES} pages in a row brought only conversations already read"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_pages_in_a_row_of_repeats_are_an_error() {
        let mut guard = StaleGuard::default();
        for _ in 1..MOST_STALE_PAGES {
            guard.page(200, 0).unwrap();
        }
        assert!(matches!(guard.page(200, 0), Err(Error::Pagination { .. })));
    }

    #[test]
    fn a_page_of_conversations_met_before_is_stale_even_if_each_is_new_to_the_page() {
        let keys = super::super::marks::Keys::default();
        let page = |uuids: &[&str]| {
            let items: Vec<_> = uuids
                .iter()
                .map(|uuid| crate::types::ConversationSummary {
                    conversation_uuid: Some(uuid.to_string()),
                    ..Default::default()
                })
                .collect();
            super::super::marks::marks(&keys, &items)
        };
        let mut guard = StaleGuard::default();
        guard.page_of(&page(&["a", "b"])).unwrap();
        // A shift down by a page: every conversation on the next pages was
        // met before, but the pages differ, and each brings one new.
        guard.page_of(&page(&["b", "c"])).unwrap();
        guard.page_of(&page(&["c", "d"])).unwrap();
        for _ in 1..MOST_STALE_PAGES {
            guard.page_of(&page(&["a", "b"])).unwrap();
        }
        assert!(guard.page_of(&page(&["b", "a"])).is_err());
    }

    #[test]
    fn one_fresh_conversation_or_an_empty_page_starts_the_count_again() {
        let mut guard = StaleGuard::default();
        for _ in 0..10 {
            guard.page(200, 0).unwrap();
            guard.page(200, 0).unwrap();
            guard.page(200, 1).unwrap();
            guard.page(200, 0).unwrap();
            guard.page(0, 0).unwrap();
        }
    }
}
