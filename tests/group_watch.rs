//! A watch shared by a group of replicas, over real HTTP and a real
//! `redis-server` of each test's own: one poller whatever the number of
//! members, each change to one member, nothing lost when the leader or a
//! member dies, and Redis restarted with and without persistence.

use std::{
    collections::{HashMap, HashSet},
    io::Write,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
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

/// A group as the in-process tests run it: a 2 s leader lease, and changes
/// handed on after `claim_after`.
fn in_process_group(name: &str, claim_after: Duration) -> WatchGroup {
    WatchGroup::new(name)
        .unwrap()
        .leader_ttl(Duration::from_secs(2))
        .claim_after(claim_after)
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
    spawn_member_that(client, name, group, every, handling, Finish::Ack, log)
}

/// What a member does with a change once it has handled it.
#[derive(Clone, Copy, PartialEq)]
enum Finish {
    Ack,
    /// Drops it unacked, as a handler that gave up would.
    Drop,
}

fn spawn_member_that(
    client: Client,
    name: &str,
    group: WatchGroup,
    every: Duration,
    handling: Duration,
    finish: Finish,
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
            match finish {
                Finish::Ack => delivery.ack().await?,
                Finish::Drop => drop(delivery),
            }
            log.lock().unwrap().push(handled);
        }
        Ok(())
    })
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
            let group = in_process_group("desk", Duration::from_secs(3));
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
    wait_for_group_start(&redis, "desk");
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
    let requests = inbox.listing_requests();
    eprintln!(
        "{} changes made, {} handled {by_member:?}, {requests} listing requests",
        inbox.changes().len(),
        handled.len()
    );
    assert!(requests <= 40, "{requests} listing requests");
    assert_eq!(inbox.server.max_in_flight(), 1);
}

