//! What the demo server remembers between requests: the conversations,
//! the upload URLs it issued and the bytes uploaded to them.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, SystemTime},
};

use chrono::{DateTime, Utc};

use super::{
    live::{Churn, Flow, LeakyBucket},
    rng::Rng,
    seed::{self, DEMO_AGENT_ARN, DEMO_AGENT_NAME, MERCHANT_ID, Stored},
    token,
};
use crate::{AnswerShape, Timestamp, types};

/// Shared by the route handlers, which run on httpmock's server thread,
/// and the [`DemoServer`](super::DemoServer) handle.
pub(crate) type Shared = Arc<Mutex<State>>;

/// Locks the state. A panic while it was held cannot leave it half
/// updated in a way that matters to a demo, so poisoning is ignored rather
/// than turned into more panics.
pub(crate) fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What of an object key is escaped in its upload URL: all but the
/// characters a path segment may carry as they are, and the `/` between
/// segments.
const KEY_IN_PATH: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// How long an upload URL stays valid, as `X-Amz-Expires` says.
pub(crate) const UPLOAD_URL_LIFETIME: Duration = Duration::from_secs(900);

pub(crate) struct State {
    base_url: String,
    /// How the answers that UltraCart wraps in its envelope are sent.
    pub(crate) shape: AnswerShape,
    /// Newest first, the order of the listing.
    conversations: Vec<Stored>,
    uploads: HashMap<String, Upload>,
    /// Continues the seed's sequence, so started conversations and upload
    /// keys are deterministic too.
    rng: Rng,
    requests: usize,
    /// A live inbox, when the demo runs one.
    pub(crate) churn: Option<Churn>,
    /// An inbox that changes with the clock, when the demo runs one.
    pub(crate) flow: Option<Flow>,
    /// Every change the flow made: the conversation and its new time.
    changes: Vec<(String, Timestamp)>,
    /// UltraCart's rate limiter, when the demo runs one.
    pub(crate) bucket: Option<LeakyBucket>,
    throttled: usize,
    listings: usize,
    /// The only credentials accepted, when the demo is strict about them;
    /// `None`: any non-empty one.
    pub(crate) accepted: Option<Accepted>,
}

/// The credentials a strict demo accepts; every other one gets 401.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Accepted {
    pub(crate) api_keys: Vec<String>,
    pub(crate) bearer_tokens: Vec<String>,
}

impl std::fmt::Debug for Accepted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Credentials, even a demo's, stay out of Debug output.
        f.debug_struct("Accepted")
            .field("api_keys", &self.api_keys.len())
            .field("bearer_tokens", &self.bearer_tokens.len())
            .finish()
    }
}

struct Upload {
    signature: String,
    issued: SystemTime,
    bytes: Option<usize>,
}

/// Why the fake storage refused an upload.
pub(crate) enum StoreError {
    /// No upload URL was issued for the key.
    UnknownKey,
    SignatureMismatch,
    Expired,
}

impl State {
    pub(crate) fn seeded(count: usize, base_url: String, shape: AnswerShape) -> Self {
        let (conversations, rng) = seed::conversations(count);
        Self {
            base_url,
            shape,
            conversations,
            uploads: HashMap::new(),
            rng,
            requests: 0,
            churn: None,
            flow: None,
            changes: Vec::new(),
            bucket: None,
            throttled: 0,
            listings: 0,
            accepted: None,
        }
    }

    /// Counts a listing request, and before each but the first moves the
    /// inbox as a live one moves: conversations at or after `offset` (the
    /// listing has not reached them) get a message and jump to the top, and
    /// new ones start there.
    pub(crate) fn before_listing(&mut self, offset: usize, now: DateTime<Utc>) {
        self.listings += 1;
        let Some(churn) = self.churn.filter(|_| self.listings > 1) else {
            return;
        };
        for _ in 0..churn.moves {
            let unreached = self.conversations.len().saturating_sub(offset);
            if unreached == 0 {
                break;
            }
            let at = offset + self.rng.below(unreached as u64) as usize;
            let mut moved = self.conversations.remove(at);
            self.add_customer_message(&mut moved, now);
            self.conversations.insert(0, moved);
        }
        for _ in 0..churn.starts {
            self.start(&types::ConversationStartRequest::default(), now);
            // `start` put it first; it opens with the customer's message.
            let mut started = self.conversations.remove(0);
            self.add_customer_message(&mut started, now);
            self.conversations.insert(0, started);
        }
    }

    /// Makes the changes the clock has brought since the last request:
    /// mostly a customer writing again (the conversation moves to the top),
    /// one in ten a new conversation.
    pub(crate) fn follow_the_clock(&mut self) {
        let Some(flow) = &mut self.flow else {
            return;
        };
        for at in flow.due(std::time::Instant::now()) {
            let at = DateTime::<Utc>::from(at);
            let mut changed = if self.conversations.is_empty() || self.rng.below(10) == 0 {
                self.start(&types::ConversationStartRequest::default(), at);
                self.conversations.remove(0)
            } else {
                let index = self.rng.below(self.conversations.len() as u64) as usize;
                self.conversations.remove(index)
            };
            self.add_customer_message(&mut changed, at);
            let uuid = changed.conversation.conversation_uuid.clone();
            let dts = summary(&changed).last_message_dts;
            if let (Some(uuid), Some(dts)) = (uuid, dts) {
                self.changes.push((uuid, dts));
            }
            self.conversations.insert(0, changed);
        }
    }

