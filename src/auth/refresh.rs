//! OAuth access tokens from a refresh token, exchanged at UltraCart's token
//! endpoint.

use std::{
    fmt,
    sync::{Arc, Mutex, MutexGuard, OnceLock},
    time::Duration,
};

use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::{sync::watch, time::Instant};

use super::TokenProvider;
use crate::{
    Error, StatusCode,
    error::SharedCause,
    net::{Body, read_capped, redirect_of},
};

/// UltraCart's OAuth token endpoint.
pub const DEFAULT_TOKEN_URL: &str = "https://secure.ultracart.com/rest/v2/oauth/token";
/// Refresh this long before a token's stated expiry, so that a request never
/// leaves with a token about to lapse. Short-lived tokens get half their
/// lifetime instead, so that a token is never stale on arrival.
const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// Longest one exchange may take, from connecting to the end of the answer.
const DEFAULT_EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A token answer is a few hundred bytes; nothing legitimate is near this.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Called with each rotated refresh token; see
/// [`RefreshTokenProvider::on_refresh_token_rotated`].
type RotationCallback = Box<dyn Fn(&SecretString) + Send + Sync>;

/// Exchanges a refresh token for access tokens at UltraCart's OAuth token
/// endpoint, caching each until shortly before it expires.
///
/// - **One exchange per burst.** However many requests wait for a token,
///   one exchange runs; every waiter gets its result, success or failure.
/// - **Cancellation-safe.** The exchange runs in a task of its own: a
///   caller that stops waiting (a timeout, a dropped future) does not stop
///   it, and its result, including a rotated refresh token, is kept.
/// - **Bounded.** An exchange gives up after 30 s
///   ([`with_exchange_timeout`](Self::with_exchange_timeout)) and refuses
///   answers over 64 KiB; a client waits for a token no longer than its own
///   per-attempt [`timeout`](crate::ClientBuilder::timeout).
/// - **Rotation.** A rotated refresh token in the answer replaces the old
///   one and is handed to [`on_refresh_token_rotated`](Self::on_refresh_token_rotated),
///   so the application can store it for its next start.
/// - **No secret leaves for another host.** Its HTTP client follows no
///   redirect and sends no `Referer`; a redirect is a typed error.
///
#[doc = mock_fence!()]
/// use ultracart_conversation::{Client, RefreshTokenProvider};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ultracart_conversation::Error> {
/// # // A local token endpoint and API stand in for UltraCart's.
/// # let oauth = httpmock::MockServer::start_async().await;
/// # let exchange = oauth.mock_async(|when, then| {
/// #     when.method(httpmock::Method::POST)
/// #         .path("/oauth/token")
/// #         .form_urlencoded_tuple("grant_type", "refresh_token")
/// #         .form_urlencoded_tuple("refresh_token", "my-refresh-token");
/// #     then.status(200).json_body(serde_json::json!({
/// #         "access_token": "access-1", "token_type": "bearer", "expires_in": 3600
/// #     }));
/// # }).await;
/// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
/// let provider = RefreshTokenProvider::new("my-client-id", "my-client-secret", "my-refresh-token");
/// # let provider = provider.with_token_url(&oauth.url("/oauth/token"))?;
/// let client = Client::builder()
///     .token_provider(provider)
/// #   .base_url(demo.base_url())
///     .build()?;
/// // The first request exchanges the refresh token for an access token.
/// client.get_conversations(10, 0).await?;
/// # exchange.assert_calls_async(1).await;
/// # Ok(()) }
/// ```
pub struct RefreshTokenProvider {
    inner: Arc<Inner>,
}

struct Inner {
    /// The caller's, or the crate's built at the first exchange (a provider
    /// given a client never builds one); an error is reported there.
    http: OnceLock<Result<reqwest::Client, String>>,
    token_url: String,
    client_id: String,
    client_secret: SecretString,
    refresh_margin: Duration,
    exchange_timeout: Duration,
    on_rotation: Option<RotationCallback>,
    state: Mutex<State>,
}

struct State {
    refresh_token: SecretString,
    current: Option<CachedToken>,
    /// The exchange under way, for callers that arrive while it runs.
    exchange: Option<watch::Receiver<Option<Outcome>>>,
}

