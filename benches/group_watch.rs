//! A watch shared by a group of replicas, measured with real member
//! processes (this binary run again), a real `redis-server` of its own and
//! a local inbox that changes on a schedule the benchmark keeps:
//!
//! - requests an hour to UltraCart for 1, 3 and 10 members at the default
//!   period, against as many plain watches;
//! - change-to-delivery latency (median, p99) at the default period and at
//!   200 ms;
//! - the gap after the leader is killed with SIGKILL, at the default lease
//!   and at 2 s.
//!
//! ```text
//! cargo bench --bench group_watch --features mock,redis            # everything (about 8 minutes)
//! cargo bench --bench group_watch --features mock,redis -- quick   # shorter runs, rougher figures
//! ```

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use futures::TryStreamExt;
use ultracart_conversation::{Client, SharedLimits, Watch, WatchGroup};

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use common::{
    inbox::{ChangingInbox, Ties},
    redis_server::RedisServer,
};

fn unix_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

fn main() {
    if std::env::var("UC_BENCH_MEMBER").is_ok() {
        return member();
    }
    let quick = std::env::args().any(|a| a == "quick");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(measure(quick));
}

/// One member: follows the group as the environment says, and prints a
/// line for each change it is handed, when it is handed it.
fn member() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let var = |name: &str| std::env::var(name).unwrap();
        let millis = |name: &str| Duration::from_millis(var(name).parse().unwrap());
        let client = client(&var("UC_BENCH_INBOX"), &var("UC_BENCH_REDIS"));
        let watch = client
            .conversations()
            .watch()
            .every(millis("UC_BENCH_EVERY_MS"));
        let solo = std::env::var("UC_BENCH_SOLO").is_ok();
        if solo {
            let mut watch: Watch = watch;
            while let Ok(Some(change)) = watch.try_next().await {
                report(change.summary());
            }
            return;
        }
        let group = WatchGroup::new("bench")
            .unwrap()
            .member(&var("UC_BENCH_MEMBER"))
            .leader_ttl(millis("UC_BENCH_TTL_MS"));
        let mut inbox = watch.group(group);
        while let Ok(Some(delivery)) = inbox.try_next().await {
            report(delivery.change().summary());
            let _ = delivery.ack().await;
        }
    });
}

fn report(summary: &ultracart_conversation::types::ConversationSummary) {
    let second = summary
        .last_message_dts
        .as_ref()
        .and_then(|t| t.utc())
        .map_or(0, |t| t.timestamp());
    println!(
        "delivered {} {second} {}",
        summary.conversation_uuid.as_deref().unwrap_or("?"),
        unix_ms()
    );
}

fn client(inbox: &str, redis: &str) -> Client {
    Client::builder()
        .api_key("bench-key")
        .base_url(inbox)
        .shared_limits(SharedLimits::redis(redis).unwrap().namespace("bench"))
        .build()
        .unwrap()
}

/// Member processes and the deliveries they report.
struct Members {
    children: Vec<Child>,
    delivered: Arc<Mutex<Vec<(String, i64, u128)>>>,
}

impl Members {
    fn start(
        n: usize,
        inbox: &ChangingInbox,
        redis: &RedisServer,
        every: Duration,
        ttl: Duration,
        solo: bool,
    ) -> Self {
        let delivered = Arc::new(Mutex::new(Vec::new()));
        let children = (0..n)
            .map(|i| {
                let mut command = Command::new(std::env::current_exe().unwrap());
                command
                    .env("UC_BENCH_MEMBER", format!("member-{i}"))
                    .env("UC_BENCH_INBOX", inbox.server.base_url())
                    .env("UC_BENCH_REDIS", redis.url())
                    .env("UC_BENCH_EVERY_MS", every.as_millis().to_string())
                    .env("UC_BENCH_TTL_MS", ttl.as_millis().to_string())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null());
                if solo {
                    command.env("UC_BENCH_SOLO", "1");
                }
                let mut child = command.spawn().unwrap();
                let stdout = child.stdout.take().unwrap();
                let delivered = delivered.clone();
                std::thread::spawn(move || {
                    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                        let parts: Vec<_> = line.split(' ').collect();
                        if let ["delivered", uuid, second, at] = parts[..] {
                            delivered.lock().unwrap().push((
                                uuid.to_string(),
                                second.parse().unwrap_or(0),
                                at.parse().unwrap_or(0),
                            ));
                        }
                    }
                });
                child
            })
            .collect();
        Self {
            children,
            delivered,
        }
    }

    fn kill(&mut self, index: usize) {
        let _ = self.children[index].kill();
        let _ = self.children[index].wait();
    }
}

