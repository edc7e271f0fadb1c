//! A request admitted through Redis: its place in the in-flight lease, its
//! turn in the shared pace and its place in this process's queue; and, once
//! answered, the record of what the answer taught.

use std::{sync::Arc, time::Duration};

use futures::{FutureExt, future::BoxFuture};
use redis::RedisError;
use tokio::{sync::OwnedSemaphorePermit, time::Instant};

use super::{admission::Shared, stale::Stale};
use crate::{
    StatusCode,
    http::{admission::Admitted, pacing::Ticket},
    redis::{Holder, RedisTime, Renewal, Renewing},
};

/// Dropped unanswered (the request got no answer), it frees its place and
/// teaches nothing.
pub(super) struct RedisPass {
    // First, so that dropped, it stops before the holder frees the lease.
    renewing: Renewing,
    shared: Arc<Shared>,
    holder: Holder,
    ticket: Ticket<RedisTime>,
    permit: Option<OwnedSemaphorePermit>,
}

impl RedisPass {
    pub(super) fn new(
        shared: Arc<Shared>,
        holder: Holder,
        ticket: Ticket<RedisTime>,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Self {
        // Nothing here acts on the standing: a request cannot be called
        // back, so it runs on whatever the renewals say; they only warn.
        let renewing = holder.renewing(
            Instant::now(),
            None,
            Duration::ZERO,
            renewal_log(Arc::clone(&shared)),
        );
        Self {
            renewing,
            shared,
            holder,
            ticket,
            permit,
        }
    }
}

/// What the lease's renewals tell, said once: a lost lease lets another
/// process send beside this request.
fn renewal_log(shared: Arc<Shared>) -> impl FnMut(&Result<Renewal, RedisError>) + Send + 'static {
    let mut lost = false;
    move |outcome| match outcome {
        Ok(Renewal::Held) => lost = false,
        Ok(Renewal::Retaken { .. }) => {
            tracing::debug!("took the shared in-flight lease again after Redis lost it");
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

/// Records what the answer taught, then frees the lease (one script, so
/// that the next request already sees a 429's pause). When another process
/// changed the pace meanwhile, it learns again from the new pace and tries
/// again, under the rule admission follows; if it gives up, it says what
/// was lost, and the lease is freed as the holder goes.
async fn record(
    shared: &Shared,
    holder: &mut Holder,
    ticket: Ticket<RedisTime>,
    status: StatusCode,
    retry_after: Option<Duration>,
) {
    let mut stale = Stale::new();
    loop {
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
            .finish(holder.token(), version, json.as_deref())
            .await
        {
            Ok((now, Ok(version))) => {
                shared.pace().accept(now, version, learned, json);
                holder.set_may_hold(false);
                return;
            }
            Ok((now, Err(stored))) => {
                shared.pace().adopt(now, stored);
                if !stale.again().await {
                    tracing::warn!(
                        tries = stale.answers(),
                        "{} was not recorded in the shared pace: the record changed under every try (another writer keeps changing it, or it is broken); no process learns from it",
                        lesson(status, retry_after)
                    );
                    return;
                }
            }
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

/// What an answer teaches, in words for a log.
fn lesson(status: StatusCode, retry_after: Option<Duration>) -> String {
    match retry_after {
        _ if status != StatusCode::TOO_MANY_REQUESTS => format!("an accepted request ({status})"),
        Some(pause) => format!("a 429 and the pause of {pause:?} its Retry-After asked for"),
        None => "a 429 (with no Retry-After)".to_string(),
    }
}

impl Admitted for RedisPass {
    fn answered(
        self: Box<Self>,
        status: StatusCode,
        retry_after: Option<Duration>,
    ) -> BoxFuture<'static, ()> {
        let Self {
            renewing,
            shared,
            mut holder,
            ticket,
            permit,
        } = *self;
        async move {
            renewing.stop().await;
            record(&shared, &mut holder, ticket, status, retry_after).await;
            // Not recorded: the holder frees the lease as it goes.
            drop(holder);
            drop(permit);
        }
        .boxed()
    }
}
