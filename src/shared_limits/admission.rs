//! Admission through Redis: the in-flight lease, the told rates and the
//! learned pace of one namespace, shared by every process in it.

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use futures::{FutureExt, future::BoxFuture};
use tokio::{sync::Semaphore, time::Instant};

use super::{
    OnUnavailable,
    pace_cache::CachedPace,
    pass::RedisPass,
    stale::Stale,
    store::{Admit, Store},
};
use crate::{
    Error, RateLimit,
    http::{
        admission::{Admission, LocalAdmission, Pass, Refusal, waits_too_long},
        pacing::{Moment, PacingState, Ticket},
    },
    redis::{Holder, Outage, RedisRetry, RedisTime},
};

/// A waiter for a busy gate asks again after this long at first, then
/// twice as long each time, up to the longest.
const FIRST_POLL: Duration = Duration::from_millis(1);
const LONGEST_POLL: Duration = Duration::from_millis(50);
/// While Redis is down under [`OnUnavailable::PerProcessLimits`], a call
/// tries it again at most this often; the others go straight on alone.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// How long such a try waits for Redis at most: long enough for a
/// reconnection after a restart (the first command after one may still
/// see the old connection's error), short enough not to stall the call.
const PROBE_PATIENCE: Duration = Duration::from_millis(250);

/// Admission for every client of every process in one namespace.
#[derive(Clone)]
pub(super) struct RedisAdmission(Arc<Shared>);

pub(super) struct Shared {
    pub(super) store: Store,
    /// This process's callers queue here first, whether they then go to
    /// Redis or, Redis down, follow the process's own limits: one gate, so
    /// that the switch between the two never lets two requests overlap.
    gate: Arc<Semaphore>,
    configured: bool,
    pace: Mutex<CachedPace>,
    on_unavailable: OnUnavailable,
    /// This process's own limits, for [`OnUnavailable::PerProcessLimits`].
    fallback: LocalAdmission,
    pub(super) outage: Outage,
}

impl RedisAdmission {
    /// Admission through `store`, whose lease's capacity is the client's
    /// in-flight gate.
    pub(super) fn new(
        store: Store,
        on_unavailable: OnUnavailable,
        rate_limit: Option<&RateLimit>,
    ) -> Self {
        let gate = Arc::new(Semaphore::new(store.lease().capacity()));
        Self(Arc::new(Shared {
            store,
            fallback: LocalAdmission::sharing_gate(Arc::clone(&gate), rate_limit),
            gate,
            configured: rate_limit.is_some(),
            pace: Mutex::new(CachedPace::new()),
            on_unavailable,
            outage: Outage::default(),
        }))
    }
}

impl std::fmt::Debug for RedisAdmission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lease = self.0.store.lease();
        f.debug_struct("RedisAdmission")
            .field("redis", &self.0.store.connection().address())
            .field("max_in_flight", &lease.capacity())
            .field("lease_ttl", &lease.ttl())
            .field("on_unavailable", &self.0.on_unavailable)
            .finish_non_exhaustive()
    }
}

impl Admission for RedisAdmission {
    fn admit(&self, patience: Option<Duration>) -> BoxFuture<'_, Result<Pass, Refusal>> {
        self.0.admit(patience).boxed()
    }

    fn delay_ahead(&self) -> Duration {
        if self.0.is_alone() {
            return self.0.fallback.delay_ahead();
        }
        let pace = self.0.pace();
        pace.learned.delay_ahead(pace.clock.now())
    }

    fn ready(&self) -> BoxFuture<'_, Result<(), Error>> {
        self.0.ready().boxed()
    }

    fn state(&self) -> PacingState {
        if self.0.is_alone() {
            return self.0.fallback.state();
        }
        let pace = self.0.pace();
        PacingState::new(pace.learned.state(pace.clock.now()), self.0.configured)
    }
}

impl Shared {
    pub(super) fn pace(&self) -> MutexGuard<'_, CachedPace> {
        // Every update leaves the cache usable, so a panic elsewhere while
        // it was held changes nothing here.
        self.pace.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn per_process(&self) -> bool {
        self.on_unavailable == OnUnavailable::PerProcessLimits
    }

    /// Whether this process follows its own limits for now: Redis is down,
    /// the policy allows it, and it was tried less than a probe ago.
    fn is_alone(&self) -> bool {
        self.per_process() && self.outage.recent(PROBE_EVERY)
    }

    /// How long a call waits for Redis to answer again.
    fn redis_wait(&self) -> Duration {
        if self.per_process() {
            PROBE_PATIENCE.min(self.store.connection().timeout())
        } else {
            self.store.connection().timeout()
        }
    }

