//! One page of a listing, as the caller gets it.

use crate::types::{ConversationSummary, ResultSet, Warning};

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
    pub(super) offset: u32,
    pub(super) items: Vec<ConversationSummary>,
    pub(super) result_set: Option<ResultSet>,
    pub(super) warning: Option<Warning>,
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
