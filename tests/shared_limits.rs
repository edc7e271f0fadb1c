//! Limits shared between processes through a real `redis-server`: real
//! child processes (this test binary run again as a worker) listing against
//! one local server that counts requests in flight and runs UltraCart's
//! leaky bucket; a holder killed with SIGKILL mid-request; Redis killed and
//! restarted mid-listing, unreachable, or refusing a wrong password.

mod common;

use std::{
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use common::{
    API_KEY, Page, builder_at,
    captured::Captured,
    redis_server::RedisServer,
    scripted::{Received, Reply, ScriptedServer},
};
use futures::TryStreamExt;
use ultracart_conversation::{Client, OnUnavailable, RateLimit, SharedLimits};

const WORKER: &str = "replica_worker";

/// UltraCart's bucket: holds `capacity`, drains `per_second`; a request
/// that finds it full is answered 429 with a `Retry-After` in whole seconds.
#[derive(Clone)]
struct Bucket(Arc<Mutex<(f64, Instant)>>);

impl Bucket {
    fn new() -> Self {
        Self(Arc::new(Mutex::new((0.0, Instant::now()))))
    }

    fn arrive(&self, capacity: f64, per_second: f64) -> Result<(), u64> {
        let mut state = self.0.lock().unwrap();
        let (level, at) = &mut *state;
        *level = (*level - per_second * at.elapsed().as_secs_f64()).max(0.0);
        *at = Instant::now();
        if *level + 1.0 > capacity + 1e-9 {
            return Err(((*level + 1.0 - capacity) / per_second).ceil() as u64);
        }
        *level += 1.0;
        Ok(())
    }
}

/// A listing of `total` conversations behind a bucket of 5 draining 20 a
/// second, as the issue measured.
async fn bucket_server(total: usize) -> (ScriptedServer, Arc<AtomicUsize>) {
    let bucket = Bucket::new();
    let throttled = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&throttled);
    let server = ScriptedServer::start(move |request: &Received, _| {
        if let Err(retry_after) = bucket.arrive(5.0, 20.0) {
            counted.fetch_add(1, Ordering::SeqCst);
            return Reply::text(429, "Too Many Requests")
                .header("retry-after", &retry_after.to_string());
        }
        listing_page(request, total)
    })
    .await;
    (server, throttled)
}

/// A listing of `total` conversations, each answer `millis` late.
async fn slow_server(total: usize, millis: u64) -> ScriptedServer {
    ScriptedServer::start(move |request: &Received, _| {
        listing_page(request, total).delay(Duration::from_millis(millis))
    })
    .await
}

/// A client of `server` sharing its limits in `namespace` of `redis`.
fn shared_client(server: &ScriptedServer, redis: &RedisServer, namespace: &str) -> Client {
    builder_at(server.base_url())
        .shared_limits(
            SharedLimits::redis(&redis.url())
                .unwrap()
                .namespace(namespace),
        )
        .build()
        .unwrap()
}

/// A client whose limits live in the Redis at `url`, asked for at most
/// `timeout` (the default when `None`).
fn client_at_redis(server: &ScriptedServer, url: &str, timeout: Option<Duration>) -> Client {
    let limits = SharedLimits::redis(url).unwrap();
    let limits = match timeout {
        Some(timeout) => limits.redis_timeout(timeout),
        None => limits,
    };
    builder_at(server.base_url())
        .shared_limits(limits)
        .build()
        .unwrap()
}

fn listing_page(request: &Received, total: usize) -> Reply {
    let offset = request.query_number("_offset").unwrap_or(0).min(total);
    let limit = request.query_number("_limit").unwrap_or(100);
    let count = limit.min(total - offset);
    let page = Page::new(offset, count)
        .limit(limit)
        .total(total)
        .more(offset + count < total)
        .build();
    Reply::json(200, &page)
}

/// Runs this test binary again as a worker process with `env`.
fn spawn_worker(env: &[(&str, String)]) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--ignored",
            "--exact",
            WORKER,
            "--nocapture",
            "--test-threads=1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    command
        .spawn()
        .expect("the test binary runs again as a worker")
}

