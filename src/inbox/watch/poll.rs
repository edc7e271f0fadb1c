//! One poll: a read from the top of the listing down to the first
//! conversation older than the bookmark, and what on it is new.
//!
//! The listing is ordered newest first by `last_message_dts`, and a
//! conversation that gets a message moves to the top. So what changed since
//! the bookmark is above the first conversation older than it; a change
//! made while the poll pages is at the top, where the next poll starts, and
//! never older than what this one found. A shift while it pages brings a
//! conversation round again; it is taken once, in its newest state.

use std::{cmp::Reverse, collections::HashMap};

use super::bookmark::{Bookmark, Standing};
use crate::{
    Client, Error, Timestamp,
    inbox::scan::top_read::{self, Take},
    types::ConversationSummary,
};

/// How far down a poll reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reach {
    /// Every conversation there is (the bookmark is at the start).
    Everything,
    /// Down past the newest second, which it reads whole: the starting
    /// point of a watch that reports only what changes after it began.
    NewestSecond,
    /// Down to the first conversation older than the bookmark, reading
    /// its second whole: a change may still arrive in that second, and the
    /// server may place it anywhere among the conversations of the second.
    Bookmark,
    /// Down to the first conversation older than the bookmark or reported
    /// in its second: that second is long past, so every conversation in
    /// it is known already.
    PastBookmark,
}

/// A conversation found new, with its time and its place in the listing.
#[derive(Clone, Debug)]
pub(super) struct Found {
    pub(super) second: Option<i64>,
    pub(super) uuid: String,
    pub(super) summary: ConversationSummary,
    place: usize,
}

/// What a poll found, oldest first, and what it cost.
#[derive(Debug)]
pub(super) struct Outcome {
    pub(super) found: Vec<Found>,
    pub(super) pages: u32,
}

/// A poll's stop rule, fed conversation by conversation.
#[derive(Debug)]
pub(super) struct Poll<'a> {
    bookmark: &'a Bookmark,
    reach: Reach,
    /// The oldest second still read; below it the poll stops.
    floor: Option<i64>,
}

impl<'a> Poll<'a> {
    pub(super) fn new(bookmark: &'a Bookmark, reach: Reach) -> Self {
        Self {
            bookmark,
            reach,
            floor: match reach {
                Reach::Bookmark | Reach::PastBookmark => bookmark.second(),
                Reach::Everything | Reach::NewestSecond => None,
            },
        }
    }

    /// What the poll makes of the next conversation down the listing.
    pub(super) fn judge(&mut self, summary: &ConversationSummary) -> Take {
        // A conversation without a uuid cannot be told from another, nor
        // resumed after: it is not reported.
        let Some(uuid) = summary.conversation_uuid.as_deref() else {
            return Take::Skip;
        };
        let Some(dated) = summary.last_message_dts.as_ref().and_then(second_of) else {
            // No message yet (or a time that cannot be read): it has no
            // place in time, so it neither ends the poll nor is a change;
            // it counts as existing when every one is asked for.
            return if self.reach == Reach::Everything {
                Take::Keep
            } else {
                Take::Skip
            };
        };
        let floor = *self.floor.get_or_insert(match self.reach {
            Reach::NewestSecond => dated,
            Reach::Everything | Reach::Bookmark | Reach::PastBookmark => i64::MIN,
        });
        if dated < floor {
            return Take::Stop;
        }
        match self.bookmark.standing(dated, uuid) {
            Standing::Older => Take::Stop,
            Standing::Reported if self.reach == Reach::PastBookmark => Take::Stop,
            Standing::Reported => Take::Skip,
            Standing::New => Take::Keep,
        }
    }
}

/// What a poll found in `kept` (in listing order), oldest first, each
/// conversation once in its newest state: each one reported moves the
/// bookmark forward, so a bookmark taken after any of them resumes
/// correctly.
pub(super) fn found(kept: Vec<ConversationSummary>, pages: u32) -> Outcome {
    let mut newest: HashMap<String, Found> = HashMap::new();
    for (place, summary) in kept.into_iter().enumerate() {
        let Some(uuid) = summary.conversation_uuid.clone() else {
            continue;
        };
        let second = summary.last_message_dts.as_ref().and_then(second_of);
        match newest.get(&uuid) {
            // A shift brought it round again: it is taken once.
            Some(kept) if kept.second >= second => {}
            _ => {
                newest.insert(
                    uuid.clone(),
                    Found {
                        second,
                        uuid,
                        summary,
                        place,
                    },
                );
            }
        }
    }
    let mut found: Vec<_> = newest.into_values().collect();
    // Within a second, lower in the listing is older.
    found.sort_by_key(|f| (f.second, Reverse(f.place)));
    Outcome { found, pages }
}

/// The second of a time, whatever form the server wrote it in.
pub(crate) fn second_of(dts: &Timestamp) -> Option<i64> {
    dts.utc()
        .map(|t| t.timestamp())
        .or_else(|| dts.naive().map(|n| n.and_utc().timestamp()))
}

