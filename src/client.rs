//! The client handle.

use std::{fmt, sync::Arc};

use progenitor_client::ClientInfo;

use crate::{ClientBuilder, agent_credentials::AgentCache, raw};

/// An UltraCart Conversation API client.
///
/// Cheap to clone: clones share one connection pool, one in-flight gate and
/// one rate limiter, so a service can hand a clone to every task and still
/// never send UltraCart more concurrent requests than
/// [`max_in_flight`](ClientBuilder::max_in_flight) allows (one, by default).
///
/// ```no_run
/// use ultracart_conversation::Client;
///
/// # async fn run() -> Result<(), ultracart_conversation::Error> {
/// let client = Client::builder().api_key(std::env::var("ULTRACART_API_KEY").unwrap()).build()?;
/// let page = client.get_conversations(50, 0).await?;
/// for summary in page.conversations.unwrap_or_default() {
///     println!("{:?}: {:?}", summary.conversation_uuid, summary.last_conversation_message_body);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Shared>,
}

/// What every clone shares.
struct Shared {
    raw: raw::Client,
    agent: AgentCache,
}

impl Client {
    /// Starts configuring a client.
    ///
    /// ```
    /// let builder = ultracart_conversation::Client::builder();
    /// # let _ = builder;
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    pub(crate) fn from_raw(raw: raw::Client) -> Self {
        Self {
            inner: Arc::new(Shared {
                raw,
                agent: AgentCache::default(),
            }),
        }
    }

    pub(crate) fn agent_cache(&self) -> &AgentCache {
        &self.inner.agent
    }

    /// The generated low-level client, for anything the facade does not
    /// cover. It shares this client's base URL, headers, credential, gate,
    /// rate limiter and retries; its errors are progenitor's, untranslated.
    ///
    /// ```no_run
    /// # async fn run(client: ultracart_conversation::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let response = client.raw().get_conversations().limit(10).offset(0).send().await?;
    /// println!("status {}", response.status());
    /// # Ok(()) }
    /// ```
    pub fn raw(&self) -> &raw::Client {
        &self.inner.raw
    }

    /// The base URL requests go to, without a trailing slash.
    ///
    /// ```
    /// let client = ultracart_conversation::Client::builder().api_key("k").build()?;
    /// assert_eq!(client.base_url(), "https://secure.ultracart.com/rest/v2");
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn base_url(&self) -> &str {
        self.raw().baseurl()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.raw().baseurl())
            .field("pipeline", self.raw().inner())
            .finish()
    }
}
