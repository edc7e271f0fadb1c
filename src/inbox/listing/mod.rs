//! Listing every conversation as a stream: pages fetched ahead, each
//! conversation yielded once, and a catch-up read at the top for those that
//! moved while the listing ran.

mod depth;
mod fetcher;
mod page;
mod seen;
mod step;
mod walk;

use depth::Prefetch;
use futures::{StreamExt, TryStreamExt, stream::BoxStream};
pub use page::ConversationPage;
use walk::Walk;

use crate::{
    Client, Error,
    api::validate::{self, MAX_PAGE_SIZE},
    types::ConversationSummary,
};

/// More pages ahead than this buys nothing and only holds memory.
const MAX_PREFETCH: usize = 16;

/// Walks `getConversations` page by page; made by [`Client::conversations`].
///
/// # What a listing guarantees on a live account
///
/// UltraCart lists conversations newest first, by offset, and a live inbox
/// moves while it is listed: a conversation that gets a message jumps to the
/// top, new ones start there, and every such move shifts the offsets under
/// the listing. Walking offsets alone would yield some conversations twice
/// and never yield others. So [`items`](Self::items):
///
/// - yields **every conversation that existed when it started, exactly
///   once**, however the inbox changes underneath, at any
///   [`prefetch`](Self::prefetch) and in-flight gate width;
/// - remembers what it yielded (about 22 bytes a conversation: a hash of the
///   uuid and a fingerprint of the latest activity) and skips what comes
///   round again;
/// - when the last page is read, reads from the top once more, down to the
///   first conversation it already yielded that has not changed since:
///   everything that moved up while the listing ran is above it. On a quiet
///   inbox that costs one request. When the server counts its records and
///   the listing has yielded that many, or a read at the top finds nothing
///   new, it ends; otherwise it reads from the top again, at most three
///   times in all;
/// - also yields **conversations started while it ran**, if that read at the
///   top reaches them (those started after its last request are not);
///   each still only once.
///
/// A conversation whose summary has no uuid is known by its contents. With
/// a [`start_offset`](Self::start_offset) other than 0, or once
/// [`max_items`](Self::max_items) is reached, there is no read at the top:
/// items are still never repeated, but ones that moved above the start can
/// be missed.
///
/// # Paging
///
/// It follows the server's `metadata.result_set`: it stops when `more` is
/// false, when a page is empty, or after [`max_items`](Self::max_items). It
/// ends with [`Error::Pagination`] rather than loop when the server's
/// `next_offset` does not move past the page's offset, or when four pages in
/// a row bring nothing not yielded before. A `next_offset` inside the page
/// just read (the server creeping) is taken as the page's end: the listing
/// goes on after the page and repeats nothing.
///
/// While the caller works through one page, the next pages are already
/// being fetched (one by default, up to three while the caller keeps
/// waiting; see [`prefetch`](Self::prefetch)), in background tasks on the
/// current Tokio runtime. They still pass through the client's in-flight
/// gate, so with the default client they overlap the caller's work without
/// ever being concurrent with each other. Memory stays bounded by about one
/// page more than it fetches ahead, plus what it remembers of each
/// conversation. Dropping the stream stops the listing; a request already
/// under way finishes first, so the next request never overlaps it.
///
/// Fetching ahead guesses that the next page starts where the last one
/// ended, and checks the guess against the server's `next_offset` when the
/// page arrives (a wrong guess is dropped and the right page fetched). When
/// the server does not say how many records there are, a listing can end
/// with as many requests past the last page as it fetches ahead.
///
#[doc = mock_fence!()]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ultracart_conversation::Error> {
/// # let demo = ultracart_conversation::mock::DemoServer::start().await;
/// # let client = demo.client()?;
/// use futures::TryStreamExt;
///
/// let all: Vec<_> = client.conversations().items().try_collect().await?;
/// # assert_eq!(all.len(), 350);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a pager does nothing until `items()` or `pages()` is polled"]
pub struct ConversationPager {
    client: Client,
    page_size: u32,
    start_offset: u32,
    max_items: Option<u64>,
    prefetch: Prefetch,
}

impl Client {
    /// Lists conversation summaries, newest first, across every page.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(20).await;
    /// # let client = demo.client()?;
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
            prefetch: Prefetch::Auto,
        }
    }
}

