//! When to try a request again: the policy as data, the decision as a pure
//! function, and the one loop that API calls and media uploads share.

use std::time::Duration;

use tokio::time::Instant;

use super::{admission::waits_too_long, operation::Repeat};
use crate::{StatusCode, error::is_transient_status};

/// How the client retries failed requests.
///
/// The standard policy retries up to 3 times: after a 429 it waits as long
/// as `Retry-After` says (if that is at most
/// [`max_retry_wait`](Self::with_max_retry_wait), 30 s by default), and
/// otherwise backs off exponentially with full jitter. Server errors (500,
/// 502, 503, 504), timeouts and broken connections are retried only for
/// operations that are safe to repeat; `start_conversation` is retried only
/// after a 429 or when the connection failed before the request was sent.
///
/// ```
/// use std::time::Duration;
/// use ultracart_conversation::RetryPolicy;
///
/// let patient = RetryPolicy::standard()
///     .with_max_retries(5)
///     .with_max_retry_wait(Duration::from_secs(120));
/// let none = RetryPolicy::disabled();
/// assert_eq!(none.max_retries(), 0);
/// # let _ = patient;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    max_retry_wait: Duration,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::standard()
    }
}

impl RetryPolicy {
    /// Up to 3 retries, waits of at most 30 s, backoff from 200 ms to 10 s.
    ///
    /// ```
    /// # use ultracart_conversation::RetryPolicy;
    /// assert_eq!(RetryPolicy::standard().max_retries(), 3);
    /// ```
    pub fn standard() -> Self {
        Self {
            max_retries: 3,
            max_retry_wait: Duration::from_secs(30),
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
        }
    }

    /// Never retry.
    ///
    /// ```
    /// # use ultracart_conversation::RetryPolicy;
    /// assert_eq!(RetryPolicy::disabled().max_retries(), 0);
    /// ```
    pub fn disabled() -> Self {
        Self {
            max_retries: 0,
            ..Self::standard()
        }
    }

    /// Sets how many times one call may be retried.
    ///
    /// ```
    /// # use ultracart_conversation::RetryPolicy;
    /// assert_eq!(RetryPolicy::standard().with_max_retries(1).max_retries(), 1);
    /// ```
    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Sets the longest single wait the client accepts; a `Retry-After`
    /// longer than this fails the call at once with
    /// [`Error::retry_after`](crate::Error::retry_after) set.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ultracart_conversation::RetryPolicy;
    /// let p = RetryPolicy::standard().with_max_retry_wait(Duration::from_secs(5));
    /// assert_eq!(p.max_retry_wait(), Duration::from_secs(5));
    /// ```
    pub fn with_max_retry_wait(mut self, max_retry_wait: Duration) -> Self {
        self.max_retry_wait = max_retry_wait;
        self
    }

    /// Sets the first backoff step and the largest one; each retry doubles
    /// the step, and the wait is drawn uniformly below it (full jitter).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ultracart_conversation::RetryPolicy;
    /// let p = RetryPolicy::standard()
    ///     .with_backoff(Duration::from_millis(50), Duration::from_secs(2));
    /// # let _ = p;
    /// ```
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// How many times one call may be retried.
    ///
    /// ```
    /// # use ultracart_conversation::RetryPolicy;
    /// assert_eq!(RetryPolicy::default().max_retries(), 3);
    /// ```
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The longest single wait the client accepts.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ultracart_conversation::RetryPolicy;
    /// assert_eq!(RetryPolicy::default().max_retry_wait(), Duration::from_secs(30));
    /// ```
    pub fn max_retry_wait(&self) -> Duration {
        self.max_retry_wait
    }

    /// Whether the client waits `wait` for a retry rather than fail.
    fn accepts(&self, wait: Duration) -> bool {
        !waits_too_long(wait, Some(self.max_retry_wait))
    }

    fn backoff(&self, retries_done: u32, jitter: f64) -> Duration {
        let step = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(retries_done.min(31)))
            .min(self.max_backoff);
        step.mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// What one attempt came to, as far as retrying is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Status {
        status: StatusCode,
        retry_after: Option<Duration>,
    },
    /// The connection could not be made: nothing reached the server.
    ConnectFailed,
    TimedOut,
    /// The connection broke after the request may have been sent.
    Broken,
    /// A failure that repeating cannot fix (a body over the limit, a
    /// request that cannot be copied for a second try).
    Final,
}