/// Runs one poll through the client's pipeline (its gate, pacing and
/// retries): a read from the top down to the poll's stop rule.
pub(super) async fn run(
    client: &Client,
    page_size: u32,
    bookmark: &Bookmark,
    reach: Reach,
) -> Result<Outcome, Error> {
    crate::metrics::watch_poll();
    let mut poll = Poll::new(bookmark, reach);
    let read = top_read::read(client, page_size, |summary, _, again| {
        if again {
            Take::Skip
        } else {
            poll.judge(summary)
        }
    })
    .await?;
    Ok(found(read.items, read.pages))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        inbox::scan::{
            marks::{Keys, marks},
            top_read::TopRead,
        },
        types::ResultSet,
    };

    const T: i64 = 1_749_847_327;

    fn at(uuid: &str, second: i64) -> ConversationSummary {
        let dts = chrono::DateTime::from_timestamp(second, 0).unwrap();
        ConversationSummary {
            conversation_uuid: Some(uuid.into()),
            last_message_dts: Some(Timestamp::parse(dts.to_rfc3339())),
            ..Default::default()
        }
    }

    /// Reads `pages` from the top with `reach`'s rule, as `run` does, each
    /// page saying there is more: whether the read goes on after the last
    /// one, and what it found.
    fn read(
        bookmark: &Bookmark,
        reach: Reach,
        pages: Vec<Vec<ConversationSummary>>,
    ) -> (bool, Outcome) {
        let keys = Keys::default();
        let mut poll = Poll::new(bookmark, reach);
        let mut read = TopRead::new();
        let mut kept = Vec::new();
        for mut items in pages {
            let offset = read.next_offset().expect("the read goes on");
            let more = ResultSet {
                more: Some(true),
                next_offset: Some(offset as i32 + items.len() as i32),
                ..Default::default()
            };
            let marks = marks(&keys, &items);
            read.take(200, &mut items, &marks, Some(&more), |summary, _, again| {
                if again {
                    Take::Skip
                } else {
                    poll.judge(summary)
                }
            })
            .unwrap();
            kept.append(&mut items);
        }
        (read.next_offset().is_some(), found(kept, read.pages()))
    }

    fn uuids(outcome: &Outcome) -> Vec<&str> {
        outcome.found.iter().map(|f| f.uuid.as_str()).collect()
    }

    #[test]
    fn a_poll_stops_at_the_first_conversation_older_than_the_bookmark() {
        let mut bookmark = Bookmark::start();
        bookmark.advance(Some(T), "b");
        let page = vec![at("c", T + 2), at("a", T + 1), at("b", T), at("d", T - 1)];
        let (more, outcome) = read(&bookmark, Reach::Bookmark, vec![page]);
        assert!(!more);
        assert_eq!(uuids(&outcome), ["a", "c"], "oldest first");
    }

    #[test]
    fn changes_in_the_bookmarks_second_are_neither_dropped_nor_repeated() {
        let mut bookmark = Bookmark::start();
        bookmark.advance(Some(T), "a");
        // "b" changed in the same second after the bookmark; the server
        // may order ties either way.
        let page = vec![at("a", T), at("b", T), at("z", T - 3)];
        let (more, outcome) = read(&bookmark, Reach::Bookmark, vec![page]);
        assert!(!more);
        assert_eq!(uuids(&outcome), ["b"]);
    }

    #[test]
    fn a_second_long_past_ends_the_poll_at_its_first_reported_conversation() {
        let mut bookmark = Bookmark::start();
        bookmark.advance(Some(T), "a");
        bookmark.advance(Some(T), "b");
        let page = || vec![at("c", T + 9), at("b", T), at("a", T)];
        let (more, outcome) = read(&bookmark, Reach::PastBookmark, vec![page()]);
        assert!(!more);
        assert_eq!(uuids(&outcome), ["c"]);
        let (more, _) = read(&bookmark, Reach::Bookmark, vec![page()]);
        assert!(more, "reads on");
    }

    #[test]
    fn a_conversation_met_twice_is_taken_once_in_its_newest_state() {
        let bookmark = Bookmark::after_nothing();
        // The page below shifted: "b" comes round again, "a" moved up.
        let pages = vec![
            vec![at("a", T + 1), at("b", T)],
            vec![at("b", T), at("a", T + 4)],
        ];
        let (_, outcome) = read(&bookmark, Reach::Bookmark, pages);
        assert_eq!(uuids(&outcome), ["b", "a"]);
        assert_eq!(outcome.found[1].second, Some(T + 4));
    }

    #[test]
    fn the_first_read_takes_the_newest_second_whole_and_stops_below_it() {
        let bookmark = Bookmark::start();
        let pages = vec![
            vec![at("a", T), at("b", T)],
            vec![at("c", T), at("d", T - 1)],
        ];
        let (more, outcome) = read(&bookmark, Reach::NewestSecond, pages);
        assert!(!more);
        assert_eq!(uuids(&outcome), ["c", "b", "a"]);
        assert_eq!(outcome.pages, 2);
    }

    #[test]
    fn everything_includes_undated_conversations_first_and_skips_uuid_less_ones() {
        let bookmark = Bookmark::start();
        let mut undated = at("u", T);
        undated.last_message_dts = None;
        let mut anonymous = at("x", T);
        anonymous.conversation_uuid = None;
        let page = vec![undated, anonymous, at("a", T), at("b", T - 100)];
        let (more, outcome) = read(&bookmark, Reach::Everything, vec![page]);
        assert!(more);
        assert_eq!(uuids(&outcome), ["u", "b", "a"]);
    }

    #[test]
    fn zone_less_and_offset_times_give_the_same_second_for_the_same_wall_clock() {
        assert_eq!(
            second_of(&Timestamp::parse("2022-07-18T10:15:30-04:00")),
            second_of(&Timestamp::parse("2022-07-18T14:15:30.750Z"))
        );
        assert_eq!(
            second_of(&Timestamp::parse("2022-07-18T14:15:30")),
            second_of(&Timestamp::parse("2022-07-18T14:15:30Z"))
        );
        assert_eq!(second_of(&Timestamp::parse("soon")), None);
    }
}
