//! What a listing makes of each page, with no I/O: what on it is new, and
//! where to read next. First the walk down the pages; then reads from the
//! top ([`TopRead`]) for what moved up while the walk ran.

use super::{
    page::ConversationPage,
    seen::{Seen, Sighting},
};
use crate::{
    Error,
    inbox::scan::{
        marks::Mark,
        plan::{self, Next, PageFacts},
        stale::StaleGuard,
        top_read::{Take, TopRead},
    },
    types::ConversationsResponse,
};

/// Reads at the top after the walk, at the most.
const MOST_READS_AT_THE_TOP: u32 = 3;

/// Where a listing is.
#[derive(Debug)]
enum Phase {
    /// Walking down the pages.
    Walk(StaleGuard),
    /// Reading from the top again, the `n`th time, down to the first
    /// conversation that did not change since it was yielded.
    Top {
        n: u32,
        found_new: bool,
        read: TopRead,
    },
    Done,
}

/// Where to go after a page.
#[derive(Debug)]
pub(super) enum Then {
    /// Read the page at this offset next.
    Read(u32),
    /// The listing is over.
    End,
    /// The listing is over with this error, after the page it came with.
    Fail(Error),
}

/// The state of one listing, page by page.
#[derive(Debug)]
pub(super) struct Step {
    /// Whether the listing covers the whole inbox, and so reads at the top
    /// after the walk.
    whole_inbox: bool,
    /// Items the caller still wants (`None`: all).
    items_left: Option<u64>,
    /// `total_records`, as the server last said.
    total_records: Option<u64>,
    seen: Seen,
    phase: Phase,
}

impl Step {
    pub(super) fn new(start_offset: u32, max_items: Option<u64>) -> Self {
        Self {
            whole_inbox: start_offset == 0,
            items_left: max_items,
            total_records: None,
            seen: Seen::new(),
            phase: Phase::Walk(StaleGuard::default()),
        }
    }

    pub(super) fn items_left(&self) -> Option<u64> {
        self.items_left
    }

    pub(super) fn total_records(&self) -> Option<u64> {
        self.total_records
    }

    /// Whether pages may be fetched before the server says where they
    /// are: in the walk; a read at the top goes a page at a time, since
    /// each may be its last.
    pub(super) fn reads_ahead(&self) -> bool {
        matches!(self.phase, Phase::Walk(_))
    }

    /// Takes in the page requested at `offset` with `limit`, whose
    /// conversations have `marks`: the page of what is new on it (`None`
    /// when nothing is), and where to go next.
    pub(super) fn take(
        &mut self,
        offset: u32,
        limit: u32,
        response: ConversationsResponse,
        marks: &[Mark],
    ) -> (Option<ConversationPage>, Then) {
        let mut items = response.conversations.unwrap_or_default();
        let result_set = response.metadata.and_then(|m| m.result_set);
        if let Some(total) = result_set.as_ref().and_then(|r| r.total_records) {
            self.total_records = u64::try_from(total).ok();
            self.seen.expect(self.total_records.unwrap_or(0));
        }
        let on_page = items.len();
        let items_left = self.items_left;
        let seen = &mut self.seen;
        let go = match &mut self.phase {
            Phase::Walk(stale) => {
                // In place: a page of new conversations, the usual page, is
                // kept without moving a summary (copying them was a
                // fiftieth of a listing).
                let mut marks = marks.iter();
                items.retain(|_| {
                    marks
                        .next()
                        .is_some_and(|mark| seen.record(*mark) == Sighting::New)
                });
                let left = left_after(items_left, items.len());
                let facts = PageFacts {
                    offset,
                    limit,
                    items: on_page,
                    result_set: result_set.as_ref(),
                };
                match stale.page(on_page, items.len()) {
                    Err(error) => Go::Fail(error),
                    Ok(()) => match plan::next_after(facts, left) {
                        Next::Fetch { offset } => Go::Read(offset),
                        Next::Done if self.whole_inbox && left != Some(0) => Go::ToTop(1),
                        Next::Done => Go::End,
                        Next::Broken(message) => Go::Fail(Error::pagination(message)),
                    },
                }
            }
            Phase::Top { n, found_new, read } => {
                let taken = read.take(
                    limit,
                    &mut items,
                    marks,
                    result_set.as_ref(),
                    |_, mark, again| match seen.record(mark) {
                        _ if again => Take::Skip,
                        Sighting::New => Take::Keep,
                        Sighting::Changed => Take::Skip,
                        // Unchanged since an earlier read: everything below
                        // it is older and unchanged too.
                        Sighting::Unchanged => Take::Stop,
                    },
                );
                *found_new |= !items.is_empty();
                let left = left_after(items_left, items.len());
                match (taken, read.next_offset()) {
                    (Err(error), _) => Go::Fail(error),
                    (Ok(()), Some(offset)) if left != Some(0) => Go::Read(offset),
                    (Ok(()), _) => {
                        let all_counted = self
                            .total_records
                            .is_some_and(|total| seen.len() as u64 >= total);
                        let again = *found_new
                            && !all_counted
                            && *n < MOST_READS_AT_THE_TOP
                            && left != Some(0);
                        if again { Go::ToTop(*n + 1) } else { Go::End }
                    }
                }
            }
            Phase::Done => {
                items.clear();
                Go::End
            }
        };
        if let Some(left) = items_left {
            items.truncate(usize::try_from(left).unwrap_or(usize::MAX));
            self.items_left = left_after(Some(left), items.len());
        }
        let then = match go {
            Go::Read(offset) => Then::Read(offset),
            Go::ToTop(n) => {
                // What moved up while the walk (or the last read) ran is
                // above the first conversation yielded and unchanged since.
                self.phase = Phase::Top {
                    n,
                    found_new: false,
                    read: TopRead::new(),
                };
                Then::Read(0)
            }
            Go::End => Then::End,
            Go::Fail(error) => Then::Fail(error),
        };
        if !matches!(then, Then::Read(_)) {
            self.phase = Phase::Done;
        }
        let page = (!items.is_empty()).then(|| ConversationPage {
            offset,
            items,
            result_set,
            warning: response.warning,
        });
        (page, then)
    }
}

