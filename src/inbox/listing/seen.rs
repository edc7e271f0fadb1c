//! What a listing has already yielded: each conversation's mark
//! ([`Mark`]), so that a conversation seen again is recognised, and one that
//! changed since is told from one that did not.
//!
//! A conversation costs about 22 bytes here (a 16-byte entry and a control
//! byte of a hash table kept at most 7/8 full), so a listing of 200,000
//! holds under 5 MiB whatever its pages were.

use std::{collections::HashMap, hash::BuildHasherDefault};

use crate::inbox::scan::marks::{AlreadyHashed, Mark};

/// What a conversation turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Sighting {
    /// Not yielded before.
    New,
    /// Yielded before, and nothing about it changed since.
    Unchanged,
    /// Yielded before, and it has had activity since (it moved up).
    Changed,
}

/// The conversations a listing has yielded.
#[derive(Debug)]
pub(super) struct Seen {
    by_id: HashMap<u64, u32, BuildHasherDefault<AlreadyHashed>>,
}

impl Seen {
    pub(super) fn new() -> Self {
        Self {
            by_id: HashMap::default(),
        }
    }

    /// Makes room for `total` conversations at once, so the table is not
    /// rebuilt (briefly holding two copies) as it grows.
    pub(super) fn expect(&mut self, total: u64) {
        // At most about 4.5 MiB ahead of need, whatever total a server
        // claims; beyond that the table grows as conversations arrive.
        const MOST_RESERVED: u64 = 250_000;
        let wanted = usize::try_from(total.min(MOST_RESERVED)).unwrap_or(0);
        self.by_id.reserve(wanted.saturating_sub(self.by_id.len()));
    }

    /// How many distinct conversations were yielded.
    pub(super) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Remembers `mark`, and says what it was.
    pub(super) fn record(&mut self, mark: Mark) -> Sighting {
        match self.by_id.insert(mark.id, mark.print) {
            None => Sighting::New,
            Some(print) if print == mark.print => Sighting::Unchanged,
            Some(_) => Sighting::Changed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbox::scan::marks::{Keys, marks, tests::summary};

    #[test]
    fn a_conversation_is_new_then_unchanged_then_changed_after_a_message() {
        let keys = Keys::default();
        let mut seen = Seen::new();
        let before = summary("c-1", "2022-07-18T10:15:30-04:00", 3);
        let after = summary("c-1", "2022-07-18T10:20:00-04:00", 4);
        let other = summary("c-2", "2022-07-18T10:15:30-04:00", 3);
        let [b, a, o] = [&before, &after, &other].map(|s| marks(&keys, std::slice::from_ref(s))[0]);
        assert_eq!(seen.record(b), Sighting::New);
        assert_eq!(seen.record(b), Sighting::Unchanged);
        assert_eq!(seen.record(a), Sighting::Changed);
        assert_eq!(seen.record(a), Sighting::Unchanged);
        assert_eq!(seen.record(o), Sighting::New);
        assert_eq!(seen.len(), 2);
    }

    #[test]
    fn uuid_less_summaries_are_told_apart_by_their_contents() {
        let keys = Keys::default();
        let mut one = summary("x", "2022-07-18T10:15:30-04:00", 1);
        one.conversation_uuid = None;
        let mut two = one.clone();
        two.message_count = Some(2);
        let marks = marks(&keys, &[one.clone(), one, two]);
        let mut seen = Seen::new();
        assert_eq!(seen.record(marks[0]), Sighting::New);
        assert_eq!(seen.record(marks[1]), Sighting::Unchanged);
        assert_eq!(seen.record(marks[2]), Sighting::New);
    }
}
