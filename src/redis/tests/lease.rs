use std::time::Duration;

use super::{RedisServer, lease_on_own_redis, taken};
use crate::redis::{Lease, Renewal, Take};

const LIMIT: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_fenced_lease_gets_a_new_epoch_only_when_it_changes_hands() {
    let (_server, lease) = lease_on_own_redis("fenced", Duration::from_secs(10), 1);
    let lease = lease.fenced();
    let (mut first, mut second) = (lease.holder(), lease.holder());

    assert_eq!(taken(&mut first).await, Some(1));
    // Asked again after a lost answer: the same epoch, not a new one.
    assert_eq!(taken(&mut first).await, Some(1));
    assert!(
        matches!(second.take(LIMIT).await.unwrap(), Take::Busy(left) if left > Duration::from_secs(9))
    );
    assert_eq!(lease.renew(first.token()).await.unwrap(), Renewal::Held);
    assert!(lease.is_held_under(first.token(), 1, LIMIT).await.unwrap());

    let first_token = first.token().to_string();
    first.release().await.unwrap();
    assert_eq!(taken(&mut second).await, Some(2));
    assert!(!lease.is_held_under(&first_token, 1, LIMIT).await.unwrap());
    assert!(!lease.is_held_under(second.token(), 1, LIMIT).await.unwrap());
    assert!(lease.is_held_under(second.token(), 2, LIMIT).await.unwrap());
}

#[tokio::test]
async fn a_lease_without_fencing_writes_no_epoch() {
    let (server, lease) = lease_on_own_redis("unfenced", Duration::from_secs(10), 2);
    let mut holder = lease.holder();
    assert_eq!(taken(&mut holder).await, None);
    assert_eq!(lease.renew(holder.token()).await.unwrap(), Renewal::Held);
    assert_eq!(
        server.cli(&["KEYS", "*"]),
        "ultracart-conversation:{unfenced}:leader"
    );
    assert!(!lease.is_held_under(holder.token(), 0, LIMIT).await.unwrap());
}

#[tokio::test]
async fn a_hold_that_ran_out_is_retaken_under_a_new_epoch_or_lost_to_another() {
    let (_server, lease) = lease_on_own_redis("ran-out", Duration::from_millis(300), 1);
    let lease = lease.fenced();
    let (mut first, mut second) = (lease.holder(), lease.holder());
    assert_eq!(taken(&mut first).await, Some(1));

    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(taken(&mut second).await, Some(2));
    assert_eq!(lease.renew(first.token()).await.unwrap(), Renewal::Lost);

    second.release().await.unwrap();
    assert_eq!(
        lease.renew(first.token()).await.unwrap(),
        Renewal::Retaken { epoch: Some(3) }
    );
    assert!(lease.is_held_under(first.token(), 3, LIMIT).await.unwrap());
}

#[tokio::test]
async fn a_holder_dropped_while_it_may_hold_frees_its_place() {
    let (server, lease) = lease_on_own_redis("dropped", Duration::from_secs(10), 1);
    let mut holder = lease.holder();
    assert_eq!(taken(&mut holder).await, None);
    drop(holder);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while server.cli(&["ZCARD", lease.key()]) != "0" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place was not freed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(taken(&mut lease.holder()).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_place_dropped_while_redis_restarts_is_freed_once_it_is_back_not_when_it_runs_out() {
    let mut server = RedisServer::persistent();
    let redis = super::plumbing(&server.url(), "restart", Duration::from_millis(300));
    let lease = Lease::new(&redis, "leader", Duration::from_secs(10), 1);
    let mut first = lease.holder();
    taken(&mut first).await;
    server.shutdown();
    // Dropped while Redis is away: its release cannot reach Redis yet.
    drop(first);
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.restart();
    let mut second = lease.holder();
    let started = std::time::Instant::now();
    loop {
        match second.take(LIMIT).await {
            Ok(Take::Taken { .. }) => break,
            Ok(Take::Busy(_)) | Err(_) => {
                assert!(
                    started.elapsed() < Duration::from_secs(5),
                    "the dropped place still held {:?} after the restart",
                    started.elapsed()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
