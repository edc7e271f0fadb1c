//! Who a conversation on a page is, and how it stood: a 64-bit hash of its
//! uuid and a 32-bit fingerprint of its latest activity. Every reader of
//! the listing tells conversations apart, and repeats from changes, by
//! these marks.

use std::hash::{BuildHasher, Hash, Hasher};

use crate::types::ConversationSummary;

/// One conversation as a reader of the listing remembers it: who it is
/// and how it stood.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Mark {
    pub(crate) id: u64,
    pub(crate) print: u32,
}

/// The seed of a listing's marks: foldhash, a seed per listing drawn from
/// its process-wide seed (addresses and the clock mixed, not the OS's
/// entropy). No list of uuids collides under every seed, and a server never
/// sees the hashes it would need to aim at one, so that is enough here.
/// SipHash was 4% of a listing's instructions; this is under 2%.
pub(crate) type Keys = foldhash::quality::RandomState;

/// Keys are already hash values: hashing them again would only cost.
#[derive(Default)]
pub(crate) struct AlreadyHashed(u64);

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

/// The marks of a page's conversations. Keyed with the listing's own random
/// state, so no server can make two conversations look alike on purpose.
pub(crate) fn marks(keys: &Keys, items: &[ConversationSummary]) -> Vec<Mark> {
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
pub(crate) mod tests {
    use super::*;
    use crate::Timestamp;

    /// A summary with a uuid, a last message time and a message count.
    pub(crate) fn summary(uuid: &str, dts: &str, count: i32) -> ConversationSummary {
        ConversationSummary {
            conversation_uuid: Some(uuid.into()),
            last_message_dts: Some(Timestamp::parse(dts)),
            message_count: Some(count),
            ..Default::default()
        }
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
}
