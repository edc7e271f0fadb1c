//! Configuration of a [`Client`].

use std::{fmt, sync::Arc, time::Duration};

use http::HeaderValue;
use secrecy::SecretString;
use tokio::sync::Semaphore;

use crate::{
    Client, Error, RateLimit, RetryPolicy, TokenProvider, auth::Auth, pipeline::Pipeline, raw,
    url_check,
};

/// UltraCart's REST v2 root.
pub const DEFAULT_BASE_URL: &str = "https://secure.ultracart.com/rest/v2";
/// The API version every request announces in `X-UltraCart-Api-Version`.
pub const DEFAULT_API_VERSION: &str = "2017-03-01";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Media can be large and storage far away.
const DEFAULT_UPLOAD_TIMEOUT: Duration = Duration::from_secs(300);
/// Enough for a conversation with thousands of messages or a full page of
/// summaries; a misbehaving server cannot make the client buffer more.
const DEFAULT_MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// Builds a [`Client`]; start from [`Client::builder`].
///
/// Only a credential is required. Defaults: UltraCart's production URL, API
/// version `2017-03-01`, a 30 s timeout per attempt, 10 s to connect, one
/// request in flight, the [standard retry policy](RetryPolicy::standard), no
/// client-side rate limit, and responses of at most 8 MiB.
///
/// ```
/// use std::time::Duration;
/// use ultracart_conversation::Client;
///
/// let client = Client::builder()
///     .api_key("my-simple-key")
///     .timeout(Duration::from_secs(10))
///     .max_retries(5)
///     .build()?;
/// # Ok::<(), ultracart_conversation::Error>(())
/// ```
#[must_use]
pub struct ClientBuilder {
    api_key: Option<SecretString>,
    bearer_token: Option<SecretString>,
    token_provider: Option<Arc<dyn TokenProvider>>,
    base_url: String,
    api_version: String,
    timeout: Duration,
    connect_timeout: Duration,
    upload_timeout: Duration,
    user_agent: String,
    reqwest_client: Option<reqwest::Client>,
    root_certificates: Vec<reqwest::Certificate>,
    max_in_flight: usize,
    retry: RetryPolicy,
    rate_limit: Option<RateLimit>,
    max_response_bytes: usize,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            api_key: None,
            bearer_token: None,
            token_provider: None,
            base_url: DEFAULT_BASE_URL.to_string(),
            api_version: DEFAULT_API_VERSION.to_string(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            upload_timeout: DEFAULT_UPLOAD_TIMEOUT,
            user_agent: concat!("ultracart-conversation/", env!("CARGO_PKG_VERSION")).to_string(),
            reqwest_client: None,
            root_certificates: Vec::new(),
            max_in_flight: 1,
            retry: RetryPolicy::standard(),
            rate_limit: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |set: bool| if set { "[REDACTED]" } else { "None" };
        f.debug_struct("ClientBuilder")
            .field("api_key", &redacted(self.api_key.is_some()))
            .field("bearer_token", &redacted(self.bearer_token.is_some()))
            .field("token_provider", &self.token_provider.is_some())
            .field("base_url", &self.base_url)
            .field("api_version", &self.api_version)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("upload_timeout", &self.upload_timeout)
            .field("max_in_flight", &self.max_in_flight)
            .field("retry", &self.retry)
            .field("rate_limit", &self.rate_limit)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Authenticates with a simple API key (header `x-ultracart-simple-key`).
    ///
    /// ```
    /// # use ultracart_conversation::Client;
    /// let client = Client::builder().api_key("my-key").build()?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn api_key(mut self, key: impl Into<SecretString>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Authenticates with an OAuth access token (`Authorization: Bearer`).
    ///
    /// ```
    /// # use ultracart_conversation::Client;
    /// let client = Client::builder().bearer_token("access-token").build()?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn bearer_token(mut self, token: impl Into<SecretString>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// Authenticates with OAuth access tokens from a provider, such as a
    /// [`RefreshTokenProvider`](crate::RefreshTokenProvider) that renews
    /// them as they expire.
    ///
    /// ```
    /// # use ultracart_conversation::{Client, RefreshTokenProvider};
    /// let provider = RefreshTokenProvider::new("client-id", "client-secret", "refresh-token");
    /// let client = Client::builder().token_provider(provider).build()?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn token_provider(mut self, provider: impl TokenProvider) -> Self {
        self.token_provider = Some(Arc::new(provider));
        self
    }

