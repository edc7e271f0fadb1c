//! One holder of a lease, in this process: its token, and whether Redis
//! may hold a place for it, so that dropping it frees that place.

use std::time::Duration;

use redis::RedisError;
use tokio::time::Instant;

use super::{Lease, RedisRetry, Renewal, Renewing, Take};

/// Dropped while Redis may hold its place, it frees it with a task of its
/// own; if that cannot reach Redis, the hold runs out by itself.
pub(crate) struct Holder {
    lease: Lease,
    token: String,
    /// From each try to take a place until it is known not to be held, or
    /// freed.
    may_hold: bool,
}

impl Holder {
    pub(super) fn new(lease: Lease) -> Self {
        Self {
            lease,
            token: format!(
                "{}-{:016x}{:016x}",
                std::process::id(),
                fastrand::u64(..),
                fastrand::u64(..)
            ),
            may_hold: false,
        }
    }

    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    /// Says whether Redis may hold a place for this token: true before a
    /// script that may grant one is sent (its answer may be lost), false
    /// once it is known not to, or a script freed it.
    pub(crate) fn set_may_hold(&mut self, may_hold: bool) {
        self.may_hold = may_hold;
    }

    /// Takes a place (see [`Lease::take`]).
    pub(crate) async fn take(&mut self, limit: Duration) -> Result<Take, RedisError> {
        self.may_hold = true;
        let take = self.lease.take(&self.token, limit).await;
        if matches!(take, Ok(Take::Busy(_))) {
            self.may_hold = false;
        }
        take
    }

    /// Renews the place taken at `taken_at` (under `epoch`, if fenced) until
    /// the returned task is stopped or dropped; `on_each` hears every
    /// renewal's outcome as it comes. The holder may act while its last
    /// successful renewal (or take) was asked less than the lease's ttl
    /// minus `margin` ago ([`Standing::may_act`](super::Standing::may_act)).
    pub(crate) fn renewing(
        &self,
        taken_at: Instant,
        epoch: Option<u64>,
        margin: Duration,
        on_each: impl FnMut(&Result<Renewal, RedisError>) + Send + 'static,
    ) -> Renewing {
        Renewing::start(
            self.lease.clone(),
            self.token.clone(),
            taken_at,
            epoch,
            margin,
            on_each,
        )
    }

    /// Frees the place now, if Redis may hold one.
    pub(crate) async fn release(mut self) -> Result<(), crate::Error> {
        if !self.may_hold {
            return Ok(());
        }
        self.may_hold = false;
        release_patiently(&self.lease, &self.token).await
    }
}

/// Frees `token`'s place, asking again while Redis does not answer (a
/// restart) for as long as the hold could last anyway: a place left held
/// would stall every other holder until it ran out.
async fn release_patiently(lease: &Lease, token: &str) -> Result<(), crate::Error> {
    let mut retry = RedisRetry::new(lease.ttl());
    loop {
        let asked = Instant::now();
        match lease.release(token).await {
            Ok(()) => return Ok(()),
            Err(error) => {
                retry
                    .after(asked, error, |e| lease.redis().connection.unavailable(e))
                    .await?;
            }
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        if !self.may_hold {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let lease = self.lease.clone();
            let token = std::mem::take(&mut self.token);
            runtime.spawn(async move {
                if let Err(error) = release_patiently(&lease, &token).await {
                    tracing::debug!(error = %error.report(), lease = lease.key(), "could not free a place in a lease; it runs out by itself");
                }
            });
        }
    }
}
