//! [`DemoServer`]: a ready local fake of the Conversation API.

use std::{
    fmt,
    sync::{Arc, Mutex},
};

use httpmock::MockServer;

use super::{
    live::{Churn, Flow, LeakyBucket},
    routes,
    state::{Accepted, Shared, State, lock},
};
use crate::{AnswerShape, Client, Error, Timestamp};

/// A local fake of UltraCart's Conversation API, seeded with realistic
/// conversations, for tests, demos and trying the crate without an account.
///
/// It listens on `127.0.0.1` and answers the seven operations the way the
/// real service does: it requires a credential (any non-empty simple key or
/// bearer token, or only the ones given to
/// [`DemoServerBuilder::accept_only_api_key`] and
/// [`accept_only_bearer_token`](DemoServerBuilder::accept_only_bearer_token);
/// 401 otherwise) and the `X-UltraCart-Api-Version` header
/// (400 otherwise), pages newest first with UltraCart's `result_set`
/// (`_limit` up to 200, 0 an empty page, default 100), answers unknown conversations with 404
/// and malformed requests with 400, always with UltraCart's `ErrorResponse`
/// body. It answers `getConversation`, `getAgentWebsocketAuthorization` and
/// `startConversation` in UltraCart's envelope, as the live service does,
/// or bare, as the 2022-07-18 revision documents
/// ([`DemoServerBuilder::answer_shape`]). Started conversations appear
/// first in the listing; join and leave
/// change the demo agent's participant status; agent auth returns a
/// JWT-shaped token with an `exp` an hour ahead; upload URLs point at a fake
/// presigned storage on the same server, which, like S3, refuses requests
/// that also carry an `Authorization` or UltraCart header.
///
/// The seeded data comes from a fixed seed: the same conversations, uuids and
/// timestamps on every run. Each `DemoServer` has its own state.
///
/// ```
/// use futures::TryStreamExt;
/// use ultracart_conversation::mock::DemoServer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ultracart_conversation::Error> {
/// let demo = DemoServer::start().await;
/// let client = demo.client()?;
///
/// let all: Vec<_> = client.conversations().items().try_collect().await?;
/// assert_eq!(all.len(), 350);
///
/// let newest = client.get_conversation(&demo.conversation_uuids()[0]).await?;
/// assert!(!newest.messages.unwrap_or_default().is_empty());
/// # Ok(()) }
/// ```
pub struct DemoServer {
    server: MockServer,
    state: Shared,
    /// Ids of the demo's own mocks; see [`override_routes`](Self::override_routes).
    routes: tokio::sync::Mutex<Vec<usize>>,
}

impl DemoServer {
    /// The simple key [`client`](Self::client) uses unless the demo was
    /// told which keys to accept. The demo accepts any non-empty key or
    /// bearer token by default; this one is just a recognizable value.
    ///
    /// ```
    /// # use ultracart_conversation::mock::DemoServer;
    /// assert_eq!(DemoServer::API_KEY, "demo-simple-key");
    /// ```
    pub const API_KEY: &'static str = "demo-simple-key";

    /// How many conversations [`start`](Self::start) seeds: enough for two
    /// pages of 200.
    ///
    /// ```
    /// # use ultracart_conversation::mock::DemoServer;
    /// assert_eq!(DemoServer::DEFAULT_CONVERSATIONS, 350);
    /// ```
    pub const DEFAULT_CONVERSATIONS: usize = 350;

    /// Starts a demo server with [`DEFAULT_CONVERSATIONS`](Self::DEFAULT_CONVERSATIONS)
    /// conversations.
    ///
    /// # Panics
    ///
    /// If no local port can be opened for the server.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let demo = ultracart_conversation::mock::DemoServer::start().await;
    /// println!("serving at {}", demo.base_url());
    /// # assert_eq!(demo.conversation_uuids().len(), 350);
    /// # }
    /// ```
    pub async fn start() -> Self {
        Self::with_conversations(Self::DEFAULT_CONVERSATIONS).await
    }

