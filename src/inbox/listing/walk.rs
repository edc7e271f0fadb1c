//! The state of one listing: the walk down the pages, then the read at the
//! top that catches what moved up meanwhile.

use std::{collections::VecDeque, sync::Arc};

use tokio::sync::oneshot;
use tokio_util::task::AbortOnDropHandle;

use super::{
    ConversationPager,
    depth::Depth,
    page::ConversationPage,
    seen::{self, Keys, Mark, Seen, Sighting},
};
use crate::{
    Client, Error,
    api::answer::decode,
    inbox::scan::plan::{self, Next, PageFacts},
    types::ConversationsResponse,
};

/// Reads at the top after the walk, at the most.
const MAX_CATCH_UPS: u32 = 3;
/// Pages in a row with nothing new before the server is taken to be
/// answering the same conversations over and over.
const MAX_STALE_PAGES: u32 = 4;

/// A page and its conversations' marks, computed beside the request so that
/// hashing overlaps the caller's work.
type Fetched = Result<(ConversationsResponse, Vec<Mark>), Error>;

/// A page request running in a background task, cancelled when dropped.
struct Fetch {
    offset: u32,
    limit: u32,
    /// Its place in line (depth.rs).
    place: u64,
    task: AbortOnDropHandle<Fetched>,
}

/// Where a listing is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Walking down the pages.
    Walk,
    /// Reading from the top again, the `n`th time, down to the first
    /// conversation that did not change since it was yielded.
    CatchUp {
        n: u32,
        found_new: bool,
    },
    Done,
}

/// The state of one listing.
pub(super) struct Walk {
    client: Client,
    page_size: u32,
    depth: Depth,
    /// Whether the listing covers the whole inbox, and so reads at the top
    /// after the walk.
    whole_inbox: bool,
    /// Items the caller still wants (`None`: all).
    items_left: Option<u64>,
    /// Requests under way, in offset order.
    in_flight: VecDeque<Fetch>,
    /// Where the next request starts; `None` once nothing more is wanted.
    next_offset: Option<u32>,
    /// From the latest page, to avoid fetching ahead past the end.
    total_records: Option<u64>,
    /// Delivered after the page that preceded it.
    pending_error: Option<Error>,
    phase: Phase,
    keys: Arc<Keys>,
    seen: Seen,
    stale_pages: u32,
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

impl Walk {
    pub(super) fn new(pager: ConversationPager) -> Self {
        Self {
            client: pager.client,
            page_size: pager.page_size,
            depth: Depth::new(pager.prefetch),
            whole_inbox: pager.start_offset == 0,
            items_left: pager.max_items,
            in_flight: VecDeque::new(),
            next_offset: Some(pager.start_offset),
            total_records: None,
            pending_error: None,
            phase: Phase::Walk,
            keys: Arc::new(Keys::default()),
            seen: Seen::new(),
            stale_pages: 0,
            last_answered: None,
        }
    }

    pub(super) fn failed(pager: ConversationPager, error: Error) -> Self {
        Self {
            pending_error: Some(error),
            next_offset: None,
            phase: Phase::Done,
            ..Self::new(pager)
        }
    }

    /// The next page with something new on it, or the listing's end.
    pub(super) async fn next_page(&mut self) -> Option<Result<ConversationPage, Error>> {
        let _waiting = self.depth.waiting();
        loop {
            if let Some(error) = self.pending_error.take() {
                self.stop();
                return Some(Err(error));
            }
            // Whether the page fetched ahead is ready when the caller asks
            // for it says how far ahead to fetch (depth.rs).
            if let Some(ahead) = self.in_flight.front() {
                self.depth.asked(ahead.task.is_finished());
            }
            // While the caller waits for this page, more are under way
            // behind it, so that decoding one overlaps fetching the next.
            self.top_up(self.ahead() + 1);
            let fetch = self.in_flight.pop_front()?;
            self.depth.took(fetch.place);
            let (response, marks) = match fetch.task.await {
                Ok(Ok(fetched)) => fetched,
                Ok(Err(error)) => {
                    self.stop();
                    return Some(Err(error));
                }
                // The task is aborted only when its fetch is dropped, so
                // it can only have panicked.
                Err(join) => std::panic::resume_unwind(join.into_panic()),
            };
            if let Some(page) = self.read(fetch.offset, fetch.limit, response, &marks) {
                self.top_up(self.ahead());
                return Some(Ok(page));
            }
        }
    }

    /// Takes in one page: keeps what is new, and decides where to go next.
    /// `None` when nothing on it is new.
    fn read(
        &mut self,
        offset: u32,
        limit: u32,
        response: ConversationsResponse,
        marks: &[Mark],
    ) -> Option<ConversationPage> {
        let mut new = response.conversations.unwrap_or_default();
        let result_set = response.metadata.and_then(|m| m.result_set);
        if let Some(total) = result_set.as_ref().and_then(|r| r.total_records) {
            self.total_records = u64::try_from(total).ok();
            self.seen.expect(self.total_records.unwrap_or(0));
        }
        let total_items = new.len();
        let catching_up = matches!(self.phase, Phase::CatchUp { .. });
        let seen = &mut self.seen;
        let mut marks = marks.iter();
        let mut reached_unchanged = false;
        let mut only_repeats = total_items > 0;
        // In place: a page of new conversations, the usual page, is kept
        // without moving a summary (copying them was a fiftieth of a
        // listing). `retain` visits the summaries once, in order.
        new.retain(|_| {
            let Some(mark) = marks.next().filter(|_| !reached_unchanged) else {
                return false;
            };
            let sighting = seen.record(*mark);
            only_repeats &= sighting == Sighting::AgainThisRound;
            match sighting {
                Sighting::New => true,
                // Unchanged since an earlier round read it: everything
                // below is older and unchanged too. (Within a walk, rounds
                // are off and this is an ordinary repeat.)
                Sighting::Unchanged if catching_up => {
                    reached_unchanged = true;
                    false
                }
                Sighting::Unchanged | Sighting::Changed | Sighting::AgainThisRound => false,
            }
        });
        if let Some(left) = self.items_left {
            new.truncate(usize::try_from(left).unwrap_or(usize::MAX));
            self.items_left = Some(left.saturating_sub(new.len() as u64));
        }
        let facts = PageFacts {
            offset,
            limit,
            items: total_items,
            result_set: result_set.as_ref(),
        };
        let stale = match self.phase {
            Phase::CatchUp { .. } => only_repeats,
            _ => new.is_empty() && total_items > 0,
        };
        self.advance(facts, new.is_empty(), stale, reached_unchanged);
        (!new.is_empty()).then(|| ConversationPage {
            offset,
            items: new,
            result_set,
            warning: response.warning,
        })
    }

