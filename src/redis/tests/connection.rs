use std::time::Duration;

use super::RedisServer;
use crate::{
    SharedLimits,
    redis::{Lease, Take},
};

#[tokio::test]
async fn the_shared_limits_and_another_lease_share_one_connection() {
    let server = RedisServer::start();
    let limits = SharedLimits::redis(&server.url())
        .unwrap()
        .namespace("one-connection");
    let redis = limits.plumbing("https://h.test", None).unwrap();
    let admission = limits.admission_on(&redis, 1, None).unwrap();
    admission.ready().await.unwrap();
    let leader = Lease::new(&redis, "leader", Duration::from_secs(5), 1).fenced();
    let mut holder = leader.holder();
    assert_eq!(
        holder.take(Duration::from_secs(1)).await.unwrap(),
        Take::Taken { epoch: Some(1) }
    );
    // Every connection but the one redis-cli opens to ask.
    let clients = server.cli(&["CLIENT", "LIST"]).lines().count() - 1;
    assert_eq!(clients, 1, "{}", server.cli(&["CLIENT", "LIST"]));
}
