use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::time::Instant;

use super::{RedisServer, lease_on_own_redis, plumbing, taken};
use crate::redis::{Lease, Renewal};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewals_report_each_outcome_and_acting_stops_before_the_lease_can_run_out() {
    let mut server = RedisServer::start();
    let redis = plumbing(&server.url(), "renewed", Duration::from_millis(200));
    let ttl = Duration::from_millis(900);
    let margin = Duration::from_millis(300);
    let lease = Lease::new(&redis, "leader", ttl, 1).fenced();
    let mut holder = lease.holder();
    let taken_at = Instant::now();
    assert_eq!(taken(&mut holder).await, Some(1));
    let heard = Arc::new(Mutex::new(Vec::new()));
    let renewing = holder.renewing(taken_at, Some(1), margin, {
        let heard = Arc::clone(&heard);
        move |outcome| heard.lock().unwrap().push(outcome.clone().ok())
    });
    let mut standing = renewing.standing();

    standing.changed().await.unwrap();
    assert!(matches!(standing.borrow().last, Some(Ok(Renewal::Held))));
    assert!(standing.borrow().may_act());

    // Redis goes away: renewals fail, and acting stops at the last
    // successful renewal + ttl - margin, before the lease can run out.
    server.kill();
    let last_held = Instant::now();
    let until = standing.borrow().acting_until().unwrap();
    assert!(until <= last_held + (ttl - margin));
    standing.changed().await.unwrap();
    assert!(matches!(standing.borrow().last, Some(Err(_))));
    tokio::time::sleep_until(until).await;
    assert!(!standing.borrow().may_act());

    // Back, empty: the renewal takes the lease again under a new epoch (the
    // old one went with Redis's data), and the holder hears of it.
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !standing.borrow().may_act() {
        assert!(Instant::now() < deadline, "never retaken");
        standing.changed().await.unwrap();
    }
    assert_eq!(standing.borrow().epoch, Some(1));
    assert!(matches!(
        standing.borrow().last,
        Some(Ok(Renewal::Retaken { epoch: Some(1) }))
    ));
    renewing.stop().await;
    assert!(heard.lock().unwrap().contains(&Some(Renewal::Held)));
    assert!(
        heard
            .lock()
            .unwrap()
            .contains(&Some(Renewal::Retaken { epoch: Some(1) }))
    );
}

#[tokio::test]
async fn a_holder_that_lost_its_lease_to_another_may_not_act() {
    let (server, lease) = lease_on_own_redis("lost", Duration::from_millis(600), 1);
    let lease = lease.fenced();
    let (mut first, mut second) = (lease.holder(), lease.holder());
    // The first holder's hold vanishes (Redis lost it) and the second takes
    // the lease before the first one's renewal asks.
    assert_eq!(taken(&mut first).await, Some(1));
    server.cli(&["DEL", lease.key()]);
    assert_eq!(taken(&mut second).await, Some(2));
    let renewing = first.renewing(Instant::now(), Some(1), Duration::ZERO, |_| {});
    let mut standing = renewing.standing();
    assert!(standing.borrow().may_act());
    standing.changed().await.unwrap();
    assert!(matches!(standing.borrow().last, Some(Ok(Renewal::Lost))));
    assert!(!standing.borrow().may_act());
    assert_eq!(standing.borrow().epoch, Some(1));
}
