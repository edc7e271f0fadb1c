//! The client handle.

use std::{fmt, sync::Arc, time::Duration};

use progenitor_client::ClientInfo;

use crate::{
    Error,
    api::agent::AgentCache,
    http::{Answer, Operation, Pipeline},
    net::TlsOnDemand,
    raw,
};

/// An UltraCart Conversation API client.
///
/// Cheap to clone: clones share one connection pool, one in-flight gate and
/// one rate limiter, so a service can hand a clone to every task and still
/// never send UltraCart more concurrent requests than
/// [`max_in_flight`](crate::ClientBuilder::max_in_flight) allows (one, by default).
///
#[doc = mock_fence!()]
/// use ultracart_conversation::Client;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ultracart_conversation::Error> {
/// # let demo = ultracart_conversation::mock::DemoServer::start().await;
/// // Or `Client::from_env()`, which reads `ULTRACART_API_KEY`.
/// let client = Client::builder()
///     .api_key("my-simple-key")
/// #   .base_url(demo.base_url())
///     .build()?;
/// let page = client.get_conversations(50, 0).await?;
/// # assert_eq!(page.conversations.as_ref().map(Vec::len), Some(50));
/// for summary in page.conversations.unwrap_or_default() {
///     println!("{:?}: {:?}", summary.conversation_uuid, summary.last_conversation_message_body);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Shared>,
}

/// What every clone shares. The generated client holds the base URL, the
/// HTTP client and the pipeline, so the facade and callers of
/// [`Client::raw`] send through the same ones.
struct Shared {
    raw: raw::Client,
    upload_timeout: Duration,
    agent: AgentCache,
    /// For https URLs when the base URL is plain http.
    tls_on_demand: Option<TlsOnDemand>,
    /// Where the shared limits live, for what else the client keeps there.
    redis: Option<SharedStore>,
}

/// Where a client keeps state shared with other processes: the Redis of
/// its [`SharedLimits`](crate::SharedLimits); nothing without feature
/// `redis`.
#[cfg(feature = "redis")]
pub(crate) type SharedStore = crate::redis::Redis;
#[cfg(not(feature = "redis"))]
pub(crate) type SharedStore = std::convert::Infallible;

impl Client {
    pub(crate) fn from_raw(
        raw: raw::Client,
        upload_timeout: Duration,
        tls_on_demand: Option<TlsOnDemand>,
        redis: Option<SharedStore>,
    ) -> Self {
        Self {
            inner: Arc::new(Shared {
                raw,
                upload_timeout,
                agent: AgentCache::default(),
                tls_on_demand,
                redis,
            }),
        }
    }

    /// The Redis of the client's shared limits, if it has them.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn shared_store(&self) -> Option<&SharedStore> {
        self.inner.redis.as_ref()
    }

    pub(crate) fn agent_cache(&self) -> &AgentCache {
        &self.inner.agent
    }

    pub(crate) fn pipeline(&self) -> &Pipeline {
        self.raw().inner()
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        self.raw().client()
    }

    /// The HTTP client for a URL off the API (a presigned upload URL),
    /// which can be https when the API is plain http.
    pub(crate) fn http_for(&self, url: &url::Url) -> Result<&reqwest::Client, Error> {
        match &self.inner.tls_on_demand {
            Some(tls) if url.scheme() == "https" => tls.client(),
            _ => Ok(self.http()),
        }
    }

    pub(crate) fn upload_timeout(&self) -> Duration {
        self.inner.upload_timeout
    }

    /// Sends one request of `operation` through the pipeline and returns
    /// its final answer, for the facade to read.
    pub(crate) async fn send(
        &self,
        operation: &Operation,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, Error> {
        let request = request.build().map_err(|e| {
            Error::invalid_input(format!(
                "the request for {} cannot be built: {e}",
                operation.id
            ))
        })?;
        self.pipeline().call(self.http(), request, operation).await
    }

    /// A request builder for `operation` with its path values checked and
    /// filled in.
    pub(crate) fn request(
        &self,
        operation: &Operation,
        path_values: &[&str],
    ) -> Result<reqwest::RequestBuilder, Error> {
        let url = operation.url(self.base_url(), path_values)?;
        Ok(self.http().request(operation.method.clone(), url))
    }

    /// The generated low-level client, for anything the facade does not
    /// cover. It shares this client's base URL, headers, credential, gate,
    /// pacing and retries; its errors are progenitor's, untranslated.
    ///
    /// It refuses, before sending, path values that would change the route
    /// (empty, `.`, `..`, or containing `\`), as the facade does. It
    /// decodes answers exactly as `openapi/conversation.json` declares them:
    /// the bare shapes of UltraCart's 2022-07-18 revision. Where UltraCart
    /// answers in its envelope (`getConversation`,
    /// `getAgentWebsocketAuthorization`, `startConversation` today), the raw
    /// client's models come back with every field `None`; the facade's
    /// methods read both shapes.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let demo = ultracart_conversation::mock::DemoServer::start().await;
    /// # let client = demo.client()?;
    /// let response = client.raw().get_conversations().limit(10).offset(0).send().await?;
    /// println!("status {}", response.status());
    /// # assert_eq!(response.status(), 200);
    /// # Ok(()) }
    /// ```
    pub fn raw(&self) -> &raw::Client {
        &self.inner.raw
    }

    /// How the client paces itself right now: the pace it learned from
    /// UltraCart's 429s, and whether a `Retry-After` holds requests back.
    /// Shared by every clone.
    ///
    /// ```
    /// let client = ultracart_conversation::Client::builder().api_key("k").build()?;
    /// assert_eq!(client.pacing().throttled(), 0);
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn pacing(&self) -> crate::PacingState {
        self.pipeline().pacing()
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
            .field("pipeline", self.pipeline())
            .finish()
    }
}
