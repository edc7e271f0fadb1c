//! Inboxes that change, served over real HTTP by the scripted server (which
//! counts requests and how many were in flight at once): one that changes
//! in wall-clock time, what a watch follows on a live account; and one that
//! moves under a listing's pages, as the demo server's busy inbox does.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tokio::task::JoinHandle;
use ultracart_conversation::{Timestamp, types};

use super::scripted::{Received, Reply, ScriptedServer};

/// How the server orders conversations whose latest messages share a
/// second (its times have one-second resolution).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ties {
    /// The one that changed last comes first, as a move to the top does.
    Recency,
    /// By uuid: a change can land anywhere among those of its second.
    Uuid,
}

#[derive(Debug)]
struct State {
    /// uuid and latest second, in move-to-top order.
    conversations: Vec<(String, i64)>,
    /// Every change made: the conversation and its new second.
    changes: Vec<(String, i64)>,
    ties: Ties,
    made: usize,
    prefix: String,
    /// How long each answer takes.
    delay: Duration,
}

pub struct ChangingInbox {
    pub server: ScriptedServer,
    state: Arc<Mutex<State>>,
    changer: Mutex<Option<JoinHandle<()>>>,
}

pub fn now_second() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl ChangingInbox {
    /// `count` conversations, the newest a minute old and one a minute
    /// apart below it.
    pub async fn start(count: usize, ties: Ties) -> Self {
        Self::start_named(count, ties, "conv").await
    }

    /// As [`start`](Self::start), its uuids beginning `prefix-`: for tests
    /// that must tell two inboxes' conversations apart.
    pub async fn start_named(count: usize, ties: Ties, prefix: &str) -> Self {
        let newest = now_second() - 60;
        let conversations = (0..count)
            .map(|i| (format!("{prefix}-{i:05}"), newest - 60 * i as i64))
            .collect();
        let state = Arc::new(Mutex::new(State {
            conversations,
            changes: Vec::new(),
            ties,
            made: count,
            prefix: prefix.to_string(),
            delay: Duration::ZERO,
        }));
        let served = state.clone();
        let server = ScriptedServer::start(move |request, _| page(&served, request)).await;
        Self {
            server,
            state,
            changer: Mutex::new(None),
        }
    }

    /// From now on, `per_second` changes a second: mostly a customer
    /// writing again in a random conversation, one in ten a new one.
    pub fn start_changing(&self, per_second: u32) {
        let state = self.state.clone();
        let period = Duration::from_secs_f64(1.0 / f64::from(per_second));
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                change(&state);
            }
        });
        *self.changer.lock().unwrap() = Some(task);
    }

    pub fn stop_changing(&self) {
        if let Some(task) = self.changer.lock().unwrap().take() {
            task.abort();
        }
    }

    /// From now on each answer takes `delay`: a request is then in flight
    /// for long enough to be caught there.
    pub fn answer_after(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    /// Gives `uuid` a new message now (starting it if it is new).
    pub fn touch(&self, uuid: &str) {
        let mut state = self.state.lock().unwrap();
        let second = now_second();
        state.conversations.retain(|(u, _)| u != uuid);
        state.conversations.insert(0, (uuid.to_string(), second));
        state.changes.push((uuid.to_string(), second));
    }

    /// Every change made so far, oldest first.
    pub fn changes(&self) -> Vec<(String, i64)> {
        self.state.lock().unwrap().changes.clone()
    }

    /// Every conversation there is now.
    /// How many listing requests the inbox has answered.
    pub fn listing_requests(&self) -> usize {
        self.server.listing_requests()
    }

    pub fn uuids(&self) -> Vec<String> {
        let state = self.state.lock().unwrap();
        state.conversations.iter().map(|(u, _)| u.clone()).collect()
    }
}

impl Drop for ChangingInbox {
    fn drop(&mut self) {
        self.stop_changing();
    }
}

