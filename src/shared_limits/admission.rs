//! Admission through Redis: the in-flight lease, the told rates and the
//! learned pace of one namespace, shared by every process in it.

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use futures::{FutureExt, future::BoxFuture};
use redis::RedisError;
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore},
    time::Instant,
};
use tokio_util::task::AbortOnDropHandle;

use super::{
    OnUnavailable,
    clock::{Estimate, RedisTime},
    store::{Admit, Renewal, Store, StoredPace},
};
use crate::{
    Error, RateLimit, StatusCode,
    http::{
        admission::{Admission, Admitted, LocalAdmission, Pass, Refusal},
        pacing::{Learned, Moment, PacingState, Ticket},
    },
};

/// A waiter for a busy gate asks again after this long at first, then
/// twice as long each time, up to the longest.
const FIRST_POLL: Duration = Duration::from_millis(1);
const LONGEST_POLL: Duration = Duration::from_millis(50);
/// Between two tries to reach Redis while it does not answer.
const FIRST_RETRY: Duration = Duration::from_millis(20);
const LONGEST_RETRY: Duration = Duration::from_millis(250);
/// While Redis is down under [`OnUnavailable::PerProcessLimits`], a call
/// tries it again at most this often; the others go straight on alone.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// How long such a try waits for Redis at most: long enough for a
/// reconnection after a restart (the first command after one may still
/// see the old connection's error), short enough not to stall the call.
const PROBE_PATIENCE: Duration = Duration::from_millis(250);
/// How many times an answer is recorded again when another process changed
/// the pace meanwhile, before its lease is just freed.
const RECORD_TRIES: usize = 8;

/// Admission for every client of every process in one namespace.
#[derive(Clone)]
pub(crate) struct RedisAdmission(Arc<Shared>);

struct Shared {
    store: Store,
    /// This process's callers queue here first, so that they do not all
    /// poll Redis.
    gate: Arc<Semaphore>,
    max_in_flight: usize,
    lease_ttl: Duration,
    configured: bool,
    pace: Mutex<CachedPace>,
    on_unavailable: OnUnavailable,
    /// This process's own limits, for [`OnUnavailable::PerProcessLimits`].
    fallback: LocalAdmission,
    /// While Redis is down: when it was last tried.
    outage: Mutex<Option<Instant>>,
}

/// The learned pace as this process last saw it in Redis.
struct CachedPace {
    stored: StoredPace,
    learned: Learned<RedisTime>,
    clock: Estimate,
}

impl CachedPace {
    fn adopt(&mut self, now: RedisTime, stored: StoredPace) {
        self.clock.set(now);
        self.learned = if stored.json.is_empty() {
            Learned::default()
        } else {
            // A record this version cannot read (another version of the
            // crate wrote it) starts the pace afresh rather than failing.
            serde_json::from_str(&stored.json).unwrap_or_else(|error| {
                tracing::debug!(%error, "unreadable shared pace; starting afresh");
                Learned::default()
            })
        };
        self.stored = stored;
    }

    /// The pace changed by `change`, as JSON if it differs from what is
    /// stored; `change`'s own result beside. Serialized only if the change
    /// `may_change` it: a pace that is not pacing yet takes nothing from a
    /// request's turn, and a busy client need not write it each time.
    fn changed<R>(
        &self,
        may_change: bool,
        change: impl FnOnce(&mut Learned<RedisTime>, RedisTime) -> R,
    ) -> (Learned<RedisTime>, Option<String>, R) {
        let mut learned = self.learned.clone();
        let result = change(&mut learned, self.clock.now());
        let json = may_change
            .then(|| serde_json::to_string(&learned).unwrap_or_default())
            .filter(|json| *json != self.stored.json);
        (learned, json, result)
    }

    fn accept(
        &mut self,
        now: RedisTime,
        version: i64,
        learned: Learned<RedisTime>,
        json: Option<String>,
    ) {
        self.clock.set(now);
        self.learned = learned;
        self.stored.version = version;
        if let Some(json) = json {
            self.stored.json = json;
        }
    }
}

