//! Admission: whether a request may start now. One seam for everything
//! that holds requests back (the in-flight gate, the caller's rate limit, a
//! 429's `Retry-After`, the learned pace), so that the retry loop and the
//! send never know whether those live in this process
//! ([`LocalAdmission`]) or are shared with other processes (the `redis`
//! feature's `SharedLimits`).

mod local;

use std::{fmt, time::Duration};

use futures::future::BoxFuture;

pub(crate) use local::LocalAdmission;

use super::pacing::PacingState;
use crate::{Error, StatusCode};

/// Whether holding a request back for `wait` is more than a caller with
/// `patience` accepts (`None`: it waits as long as it is asked). The one
/// rule for a 429's `Retry-After`, the learned pace and a retry's wait,
/// wherever a request is held back.
pub(crate) fn waits_too_long(wait: Duration, patience: Option<Duration>) -> bool {
    patience.is_some_and(|patience| wait > patience)
}

/// What holds requests back, for every clone of a client.
pub(crate) trait Admission: fmt::Debug + Send + Sync {
    /// Waits for a request's turn. With a `patience`, a request that a
    /// `Retry-After` or the learned pace would hold back longer than that is
    /// refused at once; the caller's own rate limit is always waited for.
    fn admit(&self, patience: Option<Duration>) -> BoxFuture<'_, Result<Pass, Refusal>>;

    /// How long a request that wanted to go now would be held back by a
    /// `Retry-After` or the learned pace, as far as this process knows
    /// without asking anyone.
    fn delay_ahead(&self) -> Duration;

    /// Confirms that admission can be decided at all (the shared store
    /// answers), for callers that cannot report an error later.
    fn ready(&self) -> BoxFuture<'_, Result<(), Error>>;

    /// The pace as this process last saw it.
    fn state(&self) -> PacingState;
}

/// A request's right to be in flight. Reporting the answer with
/// [`Pass::answered`] frees it; dropped unanswered (the request got no
/// answer), it frees its place and teaches nothing.
pub(crate) struct Pass(Box<dyn Admitted>);

impl Pass {
    pub(crate) fn new(admitted: impl Admitted + 'static) -> Self {
        Self(Box::new(admitted))
    }

    /// Learns from the answer, then frees the place: in that order, so that
    /// the next request already sees a 429's pause.
    pub(crate) async fn answered(self, status: StatusCode, retry_after: Option<Duration>) {
        self.0.answered(status, retry_after).await;
    }
}

/// One implementation's pass.
pub(crate) trait Admitted: Send {
    fn answered(
        self: Box<Self>,
        status: StatusCode,
        retry_after: Option<Duration>,
    ) -> BoxFuture<'static, ()>;
}

/// Why a request was not admitted.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// A `Retry-After` or the learned pace would hold it back this much
    /// longer than the caller waits.
    HeldBack(Duration),
    /// The shared limits could not be consulted, and the client is set to
    /// fail rather than go on alone.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Unavailable(Error),
}