/// How many items the caller wants once `new` more are handed over.
fn left_after(items_left: Option<u64>, new: usize) -> Option<u64> {
    items_left.map(|left| left.saturating_sub(new as u64))
}

/// Where to go after a page, as the phase decides it.
enum Go {
    Read(u32),
    /// Start the `n`th read at the top.
    ToTop(u32),
    End,
    Fail(Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Timestamp,
        inbox::scan::marks::{Keys, marks},
        types::{ConversationSummary, ResponseMetadata, ResultSet},
    };

    /// A page of conversations `(uuid, minute of its last message)`, and
    /// what the server says of it.
    fn page(
        items: &[(&str, u32)],
        more: bool,
        next_offset: i32,
        total: Option<i32>,
    ) -> ConversationsResponse {
        let conversations = items
            .iter()
            .map(|(uuid, minute)| ConversationSummary {
                conversation_uuid: Some(uuid.to_string()),
                last_message_dts: Some(Timestamp::parse(format!("2022-07-18T10:{minute:02}:00Z"))),
                ..Default::default()
            })
            .collect();
        ConversationsResponse {
            conversations: Some(conversations),
            metadata: Some(ResponseMetadata {
                result_set: Some(ResultSet {
                    more: Some(more),
                    next_offset: Some(next_offset),
                    total_records: total,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// Feeds `response` as the page at `offset` (limit 2).
    fn feed(
        step: &mut Step,
        keys: &Keys,
        offset: u32,
        response: ConversationsResponse,
    ) -> (Vec<String>, Then) {
        let marks = marks(keys, response.conversations.as_deref().unwrap_or_default());
        let (page, then) = step.take(offset, 2, response, &marks);
        let uuids = page
            .map(|p| {
                p.items
                    .into_iter()
                    .filter_map(|s| s.conversation_uuid)
                    .collect()
            })
            .unwrap_or_default();
        (uuids, then)
    }

    #[test]
    fn a_walk_follows_the_server_then_reads_the_top_down_to_the_first_unchanged() {
        let keys = Keys::default();
        let mut step = Step::new(0, None);
        let (kept, then) = feed(
            &mut step,
            &keys,
            0,
            page(&[("a", 9), ("b", 8)], true, 2, None),
        );
        assert_eq!(kept, ["a", "b"]);
        assert!(matches!(then, Then::Read(2)));
        assert!(step.reads_ahead());
        // "a" got a message and moved to the top meanwhile, so "b" shifted
        // down onto this page.
        let (kept, then) = feed(
            &mut step,
            &keys,
            2,
            page(&[("b", 8), ("c", 7)], false, 4, None),
        );
        assert_eq!(kept, ["c"]);
        assert!(matches!(then, Then::Read(0)), "the read at the top");
        assert!(!step.reads_ahead());
        let (kept, then) = feed(
            &mut step,
            &keys,
            0,
            page(&[("n", 10), ("b", 8)], true, 2, None),
        );
        assert_eq!(kept, ["n"], "a conversation started meanwhile");
        assert!(
            matches!(then, Then::Read(0)),
            "found something new: once more"
        );
        let (kept, then) = feed(
            &mut step,
            &keys,
            0,
            page(&[("n", 10), ("b", 8)], true, 2, None),
        );
        assert!(kept.is_empty());
        assert!(matches!(then, Then::End), "nothing new at the top: done");
    }

    #[test]
    fn a_changed_conversation_is_not_yielded_again_and_does_not_stop_the_read_at_the_top() {
        let keys = Keys::default();
        let mut step = Step::new(0, None);
        feed(
            &mut step,
            &keys,
            0,
            page(&[("a", 9), ("b", 8)], false, 2, None),
        );
        let (kept, then) = feed(
            &mut step,
            &keys,
            0,
            page(&[("b", 11), ("a", 9)], true, 2, None),
        );
        assert!(kept.is_empty(), "b changed but was yielded already");
        assert!(matches!(then, Then::End), "stopped at a, unchanged");
    }

    #[test]
    fn the_reads_at_the_top_end_after_three_or_once_every_record_is_counted() {
        let keys = Keys::default();
        let mut step = Step::new(0, None);
        feed(&mut step, &keys, 0, page(&[("a", 1)], false, 1, None));
        for (n, uuid) in ["b", "c"].iter().enumerate() {
            let (_, then) = feed(
                &mut step,
                &keys,
                0,
                page(&[(uuid, 10 + n as u32), ("a", 1)], true, 2, None),
            );
            assert!(matches!(then, Then::Read(0)), "{n}");
        }
        let (kept, then) = feed(
            &mut step,
            &keys,
            0,
            page(&[("d", 20), ("a", 1)], true, 2, None),
        );
        assert_eq!(kept, ["d"]);
        assert!(matches!(then, Then::End), "three reads at the top at most");

        let mut counted = Step::new(0, None);
        feed(&mut counted, &keys, 0, page(&[("a", 1)], false, 1, Some(2)));
        let (_, then) = feed(
            &mut counted,
            &keys,
            0,
            page(&[("b", 2), ("a", 1)], true, 2, Some(2)),
        );
        assert!(matches!(then, Then::End), "as many as the server counts");
    }

    #[test]
    fn a_walk_that_starts_further_down_or_stops_at_max_items_reads_no_top() {
        let keys = Keys::default();
        let mut step = Step::new(10, None);
        let (_, then) = feed(&mut step, &keys, 10, page(&[("a", 1)], false, 11, None));
        assert!(matches!(then, Then::End));

        let mut capped = Step::new(0, Some(3));
        let (kept, then) = feed(
            &mut capped,
            &keys,
            0,
            page(&[("a", 9), ("b", 8)], true, 2, None),
        );
        assert_eq!(kept.len(), 2);
        assert!(matches!(then, Then::Read(2)));
        assert_eq!(capped.items_left(), Some(1));
        let (kept, then) = feed(
            &mut capped,
            &keys,
            2,
            page(&[("c", 7), ("d", 6)], true, 4, None),
        );
        assert_eq!(kept, ["c"], "no more than asked for");
        assert!(matches!(then, Then::End));
    }

    #[test]
    fn pages_of_nothing_new_end_a_walk_with_an_error_after_the_page_before() {
        let keys = Keys::default();
        let mut step = Step::new(0, None);
        feed(
            &mut step,
            &keys,
            0,
            page(&[("a", 9), ("b", 8)], true, 2, None),
        );
        let mut offset = 2;
        let error = loop {
            match feed(
                &mut step,
                &keys,
                offset,
                page(&[("a", 9), ("b", 8)], true, offset as i32 + 2, None),
            ) {
                (kept, Then::Read(next)) => {
                    assert!(kept.is_empty());
                    offset = next;
                }
                (_, Then::Fail(error)) => break error,
                (_, Then::End) => panic!("ended without an error"),
            }
        };
        assert!(matches!(error, Error::Pagination { .. }));
        assert_eq!(offset, 8, "four pages of repeats");
        let (kept, then) = feed(&mut step, &keys, 10, page(&[("z", 1)], false, 11, None));
        assert!(
            kept.is_empty() && matches!(then, Then::End),
            "done for good"
        );
    }

    #[test]
    fn a_next_offset_that_goes_back_fails_the_walk() {
        let keys = Keys::default();
        let mut step = Step::new(0, None);
        let (kept, then) = feed(
            &mut step,
            &keys,
            4,
            page(&[("a", 9), ("b", 8)], true, 2, None),
        );
        assert_eq!(kept.len(), 2, "the page itself is handed over");
        assert!(matches!(then, Then::Fail(Error::Pagination { .. })));
    }
}
