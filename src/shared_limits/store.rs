//! The Redis side: one connection that reconnects by itself, the keys of a
//! namespace, and the scripts that read and change them atomically.

use std::{
    sync::{Arc, LazyLock, OnceLock},
    time::Duration,
};

use redis::{
    Client, RedisError, Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

use super::clock::RedisTime;
use crate::Error;

static ADMIT: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/admit.lua")));
static FINISH: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/finish.lua")));
static RENEW: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/renew.lua")));
static RELEASE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/release.lua")));
static READ: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/read.lua")));

/// The learned pace is kept this long after its last change; the pace
/// forgets what it learned after ten quiet minutes anyway.
const PACE_TTL: Duration = Duration::from_secs(3_600);

/// What every script answers: a word, Redis's time, a number, a text.
type Reply = (String, i64, i64, String);

/// The learned pace as stored: its version and its JSON.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct StoredPace {
    pub(super) version: i64,
    pub(super) json: String,
}

/// What admission came to.
#[derive(Debug)]
pub(super) enum Admit {
    /// Admitted; the pace is now at this version.
    Granted { version: i64 },
    /// The pace changed since the caller read it.
    Stale(StoredPace),
    /// Every place in flight is taken; the first lease ends in this long.
    Busy(Duration),
    /// A told rate limit asks to wait this long.
    Wait(Duration),
}

/// What a lease renewal came to.
#[derive(Debug, PartialEq)]
pub(super) enum Renewal {
    Held,
    /// Redis had lost it (a restart) and there was room to take it again.
    Retaken,
    /// Redis had lost it and someone else holds the gate now.
    Lost,
}

/// The keys of one namespace. All share one hash tag, so that a script's
/// keys live on one node of a Redis Cluster.
struct Keys {
    lease: String,
    pace: String,
    cells: Vec<String>,
}

/// One namespace's shared state in one Redis.
pub(super) struct Store {
    client: Client,
    address: Arc<str>,
    timeout: Duration,
    connection: OnceLock<ConnectionManager>,
    keys: Keys,
    /// Spacing (µs) and burst of each told rate's cell.
    cells: Vec<(u64, u32)>,
}

impl Store {
    pub(super) fn new(
        client: Client,
        address: Arc<str>,
        namespace: &str,
        timeout: Duration,
        cells: Vec<(u64, u32)>,
    ) -> Self {
        let prefix = format!("ultracart-conversation:{{{namespace}}}");
        let keys = Keys {
            lease: format!("{prefix}:lease"),
            pace: format!("{prefix}:pace"),
            // Named by their parameters, so that processes told different
            // limits keep different cells instead of corrupting one.
            cells: cells
                .iter()
                .map(|(spacing, burst)| format!("{prefix}:rate:{spacing}:{burst}"))
                .collect(),
        };
        Self {
            client,
            address,
            timeout,
            connection: OnceLock::new(),
            keys,
            cells,
        }
    }

    /// Where Redis is, for messages (no credentials).
    pub(super) fn address(&self) -> &str {
        &self.address
    }

