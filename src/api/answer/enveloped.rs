//! An answer with what UltraCart's envelope said around it.

use crate::types::{ErrorResponse, ResponseMetadata, Warning};

/// Which of UltraCart's two shapes an answer came in.
///
/// UltraCart's revision of 2022-07-18 (which this crate's models follow)
/// answers `getConversation`, `getAgentWebsocketAuthorization` and
/// `startConversation` with the bare model; every revision since wraps the
/// model in UltraCart's usual envelope
/// (`{"conversation": {...}, "success": true, "warning": ..., "metadata": ...}`),
/// which is what the live service sends. The client reads both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnswerShape {
    /// The model itself, as in the 2022-07-18 revision.
    Bare,
    /// The model inside UltraCart's envelope.
    Envelope,
}

/// A model together with what UltraCart's envelope said around it: returned
/// by the `*_enveloped` methods, such as
/// [`Client::get_conversation_enveloped`](crate::Client::get_conversation_enveloped).
///
#[doc = mock_fence!()]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ultracart_conversation::Error> {
/// use ultracart_conversation::{AnswerShape, mock::DemoServer};
///
/// let demo = DemoServer::start().await;
/// let client = demo.client()?;
/// let uuid = &demo.conversation_uuids()[0];
///
/// let answer = client.get_conversation_enveloped(uuid).await?;
/// assert_eq!(answer.shape(), AnswerShape::Envelope);
/// if let Some(warning) = answer.warning() {
///     eprintln!("UltraCart warns: {:?}", warning.warning_message);
/// }
/// let conversation = answer.into_inner();
/// assert_eq!(conversation.conversation_uuid.as_deref(), Some(uuid.as_str()));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Enveloped<T> {
    value: T,
    shape: AnswerShape,
    success: Option<bool>,
    warning: Option<Warning>,
    metadata: Option<ResponseMetadata>,
}

impl<T> Enveloped<T> {
    pub(crate) fn new(value: T, shape: AnswerShape, envelope: ErrorResponse) -> Self {
        Self {
            value,
            shape,
            success: envelope.success,
            warning: envelope.warning,
            metadata: envelope.metadata,
        }
    }

    /// The model.
    ///
    /// ```
    /// # fn f(answer: ultracart_conversation::Enveloped<ultracart_conversation::types::Conversation>) {
    /// println!("{:?}", answer.inner().conversation_uuid);
    /// # }
    /// ```
    pub fn inner(&self) -> &T {
        &self.value
    }

    /// Takes the model.
    ///
    /// ```
    /// # fn f(answer: ultracart_conversation::Enveloped<ultracart_conversation::types::Conversation>) {
    /// let conversation = answer.into_inner();
    /// # let _ = conversation;
    /// # }
    /// ```
    pub fn into_inner(self) -> T {
        self.value
    }

    /// Whether the answer was bare or enveloped.
    ///
    /// ```
    /// # fn f(answer: ultracart_conversation::Enveloped<ultracart_conversation::types::Conversation>) {
    /// println!("{:?}", answer.shape());
    /// # }
    /// ```
    pub fn shape(&self) -> AnswerShape {
        self.shape
    }

    /// The envelope's `success` flag (`None` for a bare answer). An
    /// envelope that says `false` is an [`Error`](crate::Error), never
    /// returned here.
    ///
    /// ```
    /// # fn f(answer: ultracart_conversation::Enveloped<ultracart_conversation::types::Conversation>) {
    /// assert_ne!(answer.success(), Some(false));
    /// # }
    /// ```
    pub fn success(&self) -> Option<bool> {
        self.success
    }

    /// A warning UltraCart attached, if any.
    ///
    /// ```
    /// # fn f(answer: ultracart_conversation::Enveloped<ultracart_conversation::types::Conversation>) {
    /// if let Some(w) = answer.warning() { eprintln!("{:?}", w.warning_message); }
    /// # }
    /// ```
    pub fn warning(&self) -> Option<&Warning> {
        self.warning.as_ref()
    }

    /// The envelope's metadata, if any.
    ///
    /// ```
    /// # fn f(answer: ultracart_conversation::Enveloped<ultracart_conversation::types::Conversation>) {
    /// println!("{:?}", answer.metadata().and_then(|m| m.payload_name.as_deref()));
    /// # }
    /// ```
    pub fn metadata(&self) -> Option<&ResponseMetadata> {
        self.metadata.as_ref()
    }
}