    /// The changes the clock has brought so far, oldest first.
    pub(crate) fn changes(&self) -> &[(String, Timestamp)] {
        &self.changes
    }

    fn add_customer_message(&mut self, stored: &mut Stored, now: DateTime<Utc>) {
        let author = stored
            .conversation
            .participants
            .iter()
            .flatten()
            .find(|p| !is_demo_agent(p))
            .map(|p| {
                (
                    p.conversation_participant_arn.clone(),
                    p.conversation_participant_name.clone(),
                )
            })
            .unwrap_or((Some(format!("arn:demo:customer/{}", self.rng.hex(8))), None));
        let messages = stored.conversation.messages.get_or_insert_with(Vec::new);
        messages.push(types::ConversationMessage {
            author_conversation_participant_arn: author.0,
            author_conversation_participant_name: author.1,
            body: Some(format!("Any news? (message {})", messages.len() + 1)),
            media_urls: None,
            message_dts: Some(seed::render_eastern(now)),
        });
        stored.unread = true;
    }

    pub(crate) fn count_request(&mut self) {
        self.requests += 1;
    }

    /// Lets a request through the rate limiter, or says how long until
    /// one would be let in.
    pub(crate) fn admit(&mut self) -> Result<(), std::time::Duration> {
        let Some(bucket) = &mut self.bucket else {
            return Ok(());
        };
        bucket
            .admit(std::time::Instant::now())
            .inspect_err(|_| self.throttled += 1)
    }

    /// Requests the rate limiter refused.
    pub(crate) fn throttled(&self) -> usize {
        self.throttled
    }

    pub(crate) fn requests(&self) -> usize {
        self.requests
    }

    pub(crate) fn len(&self) -> usize {
        self.conversations.len()
    }

    pub(crate) fn uuids(&self) -> Vec<String> {
        self.conversations
            .iter()
            .filter_map(|s| s.conversation.conversation_uuid.clone())
            .collect()
    }

    /// One page of summaries, with paging metadata like UltraCart's.
    pub(crate) fn page(&self, limit: usize, offset: usize) -> types::ConversationsResponse {
        let total = self.conversations.len();
        let start = offset.min(total);
        let end = start.saturating_add(limit).min(total);
        let conversations: Vec<_> = self.conversations[start..end].iter().map(summary).collect();
        let count = conversations.len();
        types::ConversationsResponse {
            conversations: Some(conversations),
            metadata: Some(types::ResponseMetadata {
                payload_name: None,
                result_set: Some(types::ResultSet {
                    count: Some(int(count)),
                    limit: Some(int(limit)),
                    more: Some(offset.saturating_add(count) < total),
                    next_offset: Some(int(offset.saturating_add(count))),
                    offset: Some(int(offset)),
                    total_records: Some(int(total)),
                }),
            }),
            success: Some(true),
            ..Default::default()
        }
    }

    pub(crate) fn conversation(&self, uuid: &str) -> Option<types::Conversation> {
        self.find(uuid).map(|s| s.conversation.clone())
    }

    /// Starts a conversation with the demo agent and the requested
    /// participants; it becomes the newest.
    pub(crate) fn start(
        &mut self,
        request: &types::ConversationStartRequest,
        now: DateTime<Utc>,
    ) -> types::Conversation {
        let uuid = self.rng.uuid();
        let arn = request
            .conversation_arn
            .clone()
            .filter(|arn| !arn.trim().is_empty())
            .unwrap_or_else(|| seed::conversation_arn(&uuid));
        let mut participants = vec![self.participant(DEMO_AGENT_ARN, Some(DEMO_AGENT_NAME), now)];
        for added in request.add_conversation_participant_arns.iter().flatten() {
            let known = participants
                .iter()
                .any(|p| p.conversation_participant_arn.as_deref() == Some(added.as_str()));
            if !added.trim().is_empty() && !known {
                participants.push(self.participant(added, None, now));
            }
        }
        let conversation = types::Conversation {
            conversation_arn: Some(arn.clone()),
            conversation_uuid: Some(uuid.clone()),
            merchant_id: Some(MERCHANT_ID.into()),
            messages: Some(Vec::new()),
            participants: Some(participants),
        };
        self.conversations.insert(
            0,
            Stored {
                conversation: conversation.clone(),
                unread: false,
            },
        );
        conversation
    }

