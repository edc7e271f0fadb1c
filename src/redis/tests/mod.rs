//! The plumbing against a real `redis-server` of each test's own (the
//! integration tests' helper; a missing `redis-server` fails the test and
//! says how to install it).

mod connection;
mod lease;
mod renewal;

use std::time::Duration;

use super::{Holder, Lease, Redis, Take};
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

/// A lease of `capacity` places held `ttl` each, in `namespace` of a Redis
/// of its own.
pub(super) fn lease_on_own_redis(
    namespace: &str,
    ttl: Duration,
    capacity: usize,
) -> (RedisServer, Lease) {
    let server = RedisServer::start();
    let redis = plumbing(&server.url(), namespace, Duration::from_secs(1));
    (server, Lease::new(&redis, "leader", ttl, capacity))
}

/// Takes a place for `holder`, which must get one, and says under which
/// epoch.
pub(super) async fn taken(holder: &mut Holder) -> Option<u64> {
    match holder.take(Duration::from_secs(1)).await {
        Ok(Take::Taken { epoch }) => epoch,
        other => panic!("not taken: {other:?}"),
    }
}
