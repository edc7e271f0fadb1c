//! The OAuth token exchange on a hostile network: bounded, shared by every
//! waiter, kept when its caller goes away, and never sending its secrets to
//! another host.

mod common;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use common::{
    oauth::{api_client, conversation_api, provider, token_answer, token_endpoint},
    scripted::{Reply, ScriptedServer},
};
use serde_json::json;
use ultracart_conversation::ExposeSecret;
use ultracart_conversation::{Client, Error, StatusCode};

#[tokio::test]
async fn a_slow_token_endpoint_costs_a_caller_no_more_than_its_timeout() {
    let (oauth, issued) = token_endpoint(3600, Duration::from_millis(1_500)).await;
    let api = conversation_api().await;
    let client = Client::builder()
        .token_provider(provider(&oauth.base_url()))
        .base_url(api.base_url())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();

    let error =
        common::fails_within(Duration::from_millis(1_200), client.get_conversation("c")).await;

    assert!(matches!(error, Error::TokenRefresh { .. }), "{error:?}");
    assert!(error.is_timeout() && error.is_retryable(), "{error:?}");
    assert_eq!(api.requests(), 0);

    // The exchange went on without its caller, and its token is kept.
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    client.get_conversation("c").await.unwrap();
    assert_eq!(issued.load(Ordering::SeqCst), 1);
    assert_eq!(
        api.log()[0].header("authorization"),
        Some("Bearer access-1")
    );
}

#[tokio::test]
async fn a_token_endpoint_that_never_answers_is_cut_off_by_the_exchange_timeout() {
    let oauth = ScriptedServer::always(
        Reply::json(200, &token_answer("late", 3600)).delay(Duration::from_secs(30)),
    )
    .await;
    let api = conversation_api().await;
    let provider = provider(&oauth.base_url()).with_exchange_timeout(Duration::from_millis(300));
    let client = api_client(&api.base_url(), provider);

    let error = common::fails_within(Duration::from_secs(5), client.get_conversation("c")).await;

    assert!(matches!(error, Error::TokenRefresh { .. }), "{error:?}");
    assert!(
        error.to_string().contains("did not answer in time"),
        "{error}"
    );
    assert!(error.is_timeout(), "{error:?}");
}

#[tokio::test]
async fn an_oversized_token_answer_is_refused() {
    let oauth =
        ScriptedServer::always(Reply::json(200, &token_answer(&"x".repeat(200_000), 3600))).await;
    let api = conversation_api().await;
    let client = api_client(&api.base_url(), provider(&oauth.base_url()));

    let error = client.get_conversation("c").await.unwrap_err();

    assert!(matches!(error, Error::TokenRefresh { .. }), "{error:?}");
    assert!(error.to_string().contains("larger than"), "{error}");
    assert_eq!(api.requests(), 0);
}

#[tokio::test]
async fn ten_callers_waiting_on_a_dead_refresh_token_make_one_exchange() {
    let exchanges = Arc::new(AtomicUsize::new(0));
    let counted = exchanges.clone();
    let oauth = ScriptedServer::start(move |_, _| {
        counted.fetch_add(1, Ordering::SeqCst);
        Reply::json(400, &json!({"error": "invalid_grant"})).delay(Duration::from_millis(200))
    })
    .await;
    let api = conversation_api().await;
    let client = api_client(&api.base_url(), provider(&oauth.base_url()));

    let calls: Vec<_> = (0..10)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get_conversation("c").await })
        })
        .collect();
    for call in calls {
        let error = call.await.unwrap().unwrap_err();
        assert_eq!(error.status(), Some(StatusCode::BAD_REQUEST), "{error:?}");
        assert!(error.to_string().contains("invalid_grant"), "{error}");
    }

    assert_eq!(exchanges.load(Ordering::SeqCst), 1);
    assert_eq!(api.requests(), 0);
}

#[tokio::test]
async fn a_token_shorter_lived_than_the_margin_is_still_reused() {
    // expires_in 30 s is under the default 60 s margin: the token must not
    // be stale on arrival.
    let (oauth, issued) = token_endpoint(30, Duration::ZERO).await;
    let api = conversation_api().await;
    let client = api_client(&api.base_url(), provider(&oauth.base_url()));

    for _ in 0..5 {
        client.get_conversation("c").await.unwrap();
    }

    assert_eq!(issued.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_rotated_refresh_token_is_kept_and_stored_when_its_caller_is_cancelled() {
    let (oauth, issued) = token_endpoint(1, Duration::from_millis(300)).await;
    let api = conversation_api().await;
    let stored = Arc::new(Mutex::new(Vec::new()));
    let store = stored.clone();
    let provider = provider(&oauth.base_url())
        .with_refresh_margin(Duration::ZERO)
        .on_refresh_token_rotated(move |token| {
            store.lock().unwrap().push(token.expose_secret().to_owned());
        });
    let client = api_client(&api.base_url(), provider);

    // The caller gives up once the token endpoint has its request, while
    // UltraCart is rotating the refresh token.
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.get_conversation("c").await }
    });
    oauth.until_received(1).await;
    call.abort();
    assert!(
        call.await.unwrap_err().is_cancelled(),
        "the call was cancelled"
    );
    oauth.until_done(1).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while stored.lock().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "nothing was stored");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(*stored.lock().unwrap(), ["refresh-rotated-1"]);
    assert_eq!(
        api.requests(),
        0,
        "the cancelled call sent nothing to the API"
    );

    // The access token (1 s, counted from its arrival after the endpoint's
    // 300 ms and the exchange client's set-up) has expired by now: the next
    // exchange presents the rotated refresh token, not the revoked original.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    client.get_conversation("c").await.unwrap();
    assert_eq!(issued.load(Ordering::SeqCst), 2);
    common::oauth::assert_exchange_presented_rotated_token(&oauth, 1);
    assert_eq!(
        *stored.lock().unwrap(),
        ["refresh-rotated-1", "refresh-rotated-2"]
    );
}

#[tokio::test]
async fn a_token_endpoint_redirect_is_refused_and_the_secrets_stay_home() {
    let elsewhere = ScriptedServer::always(Reply::json(200, &token_answer("stolen", 3600))).await;
    let target = format!("{}/collect?keep=all", elsewhere.other_host_url());
    for status in [301, 302, 307, 308] {
        let oauth = ScriptedServer::redirecting(status, &target).await;
        let api = conversation_api().await;
        let client = api_client(&api.base_url(), provider(&oauth.base_url()));

        let error = client.get_conversation("c").await.unwrap_err();

        assert!(matches!(error, Error::TokenRefresh { .. }), "{error:?}");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
        let text = error.to_string();
        assert!(
            text.contains("localhost") && !text.contains("keep=all"),
            "{text}"
        );
        assert_eq!(api.requests(), 0);
    }
    assert_eq!(elsewhere.requests(), 0, "no secret reached the other host");
}

#[tokio::test]
async fn a_panicking_rotation_callback_costs_no_token() {
    let (oauth, issued) = token_endpoint(1, Duration::ZERO).await;
    let api = conversation_api().await;
    let provider = provider(&oauth.base_url())
        .with_refresh_margin(Duration::ZERO)
        .on_refresh_token_rotated(|_| panic!("the vault is sealed"));
    let client = api_client(&api.base_url(), provider);

    client.get_conversation("c").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    client.get_conversation("c").await.unwrap();

    assert_eq!(issued.load(Ordering::SeqCst), 2);
    common::oauth::assert_exchange_presented_rotated_token(&oauth, 1);
}
