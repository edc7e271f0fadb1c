//! The demo's made-up conversations: realistic enough to page through and
//! read, and the same on every run (they come from a fixed seed).

use std::time::Duration;

use chrono::{DateTime, FixedOffset, Offset, SecondsFormat, Utc};

use super::rng::Rng;
use crate::{Timestamp, types};

/// The merchant every demo conversation belongs to.
pub(crate) const MERCHANT_ID: &str = "DEMO";
/// The agent the demo credential stands for: it joins, leaves and starts
/// conversations, and gets the websocket JWT.
pub(crate) const DEMO_AGENT_ARN: &str =
    "arn:ultracart:conversation:DEMO:participant/agent/demo-agent";
pub(crate) const DEMO_AGENT_NAME: &str = "Demo Agent";
/// Same seed, same conversations: tests may depend on them.
const SEED: u64 = 0x5EED_0C0F_FEE0_2022;
/// The newest seeded message, 2025-06-13T16:42:07-04:00. A fixed instant in
/// the past keeps the data deterministic and keeps conversations started
/// while the demo runs (stamped with the real clock) newer than all of it.
const NEWEST_UNIX: i64 = 1_749_847_327;

pub(crate) fn conversation_arn(uuid: &str) -> String {
    format!("arn:ultracart:conversation:{MERCHANT_ID}:conversation/{uuid}")
}

/// A conversation as the demo stores it: the full model plus what only the
/// summary shows.
#[derive(Clone, Debug)]
pub(crate) struct Stored {
    pub(crate) conversation: types::Conversation,
    pub(crate) unread: bool,
}

/// `count` conversations, newest first, and the generator to continue with.
pub(crate) fn conversations(count: usize) -> (Vec<Stored>, Rng) {
    let mut rng = Rng::new(SEED);
    // Cannot fail: a constant well inside chrono's range.
    let mut last_message = DateTime::from_timestamp(NEWEST_UNIX, 0).unwrap_or_default();
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(conversation(&mut rng, last_message));
        let gap = rng.between(3 * 60, 150 * 60) * 1_000 + rng.below(1_000);
        last_message -= Duration::from_millis(gap);
    }
    (out, rng)
}

/// UltraCart's US servers write `-04:00`; `Z` and fractional seconds occur
/// too, and clients must cope with all three.
pub(crate) fn render(instant: DateTime<Utc>, rng: &mut Rng) -> Timestamp {
    let text = match rng.below(10) {
        0 | 1 => instant.to_rfc3339_opts(SecondsFormat::Secs, true),
        2 => eastern(instant).to_rfc3339_opts(SecondsFormat::Millis, true),
        3 => instant.to_rfc3339_opts(SecondsFormat::Millis, true),
        _ => eastern(instant).to_rfc3339_opts(SecondsFormat::Secs, true),
    };
    Timestamp::parse(text)
}

/// An instant in the `-04:00` form, for things that happen while the demo
/// runs.
pub(crate) fn render_eastern(instant: DateTime<Utc>) -> Timestamp {
    Timestamp::parse(eastern(instant).to_rfc3339_opts(SecondsFormat::Secs, true))
}

fn eastern(instant: DateTime<Utc>) -> DateTime<FixedOffset> {
    // Cannot fail: four hours is a valid offset.
    let edt = FixedOffset::west_opt(4 * 3600).unwrap_or(Utc.fix());
    instant.with_timezone(&edt)
}