    async fn admit(self: &Arc<Self>, patience: Option<Duration>) -> Result<Pass, Refusal> {
        if self.is_alone() {
            return self.fallback.admit(patience).await;
        }
        let arrived = Instant::now();
        // The semaphore is never closed; if it were, callers would go on
        // to Redis unqueued rather than fail.
        let permit = Arc::clone(&self.gate).acquire_owned().await.ok();
        // Redis failed a call while this one queued: no need to wait for it
        // all over again.
        let outcome = match self.outage.since(arrived) {
            Some(error) => Err(Refusal::Unavailable(error)),
            None => self.admit_shared(patience).await,
        };
        match outcome {
            Ok((holder, ticket)) => {
                if self.outage.recovered() {
                    tracing::info!(
                        redis = self.store.connection().address(),
                        "Redis answers again: the limits are shared again"
                    );
                }
                Ok(Pass::new(RedisPass::new(
                    Arc::clone(self),
                    holder,
                    ticket,
                    permit,
                )))
            }
            Err(Refusal::Unavailable(error)) => {
                crate::metrics::shared_limits_unavailable();
                let began = self.outage.failed(&error);
                drop(permit);
                if !self.per_process() {
                    return Err(Refusal::Unavailable(error));
                }
                if began {
                    tracing::warn!(
                        error = %error.report(),
                        "Redis is unreachable: this process follows its own limits until Redis answers again"
                    );
                }
                self.fallback.admit(patience).await
            }
            Err(refusal) => Err(refusal),
        }
    }

    /// Takes a lease once the pace, the told rates and the gate all allow
    /// it, asking Redis again for a while if it does not answer.
    async fn admit_shared(
        self: &Arc<Self>,
        patience: Option<Duration>,
    ) -> Result<(Holder, Ticket<RedisTime>), Refusal> {
        // Made before the first try: a caller that leaves while Redis is
        // deciding frees what Redis may have granted.
        let mut holder = self.store.lease().holder();
        let mut retry = RedisRetry::new(self.redis_wait());
        let mut poll = FIRST_POLL;
        let mut stale = Stale::new();
        loop {
            let asked = Instant::now();
            if !self.pace().clock.is_read() {
                // Tickets are stamped on Redis's clock from the first one.
                match self.store.read(retry.left()).await {
                    Ok((now, stored)) => self.pace().adopt(now, stored),
                    Err(error) => {
                        retry
                            .after(asked, error, |e| self.store.connection().unavailable(e))
                            .await
                            .map_err(Refusal::Unavailable)?;
                    }
                }
                continue;
            }
            let (version, turn) = {
                let pace = self.pace();
                let (learned, json, turn) =
                    pace.changed(pace.learned.is_pacing(), |learned, now| {
                        learned
                            .turn(now)
                            .map_err(|until| until.saturating_duration_since(now))
                    });
                (
                    pace.stored.version,
                    turn.map(|ticket| (ticket, learned, json)),
                )
            };
            let (ticket, learned, json) = match turn {
                Ok(turn) => turn,
                Err(wait) => {
                    if waits_too_long(wait, patience) {
                        return Err(Refusal::HeldBack(wait));
                    }
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            holder.set_may_hold(true);
            let answer = self
                .store
                .admit(holder.token(), version, json.as_deref(), retry.left())
                .await;
            match answer {
                Ok((now, Admit::Granted { version })) => {
                    self.pace().accept(now, version, learned, json);
                    return Ok((holder, ticket));
                }
                Ok((now, Admit::GrantedBefore(stored))) => {
                    // Its proposal may or may not be what is stored: only
                    // what Redis holds may stand under Redis's version, or
                    // the next write would overwrite what another process
                    // wrote meanwhile (a 429's pause).
                    self.pace().adopt(now, stored);
                    return Ok((holder, ticket));
                }
                Ok((now, Admit::Stale(stored))) => {
                    holder.set_may_hold(false);
                    self.pace().adopt(now, stored);
                    if !stale.again().await {
                        return Err(Refusal::Unavailable(Error::SharedLimits {
                            message: format!(
                                "Redis at {} kept changing the shared pace record under every request",
                                self.store.connection().address()
                            ),
                            retryable: true,
                            source: None,
                        }));
                    }
                }
                Ok((now, Admit::Busy(left))) => {
                    holder.set_may_hold(false);
                    self.pace().clock.set(now);
                    tokio::time::sleep(left.min(poll).max(FIRST_POLL)).await;
                    poll = (poll * 2).min(LONGEST_POLL);
                }
                Ok((now, Admit::Wait(wait))) => {
                    holder.set_may_hold(false);
                    self.pace().clock.set(now);
                    tokio::time::sleep(wait.max(FIRST_POLL)).await;
                }
                Err(error) => {
                    // The lease stays open: Redis may have granted it.
                    retry
                        .after(asked, error, |e| self.store.connection().unavailable(e))
                        .await
                        .map_err(Refusal::Unavailable)?;
                }
            }
        }
    }

    /// Confirms Redis answers, for the raw client, with the same patience
    /// as a call.
    async fn ready(&self) -> Result<(), Error> {
        if self.per_process() {
            return Ok(());
        }
        let mut retry = RedisRetry::new(self.redis_wait());
        loop {
            let asked = Instant::now();
            match self.store.read(retry.left()).await {
                Ok((now, stored)) => {
                    self.pace().adopt(now, stored);
                    self.outage.recovered();
                    return Ok(());
                }
                Err(error) => {
                    if let Err(error) = retry
                        .after(asked, error, |e| self.store.connection().unavailable(e))
                        .await
                    {
                        crate::metrics::shared_limits_unavailable();
                        self.outage.failed(&error);
                        return Err(error);
                    }
                }
            }
        }
    }
}
