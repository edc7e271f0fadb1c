//! Retries, rate limits and timeouts, counted at the server.

mod common;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use common::{
    builder_at, client_at,
    scripted::{Reply, ScriptedServer},
};
use ultracart_conversation::{Error, RateLimit, StatusCode, types::ConversationStartRequest};

fn conversation() -> Reply {
    Reply::json(200, &common::conversation("c-1"))
}

fn started() -> Reply {
    Reply::json(200, &common::started("c-new"))
}

#[tokio::test]
async fn a_429_with_a_short_retry_after_waits_that_long_then_succeeds() {
    let server = ScriptedServer::recovering(
        1,
        Reply::text(429, "slow down").header("retry-after", "1"),
        conversation(),
    )
    .await;
    let client = client_at(server.base_url());

    let started_at = Instant::now();
    client.get_conversation("c-1").await.unwrap();

    assert_eq!(server.requests(), 2);
    let log = server.log();
    assert!(
        log[1].at - log[0].at >= Duration::from_millis(950),
        "waited as Retry-After said"
    );
    assert!(started_at.elapsed() >= Duration::from_millis(950));
}

#[tokio::test]
async fn a_429_with_an_http_date_retry_after_is_understood() {
    // An HTTP date has whole seconds: two seconds ahead, cut to its second,
    // is more than one second ahead.
    let retry_at = Arc::new(Mutex::new(None));
    let told = retry_at.clone();
    let server = ScriptedServer::start(move |_, n| match n {
        0 => {
            let date = SystemTime::now() + Duration::from_secs(2);
            let text = httpdate::fmt_http_date(date);
            *told.lock().unwrap() = Some(httpdate::parse_http_date(&text).unwrap());
            Reply::text(429, "").header("retry-after", &text)
        }
        _ => conversation(),
    })
    .await;
    let client = client_at(server.base_url());

    client.get_conversation("c-1").await.unwrap();

    assert_eq!(server.requests(), 2);
    // The retry waited for the date, by the clock the date is on ...
    let retried_at = SystemTime::now();
    let date = retry_at.lock().unwrap().unwrap();
    assert!(retried_at >= date, "retried before {date:?}");
    // ... and at least the second the date was ahead, by the server's log
    // (a client that ignored the header would retry after its backoff of
    // a few milliseconds).
    let log = server.log();
    let waited = log[1].at - log[0].at;
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?}"
    );
}

#[tokio::test]
async fn a_429_with_a_too_long_retry_after_fails_at_once() {
    let server = ScriptedServer::always(Reply::text(429, "").header("retry-after", "3600")).await;
    let client = client_at(server.base_url());

    let error = client.get_conversation("c-1").await.unwrap_err();

    assert_eq!(server.requests(), 1);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3600)));
    assert!(error.is_rate_limited());
}

#[tokio::test]
async fn a_429_without_retry_after_backs_off_and_retries() {
    let server = ScriptedServer::recovering(
        2,
        Reply::json(
            429,
            &common::error_body(429, "Too many requests.", "rate limit"),
        ),
        conversation(),
    )
    .await;
    let client = client_at(server.base_url());

    client.get_conversation("c-1").await.unwrap();

    assert_eq!(server.requests(), 3);
}

