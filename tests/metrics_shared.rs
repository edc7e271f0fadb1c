//! The metrics of limits shared through Redis: the budget as Redis counts
//! it for every client in a namespace, and the admissions that could not
//! reach Redis. Needs `redis-server` on PATH, as tests/shared_limits.rs.
//!
//! One test in this binary: a metrics recorder is process-wide.

mod common;

use std::time::Duration;

use common::{fast_retries, redis_server::RedisServer};
use metrics_exporter_prometheus::PrometheusBuilder;
use ultracart_conversation::{Client, RateLimit, SharedLimits, mock::DemoServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_budget_is_what_redis_counted_and_outages_are_counted() {
    let prometheus = PrometheusBuilder::new().install_recorder().unwrap();
    let mut redis = RedisServer::start();
    let demo = DemoServer::with_conversations(20).await;
    // Two clients in one namespace share their budget, as two processes
    // would.
    let client = || {
        Client::builder()
            .api_key(DemoServer::API_KEY)
            .base_url(demo.base_url())
            .rate_limit(RateLimit::ultracart_default())
            .retry_policy(fast_retries())
            .shared_limits(
                SharedLimits::redis(&redis.url())
                    .unwrap()
                    .namespace("metrics")
                    .redis_timeout(Duration::from_millis(200)),
            )
            .build()
            .unwrap()
    };
    let (first, second) = (client(), client());
    for _ in 0..3 {
        first.get_conversations(10, 0).await.unwrap();
    }
    for _ in 0..2 {
        second.get_conversations(10, 0).await.unwrap();
    }
    let text = prometheus.render();
    // 1,000 an hour and 10,000 a day, one of each kept in reserve, less
    // the 5 requests of both clients (well within one refill: 3.6 s).
    assert_eq!(
        value(
            &text,
            r#"ultracart_conversation_budget_remaining{window="hour"}"#
        ),
        Some(994.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            r#"ultracart_conversation_budget_remaining{window="day"}"#
        ),
        Some(9_994.0)
    );
    assert_eq!(value(&text, UNAVAILABLE), None, "no outage yet");

    // Redis gone: each of the 4 attempts (3 retries) fails to be admitted,
    // and nothing is sent.
    redis.kill();
    let error = first.get_conversations(10, 0).await.unwrap_err();
    assert!(error.is_shared_limits_unavailable(), "{error}");
    let text = prometheus.render();
    assert_eq!(value(&text, UNAVAILABLE), Some(4.0), "{text}");
    assert_eq!(
        value(
            &text,
            r#"ultracart_conversation_retries_total{operation="getConversations",reason="connection_failed"}"#
        ),
        Some(3.0)
    );
    assert_eq!(demo.request_count(), 5);
    assert_eq!(
        value(
            &text,
            r#"ultracart_conversation_requests_total{operation="getConversations",status="200"}"#
        ),
        Some(5.0)
    );
}

const UNAVAILABLE: &str = "ultracart_conversation_shared_limits_unavailable_total";

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter_map(|line| line.rsplit_once(' '))
        .find(|(s, _)| *s == series)
        .and_then(|(_, v)| v.parse().ok())
}
