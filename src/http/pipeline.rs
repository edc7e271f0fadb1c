//! The road every request to UltraCart travels, in order: fixed headers and
//! the credential ([`Pipeline::prepare`]), then the in-flight gate, pacing,
//! the send, a capped read and the retries ([`Pipeline::execute`]). It hands
//! back the final [`Answer`] whole; what the answer means is for the caller
//! to read.

use std::{fmt, sync::Arc, time::Duration};

use http::{HeaderName, HeaderValue, Method, header};
use tokio::time::Instant;
use tracing::Instrument;

use super::{
    admission::{Admission, waits_too_long},
    answer::Answer,
    attempt::{self, Attempted, Unsent},
    operation::Operation,
    pacing::PacingState,
    retry::{self, Outcome, RetryPolicy, Tried},
};
use crate::{Error, StatusCode, auth::Auth, net::Body};

const API_VERSION_HEADER: HeaderName = HeaderName::from_static("x-ultracart-api-version");

/// How requests are bounded and retried.
#[derive(Clone, Debug)]
pub(crate) struct HttpSettings {
    /// One attempt, from sending to the end of the body.
    pub(crate) timeout: Duration,
    /// One whole call, retries and waits included.
    pub(crate) call_timeout: Option<Duration>,
    pub(crate) max_response_bytes: usize,
    pub(crate) retry: RetryPolicy,
}

/// Shared state behind every clone of a client: its credential, headers,
/// in-flight gate, pacing and limits.
///
/// Users never build one: [`ClientBuilder`](crate::ClientBuilder) does. It
/// is public only because the generated client names it.
#[doc(hidden)]
pub struct Pipeline {
    auth: Auth,
    api_version: HeaderValue,
    user_agent: HeaderValue,
    settings: HttpSettings,
    admission: Arc<dyn Admission>,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("auth", &self.auth)
            .field("api_version", &self.api_version)
            .field("settings", &self.settings)
            .field("admission", &self.admission)
            .finish()
    }
}

impl Pipeline {
    pub(crate) fn new(
        auth: Auth,
        api_version: HeaderValue,
        user_agent: HeaderValue,
        settings: HttpSettings,
        admission: Arc<dyn Admission>,
    ) -> Self {
        Self {
            auth,
            api_version,
            user_agent,
            settings,
            admission,
        }
    }

    pub(crate) fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    pub(crate) fn pacing(&self) -> PacingState {
        self.admission.state()
    }

    /// The steps before a request is sent, for the facade and the raw
    /// client alike: refuses a call that a 429's `Retry-After` or the
    /// learned pace would hold back too long, and prepares the request.
    /// With `confirm_admission`, first confirms that admission can be
    /// decided at all (see [`Admission::ready`]): for the raw client, whose
    /// send can report only the HTTP library's errors, so that a shared
    /// store that does not answer is reported now, in words. The facade's
    /// send reports that itself, at no extra round trip.
    pub(crate) async fn before_send(
        &self,
        request: &mut reqwest::Request,
        confirm_admission: bool,
    ) -> Result<(), Error> {
        if confirm_admission {
            self.admission.ready().await?;
        }
        self.check_not_paused()?;
        self.prepare(request).await
    }

    /// Refuses a call at once while a 429's `Retry-After`, or the pace
    /// learned from 429s, would hold it back for longer than the client
    /// waits for a retry.
    fn check_not_paused(&self) -> Result<(), Error> {
        let delay = self.admission.delay_ahead();
        if waits_too_long(delay, Some(self.settings.retry.max_retry_wait())) {
            return Err(Error::RateLimited { retry_after: delay });
        }
        Ok(())
    }

    /// One facade call: prepares `request`, sends it with retries, and
    /// returns the final answer, all within the call's time limit.
    pub(crate) async fn call(
        &self,
        http: &reqwest::Client,
        mut request: reqwest::Request,
        operation: &Operation,
    ) -> Result<Answer, Error> {
        let call = async {
            self.before_send(&mut request, false).await?;
            let patience = Some(self.settings.retry.max_retry_wait());
            self.execute(http, request, operation, patience)
                .await
                .map_err(|unsent| match unsent {
                    Unsent::Http(e) => Error::from_reqwest(e),
                    Unsent::HeldBack(wait) => Error::RateLimited { retry_after: wait },
                    Unsent::Unavailable(error) => error,
                })
        };
        match self.settings.call_timeout {
            // Dropping the call on time is safe: an attempt under way keeps
            // its gate slot until it ends by itself.
            Some(limit) => tokio::time::timeout(limit, call)
                .await
                .unwrap_or(Err(Error::CallTimeout { limit })),
            None => call.await,
        }
    }

