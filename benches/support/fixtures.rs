//! Response bodies, built once: the server only copies bytes.

use serde_json::json;

const NAMES: [&str; 3] = ["Ann Lee", "Support Bot", "Raj Patel"];

/// Summaries on a full page.
pub const PAGE_SIZE: usize = 200;

/// One conversation with messages and participants, as `get_conversation`
/// answers it.
pub fn conversation() -> Vec<u8> {
    let messages: Vec<_> = (0..12)
        .map(|i| {
            json!({
                "author_conversation_participant_arn": format!("arn:uc:conversation:participant/{}", i % 3),
                "author_conversation_participant_name": NAMES[i % 3],
                "body": format!("Message {i}: could you check the status of order DEMO-{:05}? Thanks!", 10_000 + i),
                "media_urls": if i % 5 == 0 { json!(["https://media.example/1.jpg"]) } else { json!(null) },
                "message_dts": format!("2022-07-18T10:{:02}:30-04:00", i)
            })
        })
        .collect();
    serde_json::to_vec(&json!({
        "conversation_arn": "arn:uc:conversation/7f1c2d9e",
        "conversation_uuid": "7f1c2d9e-1b2c-4d5e-8f90-123456789abc",
        "merchant_id": "DEMO",
        "messages": messages,
        "participants": (0..3).map(|i| json!({
            "conversation_participant_arn": format!("arn:uc:conversation:participant/{i}"),
            "conversation_participant_name": NAMES[i],
            "conversation_participant_uuid": format!("p-{i}"),
            "joined_dts": "2022-07-18T10:00:00-04:00",
            "last_message_dts": "2022-07-18T10:11:30-04:00",
            "left_dts": null,
            "status": "joined"
        })).collect::<Vec<_>>()
    }))
    .unwrap_or_default()
}

/// The same conversation in UltraCart's envelope, as the live service sends
/// it.
pub fn conversation_envelope() -> Vec<u8> {
    let conversation: serde_json::Value =
        serde_json::from_slice(&conversation()).unwrap_or_default();
    serde_json::to_vec(&json!({
        "conversation": conversation,
        "metadata": {"payload_name": "conversation"},
        "success": true
    }))
    .unwrap_or_default()
}

/// `PAGE_SIZE` summaries, each already serialized, so a page of any length
/// is a slice of one buffer, with each uuid's last 12 digits set to the
/// page's offset: every conversation of a listing is distinct, as a real
/// inbox's are, and the listing's de-duplication sees real work.
pub struct Summaries {
    bytes: Vec<u8>,
    /// `ends[i]` is where summary `i` ends (exclusive), before its comma.
    ends: Vec<usize>,
    /// Where the last 12 digits of summary `i`'s uuid start, within it.
    uuid_tails: Vec<usize>,
}

/// The part of every uuid that a page replaces with its offset.
const UUID_TAIL: &str = "123456789abc";

impl Summaries {
    pub fn new() -> Self {
        let mut bytes = Vec::new();
        let mut ends = Vec::with_capacity(PAGE_SIZE);
        let mut uuid_tails = Vec::with_capacity(PAGE_SIZE);
        for i in 0..PAGE_SIZE {
            if i > 0 {
                bytes.push(b',');
            }
            let summary = json!({
                "conversation_arn": format!("arn:uc:conversation/{i:08x}"),
                "conversation_uuid": format!("{i:08x}-1b2c-4d5e-8f90-{UUID_TAIL}"),
                "last_conversation_message_body": "Hi! I ordered a blue widget last week and it still has not shipped. Can you help?",
                "last_conversation_participant_arn": "arn:uc:conversation:participant/customer",
                "last_conversation_participant_name": "Ann Lee",
                "last_message_dts": format!("2022-07-18T{:02}:{:02}:30-04:00", (i / 60) % 24, i % 60),
                "merchant_id": "DEMO",
                "message_count": (i % 40) + 1,
                "unread_messages": i % 3 == 0
            });
            let start = bytes.len();
            bytes.extend(serde_json::to_vec(&summary).unwrap_or_default());
            let tail = bytes[start..]
                .windows(UUID_TAIL.len())
                .position(|w| w == UUID_TAIL.as_bytes())
                .unwrap_or(0);
            uuid_tails.push(tail);
            ends.push(bytes.len());
        }
        Self {
            bytes,
            ends,
            uuid_tails,
        }
    }

    /// A `getConversations` body for `offset`/`limit` of `total` records.
    pub fn page(&self, offset: usize, limit: usize, total: usize) -> Vec<u8> {
        let count = total.saturating_sub(offset).min(limit).min(PAGE_SIZE);
        let items = if count == 0 {
            &[][..]
        } else {
            &self.bytes[..self.ends[count - 1]]
        };
        let mut body = Vec::with_capacity(items.len() + 256);
        body.extend_from_slice(b"{\"conversations\":[");
        let items_start = body.len();
        body.extend_from_slice(items);
        let tail = format!("{:012x}", offset % (1 << 48));
        for i in 0..count {
            let summary_start = if i == 0 { 0 } else { self.ends[i - 1] + 1 };
            let at = items_start + summary_start + self.uuid_tails[i];
            body[at..at + UUID_TAIL.len()].copy_from_slice(tail.as_bytes());
        }
        let more = offset + count < total;
        body.extend_from_slice(
            format!(
                "],\"metadata\":{{\"payload_name\":\"conversations\",\"result_set\":{{\"count\":{count},\"limit\":{limit},\"more\":{more},\"next_offset\":{},\"offset\":{offset},\"total_records\":{total}}}}},\"success\":true}}",
                offset + count
            )
            .as_bytes(),
        );
        body
    }
}
