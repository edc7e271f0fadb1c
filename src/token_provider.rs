//! OAuth access tokens that expire: where the client gets them.

use std::{fmt, time::Duration};

use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::{sync::Mutex, time::Instant};

use crate::{Error, StatusCode};

/// UltraCart's OAuth token endpoint.
pub const DEFAULT_TOKEN_URL: &str = "https://secure.ultracart.com/rest/v2/oauth/token";
/// Refresh this long before a token's stated expiry, so that a request never
/// leaves with a token about to lapse.
const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// Supplies OAuth access tokens to a client.
///
/// The client asks [`access_token`](Self::access_token) before every
/// request, so an implementation should cache. When UltraCart answers 401,
/// the client calls [`refresh`](Self::refresh) once with the token it
/// rejected and, if that returns a different token, sends the request once
/// more.
///
/// ```
/// use futures::future::BoxFuture;
/// use ultracart_conversation::{Error, SecretString, TokenProvider};
///
/// /// Reads the token another process keeps fresh.
/// struct FromVault;
///
/// impl TokenProvider for FromVault {
///     fn access_token(&self) -> BoxFuture<'_, Result<SecretString, Error>> {
///         Box::pin(async { Ok(SecretString::from("token-from-the-vault")) })
///     }
/// }
/// ```
pub trait TokenProvider: Send + Sync + 'static {
    /// A token to send now.
    fn access_token(&self) -> BoxFuture<'_, Result<SecretString, Error>>;

    /// A fresh token after UltraCart rejected `rejected`. The default asks
    /// [`access_token`](Self::access_token) again.
    fn refresh(&self, rejected: SecretString) -> BoxFuture<'_, Result<SecretString, Error>> {
        drop(rejected);
        self.access_token()
    }
}

/// A token that never changes: what [`bearer_token`](crate::ClientBuilder::bearer_token)
/// uses, as a provider for code that wants one type for both cases.
///
/// ```
/// use ultracart_conversation::{Client, StaticToken};
///
/// let client = Client::builder().token_provider(StaticToken::new("access-token")).build()?;
/// # Ok::<(), ultracart_conversation::Error>(())
/// ```
#[derive(Clone)]
pub struct StaticToken(SecretString);

impl StaticToken {
    /// Wraps a token.
    ///
    /// ```
    /// let token = ultracart_conversation::StaticToken::new("access-token");
    /// # let _ = token;
    /// ```
    pub fn new(token: impl Into<SecretString>) -> Self {
        Self(token.into())
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken([REDACTED])")
    }
}

impl TokenProvider for StaticToken {
    fn access_token(&self) -> BoxFuture<'_, Result<SecretString, Error>> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }
}

/// Exchanges a refresh token for access tokens at UltraCart's OAuth token
/// endpoint, caching each until shortly before it expires.
///
/// However many requests wait for a token, only one exchange runs at a
/// time; the others get its result. A rotated refresh token in the answer
/// replaces the old one.
///
/// ```no_run
/// use ultracart_conversation::{Client, RefreshTokenProvider};
///
/// let provider = RefreshTokenProvider::new("my-client-id", "my-client-secret", "my-refresh-token");
/// let client = Client::builder().token_provider(provider).build()?;
/// # Ok::<(), ultracart_conversation::Error>(())
/// ```
pub struct RefreshTokenProvider {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    client_secret: SecretString,
    refresh_margin: Duration,
    state: Mutex<TokenState>,
}

struct TokenState {
    refresh_token: SecretString,
    current: Option<CachedToken>,
}

