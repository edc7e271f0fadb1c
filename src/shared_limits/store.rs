//! The Redis side: one connection that reconnects by itself, the keys of a
//! namespace, and the scripts that read and change them atomically.

use std::{
    error::Error as _,
    io,
    sync::{Arc, LazyLock, Mutex},
    time::Duration,
};

use redis::{
    Client, ErrorKind, RedisError, RetryMethod, Script,
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
    /// Rebuilt after an error its manager would not recover from by
    /// itself (it reconnects after I/O errors only).
    connection: Mutex<Option<ConnectionManager>>,
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
            connection: Mutex::new(None),
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
        let mut slot = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        if self.address.starts_with("rediss:") {
            crate::net::install_crypto_provider();
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(Duration::from_millis(100));
        let manager = ConnectionManager::new_lazy_with_config(self.client.clone(), config)?;
        *slot = Some(manager.clone());
        Ok(manager)
    }

    /// Runs a script within `limit` (at most the store's timeout).
    async fn run(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
        limit: Duration,
    ) -> Result<Reply, RedisError> {
        let mut connection = self.connection()?;
        // The manager's timeouts cover connecting and a command one by
        // one; this bounds both together, and the caller's budget.
        let reply = match tokio::time::timeout(
            limit.min(self.timeout),
            invocation.invoke_async(&mut connection),
        )
        .await
        {
            Ok(reply) => reply,
            Err(_) => Err(RedisError::from(io::Error::new(
                io::ErrorKind::TimedOut,
                "Redis did not answer in time",
            ))),
        };
        if let Err(error) = &reply
            && !error.is_io_error()
        {
            *self.connection.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        reply
    }

    pub(super) async fn admit(
        &self,
        token: &str,
        lease_ttl: Duration,
        max_in_flight: usize,
        pace_version: i64,
        new_pace: Option<&str>,
        limit: Duration,
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
        let (word, now, number, text) = self.run(&invocation, limit).await?;
        crate::metrics::shared_budget(&self.cells, &word, &text);
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
        let (word, now, number, text) = self.run(&invocation, self.timeout).await?;
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
        // A renewal that waited longer than this would come too late.
        let (word, ..) = self.run(&invocation, lease_ttl / 3).await?;
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
        self.run(&invocation, self.timeout).await.map(drop)
    }

    pub(super) async fn read(
        &self,
        limit: Duration,
    ) -> Result<(RedisTime, StoredPace), RedisError> {
        let mut invocation = READ.prepare_invoke();
        invocation.key(&self.keys.pace);
        let (_, now, version, json) = self.run(&invocation, limit).await?;
        Ok((RedisTime::from_micros(now), StoredPace { version, json }))
    }

    /// The error a caller gets for `cause`: it names Redis and where it
    /// is, never a password.
    pub(super) fn unavailable(&self, cause: RedisError) -> Error {
        let retryable = may_come_back(&cause);
        let what = if cause.kind() == ErrorKind::AuthenticationFailed {
            "refused the credentials in the URL"
        } else if io_kind(&cause) == Some(io::ErrorKind::InvalidData) {
            "could not be spoken to (is it TLS where the URL says plain, or the reverse?)"
        } else if retryable {
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

/// Whether Redis may answer if asked again: it is unreachable, slow,
/// restarting (`LOADING`) or failing over, rather than refusing (a wrong
/// password, a TLS error, a script error).
pub(super) fn may_come_back(error: &RedisError) -> bool {
    if error.kind() == ErrorKind::AuthenticationFailed {
        return false;
    }
    if error.is_connection_refusal() || error.is_connection_dropped() || error.is_timeout() {
        return true;
    }
    if error.is_io_error() {
        // rustls reports a TLS mismatch as invalid data.
        return io_kind(error) != Some(io::ErrorKind::InvalidData);
    }
    matches!(
        error.retry_method(),
        RetryMethod::WaitAndRetry | RetryMethod::RetryImmediately | RetryMethod::Reconnect
    )
}

fn io_kind(error: &RedisError) -> Option<io::ErrorKind> {
    error
        .source()
        .and_then(|source| source.downcast_ref::<io::Error>())
        .map(io::Error::kind)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn unexpected(word: &str) -> RedisError {
    RedisError::from(io::Error::new(
        io::ErrorKind::InvalidData,
        format!("a shared-limits script answered {word:?}"),
    ))
}
