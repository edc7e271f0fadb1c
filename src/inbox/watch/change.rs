//! One change a watch reports: a conversation in its newest state, and
//! the bookmark to resume after it.

use super::Bookmark;
use crate::types::ConversationSummary;

/// A conversation that is new or has a new message, as a
/// [`Watch`](crate::Watch) reports it: its summary as the listing showed
/// it, and the [`Bookmark`] that resumes right after it.
///
#[doc = mock_fence!()]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ultracart_conversation::Error> {
/// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(2).await;
/// # let client = demo.client()?;
/// use futures::TryStreamExt;
///
/// let mut watch = client.conversations().watch().include_existing();
/// if let Some(change) = watch.try_next().await? {
///     let summary = change.summary();
///     println!("{:?} at {:?}", summary.conversation_uuid, summary.last_message_dts);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub(super) summary: ConversationSummary,
    pub(super) bookmark: Bookmark,
}

impl Change {
    /// The conversation's summary, in its newest state.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # use futures::TryStreamExt;
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
    /// # let mut watch = demo.client()?.conversations().watch().include_existing();
    /// # let change = watch.try_next().await?.expect("a change");
    /// let unread = change.summary().unread_messages.unwrap_or(false);
    /// # let _ = unread;
    /// # Ok(()) }
    /// ```
    pub fn summary(&self) -> &ConversationSummary {
        &self.summary
    }

    /// Takes the summary.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # use futures::TryStreamExt;
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
    /// # let mut watch = demo.client()?.conversations().watch().include_existing();
    /// # let change = watch.try_next().await?.expect("a change");
    /// let summary = change.into_summary();
    /// # assert_eq!(summary.conversation_uuid.as_ref(), Some(&demo.conversation_uuids()[0]));
    /// # Ok(()) }
    /// ```
    pub fn into_summary(self) -> ConversationSummary {
        self.summary
    }

    /// Where to resume so that the next change reported is the one after
    /// this: save it once this change is handled.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use futures::TryStreamExt;
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
    /// # let mut watch = demo.client()?.conversations().watch().include_existing();
    /// # let change = watch.try_next().await?.expect("a change");
    /// # let path = std::env::temp_dir().join(format!("bookmark-doc-{}.json", std::process::id()));
    /// std::fs::write(&path, serde_json::to_vec(&change.bookmark())?)?;
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }
    /// ```
    pub fn bookmark(&self) -> Bookmark {
        self.bookmark.clone()
    }
}
