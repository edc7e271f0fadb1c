//! What a well-behaved UltraCart answers, as the crate's own models: one
//! place builds each kind of answer, and a model that changes breaks these
//! at compile time rather than a test's JSON at run time.
//!
//! Tests about a malformed, hostile, unknown-field or enveloped body write
//! that body by hand, on purpose: it is what they are about.

use ultracart_conversation::{Jwt, Timestamp, types};

/// A conversation that carries only its uuid.
pub fn conversation(uuid: &str) -> types::Conversation {
    types::Conversation {
        conversation_uuid: Some(uuid.into()),
        ..Default::default()
    }
}

/// The answer to `startConversation`: the new conversation's uuid.
pub fn started(uuid: &str) -> types::ConversationStartResponse {
    types::ConversationStartResponse {
        conversation_uuid: Some(uuid.into()),
        ..Default::default()
    }
}

/// An agent-auth answer with `jwt` and, when given, the websocket URL.
pub fn agent_auth(
    jwt: impl Into<String>,
    websocket_url: Option<&str>,
) -> types::ConversationAgentAuthResponse {
    types::ConversationAgentAuthResponse {
        jwt: Some(Jwt::new(jwt)),
        websocket_url: websocket_url.map(Into::into),
        ..Default::default()
    }
}

/// An agent-auth answer for agent 7 of merchant `DEMO`, with every field.
pub fn agent_seven(
    jwt: impl Into<String>,
    websocket_url: &str,
) -> types::ConversationAgentAuthResponse {
    types::ConversationAgentAuthResponse {
        conversation_participant_arn: Some("arn:participant:agent-7".into()),
        merchant_id: Some("DEMO".into()),
        twilio_phone_numbers: Some(vec!["+15555550100".into()]),
        ..agent_auth(jwt, Some(websocket_url))
    }
}

/// The answer to `getConversationMultimediaUploadUrl`: where to PUT a file
/// and the key it will have.
pub fn upload_url(key: &str, url: &str) -> types::ConversationMultimediaUploadUrlResponse {
    types::ConversationMultimediaUploadUrlResponse {
        conversation_multimedia_upload_url: Some(types::ConversationMultimediaUploadUrl {
            key: Some(key.into()),
            url: Some(url.into()),
        }),
        ..Default::default()
    }
}

/// UltraCart's error envelope.
pub fn error_body(code: u16, user: &str, developer: &str) -> types::ErrorResponse {
    types::ErrorResponse {
        error: Some(types::Error {
            developer_message: Some(developer.into()),
            error_code: Some(code.to_string()),
            more_info: Some("https://www.ultracart.com/api/".into()),
            object_id: Some("obj-42".into()),
            user_message: Some(user.into()),
        }),
        metadata: Some(types::ResponseMetadata {
            payload_name: Some("error".into()),
            result_set: None,
        }),
        success: Some(false),
        warning: None,
    }
}

/// A page of conversation summaries with its paging metadata: `count`
/// summaries numbered from `offset` (`conv-000042`, …), a limit of 200, no
/// total, no more pages and the next page right after this one, unless
/// told otherwise: `Page::new(0, 200).total(450).more(true).build()`.
#[derive(Clone, Debug)]
pub struct Page {
    offset: usize,
    count: usize,
    limit: usize,
    total: Option<usize>,
    more: bool,
    next_offset: Option<usize>,
}

impl Page {
    pub fn new(offset: usize, count: usize) -> Self {
        Self {
            offset,
            count,
            limit: 200,
            total: None,
            more: false,
            next_offset: None,
        }
    }

    /// The page size the server says it used.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// `total_records`; left out by default.
    pub fn total(self, total: usize) -> Self {
        self.total_if(true, total)
    }

    /// `total_records` only when `send` is true.
    pub fn total_if(mut self, send: bool, total: usize) -> Self {
        self.total = send.then_some(total);
        self
    }

    pub fn more(mut self, more: bool) -> Self {
        self.more = more;
        self
    }

    /// Where the server says the next page starts, if not right after
    /// this one.
    pub fn next_offset(mut self, next_offset: usize) -> Self {
        self.next_offset = Some(next_offset);
        self
    }

    pub fn build(self) -> types::ConversationsResponse {
        let number = |n: usize| Some(i32::try_from(n).expect("a page fits in i32"));
        let conversations = (self.offset..self.offset + self.count)
            .map(|i| types::ConversationSummary {
                conversation_uuid: Some(format!("conv-{i:06}")),
                conversation_arn: Some(format!("arn:conversation:{i}")),
                merchant_id: Some("DEMO".into()),
                message_count: number(i % 17),
                unread_messages: Some(i % 2 == 0),
                last_message_dts: Some(Timestamp::parse("2022-07-18T10:15:30-04:00")),
                last_conversation_message_body: Some(format!("message {i}")),
                ..Default::default()
            })
            .collect();
        types::ConversationsResponse {
            conversations: Some(conversations),
            metadata: Some(types::ResponseMetadata {
                payload_name: None,
                result_set: Some(types::ResultSet {
                    count: number(self.count),
                    limit: number(self.limit),
                    more: Some(self.more),
                    next_offset: number(self.next_offset.unwrap_or(self.offset + self.count)),
                    offset: number(self.offset),
                    total_records: self.total.and_then(number),
                }),
            }),
            success: Some(true),
            ..Default::default()
        }
    }
}