    /// Where the API lives (default `https://secure.ultracart.com/rest/v2`).
    /// Plain `http` is accepted only for loopback hosts, for tests.
    ///
    /// ```
    /// # use ultracart_conversation::Client;
    /// let client = Client::builder()
    ///     .api_key("k")
    ///     .base_url("http://127.0.0.1:8080/rest/v2/")
    ///     .build()?;
    /// assert_eq!(client.base_url(), "http://127.0.0.1:8080/rest/v2");
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// The value of `X-UltraCart-Api-Version` (default `2017-03-01`).
    ///
    /// ```
    /// # use ultracart_conversation::Client;
    /// let client = Client::builder().api_key("k").api_version("2017-03-01").build()?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = version.into();
        self
    }

    /// Longest time one attempt may take, from sending to the end of the
    /// body (default 30 s). Retries get a fresh timeout each.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ultracart_conversation::Client;
    /// let client = Client::builder().api_key("k").timeout(Duration::from_secs(5)).build()?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Longest time to establish a connection (default 10 s). Ignored when a
    /// [`reqwest_client`](Self::reqwest_client) is supplied.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ultracart_conversation::Client;
    /// let client = Client::builder().api_key("k").connect_timeout(Duration::from_secs(2)).build()?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Longest time one media upload to the storage service may take
    /// (default 5 minutes).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ultracart_conversation::Client;
    /// let client = Client::builder().api_key("k").upload_timeout(Duration::from_secs(900)).build()?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn upload_timeout(mut self, timeout: Duration) -> Self {
        self.upload_timeout = timeout;
        self
    }

    /// The `User-Agent` header (default `ultracart-conversation/<version>`).
    ///
    /// ```
    /// # use ultracart_conversation::Client;
    /// let client = Client::builder().api_key("k").user_agent("support-desk/2.1").build()?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Uses the caller's own `reqwest::Client` (proxies, pools, TLS
    /// settings). Headers, auth, timeouts and retries still come from this
    /// builder.
    ///
    /// ```
    /// # use ultracart_conversation::Client;
    /// let http = reqwest::Client::builder().pool_max_idle_per_host(2).build()?;
    /// let client = Client::builder().api_key("k").reqwest_client(http).build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reqwest_client(mut self, client: reqwest::Client) -> Self {
        self.reqwest_client = Some(client);
        self
    }

    /// Trusts one more certificate authority besides the system's (a
    /// corporate proxy, a test server). Ignored when a
    /// [`reqwest_client`](Self::reqwest_client) is supplied.
    ///
    /// ```no_run
    /// # use ultracart_conversation::Client;
    /// let pem = std::fs::read("corporate-ca.pem")?;
    /// let client = Client::builder()
    ///     .api_key("k")
    ///     .add_root_certificate(reqwest::Certificate::from_pem(&pem)?)
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_root_certificate(mut self, certificate: reqwest::Certificate) -> Self {
        self.root_certificates.push(certificate);
        self
    }

    /// How many requests this client (and all its clones) may have in
    /// flight at once (default 1).
    ///
    /// UltraCart answers concurrent requests from one application with 429
    /// and may apply abuse limits to clients that keep sending them, so the
    /// default never overlaps requests. Raise it only for accounts whose
    /// limits UltraCart has raised.
    ///
    /// ```
    /// # use ultracart_conversation::Client;
    /// let client = Client::builder().api_key("k").max_in_flight(4).build()?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn max_in_flight(mut self, requests: usize) -> Self {
        self.max_in_flight = requests;
        self
    }

    /// Spaces requests client-side; see [`RateLimit`] (default: none).
    ///
    /// ```
    /// # use ultracart_conversation::{Client, RateLimit};
    /// let client = Client::builder()
    ///     .api_key("k")
    ///     .rate_limit(RateLimit::ultracart_default())
    ///     .build()?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Replaces the whole retry policy.
    ///
    /// ```
    /// # use ultracart_conversation::{Client, RetryPolicy};
    /// let client = Client::builder().api_key("k").retry_policy(RetryPolicy::disabled()).build()?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How many times one call may be retried (default 3; 0 disables).
    ///
    /// ```
    /// # use ultracart_conversation::Client;
    /// let client = Client::builder().api_key("k").max_retries(0).build()?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.retry = self.retry.with_max_retries(retries);
        self
    }

    /// Longest single wait before a retry (default 30 s). A `Retry-After`
    /// longer than this fails the call at once, with
    /// [`Error::retry_after`] telling how long the server asked for.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ultracart_conversation::Client;
    /// let client = Client::builder().api_key("k").max_retry_wait(Duration::from_secs(5)).build()?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn max_retry_wait(mut self, wait: Duration) -> Self {
        self.retry = self.retry.with_max_retry_wait(wait);
        self
    }

    /// Largest response body the client will buffer (default 8 MiB); a
    /// larger one fails with [`Error::BodyTooLarge`].
    ///
    /// ```
    /// # use ultracart_conversation::Client;
    /// let client = Client::builder().api_key("k").max_response_bytes(1 << 20).build()?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Checks the settings and builds the client.
    ///
    /// Fails with [`Error::Config`] without a credential, with both kinds of
    /// credential, or with a base URL that is not an `https` URL (plain
    /// `http` only for loopback hosts).
    ///
    /// ```
    /// # use ultracart_conversation::Client;
    /// let e = Client::builder().build().unwrap_err();
    /// assert!(e.to_string().contains("credential"));
    /// let e = Client::builder().api_key("k").base_url("http://example.com").build().unwrap_err();
    /// assert!(e.to_string().contains("https"));
    /// ```
    pub fn build(self) -> Result<Client, Error> {
        let auth = match (self.api_key, self.bearer_token, self.token_provider) {
            (Some(key), None, None) => Auth::api_key(&key)?,
            (None, Some(token), None) => Auth::bearer(&token)?,
            (None, None, Some(provider)) => Auth::Provider(provider),
            (None, None, None) => {
                return Err(Error::config(
                    "no credential: set .api_key(..), .bearer_token(..) or .token_provider(..), or use Client::from_env()",
                ));
            }
            _ => {
                return Err(Error::config(
                    "more than one credential is set; UltraCart takes one credential per client",
                ));
            }
        };
        let base_url = url_check::checked_url(&self.base_url, "base URL")?;
        let api_version = header_value("API version", &self.api_version)?;
        let user_agent = header_value("user agent", &self.user_agent)?;
        if self.max_in_flight == 0 {
            return Err(Error::config("max_in_flight must be at least 1"));
        }
        if self.timeout.is_zero() || self.connect_timeout.is_zero() || self.upload_timeout.is_zero()
        {
            return Err(Error::config("timeouts must be longer than zero"));
        }
        if self.max_response_bytes == 0 {
            return Err(Error::config("max_response_bytes must be at least 1"));
        }
        let http = match self.reqwest_client {
            Some(client) => client,
            None => {
                let mut builder = reqwest::Client::builder().connect_timeout(self.connect_timeout);
                for certificate in self.root_certificates {
                    builder = builder.add_root_certificate(certificate);
                }
                builder
                    .build()
                    .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))?
            }
        };
        let pipeline = Pipeline {
            auth,
            api_version,
            user_agent,
            timeout: self.timeout,
            upload_timeout: self.upload_timeout,
            gate: Semaphore::new(self.max_in_flight),
            max_in_flight: self.max_in_flight,
            retry: self.retry,
            rate_limiter: self.rate_limit.as_ref().map(RateLimit::build),
            max_response_bytes: self.max_response_bytes,
        };
        let raw = raw::Client::new_with_client(&base_url, http, Arc::new(pipeline));
        Ok(Client::from_raw(raw))
    }
}

fn header_value(what: &str, value: &str) -> Result<HeaderValue, Error> {
    HeaderValue::try_from(value)
        .map_err(|_| Error::config(format!("the {what} cannot go in an HTTP header")))
}
