//! Listing every conversation as a stream, with pages fetched ahead.

use std::{
    collections::VecDeque,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use futures::{StreamExt, TryStreamExt, stream::BoxStream};
use tokio::task::{JoinError, JoinHandle};

pub(crate) mod plan;

use plan::{Next, PageFacts};

use crate::{
    Client, Error,
    api::validate::{self, MAX_PAGE_SIZE},
    types::{ConversationSummary, ConversationsResponse, ResultSet, Warning},
};

/// More pages ahead than this buys nothing and only holds memory.
const MAX_PREFETCH: usize = 16;

/// Walks `getConversations` page by page; made by [`Client::conversations`].
///
/// It follows the server's `metadata.result_set`: it stops when `more` is
/// false, when a page is empty, or after [`max_items`](Self::max_items), and
/// ends with [`Error::Pagination`] rather than loop when the server's
/// `next_offset` does not move forward. Items come out in server order,
/// exactly once each.
///
/// While the caller works through one page, the next
/// [`prefetch`](Self::prefetch) pages are already being fetched, in
/// background tasks on the current Tokio runtime. They still pass through
/// the client's in-flight gate, so with the default client they overlap the
/// caller's work without ever being concurrent with each other. Memory stays
/// bounded by about `prefetch + 1` pages whatever the total, and dropping
/// the stream cancels whatever is in flight.
///
/// Fetching ahead guesses that the next page starts where the last one
/// ended, and checks the guess against the server's `next_offset` when the
/// page arrives (a wrong guess is dropped and the right page fetched). When
/// the server does not say how many records there are, a listing can end
/// with up to `prefetch` requests past the last page, which are cancelled.
///
/// ```no_run
/// # async fn run(client: ultracart_conversation::Client) -> Result<(), ultracart_conversation::Error> {
/// use futures::TryStreamExt;
///
/// let all: Vec<_> = client.conversations().items().try_collect().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a pager does nothing until `items()` or `pages()` is polled"]
pub struct ConversationPager {
    client: Client,
    page_size: u32,
    start_offset: u32,
    max_items: Option<u64>,
    prefetch: usize,
}

impl Client {
    /// Lists conversation summaries, newest first, across every page.
    ///
    /// ```no_run
    /// # async fn run(client: ultracart_conversation::Client) -> Result<(), ultracart_conversation::Error> {
    /// use futures::TryStreamExt;
    ///
    /// let mut items = client.conversations().max_items(1_000).items();
    /// while let Some(summary) = items.try_next().await? {
    ///     println!("{:?}", summary.conversation_uuid);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn conversations(&self) -> ConversationPager {
        ConversationPager {
            client: self.clone(),
            page_size: MAX_PAGE_SIZE,
            start_offset: 0,
            max_items: None,
            prefetch: 1,
        }
    }
}

