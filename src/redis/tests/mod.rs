//! The plumbing against a real `redis-server` of each test's own (the
//! integration tests' helper; a missing `redis-server` fails the test and
//! says how to install it).

mod connection;
mod lease;
mod renewal;

use std::time::Duration;

use super::Redis;
use crate::SharedLimits;

#[allow(dead_code)]
#[path = "../../../tests/common/redis_server.rs"]
mod redis_server;

pub(super) use redis_server::RedisServer;

/// The plumbing of a client in `namespace` of the Redis at `url`, that
/// waits `timeout` for Redis.
pub(super) fn plumbing(url: &str, namespace: &str, timeout: Duration) -> Redis {
    SharedLimits::redis(url)
        .and_then(|limits| {
            limits
                .namespace(namespace)
                .redis_timeout(timeout)
                .plumbing("https://h.test", None)
        })
        .expect("test plumbing")
}
