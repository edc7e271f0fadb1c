//! The road every request travels: headers and auth, the in-flight gate,
//! the rate limiter, retries, the timeout and the capped body read.
//!
//! It runs inside progenitor's `exec` hook, so the facade and callers of
//! [`Client::raw`](crate::Client::raw) share it.

use std::{fmt, sync::Arc, time::Duration};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, header};
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::ResponseBuilderExt;
use secrecy::SecretString;
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::{
    Error, StatusCode,
    auth::Auth,
    last_response::{self, LastResponse},
    rate_limit::RateLimiter,
    raw,
    retry::{self, Decision, Outcome, Repeat, RetryPolicy},
};

const API_VERSION_HEADER: HeaderName = HeaderName::from_static("x-ultracart-api-version");
/// progenitor adds this from the spec's `info.version`; UltraCart knows only
/// its own version header.
const PROGENITOR_VERSION_HEADER: &str = "api-version";

/// Shared state behind every clone of a client.
///
/// Users never build one: [`ClientBuilder`](crate::ClientBuilder) does. It is
/// public only because the generated client names it.
pub struct Pipeline {
    pub(crate) auth: Auth,
    pub(crate) api_version: HeaderValue,
    pub(crate) user_agent: HeaderValue,
    pub(crate) timeout: Duration,
    pub(crate) upload_timeout: Duration,
    pub(crate) gate: Semaphore,
    pub(crate) max_in_flight: usize,
    pub(crate) retry: RetryPolicy,
    pub(crate) rate_limiter: Option<RateLimiter>,
    pub(crate) max_response_bytes: usize,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("auth", &self.auth)
            .field("api_version", &self.api_version)
            .field("timeout", &self.timeout)
            .field("upload_timeout", &self.upload_timeout)
            .field("max_in_flight", &self.max_in_flight)
            .field("retry", &self.retry)
            .field("rate_limiter", &self.rate_limiter)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

impl ClientHooks<Arc<Pipeline>> for raw::Client {
    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        // Boxed: the pipeline's state is large, and the generated future
        // that awaits it is moved several times before it runs.
        Box::pin(self.inner().send(self.client(), request, info.operation_id)).await
    }
}

/// What one attempt came to.
// Answer is the common case and lives for one loop turn; boxing it would
// add an allocation per request to save stack space nobody needs.
#[allow(clippy::large_enum_variant)]
enum Attempt {
    Answer {
        status: StatusCode,
        version: http::Version,
        headers: HeaderMap,
        url: Option<url::Url>,
        body: Bytes,
    },
    TooLarge {
        status: StatusCode,
    },
    Failed(reqwest::Error),
}

impl Attempt {
    fn outcome(&self) -> Outcome {
        match self {
            Self::Answer {
                status, headers, ..
            } => Outcome::Status {
                status: *status,
                retry_after: retry::retry_after_header(headers),
            },
            Self::TooLarge { .. } => Outcome::Final,
            Self::Failed(e) => Outcome::of_transport_error(e),
        }
    }
}

