//! The one error type of the facade.

mod excerpt;

use std::{error::Error as StdError, fmt, time::Duration};

pub use excerpt::BodyExcerpt;
pub(crate) use excerpt::redact_jwts;

use crate::{StatusCode, types};

/// A cause kept in an [`Error`]'s `source()` chain.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Everything that can go wrong when calling UltraCart through this crate.
///
/// Match on the variants, or use the predicates, which stay stable as
/// variants are added: [`status`](Error::status),
/// [`error_response`](Error::error_response),
/// [`user_message`](Error::user_message),
/// [`retry_after`](Error::retry_after), [`is_timeout`](Error::is_timeout),
/// [`is_retryable`](Error::is_retryable) and friends.
///
/// `Display` is one sentence about what failed here; the underlying causes
/// (the HTTP library's error, the JSON decoder's, an I/O error) are in the
/// [`source`](std::error::Error::source) chain and not repeated, so an error
/// reporter such as `anyhow` prints each once. Neither `Display` nor `Debug`
/// ever contains an API key, an OAuth token or an agent JWT.
///
#[doc = mock_fence!()]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ultracart_conversation::Error> {
/// use ultracart_conversation::{StatusCode, mock::DemoServer};
///
/// let demo = DemoServer::start().await;
/// let client = demo.client()?;
///
/// match client.get_conversation("no-such-conversation").await {
///     Ok(conversation) => println!("{} messages", conversation.messages.unwrap_or_default().len()),
///     Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => println!("no such conversation"),
///     Err(e) if e.is_retryable() => println!("try again later: {e}"),
///     Err(e) => println!("failed: {}", e.user_message().unwrap_or("unknown error")),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument was rejected before any request was sent.
    #[error("invalid input: {message}")]
    #[non_exhaustive]
    InvalidInput {
        /// What was wrong, naming the argument.
        message: String,
    },

    /// The client could not be built from its settings.
    #[error("invalid client configuration: {message}")]
    #[non_exhaustive]
    Config {
        /// What was wrong.
        message: String,
    },

    /// UltraCart answered with an error status and an `ErrorResponse` body,
    /// or with a success status and an envelope that says it failed
    /// (`success: false`).
    #[error("UltraCart answered {status}{}", describe_error_response(response))]
    #[non_exhaustive]
    Api {
        /// The HTTP status.
        status: StatusCode,
        /// The decoded body.
        response: Box<types::ErrorResponse>,
        /// How long the server asked the client to wait, from `Retry-After`.
        retry_after: Option<Duration>,
    },

    /// An error status whose body is not UltraCart's JSON (an HTML page from
    /// a proxy, a plain-text 429, an empty 503).
    #[error("UltraCart answered {status} with a body that is not an UltraCart error: {body}")]
    #[non_exhaustive]
    UnexpectedStatus {
        /// The HTTP status.
        status: StatusCode,
        /// The start of the body.
        body: BodyExcerpt,
        /// How long the server asked the client to wait, from `Retry-After`.
        retry_after: Option<Duration>,
    },

    /// The server answered with a redirect, which the client does not
    /// follow: the request carried a credential meant for UltraCart alone.
    #[error("UltraCart's address answered {} towards {}, and the client does not follow redirects", describe_status(*status), host.as_deref().unwrap_or("an unnamed host"))]
    #[non_exhaustive]
    Redirect {
        /// The redirect's status (`None` when a caller-supplied HTTP client
        /// followed it before the crate saw it).
        status: Option<StatusCode>,
        /// The host the redirect pointed at; never its path or query.
        host: Option<String>,
    },

    /// A successful status whose JSON object carries none of the fields of
    /// the model the operation returns, in either of the shapes UltraCart
    /// uses (bare or wrapped in its envelope). Decoding it would give an
    /// empty model, so it is refused.
    #[error(
        "UltraCart's {status} answer is not a {model}: it carries none of its fields ({})",
        describe_keys(keys)
    )]
    #[non_exhaustive]
    UnrecognizedBody {
        /// The HTTP status.
        status: StatusCode,
        /// The model the operation returns, such as `Conversation`.
        model: String,
        /// The top-level keys the answer did carry (never their values).
        keys: Vec<String>,
    },

    /// A successful status whose JSON is truncated or of the wrong shape.
    #[error("could not decode UltraCart's {status} answer at `{path}`; body: {body}")]
    #[non_exhaustive]
    Decode {
        /// The HTTP status.
        status: StatusCode,
        /// Where decoding failed, such as `messages[1].message_dts`
        /// (`.` for the document itself).
        path: String,
        /// What the decoder expected (the text of `source`).
        message: String,
        /// The start of the body.
        body: BodyExcerpt,
        /// The JSON decoder's error.
        source: serde_json::Error,
    },

    /// A successful status with an empty body where JSON was expected.
    #[error("UltraCart answered {status} with an empty body where JSON was expected")]
    #[non_exhaustive]
    EmptyBody {
        /// The HTTP status.
        status: StatusCode,
    },

    /// The response body was larger than the client accepts.
    #[error("UltraCart's {status} answer is larger than the {limit}-byte limit")]
    #[non_exhaustive]
    BodyTooLarge {
        /// The HTTP status.
        status: StatusCode,
        /// The configured limit in bytes.
        limit: usize,
    },

    /// One attempt took longer than the per-attempt timeout.
    #[error("the request to {} timed out", describe_host(source))]
    #[non_exhaustive]
    Timeout {
        /// The HTTP library's error.
        source: reqwest::Error,
    },

    /// A 429's `Retry-After` (or the pace learned from 429s) holds every
    /// request of the client back for longer than it waits for a retry
    /// ([`max_retry_wait`](crate::ClientBuilder::max_retry_wait)), so the
    /// call was refused without a request.
    #[error("UltraCart asked the client to wait {retry_after:?} before its next request")]
    #[non_exhaustive]
    RateLimited {
        /// How long is left to wait.
        retry_after: Duration,
    },

    /// The whole call, retries and waits included, took longer than
    /// [`call_timeout`](crate::ClientBuilder::call_timeout).
    #[error("the call did not finish within its {limit:?} time limit")]
    #[non_exhaustive]
    CallTimeout {
        /// The configured limit.
        limit: Duration,
    },

    /// The connection failed, or broke while the answer was read.
    #[error("the connection to {} failed", describe_host(source))]
    #[non_exhaustive]
    Transport {
        /// The HTTP library's error.
        source: reqwest::Error,
    },

    /// No OAuth access token could be had from the
    /// [`TokenProvider`](crate::TokenProvider). A custom provider returns
    /// one with [`Error::token_provider`].
    #[error("could not obtain an OAuth access token: {message}")]
    #[non_exhaustive]
    TokenRefresh {
        /// The token endpoint's status, when it answered.
        status: Option<StatusCode>,
        /// What went wrong; never the token itself.
        message: String,
        /// The underlying cause, when there is one.
        source: Option<BoxError>,
    },

    /// The agent websocket authorization is unusable (no JWT, a JWT that
    /// cannot be read, no websocket URL, a websocket URL that is not
    /// `wss://`).
    #[error("unusable agent websocket authorization: {message}")]
    #[non_exhaustive]
    AgentAuth {
        /// What was wrong; never the token itself.
        message: String,
    },

    /// The storage service refused a media upload, or UltraCart gave no
    /// usable upload URL, or the file could not be read.
    #[error("media upload failed: {message}")]
    #[non_exhaustive]
    Upload {
        /// The storage service's status, when it answered.
        status: Option<StatusCode>,
        /// What happened, with a short excerpt of the storage service's
        /// answer; never the URL's signature.
        message: String,
        /// The underlying cause (an I/O error reading the file), if any.
        source: Option<BoxError>,
    },

    /// The limits shared with other processes through Redis
    /// ([`SharedLimits`](crate::SharedLimits)) could not be consulted, and
    /// the client is set to fail rather than go on alone: nothing was sent
    /// to UltraCart.
    #[error(
        "the limits shared through Redis could not be consulted, so nothing was sent: {message}"
    )]
    #[non_exhaustive]
    SharedLimits {
        /// Which Redis, and what went wrong; never a password.
        message: String,
        /// Whether asking again later may succeed: Redis was unreachable or
        /// slow, rather than refusing (a wrong password, a TLS error).
        retryable: bool,
        /// Redis's error, when there is one.
        source: Option<BoxError>,
    },

    /// The server's paging metadata would make a listing loop or go back.
    #[error("paging stopped: {message}")]
    #[non_exhaustive]
    Pagination {
        /// What the server did wrong.
        message: String,
    },

    /// A saved [`Bookmark`](crate::Bookmark) cannot be resumed from: it
    /// was written in a format this version of the crate does not read.
    #[error("unusable bookmark: {message}")]
    #[non_exhaustive]
    Bookmark {
        /// What was wrong with it.
        message: String,
    },

    /// An export could not read or write its files.
    #[error("export to {} failed: {message}", path.display())]
    #[non_exhaustive]
    Export {
        /// The file it could not read or write.
        path: std::path::PathBuf,
        /// What it was doing.
        message: String,
        /// The I/O error, when there was one.
        source: Option<std::io::Error>,
    },
}

