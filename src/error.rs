//! The one error type of the facade.

use std::time::Duration;

use crate::{BodyExcerpt, StatusCode, types};

/// Everything that can go wrong when calling UltraCart through this crate.
///
/// Match on the variants, or use the predicates, which stay stable as
/// variants are added: [`status`](Error::status),
/// [`error_response`](Error::error_response),
/// [`user_message`](Error::user_message),
/// [`retry_after`](Error::retry_after), [`is_timeout`](Error::is_timeout),
/// [`is_retryable`](Error::is_retryable) and friends.
///
/// Neither `Display` nor `Debug` ever contains an API key, an OAuth token or
/// an agent JWT.
///
/// ```no_run
/// # async fn run(client: ultracart_conversation::Client) {
/// use ultracart_conversation::StatusCode;
///
/// match client.get_conversation("4f1c…").await {
///     Ok(conversation) => println!("{} messages", conversation.messages.unwrap_or_default().len()),
///     Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => println!("no such conversation"),
///     Err(e) if e.is_retryable() => println!("try again later: {e}"),
///     Err(e) => println!("failed: {}", e.user_message().unwrap_or("unknown error")),
/// }
/// # }
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

    /// UltraCart answered with an error status and an `ErrorResponse` body.
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

    /// A successful status whose JSON is truncated or of the wrong shape.
    #[error("could not decode UltraCart's {status} answer at `{path}`: {message}; body: {body}")]
    #[non_exhaustive]
    Decode {
        /// The HTTP status.
        status: StatusCode,
        /// Where decoding failed, such as `messages[1].message_dts`
        /// (`.` for the document itself).
        path: String,
        /// What the decoder expected.
        message: String,
        /// The start of the body.
        body: BodyExcerpt,
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

    /// The request or the response took longer than the configured timeout.
    #[error("the request to UltraCart timed out: {source}")]
    #[non_exhaustive]
    Timeout {
        /// The underlying error.
        source: reqwest::Error,
    },

    /// The connection failed, or broke while the answer was read.
    #[error("could not talk to UltraCart: {source}")]
    #[non_exhaustive]
    Transport {
        /// The underlying error.
        source: reqwest::Error,
    },

    /// No OAuth access token could be had from the
    /// [`TokenProvider`](crate::TokenProvider).
    #[error("could not obtain an OAuth access token: {message}")]
    #[non_exhaustive]
    TokenRefresh {
        /// The token endpoint's status, when it answered.
        status: Option<StatusCode>,
        /// What went wrong; never the token itself.
        message: String,
    },

    /// The agent websocket authorization is unusable (no JWT, a JWT that
    /// cannot be read, no websocket URL).
    #[error("unusable agent websocket authorization: {message}")]
    #[non_exhaustive]
    AgentAuth {
        /// What was wrong; never the token itself.
        message: String,
    },

    /// The storage service refused a media upload, or UltraCart gave no
    /// usable upload URL.
    #[error("media upload failed: {message}")]
    #[non_exhaustive]
    Upload {
        /// The storage service's status, when it answered.
        status: Option<StatusCode>,
        /// What happened, with a short excerpt of the storage service's answer.
        message: String,
    },

    /// The server's paging metadata would make a listing loop or go back.
    #[error("paging stopped: {message}")]
    #[non_exhaustive]
    Pagination {
        /// What the server did wrong.
        message: String,
    },

    /// Something the crate did not expect from the generated client.
    #[error("unexpected client error: {message}")]
    #[non_exhaustive]
    Unexpected {
        /// What happened.
        message: String,
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
    crate::excerpt::redact_jwts(&text)
}

impl Error {
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

    pub(crate) fn unexpected(message: impl Into<String>) -> Self {
        Self::Unexpected {
            message: message.into(),
        }
    }

    pub(crate) fn token(message: impl Into<String>, status: Option<StatusCode>) -> Self {
        Self::TokenRefresh {
            status,
            message: message.into(),
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
            | Self::Decode { status, .. }
            | Self::EmptyBody { status }
            | Self::BodyTooLarge { status, .. } => Some(*status),
            Self::Timeout { source } | Self::Transport { source } => source.status(),
            Self::TokenRefresh { status, .. } | Self::Upload { status, .. } => *status,
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
        self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
    }

    /// Whether the request or response timed out.
    ///
    /// ```
    /// # use ultracart_conversation::Error;
    /// # fn check(e: &Error) {
    /// if e.is_timeout() { eprintln!("UltraCart is slow right now"); }
    /// # }
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }

    /// Whether an argument was rejected before any request was sent.
    ///
    /// ```
    /// # async fn run(client: ultracart_conversation::Client) {
    /// let e = client.get_conversation("").await.unwrap_err();
    /// assert!(e.is_invalid_input());
    /// # }
    /// ```
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, Self::InvalidInput { .. })
    }

    /// Whether the same call could succeed if made again later: rate
    /// limits, server errors, timeouts and broken connections.
    ///
    /// This says nothing of whether repeating is safe: starting a
    /// conversation twice starts two. The client's own retries take care of
    /// that distinction.
    ///
    /// ```
    /// # use ultracart_conversation::Error;
    /// # fn check(e: &Error) {
    /// if e.is_retryable() { /* queue the job again */ }
    /// # }
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout { .. } | Self::Transport { .. } => true,
            Self::Api { status, .. } | Self::UnexpectedStatus { status, .. } => {
                crate::retry::is_transient_status(*status)
            }
            Self::TokenRefresh {
                status: Some(status),
                ..
            }
            | Self::Upload {
                status: Some(status),
                ..
            } => crate::retry::is_transient_status(*status),
            _ => false,
        }
    }
}
