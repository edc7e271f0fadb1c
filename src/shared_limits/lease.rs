//! A place in the shared in-flight gate: taken under a random token,
//! renewed while its request is in flight, freed once its answer is
//! recorded; and the pass that carries it through a request.

use std::{sync::Arc, time::Duration};

use futures::{FutureExt, future::BoxFuture};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::task::AbortOnDropHandle;

use super::{admission::Shared, clock::RedisTime, store::Renewal};
use crate::{
    StatusCode,
    http::{admission::Admitted, pacing::Ticket},
};

/// How many times an answer is recorded again when another process changed
/// the pace meanwhile, before its lease is just freed.
const RECORD_TRIES: usize = 8;

/// Dropped while Redis may hold it, it is freed by a task of its own; if
/// that cannot reach Redis, the lease runs out by itself.
pub(super) struct Lease {
    shared: Arc<Shared>,
    pub(super) token: String,
    /// Whether Redis may hold it: from each try to take it until it is
    /// known not to, or freed.
    pub(super) open: bool,
}

impl Lease {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            token: format!(
                "{}-{:016x}{:016x}",
                std::process::id(),
                fastrand::u64(..),
                fastrand::u64(..)
            ),
            open: false,
        }
    }

    /// Renews the lease while its request is in flight.
    fn renewal(&self) -> AbortOnDropHandle<()> {
        let shared = Arc::clone(&self.shared);
        let token = self.token.clone();
        AbortOnDropHandle::new(tokio::spawn(async move {
            let mut lost = false;
            loop {
                tokio::time::sleep(shared.lease_ttl / 3).await;
                match shared
                    .store
                    .renew(&token, shared.lease_ttl, shared.max_in_flight)
                    .await
                {
                    Ok(Renewal::Held) => lost = false,
                    Ok(Renewal::Retaken) => {
                        tracing::debug!(
                            "took the shared in-flight lease again after Redis lost it"
                        );
                        lost = false;
                    }
                    Ok(Renewal::Lost) if !lost => {
                        lost = true;
                        // In an outage the outage's one warning says enough.
                        if !shared.outage.is_down() {
                            tracing::warn!(
                                "the shared in-flight lease was lost while its request was in flight (Redis restarted, or was unreachable for longer than the lease lives); another process may send beside it"
                            );
                        }
                    }
                    Ok(Renewal::Lost) => {}
                    Err(error) => {
                        tracing::debug!(%error, "could not renew the shared in-flight lease");
                    }
                }
            }
        }))
    }

    /// Records what the answer taught, then frees the lease.
    async fn finish(
        mut self,
        ticket: Ticket<RedisTime>,
        status: StatusCode,
        retry_after: Option<Duration>,
    ) {
        let shared = Arc::clone(&self.shared);
        for _ in 0..RECORD_TRIES {
            let (version, learned, json) = {
                let pace = shared.pace();
                let (learned, json, ()) = pace.changed(true, |learned, now| {
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        learned.throttled(ticket, now, retry_after);
                    } else {
                        learned.accepted(ticket, now);
                    }
                });
                (pace.stored.version, learned, json)
            };
            match shared
                .store
                .finish(&self.token, version, json.as_deref())
                .await
            {
                Ok((now, Ok(version))) => {
                    shared.pace().accept(now, version, learned, json);
                    self.open = false;
                    return;
                }
                Ok((now, Err(stored))) => shared.pace().adopt(now, stored),
                Err(error) => {
                    tracing::debug!(
                        %error,
                        "could not record an answer in Redis; its lease is freed or runs out by itself"
                    );
                    return;
                }
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let shared = Arc::clone(&self.shared);
            let token = std::mem::take(&mut self.token);
            runtime.spawn(async move {
                if let Err(error) = shared.store.release(&token).await {
                    tracing::debug!(%error, "could not free the shared in-flight lease; it runs out by itself");
                }
            });
        }
    }
}

/// A request admitted through Redis: its lease, its place in the shared
/// pace, its place in this process's queue, and the lease's renewal.
pub(super) struct RedisPass {
    lease: Lease,
    ticket: Ticket<RedisTime>,
    permit: Option<OwnedSemaphorePermit>,
    renewal: AbortOnDropHandle<()>,
}

impl RedisPass {
    pub(super) fn new(
        lease: Lease,
        ticket: Ticket<RedisTime>,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Self {
        let renewal = lease.renewal();
        Self {
            lease,
            ticket,
            permit,
            renewal,
        }
    }
}

impl Admitted for RedisPass {
    fn answered(
        self: Box<Self>,
        status: StatusCode,
        retry_after: Option<Duration>,
    ) -> BoxFuture<'static, ()> {
        let Self {
            lease,
            ticket,
            permit,
            renewal,
        } = *self;
        async move {
            // Awaited, not only aborted: a renewal already under way then
            // reaches Redis before the lease is freed, never after (it
            // would take the lease again).
            renewal.abort();
            let _ = renewal.await;
            lease.finish(ticket, status, retry_after).await;
            drop(permit);
        }
        .boxed()
    }
}