fn describe_error_response(response: &types::ErrorResponse) -> String {
    let error = response.error.as_ref();
    let user = error.and_then(|e| e.user_message.as_deref());
    let developer = error.and_then(|e| e.developer_message.as_deref());
    let text = match (user, developer) {
        (Some(u), Some(d)) if u != d => format!(": {u} ({d})"),
        (Some(m), _) | (None, Some(m)) => format!(": {m}"),
        (None, None) => String::new(),
    };
    redact_jwts(&text)
}

fn describe_status(status: Option<StatusCode>) -> String {
    status.map_or_else(|| "with a redirect".to_string(), |s| s.to_string())
}

fn describe_host(error: &reqwest::Error) -> String {
    error
        .url()
        .and_then(|url| url.host_str())
        .map_or_else(|| "the server".to_string(), str::to_string)
}

/// At most a few short, printable key names: a hostile body could send
/// thousands of long ones.
fn describe_keys(keys: &[String]) -> String {
    const SHOWN: usize = 12;
    if keys.is_empty() {
        return "it is an empty object".to_string();
    }
    let mut text = String::from("its keys: ");
    for (i, key) in keys.iter().take(SHOWN).enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        text.extend(key.chars().take(40).flat_map(char::escape_default));
    }
    if keys.len() > SHOWN {
        text.push_str(&format!(" and {} more", keys.len() - SHOWN));
    }
    text
}