fn conversation(rng: &mut Rng, last_message: DateTime<Utc>) -> Stored {
    let uuid = rng.uuid();
    let topic = rng.pick(TOPICS);
    let first = *rng.pick(FIRST_NAMES);
    let customer_name = format!("{first} {}", rng.pick(LAST_NAMES));
    let customer_arn = format!(
        "arn:ultracart:conversation:{MERCHANT_ID}:participant/customer/{}",
        rng.hex(12)
    );
    let (agent_name, agent_slug) = *rng.pick(AGENTS);
    let agent_arn =
        format!("arn:ultracart:conversation:{MERCHANT_ID}:participant/agent/{agent_slug}");
    let agent_first = agent_name.split(' ').next().unwrap_or(agent_name);
    let order = format!("DEMO-{:07}", rng.between(1_000_000, 9_999_999));
    let count = rng.between(1, topic.len() as u64) as usize;

    // Messages are generated newest first, walking back in time, then
    // reversed: a conversation reads oldest to newest.
    let mut at = last_message;
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        times.push(at);
        at -= Duration::from_millis(rng.between(20, 15 * 60) * 1_000 + rng.below(1_000));
    }
    times.reverse();

    let mut messages = Vec::with_capacity(count);
    for (line, at) in topic.iter().zip(&times) {
        let from_customer = messages.len() % 2 == 0;
        let (arn, name) = if from_customer {
            (&customer_arn, customer_name.as_str())
        } else {
            (&agent_arn, agent_name)
        };
        let body = line
            .replace("{first}", first)
            .replace("{agent}", agent_first)
            .replace("{order}", &order);
        let media_urls = (from_customer && body.contains("photo")).then(|| {
            vec![format!(
                "https://demo.ultracart.invalid/conversation/{MERCHANT_ID}/{}.jpg",
                rng.hex(16)
            )]
        });
        messages.push(types::ConversationMessage {
            author_conversation_participant_arn: Some(arn.clone()),
            author_conversation_participant_name: Some(name.to_string()),
            body: Some(body),
            media_urls,
            message_dts: Some(render(*at, rng)),
        });
    }

    let last_of = |arn: &str| {
        messages
            .iter()
            .rposition(|m| m.author_conversation_participant_arn.as_deref() == Some(arn))
            .map(|i| times[i])
    };
    let customer_last = last_of(&customer_arn);
    let agent_last = last_of(&agent_arn);
    let mut participants = vec![types::ConversationParticipant {
        conversation_participant_arn: Some(customer_arn.clone()),
        conversation_participant_name: Some(customer_name),
        conversation_participant_uuid: Some(rng.uuid()),
        joined_dts: Some(render(times[0] - Duration::from_secs(5), rng)),
        last_message_dts: customer_last.map(|t| render(t, rng)),
        left_dts: None,
        status: Some("joined".into()),
    }];
    if let Some(agent_last) = agent_last {
        // An agent whose message closed the conversation has often left.
        let left = (agent_last == last_message && rng.percent(50))
            .then(|| render(agent_last + Duration::from_secs(120), rng));
        participants.push(types::ConversationParticipant {
            conversation_participant_arn: Some(agent_arn),
            conversation_participant_name: Some(agent_name.to_string()),
            conversation_participant_uuid: Some(rng.uuid()),
            joined_dts: Some(render(times[1] - Duration::from_secs(30), rng)),
            last_message_dts: Some(render(agent_last, rng)),
            status: Some(if left.is_some() { "left" } else { "joined" }.into()),
            left_dts: left,
        });
    }
    // Unanswered customers are what agents look for.
    let unread = customer_last == Some(last_message) && rng.percent(70);
    Stored {
        conversation: types::Conversation {
            conversation_arn: Some(conversation_arn(&uuid)),
            conversation_uuid: Some(uuid),
            merchant_id: Some(MERCHANT_ID.into()),
            messages: Some(messages),
            participants: Some(participants),
        },
        unread,
    }
}

const FIRST_NAMES: &[&str] = &[
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
    "Mia", "Mateo", "Amelia", "Ethan", "Harper", "Aiden", "Evelyn", "Jackson", "Abigail", "Levi",
    "Chloe", "Wei", "Aisha", "Kenji", "Fatima", "Dmitri", "Ingrid", "Rafael", "Zoe", "Omar",
];

const LAST_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Nguyen",
    "Kim",
    "Patel",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Okonkwo",
];