impl ConversationPager {
    /// Items per request, 1 to 200 (default 200, the most UltraCart serves).
    /// A value out of range makes the stream yield one
    /// [`Error::InvalidInput`] and end.
    ///
    /// ```no_run
    /// # fn f(client: ultracart_conversation::Client) {
    /// let pages = client.conversations().page_size(50).pages();
    /// # }
    /// ```
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size;
        self
    }

    /// Zero-based offset of the first item (default 0).
    ///
    /// ```no_run
    /// # fn f(client: ultracart_conversation::Client) {
    /// let rest = client.conversations().start_offset(400).items();
    /// # }
    /// ```
    pub fn start_offset(mut self, offset: u32) -> Self {
        self.start_offset = offset;
        self
    }

    /// Stops after this many items; the last request asks only for what is
    /// still wanted.
    ///
    /// ```no_run
    /// # fn f(client: ultracart_conversation::Client) {
    /// let newest_ten = client.conversations().max_items(10).items();
    /// # }
    /// ```
    pub fn max_items(mut self, max_items: u64) -> Self {
        self.max_items = Some(max_items);
        self
    }

    /// How many pages to fetch ahead of the one being consumed (default 1,
    /// at most 16; 0 fetches each page only when it is asked for). With a
    /// gate wider than one ([`max_in_flight`](crate::ClientBuilder::max_in_flight)),
    /// up to this many pages are fetched at once.
    ///
    /// ```no_run
    /// # fn f(client: ultracart_conversation::Client) {
    /// let sequential = client.conversations().prefetch(0).items();
    /// # }
    /// ```
    pub fn prefetch(mut self, pages: usize) -> Self {
        self.prefetch = pages.min(MAX_PREFETCH);
        self
    }

    /// A stream of pages, each with its items and the server's `ResultSet`.
    ///
    /// ```no_run
    /// # async fn run(client: ultracart_conversation::Client) -> Result<(), ultracart_conversation::Error> {
    /// use futures::TryStreamExt;
    ///
    /// let mut pages = client.conversations().pages();
    /// while let Some(page) = pages.try_next().await? {
    ///     let total = page.result_set().and_then(|r| r.total_records);
    ///     println!("{} items at offset {} of {total:?}", page.len(), page.offset());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn pages(self) -> BoxStream<'static, Result<ConversationPage, Error>> {
        let walk =
            match validate::page_limit(self.page_size).and(validate::offset(self.start_offset)) {
                Ok(_) => Walk::new(self),
                Err(error) => Walk::failed(self, error),
            };
        futures::stream::unfold(walk, |mut walk| async move {
            let page = walk.next_page().await?;
            Some((page, walk))
        })
        .boxed()
    }

    /// A stream of every conversation summary.
    ///
    /// ```no_run
    /// # async fn run(client: ultracart_conversation::Client) -> Result<(), ultracart_conversation::Error> {
    /// use futures::TryStreamExt;
    ///
    /// let unread = client
    ///     .conversations()
    ///     .items()
    ///     .try_filter(|s| futures::future::ready(s.unread_messages == Some(true)))
    ///     .try_collect::<Vec<_>>()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn items(self) -> BoxStream<'static, Result<ConversationSummary, Error>> {
        self.pages()
            .map_ok(|page| futures::stream::iter(page.items.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}

/// One page of a listing.
///
/// ```no_run
/// # async fn run(client: ultracart_conversation::Client) -> Result<(), ultracart_conversation::Error> {
/// use futures::TryStreamExt;
///
/// if let Some(page) = client.conversations().pages().try_next().await? {
///     for summary in page.items() {
///         println!("{:?}", summary.last_conversation_message_body);
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ConversationPage {
    offset: u32,
    items: Vec<ConversationSummary>,
    result_set: Option<ResultSet>,
    warning: Option<Warning>,
}

impl ConversationPage {
    /// The offset this page was requested at.
    ///
    /// ```no_run
    /// # fn f(page: ultracart_conversation::ConversationPage) {
    /// println!("{}", page.offset());
    /// # }
    /// ```
    pub fn offset(&self) -> u32 {
        self.offset
    }

    /// The summaries on this page, in server order.
    ///
    /// ```no_run
    /// # fn f(page: ultracart_conversation::ConversationPage) {
    /// let first = page.items().first();
    /// # }
    /// ```
    pub fn items(&self) -> &[ConversationSummary] {
        &self.items
    }

    /// Takes the summaries.
    ///
    /// ```no_run
    /// # fn f(page: ultracart_conversation::ConversationPage) {
    /// let owned: Vec<_> = page.into_items();
    /// # }
    /// ```
    pub fn into_items(self) -> Vec<ConversationSummary> {
        self.items
    }

    /// The server's paging metadata for this page, if it sent any.
    ///
    /// ```no_run
    /// # fn f(page: ultracart_conversation::ConversationPage) {
    /// let more = page.result_set().and_then(|r| r.more);
    /// # }
    /// ```
    pub fn result_set(&self) -> Option<&ResultSet> {
        self.result_set.as_ref()
    }

    /// A warning UltraCart attached to the answer, if any.
    ///
    /// ```no_run
    /// # fn f(page: ultracart_conversation::ConversationPage) {
    /// if let Some(w) = page.warning() { eprintln!("{:?}", w.warning_message); }
    /// # }
    /// ```
    pub fn warning(&self) -> Option<&Warning> {
        self.warning.as_ref()
    }

    /// How many summaries the page holds.
    ///
    /// ```no_run
    /// # fn f(page: ultracart_conversation::ConversationPage) {
    /// println!("{}", page.len());
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the page holds no summaries.
    ///
    /// ```no_run
    /// # fn f(page: ultracart_conversation::ConversationPage) {
    /// assert!(!page.is_empty());
    /// # }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// A page request running in a background task, cancelled when dropped.
struct Fetch {
    offset: u32,
    limit: u32,
    task: AbortOnDrop<Result<ConversationsResponse, Error>>,
}

struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

/// The state of one listing.
struct Walk {
    client: Client,
    page_size: u32,
    prefetch: usize,
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
}

impl Walk {
    fn new(pager: ConversationPager) -> Self {
        Self {
            client: pager.client,
            page_size: pager.page_size,
            prefetch: pager.prefetch,
            items_left: pager.max_items,
            in_flight: VecDeque::new(),
            next_offset: Some(pager.start_offset),
            total_records: None,
            pending_error: None,
        }
    }

    fn failed(pager: ConversationPager, error: Error) -> Self {
        Self {
            pending_error: Some(error),
            next_offset: None,
            ..Self::new(pager)
        }
    }

    async fn next_page(&mut self) -> Option<Result<ConversationPage, Error>> {
        if let Some(error) = self.pending_error.take() {
            self.stop();
            return Some(Err(error));
        }
        // While the caller waits for the next page, `prefetch` more are
        // under way behind it: the request after it leaves as soon as its
        // body is read, so decoding one page overlaps fetching the next.
        self.top_up(self.prefetch + 1);
        let fetch = self.in_flight.pop_front()?;
        let response = match fetch.task.await {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => {
                self.stop();
                return Some(Err(error));
            }
            // The task is aborted only when its fetch is dropped, so it can
            // only have panicked.
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        };

        let mut items = response.conversations.unwrap_or_default();
        let result_set = response.metadata.and_then(|m| m.result_set);
        if let Some(total) = result_set.as_ref().and_then(|r| r.total_records) {
            self.total_records = u64::try_from(total).ok();
        }
        let left_after = self
            .items_left
            .map(|left| left.saturating_sub(items.len() as u64));
        let facts = PageFacts {
            offset: fetch.offset,
            limit: fetch.limit,
            items: items.len(),
            result_set: result_set.as_ref(),
        };
        match plan::next_after(facts, left_after) {
            Next::Fetch { offset } => {
                if self.in_flight.front().map(|f| f.offset) != Some(offset) {
                    // The server paged differently from the guess: drop
                    // what was fetched ahead and follow the server.
                    self.in_flight.clear();
                    self.next_offset = Some(offset);
                }
            }
            Next::Done => self.stop(),
            Next::Broken(message) => {
                self.stop();
                self.pending_error = Some(Error::pagination(message));
            }
        }
        if let Some(left) = self.items_left {
            items.truncate(usize::try_from(left).unwrap_or(usize::MAX));
            self.items_left = Some(left.saturating_sub(items.len() as u64));
        }
        if items.is_empty() {
            return self.pending_error.take().map(Err);
        }
        self.top_up(self.prefetch);
        Some(Ok(ConversationPage {
            offset: fetch.offset,
            items,
            result_set,
            warning: response.warning,
        }))
    }

    fn stop(&mut self) {
        self.in_flight.clear();
        self.next_offset = None;
    }

    /// Starts requests until `target` are under way. The first one is the
    /// page the caller needs next; the rest are guesses at where the server
    /// will go (`offset + limit`), checked when each page arrives.
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
            let task = tokio::spawn(async move { client.get_conversations(limit, offset).await });
            self.in_flight.push_back(Fetch {
                offset,
                limit,
                task: AbortOnDrop(task),
            });
            self.next_offset = offset
                .checked_add(limit)
                .filter(|next| *next <= i32::MAX as u32);
        }
    }
}
