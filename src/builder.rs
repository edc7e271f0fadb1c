//! Configuration of a [`Client`].

use std::{fmt, sync::Arc, time::Duration};

use http::HeaderValue;
use secrecy::SecretString;
use tokio::sync::Semaphore;
use url::{Host, Url};

use crate::{Client, Error, RateLimit, RetryPolicy, auth::Auth, pipeline::Pipeline, raw};

/// UltraCart's REST v2 root.
pub const DEFAULT_BASE_URL: &str = "https://secure.ultracart.com/rest/v2";
/// The API version every request announces in `X-UltraCart-Api-Version`.
pub const DEFAULT_API_VERSION: &str = "2017-03-01";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
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
    base_url: String,
    api_version: String,
    timeout: Duration,
    connect_timeout: Duration,
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
            base_url: DEFAULT_BASE_URL.to_string(),
            api_version: DEFAULT_API_VERSION.to_string(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
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
            .field("base_url", &self.base_url)
            .field("api_version", &self.api_version)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
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
        let auth = match (&self.api_key, &self.bearer_token) {
            (Some(key), None) => Auth::api_key(key)?,
            (None, Some(token)) => Auth::bearer(token)?,
            (None, None) => {
                return Err(Error::config(
                    "no credential: set .api_key(..) or .bearer_token(..), or use Client::from_env()",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    "both an API key and a bearer token are set; UltraCart takes one credential per client",
                ));
            }
        };
        let base_url = normalize_base_url(&self.base_url)?;
        let api_version = header_value("API version", &self.api_version)?;
        let user_agent = header_value("user agent", &self.user_agent)?;
        if self.max_in_flight == 0 {
            return Err(Error::config("max_in_flight must be at least 1"));
        }
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
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

/// Parses and checks the base URL, and drops trailing slashes: the
/// generated client appends paths that start with `/`.
fn normalize_base_url(input: &str) -> Result<String, Error> {
    // Messages never repeat the input: it might hold credentials.
    let url = Url::parse(input.trim())
        .map_err(|e| Error::config(format!("the base URL is not a valid URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(
            "the base URL must not contain credentials; use .api_key(..) or .bearer_token(..)",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(
            "the base URL must not have a query or a fragment",
        ));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(Error::config(
                "the base URL must use https; plain http is allowed only for loopback hosts",
            ));
        }
        other => {
            return Err(Error::config(format!(
                "the base URL must use https, not `{other}`"
            )));
        }
    }
    if url.host().is_none() {
        return Err(Error::config("the base URL has no host"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked_and_normalized() {
        let ok = |s: &str| normalize_base_url(s).unwrap();
        assert_eq!(
            ok("https://secure.ultracart.com/rest/v2/"),
            "https://secure.ultracart.com/rest/v2"
        );
        assert_eq!(
            ok("https://secure.ultracart.com/rest/v2//"),
            "https://secure.ultracart.com/rest/v2"
        );
        assert_eq!(ok("http://127.0.0.1:9000"), "http://127.0.0.1:9000");
        assert_eq!(ok("http://[::1]:9000/api"), "http://[::1]:9000/api");
        assert_eq!(ok("http://localhost:1/"), "http://localhost:1");
        for bad in [
            "",
            "not a url",
            "http://example.com",
            "http://127.example.com",
            "ftp://127.0.0.1",
            "https://user:secret@example.com",
            "https://example.com/?q=1",
        ] {
            let e = normalize_base_url(bad).unwrap_err();
            assert!(matches!(e, Error::Config { .. }), "{bad}");
            assert!(!e.to_string().contains("secret"));
        }
    }
}