struct CachedToken {
    token: SecretString,
    /// `None` when the server did not say (`expires_in` missing).
    refresh_at: Option<Instant>,
}

/// One exchange's result, shared by everyone who waited for it.
type Outcome = Result<SecretString, Arc<Failure>>;

/// Why an exchange failed; never holds a secret.
#[derive(Debug)]
struct Failure {
    status: Option<StatusCode>,
    message: String,
    cause: Option<SharedCause>,
}

impl Failure {
    fn new(message: impl Into<String>, status: Option<StatusCode>) -> Self {
        Self {
            status,
            message: message.into(),
            cause: None,
        }
    }

    fn to_error(&self) -> Error {
        Error::TokenRefresh {
            status: self.status,
            message: self.message.clone(),
            source: self.cause.clone().map(|cause| Box::new(cause) as _),
        }
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: Option<String>,
    error_description: Option<String>,
}

impl RefreshTokenProvider {
    /// A provider for an app's `client_id` and `client_secret` and a user's
    /// refresh token, using UltraCart's token endpoint.
    ///
    /// ```
    /// let provider = ultracart_conversation::RefreshTokenProvider::new("id", "secret", "refresh");
    /// # let _ = provider;
    /// ```
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
        refresh_token: impl Into<SecretString>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                http: OnceLock::new(),
                token_url: DEFAULT_TOKEN_URL.to_string(),
                client_id: client_id.into(),
                client_secret: client_secret.into(),
                refresh_margin: DEFAULT_REFRESH_MARGIN,
                exchange_timeout: DEFAULT_EXCHANGE_TIMEOUT,
                on_rotation: None,
                state: Mutex::new(State {
                    refresh_token: refresh_token.into(),
                    current: None,
                    exchange: None,
                }),
            }),
        }
    }

    fn configure(mut self, change: impl FnOnce(&mut Inner)) -> Self {
        // Only builder methods call this, before the provider is shared.
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            change(inner);
        }
        self
    }

    /// Uses another token endpoint (a test server; `http` only on loopback).
    ///
    /// ```
    /// let provider = ultracart_conversation::RefreshTokenProvider::new("id", "secret", "refresh")
    ///     .with_token_url("http://127.0.0.1:8080/oauth/token")?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn with_token_url(self, url: &str) -> Result<Self, Error> {
        let url = crate::net::checked_url(url, "token URL")?;
        Ok(self.configure(|inner| inner.token_url = url))
    }

    /// Uses the caller's HTTP client for token exchanges. Build it with
    /// `.redirect(reqwest::redirect::Policy::none())` and `.referer(false)`:
    /// a client that follows a 307 sends the refresh token and the client
    /// secret to wherever it points. The provider refuses an answer that
    /// came from another URL, but by then the secrets have left.
    ///
    /// ```
    /// let http = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .referer(false)
    ///     .build()?;
    /// let provider = ultracart_conversation::RefreshTokenProvider::new("id", "secret", "refresh")
    ///     .with_http_client(http);
    /// # Ok::<(), reqwest::Error>(())
    /// ```
    pub fn with_http_client(self, http: reqwest::Client) -> Self {
        self.configure(|inner| inner.http = OnceLock::from(Ok(http)))
    }

    /// Longest one exchange may take, from connecting to the end of the
    /// answer (default 30 s); it applies to a caller-supplied HTTP client
    /// too.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let provider = ultracart_conversation::RefreshTokenProvider::new("id", "secret", "refresh")
    ///     .with_exchange_timeout(Duration::from_secs(5));
    /// # let _ = provider;
    /// ```
    pub fn with_exchange_timeout(self, timeout: Duration) -> Self {
        self.configure(|inner| inner.exchange_timeout = timeout)
    }

    /// How long before expiry a token is replaced (default 60 s, and never
    /// more than half the token's lifetime).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let provider = ultracart_conversation::RefreshTokenProvider::new("id", "secret", "refresh")
    ///     .with_refresh_margin(Duration::from_secs(300));
    /// # let _ = provider;
    /// ```
    pub fn with_refresh_margin(self, margin: Duration) -> Self {
        self.configure(|inner| inner.refresh_margin = margin)
    }

    /// Calls `store` with every refresh token UltraCart rotates in, right
    /// after the exchange, even when the request that started it was
    /// cancelled. UltraCart may invalidate the old refresh token, so an
    /// application that does not store the new one cannot start again.
    ///
    /// `store` runs on the exchange's task and should return quickly; hand
    /// slow work to a task of its own.
    ///
    /// ```
    /// use ultracart_conversation::{ExposeSecret, RefreshTokenProvider};
    ///
    /// let provider = RefreshTokenProvider::new("id", "secret", "refresh")
    ///     .on_refresh_token_rotated(|token| {
    ///         let token = token.expose_secret().to_owned();
    ///         tokio::spawn(async move {
    ///             // Keep it where the next start reads it from.
    ///             let _ = tokio::fs::write("/var/lib/desk/refresh-token", token).await;
    ///         });
    ///     });
    /// # let _ = provider;
    /// ```
    pub fn on_refresh_token_rotated(
        self,
        store: impl Fn(&SecretString) + Send + Sync + 'static,
    ) -> Self {
        self.configure(|inner| inner.on_rotation = Some(Box::new(store)))
    }

    async fn token(&self, rejected: Option<SecretString>) -> Result<SecretString, Error> {
        let mut exchange = {
            let mut state = self.inner.lock();
            if let Some(token) = state.usable_token(rejected.as_ref()) {
                return Ok(token);
            }
            match &state.exchange {
                // An exchange whose task died (its runtime shut down) is
                // not waited for: a new one starts.
                Some(exchange) if exchange.has_changed().is_ok() => exchange.clone(),
                _ => {
                    let exchange = Inner::start_exchange(&self.inner);
                    state.exchange = Some(exchange.clone());
                    exchange
                }
            }
        };
        let outcome = match exchange.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone(),
            Err(_) => None,
        };
        match outcome {
            Some(Ok(token)) => Ok(token),
            Some(Err(failure)) => Err(failure.to_error()),
            None => Err(Error::token(
                "the token exchange ended without a result",
                None,
            )),
        }
    }
}