fn change(state: &Mutex<State>) {
    let mut state = state.lock().unwrap();
    let second = now_second();
    let uuid = if state.conversations.is_empty() || fastrand::u32(..10) == 0 {
        state.made += 1;
        format!("{}-{:05}", state.prefix, state.made)
    } else {
        let at = fastrand::usize(..state.conversations.len());
        state.conversations.remove(at).0
    };
    state.conversations.insert(0, (uuid.clone(), second));
    state.changes.push((uuid, second));
}

fn page(state: &Mutex<State>, request: &Received) -> Reply {
    let state = state.lock().unwrap();
    let mut ordered = state.conversations.clone();
    if state.ties == Ties::Uuid {
        ordered.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }
    listed(&ordered, request).delay(state.delay)
}

/// A summary as UltraCart writes it: the time in `-04:00`, to the second.
pub fn summary(uuid: &str, second: i64) -> types::ConversationSummary {
    let edt = chrono::FixedOffset::west_opt(4 * 3600).unwrap();
    let dts = chrono::DateTime::from_timestamp(second, 0)
        .unwrap()
        .with_timezone(&edt)
        .to_rfc3339();
    types::ConversationSummary {
        conversation_uuid: Some(uuid.into()),
        last_message_dts: Some(Timestamp::parse(dts)),
        last_conversation_message_body: Some(format!("message at {second}")),
        ..Default::default()
    }
}

/// The demo server's busy inbox (`DemoServerBuilder::busy_inbox`) served by
/// the scripted server, which counts requests in flight: before each
/// listing page but the first, `moves` conversations the page has not
/// reached (at or after its offset) get a message and jump to the top, and
/// `starts` new ones start there. Each answer takes `delay`, so requests
/// that overlap are seen to.
pub struct BusyInbox {
    pub server: ScriptedServer,
    state: Arc<Mutex<Vec<(String, i64)>>>,
}

impl BusyInbox {
    pub async fn start(count: usize, moves: usize, starts: usize, delay: Duration) -> Self {
        let newest = now_second() - 60;
        let conversations: Vec<_> = (0..count)
            .map(|i| (format!("conv-{i:05}"), newest - 60 * i as i64))
            .collect();
        let state = Arc::new(Mutex::new(conversations));
        let served = state.clone();
        let rng = Mutex::new(fastrand::Rng::with_seed(7));
        let made = Mutex::new(count);
        let server = ScriptedServer::start(move |request, index| {
            let offset = request.query_number("_offset").unwrap_or(0);
            if index > 0 {
                let mut conversations = served.lock().unwrap();
                let mut rng = rng.lock().unwrap();
                let second = now_second();
                for _ in 0..moves {
                    if offset >= conversations.len() {
                        break;
                    }
                    let at = rng.usize(offset..conversations.len());
                    let (uuid, _) = conversations.remove(at);
                    conversations.insert(0, (uuid, second));
                }
                let mut made = made.lock().unwrap();
                for _ in 0..starts {
                    *made += 1;
                    conversations.insert(0, (format!("conv-{:05}", *made), second));
                }
            }
            listed(&served.lock().unwrap(), request).delay(delay)
        })
        .await;
        Self { server, state }
    }

    /// Every conversation there is now.
    pub fn uuids(&self) -> Vec<String> {
        let conversations = self.state.lock().unwrap();
        conversations.iter().map(|(u, _)| u.clone()).collect()
    }
}

/// The page of `conversations` (newest first) that `request` asks for.
fn listed(conversations: &[(String, i64)], request: &Received) -> Reply {
    let limit = request.query_number("_limit").unwrap_or(100);
    let offset = request.query_number("_offset").unwrap_or(0);
    let total = conversations.len();
    let page: Vec<_> = conversations
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(uuid, second)| summary(uuid, *second))
        .collect();
    let count = page.len();
    let number = |n: usize| Some(n as i32);
    Reply::json(
        200,
        &types::ConversationsResponse {
            conversations: Some(page),
            metadata: Some(types::ResponseMetadata {
                payload_name: None,
                result_set: Some(types::ResultSet {
                    count: number(count),
                    limit: number(limit),
                    more: Some(offset + count < total),
                    next_offset: number(offset + count),
                    offset: number(offset),
                    total_records: number(total),
                }),
            }),
            success: Some(true),
            ..Default::default()
        },
    )
}
