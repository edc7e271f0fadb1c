//! What this process knows of Redis being down: when a call last failed to
//! reach it, and what that failure was.

use std::{
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use tokio::time::Instant;

use crate::Error;

/// The last failure to reach Redis, until Redis answers again.
#[derive(Default)]
pub(super) struct Outage(Mutex<Option<Failure>>);

#[derive(Clone)]
struct Failure {
    at: Instant,
    message: String,
    retryable: bool,
}

impl Outage {
    fn last(&self) -> MutexGuard<'_, Option<Failure>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that `error` ended a call; true if this begins an outage.
    pub(super) fn failed(&self, error: &Error) -> bool {
        crate::metrics::shared_limits_unavailable();
        let (message, retryable) = match error {
            Error::SharedLimits {
                message, retryable, ..
            } => (message.clone(), *retryable),
            other => (other.to_string(), other.is_retryable()),
        };
        self.last()
            .replace(Failure {
                at: Instant::now(),
                message,
                retryable,
            })
            .is_none()
    }

    /// Records that Redis answered; true if this ends an outage.
    pub(super) fn recovered(&self) -> bool {
        self.last().take().is_some()
    }

    /// Whether a call failed to reach Redis less than `within` ago.
    pub(super) fn recent(&self, within: Duration) -> bool {
        self.last()
            .as_ref()
            .is_some_and(|failure| failure.at.elapsed() < within)
    }

    /// The failure of a call that ended at or after `since`, as an error
    /// of its own: for a caller that queued behind that call, and need not
    /// wait for Redis all over again.
    pub(super) fn since(&self, since: Instant) -> Option<Error> {
        self.last()
            .as_ref()
            .filter(|failure| failure.at >= since)
            .map(|failure| Error::SharedLimits {
                message: failure.message.clone(),
                retryable: failure.retryable,
                source: None,
            })
    }

    pub(super) fn is_down(&self) -> bool {
        self.last().is_some()
    }
}