impl State {
    fn usable_token(&self, rejected: Option<&SecretString>) -> Option<SecretString> {
        let current = self.current.as_ref()?;
        let fresh = current.refresh_at.is_none_or(|at| Instant::now() < at);
        let was_rejected =
            rejected.is_some_and(|r| r.expose_secret() == current.token.expose_secret());
        (fresh && !was_rejected).then(|| current.token.clone())
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent state behind
        // (every write is a single assignment), so poisoning is ignored.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs one exchange on a task of its own and returns where its outcome
    /// will appear. The task stores the outcome itself, so it is kept even
    /// when every caller has stopped waiting.
    fn start_exchange(this: &Arc<Self>) -> watch::Receiver<Option<Outcome>> {
        let (publish, outcome) = watch::channel(None);
        let inner = Arc::clone(this);
        tokio::spawn(async move {
            let refresh_token = inner.lock().refresh_token.clone();
            let result = inner.exchange(&refresh_token).await;
            let outcome = inner.keep(result);
            inner.lock().exchange = None;
            let _ = publish.send(Some(outcome));
        });
        outcome
    }

    /// Stores what an exchange brought: the access token, and a rotated
    /// refresh token, which is also handed to the application.
    fn keep(&self, result: Result<TokenAnswer, Failure>) -> Outcome {
        let answer = result.map_err(Arc::new)?;
        let token = SecretString::from(answer.access_token.unwrap_or_default());
        if token.expose_secret().trim().is_empty() {
            return Err(Arc::new(Failure::new(
                "the token endpoint's answer has no access_token",
                None,
            )));
        }
        let refresh_at = answer
            .expires_in
            .as_ref()
            .and_then(seconds)
            .map(|lifetime| {
                let margin = self.refresh_margin.min(lifetime / 2);
                Instant::now() + lifetime.saturating_sub(margin)
            });
        let rotated = answer
            .refresh_token
            .filter(|t| !t.trim().is_empty())
            .map(SecretString::from);
        {
            let mut state = self.lock();
            if let Some(rotated) = &rotated {
                state.refresh_token = rotated.clone();
            }
            state.current = Some(CachedToken {
                token: token.clone(),
                refresh_at,
            });
        }
        if let (Some(rotated), Some(store)) = (&rotated, &self.on_rotation) {
            // The application's code: a panic there must not cost the
            // waiters their token.
            let stored = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| store(rotated)));
            if stored.is_err() {
                tracing::error!("the callback storing a rotated refresh token panicked");
            }
        }
        Ok(token)
    }

    async fn exchange(&self, refresh_token: &SecretString) -> Result<TokenAnswer, Failure> {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", refresh_token.expose_secret())
            .append_pair("client_id", &self.client_id)
            .append_pair("client_secret", self.client_secret.expose_secret())
            .finish();
        let unreachable = |e: reqwest::Error| {
            let message = if e.is_timeout() {
                "the token endpoint did not answer in time"
            } else {
                "the token endpoint could not be reached"
            };
            Failure {
                status: None,
                message: message.to_string(),
                cause: Some(SharedCause(Arc::new(e.without_url()))),
            }
        };
        let http = self
            .http
            .get_or_init(exchange_client)
            .as_ref()
            .map_err(|message| Failure::new(message.clone(), None))?;
        let mut response = http
            .post(&self.token_url)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .timeout(self.exchange_timeout)
            .body(form)
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        // Only a caller-supplied client follows redirects; the answer then
        // comes from another URL.
        let followed = url::Url::parse(&self.token_url).map_or(true, |url| &url != response.url());
        if let Some(redirect) = redirect_of(followed, response.url(), status, response.headers()) {
            return Err(Failure::new(
                format!(
                    "the token endpoint answered {status} towards {}, and redirects are not followed",
                    redirect.host.as_deref().unwrap_or("an unnamed host")
                ),
                Some(status),
            ));
        }
        let body = match read_capped(&mut response, MAX_ANSWER_BYTES)
            .await
            .map_err(unreachable)?
        {
            Body::Read(body) => body,
            Body::TooLarge { limit } => {
                return Err(Failure::new(
                    format!("the token endpoint's {status} answer is larger than {limit} bytes"),
                    Some(status),
                ));
            }
        };
        if !status.is_success() {
            return Err(Failure::new(describe_refusal(status, &body), Some(status)));
        }
        // The body holds the new secrets: an error says what was wrong, never
        // what it read.
        serde_json::from_slice(&body).map_err(|e| {
            Failure::new(
                format!(
                    "the token endpoint's answer is not a token answer ({:?} at line {} column {})",
                    e.classify(),
                    e.line(),
                    e.column()
                ),
                Some(status),
            )
        })
    }
}

