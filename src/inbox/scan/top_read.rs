//! A read from the top of the listing down to a stop rule: the one way the
//! listing's catch-up, the watch's poll and the export's last read look for
//! what moved up.
//!
//! The listing is newest first, and a conversation that changes moves to
//! the top, so what changed since some point is above it. Each reader has
//! its own rule for that point (the first conversation yielded and
//! unchanged since, the first older than a bookmark, the first written and
//! unchanged); the read around the rule is the same: page down from offset
//! 0 as the server says, hand every conversation to the rule once, and end
//! where the rule stops, where the server has no more, or with an error
//! where the server's paging would loop or its pages bring only what this
//! read has already met.

use super::{
    marks::{Keys, Mark, marks},
    one_page::OnePage,
    plan::{self, Next, PageFacts},
    stale::StaleGuard,
};
use crate::{
    Client, Error,
    types::{ConversationSummary, ResultSet},
};

/// What a reader's rule makes of one conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Take {
    /// Keep it, and read on.
    Keep,
    /// Leave it out, and read on.
    Skip,
    /// Leave it out: the read has gone far enough.
    Stop,
}

/// One read from the top, fed page by page.
#[derive(Debug)]
pub(crate) struct TopRead {
    /// Where the next page starts; `None` once the read is over.
    next: Option<u32>,
    pages: u32,
    stale: StaleGuard,
}

impl TopRead {
    pub(crate) fn new() -> Self {
        Self {
            next: Some(0),
            pages: 0,
            stale: StaleGuard::default(),
        }
    }

    /// The offset of the page to read next; `None` once the read is over.
    pub(crate) fn next_offset(&self) -> Option<u32> {
        self.next
    }

    /// Pages taken in so far.
    pub(crate) fn pages(&self) -> u32 {
        self.pages
    }

    /// Takes in the page read at [`next_offset`](Self::next_offset) with
    /// `limit`: `rule` sees each conversation in order with its mark and
    /// whether this read met it in this very state before, until it says
    /// stop; `items` keeps what it kept. Then decides where the read goes.
    pub(crate) fn take(
        &mut self,
        limit: u32,
        items: &mut Vec<ConversationSummary>,
        marks: &[Mark],
        result_set: Option<&ResultSet>,
        mut rule: impl FnMut(&ConversationSummary, Mark, bool) -> Take,
    ) -> Result<(), Error> {
        let Some(offset) = self.next.take() else {
            items.clear();
            return Ok(());
        };
        self.pages += 1;
        let on_page = items.len();
        let stale = &mut self.stale;
        let mut marks = marks.iter().copied();
        let (mut fresh, mut stopped) = (0, false);
        items.retain(|item| {
            let Some(mark) = marks.next().filter(|_| !stopped) else {
                return false;
            };
            let again = stale.met_before(mark);
            fresh += usize::from(!again);
            match rule(item, mark, again) {
                Take::Keep => true,
                Take::Skip => false,
                Take::Stop => {
                    stopped = true;
                    false
                }
            }
        });
        if stopped {
            return Ok(());
        }
        self.stale.page(on_page, fresh)?;
        let facts = PageFacts {
            offset,
            limit,
            items: on_page,
            result_set,
        };
        match plan::next_after(facts, None) {
            Next::Fetch { offset } => self.next = Some(offset),
            Next::Done => {}
            Next::Broken(message) => return Err(Error::pagination(message)),
        }
        Ok(())
    }
}

/// What a read through the client kept, in listing order, and what it cost.
#[derive(Debug)]
pub(crate) struct Kept {
    pub(crate) items: Vec<ConversationSummary>,
    pub(crate) pages: u32,
}