    /// Where to go after a page that had `nothing_new` on it.
    /// `stale`: the page brought nothing a listing could use (in a walk,
    /// nothing new; in a read at the top, only what this read had met).
    fn advance(
        &mut self,
        facts: PageFacts<'_>,
        nothing_new: bool,
        stale: bool,
        reached_unchanged: bool,
    ) {
        self.stale_pages = if stale { self.stale_pages + 1 } else { 0 };
        if self.stale_pages >= MAX_STALE_PAGES {
            self.stop();
            self.pending_error = Some(Error::pagination(format!(
                "{MAX_STALE_PAGES} pages in a row brought only conversations already listed"
            )));
            return;
        }
        let next = plan::next_after(facts, self.items_left);
        if let Phase::CatchUp { n, found_new } = &mut self.phase {
            *found_new |= !nothing_new;
            let (n, found_new) = (*n, *found_new);
            match next {
                Next::Fetch { offset } if !reached_unchanged => self.next_offset = Some(offset),
                Next::Broken(message) => {
                    self.stop();
                    self.pending_error = Some(Error::pagination(message));
                }
                _ => self.catch_up_after(n, found_new),
            }
            return;
        }
        match next {
            Next::Fetch { offset } => {
                if self.in_flight.front().map(|f| f.offset) != Some(offset) {
                    // The server paged differently from the guess: drop
                    // what was fetched ahead and follow the server.
                    self.clear_in_flight();
                    self.next_offset = Some(offset);
                }
            }
            Next::Done if self.whole_inbox && self.items_left != Some(0) => {
                self.catch_up(1);
            }
            Next::Done => self.stop(),
            Next::Broken(message) => {
                self.stop();
                self.pending_error = Some(Error::pagination(message));
            }
        }
    }

    /// Starts the `n`th read at the top.
    fn catch_up(&mut self, n: u32) {
        // Requests fetched ahead past the end are of no use now.
        self.clear_in_flight();
        self.phase = Phase::CatchUp {
            n,
            found_new: false,
        };
        self.seen.start_round();
        self.stale_pages = 0;
        self.next_offset = Some(0);
    }

    /// After the `n`th read at the top: done, unless it found something new
    /// and there may be more.
    fn catch_up_after(&mut self, n: u32, found_new: bool) {
        let all_counted = self
            .total_records
            .is_some_and(|total| self.seen.len() as u64 >= total);
        if !found_new || all_counted || n >= MAX_CATCH_UPS || self.items_left == Some(0) {
            self.stop();
        } else {
            self.catch_up(n + 1);
        }
    }

    fn stop(&mut self) {
        self.clear_in_flight();
        self.next_offset = None;
        self.phase = Phase::Done;
    }

    /// Drops the fetches under way; whatever comes next starts a new chain.
    fn clear_in_flight(&mut self) {
        self.in_flight.clear();
        self.last_answered = None;
        self.depth.restart();
    }

    /// How many pages to fetch ahead: reads at the top go one at a time,
    /// since each may be the last.
    fn ahead(&self) -> usize {
        match self.phase {
            Phase::Walk => self.depth.pages(),
            Phase::CatchUp { .. } | Phase::Done => 0,
        }
    }

    /// Starts requests until `target` are under way. The first one is the
    /// page the caller needs next; the rest are guesses at where the server
    /// will go, checked when each page arrives.
    fn top_up(&mut self, target: usize) {
        while self.in_flight.len() < target {
            let Some(offset) = self.next_offset else {
                return;
            };
            let guessing = !self.in_flight.is_empty();
            if guessing
                && self
                    .total_records
                    .is_some_and(|total| u64::from(offset) >= total)
            {
                return;
            }
            let requested: u64 = self.in_flight.iter().map(|f| u64::from(f.limit)).sum();
            let wanted = self
                .items_left
                .map_or(u64::MAX, |left| left.saturating_sub(requested));
            if wanted == 0 {
                return;
            }
            let limit = self
                .page_size
                .min(u32::try_from(wanted).unwrap_or(u32::MAX));
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
                // The next page's request can leave now; let it, before
                // this page is decoded, so decoding overlaps its fetch.
                let_woken_tasks_run().await;
                let page: ConversationsResponse = decode::model(&answer?)?;
                let marks = seen::marks(&keys, page.conversations.as_deref().unwrap_or_default());
                Ok((page, marks))
            });
            self.in_flight.push_back(Fetch {
                offset,
                limit,
                place: number,
                task: AbortOnDropHandle::new(task),
            });
            self.next_offset = plan::guess_after(offset, limit);
        }
    }
}
