//! An OAuth token endpoint and clients that use it.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use serde_json::{Value, json};
use ultracart_conversation::{Client, RefreshTokenProvider};

use super::scripted::{Reply, ScriptedServer};

pub const CLIENT_SECRET: &str = "client-secret-TOPSECRET";
pub const REFRESH_TOKEN: &str = "refresh-token-TOPSECRET";

pub fn provider(server_url: &str) -> RefreshTokenProvider {
    RefreshTokenProvider::new("app-id", CLIENT_SECRET, REFRESH_TOKEN)
        .with_token_url(&format!("{server_url}/oauth/token"))
        .unwrap()
}

/// A token endpoint's answer: a bearer `access_token` that lasts
/// `expires_in` seconds. OAuth's, not UltraCart's, so no model of the
/// crate describes it.
pub fn token_answer(access_token: &str, expires_in: u64) -> Value {
    json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": expires_in
    })
}

/// A token endpoint that hands out `access-1`, `access-2`, … with rotated
/// refresh tokens `refresh-rotated-1`, … and counts them.
pub async fn token_endpoint(
    expires_in: u64,
    delay: Duration,
) -> (ScriptedServer, Arc<AtomicUsize>) {
    let issued = Arc::new(AtomicUsize::new(0));
    let counter = issued.clone();
    let server = ScriptedServer::start(move |request, _| {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/oauth/token");
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        let mut answer = token_answer(&format!("access-{n}"), expires_in);
        answer["refresh_token"] = format!("refresh-rotated-{n}").into();
        Reply::json(200, &answer).delay(delay)
    })
    .await;
    (server, issued)
}

/// A client of `api` with the provider, a wide gate and fast retries.
pub fn api_client(api: &str, provider: RefreshTokenProvider) -> Client {
    Client::builder()
        .token_provider(provider)
        .base_url(api)
        .max_in_flight(16)
        .retry_policy(super::fast_retries())
        .build()
        .unwrap()
}

/// An API that answers every request with one conversation.
pub async fn conversation_api() -> ScriptedServer {
    ScriptedServer::always(Reply::json(200, &super::conversation("c"))).await
}

/// Asserts that the token endpoint's `n`th exchange (from 0) presented the
/// refresh token rotated in by the one before it.
pub fn assert_exchange_presented_rotated_token(oauth: &ScriptedServer, n: usize) {
    let form = String::from_utf8(oauth.log()[n].body.clone()).unwrap();
    let expected = format!("refresh_token=refresh-rotated-{n}");
    assert!(form.contains(&expected), "{form}");
}