impl Outcome {
    /// A request that got no answer: whether it can have reached the server.
    pub(crate) fn of_transport_error(error: &reqwest::Error) -> Self {
        if error.is_connect() {
            Self::ConnectFailed
        } else if error.is_timeout() {
            Self::TimedOut
        } else {
            Self::Broken
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    Retry { wait: Duration, reason: Reason },
    Stop,
}

/// Why a request is tried again: a small fixed set, so that retries can be
/// logged and counted by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// A 429; `retry_after`: it said how long to wait.
    RateLimited { retry_after: bool },
    /// A 500, 502, 503 or 504; `retry_after`: it said how long to wait.
    ServerError { retry_after: bool },
    /// The connection could not be made: nothing reached the server.
    ConnectionFailed,
    /// No answer within the attempt's timeout.
    TimedOut,
    /// The connection broke after the request may have been sent.
    ConnectionBroke,
}

impl Reason {
    /// The reason in words, for the retry log.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::RateLimited { retry_after: true } => "rate limited (429, Retry-After)",
            Self::RateLimited { retry_after: false } => "rate limited (429)",
            Self::ServerError { retry_after: true } => "server error (Retry-After)",
            Self::ServerError { retry_after: false } => "server error",
            Self::ConnectionFailed => "connection failed",
            Self::TimedOut => "timed out",
            Self::ConnectionBroke => "connection broke",
        }
    }
}

/// Decides whether to retry after `retries_done` retries have been made.
/// `jitter` is a uniform draw from `[0, 1)`, passed in to keep this pure.
pub(crate) fn decide(
    policy: &RetryPolicy,
    repeat: Repeat,
    outcome: Outcome,
    retries_done: u32,
    jitter: f64,
) -> Decision {
    if retries_done >= policy.max_retries {
        return Decision::Stop;
    }
    let backoff = |reason| Decision::Retry {
        wait: policy.backoff(retries_done, jitter),
        reason,
    };
    match outcome {
        Outcome::Status {
            status,
            retry_after,
        } if status == StatusCode::TOO_MANY_REQUESTS => match retry_after {
            Some(wait) if policy.accepts(wait) => Decision::Retry {
                wait,
                reason: Reason::RateLimited { retry_after: true },
            },
            Some(_) => Decision::Stop,
            None => backoff(Reason::RateLimited { retry_after: false }),
        },
        Outcome::Status {
            status,
            retry_after,
        } if is_transient_status(status) => {
            if repeat == Repeat::Once {
                return Decision::Stop;
            }
            match retry_after {
                Some(wait) if policy.accepts(wait) => Decision::Retry {
                    wait,
                    reason: Reason::ServerError { retry_after: true },
                },
                Some(_) => Decision::Stop,
                None => backoff(Reason::ServerError { retry_after: false }),
            }
        }
        Outcome::Status { .. } | Outcome::Final => Decision::Stop,
        Outcome::ConnectFailed => backoff(Reason::ConnectionFailed),
        Outcome::TimedOut if repeat == Repeat::Safe => backoff(Reason::TimedOut),
        Outcome::Broken if repeat == Repeat::Safe => backoff(Reason::ConnectionBroke),
        Outcome::TimedOut | Outcome::Broken => Decision::Stop,
    }
}

/// What one attempt of [`run`] came to.
pub(crate) struct Tried<S, T> {
    /// What the caller gets if this attempt is the last.
    pub(crate) result: T,
    pub(crate) outcome: Outcome,
    /// What the next attempt starts from; `None` when there cannot be one
    /// (the request could not be copied).
    pub(crate) again: Option<S>,
}

