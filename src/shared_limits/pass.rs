//! A request admitted through Redis: its place in the in-flight lease, its
//! turn in the shared pace and its place in this process's queue; and, once
//! answered, the record of what the answer taught.

use std::{sync::Arc, time::Duration};

use futures::{FutureExt, future::BoxFuture};
use redis::RedisError;
use tokio::{sync::OwnedSemaphorePermit, time::Instant};

use super::admission::Shared;
use crate::{
    StatusCode,
    http::{admission::Admitted, pacing::Ticket},
    redis::{Holder, RedisTime, Renewal, Renewing},
};

/// How many times an answer is recorded again when another process changed
/// the pace meanwhile, before its lease is just freed.
const RECORD_TRIES: usize = 8;

pub(super) struct RedisPass {
    shared: Arc<Shared>,
    holder: Holder,
    ticket: Ticket<RedisTime>,
    permit: Option<OwnedSemaphorePermit>,
    renewing: Renewing,
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
            shared,
            holder,
            ticket,
            permit,
            renewing,
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
/// that the next request already sees a 429's pause).
async fn record(
    shared: &Shared,
    holder: &mut Holder,
    ticket: Ticket<RedisTime>,
    status: StatusCode,
    retry_after: Option<Duration>,
) {
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
            .finish(holder.token(), version, json.as_deref())
            .await
        {
            Ok((now, Ok(version))) => {
                shared.pace().accept(now, version, learned, json);
                holder.set_may_hold(false);
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

impl Admitted for RedisPass {
    fn answered(
        self: Box<Self>,
        status: StatusCode,
        retry_after: Option<Duration>,
    ) -> BoxFuture<'static, ()> {
        let Self {
            shared,
            mut holder,
            ticket,
            permit,
            renewing,
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