/// Waits for a worker, at most `limit`, and returns whether it succeeded
/// and what it printed.
fn finish_worker(mut child: Child, limit: Duration) -> (bool, String) {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let output = child.wait_with_output().unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            return (status.success(), text);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("a worker did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The worker: what a replica of a service does. Run only by the tests
/// below, as a child process.
#[tokio::test]
#[ignore = "a child process of the multi-process tests"]
async fn replica_worker() {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let mut limits = SharedLimits::redis(&var("WORKER_REDIS_URL")).unwrap();
    if let Ok(namespace) = std::env::var("WORKER_NAMESPACE") {
        limits = limits.namespace(&namespace);
    }
    let mut builder = Client::builder()
        .api_key(API_KEY)
        .base_url(var("WORKER_BASE_URL"))
        .shared_limits(limits);
    if std::env::var("WORKER_TOLD").is_ok() {
        builder = builder.rate_limit(RateLimit::per_second(20).unwrap().with_burst(5).unwrap());
    }
    let client = builder.build().unwrap();
    match var("WORKER_JOB").as_str() {
        "list" => {
            let items: Vec<_> = client
                .conversations()
                .items()
                .try_collect()
                .await
                .unwrap_or_else(|e| panic!("listing failed: {e}"));
            println!("listed {}", items.len());
        }
        "calls" => {
            for _ in 0..var("WORKER_CALLS").parse::<usize>().unwrap() {
                client
                    .get_conversations(10, 0)
                    .await
                    .unwrap_or_else(|e| panic!("call failed: {e}"));
                println!("call done");
            }
        }
        job => panic!("unknown job {job}"),
    }
}

fn worker_env(
    redis: &RedisServer,
    server: &ScriptedServer,
    job: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("WORKER_REDIS_URL", redis.url()),
        ("WORKER_BASE_URL", server.base_url()),
        ("WORKER_JOB", job.to_string()),
    ]
}

/// Three replicas list 2,000 conversations each at once.
fn three_replicas_list(told: bool) -> (ScriptedServer, usize, Duration) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (server, throttled) = runtime.block_on(bucket_server(2_000));
    let redis = RedisServer::start();
    let mut env = worker_env(&redis, &server, "list");
    if told {
        env.push(("WORKER_TOLD", "1".into()));
    }
    let started = Instant::now();
    let workers: Vec<Child> = (0..3).map(|_| spawn_worker(&env)).collect();
    for worker in workers {
        let (ok, text) = finish_worker(worker, Duration::from_secs(120));
        assert!(ok, "a replica failed:\n{text}");
        assert!(text.contains("listed 2000"), "{text}");
    }
    let took = started.elapsed();
    let throttled = throttled.load(Ordering::SeqCst);
    // The server runs on this runtime: it must outlive the workers.
    drop(runtime);
    (server, throttled, took)
}

#[test]
fn three_replicas_told_the_rate_share_one_gate_and_never_overflow_the_bucket() {
    let (server, throttled, took) = three_replicas_list(true);
    assert_eq!(
        server.max_in_flight(),
        1,
        "two requests were in flight at once"
    );
    assert_eq!(throttled, 0, "429s");
    eprintln!(
        "told: {} requests in {took:?} (floor {:.2} s)",
        server.requests(),
        (server.requests() as f64 - 5.0) / 20.0
    );
}

#[test]
fn three_replicas_not_told_the_rate_share_what_they_learn() {
    let (server, throttled, took) = three_replicas_list(false);
    assert_eq!(
        server.max_in_flight(),
        1,
        "two requests were in flight at once"
    );
    // Three replicas that each learned alone would draw a 429 apiece at
    // least; sharing what they learn, the first 429 teaches the bucket's
    // capacity and the next its drain, for all of them.
    assert!(throttled <= 2, "{throttled} 429s");
    eprintln!(
        "untold: {} requests, {throttled} 429s in {took:?} (floor {:.2} s)",
        server.requests(),
        (server.requests() as f64 - 5.0) / 20.0
    );
}