/// A member keeps each change past the claim time and then acks it, or
/// drops it: the change has gone to another member meanwhile, and what the
/// first member does then must not let the conversation out to a third
/// while the claimant works on it.
async fn a_change_claimed_from_a_slow_member_stays_with_the_claimant(finish: Finish) {
    let redis = RedisServer::start();
    let inbox = ChangingInbox::start(20, Ties::Recency).await;
    let log = Arc::new(Mutex::new(Vec::new()));
    let members: Vec<_> = [
        ("slow", 1_500, finish),
        ("b", 700, Finish::Ack),
        ("c", 700, Finish::Ack),
    ]
    .into_iter()
    .map(|(name, handling, finish)| {
        let group = in_process_group("desk", Duration::from_secs(1));
        spawn_member_that(
            member_client(&inbox, &redis.url()),
            name,
            group,
            Duration::from_millis(200),
            Duration::from_millis(handling),
            finish,
            log.clone(),
        )
    })
    .collect();
    wait_for_group_start(&redis, "desk");
    let hot = inbox.uuids()[0].clone();
    // A change of one conversation every 1.1 s, each in a second of its own:
    // while one is in hand the next waits its turn. Whoever asks first gets
    // a change, so it goes on until the slow member has had three taken
    // from it (about nine changes; at most forty).
    let claimed_from_slow = || {
        log.lock()
            .unwrap()
            .iter()
            .filter(|h| h.uuid == hot && h.member != "slow" && h.attempt > 1)
            .count()
    };
    for _ in 0..40 {
        inbox.touch(&hot);
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        if claimed_from_slow() >= 3 {
            break;
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    for member in &members {
        member.abort();
    }
    let handled = log.lock().unwrap().clone();
    // The slow member works on past its claim time, as a stuck handler
    // would; the others never do, so no two of theirs may overlap.
    let mut spans: Vec<_> = handled
        .iter()
        .filter(|h| h.uuid == hot && h.member != "slow")
        .collect();
    spans.sort_by_key(|h| h.began);
    let claimed = spans.iter().filter(|h| h.attempt > 1).count();
    eprintln!(
        "{} handled, {} of the hot conversation by b and c, {claimed} of them claimed",
        handled.len(),
        spans.len()
    );
    assert!(claimed > 0, "no change was claimed from the slow member");
    for pair in spans.windows(2) {
        assert!(
            pair[1].began >= pair[0].ended,
            "{hot} in the hands of {} (its change at {}, attempt {}) and {} (at {}, attempt {}) at once",
            pair[0].member,
            pair[0].second,
            pair[0].attempt,
            pair[1].member,
            pair[1].second,
            pair[1].attempt
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_ack_of_a_change_claimed_since_leaves_the_conversation_with_the_claimant() {
    a_change_claimed_from_a_slow_member_stays_with_the_claimant(Finish::Ack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_dropped_after_another_member_claimed_it_stays_with_the_claimant() {
    a_change_claimed_from_a_slow_member_stays_with_the_claimant(Finish::Drop).await;
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

// ---------------------------------------------------------------------------
// Members as real processes: this test binary run again, one member each.

/// The test that, run in a process of its own, is one member.
const WORKER: &str = "group_member_process";

fn unix_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// One member in a process of its own: follows the group as the
/// `UC_GROUP_*` variables say, and writes a line to its log as it begins
/// and as it has acked each change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by the multi-process tests as a member of their group"]
async fn group_member_process() {
    let Ok(inbox) = std::env::var("UC_GROUP_INBOX") else {
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap();
    let millis = |name: &str| Duration::from_millis(var(name).parse().unwrap());
    let member = var("UC_GROUP_MEMBER");
    let client = builder_at(inbox)
        .shared_limits(
            SharedLimits::redis(&var("UC_GROUP_REDIS"))
                .unwrap()
                .namespace("group-tests"),
        )
        .build()
        .unwrap();
    let group = WatchGroup::new(&var("UC_GROUP_NAME"))
        .unwrap()
        .member(&member)
        .leader_ttl(millis("UC_GROUP_TTL_MS"))
        .claim_after(millis("UC_GROUP_CLAIM_MS"));
    let handling = millis("UC_GROUP_HANDLING_MS");
    // One conversation every member handles slowly, if the test names one.
    let slow_uuid = std::env::var("UC_GROUP_SLOW_UUID").ok();
    let slow_handling = std::env::var("UC_GROUP_SLOW_MS")
        .map(|ms| Duration::from_millis(ms.parse().unwrap()))
        .unwrap_or(handling);
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(var("UC_GROUP_LOG"))
        .unwrap();
    let mut line = |what: &str, rest: &str| {
        // One write per line, straight to the file: a SIGKILL loses none.
        log.write_all(format!("{what} {member} {rest} {}\n", unix_ms()).as_bytes())
            .unwrap();
    };
    let mut watch = client
        .conversations()
        .watch()
        .every(millis("UC_GROUP_EVERY_MS"))
        .group(group);
    loop {
        match watch.try_next().await {
            Ok(Some(delivery)) => {
                let change = delivery.change();
                let rest = format!(
                    "{} {} {}",
                    change.summary().conversation_uuid.as_deref().unwrap(),
                    second_of(change),
                    delivery.attempt()
                );
                line("begin", &rest);
                let uuid = change.summary().conversation_uuid.as_deref();
                let slow = slow_uuid.is_some() && uuid == slow_uuid.as_deref();
                tokio::time::sleep(if slow { slow_handling } else { handling }).await;
                match delivery.ack().await {
                    Ok(()) => line("end", &rest),
                    Err(error) => line("error", &error.to_string().replace(' ', "_")),
                }
            }
            Ok(None) => return,
            Err(error) => line("error", &error.to_string().replace(' ', "_")),
        }
    }
}

/// One change a member began, and when it acked it (never, if it died
/// holding it).
#[derive(Clone, Debug)]
struct Record {
    member: String,
    uuid: String,
    second: i64,
    attempt: u32,
    began: u128,
    ended: Option<u128>,
}

/// Members of one group, each a process.
struct Members {
    log: PathBuf,
    children: Vec<(String, Child)>,
}

impl Members {
    fn new(name: &str) -> Self {
        let log = std::env::temp_dir().join(format!("uc-group-{}-{name}.log", std::process::id()));
        let _ = std::fs::remove_file(&log);
        Self {
            log,
            children: Vec::new(),
        }
    }

    /// Starts a member taking `handling` over each change.
    fn start(
        &mut self,
        member: &str,
        inbox: &ChangingInbox,
        redis_url: &str,
        handling: Duration,
        settings: &[(&str, &str)],
    ) {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["--ignored", "--exact", WORKER, "--nocapture"])
            .env("UC_GROUP_INBOX", inbox.server.base_url())
            .env("UC_GROUP_REDIS", redis_url)
            .env("UC_GROUP_MEMBER", member)
            .env("UC_GROUP_LOG", &self.log)
            .env("UC_GROUP_HANDLING_MS", handling.as_millis().to_string())
            .env("UC_GROUP_NAME", "desk")
            .env("UC_GROUP_TTL_MS", "2000")
            .env("UC_GROUP_CLAIM_MS", "3000")
            .env("UC_GROUP_EVERY_MS", "200")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (name, value) in settings {
            command.env(name, value);
        }
        self.children
            .push((member.to_string(), command.spawn().unwrap()));
    }

    fn pid(&self, member: &str) -> u32 {
        self.children
            .iter()
            .find(|(name, _)| name == member)
            .map(|(_, child)| child.id())
            .unwrap()
    }

    /// SIGKILL: no destructor, no release of anything it holds.
    fn kill(&mut self, member: &str) {
        if let Some((_, child)) = self.children.iter_mut().find(|(name, _)| name == member) {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    fn records(&self) -> Vec<Record> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut records: Vec<Record> = Vec::new();
        for line in text.lines() {
            let parts: Vec<&str> = line.split(' ').collect();
            match parts[..] {
                ["begin", member, uuid, second, attempt, at] => records.push(Record {
                    member: member.to_string(),
                    uuid: uuid.to_string(),
                    second: second.parse().unwrap(),
                    attempt: attempt.parse().unwrap(),
                    began: at.parse().unwrap(),
                    ended: None,
                }),
                ["end", member, uuid, second, attempt, at] => {
                    let record = records
                        .iter_mut()
                        .rev()
                        .find(|r| {
                            r.member == member
                                && r.uuid == uuid
                                && r.second.to_string() == second
                                && r.attempt.to_string() == attempt
                        })
                        .expect("an end after its begin");
                    record.ended = Some(at.parse().unwrap());
                }
                ["error", member, ref message @ ..] => {
                    panic!("{member} met an error: {}", message.join(" "))
                }
                _ => panic!("a log line of another shape: {line}"),
            }
        }
        records
    }
}

impl Drop for Members {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Every change made before `made_before` was handled, in its state or a
/// later one; a change handled more than once was one a killed member
/// began and never acked (`killed`), handed out again.
fn assert_every_change_once(
    inbox: &ChangingInbox,
    records: &[Record],
    made_before: i64,
    killed: &[&str],
) {
    let mut latest: HashMap<&str, i64> = HashMap::new();
    let mut handled: HashMap<(&str, i64), Vec<&Record>> = HashMap::new();
    for r in records {
        let newest = latest.entry(&r.uuid).or_insert(r.second);
        *newest = (*newest).max(r.second);
        handled.entry((&r.uuid, r.second)).or_default().push(r);
    }
    for ((uuid, second), times) in &handled {
        if times.len() > 1 {
            let abandoned = times
                .iter()
                .filter(|r| r.ended.is_none() && killed.contains(&r.member.as_str()))
                .count();
            assert_eq!(
                times.len(),
                abandoned + 1,
                "{uuid} at {second} handled {} times: {times:?}",
                times.len()
            );
        }
    }
    for (uuid, second) in inbox.changes() {
        if second < made_before {
            let got = latest.get(uuid.as_str()).copied();
            assert!(
                got.is_some_and(|got| got >= second),
                "the change of {uuid} at {second} was never handled (latest {got:?})"
            );
        }
    }
}

/// Waits until the group has its starting point in Redis: a watch that
/// starts from the newest changes counts what changed before its first read
/// as existing, not as a change.
fn wait_for_group_start(redis: &RedisServer, group: &str) {
    let key = format!("ultracart-conversation:{{group-tests}}:group:{group}:bookmark");
    for _ in 0..1_000 {
        if !redis.cli(&["HGET", &key, "bookmark"]).is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the group never started");
}

/// The pid in the leader lease's token (`<pid>-<random>`), once there is a
/// leader.
fn leader_pid(redis: &RedisServer) -> u32 {
    let key = "ultracart-conversation:{group-tests}:group:desk:leader";
    for _ in 0..500 {
        let holders = redis.cli(&["ZRANGE", key, "0", "-1"]);
        if let Some(pid) = holders
            .lines()
            .next()
            .and_then(|token| token.split('-').next())
            .and_then(|pid| pid.parse().ok())
        {
            return pid;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("no leader");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_member_processes_share_the_work_a_slow_one_takes_less_and_no_conversation_is_in_two_hands()
 {
    let redis = RedisServer::start();
    let inbox = ChangingInbox::start(60, Ties::Recency).await;
    let mut members = Members::new("three");
    // Every member takes 2 s over the hot conversation, which changes
    // every 1.3 s: without holding its next change back, two members
    // would have it at once.
    let hot = [
        ("UC_GROUP_SLOW_UUID", "conv-hot"),
        ("UC_GROUP_SLOW_MS", "2000"),
    ];
    members.start(
        "slow",
        &inbox,
        &redis.url(),
        Duration::from_millis(2_500),
        &hot,
    );
    for fast in ["fast-1", "fast-2"] {
        members.start(fast, &inbox, &redis.url(), Duration::from_millis(500), &hot);
    }
    wait_for_group_start(&redis, "desk");
    let started = Instant::now();
    inbox.start_changing(3);
    let mut next_hot = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        // Hot for 6 s: the backlog of 2 s handlings behind it drains by
        // the end.
        if Instant::now() >= next_hot && started.elapsed() < Duration::from_secs(6) {
            inbox.touch("conv-hot");
            next_hot += Duration::from_millis(1_300);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let made_before = now_second() - 1;
    inbox.stop_changing();
    let polled_for = started.elapsed();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let records = members.records();
    let requests = inbox.listing_requests();
    let by_member: HashMap<&str, usize> = records.iter().fold(HashMap::new(), |mut m, r| {
        *m.entry(r.member.as_str()).or_default() += 1;
        m
    });
    eprintln!(
        "{} changes, {} handled {by_member:?}, {requests} listing requests in {polled_for:?}",
        inbox.changes().len(),
        records.len()
    );
    assert_every_change_once(&inbox, &records, made_before, &[]);
    let hot: Vec<_> = records.iter().filter(|r| r.uuid == "conv-hot").collect();
    assert!(
        hot.len() >= 5,
        "the hot conversation was handled {} times",
        hot.len()
    );
    let mut spans: Vec<_> = hot.iter().map(|r| (r.began, r.ended.unwrap())).collect();
    spans.sort();
    for pair in spans.windows(2) {
        assert!(
            pair[1].0 >= pair[0].1,
            "the hot conversation in two hands at once: {pair:?}"
        );
    }
    for fast in ["fast-1", "fast-2"] {
        assert!(
            by_member.get(fast).copied().unwrap_or(0) * 5 >= records.len(),
            "{fast} got less than a fifth: {by_member:?}"
        );
    }
    // One watch polling every 200 ms (and once more after a poll of several
    // pages) over the whole run, a few polls of slack for the start.
    let one_watch = (started.elapsed().as_millis() / 200) as usize;
    assert!(
        requests * 10 <= one_watch * 13,
        "{requests} listing requests, one watch's would be about {one_watch}"
    );
    assert_eq!(inbox.server.max_in_flight(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_killed_then_a_member_holding_a_change_lose_nothing_and_repeat_only_the_held_change()
 {
    let redis = RedisServer::start();
    let inbox = ChangingInbox::start(60, Ties::Recency).await;
    let mut members = Members::new("kills");
    for member in ["m-1", "m-2", "m-3"] {
        members.start(
            member,
            &inbox,
            &redis.url(),
            Duration::from_millis(300),
            &[],
        );
    }
    members.start("holder", &inbox, &redis.url(), Duration::from_secs(60), &[]);
    wait_for_group_start(&redis, "desk");
    let leader = leader_pid(&redis);
    inbox.start_changing(3);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let leader = ["m-1", "m-2", "m-3", "holder"]
        .into_iter()
        .find(|m| members.pid(m) == leader)
        .unwrap();
    members.kill(leader);
    let leader_killed_at = unix_ms();
    // The holder sits on whatever it is handed: kill it once it holds one.
    let mut killed = vec![leader];
    if leader != "holder" {
        while !members.records().iter().any(|r| r.member == "holder") {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        members.kill("holder");
        killed.push("holder");
    }
    tokio::time::sleep(Duration::from_secs(6)).await;
    let made_before = now_second() - 1;
    inbox.stop_changing();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let records = members.records();
    assert_every_change_once(&inbox, &records, made_before, &killed);
    // What a killed member held went to a survivor, one attempt later.
    for held in records
        .iter()
        .filter(|r| r.ended.is_none() && killed.contains(&r.member.as_str()))
    {
        assert!(
            records.iter().any(|r| r.uuid == held.uuid
                && r.second == held.second
                && r.attempt > held.attempt
                && r.ended.is_some()),
            "{held:?} was not handed out again"
        );
    }
    assert!(
        records.iter().any(|r| r.attempt >= 2),
        "nothing was handed out again"
    );
    // No long silence: the group took over, and the held change moved.
    let mut begins: Vec<_> = records
        .iter()
        .filter(|r| r.began >= leader_killed_at.saturating_sub(2_000))
        .map(|r| r.began)
        .collect();
    begins.sort();
    let longest = begins.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    eprintln!(
        "{} handled, longest gap {longest} ms after the leader was killed",
        records.len()
    );
    assert!(longest <= 4_500, "a gap of {longest} ms between deliveries");
}

/// Members in this process, each a task, their handled changes and any
/// error their stream or an ack met.
struct InProcess {
    log: Arc<Mutex<Vec<Handled>>>,
    tasks: Vec<tokio::task::JoinHandle<Result<(), Error>>>,
}

impl InProcess {
    fn start(inbox: &ChangingInbox, redis_url: &str, group: &str, names: &[&str]) -> Self {
        let log = Arc::new(Mutex::new(Vec::new()));
        let tasks = names
            .iter()
            .map(|name| {
                let group = in_process_group(group, Duration::from_secs(3));
                spawn_member(
                    member_client(inbox, redis_url),
                    name,
                    group,
                    Duration::from_millis(200),
                    Duration::from_millis(50),
                    log.clone(),
                )
            })
            .collect();
        Self { log, tasks }
    }

    /// Stops the members; fails the test if any met an error.
    async fn stop(self) -> Vec<Handled> {
        for task in &self.tasks {
            if task.is_finished() {
                continue;
            }
            task.abort();
        }
        for task in self.tasks {
            match task.await {
                Ok(outcome) => outcome.expect("a member's stream or ack failed"),
                Err(join) => assert!(join.is_cancelled(), "{join}"),
            }
        }
        self.log.lock().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_and_started_again_with_its_append_only_file_loses_nothing_and_errs_nowhere()
{
    let mut redis = RedisServer::persistent();
    let inbox = ChangingInbox::start(40, Ties::Recency).await;
    let members = InProcess::start(&inbox, &redis.url(), "desk", &["a", "b"]);
    wait_for_group_start(&redis, "desk");
    inbox.start_changing(3);
    tokio::time::sleep(Duration::from_secs(4)).await;
    redis.shutdown();
    tokio::time::sleep(Duration::from_secs(1)).await;
    redis.restart();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let made_before = now_second() - 1;
    inbox.stop_changing();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let handled = members.stop().await;
    eprintln!(
        "{} changes, {} handled",
        inbox.changes().len(),
        handled.len()
    );
    assert_each_change_once(&inbox, &handled, made_before);
    assert_never_in_two_hands(&handled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_without_persistence_is_made_again_and_the_group_goes_on() {
    let mut redis = RedisServer::start();
    let inbox = ChangingInbox::start(40, Ties::Recency).await;
    let members = InProcess::start(&inbox, &redis.url(), "desk", &["a", "b"]);
    wait_for_group_start(&redis, "desk");
    inbox.start_changing(3);
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Everything Redis held is gone: the stream, its group, the bookmark.
    let killed = now_second();
    redis.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    redis.restart();
    let requests_at_restart = inbox.listing_requests();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let made_before = now_second() - 1;
    inbox.stop_changing();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let handled = members.stop().await;
    // What changed from the moment Redis went is handed out: the group goes
    // on from the furthest its members knew it reached, not from the
    // newest. What was appended and not acked before it went is documented
    // as lost.
    let after: Vec<_> = inbox
        .changes()
        .into_iter()
        .filter(|(_, second)| *second > killed && *second < made_before)
        .collect();
    assert!(!after.is_empty());
    for (uuid, second) in after {
        assert!(
            handled.iter().any(|h| h.uuid == uuid && h.second >= second),
            "the change of {uuid} at {second}, after Redis went at {killed}, was never handled"
        );
    }
    // No hot loop on the lost group: about one watch's polls.
    let since = inbox.listing_requests() - requests_at_restart;
    assert!(
        since <= 50,
        "{since} listing requests in 7 s after the restart"
    );
    assert!(
        redis
            .cli(&[
                "XLEN",
                "ultracart-conversation:{group-tests}:group:desk:changes"
            ])
            .parse::<u32>()
            .unwrap()
            > 0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_never_acked_is_dead_lettered_after_max_deliveries_and_never_handed_out_again() {
    let redis = RedisServer::start();
    let inbox = ChangingInbox::start(10, Ties::Recency).await;
    let client = member_client(&inbox, &redis.url());
    let group = WatchGroup::new("poison")
        .unwrap()
        .member("only")
        .claim_after(Duration::from_millis(200))
        .max_deliveries(3);
    let mut watch = client
        .conversations()
        .watch()
        .every(Duration::from_millis(100))
        .group(group);
    // The group starts from the newest second: then the poison arrives.
    let first = tokio::spawn(async move {
        let mut attempts = Vec::new();
        while let Ok(Some(delivery)) =
            tokio::time::timeout(Duration::from_secs(3), watch.try_next())
                .await
                .map(|d| d.unwrap())
        {
            let uuid = delivery
                .change()
                .summary()
                .conversation_uuid
                .clone()
                .unwrap();
            if uuid == "conv-poison" {
                attempts.push(delivery.attempt());
                // Dropped unacked: the handler "crashed".
                drop(delivery);
            } else {
                delivery.ack().await.unwrap();
            }
        }
        attempts
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    inbox.touch("conv-poison");
    let attempts = first.await.unwrap();
    assert_eq!(attempts, [1, 2, 3], "handed out three times, then never");
    let dead = redis.cli(&[
        "XRANGE",
        "ultracart-conversation:{group-tests}:group:poison:dead",
        "-",
        "+",
    ]);
    assert!(dead.contains("conv-poison"), "{dead}");
    assert_eq!(
        redis.cli(&[
            "XLEN",
            "ultracart-conversation:{group-tests}:group:poison:dead"
        ]),
        "1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_groups_on_one_redis_never_see_each_others_changes() {
    let redis = RedisServer::start();
    let one = ChangingInbox::start_named(20, Ties::Recency, "one").await;
    let two = ChangingInbox::start_named(20, Ties::Recency, "two").await;
    let first = InProcess::start(&one, &redis.url(), "first", &["a", "b"]);
    let second = InProcess::start(&two, &redis.url(), "second", &["a", "b"]);
    wait_for_group_start(&redis, "first");
    wait_for_group_start(&redis, "second");
    one.start_changing(3);
    two.start_changing(3);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let made_before = now_second() - 1;
    one.stop_changing();
    two.stop_changing();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (first, second) = (first.stop().await, second.stop().await);
    assert!(first.iter().all(|h| h.uuid.starts_with("one-")));
    assert!(second.iter().all(|h| h.uuid.starts_with("two-")));
    assert_each_change_once(&one, &first, made_before);
    assert_each_change_once(&two, &second, made_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_beside_listings_on_clients_sharing_limits_never_has_two_requests_in_flight() {
    let redis = RedisServer::start();
    let inbox = ChangingInbox::start(450, Ties::Recency).await;
    let members = InProcess::start(&inbox, &redis.url(), "desk", &["a", "b"]);
    inbox.start_changing(5);
    let lister = member_client(&inbox, &redis.url());
    let started = Instant::now();
    let mut listings = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let all: Vec<_> = lister
            .conversations()
            .page_size(100)
            .items()
            .try_collect()
            .await
            .unwrap();
        assert!(all.len() >= 450);
        listings += 1;
    }
    inbox.stop_changing();
    let handled = members.stop().await;
    assert!(listings >= 2 && !handled.is_empty());
    assert_eq!(inbox.server.max_in_flight(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_killed_mid_request_holds_the_group_up_no_longer_than_its_leases() {
    let redis = RedisServer::start();
    let inbox = ChangingInbox::start(60, Ties::Recency).await;
    // A poll's request is in flight long enough to kill the leader there:
    // then both its leader lease (2 s) and its place in the shared gate
    // (the shared limits' lease, 3 s by default) must run out before
    // another member can poll.
    inbox.answer_after(Duration::from_millis(150));
    let mut members = Members::new("mid-request");
    for member in ["m-1", "m-2", "m-3"] {
        members.start(
            member,
            &inbox,
            &redis.url(),
            Duration::from_millis(100),
            &[],
        );
    }
    wait_for_group_start(&redis, "desk");
    let leader = leader_pid(&redis);
    let leader = ["m-1", "m-2", "m-3"]
        .into_iter()
        .find(|m| members.pid(m) == leader)
        .unwrap();
    inbox.start_changing(3);
    tokio::time::sleep(Duration::from_secs(2)).await;
    while inbox.server.in_flight() == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    members.kill(leader);
    let killed_at = unix_ms();
    tokio::time::sleep(Duration::from_secs(7)).await;
    inbox.stop_changing();
    let records = members.records();
    let next = records
        .iter()
        .filter(|r| r.began > killed_at && (r.second as u128) * 1_000 >= killed_at)
        .map(|r| r.began)
        .min()
        .expect("a change made after the kill was handled");
    let gap = next - killed_at;
    eprintln!("the first change made after the kill was handled {gap} ms after it");
    assert!(
        gap <= 4_500,
        "{gap} ms from the kill to the next change handled"
    );
    assert_eq!(inbox.server.max_in_flight(), 1);
}
