//! Following an inbox: a stream of every conversation that is new or has a
//! new message, polled within the request budget, resumable from a
//! bookmark.

mod bookmark;
mod change;
mod follow;
#[cfg(feature = "redis")]
mod group;
mod poll;
mod poller;

use std::{
    fmt,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

pub use bookmark::Bookmark;
pub use change::Change;
use follow::Follow;
use futures::{Stream, StreamExt, stream::BoxStream};
#[cfg(feature = "redis")]
pub use group::{Delivery, GroupWatch, WatchGroup};
pub(crate) use poll::second_of;
use poller::{Poller, Start};

use crate::{Error, inbox::listing::ConversationPager};

/// No period is shorter than this, so that a zero cannot spin.
const SHORTEST_PERIOD: Duration = Duration::from_millis(10);
/// A watch that polls less than daily is no watch; a longer period would
/// only overflow the clock it is added to.
const LONGEST_PERIOD: Duration = Duration::from_secs(24 * 3_600);

/// Follows an inbox: a [`Stream`] of every conversation that is new or has
/// a new message (a later `last_message_dts`) since the watch began, each
/// change once and in its newest state. Made by
/// [`ConversationPager::watch`].
///
/// # How it polls
///
/// Every [`every`](Self::every) (default [`Watch::DEFAULT_PERIOD`], 7.2 s:
/// half of UltraCart's default hourly budget when the inbox is quiet) it
/// reads the listing from the top, newest first, down to the first
/// conversation older than what it has reported. A quiet poll therefore
/// costs one request; a burst costs the pages it spans, and then one read
/// at the top at once for what arrived while those pages were read. Each
/// poll's changes come oldest first. Requests go through the client's
/// pipeline like any other: its in-flight gate, pacing and retries apply,
/// so a watch and a listing on one client never have two requests in
/// flight, and a page size set on the pager
/// ([`page_size`](ConversationPager::page_size)) is the watch's too.
///
/// # On a changing inbox
///
/// UltraCart's times have one-second resolution. The watch remembers the
/// newest second it reported and the conversations it reported in it, so
/// several changes within one second are each reported once, none
/// dropped, whichever way the server orders them. A change made while a
/// poll reads its pages is at the top for the next read. A conversation
/// that gets two messages within one second is reported once for that
/// second, in the state the listing showed. Conversations without a
/// message yet (no `last_message_dts`) are reported when their first
/// message arrives, or by [`include_existing`](Self::include_existing);
/// summaries without a uuid are never reported.
///
/// # Errors
///
/// A transient failure (one [`Error::is_retryable`] calls so, once the
/// client's own retries are spent: a 429, a 5xx, a timeout, a broken
/// connection) is not yielded: it pushes the next poll back, twice as far
/// after each failure in a row (at most five minutes, never less than a
/// `Retry-After`, which is believed up to a day), and the watch goes on;
/// it is logged with `tracing` at warn level. Any other error is yielded
/// once, and the stream ends: among them [`Error::Pagination`], for a
/// server whose paging would never end a poll (a `next_offset` that goes
/// back, or four pages in a row of nothing but conversations the poll
/// already met, as from a proxy that ignores `_offset`).
///
/// # Resuming
///
/// Every [`Change`] carries the [`Bookmark`] that resumes right after it.
/// Save the one of the last change handled; a watch [`from`](Self::from)
/// it, in this process or another, reports everything after it once.
///
/// Dropping the watch stops it; a request under way finishes first. The
/// settings take effect when the stream is first polled.
///
#[doc = mock_fence!()]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ultracart_conversation::Error> {
/// # let demo = ultracart_conversation::mock::DemoServer::builder()
/// #     .conversations(50)
/// #     .changing_inbox(20.0)
/// #     .start()
/// #     .await;
/// # let client = demo.client()?;
/// use std::time::Duration;
/// use futures::TryStreamExt;
///
/// let mut watch = client.conversations().watch().every(Duration::from_millis(50));
/// while let Some(change) = watch.try_next().await? {
///     let summary = change.summary();
///     println!("{:?}: {:?}", summary.conversation_uuid, summary.last_conversation_message_body);
/// #   break;
/// }
/// # Ok(()) }
/// ```
#[must_use = "a watch does nothing until it is polled"]
pub struct Watch {
    pager: ConversationPager,
    every: Duration,
    from: Option<Bookmark>,
    include_existing: bool,
    stream: Option<BoxStream<'static, Result<Change, Error>>>,
}

impl ConversationPager {
    /// Follows the inbox: a [`Watch`] of every conversation that is new or
    /// has a new message from now on. The pager's
    /// [`page_size`](Self::page_size) is the watch's; its start offset,
    /// item cap and prefetch do not apply (a watch always reads from the
    /// top, one page at a time).
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(5).await;
    /// # let client = demo.client()?;
    /// use futures::{StreamExt, TryStreamExt};
    ///
    /// let watch = client.conversations().watch();
    /// # let all: Vec<_> = client.conversations().watch().include_existing().take(5).try_collect().await?;
    /// # assert_eq!(all.len(), 5);
    /// # let _ = watch;
    /// # Ok(()) }
    /// ```
    pub fn watch(self) -> Watch {
        Watch {
            pager: self,
            every: Watch::DEFAULT_PERIOD,
            from: None,
            include_existing: false,
            stream: None,
        }
    }
}

impl Watch {
    /// How often a watch polls unless told otherwise ([`every`](Self::every)):
    /// UltraCart's default budget is 1,000 requests an hour and a quiet
    /// poll costs one, so a quiet watch at 7.2 s spends half the budget
    /// (500 requests an hour) and leaves the other half to the rest of the
    /// application.
    ///
    /// ```
    /// # use ultracart_conversation::Watch;
    /// assert_eq!(Watch::DEFAULT_PERIOD.as_millis(), 7_200);
    /// ```
    pub const DEFAULT_PERIOD: Duration = Duration::from_millis(7_200);

    /// How often to poll (default [`Watch::DEFAULT_PERIOD`], 7.2 s); at least
    /// 10 ms and at most a day. Each quiet poll costs one request: at 1 s,
    /// 3,600 an hour, more than UltraCart's default budget of 1,000.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
    /// # let client = demo.client()?;
    /// use std::time::Duration;
    ///
    /// let watch = client.conversations().watch().every(Duration::from_secs(30));
    /// # let _ = watch;
    /// # Ok(()) }
    /// ```
    pub fn every(mut self, period: Duration) -> Self {
        self.every = period.clamp(SHORTEST_PERIOD, LONGEST_PERIOD);
        self
    }

    /// Resumes after a saved position: reports every change after the one
    /// whose [`Change::bookmark`] it is, once. Takes precedence over
    /// [`include_existing`](Self::include_existing). A bookmark in a
    /// format this crate does not read makes the stream yield
    /// [`Error::Bookmark`] and end.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(3).await;
    /// # let client = demo.client()?;
    /// use futures::{StreamExt, TryStreamExt};
    ///
    /// let mut first = client.conversations().watch().include_existing();
    /// let change = first.try_next().await?.expect("the oldest conversation");
    /// drop(first);
    ///
    /// let resumed = client.conversations().watch().from(change.bookmark());
    /// let rest: Vec<_> = resumed.take(2).try_collect().await?;
    /// assert!(rest.iter().all(|c| c.summary() != change.summary()));
    /// # Ok(()) }
    /// ```
    pub fn from(mut self, bookmark: Bookmark) -> Self {
        self.from = Some(bookmark);
        self
    }

    /// Reports first every conversation that exists (oldest first), then
    /// the changes; without it, what exists when the watch begins is its
    /// starting point and only later changes are reported.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(20).await;
    /// # let client = demo.client()?;
    /// use futures::{StreamExt, TryStreamExt};
    ///
    /// let existing: Vec<_> = client
    ///     .conversations()
    ///     .watch()
    ///     .include_existing()
    ///     .take(20)
    ///     .try_collect()
    ///     .await?;
    /// # assert_eq!(existing.len(), 20);
    /// # Ok(()) }
    /// ```
    pub fn include_existing(mut self) -> Self {
        self.include_existing = true;
        self
    }

    /// The page size and where the watch starts, checked.
    fn checked_start(&self) -> Result<(u32, Start), Error> {
        let page_size = self.pager.checked_page_size()?;
        let start = match &self.from {
            Some(bookmark) => bookmark.check().map(|()| Start::After(bookmark.clone()))?,
            None if self.include_existing => Start::After(Bookmark::start()),
            None => Start::Newest,
        };
        Ok((page_size, start))
    }

    fn start(&self) -> BoxStream<'static, Result<Change, Error>> {
        let follow = match self.checked_start() {
            Ok((page_size, start)) => {
                let client = self.pager.client().clone();
                Follow::new(Poller::new(client, page_size, self.every, start))
            }
            Err(error) => return futures::stream::once(async { Err(error) }).boxed(),
        };
        futures::stream::unfold(follow, |mut follow| async move {
            let next = follow.next().await?;
            crate::metrics::watch_reported(&next);
            Some((next, follow))
        })
        // Polled again after its end, it keeps saying so.
        .fuse()
        .boxed()
    }
}

impl Stream for Watch {
    type Item = Result<Change, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.stream.is_none() {
            this.stream = Some(this.start());
        }
        match &mut this.stream {
            Some(stream) => stream.poll_next_unpin(cx),
            None => Poll::Ready(None),
        }
    }
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch")
            .field("every", &self.every)
            .field("pager", &self.pager)
            .field("from", &self.from)
            .field("include_existing", &self.include_existing)
            .field("started", &self.stream.is_some())
            .finish_non_exhaustive()
    }
}
