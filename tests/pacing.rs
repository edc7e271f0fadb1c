//! Pacing against UltraCart's leaky bucket over real HTTP: a 429 holds back
//! every clone, a client told the rate never overflows the bucket, and one
//! that is not told learns it. Precise figures come from
//! `cargo run --release --example live_account`; these tests bound counts,
//! and time only loosely.

mod common;

use std::time::{Duration, Instant};

use common::scripted::{Reply, ScriptedServer};
use futures::{FutureExt, TryStreamExt};
use ultracart_conversation::{Client, Error, RateLimit, mock::DemoServer};

/// 30 pages of 20: the listing, against a bucket that holds 5 and
/// drains 20 a second.
async fn throttled_demo() -> DemoServer {
    DemoServer::builder()
        .conversations(600)
        .rate_limiter(5, 20.0)
        .start()
        .await
}

fn client_of(demo: &DemoServer, rate: Option<RateLimit>) -> Client {
    let builder = Client::builder()
        .api_key(DemoServer::API_KEY)
        .base_url(demo.base_url());
    match rate {
        Some(rate) => builder.rate_limit(rate),
        None => builder,
    }
    .build()
    .unwrap()
}

async fn list(client: &Client) -> usize {
    let items: Vec<_> = client
        .conversations()
        .page_size(20)
        .items()
        .try_collect()
        .await
        .unwrap();
    items.len()
}

#[tokio::test]
async fn a_client_told_the_servers_rate_never_overflows_its_bucket() {
    let demo = throttled_demo().await;
    let rate = RateLimit::per_second(20).unwrap().with_burst(5).unwrap();
    let client = client_of(&demo, Some(rate));

    let started = Instant::now();
    assert_eq!(list(&client).await, 600);

    assert_eq!(demo.throttled_count(), 0);
    assert_eq!(client.pacing().throttled(), 0);
    // 31 requests, 5 at once then 20 a second: 1.3 s at the least.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_default_client_learns_the_rate_from_few_429s() {
    let demo = throttled_demo().await;
    let client = client_of(&demo, None);

    let started = Instant::now();
    assert_eq!(list(&client).await, 600);

    let throttled = demo.throttled_count();
    assert!((1..=4).contains(&throttled), "{throttled} 429s");
    let pacing = client.pacing();
    assert_eq!(pacing.throttled(), throttled as u64);
    let rate = pacing.requests_per_second().expect("a pace was learned");
    assert!(rate > 5.0 && rate < 40.0, "learned {rate} a second");
    assert_eq!(pacing.capacity(), Some(5.0));
    assert!(format!("{client:?}").contains("requests_per_second"));
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}

/// Waits until `client` has taken in a 429's `Retry-After`.
async fn told_to_wait(client: &Client) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.pacing().paused_for().is_zero() {
        assert!(Instant::now() < deadline, "no 429 reached the client");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test]
async fn a_429_holds_back_every_clone_until_its_retry_after() {
    let api = ScriptedServer::start(|_, index| match index {
        0 => Reply::text(429, "slow down").header("retry-after", "1"),
        _ => Reply::json(200, &common::bodies::conversation("c")),
    })
    .await;
    let client = common::builder_at(api.base_url()).build().unwrap();
    let other = client.clone();

    let first = tokio::spawn(async move { client.get_conversation("c").await });
    told_to_wait(&other).await;
    let second = other.get_conversation("c").await;
    first.await.unwrap().unwrap();
    second.unwrap();

    let log = api.log();
    assert_eq!(log.len(), 3);
    for later in &log[1..] {
        let gap = later.at - log[0].at;
        assert!(
            gap >= Duration::from_millis(950),
            "a request went after {gap:?}"
        );
    }
}