struct CachedToken {
    token: SecretString,
    /// `None` when the server did not say (`expires_in` missing).
    refresh_at: Option<Instant>,
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
            http: reqwest::Client::new(),
            token_url: DEFAULT_TOKEN_URL.to_string(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            state: Mutex::new(TokenState {
                refresh_token: refresh_token.into(),
                current: None,
            }),
        }
    }

    /// Uses another token endpoint (a test server; `http` only on loopback).
    ///
    /// ```
    /// let provider = ultracart_conversation::RefreshTokenProvider::new("id", "secret", "refresh")
    ///     .with_token_url("http://127.0.0.1:8080/oauth/token")?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn with_token_url(mut self, url: &str) -> Result<Self, Error> {
        self.token_url = crate::url_check::checked_url(url, "token URL")?;
        Ok(self)
    }

    /// Uses the caller's HTTP client for token exchanges.
    ///
    /// ```
    /// let provider = ultracart_conversation::RefreshTokenProvider::new("id", "secret", "refresh")
    ///     .with_http_client(reqwest::Client::new());
    /// # let _ = provider;
    /// ```
    pub fn with_http_client(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// How long before expiry a token is replaced (default 60 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let provider = ultracart_conversation::RefreshTokenProvider::new("id", "secret", "refresh")
    ///     .with_refresh_margin(Duration::from_secs(300));
    /// # let _ = provider;
    /// ```
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    async fn cached_or_exchange(
        &self,
        rejected: Option<SecretString>,
    ) -> Result<SecretString, Error> {
        // Held across the exchange: concurrent callers wait here and then
        // find the token it produced.
        let mut state = self.state.lock().await;
        if let Some(current) = &state.current {
            let fresh = current.refresh_at.is_none_or(|at| Instant::now() < at);
            let was_rejected = rejected
                .as_ref()
                .is_some_and(|r| r.expose_secret() == current.token.expose_secret());
            if fresh && !was_rejected {
                return Ok(current.token.clone());
            }
        }
        let answer = self.exchange(&state.refresh_token).await?;
        let token = SecretString::from(answer.access_token.unwrap_or_default());
        if token.expose_secret().is_empty() {
            return Err(Error::token(
                "the token endpoint's answer has no access_token",
                None,
            ));
        }
        let lifetime = answer.expires_in.as_ref().and_then(seconds);
        let refresh_at = lifetime.map(|l| Instant::now() + l.saturating_sub(self.refresh_margin));
        if let Some(rotated) = answer.refresh_token.filter(|t| !t.is_empty()) {
            state.refresh_token = SecretString::from(rotated);
        }
        state.current = Some(CachedToken {
            token: token.clone(),
            refresh_at,
        });
        Ok(token)
    }

    async fn exchange(&self, refresh_token: &SecretString) -> Result<TokenAnswer, Error> {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", refresh_token.expose_secret())
            .append_pair("client_id", &self.client_id)
            .append_pair("client_secret", self.client_secret.expose_secret())
            .finish();
        let response = self
            .http
            .post(&self.token_url)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .body(form)
            .send()
            .await
            .map_err(Error::from_reqwest)?;
        let status = response.status();
        let body = response.bytes().await.map_err(Error::from_reqwest)?;
        if !status.is_success() {
            return Err(Error::token(describe_refusal(status, &body), Some(status)));
        }
        // The body holds the new secrets: an error says what was wrong, never
        // what it read.
        serde_json::from_slice(&body).map_err(|e| {
            Error::token(
                format!("the token endpoint's answer is not valid JSON ({e})"),
                Some(status),
            )
        })
    }
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
        }) => match error_description {
            Some(description) => {
                format!("the token endpoint answered {status}: {error}: {description}")
            }
            None => format!("the token endpoint answered {status}: {error}"),
        },
        // Anything else might echo the request's secrets: only its size.
        _ => format!(
            "the token endpoint answered {status} ({} bytes)",
            body.len()
        ),
    }
}

impl TokenProvider for RefreshTokenProvider {
    fn access_token(&self) -> BoxFuture<'_, Result<SecretString, Error>> {
        Box::pin(self.cached_or_exchange(None))
    }

    fn refresh(&self, rejected: SecretString) -> BoxFuture<'_, Result<SecretString, Error>> {
        Box::pin(self.cached_or_exchange(Some(rejected)))
    }
}

impl fmt::Debug for RefreshTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshTokenProvider")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("refresh_token", &"[REDACTED]")
            .field("refresh_margin", &self.refresh_margin)
            .finish()
    }
}