    /// Adds the demo agent to a conversation, or rejoins it. False when
    /// there is no such conversation.
    pub(crate) fn join(&mut self, uuid: &str, now: DateTime<Utc>) -> bool {
        let fresh = self.participant(DEMO_AGENT_ARN, Some(DEMO_AGENT_NAME), now);
        let Some(stored) = self.find_mut(uuid) else {
            return false;
        };
        let participants = stored
            .conversation
            .participants
            .get_or_insert_with(Vec::new);
        match participants.iter_mut().find(|p| is_demo_agent(p)) {
            Some(agent) => {
                agent.status = Some("joined".into());
                agent.joined_dts = fresh.joined_dts;
                agent.left_dts = None;
            }
            None => participants.push(fresh),
        }
        true
    }

    /// Marks the demo agent as having left. Leaving a conversation the agent
    /// is not in changes nothing. False when there is no such conversation.
    pub(crate) fn leave(&mut self, uuid: &str, now: DateTime<Utc>) -> bool {
        let Some(stored) = self.find_mut(uuid) else {
            return false;
        };
        let participants = stored.conversation.participants.iter_mut().flatten();
        for agent in participants.filter(|p| is_demo_agent(p)) {
            agent.status = Some("left".into());
            agent.left_dts = Some(seed::render_eastern(now));
        }
        true
    }

    /// Issues a presigned-looking URL on the demo server itself.
    /// `extension` has already been checked to be short and alphanumeric.
    pub(crate) fn issue_upload(
        &mut self,
        extension: &str,
    ) -> types::ConversationMultimediaUploadUrl {
        let key = format!("conversation/{MERCHANT_ID}/{}.{extension}", self.rng.uuid());
        let signature = token::presign_signature(&key, self.rng.next_u64());
        // The key as it is; in the URL, escaped (the storage decodes it).
        let path = percent_encoding::utf8_percent_encode(&key, KEY_IN_PATH);
        let url = format!(
            "{}/demo-storage/{path}?X-Amz-Signature={signature}&X-Amz-Expires={}",
            self.base_url,
            UPLOAD_URL_LIFETIME.as_secs()
        );
        self.uploads.insert(
            key.clone(),
            Upload {
                signature,
                issued: SystemTime::now(),
                bytes: None,
            },
        );
        types::ConversationMultimediaUploadUrl {
            key: Some(key),
            url: Some(url),
        }
    }

    /// Stores an upload's size if the key was issued, the signature is the
    /// one issued with it, and the URL has not expired.
    pub(crate) fn store_upload(
        &mut self,
        key: &str,
        signature: &str,
        bytes: usize,
    ) -> Result<(), StoreError> {
        let upload = self.uploads.get_mut(key).ok_or(StoreError::UnknownKey)?;
        if upload.signature != signature {
            return Err(StoreError::SignatureMismatch);
        }
        let age = upload.issued.elapsed().unwrap_or_default();
        if age > UPLOAD_URL_LIFETIME {
            return Err(StoreError::Expired);
        }
        upload.bytes = Some(bytes);
        Ok(())
    }

    pub(crate) fn uploaded(&self, key: &str) -> Option<usize> {
        self.uploads.get(key).and_then(|u| u.bytes)
    }

    fn participant(
        &mut self,
        arn: &str,
        name: Option<&str>,
        now: DateTime<Utc>,
    ) -> types::ConversationParticipant {
        types::ConversationParticipant {
            conversation_participant_arn: Some(arn.to_string()),
            conversation_participant_name: name.map(str::to_string),
            conversation_participant_uuid: Some(self.rng.uuid()),
            joined_dts: Some(seed::render_eastern(now)),
            last_message_dts: None,
            left_dts: None,
            status: Some("joined".into()),
        }
    }

    fn find(&self, uuid: &str) -> Option<&Stored> {
        self.conversations
            .iter()
            .find(|s| s.conversation.conversation_uuid.as_deref() == Some(uuid))
    }

    fn find_mut(&mut self, uuid: &str) -> Option<&mut Stored> {
        self.conversations
            .iter_mut()
            .find(|s| s.conversation.conversation_uuid.as_deref() == Some(uuid))
    }
}

fn is_demo_agent(participant: &types::ConversationParticipant) -> bool {
    participant.conversation_participant_arn.as_deref() == Some(DEMO_AGENT_ARN)
}

/// The model's counts are `int32`; a demo never gets near the limit.
fn int(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The listing's view of a conversation: its latest message and counts.
fn summary(stored: &Stored) -> types::ConversationSummary {
    let conversation = &stored.conversation;
    let messages = conversation.messages.as_deref().unwrap_or_default();
    let last = messages.last();
    types::ConversationSummary {
        conversation_arn: conversation.conversation_arn.clone(),
        conversation_uuid: conversation.conversation_uuid.clone(),
        merchant_id: conversation.merchant_id.clone(),
        last_conversation_message_body: last.and_then(|m| m.body.clone()),
        last_conversation_participant_arn: last
            .and_then(|m| m.author_conversation_participant_arn.clone()),
        last_conversation_participant_name: last
            .and_then(|m| m.author_conversation_participant_name.clone()),
        last_message_dts: last.and_then(|m| m.message_dts.clone()),
        message_count: Some(int(messages.len())),
        unread_messages: Some(stored.unread),
    }
}