/// Reads from the top through the client's pipeline (its gate, pacing and
/// retries), a page of `page_size` at a time, with `rule`.
pub(crate) async fn read(
    client: &Client,
    page_size: u32,
    mut rule: impl FnMut(&ConversationSummary, Mark, bool) -> Take,
) -> Result<Kept, Error> {
    let keys = Keys::default();
    let mut read = TopRead::new();
    let mut kept = Vec::new();
    while let Some(offset) = read.next_offset() {
        let mut page = OnePage::fetch(client, page_size, offset).await?;
        let marks = marks(&keys, &page.items);
        let result_set = page.result_set.take();
        read.take(
            page_size,
            &mut page.items,
            &marks,
            result_set.as_ref(),
            &mut rule,
        )?;
        kept.append(&mut page.items);
    }
    Ok(Kept {
        items: kept,
        pages: read.pages(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(uuids: &[&str]) -> Vec<ConversationSummary> {
        uuids
            .iter()
            .map(|uuid| ConversationSummary {
                conversation_uuid: Some(uuid.to_string()),
                ..Default::default()
            })
            .collect()
    }

    fn more(next_offset: i32) -> ResultSet {
        ResultSet {
            more: Some(true),
            next_offset: Some(next_offset),
            ..Default::default()
        }
    }

    /// Feeds `items` to `read` with a rule that keeps what it has not met
    /// and stops at `stop_at`; returns the uuids kept.
    fn feed(
        read: &mut TopRead,
        keys: &Keys,
        items: &[&str],
        result_set: Option<ResultSet>,
        stop_at: &str,
    ) -> Result<Vec<String>, Error> {
        let mut items = page(items);
        let marks = marks(keys, &items);
        read.take(
            2,
            &mut items,
            &marks,
            result_set.as_ref(),
            |item, _, again| match item.conversation_uuid.as_deref() {
                Some(uuid) if uuid == stop_at => Take::Stop,
                _ if again => Take::Skip,
                _ => Take::Keep,
            },
        )?;
        Ok(items
            .into_iter()
            .filter_map(|item| item.conversation_uuid)
            .collect())
    }

    #[test]
    fn a_read_follows_the_server_down_and_ends_where_the_rule_stops() {
        let keys = Keys::default();
        let mut read = TopRead::new();
        assert_eq!(read.next_offset(), Some(0));
        let kept = feed(&mut read, &keys, &["a", "b"], Some(more(2)), "-").unwrap();
        assert_eq!(kept, ["a", "b"]);
        assert_eq!(read.next_offset(), Some(2));
        let kept = feed(&mut read, &keys, &["c", "d"], Some(more(4)), "d").unwrap();
        assert_eq!(kept, ["c"], "nothing at or after the stop is kept");
        assert_eq!(read.next_offset(), None);
        assert_eq!(read.pages(), 2);
    }

    #[test]
    fn a_read_ends_where_the_server_has_no_more() {
        let keys = Keys::default();
        let mut read = TopRead::new();
        let last = ResultSet {
            more: Some(false),
            ..Default::default()
        };
        feed(&mut read, &keys, &["a"], Some(last), "-").unwrap();
        assert_eq!(read.next_offset(), None);
        let mut empty = TopRead::new();
        feed(&mut empty, &keys, &[], Some(more(2)), "-").unwrap();
        assert_eq!(empty.next_offset(), None, "an empty page ends it");
    }

    #[test]
    fn a_server_that_answers_the_same_page_at_every_offset_ends_the_read_with_an_error() {
        let keys = Keys::default();
        let mut read = TopRead::new();
        let mut offset = 0;
        let outcome = loop {
            offset += 2;
            match feed(&mut read, &keys, &["a", "b"], Some(more(offset)), "-") {
                Ok(_) => assert!(read.pages() < 10, "still reading"),
                Err(error) => break error,
            }
        };
        assert!(matches!(outcome, Error::Pagination { .. }), "{outcome:?}");
        assert_eq!(read.pages(), 5, "the first page and four repeats");
    }

    #[test]
    fn a_shift_that_brings_some_conversations_round_again_is_no_error() {
        let keys = Keys::default();
        let mut read = TopRead::new();
        for (at, items) in [["a", "b"], ["b", "c"], ["c", "d"], ["d", "e"], ["e", "f"]]
            .iter()
            .enumerate()
        {
            let kept = feed(&mut read, &keys, items, Some(more(2 * at as i32 + 2)), "-");
            assert_eq!(kept.unwrap().len(), 1 + usize::from(at == 0));
        }
    }

    #[test]
    fn a_conversation_met_again_in_a_new_state_is_not_a_repeat() {
        let keys = Keys::default();
        let mut read = TopRead::new();
        let mut items = page(&["a"]);
        let first = marks(&keys, &items);
        read.take(1, &mut items, &first, Some(&more(1)), |_, _, again| {
            assert!(!again);
            Take::Keep
        })
        .unwrap();
        let mut moved = page(&["a"]);
        moved[0].message_count = Some(2);
        let second = marks(&keys, &moved);
        assert_eq!(first[0].id, second[0].id);
        read.take(1, &mut moved, &second, Some(&more(2)), |_, _, again| {
            assert!(!again, "a new state of a conversation met before");
            Take::Keep
        })
        .unwrap();
    }

    #[test]
    fn a_next_offset_that_goes_back_is_an_error() {
        let keys = Keys::default();
        let mut read = TopRead::new();
        feed(&mut read, &keys, &["a", "b"], Some(more(2)), "-").unwrap();
        let error = feed(&mut read, &keys, &["c", "d"], Some(more(1)), "-").unwrap_err();
        assert!(matches!(error, Error::Pagination { .. }));
        assert_eq!(read.next_offset(), None);
    }
}
