//! Admission within one process: a semaphore for the in-flight gate and
//! [`Pacing`] for the rest.

use std::{sync::Arc, time::Duration};

use futures::{FutureExt, future::BoxFuture};
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore},
    time::Instant,
};

use super::{Admission, Admitted, Pass, Refusal, waits_too_long};
use crate::{
    Error, StatusCode,
    http::pacing::{Pacing, PacingState, RateLimit, Ticket},
};

/// The gate and pace of one client and its clones, in this process.
#[derive(Debug)]
pub(crate) struct LocalAdmission {
    gate: Arc<Semaphore>,
    pacing: Arc<Pacing>,
}

impl LocalAdmission {
    pub(crate) fn new(max_in_flight: usize, rate_limit: Option<&RateLimit>) -> Self {
        Self::sharing_gate(Arc::new(Semaphore::new(max_in_flight)), rate_limit)
    }

    /// Admission whose in-flight gate is `gate`, shared with another
    /// admission of the same client.
    pub(crate) fn sharing_gate(gate: Arc<Semaphore>, rate_limit: Option<&RateLimit>) -> Self {
        Self {
            gate,
            pacing: Arc::new(Pacing::new(rate_limit)),
        }
    }

    async fn wait_for_turn(&self, patience: Option<Duration>) -> Result<Pass, Refusal> {
        self.pacing.wait_for_rate_limit().await;
        loop {
            // The semaphore is never closed, so acquiring cannot fail; if it
            // ever were, requests would go out ungated rather than fail.
            let permit = self.gate.clone().acquire_owned().await.ok();
            // Asked holding the slot, so that a 429 that came while this
            // request queued holds it back too.
            match self.pacing.turn() {
                Ok(ticket) => {
                    return Ok(Pass::new(LocalPass {
                        permit,
                        ticket,
                        pacing: Arc::clone(&self.pacing),
                    }));
                }
                Err(until) => {
                    // A request that must wait for its turn gives the slot
                    // back while it waits.
                    drop(permit);
                    let wait = until.saturating_duration_since(Instant::now());
                    if waits_too_long(wait, patience) {
                        return Err(Refusal::HeldBack(wait));
                    }
                    tokio::time::sleep_until(until).await;
                }
            }
        }
    }
}

impl Admission for LocalAdmission {
    fn admit(&self, patience: Option<Duration>) -> BoxFuture<'_, Result<Pass, Refusal>> {
        self.wait_for_turn(patience).boxed()
    }

    fn delay_ahead(&self) -> Duration {
        self.pacing.delay_ahead()
    }

    fn ready(&self) -> BoxFuture<'_, Result<(), Error>> {
        futures::future::ready(Ok(())).boxed()
    }

    fn state(&self) -> PacingState {
        self.pacing.state()
    }
}

struct LocalPass {
    permit: Option<OwnedSemaphorePermit>,
    ticket: Ticket,
    pacing: Arc<Pacing>,
}

impl Admitted for LocalPass {
    fn answered(
        self: Box<Self>,
        status: StatusCode,
        retry_after: Option<Duration>,
    ) -> BoxFuture<'static, ()> {
        let Self {
            permit,
            ticket,
            pacing,
        } = *self;
        pacing.answered(ticket, status, retry_after);
        drop(permit);
        futures::future::ready(()).boxed()
    }
}
