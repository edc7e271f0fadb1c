//! Agent websocket credentials: JWT expiry read over HTTP, and the cache.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use common::{
    agent_auth, agent_seven, client_at,
    scripted::{Reply, ScriptedServer},
};
use serde_json::json;
use ultracart_conversation::Error;

fn jwt_expiring_at(exp: u64) -> String {
    let encode = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    format!(
        "{}.{}.c2lnbmF0dXJl",
        encode(json!({"alg": "HS256", "typ": "JWT"})),
        encode(json!({"exp": exp, "sub": "agent-7"}))
    )
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn auth_server(jwt: impl Fn() -> String + Send + Sync + 'static) -> ScriptedServer {
    ScriptedServer::start(move |request, _| {
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("PUT", "/conversation/agent/auth")
        );
        let answer = agent_seven(jwt(), "wss://ws.test/conversation?merchant=DEMO");
        Reply::json(200, &answer).delay(Duration::from_millis(20))
    })
    .await
}

#[tokio::test]
async fn credentials_expose_url_expiry_and_details() {
    let exp = now() + 3_600;
    let server = auth_server(move || jwt_expiring_at(exp)).await;
    let client = client_at(server.base_url());

    let credentials = client.agent_credentials().await.unwrap();

    assert_eq!(credentials.expires_at().unwrap().timestamp() as u64, exp);
    assert!(!credentials.expires_within(Duration::from_secs(60)));
    assert!(credentials.expires_within(Duration::from_secs(7_200)));
    assert_eq!(credentials.websocket_url().host_str(), Some("ws.test"));
    assert_eq!(credentials.websocket_url().scheme(), "wss");
    assert_eq!(credentials.merchant_id(), Some("DEMO"));
    assert_eq!(
        credentials.participant_arn(),
        Some("arn:participant:agent-7")
    );
    assert_eq!(
        credentials.twilio_phone_numbers(),
        ["+15555550100".to_string()]
    );
    assert_eq!(credentials.jwt().expose(), jwt_expiring_at(exp));
    assert!(!format!("{credentials:?}").contains(&jwt_expiring_at(exp)));
}

#[tokio::test]
async fn credentials_are_reused_until_shortly_before_expiry() {
    let server = auth_server(|| jwt_expiring_at(now() + 3_600)).await;
    let client = client_at(server.base_url());

    common::concurrently(&client, 5, |client| async move {
        client.agent_credentials().await
    })
    .await;
    client.agent_credentials().await.unwrap();
    assert_eq!(
        server.requests(),
        1,
        "concurrent callers and clones share one fetch"
    );

    client.forget_agent_credentials().await;
    client.agent_credentials().await.unwrap();
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn a_token_about_to_expire_is_fetched_again() {
    let server = auth_server(|| jwt_expiring_at(now() + 30)).await;
    let client = client_at(server.base_url());

    client.agent_credentials().await.unwrap();
    client.agent_credentials().await.unwrap();

    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn a_token_that_is_not_a_jwt_is_an_error_not_a_panic() {
    for bad in [
        "opaque-token-TOPSECRET",
        "a.b",
        "x.!!!.y",
        "eyJhbGciOiJub25lIn0.WzFd.c2ln",
    ] {
        let server = auth_server(move || bad.to_string()).await;
        let client = client_at(server.base_url());

        let error = client.agent_credentials().await.unwrap_err();

        assert!(matches!(error, Error::AgentAuth { .. }), "{bad}: {error:?}");
        assert!(!error.to_string().contains("TOPSECRET"));
    }
}

#[tokio::test]
async fn a_missing_websocket_url_is_an_error() {
    let answer = agent_auth(jwt_expiring_at(now() + 600), None);
    let server = ScriptedServer::always(Reply::json(200, &answer)).await;
    let client = client_at(server.base_url());

    let error = client.agent_credentials().await.unwrap_err();

    assert!(error.to_string().contains("websocket URL"), "{error}");
}