#[tokio::test]
async fn a_503_then_200_recovers_for_a_get() {
    let server = ScriptedServer::recovering(
        1,
        Reply::text(503, "<html>maintenance</html>"),
        conversation(),
    )
    .await;
    let client = client_at(server.base_url());

    let conversation = client.get_conversation("c-1").await.unwrap();

    assert_eq!(conversation.conversation_uuid.as_deref(), Some("c-1"));
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn retries_give_up_after_the_budget() {
    let server = ScriptedServer::always(Reply::text(502, "bad gateway")).await;
    let client = builder_at(server.base_url())
        .max_retries(2)
        .build()
        .unwrap();

    let error = client.get_conversation("c-1").await.unwrap_err();

    assert_eq!(server.requests(), 3);
    assert_eq!(error.status(), Some(StatusCode::BAD_GATEWAY));
}

#[tokio::test]
async fn join_and_leave_are_retried_after_a_server_error() {
    let server = ScriptedServer::start(|_, n| {
        if n % 2 == 0 {
            Reply::text(500, "oops")
        } else {
            Reply::text(204, "")
        }
    })
    .await;
    let client = client_at(server.base_url());

    client.join_conversation("c-1").await.unwrap();
    client.leave_conversation("c-1").await.unwrap();

    assert_eq!(server.requests(), 4);
}

#[tokio::test]
async fn start_conversation_is_sent_exactly_once_after_a_500() {
    let server = ScriptedServer::always(Reply::json(
        500,
        &common::error_body(500, "Server error.", "boom"),
    ))
    .await;
    let client = client_at(server.base_url());

    let error = client
        .start_conversation(&ConversationStartRequest::default())
        .await
        .unwrap_err();

    assert_eq!(server.requests(), 1);
    assert_eq!(error.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
}

#[tokio::test]
async fn start_conversation_is_not_repeated_after_a_timeout() {
    let server = ScriptedServer::always(started().delay(Duration::from_millis(600))).await;
    let client = builder_at(server.base_url())
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();

    let error = client
        .start_conversation(&ConversationStartRequest::default())
        .await
        .unwrap_err();

    assert!(error.is_timeout(), "{error:?}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn start_conversation_is_retried_after_a_429() {
    let server = ScriptedServer::recovering(
        1,
        Reply::text(429, "").header("retry-after", "0"),
        started(),
    )
    .await;
    let client = client_at(server.base_url());

    let started = client
        .start_conversation(&ConversationStartRequest::default())
        .await
        .unwrap();

    assert_eq!(started.conversation_uuid.as_deref(), Some("c-new"));
    assert_eq!(server.requests(), 2);
    let log = server.log();
    assert_eq!(log[0].body, log[1].body, "the same body is sent again");
}

#[tokio::test]
async fn a_late_server_gives_a_timeout_error_and_gets_are_retried() {
    let server = ScriptedServer::always(conversation().delay(Duration::from_millis(600))).await;
    let client = builder_at(server.base_url())
        .timeout(Duration::from_millis(100))
        .max_retries(2)
        .build()
        .unwrap();

    let error = client.get_conversation("c-1").await.unwrap_err();

    assert!(error.is_timeout(), "{error:?}");
    assert!(matches!(error, Error::Timeout { .. }));
    assert!(error.is_retryable());
    assert_eq!(server.requests(), 3);
}

#[tokio::test]
async fn retries_switched_off_send_once() {
    let server = ScriptedServer::always(Reply::text(503, "busy")).await;
    let client = builder_at(server.base_url())
        .retry_policy(ultracart_conversation::RetryPolicy::disabled())
        .build()
        .unwrap();

    let error = client.get_conversation("c-1").await.unwrap_err();

    assert_eq!(server.requests(), 1);
    assert_eq!(error.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert!(error.is_retryable(), "retrying later could still help");
}

#[tokio::test]
async fn the_rate_limiter_spaces_requests() {
    let server = ScriptedServer::always(conversation()).await;
    let limit = RateLimit::per_second(10).unwrap().with_burst(1).unwrap();
    let client = builder_at(server.base_url())
        .rate_limit(limit)
        .build()
        .unwrap();

    for _ in 0..5 {
        client.get_conversation("c-1").await.unwrap();
    }

    let log = server.log();
    assert_eq!(log.len(), 5);
    for pair in log.windows(2) {
        assert!(
            pair[1].at - pair[0].at >= Duration::from_millis(90),
            "{:?}",
            pair[1].at - pair[0].at
        );
    }
}

#[tokio::test]
async fn the_rate_limiter_is_shared_by_clones() {
    let server = ScriptedServer::always(conversation()).await;
    let limit = RateLimit::per_second(20).unwrap().with_burst(1).unwrap();
    let client = builder_at(server.base_url())
        .rate_limit(limit)
        .max_in_flight(4)
        .build()
        .unwrap();

    common::concurrently(&client, 4, |client| async move {
        client.get_conversation("c-1").await
    })
    .await;

    let log = server.log();
    let span = log.last().unwrap().at - log.first().unwrap().at;
    assert!(
        span >= Duration::from_millis(140),
        "4 requests at 20/s span 3 intervals: {span:?}"
    );
}
