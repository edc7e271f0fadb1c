//! A lease in Redis: `capacity` places over one key, each held under a
//! token until its time to live runs out on Redis's clock, unless its holder
//! renews it. Optionally fenced: each time the lease goes to a token that
//! did not hold it, an epoch goes up, so that a later script can refuse a
//! holder that lost the lease since (a paused process, a lost renewal).

use std::{sync::LazyLock, time::Duration};

use redis::{RedisError, Script};

use super::{Holder, Redis, ScriptReply, lua_script, millis, unexpected};

static TAKE: LazyLock<Script> = lua_script!("src/redis/lua/take.lua");
static RENEW: LazyLock<Script> = lua_script!("src/redis/lua/renew.lua");
static RELEASE: LazyLock<Script> = lua_script!("src/redis/lua/release.lua");
/// Only tests ask this alone; the group's append asks it in its own step.
#[cfg(test)]
static FENCED: LazyLock<Script> = lua_script!("src/redis/lua/fenced.lua");

/// One lease of one namespace. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Lease {
    redis: Redis,
    key: String,
    /// Kept beside the lease when it is fenced; the shared limits' gate is
    /// not, and writes no key more per request.
    epoch_key: Option<String>,
    ttl: Duration,
    capacity: usize,
}

/// What a take came to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Take {
    /// The token holds a place; the epoch it holds it under, if fenced.
    Taken { epoch: Option<u64> },
    /// Every place is held; the first hold ends in this long.
    Busy(Duration),
}

/// What a renewal came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Renewal {
    Held,
    /// The hold had run out, or Redis lost it (a restart), and there was
    /// room to take it again: under a new epoch, if fenced, since another
    /// may have held it in between.
    Retaken {
        epoch: Option<u64>,
    },
    /// The hold had run out and every place is held by others now.
    Lost,
}

impl Lease {
    /// The lease named `name` in `redis`'s namespace, of `capacity` places
    /// held `ttl` each.
    pub(crate) fn new(redis: &Redis, name: &str, ttl: Duration, capacity: usize) -> Self {
        Self {
            key: redis.namespace.key(name),
            redis: redis.clone(),
            epoch_key: None,
            ttl,
            capacity,
        }
    }

    /// The same lease with a fencing epoch, kept at `<key>:epoch`.
    pub(crate) fn fenced(mut self) -> Self {
        self.epoch_key = Some(format!("{}:epoch", self.key));
        self
    }

    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// Where a fenced lease keeps its epoch.
    pub(crate) fn epoch_key(&self) -> Option<&str> {
        self.epoch_key.as_deref()
    }

    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn redis(&self) -> &Redis {
        &self.redis
    }

    /// A new holder, under a token no other holder has.
    pub(crate) fn holder(&self) -> Holder {
        Holder::new(self.clone())
    }

    fn invocation<'a>(&'a self, script: &'a Script, token: &str) -> redis::ScriptInvocation<'a> {
        let mut invocation = script.prepare_invoke();
        invocation.key(&self.key);
        if let Some(epoch_key) = &self.epoch_key {
            invocation.key(epoch_key);
        }
        invocation
            .arg(token)
            .arg(millis(self.ttl))
            .arg(self.capacity);
        invocation
    }

    /// Takes a place for `token`, within `limit`. Asked again with the same
    /// token after a lost answer, it answers as the first time did.
    pub(crate) async fn take(&self, token: &str, limit: Duration) -> Result<Take, RedisError> {
        let reply: ScriptReply = self
            .redis
            .connection
            .run(&self.invocation(&TAKE, token), limit)
            .await?;
        match reply.word.as_str() {
            "taken" => Ok(Take::Taken {
                epoch: self.epoch(reply.number),
            }),
            "busy" => Ok(Take::Busy(reply.micros())),
            other => Err(unexpected(other)),
        }
    }

    /// Extends `token`'s hold by the lease's ttl. A renewal that waited
    /// longer than a third of that would come too late, so it waits no
    /// longer.
    pub(crate) async fn renew(&self, token: &str) -> Result<Renewal, RedisError> {
        let reply: ScriptReply = self
            .redis
            .connection
            .run(&self.invocation(&RENEW, token), self.ttl / 3)
            .await?;
        match reply.word.as_str() {
            "held" => Ok(Renewal::Held),
            "retaken" => Ok(Renewal::Retaken {
                epoch: self.epoch(reply.number),
            }),
            "lost" => Ok(Renewal::Lost),
            other => Err(unexpected(other)),
        }
    }

    pub(crate) async fn release(&self, token: &str) -> Result<(), RedisError> {
        let mut invocation = RELEASE.prepare_invoke();
        invocation.key(&self.key).arg(token);
        let connection = &self.redis.connection;
        let _: ScriptReply = connection.run(&invocation, connection.timeout()).await?;
        Ok(())
    }

    #[cfg(test)]
    /// Whether `token` holds this fenced lease now, under `epoch`; a lease
    /// without an epoch is never fenced.
    pub(crate) async fn is_held_under(
        &self,
        token: &str,
        epoch: u64,
        limit: Duration,
    ) -> Result<bool, RedisError> {
        let Some(epoch_key) = &self.epoch_key else {
            return Ok(false);
        };
        let mut invocation = FENCED.prepare_invoke();
        invocation
            .key(&self.key)
            .key(epoch_key)
            .arg(token)
            .arg(epoch);
        let reply: ScriptReply = self.redis.connection.run(&invocation, limit).await?;
        Ok(reply.word == "held")
    }

    fn epoch(&self, number: i64) -> Option<u64> {
        self.epoch_key
            .as_ref()
            .map(|_| u64::try_from(number).unwrap_or(0))
    }
}
