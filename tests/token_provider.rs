//! OAuth tokens from providers: cached, refreshed once under concurrency,
//! renewed after a 401, and never printed.

mod common;

use std::{sync::atomic::Ordering, time::Duration};

use common::{
    conversation,
    oauth::{
        CLIENT_SECRET, REFRESH_TOKEN, api_client, conversation_api, provider, token_answer,
        token_endpoint,
    },
    scripted::{Reply, ScriptedServer},
};
use httpmock::{Method, MockServer};
use serde_json::json;
use ultracart_conversation::{
    Client, Error, StaticToken, StatusCode, mock::MockServerExt, types::ConversationStartRequest,
};

/// An API that refuses every token.
async fn refusing_api() -> ScriptedServer {
    ScriptedServer::always(Reply::json(401, &common::error_body(401, "No.", "refused"))).await
}

#[tokio::test]
async fn the_exchange_sends_the_standard_form_fields() {
    let oauth = MockServer::start_async().await;
    let exchange = oauth
        .mock_async(|when, then| {
            when.method(Method::POST)
                .path("/oauth/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .form_urlencoded_tuple("grant_type", "refresh_token")
                .form_urlencoded_tuple("refresh_token", REFRESH_TOKEN)
                .form_urlencoded_tuple("client_id", "app-id")
                .form_urlencoded_tuple("client_secret", CLIENT_SECRET);
            then.status(200).json_body(token_answer("access-A", 3600));
        })
        .await;
    let api = MockServer::start_async().await;
    let call = api.get_conversation(|when, then| {
        when.conversation_uuid("c-1")
            .into_inner()
            .header("authorization", "Bearer access-A")
            .header_missing("x-ultracart-simple-key");
        then.ok(&conversation("c-1"));
    });

    let client = api_client(&api.base_url(), provider(&oauth.base_url()));
    client.get_conversation("c-1").await.unwrap();
    client.get_conversation("c-1").await.unwrap();

    exchange.assert_calls_async(1).await;
    call.assert_calls_async(2).await;
}

#[tokio::test]
async fn concurrent_requests_share_one_refresh() {
    let (oauth, issued) = token_endpoint(3600, Duration::from_millis(100)).await;
    let api = ScriptedServer::start(|request, _| {
        assert_eq!(request.header("authorization"), Some("Bearer access-1"));
        Reply::json(200, &conversation("c"))
    })
    .await;
    let client = api_client(&api.base_url(), provider(&oauth.base_url()));

    common::concurrently(&client, 12, |client| async move {
        client.get_conversation("c").await
    })
    .await;

    assert_eq!(issued.load(Ordering::SeqCst), 1);
    assert_eq!(api.requests(), 12);
}

#[tokio::test]
async fn an_expiring_token_is_replaced_before_use_with_the_rotated_refresh_token() {
    let (oauth, issued) = token_endpoint(1, Duration::ZERO).await;
    let api = conversation_api().await;
    let provider = provider(&oauth.base_url()).with_refresh_margin(Duration::ZERO);
    let client = api_client(&api.base_url(), provider);

    client.get_conversation("c").await.unwrap();
    client.get_conversation("c").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    client.get_conversation("c").await.unwrap();

    assert_eq!(issued.load(Ordering::SeqCst), 2);
    let tokens: Vec<_> = api
        .log()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_string())
        .collect();
    assert_eq!(
        tokens,
        ["Bearer access-1", "Bearer access-1", "Bearer access-2"]
    );
    common::oauth::assert_exchange_presented_rotated_token(&oauth, 1);
}

#[tokio::test]
async fn a_401_gets_one_fresh_token_and_one_more_try_even_for_start() {
    let (oauth, issued) = token_endpoint(3600, Duration::ZERO).await;
    let api = ScriptedServer::start(|request, _| match request.header("authorization") {
        Some("Bearer access-1") => {
            Reply::json(401, &common::error_body(401, "Expired.", "token expired"))
        }
        _ => Reply::json(200, &common::started("c-new")),
    })
    .await;
    let client = api_client(&api.base_url(), provider(&oauth.base_url()));

    let started = client
        .start_conversation(&ConversationStartRequest::default())
        .await
        .unwrap();

    assert_eq!(started.conversation_uuid.as_deref(), Some("c-new"));
    assert_eq!(issued.load(Ordering::SeqCst), 2);
    assert_eq!(api.requests(), 2);
}

#[tokio::test]
async fn a_token_that_keeps_being_refused_is_retried_only_once() {
    let (oauth, issued) = token_endpoint(3600, Duration::ZERO).await;
    let api = refusing_api().await;
    let client = api_client(&api.base_url(), provider(&oauth.base_url()));

    let error = client.get_conversation("c").await.unwrap_err();

    assert_eq!(error.status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(api.requests(), 2);
    assert_eq!(issued.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_static_token_is_not_retried_after_a_401() {
    let api = refusing_api().await;
    let client = Client::builder()
        .token_provider(StaticToken::new("static-access"))
        .base_url(api.base_url())
        .build()
        .unwrap();

    let error = client.get_conversation("c").await.unwrap_err();

    assert_eq!(error.status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(api.requests(), 1);
    assert_eq!(
        api.log()[0].header("authorization"),
        Some("Bearer static-access")
    );
}

#[tokio::test]
async fn a_refused_refresh_is_a_typed_error_without_secrets_and_no_api_call() {
    let oauth = ScriptedServer::always(Reply::json(
        400,
        &json!({"error": "invalid_grant", "error_description": "refresh token revoked"}),
    ))
    .await;
    let api = conversation_api().await;
    let client = api_client(&api.base_url(), provider(&oauth.base_url()));

    let error = client.get_conversation("c").await.unwrap_err();

    assert!(matches!(error, Error::TokenRefresh { .. }), "{error:?}");
    assert_eq!(error.status(), Some(StatusCode::BAD_REQUEST));
    let text = format!("{error} {error:?}");
    assert!(
        text.contains("invalid_grant") && text.contains("revoked"),
        "{text}"
    );
    assert!(!text.contains("TOPSECRET"), "{text}");
    assert_eq!(api.requests(), 0);
    let provider_debug = format!("{:?}", provider(&oauth.base_url()));
    assert!(!provider_debug.contains("TOPSECRET"), "{provider_debug}");
}

#[tokio::test]
async fn an_unreachable_token_endpoint_fails_the_raw_client_too() {
    let api = conversation_api().await;
    let client = api_client(&api.base_url(), provider(&common::dead_base_url()));

    let facade = client.join_conversation("c").await.unwrap_err();
    let raw = client
        .raw()
        .join_conversation()
        .conversation_uuid("c")
        .send()
        .await;

    assert!(matches!(facade, Error::TokenRefresh { .. }), "{facade:?}");
    assert!(facade.is_retryable(), "a connection failure may pass");
    // The cause is the connection the endpoint refused (a dead port), as
    // reqwest reported it: not any error at all.
    let mut causes = std::iter::successors(std::error::Error::source(&facade), |e| e.source());
    assert!(
        causes.any(|cause| cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused)),
        "not the refused connection: {}",
        facade.report()
    );
    assert!(
        facade
            .report()
            .to_string()
            .contains("error sending request"),
        "{}",
        facade.report()
    );
    assert!(
        raw.is_err(),
        "join must not look successful without a token"
    );
    assert_eq!(api.requests(), 0);
}