impl RedisAdmission {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        client: redis::Client,
        address: Arc<str>,
        namespace: &str,
        on_unavailable: OnUnavailable,
        lease_ttl: Duration,
        timeout: Duration,
        max_in_flight: usize,
        rate_limit: Option<&RateLimit>,
    ) -> Self {
        let cells = rate_limit
            .map(|limit| {
                limit
                    .cells()
                    .map(|(spacing, burst)| {
                        let micros = u64::try_from(spacing.as_micros()).unwrap_or(u64::MAX);
                        (micros.max(1), burst.get())
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self(Arc::new(Shared {
            store: Store::new(client, address, namespace, timeout, cells),
            gate: Arc::new(Semaphore::new(max_in_flight)),
            max_in_flight,
            lease_ttl,
            configured: rate_limit.is_some(),
            pace: Mutex::new(CachedPace {
                stored: StoredPace::default(),
                learned: Learned::default(),
                clock: Estimate::unread(),
            }),
            on_unavailable,
            fallback: LocalAdmission::new(max_in_flight, rate_limit),
            outage: Mutex::new(None),
        }))
    }
}

impl std::fmt::Debug for RedisAdmission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAdmission")
            .field("redis", &self.0.store.address())
            .field("max_in_flight", &self.0.max_in_flight)
            .field("lease_ttl", &self.0.lease_ttl)
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
        async move {
            if self.0.on_unavailable == OnUnavailable::PerProcessLimits {
                return Ok(());
            }
            let (now, stored) = self
                .0
                .store
                .read()
                .await
                .map_err(|e| self.0.store.unavailable(e))?;
            self.0.pace().adopt(now, stored);
            Ok(())
        }
        .boxed()
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
    fn pace(&self) -> MutexGuard<'_, CachedPace> {
        // Every update leaves the cache usable, so a panic elsewhere while
        // it was held changes nothing here.
        self.pace.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn outage(&self) -> MutexGuard<'_, Option<Instant>> {
        self.outage.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether this process follows its own limits for now: Redis is down,
    /// the policy allows it, and it was tried less than a probe ago.
    fn is_alone(&self) -> bool {
        self.on_unavailable == OnUnavailable::PerProcessLimits
            && self
                .outage()
                .is_some_and(|tried| tried.elapsed() < PROBE_EVERY)
    }

    async fn admit(self: &Arc<Self>, patience: Option<Duration>) -> Result<Pass, Refusal> {
        if self.is_alone() {
            return self.fallback.admit(patience).await;
        }
        // The semaphore is never closed; if it were, callers would go on
        // to Redis unqueued rather than fail.
        let permit = Arc::clone(&self.gate).acquire_owned().await.ok();
        let per_process = self.on_unavailable == OnUnavailable::PerProcessLimits;
        let redis_wait = if per_process {
            PROBE_PATIENCE.min(self.store.timeout())
        } else {
            self.store.timeout()
        };
        match self.admit_shared(patience, redis_wait).await {
            Ok((lease, ticket)) => {
                if self.outage().take().is_some() {
                    tracing::info!(
                        redis = self.store.address(),
                        "Redis answers again: the limits are shared again"
                    );
                }
                let renewal = lease.renewal();
                Ok(Pass::new(RedisPass {
                    lease,
                    ticket,
                    permit,
                    renewal,
                }))
            }
            Err(Refusal::Unavailable(error)) if per_process => {
                drop(permit);
                if self.outage().replace(Instant::now()).is_none() {
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
    /// it. A Redis that does not answer is tried again for `redis_wait`.
    async fn admit_shared(
        self: &Arc<Self>,
        patience: Option<Duration>,
        redis_wait: Duration,
    ) -> Result<(Lease, Ticket<RedisTime>), Refusal> {
        // Taken before the first try: a caller that leaves while Redis is
        // deciding frees what Redis may have granted.
        let mut lease = Lease::new(Arc::clone(self));
        let mut poll = FIRST_POLL;
        let mut retry = FIRST_RETRY;
        let mut failing_since = None;
        loop {
            let (version, turn) = {
                let pace = self.pace();
                let (learned, json, turn) =
                    pace.changed(pace.learned.is_pacing(), |learned, now| {
                        learned
                            .turn(now)
                            .map_err(|until| until.saturating_duration_since(now))
                    });
                let turn = turn.map(|ticket| (ticket, learned, json));
                (pace.stored.version, turn)
            };
            let (ticket, learned, json) = match turn {
                Ok(turn) => turn,
                Err(wait) => {
                    if patience.is_some_and(|patience| wait > patience) {
                        return Err(Refusal::HeldBack(wait));
                    }
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            lease.open = true;
            let asked = Instant::now();
            let answer = self
                .store
                .admit(
                    &lease.token,
                    self.lease_ttl,
                    self.max_in_flight,
                    version,
                    json.as_deref(),
                )
                .await;
            match answer {
                Ok((now, Admit::Granted { version })) => {
                    self.pace().accept(now, version, learned, json);
                    return Ok((lease, ticket));
                }
                Ok((now, Admit::Stale(stored))) => {
                    lease.open = false;
                    self.pace().adopt(now, stored);
                }
                Ok((now, Admit::Busy(left))) => {
                    lease.open = false;
                    self.pace().clock.set(now);
                    tokio::time::sleep(left.min(poll)).await;
                    poll = (poll * 2).min(LONGEST_POLL);
                }
                Ok((now, Admit::Wait(wait))) => {
                    lease.open = false;
                    self.pace().clock.set(now);
                    tokio::time::sleep(wait).await;
                }
                Err(error) => {
                    let since = *failing_since.get_or_insert(asked);
                    if !may_come_back(&error) || since.elapsed() + retry > redis_wait {
                        return Err(Refusal::Unavailable(self.store.unavailable(error)));
                    }
                    tokio::time::sleep(retry).await;
                    retry = (retry * 2).min(LONGEST_RETRY);
                }
            }
        }
    }
}

/// Whether Redis may answer if asked again: it is unreachable or slow, not
/// refusing (a wrong password, a TLS error, a script error).
pub(super) fn may_come_back(error: &RedisError) -> bool {
    error.is_connection_refusal()
        || error.is_connection_dropped()
        || error.is_timeout()
        || error.is_io_error()
}

/// A place in the shared gate, held under a random token. Dropped while it
/// may be held, it is freed by a task of its own; if that cannot reach
/// Redis, the lease runs out by itself.
struct Lease {
    shared: Arc<Shared>,
    token: String,
    /// Whether Redis may hold it: from the first try to take it until it
    /// is freed.
    open: bool,
}

impl Lease {
    fn new(shared: Arc<Shared>) -> Self {
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
                        tracing::warn!(
                            "the shared in-flight lease was lost while its request was in flight (Redis restarted, or was unreachable for longer than the lease lives); another process may send beside it"
                        );
                    }
                    Ok(Renewal::Lost) => {}
                    Err(error) => {
                        tracing::debug!(%error, "could not renew the shared in-flight lease")
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
                    tracing::warn!(
                        %error,
                        "could not record an answer in Redis; its lease frees itself when it runs out"
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

struct RedisPass {
    lease: Lease,
    ticket: Ticket<RedisTime>,
    permit: Option<OwnedSemaphorePermit>,
    renewal: AbortOnDropHandle<()>,
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
            drop(renewal);
            lease.finish(ticket, status, retry_after).await;
            drop(permit);
        }
        .boxed()
    }
}