#[tokio::test]
async fn a_caller_cancelled_while_held_back_sends_nothing_and_holds_nothing() {
    let api = ScriptedServer::start(|_, index| match index {
        0 => Reply::text(429, "slow down").header("retry-after", "1"),
        _ => Reply::json(200, &common::bodies::conversation("c")),
    })
    .await;
    let client = common::builder_at(api.base_url()).build().unwrap();
    let first = {
        let client = client.clone();
        tokio::spawn(async move { client.get_conversation("c").await })
    };
    told_to_wait(&client).await;

    // Held back by the Retry-After, then given up by its caller.
    let given_up =
        tokio::time::timeout(Duration::from_millis(200), client.get_conversation("c")).await;
    assert!(given_up.is_err(), "the call was still held back");
    let after = tokio::time::timeout(Duration::from_secs(5), client.get_conversation("c"))
        .await
        .expect("the given-up call left no slot taken");
    first.await.unwrap().unwrap();
    after.unwrap();

    let log = api.log();
    assert_eq!(log.len(), 3, "the cancelled caller sent nothing");
    for later in &log[1..] {
        let gap = later.at - log[0].at;
        assert!(
            gap >= Duration::from_millis(950),
            "a request went after {gap:?}"
        );
    }
    assert_eq!(api.max_in_flight(), 1);
}

#[tokio::test]
async fn a_retry_after_longer_than_the_client_waits_refuses_calls_at_once() {
    let api =
        ScriptedServer::start(|_, _| Reply::text(429, "slow down").header("retry-after", "120"))
            .await;
    let client = common::builder_at(api.base_url()).build().unwrap();

    let first = client.get_conversation("c").await.unwrap_err();
    assert_eq!(first.retry_after(), Some(Duration::from_secs(120)));
    // At once: the call is refused on its first poll, before it waits for
    // anything (no clock involved).
    let other = client.clone();
    let second = other
        .get_conversation("c")
        .now_or_never()
        .expect("refused without waiting")
        .unwrap_err();

    assert!(matches!(second, Error::RateLimited { .. }), "{second:?}");
    assert!(second.is_rate_limited() && second.is_retryable());
    assert!(second.retry_after().unwrap() > Duration::from_secs(110));
    assert_eq!(api.requests(), 1, "the second call sent nothing");
    assert!(client.pacing().paused_for() > Duration::from_secs(110));
}

#[tokio::test]
async fn the_learned_pace_recovers_when_the_server_allows_more() {
    let demo = throttled_demo().await;
    let client = client_of(&demo, None);
    list(&client).await;
    let learned = client.pacing().requests_per_second().unwrap();

    // UltraCart raises the limit tenfold; the client keeps working, and
    // after a stretch without 429s it goes faster than it learned. (How far
    // and how soon it climbs is the unit tests' business, on a simulated
    // clock: src/http/pacing/learned.rs.) It stops as soon as the pace
    // grows; ten seconds without growth fail it.
    demo.set_rate_limiter(Some((50, 200.0)));
    let throttled = demo.throttled_count();
    let started = Instant::now();
    let grown = loop {
        client.get_conversations(1, 0).await.unwrap();
        let now = client.pacing().requests_per_second().unwrap();
        if now > learned {
            break now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still {now:.1} a second after {:?}",
            started.elapsed()
        );
    };

    assert_eq!(demo.throttled_count(), throttled, "no 429 on the way");
    eprintln!(
        "{learned:.1} -> {grown:.1} a second after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_caller_queued_behind_a_long_retry_after_fails_at_once_and_frees_its_slot() {
    let api = ScriptedServer::start(|_, index| match index {
        0 => Reply::text(429, "slow down")
            .header("retry-after", "120")
            .delay(Duration::from_millis(300)),
        _ => Reply::json(200, &common::bodies::conversation("c")),
    })
    .await;
    let client = common::builder_at(api.base_url()).build().unwrap();
    let queued = client.clone();

    let first = tokio::spawn(async move { client.get_conversation("c").await });
    api.until_received(1).await;
    // Queued at the gate while the first request is answered 429.
    let started = Instant::now();
    let second = queued.get_conversation("c").await.unwrap_err();

    assert!(first.await.unwrap().unwrap_err().is_rate_limited());
    assert!(matches!(second, Error::RateLimited { .. }), "{second:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(api.requests(), 1);
}
