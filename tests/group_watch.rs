//! A watch shared by a group of replicas, over real HTTP and a real
//! `redis-server` of each test's own: one poller whatever the number of
//! members, each change to one member, nothing lost when the leader or a
//! member dies, and Redis restarted with and without persistence.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

mod common;

use common::{
    builder_at,
    inbox::{ChangingInbox, Ties, now_second},
    redis_server::RedisServer,
};
use futures::TryStreamExt;
use ultracart_conversation::{Client, Error, SharedLimits, WatchGroup};

/// A member's client: its limits, and the group, in `redis`.
fn member_client(inbox: &ChangingInbox, redis_url: &str) -> Client {
    builder_at(inbox.server.base_url())
        .shared_limits(
            SharedLimits::redis(redis_url)
                .unwrap()
                .namespace("group-tests"),
        )
        .build()
        .unwrap()
}

/// What one member did with one change.
#[derive(Clone, Debug)]
struct Handled {
    member: String,
    uuid: String,
    second: i64,
    attempt: u32,
    began: Instant,
    ended: Instant,
}

fn second_of(change: &ultracart_conversation::Change) -> i64 {
    let dts = change.summary().last_message_dts.as_ref().unwrap();
    dts.utc().unwrap().timestamp()
}

/// Runs a member in this process until dropped: each change is handled for
/// `handling`, recorded, then acked.
fn spawn_member(
    client: Client,
    name: &str,
    group: WatchGroup,
    every: Duration,
    handling: Duration,
    log: Arc<Mutex<Vec<Handled>>>,
) -> tokio::task::JoinHandle<Result<(), Error>> {
    let name = name.to_string();
    let group = group.member(&name);
    tokio::spawn(async move {
        let mut inbox = client.conversations().watch().every(every).group(group);
        while let Some(delivery) = inbox.try_next().await? {
            let began = Instant::now();
            tokio::time::sleep(handling).await;
            let handled = Handled {
                member: name.clone(),
                uuid: delivery
                    .change()
                    .summary()
                    .conversation_uuid
                    .clone()
                    .unwrap(),
                second: second_of(delivery.change()),
                attempt: delivery.attempt(),
                began,
                ended: Instant::now(),
            };
            delivery.ack().await?;
            log.lock().unwrap().push(handled);
        }
        Ok(())
    })
}

fn listing_requests(inbox: &ChangingInbox) -> usize {
    inbox
        .server
        .log()
        .iter()
        .filter(|r| r.query("_limit").is_some())
        .count()
}

/// Every change made at least `settle` before `until` was handled, in its
/// state or a later one; and no change was handled twice, but those handed
/// out again (attempt 2 or more).
fn assert_each_change_once(inbox: &ChangingInbox, handled: &[Handled], made_before: i64) {
    let mut latest: HashMap<&str, i64> = HashMap::new();
    let mut once = HashSet::new();
    for h in handled {
        let newest = latest.entry(&h.uuid).or_insert(h.second);
        *newest = (*newest).max(h.second);
        if h.attempt == 1 {
            assert!(
                once.insert((h.uuid.clone(), h.second)),
                "{} at {} handled twice at attempt 1",
                h.uuid,
                h.second
            );
        }
    }
    for (uuid, second) in inbox.changes() {
        if second < made_before {
            let got = latest.get(uuid.as_str()).copied();
            assert!(
                got.is_some_and(|got| got >= second),
                "the change of {uuid} at {second} was not handled (latest {got:?})"
            );
        }
    }
}

/// No conversation was in two members' hands at once (but a change handed
/// out again after its claim time, whose first holder may still work).
fn assert_never_in_two_hands(handled: &[Handled]) {
    let mut by_uuid: HashMap<&str, Vec<&Handled>> = HashMap::new();
    for h in handled.iter().filter(|h| h.attempt == 1) {
        by_uuid.entry(&h.uuid).or_default().push(h);
    }
    for (uuid, mut spans) in by_uuid {
        spans.sort_by_key(|h| h.began);
        for pair in spans.windows(2) {
            assert!(
                pair[1].began >= pair[0].ended,
                "{uuid} in the hands of {} and {} at once",
                pair[0].member,
                pair[1].member
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_in_one_process_share_the_work_and_poll_as_one() {
    let redis = RedisServer::start();
    let inbox = ChangingInbox::start(50, Ties::Recency).await;
    let log = Arc::new(Mutex::new(Vec::new()));
    let every = Duration::from_millis(200);
    let members: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|name| {
            let group = WatchGroup::new("desk")
                .unwrap()
                .leader_ttl(Duration::from_secs(2))
                .claim_after(Duration::from_secs(3));
            spawn_member(
                member_client(&inbox, &redis.url()),
                name,
                group,
                every,
                Duration::from_millis(50),
                log.clone(),
            )
        })
        .collect();
    // Let the group start before the inbox moves.
    tokio::time::sleep(Duration::from_millis(600)).await;
    inbox.start_changing(5);
    let running = Duration::from_secs(4);
    tokio::time::sleep(running).await;
    let made_before = now_second() - 1;
    inbox.stop_changing();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    for member in &members {
        member.abort();
    }
    let handled = log.lock().unwrap().clone();
    assert_each_change_once(&inbox, &handled, made_before);
    assert_never_in_two_hands(&handled);
    let by_member: HashMap<_, usize> = handled.iter().fold(HashMap::new(), |mut m, h| {
        *m.entry(h.member.clone()).or_default() += 1;
        m
    });
    assert_eq!(by_member.len(), 3, "every member got work: {by_member:?}");
    // One watch polling every 200 ms for ~6 s sends ~30 requests.
    let requests = listing_requests(&inbox);
    eprintln!(
        "{} changes made, {} handled {by_member:?}, {requests} listing requests",
        inbox.changes().len(),
        handled.len()
    );
    assert!(requests <= 40, "{requests} listing requests");
    assert_eq!(inbox.server.max_in_flight(), 1);
}

#[tokio::test]
async fn redis_unreachable_at_start_is_an_error_naming_redis_and_nothing_is_sent() {
    let inbox = ChangingInbox::start(5, Ties::Recency).await;
    let dead = format!(
        "redis://127.0.0.1:{}/0",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let client = builder_at(inbox.server.base_url())
        .shared_limits(
            SharedLimits::redis(&dead)
                .unwrap()
                .namespace("n")
                .redis_timeout(Duration::from_millis(300)),
        )
        .build()
        .unwrap();
    let mut watch = client
        .conversations()
        .watch()
        .every(Duration::from_millis(10))
        .group(WatchGroup::new("desk").unwrap());
    let error = watch.try_next().await.unwrap_err();
    assert!(error.to_string().contains("Redis"), "{error}");
    assert!(matches!(error, Error::SharedLimits { .. }), "{error:?}");
    assert!(
        watch.try_next().await.unwrap().is_none(),
        "the stream ended"
    );
    assert_eq!(inbox.server.requests(), 0);
}

#[tokio::test]
async fn a_client_without_shared_limits_is_told_what_a_group_needs() {
    let inbox = ChangingInbox::start(5, Ties::Recency).await;
    let client = builder_at(inbox.server.base_url()).build().unwrap();
    let mut watch = client
        .conversations()
        .watch()
        .group(WatchGroup::new("desk").unwrap());
    let error = watch.try_next().await.unwrap_err();
    assert!(matches!(error, Error::Config { .. }), "{error:?}");
    assert!(error.to_string().contains("shared_limits"), "{error}");
    assert_eq!(inbox.server.requests(), 0);
}