impl Drop for Members {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Touches a random conversation every `every` until `until`, and returns
/// when each (conversation, second) was first touched.
async fn change_inbox(
    inbox: &ChangingInbox,
    every: Duration,
    run: Duration,
) -> HashMap<(String, i64), u128> {
    let mut touched = HashMap::new();
    let started = Instant::now();
    let uuids = inbox.uuids();
    while started.elapsed() < run {
        let uuid = uuids[fastrand::usize(..uuids.len())].clone();
        let at = unix_ms();
        inbox.touch(&uuid);
        let second = (at / 1_000) as i64;
        touched.entry((uuid, second)).or_insert(at);
        tokio::time::sleep(every).await;
    }
    touched
}

fn percentile(sorted: &[u128], p: f64) -> u128 {
    if sorted.is_empty() {
        return 0;
    }
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at]
}

async fn measure(quick: bool) {
    let scale = if quick { 0.25 } else { 1.0 };
    let secs = |s: f64| Duration::from_secs_f64(s * scale);
    let default_period = Watch::DEFAULT_PERIOD;
    let default_ttl = Duration::from_secs(15);

    println!("## Requests an hour to UltraCart (inbox changing once a second)");
    println!("| members | one group (measured) | as many plain watches (measured) |");
    println!("|---|---|---|");
    for n in [1, 3, 10] {
        let mut per_hour = Vec::new();
        for solo in [false, true] {
            let redis = RedisServer::start();
            let inbox = ChangingInbox::start(200, Ties::Recency).await;
            let members = Members::start(n, &inbox, &redis, default_period, default_ttl, solo);
            let run = secs(72.0);
            tokio::time::sleep(Duration::from_secs(1)).await;
            let before = inbox.listing_requests();
            change_inbox(&inbox, Duration::from_secs(1), run).await;
            let requests = inbox.listing_requests() - before;
            per_hour.push(requests as f64 * 3_600.0 / run.as_secs_f64());
            drop(members);
        }
        println!("| {n} | {:.0} | {:.0} |", per_hour[0], per_hour[1]);
    }

    println!();
    println!("## Change to delivery (3 members, a change every 700 ms)");
    println!("| period | deliveries | median | p99 |");
    println!("|---|---|---|---|");
    for every in [default_period, Duration::from_millis(200)] {
        let redis = RedisServer::start();
        let inbox = ChangingInbox::start(200, Ties::Recency).await;
        let members = Members::start(3, &inbox, &redis, every, default_ttl, false);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let touched = change_inbox(&inbox, Duration::from_millis(700), secs(60.0)).await;
        tokio::time::sleep(every + Duration::from_secs(2)).await;
        let mut latencies: Vec<u128> = members
            .delivered
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(uuid, second, at)| {
                touched
                    .get(&(uuid.clone(), *second))
                    .map(|touched_at| at.saturating_sub(*touched_at))
            })
            .collect();
        latencies.sort_unstable();
        println!(
            "| {every:?} | {} | {} ms | {} ms |",
            latencies.len(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        );
    }

    println!();
    println!(
        "## The gap after the leader is killed (3 members, 200 ms period, a change every 300 ms)"
    );
    println!("| leader lease | from the kill to the next delivery of a later change |");
    println!("|---|---|");
    for ttl in [default_ttl, Duration::from_secs(2)] {
        let redis = RedisServer::start();
        let inbox = ChangingInbox::start(200, Ties::Recency).await;
        let mut members = Members::start(3, &inbox, &redis, Duration::from_millis(200), ttl, false);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let leader = leader_index(&redis, &members);
        let changing = change_inbox(
            &inbox,
            Duration::from_millis(300),
            ttl + secs(10.0).max(Duration::from_secs(6)),
        );
        let kill = async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let killed_at = unix_ms();
            members.kill(leader);
            killed_at
        };
        let (_, killed_at) = tokio::join!(changing, kill);
        let next = members
            .delivered
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, second, at)| *at > killed_at && (*second as u128) * 1_000 >= killed_at)
            .map(|(_, _, at)| *at)
            .min();
        match next {
            Some(at) => println!("| {ttl:?} | {} ms |", at - killed_at),
            None => println!("| {ttl:?} | none within the run |"),
        }
    }
}

/// Which member process holds the leader lease (its token starts with the
/// process id).
fn leader_index(redis: &RedisServer, members: &Members) -> usize {
    let key = "ultracart-conversation:{bench}:group:bench:leader";
    loop {
        let holders = redis.cli(&["ZRANGE", key, "0", "-1"]);
        if let Some(pid) = holders
            .lines()
            .next()
            .and_then(|t| t.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
            && let Some(index) = members.children.iter().position(|c| c.id() == pid)
        {
            return index;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