    /// Starts a demo server seeded with `count` conversations, newest first.
    /// The newest ones are the same whatever `count` is:
    /// `with_conversations(10)` seeds the ten newest of [`start`](Self::start).
    ///
    /// # Panics
    ///
    /// If no local port can be opened for the server.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use ultracart_conversation::mock::DemoServer;
    ///
    /// let demo = DemoServer::with_conversations(3).await;
    /// assert_eq!(demo.conversation_uuids().len(), 3);
    /// # }
    /// ```
    pub async fn with_conversations(count: usize) -> Self {
        Self::builder().conversations(count).start().await
    }

    /// Starts configuring a demo server.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// use ultracart_conversation::{AnswerShape, mock::DemoServer};
    ///
    /// let demo = DemoServer::builder()
    ///     .conversations(20)
    ///     .answer_shape(AnswerShape::Bare)
    ///     .start()
    ///     .await;
    /// let client = demo.client()?;
    /// let answer = client.get_conversation_enveloped(&demo.conversation_uuids()[0]).await?;
    /// assert_eq!(answer.shape(), AnswerShape::Bare);
    /// # Ok(()) }
    /// ```
    pub fn builder() -> DemoServerBuilder {
        DemoServerBuilder {
            conversations: Self::DEFAULT_CONVERSATIONS,
            shape: AnswerShape::Envelope,
            churn: None,
            flow: None,
            bucket: None,
            accepted: None,
        }
    }

    /// The URL to give [`ClientBuilder::base_url`](crate::ClientBuilder::base_url),
    /// such as `http://127.0.0.1:41213` (no path, no trailing slash).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// use ultracart_conversation::{Client, mock::DemoServer};
    ///
    /// let demo = DemoServer::start().await;
    /// let client = Client::builder()
    ///     .bearer_token("any-token-will-do")
    ///     .base_url(demo.base_url())
    ///     .build()?;
    /// # client.get_conversations(10, 0).await?;
    /// # assert_eq!(demo.request_count(), 1);
    /// # Ok(()) }
    /// ```
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// A client for this server, authenticated with [`API_KEY`](Self::API_KEY)
    /// (or, on a demo told which credentials to accept, the first key it
    /// accepts, else the first token) and otherwise configured with the
    /// defaults.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// let demo = ultracart_conversation::mock::DemoServer::start().await;
    /// let page = demo.client()?.get_conversations(10, 0).await?;
    /// assert_eq!(page.conversations.unwrap_or_default().len(), 10);
    /// # Ok(()) }
    /// ```
    pub fn client(&self) -> Result<Client, Error> {
        let accepted = lock(&self.state).accepted.clone();
        let builder = Client::builder().base_url(self.base_url());
        let builder = match accepted {
            Some(Accepted { api_keys, .. }) if !api_keys.is_empty() => {
                builder.api_key(api_keys[0].clone())
            }
            Some(Accepted { bearer_tokens, .. }) if !bearer_tokens.is_empty() => {
                builder.bearer_token(bearer_tokens[0].clone())
            }
            _ => builder.api_key(Self::API_KEY),
        };
        builder.build()
    }

    /// The underlying httpmock server, to add mocks of your own, for example
    /// with the typed helpers of [`MockServerExt`](super::MockServerExt), or
    /// to inspect what it received.
    ///
    /// httpmock answers with the first mock that matches, and the demo's own
    /// mocks match every path under `/conversation/` and `/demo-storage/`.
    /// Mocks added here therefore only see other paths; to answer one of the
    /// seven operations differently, register the mock through
    /// [`override_routes`](Self::override_routes) instead.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let demo = ultracart_conversation::mock::DemoServer::start().await;
    /// let health = demo
    ///     .mock_server()
    ///     .mock_async(|when, then| {
    ///         when.path("/health");
    ///         then.status(200);
    ///     })
    ///     .await;
    /// # let answer = reqwest::get(format!("{}/health", demo.base_url())).await.unwrap();
    /// # assert_eq!(answer.status(), 200);
    /// # health.assert_calls_async(1).await;
    /// # }
    /// ```
    pub fn mock_server(&self) -> &MockServer {
        &self.server
    }