/// Agents and the slug of their participant ARN.
const AGENTS: &[(&str, &str)] = &[
    ("Maya Chen", "maya-chen"),
    ("Luis Ortega", "luis-ortega"),
    ("Priya Natarajan", "priya-natarajan"),
    ("Sam Okafor", "sam-okafor"),
    ("Hannah Berg", "hannah-berg"),
    ("Diego Alvarez", "diego-alvarez"),
];

/// Scripts that alternate customer and agent, customer first; a
/// conversation uses the first few lines of one.
const TOPICS: &[&[&str]] = &[
    &[
        "Hi, where is my order {order}? It said it shipped on Monday.",
        "Hi {first}, this is {agent}. Let me look that up for you.",
        "Thanks. I need it before the weekend if possible.",
        "It is with UPS and out for delivery today. Tracking: 1Z999AA10123456784.",
        "Perfect, thank you!",
        "You're welcome! Anything else I can help with?",
    ],
    &[
        "My package arrived damaged. Here is a photo of the box.",
        "I'm so sorry about that, {first}. Which item on order {order} was damaged?",
        "The glass carafe is cracked. Another photo of it attached.",
        "I've sent a replacement at no charge; it ships tomorrow. No need to return the broken one.",
        "Wow, that was quick. Thanks {agent}.",
    ],
    &[
        "Can I change the shipping address on {order}?",
        "Hi {first}! It hasn't shipped yet, so yes. What's the new address?",
        "1200 Market St, Apt 4B, San Francisco, CA 94102",
        "Done. You'll get an updated confirmation email in a few minutes.",
        "Got it, thanks!",
    ],
    &[
        "Do you have the trail runner in a size 10.5 wide?",
        "Hi {first}, this is {agent}. We have it in black and slate grey.",
        "Black please. Can I use the code SUMMER15?",
        "SUMMER15 works on that item. I've put one on hold for you for 24 hours.",
        "Ordering now. Thanks!",
        "Enjoy your run!",
    ],
    &[
        "I'd like to pause my coffee subscription for a month.",
        "No problem, {first}. I can skip your next shipment or pause for 30 days.",
        "Pause for 30 days please.",
        "Paused. Your next shipment will go out a month later than scheduled.",
    ],
    &[
        "My card was declined but I was still charged?",
        "Hi {first}, that is an authorization hold, not a charge. It drops off within 3-5 business days.",
        "OK. Can you try the order again with my other card?",
        "I've sent you a secure payment link for {order}.",
        "Paid, it went through this time.",
        "Great, your order is confirmed. Thanks for your patience!",
    ],
    &[
        "How do I return something? It doesn't fit.",
        "Hi {first}! Returns are free within 30 days. I'll email you a prepaid label for {order}.",
        "Do I need the original box?",
        "Any box is fine. Your refund is issued as soon as the carrier scans the package.",
        "Great, thanks {agent}.",
    ],
    &[
        "Is the espresso grinder compatible with 220V?",
        "Hi {first}, this is {agent}. The model we sell is 110V only, sorry.",
        "Is a 220V version coming?",
        "The manufacturer expects one next quarter. I can notify you when it's in stock.",
        "Yes please, notify me.",
    ],
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeding_is_deterministic_and_newest_first() {
        let (a, _) = conversations(40);
        let (b, _) = conversations(40);
        let uuids = |v: &[Stored]| -> Vec<_> {
            v.iter()
                .map(|s| s.conversation.conversation_uuid.clone())
                .collect()
        };
        assert_eq!(uuids(&a), uuids(&b));
        let last = |s: &Stored| {
            s.conversation
                .messages
                .as_ref()
                .unwrap()
                .last()
                .unwrap()
                .message_dts
                .clone()
                .unwrap()
                .utc()
                .unwrap()
        };
        assert!(a.windows(2).all(|w| last(&w[0]) > last(&w[1])));
        assert!(a.iter().any(|s| s.unread) && a.iter().any(|s| !s.unread));
    }
}
