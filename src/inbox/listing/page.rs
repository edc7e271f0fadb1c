//! One page of a listing, as the caller gets it.

use crate::types::{ConversationSummary, ResultSet, Warning};

/// One page of a listing.
///
#[doc = mock_fence!()]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ultracart_conversation::Error> {
/// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(5).await;
/// # let client = demo.client()?;
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
    pub(super) offset: u32,
    pub(super) items: Vec<ConversationSummary>,
    pub(super) result_set: Option<ResultSet>,
    pub(super) warning: Option<Warning>,
}

impl ConversationPage {
    /// The offset this page was requested at.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # use futures::TryStreamExt;
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(3).await;
    /// # let page = demo.client()?.conversations().pages().try_next().await?.expect("a page");
    /// println!("{}", page.offset());
    /// # assert_eq!(page.offset(), 0);
    /// # Ok(()) }
    /// ```
    pub fn offset(&self) -> u32 {
        self.offset
    }

    /// The summaries on this page, in server order.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # use futures::TryStreamExt;
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(3).await;
    /// # let page = demo.client()?.conversations().pages().try_next().await?.expect("a page");
    /// let first = page.items().first();
    /// # assert_eq!(first.and_then(|s| s.conversation_uuid.as_ref()), Some(&demo.conversation_uuids()[0]));
    /// # Ok(()) }
    /// ```
    pub fn items(&self) -> &[ConversationSummary] {
        &self.items
    }

    /// Takes the summaries.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # use futures::TryStreamExt;
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(3).await;
    /// # let page = demo.client()?.conversations().pages().try_next().await?.expect("a page");
    /// let owned: Vec<_> = page.into_items();
    /// # assert_eq!(owned.len(), 3);
    /// # Ok(()) }
    /// ```
    pub fn into_items(self) -> Vec<ConversationSummary> {
        self.items
    }

    /// The server's paging metadata for this page, if it sent any.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # use futures::TryStreamExt;
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(3).await;
    /// # let page = demo.client()?.conversations().pages().try_next().await?.expect("a page");
    /// let more = page.result_set().and_then(|r| r.more);
    /// # assert_eq!(more, Some(false));
    /// # Ok(()) }
    /// ```
    pub fn result_set(&self) -> Option<&ResultSet> {
        self.result_set.as_ref()
    }

    /// A warning UltraCart attached to the answer, if any.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # use futures::TryStreamExt;
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(3).await;
    /// # let page = demo.client()?.conversations().pages().try_next().await?.expect("a page");
    /// if let Some(w) = page.warning() { eprintln!("{:?}", w.warning_message); }
    /// # assert!(page.warning().is_none());
    /// # Ok(()) }
    /// ```
    pub fn warning(&self) -> Option<&Warning> {
        self.warning.as_ref()
    }

    /// How many summaries the page holds.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # use futures::TryStreamExt;
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(3).await;
    /// # let page = demo.client()?.conversations().pages().try_next().await?.expect("a page");
    /// println!("{}", page.len());
    /// # assert_eq!(page.len(), 3);
    /// # Ok(()) }
    /// ```
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the page holds no summaries.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # use futures::TryStreamExt;
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(3).await;
    /// # let page = demo.client()?.conversations().pages().try_next().await?.expect("a page");
    /// assert!(!page.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
