//! What a listing has already yielded: each conversation as a 64-bit hash of
//! its uuid, and a 32-bit fingerprint of its latest activity, so that a
//! conversation seen again is recognised, and one that changed since is
//! told from one that did not.
//!
//! A conversation costs about 22 bytes here (a 16-byte entry and a control
//! byte of a hash table kept at most 7/8 full), so a listing of 200,000
//! holds under 5 MiB whatever its pages were.

use std::{
    collections::{HashMap, HashSet},
    hash::{BuildHasher, BuildHasherDefault, Hash, Hasher},
};

use crate::types::ConversationSummary;

/// One conversation as the listing remembers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Mark {
    id: u64,
    print: u32,
}

/// What a conversation turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Sighting {
    /// Not yielded before.
    New,
    /// Yielded before, and nothing about it changed since.
    Unchanged,
    /// Yielded before, and it has had activity since (it moved up).
    Changed,
    /// Already met in the current round (a shift brought it round again).
    AgainThisRound,
}

/// The conversations a listing has yielded.
#[derive(Debug)]
pub(super) struct Seen {
    by_id: HashMap<u64, u32, BuildHasherDefault<AlreadyHashed>>,
    /// The conversations met in the current round, when a round is on.
    round: Option<HashSet<u64, BuildHasherDefault<AlreadyHashed>>>,
}

/// The seed of a listing's marks: foldhash, a seed per listing drawn from
/// its process-wide seed (addresses and the clock mixed, not the OS's
/// entropy). No list of uuids collides under every seed, and a server never
/// sees the hashes it would need to aim at one, so that is enough here.
/// SipHash was 4% of a listing's instructions; this is under 2%.
pub(super) type Keys = foldhash::quality::RandomState;

/// Keys are already hash values: hashing them again would only cost.
#[derive(Default)]
struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; fold anything else in case that changes.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

impl Seen {
    pub(super) fn new() -> Self {
        Self {
            by_id: HashMap::default(),
            round: None,
        }
    }

    /// Starts a round: from now on, a conversation met again in the same
    /// round says so, whatever it was before.
    pub(super) fn start_round(&mut self) {
        self.round = Some(HashSet::default());
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
        let again = self
            .round
            .as_mut()
            .is_some_and(|round| !round.insert(mark.id));
        let before = self.by_id.insert(mark.id, mark.print);
        if again {
            return Sighting::AgainThisRound;
        }
        match before {
            None => Sighting::New,
            Some(print) if print == mark.print => Sighting::Unchanged,
            Some(_) => Sighting::Changed,
        }
    }
}

/// The marks of a page's conversations. Keyed with the listing's own random
/// state, so no server can make two conversations look alike on purpose.
pub(super) fn marks(keys: &Keys, items: &[ConversationSummary]) -> Vec<Mark> {
    items
        .iter()
        .map(|item| {
            let mut hasher = keys.build_hasher();
            // A summary without a uuid is known by its contents alone.
            match &item.conversation_uuid {
                // A uuid feeds the hasher its bytes and then 0xff on its
                // own; a summary's contents feed a block that starts with
                // 0xfe. The two never make the same writes, so they meet
                // only by chance, as any two ids might.
                Some(uuid) => uuid.hash(&mut hasher),
                None => activity(item, &mut hasher),
            }
            let id = hasher.finish();
            activity(item, &mut hasher);
            // The fingerprint continues from the id's state: one pass
            // over the uuid serves both.
            Mark {
                id,
                print: hasher.finish() as u32,
            }
        })
        .collect()
}

/// What changes when a conversation gets a message: its time, its count,
/// its unread flag and its last message (by length: enough to notice, and
/// cheap on pages of long messages). Two writes, the time's text and one
/// fixed block for the rest: each write to the hasher costs about as much
/// as hashing a dozen bytes, and a field at a time was half a listing's
/// hashing.
fn activity(item: &ConversationSummary, hasher: &mut impl Hasher) {
    let dts = item.last_message_dts.as_ref().map(|dts| dts.as_str());
    hasher.write(dts.unwrap_or_default().as_bytes());
    let body = item
        .last_conversation_message_body
        .as_ref()
        .map(String::len);
    let flags = u8::from(dts.is_some())
        | u8::from(item.message_count.is_some()) << 1
        | u8::from(item.unread_messages.is_some()) << 2
        | u8::from(item.unread_messages == Some(true)) << 3
        | u8::from(body.is_some()) << 4;
    let mut block = [0u8; 16];
    // No UTF-8 text holds 0xfe: the time's text ends here, whatever it is.
    block[0] = 0xfe;
    block[1] = flags;
    block[2..6].copy_from_slice(&item.message_count.unwrap_or_default().to_le_bytes());
    let body = u64::try_from(body.unwrap_or_default()).unwrap_or(u64::MAX);
    block[6..14].copy_from_slice(&body.to_le_bytes());
    hasher.write(&block);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;

    fn summary(uuid: &str, dts: &str, count: i32) -> ConversationSummary {
        ConversationSummary {
            conversation_uuid: Some(uuid.into()),
            last_message_dts: Some(Timestamp::parse(dts)),
            message_count: Some(count),
            ..Default::default()
        }
    }

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
    fn each_kind_of_activity_changes_the_fingerprint() {
        let keys = Keys::default();
        let base = summary("c-1", "2022-07-18T10:15:30-04:00", 3);
        let variants = [
            ConversationSummary {
                unread_messages: Some(false),
                ..base.clone()
            },
            ConversationSummary {
                unread_messages: Some(true),
                ..base.clone()
            },
            ConversationSummary {
                last_conversation_message_body: Some(String::new()),
                ..base.clone()
            },
            ConversationSummary {
                last_conversation_message_body: Some("Thanks!".into()),
                ..base.clone()
            },
            ConversationSummary {
                message_count: None,
                ..base.clone()
            },
            ConversationSummary {
                message_count: Some(0),
                ..base.clone()
            },
            ConversationSummary {
                last_message_dts: None,
                ..base.clone()
            },
            ConversationSummary {
                last_message_dts: Some(Timestamp::parse("")),
                ..base.clone()
            },
        ];
        let all: Vec<_> = std::iter::once(&base).chain(&variants).cloned().collect();
        let marks = marks(&keys, &all);
        for (i, a) in marks.iter().enumerate() {
            assert_eq!(a.id, marks[0].id, "the same conversation");
            for b in &marks[i + 1..] {
                assert_ne!(a.print, b.print, "{i}: {:?}", all[i]);
            }
        }
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