    /// Registers mocks that take precedence over the demo's own answers:
    /// it removes the demo's mocks, runs `register`, and adds the demo's
    /// mocks again behind whatever `register` added. Requests that arrive
    /// meanwhile may get httpmock's 404, so call it before sending any.
    ///
    /// With httpmock's `up_to_n_times`, a mock can fail a call once and then
    /// let the demo answer the retry.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// use ultracart_conversation::{StatusCode, mock::{DemoServer, MockServerExt}, types};
    ///
    /// let demo = DemoServer::with_conversations(5).await;
    /// let uuid = demo.conversation_uuids()[0].clone();
    /// demo.override_routes(|server| {
    ///     server.get_conversation(|when, then| {
    ///         when.conversation_uuid(&uuid);
    ///         then.gone(&types::ErrorResponse::default());
    ///     });
    /// })
    /// .await;
    ///
    /// let client = demo.client()?;
    /// let error = client.get_conversation(&uuid).await.unwrap_err();
    /// assert_eq!(error.status(), Some(StatusCode::GONE));
    /// // The other conversations still come from the demo.
    /// client.get_conversation(&demo.conversation_uuids()[1]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn override_routes<'a, R>(&'a self, register: impl FnOnce(&'a MockServer) -> R) -> R {
        let mut routes = self.routes.lock().await;
        for id in routes.drain(..) {
            httpmock::Mock::new(id, &self.server).delete_async().await;
        }
        let registered = register(&self.server);
        *routes = routes::install(&self.server, &self.state).await;
        registered
    }

    /// The uuids of the stored conversations, newest first, as the listing
    /// returns them (including conversations started since).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let demo = ultracart_conversation::mock::DemoServer::with_conversations(2).await;
    /// let uuids = demo.conversation_uuids();
    /// assert_eq!(uuids.len(), 2);
    /// assert_ne!(uuids[0], uuids[1]);
    /// # }
    /// ```
    pub fn conversation_uuids(&self) -> Vec<String> {
        lock(&self.state).uuids()
    }

    /// How many bytes were uploaded to the upload URL issued for `key`;
    /// `None` if none were (yet).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
    /// let media = demo.client()?.upload_multimedia("png", vec![0u8; 1024]).await?;
    /// assert_eq!(demo.uploaded(media.key()), Some(1024));
    /// # Ok(()) }
    /// ```
    pub fn uploaded(&self, key: &str) -> Option<usize> {
        lock(&self.state).uploaded(key)
    }

    /// How many requests the demo's own routes have answered, errors
    /// included (not those answered by mocks added by hand).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
    /// demo.client()?.get_conversations(200, 0).await?;
    /// assert_eq!(demo.request_count(), 1);
    /// # Ok(()) }
    /// ```
    pub fn request_count(&self) -> usize {
        lock(&self.state).requests()
    }

    /// The changes a [`changing_inbox`](DemoServerBuilder::changing_inbox)
    /// has made so far, oldest first: each conversation that got a message
    /// or started, and its new `last_message_dts`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// use ultracart_conversation::mock::DemoServer;
    ///
    /// let demo = DemoServer::builder().conversations(10).changing_inbox(100.0).start().await;
    /// tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    /// demo.client()?.get_conversations(10, 0).await?;
    /// for (uuid, dts) in demo.changes() {
    ///     println!("{uuid} at {dts}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn changes(&self) -> Vec<(String, Timestamp)> {
        let mut state = lock(&self.state);
        state.follow_the_clock();
        state.changes().to_vec()
    }

    /// How many requests the rate limiter answered with 429 (see
    /// [`DemoServerBuilder::rate_limiter`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// let demo = ultracart_conversation::mock::DemoServer::builder().rate_limiter(100, 100.0).start().await;
    /// demo.client()?.get_conversations(10, 0).await?;
    /// assert_eq!(demo.throttled_count(), 0);
    /// # Ok(()) }
    /// ```
    pub fn throttled_count(&self) -> usize {
        lock(&self.state).throttled()
    }

    /// Replaces the rate limiter (`None`: none), as when UltraCart raises
    /// an account's limits. The new bucket starts empty.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let demo = ultracart_conversation::mock::DemoServer::builder().rate_limiter(5, 20.0).start().await;
    /// demo.set_rate_limiter(Some((50, 200.0)));
    /// # }
    /// ```
    pub fn set_rate_limiter(&self, limiter: Option<(u32, f64)>) {
        lock(&self.state).bucket =
            limiter.map(|(capacity, per_second)| LeakyBucket::new(capacity, per_second));
    }
}