    /// How long a call waits for Redis.
    pub(super) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The connection, opened lazily on first use. The manager reconnects
    /// by itself after a failure; its own retries are few and short, since
    /// the callers decide how long to wait for Redis.
    fn connection(&self) -> Result<ConnectionManager, RedisError> {
        if let Some(connection) = self.connection.get() {
            return Ok(connection.clone());
        }
        if self.address.starts_with("rediss:") {
            super::tls::install_crypto_provider();
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(Duration::from_millis(100));
        let manager = ConnectionManager::new_lazy_with_config(self.client.clone(), config)?;
        Ok(self.connection.get_or_init(|| manager).clone())
    }

    async fn run(&self, invocation: &redis::ScriptInvocation<'_>) -> Result<Reply, RedisError> {
        let mut connection = self.connection()?;
        // The manager's timeouts cover connecting and a command one by
        // one; this bounds both together.
        match tokio::time::timeout(self.timeout, invocation.invoke_async(&mut connection)).await {
            Ok(reply) => reply,
            Err(_) => Err(RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "Redis did not answer in time",
            ))),
        }
    }

    pub(super) async fn admit(
        &self,
        token: &str,
        lease_ttl: Duration,
        max_in_flight: usize,
        pace_version: i64,
        new_pace: Option<&str>,
    ) -> Result<(RedisTime, Admit), RedisError> {
        let mut invocation = ADMIT.prepare_invoke();
        invocation.key(&self.keys.lease).key(&self.keys.pace);
        for cell in &self.keys.cells {
            invocation.key(cell);
        }
        invocation
            .arg(token)
            .arg(millis(lease_ttl))
            .arg(max_in_flight)
            .arg(pace_version)
            .arg(new_pace.unwrap_or(""))
            .arg(millis(PACE_TTL));
        for (spacing, burst) in &self.cells {
            invocation.arg(spacing).arg(burst);
        }
        let (word, now, number, text) = self.run(&invocation).await?;
        let micros = || Duration::from_micros(u64::try_from(number).unwrap_or(0));
        let admit = match word.as_str() {
            "ok" => Admit::Granted { version: number },
            "stale" => Admit::Stale(StoredPace {
                version: number,
                json: text,
            }),
            "busy" => Admit::Busy(micros()),
            "wait" => Admit::Wait(micros()),
            other => return Err(unexpected(other)),
        };
        Ok((RedisTime::from_micros(now), admit))
    }

    /// Records the new pace computed from `pace_version` and frees the
    /// lease; or, if the pace changed meanwhile, frees nothing and returns
    /// the current pace to compute from.
    pub(super) async fn finish(
        &self,
        token: &str,
        pace_version: i64,
        new_pace: Option<&str>,
    ) -> Result<(RedisTime, Result<i64, StoredPace>), RedisError> {
        let mut invocation = FINISH.prepare_invoke();
        invocation
            .key(&self.keys.lease)
            .key(&self.keys.pace)
            .arg(token)
            .arg(pace_version)
            .arg(new_pace.unwrap_or(""))
            .arg(millis(PACE_TTL));
        let (word, now, number, text) = self.run(&invocation).await?;
        let outcome = match word.as_str() {
            "ok" => Ok(number),
            "stale" => Err(StoredPace {
                version: number,
                json: text,
            }),
            other => return Err(unexpected(other)),
        };
        Ok((RedisTime::from_micros(now), outcome))
    }

    pub(super) async fn renew(
        &self,
        token: &str,
        lease_ttl: Duration,
        max_in_flight: usize,
    ) -> Result<Renewal, RedisError> {
        let mut invocation = RENEW.prepare_invoke();
        invocation
            .key(&self.keys.lease)
            .arg(token)
            .arg(millis(lease_ttl))
            .arg(max_in_flight);
        let (word, ..) = self.run(&invocation).await?;
        match word.as_str() {
            "held" => Ok(Renewal::Held),
            "retaken" => Ok(Renewal::Retaken),
            "lost" => Ok(Renewal::Lost),
            other => Err(unexpected(other)),
        }
    }

    pub(super) async fn release(&self, token: &str) -> Result<(), RedisError> {
        let mut invocation = RELEASE.prepare_invoke();
        invocation.key(&self.keys.lease).arg(token);
        self.run(&invocation).await.map(drop)
    }

    pub(super) async fn read(&self) -> Result<(RedisTime, StoredPace), RedisError> {
        let mut invocation = READ.prepare_invoke();
        invocation.key(&self.keys.pace);
        let (_, now, version, json) = self.run(&invocation).await?;
        Ok((RedisTime::from_micros(now), StoredPace { version, json }))
    }

    /// The error a caller gets for `cause`: it names Redis and where it
    /// is, never a password.
    pub(super) fn unavailable(&self, cause: RedisError) -> Error {
        let retryable = super::admission::may_come_back(&cause);
        let what = if retryable {
            "did not answer"
        } else {
            "refused the client"
        };
        Error::SharedLimits {
            message: format!("Redis at {} {what}", self.address),
            retryable,
            source: Some(Box::new(cause)),
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn unexpected(word: &str) -> RedisError {
    RedisError::from(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("a shared-limits script answered {word:?}"),
    ))
}