    /// Sets what every request carries: the API version, `Accept`,
    /// `User-Agent`, `Content-Length: 0` on a body-less PUT or POST, the
    /// per-attempt timeout, and the credential.
    async fn prepare(&self, request: &mut reqwest::Request) -> Result<(), Error> {
        let needs_length = request.body().is_none()
            && matches!(
                *request.method(),
                Method::PUT | Method::POST | Method::PATCH
            );
        let headers = request.headers_mut();
        headers.insert(API_VERSION_HEADER, self.api_version.clone());
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(header::USER_AGENT, self.user_agent.clone());
        if needs_length {
            // RFC 9110 §8.6: a request whose method expects content says
            // when it has none; some front ends answer 411 otherwise.
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        *request.timeout_mut() = Some(self.settings.timeout);
        self.auth
            .apply(request.headers_mut(), self.settings.timeout)
            .await
    }

    /// Sends a prepared request until an answer is final, and returns that
    /// answer; or the HTTP library's error when the connection failed,
    /// broke or timed out on the last attempt; or, with a `patience`, that
    /// pacing would have held the request back longer than that.
    pub(crate) async fn execute(
        &self,
        http: &reqwest::Client,
        request: reqwest::Request,
        operation: &Operation,
        patience: Option<Duration>,
    ) -> Result<Answer, Unsent> {
        let span = tracing::debug_span!(
            "ultracart_conversation.call",
            operation = operation.name,
            method = %request.method(),
            attempt = tracing::field::Empty,
            status = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        async move {
            let started = Instant::now();
            let deadline = self
                .settings
                .call_timeout
                .and_then(|limit| started.checked_add(limit));
            let first = Pending {
                request,
                reauthenticated: false,
            };
            let (result, attempts) = retry::run(
                &self.settings.retry,
                operation.repeat,
                deadline,
                "UltraCart request",
                Some(operation.id),
                first,
                |pending| self.attempt_once(http, pending, deadline, patience, operation.id),
            )
            .await;
            let span = tracing::Span::current();
            span.record("attempt", attempts);
            if let Ok(answer) = &result {
                span.record("status", answer.status.as_u16());
            }
            span.record("elapsed_ms", started.elapsed().as_millis() as u64);
            result
        }
        .instrument(span)
        .await
    }

    /// One attempt, and once more with a new token if UltraCart refused the
    /// first with 401: a refused request was not acted on, so even
    /// `start_conversation` may go again, but only once per call.
    async fn attempt_once(
        &self,
        http: &reqwest::Client,
        pending: Pending,
        deadline: Option<Instant>,
        patience: Option<Duration>,
        operation: &'static str,
    ) -> Tried<Pending, Attempted> {
        let Pending {
            mut request,
            mut reauthenticated,
        } = pending;
        let limit = self.settings.max_response_bytes;
        loop {
            bound_by(&mut request, deadline);
            let copy = request.try_clone();
            let attempted =
                attempt::send(&self.admission, http, request, limit, patience, operation).await;
            let refused = matches!(&attempted, Ok(a) if a.status == StatusCode::UNAUTHORIZED);
            match copy {
                Some(mut copy) if refused && !reauthenticated => {
                    reauthenticated = true;
                    let token_wait = self.settings.timeout;
                    if let Some(value) = self.auth.after_rejection(copy.headers(), token_wait).await
                    {
                        tracing::debug!("retrying with a refreshed access token");
                        copy.headers_mut().insert(header::AUTHORIZATION, value);
                        request = copy;
                        continue;
                    }
                    return tried(attempted, Some(copy), reauthenticated);
                }
                copy => return tried(attempted, copy, reauthenticated),
            }
        }
    }
}

/// A request still to be sent, and whether it already got a second token.
struct Pending {
    request: reqwest::Request,
    reauthenticated: bool,
}

fn tried(
    attempted: Attempted,
    copy: Option<reqwest::Request>,
    reauthenticated: bool,
) -> Tried<Pending, Attempted> {
    let outcome = match &attempted {
        Ok(answer) => outcome_of(answer),
        Err(Unsent::Http(e)) => Outcome::of_transport_error(e),
        // Nothing reached UltraCart, as when a connection cannot be made:
        // safe to try again for every operation, within the retry policy.
        Err(Unsent::Unavailable(error)) if error.is_retryable() => Outcome::ConnectFailed,
        Err(Unsent::HeldBack(_) | Unsent::Unavailable(_)) => Outcome::Final,
    };
    Tried {
        result: attempted,
        outcome,
        again: copy.map(|request| Pending {
            request,
            reauthenticated,
        }),
    }
}

/// Shortens the request's timeout so that it ends by the call's deadline.
fn bound_by(request: &mut reqwest::Request, deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = request.timeout_mut();
        *timeout = Some(
            timeout
                .map_or(left, |t| t.min(left))
                .max(Duration::from_millis(1)),
        );
    }
}

fn outcome_of(answer: &Answer) -> Outcome {
    match answer.body {
        Body::TooLarge { .. } => Outcome::Final,
        Body::Read(_) => Outcome::Status {
            status: answer.status,
            retry_after: answer.retry_after,
        },
    }
}
