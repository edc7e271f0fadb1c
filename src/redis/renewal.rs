//! Keeping a place in a lease: a task its holder owns renews it every third
//! of the lease's ttl and reports where the holder stands after each.

use std::time::Duration;

use redis::RedisError;
use tokio::{sync::watch, time::Instant};
use tokio_util::task::AbortOnDropHandle;

use super::{Lease, Renewal};

/// Where a holder stands, as its take and renewals last told.
#[derive(Clone, Debug)]
pub(crate) struct Standing {
    /// The epoch it holds the lease under, if fenced: a retake brings a new
    /// one, after which what it did under the old one may have been undone
    /// by another holder in between.
    pub(crate) epoch: Option<u64>,
    /// Until when it may act as the holder, on this process's monotonic
    /// clock; none once the lease is known lost.
    acting_until: Option<Instant>,
    /// What the last renewal came to; none before the first.
    pub(crate) last: Option<Result<Renewal, RedisError>>,
}

impl Standing {
    /// Whether the holder may still act: the lease cannot have run out yet,
    /// even if no renewal reaches Redis from now on. Judged on this
    /// process's clock from when the last successful renewal was asked
    /// (Redis counts from when it got it, which is later), never on Redis's
    /// clock, which a holder cannot read without Redis.
    pub(crate) fn may_act(&self) -> bool {
        self.acting_until
            .is_some_and(|until| Instant::now() < until)
    }

    /// When it stops being allowed to act unless a renewal lands first:
    /// for a holder that waits on that as well as on the next report.
    pub(crate) fn acting_until(&self) -> Option<Instant> {
        self.acting_until
    }

    fn after(
        &mut self,
        asked: Instant,
        acting_for: Duration,
        outcome: Result<Renewal, RedisError>,
    ) {
        match &outcome {
            Ok(Renewal::Held) => self.acting_until = asked.checked_add(acting_for),
            Ok(Renewal::Retaken { epoch }) => {
                self.acting_until = asked.checked_add(acting_for);
                self.epoch = *epoch;
            }
            Ok(Renewal::Lost) => self.acting_until = None,
            // The hold runs out on its own unless a later renewal lands.
            Err(_) => {}
        }
        self.last = Some(outcome);
    }
}

/// The renewal task. Dropped, it stops; [`Renewing::stop`] also waits for
/// a renewal under way.
pub(crate) struct Renewing {
    task: AbortOnDropHandle<()>,
    standing: watch::Receiver<Standing>,
}

impl Renewing {
    pub(super) fn start(
        lease: Lease,
        token: String,
        taken_at: Instant,
        epoch: Option<u64>,
        margin: Duration,
        mut on_each: impl FnMut(&Result<Renewal, RedisError>) + Send + 'static,
    ) -> Self {
        let every = lease.ttl() / 3;
        let acting_for = lease.ttl().saturating_sub(margin);
        let (report, standing) = watch::channel(Standing {
            epoch,
            acting_until: taken_at.checked_add(acting_for),
            last: None,
        });
        let task = AbortOnDropHandle::new(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let asked = Instant::now();
                let outcome = lease.renew(&token).await;
                on_each(&outcome);
                report.send_modify(|standing| standing.after(asked, acting_for, outcome));
            }
        }));
        Self { task, standing }
    }

    /// Where the holder stands; `changed()` on it wakes after each renewal.
    pub(crate) fn standing(&self) -> watch::Receiver<Standing> {
        self.standing.clone()
    }

    /// Stops renewing. Awaited, not only aborted: a renewal already under
    /// way then reaches Redis before whatever the holder sends next (a
    /// release), never after it (it would take the place again).
    pub(crate) async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}