#[test]
fn a_holder_killed_mid_request_frees_the_gate_when_its_lease_runs_out() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(ScriptedServer::start(|request: &Received, _| {
        listing_page(request, 10).delay(Duration::from_millis(1_500))
    }));
    let redis = RedisServer::start();
    let mut env = worker_env(&redis, &server, "calls");
    env.push(("WORKER_CALLS", "4".into()));

    let mut holder = spawn_worker(&env);
    server.block_until_received(1);
    // Mid-request: UltraCart goes on working on it after its sender died.
    holder.kill().unwrap();
    holder.wait().unwrap();
    runtime.block_on(server.until_abandoned(1));

    let started = Instant::now();
    let (ok, text) = finish_worker(spawn_worker(&env), Duration::from_secs(60));
    let took = started.elapsed();
    assert!(ok, "the next replica failed:\n{text}");
    assert_eq!(text.matches("call done").count(), 4, "{text}");
    assert_eq!(server.abandoned(), 1, "the killed holder's request");
    assert_eq!(
        server.max_in_flight(),
        1,
        "two requests were in flight at once"
    );
    // The next replica's first request came after the work on the killed
    // holder's request was over (its lease ran out later still).
    server.assert_one_at_a_time();
    // 10 s of lease at most, then 4 requests of 1.5 s.
    assert!(took < Duration::from_secs(21), "took {took:?}");
    eprintln!("the next replica finished in {took:?}");
    drop(runtime);
}

fn quick_server_runtime() -> (tokio::runtime::Runtime, ScriptedServer) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(ScriptedServer::start(|request: &Received, _| {
        listing_page(request, 2_000)
    }));
    (runtime, server)
}