impl ConversationPager {
    /// Items per request, 1 to 200 (default 200, the most UltraCart serves).
    /// A value out of range makes the stream yield one
    /// [`Error::InvalidInput`] and end.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # use futures::TryStreamExt;
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(120).await;
    /// # let client = demo.client()?;
    /// let pages = client.conversations().page_size(50).pages();
    /// # let sizes: Vec<_> = pages.map_ok(|page| page.len()).try_collect().await?;
    /// # assert_eq!(sizes, [50, 50, 20]);
    /// # Ok(()) }
    /// ```
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size;
        self
    }

    /// Zero-based offset of the first item (default 0).
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # use futures::TryStreamExt;
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(450).await;
    /// # let client = demo.client()?;
    /// let rest = client.conversations().start_offset(400).items();
    /// # let rest: Vec<_> = rest.try_collect().await?;
    /// # assert_eq!(rest.len(), 50);
    /// # Ok(()) }
    /// ```
    pub fn start_offset(mut self, offset: u32) -> Self {
        self.start_offset = offset;
        self
    }

    /// Stops after this many items; the last request asks only for what is
    /// still wanted.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # use futures::TryStreamExt;
    /// # let demo = ultracart_conversation::mock::DemoServer::start().await;
    /// # let client = demo.client()?;
    /// let newest_ten = client.conversations().max_items(10).items();
    /// # let newest_ten: Vec<_> = newest_ten.try_collect().await?;
    /// # assert_eq!(newest_ten.len(), 10);
    /// # assert_eq!(newest_ten[0].conversation_uuid.as_ref(), Some(&demo.conversation_uuids()[0]));
    /// # Ok(()) }
    /// ```
    pub fn max_items(mut self, max_items: u64) -> Self {
        self.max_items = Some(max_items);
        self
    }

    /// How many pages to fetch ahead of the one being consumed, fixed (at
    /// most 16; 0 fetches each page only when it is asked for). Pages are
    /// still requested one after another, in offset order, whatever the
    /// gate ([`max_in_flight`](crate::ClientBuilder::max_in_flight)):
    /// fetching ahead overlaps the caller's work and the decoding of one
    /// page with the fetch of the next, and holds pages ready for a caller
    /// that works in bursts.
    ///
    /// By default a listing fetches one page ahead, and up to three while
    /// the caller keeps waiting for pages: a caller faster than the network
    /// then has the next request leave the moment the one before it is
    /// answered. A slower caller holds no more pages ready, and a caller
    /// that stops asking, dropping the stream or holding it, has spent no
    /// more requests than with one page ahead (but for a page answered
    /// within 10 ms of its last ask).
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # use futures::TryStreamExt;
    /// # let demo = ultracart_conversation::mock::DemoServer::start().await;
    /// # let client = demo.client()?;
    /// let sequential = client.conversations().prefetch(0).items();
    /// # let all: Vec<_> = sequential.try_collect().await?;
    /// # assert_eq!(all.len(), 350);
    /// # Ok(()) }
    /// ```
    pub fn prefetch(mut self, pages: usize) -> Self {
        self.prefetch = Prefetch::Fixed(pages.min(MAX_PREFETCH));
        self
    }

    /// The page size, checked: every reader made from a pager (a listing,
    /// a watch, an export) checks it here, before it sends or writes
    /// anything.
    pub(crate) fn checked_page_size(&self) -> Result<u32, Error> {
        validate::page_limit(self.page_size).map(|_| self.page_size)
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// A stream of pages, each with its conversations and the server's
    /// `ResultSet`: the same conversations as [`items`](Self::items), in
    /// the same order, grouped by the request that fetched them. A page
    /// holds only conversations not yielded before, so it can be shorter
    /// than the page size (a page with nothing new is not yielded at all),
    /// and the last pages of a listing can come from the read at the top.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::start().await;
    /// # let client = demo.client()?;
    /// use futures::TryStreamExt;
    ///
    /// let mut pages = client.conversations().pages();
    /// while let Some(page) = pages.try_next().await? {
    ///     let total = page.result_set().and_then(|r| r.total_records);
    ///     println!("{} items at offset {} of {total:?}", page.len(), page.offset());
    /// #   assert_eq!(total, Some(350));
    /// }
    /// # Ok(()) }
    /// ```
    pub fn pages(self) -> BoxStream<'static, Result<ConversationPage, Error>> {
        // Only a listing starts further down.
        let checked = self
            .checked_page_size()
            .and_then(|_| validate::offset(self.start_offset));
        let walk = match checked {
            Ok(_) => Walk::new(self),
            Err(error) => Walk::failed(self, error),
        };
        futures::stream::unfold(walk, |mut walk| async move {
            let page = walk.next_page().await?;
            Some((page, walk))
        })
        .boxed()
    }

    /// A stream of every conversation summary, each once; see the type's
    /// documentation for what it guarantees while the inbox changes.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::start().await;
    /// # let client = demo.client()?;
    /// use futures::TryStreamExt;
    ///
    /// let unread = client
    ///     .conversations()
    ///     .items()
    ///     .try_filter(|s| futures::future::ready(s.unread_messages == Some(true)))
    ///     .try_collect::<Vec<_>>()
    ///     .await?;
    /// # assert!((1..350).contains(&unread.len()));
    /// # Ok(()) }
    /// ```
    pub fn items(self) -> BoxStream<'static, Result<ConversationSummary, Error>> {
        self.pages()
            .map_ok(|page| futures::stream::iter(page.items.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}