impl Pipeline {
    async fn send(
        &self,
        http: &reqwest::Client,
        mut request: reqwest::Request,
        operation: &'static str,
    ) -> reqwest::Result<reqwest::Response> {
        self.prepare(&mut request);
        let span = tracing::debug_span!(
            "ultracart_conversation.call",
            operation,
            method = %request.method(),
            attempt = tracing::field::Empty,
            status = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        async move {
            let started = tokio::time::Instant::now();
            let repeat = Repeat::of_operation(operation);
            let mut retries_done = 0;
            let mut fresh_token = None;
            let mut reauthenticated = false;
            loop {
                let copy = request.try_clone();
                let token = match self
                    .auth
                    .apply(request.headers_mut(), fresh_token.take())
                    .await
                {
                    Ok(token) => token,
                    Err(error) => return Ok(self.give_up(error)),
                };
                let attempt = self.attempt(http, request).await;
                let outcome = attempt.outcome();
                let copy = match (reauthenticated || !is_unauthorized(outcome), copy) {
                    (false, Some(copy)) => {
                        reauthenticated = true;
                        match self.replacement_token(token).await {
                            Ok(Some(token)) => {
                                tracing::debug!(
                                    operation,
                                    "retrying with a refreshed access token"
                                );
                                fresh_token = Some(token);
                                request = copy;
                                continue;
                            }
                            Ok(None) => Some(copy),
                            Err(error) => return Ok(self.give_up(error)),
                        }
                    }
                    (_, copy) => copy,
                };
                let decision =
                    retry::decide(&self.retry, repeat, outcome, retries_done, fastrand::f64());
                match (decision, copy) {
                    (Decision::Retry { wait, reason }, Some(copy)) => {
                        retries_done += 1;
                        tracing::warn!(
                            operation,
                            attempt = retries_done,
                            reason,
                            wait_ms = wait.as_millis() as u64,
                            "retrying UltraCart request"
                        );
                        tokio::time::sleep(wait).await;
                        request = copy;
                    }
                    _ => {
                        let span = tracing::Span::current();
                        span.record("attempt", retries_done + 1);
                        if let Outcome::Status { status, .. } = outcome {
                            span.record("status", status.as_u16());
                        }
                        span.record("elapsed_ms", started.elapsed().as_millis() as u64);
                        // The gate is free again. A prefetching task woken
                        // by that may sit in this worker's LIFO slot, where
                        // no other worker can steal it; yielding lets it send
                        // its request before this task decodes the answer.
                        tokio::task::yield_now().await;
                        return self.finish(attempt);
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    /// After a 401 the request was refused unread, so it may go once more
    /// (even `start_conversation`), if the token provider has a new token.
    async fn replacement_token(
        &self,
        rejected: Option<SecretString>,
    ) -> Result<Option<SecretString>, Error> {
        match rejected {
            Some(rejected) => self.auth.replacement(rejected).await,
            None => Ok(None),
        }
    }

    fn prepare(&self, request: &mut reqwest::Request) {
        let headers = request.headers_mut();
        headers.remove(PROGENITOR_VERSION_HEADER);
        headers.insert(API_VERSION_HEADER, self.api_version.clone());
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(header::USER_AGENT, self.user_agent.clone());
        *request.timeout_mut() = Some(self.timeout);
    }

    async fn attempt(&self, http: &reqwest::Client, request: reqwest::Request) -> Attempt {
        // Held until the body is read, so the server never sees more than
        // `max_in_flight` requests from this client at once. The semaphore
        // is never closed; were it, requests would go ungated, not fail.
        let _permit = self.gate.acquire().await;
        if let Some(limiter) = &self.rate_limiter {
            limiter.until_ready().await;
        }
        let mut response = match http.execute(request).await {
            Ok(response) => response,
            Err(e) => return Attempt::Failed(e),
        };
        let status = response.status();
        let version = response.version();
        let headers = std::mem::take(response.headers_mut());
        let url = Some(response.url().clone());
        match read_capped(&mut response, self.max_response_bytes).await {
            Ok(body) => Attempt::Answer {
                status,
                version,
                headers,
                url,
                body,
            },
            Err(ReadError::TooLarge) => Attempt::TooLarge { status },
            Err(ReadError::Transport(e)) => Attempt::Failed(e),
        }
    }

    /// Turns the last attempt back into what the generated code expects, and
    /// leaves the facade what it needs to map errors.
    fn finish(&self, attempt: Attempt) -> reqwest::Result<reqwest::Response> {
        match attempt {
            Attempt::Answer {
                status,
                version,
                headers,
                url,
                body,
            } => {
                let kept_headers = if status.is_success() {
                    HeaderMap::new()
                } else {
                    headers.clone()
                };
                last_response::record(LastResponse::Answer {
                    status,
                    headers: kept_headers,
                    body: body.clone(),
                });
                Ok(rebuild(
                    status,
                    version,
                    headers,
                    url,
                    reqwest::Body::from(body),
                ))
            }
            Attempt::TooLarge { status } => {
                let limit = self.max_response_bytes;
                Ok(self.give_up(Error::BodyTooLarge { status, limit }))
            }
            Attempt::Failed(e) => Err(e),
        }
    }

    /// Ends a call with a typed error. The facade takes the error from the
    /// call's slot; the generated code needs a response, so it gets one with
    /// an error status that every operation declares, whose body fails to
    /// read with the same message (what callers of the raw client see).
    fn give_up(&self, error: Error) -> reqwest::Response {
        let message = error.to_string();
        last_response::record(LastResponse::Failed(error));
        let failing =
            futures::stream::once(async move { Err::<Bytes, _>(std::io::Error::other(message)) });
        rebuild(
            StatusCode::UNAUTHORIZED,
            http::Version::HTTP_11,
            HeaderMap::new(),
            None,
            reqwest::Body::wrap_stream(failing),
        )
    }
}

fn is_unauthorized(outcome: Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Status {
            status: StatusCode::UNAUTHORIZED,
            ..
        }
    )
}

fn rebuild(
    status: StatusCode,
    version: http::Version,
    headers: HeaderMap,
    url: Option<url::Url>,
    body: reqwest::Body,
) -> reqwest::Response {
    // Carrying the URL over spares reqwest parsing a placeholder URL for
    // every response it did not build itself.
    let mut response = match url.map(|url| http::Response::builder().url(url).body(())) {
        Some(Ok(response)) => response.map(|()| body),
        _ => http::Response::new(body),
    };
    *response.status_mut() = status;
    *response.version_mut() = version;
    *response.headers_mut() = headers;
    reqwest::Response::from(response)
}

enum ReadError {
    TooLarge,
    Transport(reqwest::Error),
}

/// Reads the whole body, refusing more than `limit` bytes; a body that
/// arrives in one chunk is not copied.
async fn read_capped(response: &mut reqwest::Response, limit: usize) -> Result<Bytes, ReadError> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(ReadError::TooLarge);
    }
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
        total = total.saturating_add(chunk.len());
        if total > limit {
            return Err(ReadError::TooLarge);
        }
        chunks.push(chunk);
    }
    if chunks.len() <= 1 {
        return Ok(chunks.pop().unwrap_or_default());
    }
    let mut joined = BytesMut::with_capacity(total);
    for chunk in chunks {
        joined.extend_from_slice(&chunk);
    }
    Ok(joined.freeze())
}
