//! The listing's requests: pages fetched in background tasks, in offset
//! order, as many ahead as the depth allows, each decoded and marked beside
//! its request.

use std::{collections::VecDeque, sync::Arc};

use tokio::sync::oneshot;
use tokio_util::task::AbortOnDropHandle;

use super::depth::Depth;
use crate::{
    Client, Error,
    api::answer::decode,
    inbox::scan::{
        marks::{self, Keys, Mark},
        plan,
    },
    types::ConversationsResponse,
};

/// A page and its conversations' marks, computed beside the request so that
/// hashing overlaps the caller's work.
pub(super) type Fetched = Result<(ConversationsResponse, Vec<Mark>), Error>;

/// A page request running in a background task, cancelled when dropped.
pub(super) struct Fetch {
    pub(super) offset: u32,
    pub(super) limit: u32,
    /// Its place in line (depth.rs).
    place: u64,
    task: AbortOnDropHandle<Fetched>,
}

/// The requests of one listing.
pub(super) struct Fetcher {
    client: Client,
    page_size: u32,
    pub(super) depth: Depth,
    /// Requests under way, in offset order.
    in_flight: VecDeque<Fetch>,
    /// Where the next request starts; `None` once nothing more is wanted.
    next_offset: Option<u32>,
    keys: Arc<Keys>,
    /// Closes when the newest fetch's answer has been read: the next fetch
    /// waits for it, so that pages are served in the order of their
    /// offsets. A page served before the one above it would miss what moved
    /// down in between.
    last_answered: Option<oneshot::Receiver<()>>,
}

/// Lets the tasks already woken on this worker run first (the next page's,
/// whose request can leave now), then carries on. `tokio::task::yield_now`
/// waits instead until the worker has nothing else to do: when the
/// connection's reads land on the same worker, that is until the next page
/// has arrived whole, which put each fetch and the decoding before it end to
/// end. A task that wakes itself goes to the back of the run queue at once,
/// where an idle worker can also take it.
async fn let_woken_tasks_run() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut yielded, true) {
            return std::task::Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await;
}

impl Fetcher {
    pub(super) fn new(client: Client, page_size: u32, depth: Depth, start: Option<u32>) -> Self {
        Self {
            client,
            page_size,
            depth,
            in_flight: VecDeque::new(),
            next_offset: start,
            keys: Arc::new(Keys::default()),
            last_answered: None,
        }
    }

    /// The oldest request under way, taken out of line once it has
    /// been told how far ahead to fetch.
    pub(super) fn next(&mut self) -> Option<Fetch> {
        // Whether the page fetched ahead is ready when the caller asks for
        // it says how far ahead to fetch (depth.rs).
        if let Some(ahead) = self.in_flight.front() {
            self.depth.asked(ahead.task.is_finished());
        }
        let fetch = self.in_flight.pop_front()?;
        self.depth.took(fetch.place);
        Some(fetch)
    }

    /// Goes on at `offset`: the page already under way at the front, or,
    /// if the server paged differently from the guess, a new chain from
    /// there.
    pub(super) fn go_on_at(&mut self, offset: u32) {
        if self.in_flight.front().map(|f| f.offset) != Some(offset) {
            self.clear();
            self.next_offset = Some(offset);
        }
    }

    /// Sends nothing more.
    pub(super) fn stop(&mut self) {
        self.clear();
        self.next_offset = None;
    }

    /// Drops the fetches under way; whatever comes next starts a new chain.
    fn clear(&mut self) {
        self.in_flight.clear();
        self.last_answered = None;
        self.depth.restart();
    }

    /// Starts requests until `target` are under way. The first one is the
    /// page the caller needs next; the rest are guesses at where the server
    /// will go, checked when each page arrives. `items_left` bounds what is
    /// asked for, `total_records` how far guesses go.
    pub(super) fn top_up(
        &mut self,
        target: usize,
        items_left: Option<u64>,
        total_records: Option<u64>,
    ) {
        while self.in_flight.len() < target {
            let Some(offset) = self.next_offset else {
                return;
            };
            let guessing = !self.in_flight.is_empty();
            if guessing && total_records.is_some_and(|total| u64::from(offset) >= total) {
                return;
            }
            let requested: u64 = self.in_flight.iter().map(|f| u64::from(f.limit)).sum();
            let wanted = items_left.map_or(u64::MAX, |left| left.saturating_sub(requested));
            if wanted == 0 {
                return;
            }
            let limit = self
                .page_size
                .min(u32::try_from(wanted).unwrap_or(u32::MAX));
            self.spawn(offset, limit);
            self.next_offset = plan::guess_after(offset, limit);
        }
    }

    fn spawn(&mut self, offset: u32, limit: u32) {
        let client = self.client.clone();
        let keys = Arc::clone(&self.keys);
        let above = self.last_answered.take();
        let (answered, next_waits) = oneshot::channel::<()>();
        self.last_answered = Some(next_waits);
        let place = self.depth.place();
        let number = place.number();
        let task = tokio::spawn(async move {
            if let Some(above) = above {
                // Closed (or dropped) once the page above was read.
                let _ = above.await;
            }
            if !place.turn().await {
                // Nobody reads this: the listing is gone.
                return Err(Error::pagination("the listing was dropped"));
            }
            let answer = client.conversations_answer(limit, offset).await;
            drop(answered);
            // The next page's request can leave now; let it, before this
            // page is decoded, so decoding overlaps its fetch.
            let_woken_tasks_run().await;
            let page: ConversationsResponse = decode::model(&answer?)?;
            let marks = marks::marks(&keys, page.conversations.as_deref().unwrap_or_default());
            Ok((page, marks))
        });
        self.in_flight.push_back(Fetch {
            offset,
            limit,
            place: number,
            task: AbortOnDropHandle::new(task),
        });
    }
}

impl Fetch {
    /// The page, once fetched.
    pub(super) async fn page(self) -> Fetched {
        match self.task.await {
            Ok(fetched) => fetched,
            // The task is aborted only when its fetch is dropped, so it can
            // only have panicked.
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }
}
