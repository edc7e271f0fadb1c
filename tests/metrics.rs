//! The metrics as an operations team sees them: a Prometheus exporter
//! installed in this process and serving on a local port, scraped over
//! real HTTP, every count checked against what the demo servers saw.
//!
//! One test in this binary: a metrics recorder is process-wide.

use std::{
    net::{SocketAddr, TcpListener},
    time::{Duration, Instant},
};

use futures::TryStreamExt;
use metrics_exporter_prometheus::PrometheusBuilder;
use ultracart_conversation::{
    Client, RateLimit, StatusCode,
    mock::{DemoServer, MockServerExt},
    types,
};

/// A listing of 1,500 conversations in pages of 100 by a default client
/// (not told the rate) against a leaky bucket that throttles it, one call
/// answered 410 Gone, a watch on a changing inbox, and a client told
/// UltraCart's hourly and daily budgets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exported_counts_are_what_the_servers_saw() {
    let url = serve_metrics();

    // The listing: what the issue's harness does.
    let bucket = DemoServer::builder()
        .conversations(1_500)
        .rate_limiter(3, 10.0)
        .start()
        .await;
    let gone = bucket.conversation_uuids()[700].clone();
    let gone_mock = bucket
        .override_routes(|server| {
            server.get_conversation(|when, then| {
                when.conversation_uuid(&gone);
                then.gone(&types::ErrorResponse::default());
            })
        })
        .await;
    let client = bucket.client().unwrap();
    let listed: Vec<_> = client
        .conversations()
        .page_size(100)
        .items()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1_500);
    let listing = bucket.request_count() as f64;
    let throttled = bucket.throttled_count() as f64;
    assert!(throttled > 0.0, "the bucket throttled nothing");

    let text = scrape(&url).await;
    assert_eq!(sum(&text, REQUESTS, &[LISTING]), listing, "{text}");
    assert_eq!(
        sum(&text, REQUESTS, &[LISTING, ("status", "429")]),
        throttled
    );
    assert_eq!(
        sum(&text, REQUESTS, &[LISTING, ("status", "200")]),
        listing - throttled
    );
    assert_eq!(sum(&text, DURATION_COUNT, &[LISTING]), listing);
    assert_eq!(sum(&text, ADMISSION_COUNT, &[]), listing);
    // The listing got through, so every 429 was tried again.
    assert_eq!(
        sum(&text, RETRIES, &[LISTING, ("reason", "rate_limited")]),
        throttled
    );
    assert_eq!(sum(&text, RETRIES, &[]), throttled);

    // One call answered 410 Gone: one request, not retried.
    let error = client.get_conversation(&gone).await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::GONE));
    assert_eq!(gone_mock.calls_async().await, 1);
    let text = scrape(&url).await;
    assert_eq!(
        sum(&text, REQUESTS, &[ONE, ("status", "410")]),
        1.0,
        "{text}"
    );
    assert_eq!(sum(&text, REQUESTS, &[ONE]), 1.0);
    assert_eq!(sum(&text, DURATION_COUNT, &[ONE]), 1.0);
    assert_eq!(sum(&text, RETRIES, &[ONE]), 0.0);
    assert_eq!(sum(&text, REQUESTS, &[("status", "error")]), 0.0);

    // A watch on an inbox that changes 20 times a second, dropped after
    // ten changes, perhaps with a request in flight: that one still
    // counts once answered.
    let changing = DemoServer::builder()
        .conversations(50)
        .changing_inbox(20.0)
        .start()
        .await;
    let watcher = changing.client().unwrap();
    let mut watch = watcher
        .conversations()
        .watch()
        .every(Duration::from_millis(100));
    let mut changes = 0;
    while changes < 10 {
        tokio::time::timeout(Duration::from_secs(20), watch.try_next())
            .await
            .expect("a change within 20 s")
            .unwrap()
            .expect("a watch never ends by itself");
        changes += 1;
    }
    drop(watch);
    let text = eventually(&url, |text| {
        let seen = bucket.request_count() + changing.request_count();
        expect_eq(
            sum(text, REQUESTS, &[LISTING]),
            seen as f64,
            "listing requests",
        )
    })
    .await;
    assert_eq!(sum(&text, WATCH_CHANGES, &[]), 10.0, "{text}");
    assert_eq!(sum(&text, CHANGE_AGE_COUNT, &[]), 10.0);
    let age = sum(&text, CHANGE_AGE_SUM, &[]) / 10.0;
    assert!((0.0..5.0).contains(&age), "changes reported {age} s late");
    let polls = sum(&text, WATCH_POLLS, &[]);
    let watch_requests = changing.request_count() as f64;
    eprintln!(
        "listing: {listing} requests, {throttled} of them 429; watch: {polls} polls, {watch_requests} requests, 10 changes {age:.2} s old on average"
    );
    assert!(
        polls >= 2.0 && polls <= watch_requests + 1.0,
        "{polls} polls for {watch_requests} requests"
    );

    // A client told UltraCart's budgets: 1,000 an hour and 10,000 a day,
    // one of each kept in reserve.
    let told = Client::builder()
        .api_key(DemoServer::API_KEY)
        .base_url(changing.base_url())
        .rate_limit(RateLimit::ultracart_default())
        .build()
        .unwrap();
    for _ in 0..3 {
        told.get_conversations(10, 0).await.unwrap();
    }
    let text = scrape(&url).await;
    assert_eq!(
        value(
            &text,
            r#"ultracart_conversation_budget_remaining{window="hour"}"#
        ),
        Some(996.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            r#"ultracart_conversation_budget_remaining{window="day"}"#
        ),
        Some(9_996.0)
    );

    // What the exporter shows carries no credential and no uuid.
    assert!(!text.contains(DemoServer::API_KEY));
    for summary in &listed {
        let uuid = summary.conversation_uuid.as_deref().unwrap();
        assert!(!text.contains(uuid), "{uuid} in the metrics");
    }
    assert!(text.contains("# HELP ultracart_conversation_requests_total"));
}

