//! What every part of one member's group watch shares: the Redis of the
//! client's shared limits, the group's keys, its settings, and what this
//! member knows of Redis being down.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use redis::RedisError;
use tokio::time::Instant;

use super::{WatchGroup, keys::GroupKeys};
use crate::{
    Error,
    inbox::watch::Bookmark,
    redis::{Outage, Redis, RedisRetry},
};

/// How long an ack waits out Redis not answering: long enough for a
/// restart, short enough that a handler hears of a lasting outage.
pub(super) const ACK_PATIENCE: Duration = Duration::from_secs(15);

pub(super) struct Context {
    pub(super) redis: Redis,
    pub(super) keys: GroupKeys,
    pub(super) group: WatchGroup,
    outage: Outage,
    /// The newest place in the inbox this member knows the group reached:
    /// its own last append as leader, or the newest change it was handed.
    /// A group whose bookmark Redis lost (a restart that kept nothing) goes
    /// on from it, handing some changes out again rather than losing them.
    reached: Mutex<Option<Bookmark>>,
}

impl Context {
    pub(super) fn new(redis: Redis, group: WatchGroup) -> Arc<Self> {
        Arc::new(Self {
            keys: GroupKeys::new(&redis, &group.name, group.leader_ttl),
            redis,
            group,
            outage: Outage::default(),
            reached: Mutex::new(None),
        })
    }

    /// Notes that the group reached `bookmark`, if that is further than
    /// this member knew.
    pub(super) fn reached(&self, bookmark: &Bookmark) {
        let mut reached = self.reached.lock().unwrap_or_else(|p| p.into_inner());
        let further = reached
            .as_ref()
            .is_none_or(|known| bookmark.second() > known.second());
        if further {
            *reached = Some(bookmark.clone());
        }
    }

    /// The furthest place this member knows the group reached.
    pub(super) fn furthest_reached(&self) -> Option<Bookmark> {
        self.reached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How long one call waits for Redis.
    pub(super) fn timeout(&self) -> Duration {
        self.redis.connection.timeout()
    }

    /// The error for `cause`: it names Redis and where it is, never a
    /// password.
    pub(super) fn unavailable(&self, cause: RedisError) -> Error {
        self.redis.connection.unavailable(cause)
    }

    /// Records that Redis failed a call of `what`: one warning per outage,
    /// however many parts of the watch meet it.
    pub(super) fn failed(&self, what: &str, cause: RedisError) {
        let error = self.unavailable(cause);
        if self.outage.failed(&error) {
            tracing::warn!(
                group = %self.group.name,
                member = %self.group.member,
                error = %error.report(),
                "the group watch cannot reach Redis ({what}); it waits and goes on when Redis answers"
            );
        }
    }

    /// Records that Redis answered.
    pub(super) fn answered(&self) {
        if self.outage.recovered() {
            tracing::info!(
                group = %self.group.name,
                member = %self.group.member,
                "the group watch reaches Redis again"
            );
        }
    }

    /// Runs `call` until it succeeds, or fails for good, or `patience`
    /// has passed with Redis not answering.
    pub(super) async fn patiently<T, F>(
        &self,
        patience: Duration,
        mut call: impl FnMut(Duration) -> F,
    ) -> Result<T, Error>
    where
        F: Future<Output = Result<T, RedisError>>,
    {
        let mut retry = RedisRetry::new(patience);
        loop {
            let asked = Instant::now();
            match call(retry.left().min(self.timeout())).await {
                Ok(value) => {
                    self.answered();
                    return Ok(value);
                }
                Err(cause) => retry.after(asked, cause, |e| self.unavailable(e)).await?,
            }
        }
    }
}