#[tokio::test]
async fn redis_unreachable_is_an_error_naming_redis_and_nothing_is_sent() {
    let server = ScriptedServer::start(|request: &Received, _| listing_page(request, 10)).await;
    let dead = {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        format!("redis://:hunter2-TOPSECRET@127.0.0.1:{port}/0")
    };
    let client = client_at_redis(&server, &dead, Some(Duration::from_millis(300)));
    let error = client.get_conversations(10, 0).await.unwrap_err();
    assert!(error.is_shared_limits_unavailable(), "{error:?}");
    assert!(error.is_retryable());
    let shown = format!("{error} | {error:?} | {}", error.report());
    assert!(shown.contains("Redis"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert_eq!(server.requests(), 0);
    // A listing stops with the same error, and still sends nothing.
    let listed: Result<Vec<_>, _> = client.conversations().items().try_collect().await;
    assert!(listed.unwrap_err().is_shared_limits_unavailable());
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn the_raw_client_shares_the_limits_and_refuses_to_send_without_redis() {
    let mut redis = RedisServer::start();
    let server = slow_server(10, 300).await;
    let client = shared_client(&server, &redis, "raw");
    let other = client.clone();
    let (raw, facade) = tokio::join!(
        client.raw().get_conversations().limit(3).send(),
        other.get_conversations(3, 0)
    );
    assert_eq!(raw.unwrap().status(), 200);
    facade.unwrap();
    assert_eq!(server.max_in_flight(), 1);

    redis.kill();
    let error = client
        .raw()
        .get_conversations()
        .limit(3)
        .send()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("Redis"), "{error}");
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn a_wrong_password_is_a_clear_error_without_the_password() {
    let redis = RedisServer::with_password("right-password");
    let server = ScriptedServer::start(|request: &Received, _| listing_page(request, 10)).await;
    let url = format!("redis://:wrong-TOPSECRET@127.0.0.1:{}/0", redis.port());
    let limits = SharedLimits::redis(&url).unwrap();
    assert!(!format!("{limits:?}").contains("TOPSECRET"));
    let client = builder_at(server.base_url())
        .shared_limits(limits)
        .build()
        .unwrap();
    assert!(!format!("{client:?}").contains("TOPSECRET"));
    let started = Instant::now();
    let error = client.get_conversations(10, 0).await.unwrap_err();
    assert!(error.is_shared_limits_unavailable(), "{error:?}");
    assert!(!error.is_retryable(), "a refusal is not waited out");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let shown = format!("{error} | {error:?} | {}", error.report());
    assert!(!shown.contains("TOPSECRET"), "{shown}");
    assert!(shown.contains("Redis"), "{shown}");
    assert_eq!(server.requests(), 0);
    // The right password works.
    let client = client_at_redis(&server, &redis.url(), None);
    client.get_conversations(10, 0).await.unwrap();
}

#[tokio::test]
async fn tls_to_a_redis_that_does_not_speak_it_is_a_clear_error_without_the_password() {
    let redis = RedisServer::start();
    let server = ScriptedServer::start(|request: &Received, _| listing_page(request, 10)).await;
    let url = format!("rediss://:tls-TOPSECRET@127.0.0.1:{}/0", redis.port());
    // Plain Redis waits for the rest of what it takes for a command: the
    // handshake times out, each try within the Redis timeout.
    let client = client_at_redis(&server, &url, Some(Duration::from_millis(500)));
    let started = Instant::now();
    let error = client.get_conversations(10, 0).await.unwrap_err();
    assert!(error.is_shared_limits_unavailable(), "{error:?}");
    let shown = format!("{error} | {error:?} | {}", error.report());
    assert!(shown.contains("rediss://127.0.0.1"), "{shown}");
    assert!(!shown.contains("TOPSECRET"), "{shown}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.requests(), 0);
}

#[test]
fn redis_restarted_mid_listing_sends_nothing_twice_and_leaves_no_lease() {
    let (runtime, server) = quick_server_runtime();
    let mut redis = RedisServer::start();
    let client = shared_client(&server, &redis, "restart");
    let listing = {
        let client = client.clone();
        runtime.spawn(async move {
            let mut items = client.conversations().page_size(50).items();
            let mut uuids = Vec::new();
            while let Some(item) = items.try_next().await.unwrap() {
                uuids.push(item.conversation_uuid.unwrap());
                // Slow enough for the restart to land mid-listing.
                if uuids.len() % 50 == 0 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            uuids
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.requests() < 10 {
        assert!(Instant::now() < deadline, "the listing did not start");
        std::thread::sleep(Duration::from_millis(2));
    }
    redis.kill();
    std::thread::sleep(Duration::from_millis(300));
    redis.restart();
    let uuids = runtime.block_on(listing).unwrap();

    let mut distinct = uuids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(uuids.len(), 2_000);
    assert_eq!(distinct.len(), 2_000);
    // 40 pages and the read at the top: nothing sent twice.
    let offsets: Vec<usize> = server
        .log()
        .iter()
        .filter_map(|r| r.query_number("_offset"))
        .collect();
    assert_eq!(server.requests(), 41, "{offsets:?}");
    assert_eq!(server.max_in_flight(), 1);
    // Whatever the lease was when Redis died, none is left now.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        redis.cli(&["ZCARD", "ultracart-conversation:{restart}:lease"]),
        "0"
    );
    drop(runtime);
}

#[tokio::test]
async fn two_namespaces_on_one_redis_never_block_each_other() {
    let redis = RedisServer::start();
    let slow = || async { slow_server(10, 400).await };
    let client_in =
        |server: &ScriptedServer, namespace: &str| shared_client(server, &redis, namespace);
    let apart = slow().await;
    let (a, b) = (client_in(&apart, "app-a"), client_in(&apart, "app-b"));
    let (first, second) = tokio::join!(a.get_conversations(10, 0), b.get_conversations(10, 0));
    first.unwrap();
    second.unwrap();
    assert_eq!(
        apart.max_in_flight(),
        2,
        "the namespaces waited for each other"
    );

    // Two clients (not clones) in one namespace take turns.
    let together = slow().await;
    let (c, d) = (client_in(&together, "app-c"), client_in(&together, "app-c"));
    let (first, second) = tokio::join!(c.get_conversations(10, 0), d.get_conversations(10, 0));
    first.unwrap();
    second.unwrap();
    assert_eq!(together.max_in_flight(), 1);
}

fn assert_outage_warnings(captured: &Captured, expected: usize) {
    let text = captured.text();
    assert_eq!(
        text.matches("Redis is unreachable").count(),
        expected,
        "{text}"
    );
}

#[tokio::test]
async fn without_redis_the_fallback_policy_goes_on_alone_and_warns_once_per_outage() {
    let server = ScriptedServer::start(|request: &Received, _| listing_page(request, 10)).await;
    let mut redis = RedisServer::start();
    let (captured, _guard) = Captured::warnings();
    let client = builder_at(server.base_url())
        .shared_limits(
            SharedLimits::redis(&redis.url())
                .unwrap()
                .on_unavailable(OnUnavailable::PerProcessLimits),
        )
        .build()
        .unwrap();
    client.get_conversations(10, 0).await.unwrap();
    redis.kill();
    for _ in 0..5 {
        client.get_conversations(10, 0).await.unwrap();
    }
    assert_outage_warnings(&captured, 1);
    // Back, then gone again: a second outage, a second warning.
    redis.restart();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    client.get_conversations(10, 0).await.unwrap();
    redis.kill();
    for _ in 0..3 {
        client.get_conversations(10, 0).await.unwrap();
    }
    assert_outage_warnings(&captured, 2);
    assert_eq!(server.requests(), 10);
    assert_eq!(server.max_in_flight(), 1);
}

fn lease_holders(redis: &RedisServer, namespace: &str) -> String {
    redis.cli(&[
        "ZCARD",
        &format!("ultracart-conversation:{{{namespace}}}:lease"),
    ])
}

/// Waits until no process holds a lease in `namespace`: a lease left
/// behind would hold on for its 10 s, far longer than this waits.
async fn no_lease_left(redis: &RedisServer, namespace: &str) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while lease_holders(redis, namespace) != "0" {
        assert!(Instant::now() < deadline, "a lease was left in {namespace}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_that_leave_early_keep_the_gate_until_answered_and_leave_no_lease() {
    let redis = RedisServer::start();
    let server = slow_server(10, 600).await;
    let client = || shared_client(&server, &redis, "leaving");
    let (first, second, third) = (client(), client(), client());

    // The first caller leaves once UltraCart has its request, and
    // UltraCart still works on it.
    let left = tokio::spawn(async move { first.get_conversations(10, 0).await });
    server.until_received(1).await;
    left.abort();
    assert!(left.await.unwrap_err().is_cancelled());
    // The second leaves while it waits for the gate.
    let waited =
        tokio::time::timeout(Duration::from_millis(100), second.get_conversations(10, 0)).await;
    assert!(waited.is_err());
    assert_eq!(
        server.requests(),
        1,
        "the caller that left while waiting sent nothing"
    );
    // The third goes once the first's request is answered, not a lease
    // later, and never beside it.
    let started = Instant::now();
    third.get_conversations(10, 0).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.requests(), 2);
    assert_eq!(server.max_in_flight(), 1);
    server.assert_one_at_a_time();
    assert_eq!(
        server.abandoned(),
        0,
        "the first's answer was read to its end"
    );
    no_lease_left(&redis, "leaving").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn going_alone_and_back_never_puts_two_requests_in_flight() {
    let mut redis = RedisServer::start();
    redis.kill();
    let server = slow_server(10, 2_000).await;
    let client = builder_at(server.base_url())
        .shared_limits(
            SharedLimits::redis(&redis.url())
                .unwrap()
                .on_unavailable(OnUnavailable::PerProcessLimits),
        )
        .build()
        .unwrap();
    // Alone: Redis is down.
    let alone = tokio::spawn({
        let client = client.clone();
        async move { client.get_conversations(10, 0).await }
    });
    server.until_received(1).await;
    // Past the probe interval (once a second), Redis is back while that
    // request is in flight: the next call goes through Redis, and could
    // overlap it.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    redis.restart();
    assert_eq!(
        (server.requests(), server.in_flight()),
        (1, 1),
        "the request sent alone is still under way when the shared one is made"
    );
    let shared = client.get_conversations(10, 0).await;
    alone.await.unwrap().unwrap();
    shared.unwrap();
    assert_eq!(
        server.max_in_flight(),
        1,
        "the switch let two requests overlap"
    );
    server.assert_one_at_a_time();
}

#[test]
fn an_oauth_client_must_name_its_namespace() {
    let limits = SharedLimits::redis("redis://127.0.0.1:6379").unwrap();
    let error = Client::builder()
        .bearer_token("an-access-token-TOPSECRET")
        .shared_limits(limits.clone())
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("namespace"), "{error}");
    assert!(!error.to_string().contains("TOPSECRET"));
    Client::builder()
        .bearer_token("an-access-token")
        .shared_limits(limits.namespace("support-desk"))
        .build()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_and_a_listing_on_two_clients_sharing_limits_never_overlap() {
    let redis = RedisServer::start();
    let server = slow_server(1_000, 2).await;
    let client = || shared_client(&server, &redis, "watching");
    let (watching, listing) = (client(), client());
    let mut watch = Box::pin(
        watching
            .conversations()
            .watch()
            .every(Duration::from_millis(10)),
    );
    let polls = tokio::spawn(async move {
        // A quiet inbox yields nothing: the watch only polls.
        tokio::time::timeout(Duration::from_secs(3), watch.try_next())
            .await
            .is_err()
    });
    for _ in 0..3 {
        let items: Vec<_> = listing.conversations().items().try_collect().await.unwrap();
        assert_eq!(items.len(), 1_000);
    }
    assert!(polls.await.unwrap(), "a quiet inbox reported a change");
    assert_eq!(server.max_in_flight(), 1);
    assert!(
        server.requests() > 3 * 6 + 3,
        "the watch polled: {}",
        server.requests()
    );
}