const REQUESTS: &str = "ultracart_conversation_requests_total";
const DURATION_COUNT: &str = "ultracart_conversation_request_duration_seconds_count";
const ADMISSION_COUNT: &str = "ultracart_conversation_admission_wait_seconds_count";
const RETRIES: &str = "ultracart_conversation_retries_total";
const WATCH_POLLS: &str = "ultracart_conversation_watch_polls_total";
const WATCH_CHANGES: &str = "ultracart_conversation_watch_changes_total";
const CHANGE_AGE_COUNT: &str = "ultracart_conversation_watch_change_age_seconds_count";
const CHANGE_AGE_SUM: &str = "ultracart_conversation_watch_change_age_seconds_sum";
const LISTING: (&str, &str) = ("operation", "getConversations");
const ONE: (&str, &str) = ("operation", "getConversation");

/// Installs the Prometheus exporter, serving on a free local port, and
/// returns the URL to scrape.
fn serve_metrics() -> String {
    let addr: SocketAddr = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .install()
        .expect("the exporter starts");
    ultracart_conversation::metrics::describe();
    format!("http://{addr}/metrics")
}

async fn scrape(url: &str) -> String {
    let answer = ultracart_conversation::reqwest::get(url).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    answer.text().await.unwrap()
}

/// Scrapes until `check` passes, for at most 10 s.
async fn eventually(url: &str, check: impl Fn(&str) -> Result<(), String>) -> String {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let text = scrape(url).await;
        match check(&text) {
            Ok(()) => return text,
            Err(why) if Instant::now() > until => panic!("{why}\n{text}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

fn expect_eq(got: f64, want: f64, what: &str) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: {got} exported, {want} seen by the server"))
    }
}

/// The samples of Prometheus text: series and value.
fn samples(text: &str) -> impl Iterator<Item = (&str, f64)> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series, value.parse().ok()?))
        })
}

fn value(text: &str, series: &str) -> Option<f64> {
    samples(text).find(|(s, _)| *s == series).map(|(_, v)| v)
}

/// The sum of `name`'s samples whose labels include every one of `labels`.
fn sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples(text)
        .filter(|(series, _)| {
            let (series_name, rest) = series.split_once('{').unwrap_or((series, "}"));
            series_name == name
                && labels
                    .iter()
                    .all(|(key, value)| rest.contains(&format!("{key}=\"{value}\"")))
        })
        .map(|(_, value)| value)
        .sum()
}