/// The one retry loop. Makes attempts, each from the state the last one
/// left, until the policy stops it, waiting between them as it says, and
/// returns the last attempt's result with the number of attempts made. A
/// wait that would end after `deadline` is not started: the call ends with
/// what it has. `what` names the request in the retry log; `operation`,
/// the operationId of a request to UltraCart, in the retry metrics.
pub(crate) async fn run<S, T, Fut>(
    policy: &RetryPolicy,
    repeat: Repeat,
    deadline: Option<Instant>,
    what: &'static str,
    operation: Option<&'static str>,
    first: S,
    mut attempt: impl FnMut(S) -> Fut,
) -> (T, u32)
where
    Fut: Future<Output = Tried<S, T>>,
{
    let mut state = first;
    let mut retries_done = 0;
    loop {
        let Tried {
            result,
            outcome,
            again,
        } = attempt(state).await;
        let decision = decide(policy, repeat, outcome, retries_done, fastrand::f64());
        let (Some(next), Decision::Retry { wait, reason }) = (again, decision) else {
            return (result, retries_done + 1);
        };
        if deadline.is_some_and(|deadline| {
            Instant::now()
                .checked_add(wait)
                .is_none_or(|ready| ready >= deadline)
        }) {
            return (result, retries_done + 1);
        }
        retries_done += 1;
        crate::metrics::retry(operation, reason);
        tracing::warn!(
            attempt = retries_done,
            reason = reason.describe(),
            wait_ms = wait.as_millis() as u64,
            "retrying {what}"
        );
        tokio::time::sleep(wait).await;
        state = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn status(code: u16, retry_after: Option<Duration>) -> Outcome {
        Outcome::Status {
            status: StatusCode::from_u16(code).unwrap(),
            retry_after,
        }
    }

    #[test]
    fn rate_limits_wait_as_told_when_short_and_fail_when_long() {
        let p = RetryPolicy::standard();
        assert_eq!(
            decide(&p, Repeat::Once, status(429, Some(2 * SECOND)), 0, 0.5),
            Decision::Retry {
                wait: 2 * SECOND,
                reason: Reason::RateLimited { retry_after: true }
            }
        );
        assert_eq!(
            decide(&p, Repeat::Safe, status(429, Some(31 * SECOND)), 0, 0.5),
            Decision::Stop
        );
        assert!(matches!(
            decide(&p, Repeat::Once, status(429, None), 0, 0.5),
            Decision::Retry { .. }
        ));
    }

    #[test]
    fn unsafe_operations_are_not_repeated_after_they_may_have_run() {
        let p = RetryPolicy::standard();
        for outcome in [
            status(500, None),
            status(503, None),
            Outcome::TimedOut,
            Outcome::Broken,
        ] {
            assert_eq!(
                decide(&p, Repeat::Once, outcome, 0, 0.5),
                Decision::Stop,
                "{outcome:?}"
            );
            assert!(matches!(
                decide(&p, Repeat::Safe, outcome, 0, 0.5),
                Decision::Retry { .. }
            ));
        }
        assert!(matches!(
            decide(&p, Repeat::Once, Outcome::ConnectFailed, 0, 0.5),
            Decision::Retry { .. }
        ));
    }

    #[test]
    fn transient_means_exactly_what_the_client_retries() {
        let p = RetryPolicy::standard();
        for code in 100..600 {
            let retried = matches!(
                decide(&p, Repeat::Safe, status(code, None), 0, 0.5),
                Decision::Retry { .. }
            );
            let transient = is_transient_status(StatusCode::from_u16(code).unwrap());
            assert_eq!(retried, transient, "{code}");
        }
    }

    #[test]
    fn client_errors_and_final_failures_stop() {
        let p = RetryPolicy::standard();
        for code in [400, 401, 404, 410, 501] {
            assert_eq!(
                decide(&p, Repeat::Safe, status(code, None), 0, 0.5),
                Decision::Stop
            );
        }
        assert_eq!(
            decide(&p, Repeat::Safe, Outcome::Final, 0, 0.5),
            Decision::Stop
        );
    }

    #[test]
    fn the_budget_and_disabled_policy_are_respected() {
        let p = RetryPolicy::standard();
        assert_eq!(
            decide(&p, Repeat::Safe, status(503, None), 3, 0.5),
            Decision::Stop
        );
        let off = RetryPolicy::disabled();
        assert_eq!(
            decide(&off, Repeat::Safe, status(503, None), 0, 0.5),
            Decision::Stop
        );
    }

    #[test]
    fn backoff_doubles_with_full_jitter_and_is_capped() {
        let p = RetryPolicy::standard()
            .with_backoff(Duration::from_millis(100), Duration::from_millis(350));
        let wait = |n, j| match decide(&p, Repeat::Safe, status(503, None), n, j) {
            Decision::Retry { wait, .. } => wait,
            Decision::Stop => panic!("expected a retry"),
        };
        assert_eq!(wait(0, 1.0), Duration::from_millis(100));
        assert_eq!(wait(1, 1.0), Duration::from_millis(200));
        assert_eq!(wait(2, 1.0), Duration::from_millis(350));
        assert_eq!(wait(2, 0.5), Duration::from_millis(175));
        assert_eq!(wait(0, 0.0), Duration::ZERO);
    }
}