/// Configures a [`DemoServer`]; start from [`DemoServer::builder`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use ultracart_conversation::mock::DemoServer;
///
/// let demo = DemoServer::builder().conversations(3).start().await;
/// assert_eq!(demo.conversation_uuids().len(), 3);
/// # }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct DemoServerBuilder {
    conversations: usize,
    shape: AnswerShape,
    churn: Option<Churn>,
    flow: Option<f64>,
    bucket: Option<(u32, f64)>,
    accepted: Option<Accepted>,
}

impl DemoServerBuilder {
    /// How many conversations to seed, newest first (default
    /// [`DemoServer::DEFAULT_CONVERSATIONS`]). The newest ones are the same
    /// whatever the count.
    ///
    /// ```
    /// # use ultracart_conversation::mock::DemoServer;
    /// let builder = DemoServer::builder().conversations(2_000);
    /// # let _ = builder;
    /// ```
    pub fn conversations(mut self, count: usize) -> Self {
        self.conversations = count;
        self
    }

    /// How to answer `getConversation`, `getAgentWebsocketAuthorization`
    /// and `startConversation`: in UltraCart's envelope (the default, what
    /// the live service sends) or bare (the 2022-07-18 revision).
    ///
    /// ```
    /// # use ultracart_conversation::{AnswerShape, mock::DemoServer};
    /// let builder = DemoServer::builder().answer_shape(AnswerShape::Bare);
    /// # let _ = builder;
    /// ```
    pub fn answer_shape(mut self, shape: AnswerShape) -> Self {
        self.shape = shape;
        self
    }

