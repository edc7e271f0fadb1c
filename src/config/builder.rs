//! Configuration of a [`Client`].

use std::{fmt, sync::Arc, time::Duration};

use http::HeaderValue;
use secrecy::SecretString;

use crate::net::{OwnClient, TlsOnDemand, checked_url};
use crate::{
    Client, Error, RateLimit, RetryPolicy, TokenProvider,
    api::SharedStore,
    auth::Auth,
    http::{
        HttpSettings, Pipeline,
        admission::{Admission, LocalAdmission},
    },
    raw,
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
    reqwest_client: Option<reqwest::Client>,
    root_certificates: Vec<reqwest::Certificate>,
    settings: Settings,
}

/// Everything but the credential and the HTTP client, as plain data.
#[derive(Clone, Debug)]
struct Settings {
    api_version: String,
    user_agent: String,
    connect_timeout: Duration,
    upload_timeout: Duration,
    max_in_flight: usize,
    rate_limit: Option<RateLimit>,
    #[cfg(feature = "redis")]
    shared_limits: Option<crate::SharedLimits>,
    http: HttpSettings,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            api_key: None,
            bearer_token: None,
            token_provider: None,
            base_url: DEFAULT_BASE_URL.to_string(),
            reqwest_client: None,
            root_certificates: Vec::new(),
            settings: Settings {
                api_version: DEFAULT_API_VERSION.to_string(),
                user_agent: concat!("ultracart-conversation/", env!("CARGO_PKG_VERSION"))
                    .to_string(),
                connect_timeout: DEFAULT_CONNECT_TIMEOUT,
                upload_timeout: DEFAULT_UPLOAD_TIMEOUT,
                max_in_flight: 1,
                rate_limit: None,
                #[cfg(feature = "redis")]
                shared_limits: None,
                http: HttpSettings {
                    timeout: DEFAULT_TIMEOUT,
                    call_timeout: None,
                    max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
                    retry: RetryPolicy::standard(),
                },
            },
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
            .field("reqwest_client", &self.reqwest_client.is_some())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts configuring a client; see [`ClientBuilder`].
    ///
    /// ```
    /// let builder = ultracart_conversation::Client::builder();
    /// # let _ = builder;
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
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
        self.settings.api_version = version.into();
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
        self.settings.http.timeout = timeout;
        self
    }

    /// Longest time one whole call may take, retries, waits for a slot at
    /// the in-flight gate and waits for an access token included (default:
    /// no limit beyond each attempt's). A call over the limit ends with
    /// [`Error::CallTimeout`]; a request it had under way still finishes
    /// before the next one starts, so the one-at-a-time promise holds.
    ///
    /// It bounds the facade's calls. Through [`Client::raw`] it bounds the
    /// attempts and the waits between retries, not the time a request
    /// queues for the gate or waits for pacing; a media upload's PUT to the
    /// storage service is bounded by [`upload_timeout`](Self::upload_timeout)
    /// instead.
    ///
    /// Without it, the worst case of one call with default settings is
    /// about 3½ minutes of its own: 4 attempts of at most 30 s each (the
    /// first plus 3 retries) and 3 waits of at most 30 s each
    /// ([`max_retry_wait`](Self::max_retry_wait)), plus the time it queues
    /// behind other calls of the same client.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ultracart_conversation::Client;
    /// let client = Client::builder().api_key("k").call_timeout(Duration::from_secs(20)).build()?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn call_timeout(mut self, limit: Duration) -> Self {
        self.settings.http.call_timeout = Some(limit);
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
        self.settings.connect_timeout = timeout;
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
        self.settings.upload_timeout = timeout;
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
        self.settings.user_agent = user_agent.into();
        self
    }

    /// Uses the caller's own `reqwest::Client` (proxies, pools, TLS
    /// settings). Headers, auth, timeouts and retries still come from this
    /// builder.
    ///
    /// Build it with `.redirect(reqwest::redirect::Policy::none())` and
    /// `.referer(false)`, as the crate's own client is: reqwest drops only
    /// `Authorization` and cookies when a redirect changes host, so a client
    /// that follows redirects sends the simple key (and a request's body) to
    /// wherever a redirect points, and a `Referer` can carry a presigned
    /// upload URL's signature. The crate cannot see a caller's redirect
    /// policy; it refuses an answer that came from another URL with
    /// [`Error::Redirect`], but by then the request has left.
    ///
    /// With only the `rustls-ring` backend, install ring's crypto provider
    /// (`rustls::crypto::ring::default_provider().install_default()`) before
    /// building a `reqwest::Client` of your own.
    ///
    /// ```
    /// # use ultracart_conversation::Client;
    /// # #[cfg(all(feature = "rustls-ring", not(feature = "rustls-aws-lc")))]
    /// # let _ = rustls::crypto::ring::default_provider().install_default();
    /// let http = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .referer(false)
    ///     .pool_max_idle_per_host(2)
    ///     .build()?;
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
    /// ```
    /// # use ultracart_conversation::Client;
    /// # let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
    /// # ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    /// # let ca_pem = ca.self_signed(&rcgen::KeyPair::generate()?)?.pem();
    /// # let ca_file = std::env::temp_dir().join(format!("ultracart-doc-ca-{}.pem", std::process::id()));
    /// # std::fs::write(&ca_file, ca_pem)?;
    /// let pem = std::fs::read(&ca_file)?;
    /// # std::fs::remove_file(&ca_file)?;
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
        self.settings.max_in_flight = requests;
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
        self.settings.rate_limit = Some(limit);
        self
    }

    /// Shares the client's limits with every client of every process in
    /// the same namespace, through Redis: the in-flight gate
    /// ([`max_in_flight`](Self::max_in_flight)), the [`rate_limit`](Self::rate_limit)
    /// with its hourly and daily budgets, the pause after a 429, and the
    /// pace learned from 429s. For several replicas of one service sharing
    /// one API key. `build()` does not connect; the first request does.
    ///
    /// ```
    /// use ultracart_conversation::{Client, RateLimit, SharedLimits};
    ///
    /// let redis_url = std::env::var("REDIS_URL").unwrap_or("redis://127.0.0.1:6379".into());
    /// let client = Client::builder()
    ///     .api_key("my-key")
    ///     .rate_limit(RateLimit::ultracart_default())
    ///     .shared_limits(SharedLimits::redis(&redis_url)?)
    ///     .build()?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn shared_limits(mut self, limits: crate::SharedLimits) -> Self {
        self.settings.shared_limits = Some(limits);
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
        self.settings.http.retry = policy;
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
        self.settings.http.retry = self.settings.http.retry.with_max_retries(retries);
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
        self.settings.http.retry = self.settings.http.retry.with_max_retry_wait(wait);
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
        self.settings.http.max_response_bytes = bytes;
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
        let base_url = checked_url(&self.base_url, "base URL")?;
        let settings = self.settings;
        let api_version = header_value("API version", &settings.api_version)?;
        let user_agent = header_value("user agent", &settings.user_agent)?;
        if settings.max_in_flight == 0 {
            return Err(Error::config("max_in_flight must be at least 1"));
        }
        if settings.max_in_flight > tokio::sync::Semaphore::MAX_PERMITS {
            return Err(Error::config(format!(
                "max_in_flight must be at most {}",
                tokio::sync::Semaphore::MAX_PERMITS
            )));
        }
        let timeouts = [
            settings.http.timeout,
            settings.connect_timeout,
            settings.upload_timeout,
        ];
        if timeouts
            .iter()
            .chain(&settings.http.call_timeout)
            .any(Duration::is_zero)
        {
            return Err(Error::config("timeouts must be longer than zero"));
        }
        if settings.http.max_response_bytes == 0 {
            return Err(Error::config("max_response_bytes must be at least 1"));
        }
        let (http, tls_on_demand) = match self.reqwest_client {
            Some(client) => (client, None),
            None => {
                let own = OwnClient {
                    connect_timeout: settings.connect_timeout,
                    root_certificates: self.root_certificates,
                };
                // Checked and normalised: the scheme is `https` or `http`.
                if base_url.starts_with("https:") {
                    (own.with_tls()?, None)
                } else {
                    (own.plain()?, Some(TlsOnDemand::new(own)))
                }
            }
        };
        // One connection to the shared limits' Redis, for the limits and
        // for anything else the client keeps there (a group watch).
        #[cfg(feature = "redis")]
        let redis = settings
            .shared_limits
            .as_ref()
            .map(|shared| shared.plumbing(&base_url, auth.identity()))
            .transpose()?;
        #[cfg(not(feature = "redis"))]
        let redis = None;
        let admission = admission(&settings, redis.as_ref())?;
        let pipeline = Pipeline::new(auth, api_version, user_agent, settings.http, admission);
        let raw = raw::Client::new_with_client(&base_url, http, Arc::new(pipeline));
        Ok(Client::from_raw(
            raw,
            settings.upload_timeout,
            tls_on_demand,
            redis,
        ))
    }
}

/// What holds requests back: this process's own limits, or those shared
/// through `redis`.
fn admission(
    settings: &Settings,
    redis: Option<&SharedStore>,
) -> Result<Arc<dyn Admission>, Error> {
    #[cfg(feature = "redis")]
    if let (Some(shared), Some(redis)) = (&settings.shared_limits, redis) {
        return shared.admission_on(redis, settings.max_in_flight, settings.rate_limit.as_ref());
    }
    let _ = redis;
    Ok(Arc::new(LocalAdmission::new(
        settings.max_in_flight,
        settings.rate_limit.as_ref(),
    )))
}

fn header_value(what: &str, value: &str) -> Result<HeaderValue, Error> {
    HeaderValue::try_from(value)
        .map_err(|_| Error::config(format!("the {what} cannot go in an HTTP header")))
}