impl Error {
    /// The error a custom [`TokenProvider`](crate::TokenProvider) returns
    /// when it cannot supply a token; `source` is kept as the cause.
    ///
    /// ```
    /// use ultracart_conversation::Error;
    ///
    /// let vault_down = std::io::Error::other("vault unreachable");
    /// let error = Error::token_provider(vault_down);
    /// assert!(error.to_string().contains("OAuth access token"));
    /// assert_eq!(
    ///     std::error::Error::source(&error).unwrap().to_string(),
    ///     "vault unreachable"
    /// );
    /// ```
    pub fn token_provider(source: impl Into<BoxError>) -> Self {
        Self::TokenRefresh {
            status: None,
            message: "the token provider failed".to_string(),
            source: Some(source.into()),
        }
    }

    pub(crate) fn invalid_input(message: impl Into<String>) -> Self {
        Self::InvalidInput {
            message: message.into(),
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::Config {
            message: message.into(),
        }
    }

    pub(crate) fn token(message: impl Into<String>, status: Option<StatusCode>) -> Self {
        Self::TokenRefresh {
            status,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn agent_auth(message: impl Into<String>) -> Self {
        Self::AgentAuth {
            message: message.into(),
        }
    }

    pub(crate) fn pagination(message: impl Into<String>) -> Self {
        Self::Pagination {
            message: message.into(),
        }
    }

    pub(crate) fn bookmark(message: impl Into<String>) -> Self {
        Self::Bookmark {
            message: message.into(),
        }
    }

    pub(crate) fn export(
        path: impl Into<std::path::PathBuf>,
        message: impl Into<String>,
        source: Option<std::io::Error>,
    ) -> Self {
        Self::Export {
            path: path.into(),
            message: message.into(),
            source,
        }
    }

    pub(crate) fn upload(message: impl Into<String>) -> Self {
        Self::Upload {
            status: None,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn from_reqwest(source: reqwest::Error) -> Self {
        if source.is_timeout() {
            Self::Timeout { source }
        } else {
            Self::Transport { source }
        }
    }

    /// The HTTP status, when the error came from a response.
    ///
    /// ```
    /// # use ultracart_conversation::Error;
    /// # fn check(e: &Error) {
    /// if e.status().is_some_and(|s| s.is_server_error()) { /* UltraCart's fault */ }
    /// # }
    /// ```
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api { status, .. }
            | Self::UnexpectedStatus { status, .. }
            | Self::UnrecognizedBody { status, .. }
            | Self::Decode { status, .. }
            | Self::EmptyBody { status }
            | Self::BodyTooLarge { status, .. } => Some(*status),
            Self::Timeout { source } | Self::Transport { source } => source.status(),
            Self::Redirect { status, .. }
            | Self::TokenRefresh { status, .. }
            | Self::Upload { status, .. } => *status,
            _ => None,
        }
    }

    /// UltraCart's `ErrorResponse`, when the error body was one.
    ///
    /// ```
    /// # use ultracart_conversation::Error;
    /// # fn check(e: &Error) {
    /// if let Some(body) = e.error_response() {
    ///     println!("object: {:?}", body.error.as_ref().and_then(|e| e.object_id.as_deref()));
    /// }
    /// # }
    /// ```
    pub fn error_response(&self) -> Option<&types::ErrorResponse> {
        match self {
            Self::Api { response, .. } => Some(response),
            _ => None,
        }
    }

    /// The message UltraCart meant for end users, if it sent one.
    ///
    /// ```
    /// # use ultracart_conversation::Error;
    /// # fn check(e: &Error) {
    /// eprintln!("{}", e.user_message().unwrap_or("Something went wrong"));
    /// # }
    /// ```
    pub fn user_message(&self) -> Option<&str> {
        self.error_detail()?.user_message.as_deref()
    }

    /// The technical message UltraCart meant for developers, if it sent one.
    ///
    /// ```
    /// # use ultracart_conversation::Error;
    /// # fn check(e: &Error) {
    /// if let Some(m) = e.developer_message() { eprintln!("debug: {m}"); }
    /// # }
    /// ```
    pub fn developer_message(&self) -> Option<&str> {
        self.error_detail()?.developer_message.as_deref()
    }

    fn error_detail(&self) -> Option<&types::Error> {
        self.error_response()?.error.as_ref()
    }

    /// How long the server asked the client to wait before trying again
    /// (a 429's or 503's `Retry-After`, in seconds or as an HTTP date).
    ///
    /// The client already waits by itself when that is within
    /// [`max_retry_wait`](crate::ClientBuilder::max_retry_wait); this is set
    /// on the error when the wait was longer, so the caller can schedule it.
    ///
    /// ```
    /// # use ultracart_conversation::Error;
    /// # async fn check(e: Error) {
    /// if let Some(wait) = e.retry_after() {
    ///     tokio::time::sleep(wait).await;
    /// }
    /// # }
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api { retry_after, .. } | Self::UnexpectedStatus { retry_after, .. } => {
                *retry_after
            }
            Self::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// Whether the server rate-limited the call (HTTP 429).
    ///
    /// ```
    /// # use ultracart_conversation::Error;
    /// # fn check(e: &Error) {
    /// if e.is_rate_limited() { eprintln!("slow down"); }
    /// # }
    /// ```
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Self::RateLimited { .. })
            || self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
    }

    /// Whether the limits shared through Redis could not be consulted
    /// ([`Error::SharedLimits`]): nothing was sent to UltraCart.
    ///
    /// ```
    /// # use ultracart_conversation::Error;
    /// # fn check(e: &Error) {
    /// if e.is_shared_limits_unavailable() { eprintln!("is Redis up? {e}"); }
    /// # }
    /// ```
    pub fn is_shared_limits_unavailable(&self) -> bool {
        matches!(self, Self::SharedLimits { .. })
    }

    /// Whether a timeout ended the call: one attempt's, the whole call's, or
    /// the wait for an OAuth access token.
    ///
    /// ```
    /// # use ultracart_conversation::Error;
    /// # fn check(e: &Error) {
    /// if e.is_timeout() { eprintln!("UltraCart is slow right now"); }
    /// # }
    /// ```
    pub fn is_timeout(&self) -> bool {
        match self {
            Self::Timeout { .. } | Self::CallTimeout { .. } => true,
            _ => self.caused_by_elapsed_or(reqwest::Error::is_timeout),
        }
    }

    /// Whether an argument was rejected before any request was sent.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::start().await;
    /// # let client = demo.client()?;
    /// let e = client.get_conversation("").await.unwrap_err();
    /// assert!(e.is_invalid_input());
    /// # Ok(()) }
    /// ```
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, Self::InvalidInput { .. })
    }

    /// Whether the same call could succeed if made again later: exactly
    /// the failures the client's own retries treat as passing (429, 500,
    /// 502, 503, 504, timeouts, broken or refused connections), also when
    /// they happened at the OAuth token endpoint or the storage service.
    ///
    /// It says nothing of whether repeating is safe: starting a
    /// conversation twice starts two, which is why the client itself never
    /// repeats [`start_conversation`](crate::Client::start_conversation)
    /// once it may have reached UltraCart.
    ///
    /// ```
    /// # use ultracart_conversation::Error;
    /// # fn check(e: &Error) {
    /// if e.is_retryable() { /* queue the job again */ }
    /// # }
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout { .. }
            | Self::Transport { .. }
            | Self::CallTimeout { .. }
            | Self::RateLimited { .. } => true,
            Self::Api { status, .. } | Self::UnexpectedStatus { status, .. } => {
                is_transient_status(*status)
            }
            Self::SharedLimits { retryable, .. } => *retryable,
            Self::TokenRefresh { status, .. } | Self::Upload { status, .. } => match status {
                Some(status) => is_transient_status(*status),
                None => self.caused_by_elapsed_or(|e| {
                    e.is_timeout() || e.is_connect() || e.is_request() || e.is_body()
                }),
            },
            _ => false,
        }
    }

    /// Whether a cause is one of the crate's own time limits running out,
    /// or a `reqwest` error that `transport` picks.
    fn caused_by_elapsed_or(&self, transport: impl Fn(&reqwest::Error) -> bool) -> bool {
        self.causes().any(|cause| {
            let cause = SharedCause::look_through(cause);
            cause.is::<tokio::time::error::Elapsed>()
                || cause
                    .downcast_ref::<reqwest::Error>()
                    .is_some_and(&transport)
        })
    }

    /// The error and its causes, one after another on one line
    /// (`could not obtain an OAuth access token: the token endpoint could
    /// not be reached: error sending request: …`), for a log line or a
    /// message to an operator. `Display` alone is only the first part.
    ///
    /// ```
    /// use ultracart_conversation::Error;
    ///
    /// let error = Error::token_provider(std::io::Error::other("vault sealed"));
    /// assert_eq!(
    ///     error.report().to_string(),
    ///     "could not obtain an OAuth access token: the token provider failed: vault sealed"
    /// );
    /// ```
    pub fn report(&self) -> impl fmt::Display + '_ {
        Report(self)
    }

    /// The `source()` chain below this error.
    fn causes(&self) -> impl Iterator<Item = &(dyn StdError + 'static)> {
        let mut next = StdError::source(self);
        std::iter::from_fn(move || {
            let cause = next?;
            next = cause.source();
            Some(cause)
        })
    }
}

/// The statuses after which the same call may pass later, and the ones
/// the client itself retries (a 429 always, the server failures only for
/// operations safe to repeat): the one definition of transient, shared by
/// [`Error::is_retryable`] and the retry decision.
pub(crate) fn is_transient_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// An error and its causes on one line.
struct Report<'a>(&'a Error);

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        for cause in self.0.causes() {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

/// One cause shared by several errors (every waiter of one token exchange
/// gets its failure). It stands in for the cause in the chain: same text,
/// same sources.
#[derive(Clone)]
pub(crate) struct SharedCause(pub(crate) std::sync::Arc<dyn StdError + Send + Sync>);

impl SharedCause {
    /// The cause itself when `cause` is a shared one, for downcasting.
    fn look_through<'a>(cause: &'a (dyn StdError + 'static)) -> &'a (dyn StdError + 'static) {
        match cause.downcast_ref::<SharedCause>() {
            Some(shared) => &*shared.0,
            None => cause,
        }
    }
}

impl fmt::Display for SharedCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for SharedCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl StdError for SharedCause {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}