/// The exchange's own HTTP client: no redirect or `Referer` can carry the
/// form's secrets to another host.
fn exchange_client() -> Result<reqwest::Client, String> {
    crate::net::http_client_builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        // Only a TLS backend that cannot initialise fails here; a default
        // client instead would follow redirects with the secrets.
        .map_err(|e| format!("the token endpoint's HTTP client cannot be built: {e}"))
}

fn seconds(value: &serde_json::Value) -> Option<Duration> {
    let secs = match value {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)))
}

fn describe_refusal(status: StatusCode, body: &[u8]) -> String {
    match serde_json::from_slice::<OAuthError>(body) {
        Ok(OAuthError {
            error: Some(error),
            error_description,
        }) => {
            let error = crate::error::redact_jwts(&error);
            match error_description {
                Some(description) => format!(
                    "the token endpoint answered {status}: {error}: {}",
                    crate::error::redact_jwts(&description)
                ),
                None => format!("the token endpoint answered {status}: {error}"),
            }
        }
        // Anything else might echo the request's secrets: only its size.
        _ => format!(
            "the token endpoint answered {status} ({} bytes)",
            body.len()
        ),
    }
}

impl TokenProvider for RefreshTokenProvider {
    fn access_token(&self) -> BoxFuture<'_, Result<SecretString, Error>> {
        Box::pin(self.token(None))
    }

    fn refresh(&self, rejected: SecretString) -> BoxFuture<'_, Result<SecretString, Error>> {
        Box::pin(self.token(Some(rejected)))
    }
}

impl fmt::Debug for RefreshTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshTokenProvider")
            .field("token_url", &self.inner.token_url)
            .field("client_id", &self.inner.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("refresh_token", &"[REDACTED]")
            .field("refresh_margin", &self.inner.refresh_margin)
            .field("stores_rotated_tokens", &self.inner.on_rotation.is_some())
            .finish()
    }
}
