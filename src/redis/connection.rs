//! The connection every capability of one client shares: opened on first
//! use, reconnecting by itself, each call bounded in time; and connections
//! of their own for blocking reads.

use std::{
    future::Future,
    io,
    sync::{Arc, Mutex},
    time::Duration,
};

use redis::{
    AsyncConnectionConfig, Client, Cmd, FromRedisValue, RedisError, ScriptInvocation,
    aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection},
};

use crate::Error;

/// One Redis, reached through one multiplexed connection.
pub(crate) struct Connection {
    client: Client,
    /// Where Redis is, for messages: scheme, host, port and database,
    /// never the credentials.
    address: Arc<str>,
    timeout: Duration,
    /// Rebuilt after an error its manager would not recover from by
    /// itself (it reconnects after I/O errors only).
    manager: Mutex<Option<ConnectionManager>>,
}

impl Connection {
    /// A connection to the Redis of `client`, at `address` (for messages),
    /// that waits `timeout` at most to connect and for each answer.
    pub(crate) fn new(client: Client, address: Arc<str>, timeout: Duration) -> Self {
        Self {
            client,
            address,
            timeout,
            manager: Mutex::new(None),
        }
    }

    /// Where Redis is, for messages (no credentials).
    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    /// How long a call waits for Redis.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The shared connection, opened lazily on first use. The manager
    /// reconnects by itself after a failure; its own retries are few and
    /// short, since the callers decide how long to wait for Redis.
    fn manager(&self) -> Result<ConnectionManager, RedisError> {
        let mut slot = self.manager.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(manager) = slot.as_ref() {
            return Ok(manager.clone());
        }
        self.prepare_tls();
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

    fn prepare_tls(&self) {
        if self.address.starts_with("rediss:") {
            crate::net::install_crypto_provider();
        }
    }

    /// Runs a script over the shared connection and reads its reply as a
    /// `T`, within `limit` (at most the connection's timeout).
    pub(crate) async fn run<T: FromRedisValue>(
        &self,
        script: &ScriptInvocation<'_>,
        limit: Duration,
    ) -> Result<T, RedisError> {
        let mut manager = self.manager()?;
        self.bounded(limit, script.invoke_async(&mut manager)).await
    }

    /// Sends one command, as [`run`](Self::run) does a script.
    pub(crate) async fn command<T: FromRedisValue>(
        &self,
        command: &Cmd,
        limit: Duration,
    ) -> Result<T, RedisError> {
        let mut manager = self.manager()?;
        self.bounded(limit, command.query_async(&mut manager)).await
    }

    /// Sends a pipeline, as [`run`](Self::run) does a script.
    #[cfg(test)]
    pub(crate) async fn pipeline<T: FromRedisValue>(
        &self,
        pipeline: &redis::Pipeline,
        limit: Duration,
    ) -> Result<T, RedisError> {
        let mut manager = self.manager()?;
        self.bounded(limit, pipeline.query_async(&mut manager))
            .await
    }

    /// Waits for `reply` within `limit` (at most the connection's timeout).
    /// The manager's timeouts cover connecting and a command one by one;
    /// this bounds both together, and the caller's budget.
    async fn bounded<T>(
        &self,
        limit: Duration,
        reply: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, RedisError> {
        let reply = tokio::time::timeout(limit.min(self.timeout), reply)
            .await
            .unwrap_or_else(|_| Err(timed_out()));
        if let Err(error) = &reply
            && !error.is_io_error()
        {
            *self.manager.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        reply
    }

    /// A connection of its own, for a caller that blocks on it (`XREADGROUP
    /// … BLOCK`, `BLPOP`): on the shared connection a blocked command stalls
    /// every command behind it, and the shared timeout would cut it short.
    /// Each answer may take up to `response_timeout`; connecting takes the
    /// connection's timeout at most. It does not reconnect: a caller whose
    /// connection broke opens another.
    pub(crate) async fn dedicated(
        &self,
        response_timeout: Duration,
    ) -> Result<MultiplexedConnection, RedisError> {
        self.prepare_tls();
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(response_timeout));
        tokio::time::timeout(
            self.timeout,
            self.client
                .get_multiplexed_async_connection_with_config(&config),
        )
        .await
        .unwrap_or_else(|_| Err(timed_out()))
    }

    /// The error a caller gets for `cause`: it names Redis and where it
    /// is, never a password.
    pub(crate) fn unavailable(&self, cause: RedisError) -> Error {
        super::failure::unavailable(&self.address, cause)
    }
}

fn timed_out() -> RedisError {
    RedisError::from(io::Error::new(
        io::ErrorKind::TimedOut,
        "Redis did not answer in time",
    ))
}
