//! The pace shared through Redis keeps what a 429 taught, even when an
//! admission's reply is lost on the way back, or another process changes
//! the pace under every try to record an answer. A proxy in front of a real
//! `redis-server` loses the reply, or runs the other process's write first.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use common::{
    API_KEY, Page,
    captured::Captured,
    redis_server::{RedisProxy, RedisServer, Step},
    scripted::{Received, Reply, ScriptedServer},
};
use ultracart_conversation::{Client, Error, RetryPolicy, SharedLimits};

/// The pause a 429 asks for in these tests: far longer than a client here
/// waits, so that a held-back call is refused at once.
const PAUSE_SECONDS: u64 = 30;

/// Answers the first request 429 with a long `Retry-After`, the rest 200.
async fn throttles_first() -> ScriptedServer {
    ScriptedServer::start(|_: &Received, index| {
        if index == 0 {
            Reply::text(429, "Too Many Requests").header("retry-after", &PAUSE_SECONDS.to_string())
        } else {
            Reply::json(200, &Page::new(0, 1).limit(10).total(1).more(false).build())
        }
    })
    .await
}

/// A client of `server` sharing its limits in `namespace` of the Redis at
/// `redis_url`: two requests in flight, no retries, and a call refused at
/// once if the pace would hold it back longer than half a second.
fn client(server: &ScriptedServer, redis_url: &str, namespace: &str) -> Client {
    Client::builder()
        .api_key(API_KEY)
        .base_url(server.base_url())
        .max_in_flight(2)
        .retry_policy(RetryPolicy::disabled().with_max_retry_wait(Duration::from_millis(500)))
        .shared_limits(
            SharedLimits::redis(redis_url)
                .unwrap()
                .namespace(namespace)
                .redis_timeout(Duration::from_secs(5)),
        )
        .build()
        .unwrap()
}

/// A script call with `keys` keys and `args` arguments whose first two keys
/// are a namespace's lease and pace: admission (`keys` 2, `args` 6) and the
/// record of an answer (`keys` 2, `args` 4), with no told rates.
fn is_script(command: &[String], keys: usize, args: usize) -> bool {
    command
        .first()
        .is_some_and(|name| name.eq_ignore_ascii_case("evalsha"))
        && command.get(2).is_some_and(|n| *n == keys.to_string())
        && command.get(3).is_some_and(|key| key.ends_with(":lease"))
        && command.get(4).is_some_and(|key| key.ends_with(":pace"))
        && command.len() == 3 + keys + args
}

fn is_admit(command: &[String]) -> bool {
    is_script(command, 2, 6)
}

fn is_finish(command: &[String]) -> bool {
    is_script(command, 2, 4)
}

fn pace_key(namespace: &str) -> String {
    format!("ultracart-conversation:{{{namespace}}}:pace")
}

/// Another process's change of the pace record: a new version.
fn bump(namespace: &str) -> Step {
    Step::Before(vec![
        "HINCRBY".into(),
        pace_key(namespace),
        "v".into(),
        "1".into(),
    ])
}

/// Calls through `client`, which UltraCart answers 429.
async fn assert_throttled(client: &Client) {
    let error = client.get_conversations(10, 0).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(429), "{error:?}");
}

/// Asserts that a new client, anywhere, is held back by the 429's pause:
/// refused at once, with nothing sent.
async fn assert_paused(server: &ScriptedServer, redis: &RedisServer, namespace: &str) {
    let sent = server.requests();
    let error = client(server, &redis.url(), namespace)
        .get_conversations(10, 0)
        .await
        .expect_err("the 429's pause was lost: the next request went out");
    assert!(matches!(error, Error::RateLimited { .. }), "{error:?}");
    assert_eq!(server.requests(), sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_admission_keeps_the_pause_another_process_wrote_meanwhile() {
    let redis = RedisServer::start();
    let server = throttles_first().await;
    let namespace = "lost-reply";
    let proxy = RedisProxy::start(redis.port(), |command| {
        if is_admit(command) {
            Step::LoseReply
        } else {
            Step::Forward
        }
    })
    .await;

    // Redis admits this client, but the reply never reaches it.
    let unlucky = client(&server, &proxy.url(), namespace);
    let admitted = tokio::spawn(async move { unlucky.get_conversations(10, 0).await });
    proxy.reply_lost().await;
    // Meanwhile another process is answered 429, and pauses everyone.
    assert_throttled(&client(&server, &redis.url(), namespace)).await;
    // The connection breaks; the client asks again with the same token.
    proxy.release();
    admitted.await.unwrap().unwrap();
    assert_eq!(server.requests(), 2);

    assert_paused(&server, &redis, namespace).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_recorded_while_the_pace_keeps_changing_is_tried_again_past_eight_times() {
    let redis = RedisServer::start();
    let server = throttles_first().await;
    let namespace = "busy-pace";
    let finishes = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&finishes);
    let proxy = RedisProxy::start(redis.port(), move |command| {
        // The first twelve tries to record an answer each find a newer pace.
        if is_finish(command) && counted.fetch_add(1, Ordering::SeqCst) < 12 {
            bump(namespace)
        } else {
            Step::Forward
        }
    })
    .await;

    assert_throttled(&client(&server, &proxy.url(), namespace)).await;
    assert_paused(&server, &redis, namespace).await;
    // Twelve stale tries (the first of them loads the script), then one
    // that lands.
    assert_eq!(finishes.load(Ordering::SeqCst), 13);
}

#[tokio::test]
async fn a_429_that_cannot_be_recorded_is_warned_about_by_name() {
    let redis = RedisServer::start();
    let server = throttles_first().await;
    let namespace = "restless-pace";
    let proxy = RedisProxy::start(redis.port(), move |command| {
        if is_finish(command) {
            bump(namespace)
        } else {
            Step::Forward
        }
    })
    .await;
    let (captured, _guard) = Captured::warnings();

    assert_throttled(&client(&server, &proxy.url(), namespace)).await;

    let text = captured.text();
    let warning = text
        .lines()
        .find(|line| line.contains("WARN") && line.contains("429"))
        .unwrap_or_else(|| panic!("no warning names the lost 429:\n{text}"));
    assert!(warning.contains(&format!("{PAUSE_SECONDS}s")), "{warning}");
    // Its lease is freed all the same.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        redis.cli(&[
            "ZCARD",
            &format!("ultracart-conversation:{{{namespace}}}:lease")
        ]),
        "0"
    );
}