    /// Makes the inbox live: before each listing page but the first,
    /// `moves` conversations the listing has not reached yet (at or after
    /// the page's offset) get a customer message and jump to the top, and
    /// `starts` new conversations start there. Every such move shifts the
    /// offsets under a listing, as on a busy account.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// use futures::TryStreamExt;
    /// use ultracart_conversation::mock::DemoServer;
    ///
    /// let demo = DemoServer::builder().conversations(600).busy_inbox(3, 1).start().await;
    /// let existing = demo.conversation_uuids();
    /// let listed: Vec<_> = demo.client()?.conversations().page_size(100).items().try_collect().await?;
    /// for uuid in &existing {
    ///     let times = listed.iter().filter(|s| s.conversation_uuid.as_ref() == Some(uuid)).count();
    ///     assert_eq!(times, 1, "{uuid}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn busy_inbox(mut self, moves: usize, starts: usize) -> Self {
        self.churn = Some(Churn { moves, starts });
        self
    }

    /// Makes the inbox change with the clock, `per_second` times a second
    /// from the moment the server starts: mostly a customer writing again in
    /// a random conversation (which moves to the top with a new
    /// `last_message_dts`), one change in ten a new conversation. The
    /// changes due are made when a request arrives, each stamped with the
    /// time it fell due. [`DemoServer::changes`] lists them.
    ///
    /// ```
    /// # use ultracart_conversation::mock::DemoServer;
    /// let builder = DemoServer::builder().changing_inbox(5.0);
    /// # let _ = builder;
    /// ```
    pub fn changing_inbox(mut self, per_second: f64) -> Self {
        self.flow = Some(per_second);
        self
    }

    /// Runs UltraCart's rate limiter in front of the seven operations: a
    /// leaky bucket that holds `capacity` requests and drains `per_second`
    /// of them a second. A request that finds it full gets 429 with
    /// `Retry-After` in whole seconds, rounded up, and UltraCart's error
    /// body.
    ///
    /// ```
    /// # use ultracart_conversation::mock::DemoServer;
    /// let builder = DemoServer::builder().rate_limiter(5, 20.0);
    /// # let _ = builder;
    /// ```
    pub fn rate_limiter(mut self, capacity: u32, per_second: f64) -> Self {
        self.bucket = Some((capacity, per_second));
        self
    }

    /// Refuses every credential but this simple key (and any others given
    /// to this method or to [`accept_only_bearer_token`](Self::accept_only_bearer_token)):
    /// a request with another key or token gets 401 and UltraCart's error
    /// body, as UltraCart answers a wrong key. By default the demo accepts
    /// any non-empty credential, so this is how to test what your code does
    /// with a 401. [`DemoServer::client`] then uses this key.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// use ultracart_conversation::{Client, StatusCode, mock::DemoServer};
    ///
    /// let demo = DemoServer::builder()
    ///     .accept_only_api_key("the-right-key")
    ///     .start()
    ///     .await;
    /// let wrong = Client::builder()
    ///     .api_key("a-wrong-key")
    ///     .base_url(demo.base_url())
    ///     .build()?;
    /// let error = wrong.get_conversations(10, 0).await.unwrap_err();
    /// assert_eq!(error.status(), Some(StatusCode::UNAUTHORIZED));
    /// demo.client()?.get_conversations(10, 0).await?;
    /// # Ok(()) }
    /// ```
    pub fn accept_only_api_key(mut self, key: impl Into<String>) -> Self {
        self.accepted
            .get_or_insert_with(Accepted::default)
            .api_keys
            .push(key.into());
        self
    }

    /// Refuses every credential but this OAuth bearer token (and any others
    /// given to this method or to [`accept_only_api_key`](Self::accept_only_api_key)),
    /// with 401.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// use ultracart_conversation::{Client, StatusCode, mock::DemoServer};
    ///
    /// let demo = DemoServer::builder()
    ///     .accept_only_bearer_token("the-right-token")
    ///     .start()
    ///     .await;
    /// let stale = Client::builder()
    ///     .bearer_token("an-expired-token")
    ///     .base_url(demo.base_url())
    ///     .build()?;
    /// let error = stale.get_conversation("any").await.unwrap_err();
    /// assert_eq!(error.status(), Some(StatusCode::UNAUTHORIZED));
    /// # Ok(()) }
    /// ```
    pub fn accept_only_bearer_token(mut self, token: impl Into<String>) -> Self {
        self.accepted
            .get_or_insert_with(Accepted::default)
            .bearer_tokens
            .push(token.into());
        self
    }

    /// Starts the server.
    ///
    /// # Panics
    ///
    /// If no local port can be opened for the server.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let demo = ultracart_conversation::mock::DemoServer::builder().start().await;
    /// # let _ = demo;
    /// # }
    /// ```
    pub async fn start(self) -> DemoServer {
        let server = MockServer::start_async().await;
        let mut state = State::seeded(self.conversations, server.base_url(), self.shape);
        state.churn = self.churn;
        state.flow = self.flow.map(Flow::new);
        state.bucket = self
            .bucket
            .map(|(capacity, per_second)| LeakyBucket::new(capacity, per_second));
        state.accepted = self.accepted;
        let state = Arc::new(Mutex::new(state));
        let routes = routes::install(&server, &state).await;
        DemoServer {
            server,
            state,
            routes: tokio::sync::Mutex::new(routes),
        }
    }
}

impl fmt::Debug for DemoServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One lock, released before formatting.
        let (conversations, requests) = {
            let state = lock(&self.state);
            (state.len(), state.requests())
        };
        f.debug_struct("DemoServer")
            .field("base_url", &self.base_url())
            .field("conversations", &conversations)
            .field("requests", &requests)
            .finish()
    }
}
