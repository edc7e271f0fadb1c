//! Shared helpers for the integration tests: local servers, the answers
//! they give, and a client pointed at them.
#![allow(dead_code)]

pub mod bodies;
pub mod captured;
pub mod inbox;
pub mod oauth;
pub mod redis_server;
pub mod scripted;

pub use bodies::*;

use std::time::Duration;

use httpmock::MockServer;
use ultracart_conversation::{Client, ClientBuilder, RetryPolicy};

/// Secrets the redaction tests look for in every output.
pub const API_KEY: &str = "uc-simple-key-7f3a9c2e-TOPSECRET";
pub const OAUTH_TOKEN: &str = "oauth-access-token-91bd-TOPSECRET";
/// A JWT-shaped agent credential (header.payload.signature).
pub const AGENT_JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjQxMDI0NDQ4MDAsInN1YiI6ImFnZW50In0.c2lnbmF0dXJlLVRPUFNFQ1JFVA";

/// Backoff small enough to keep tests fast, but still exercised.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::standard().with_backoff(Duration::from_millis(1), Duration::from_millis(5))
}

pub fn builder(server: &MockServer) -> ClientBuilder {
    builder_at(server.base_url())
}

pub fn builder_at(base_url: impl Into<String>) -> ClientBuilder {
    Client::builder()
        .api_key(API_KEY)
        .base_url(base_url)
        .retry_policy(fast_retries())
}

pub fn client(server: &MockServer) -> Client {
    builder(server).build().expect("test client builds")
}

/// A client of the server at `base_url`, with the test key and fast retries.
pub fn client_at(base_url: impl Into<String>) -> Client {
    builder_at(base_url).build().expect("test client builds")
}

/// The base URL of a port on this machine that nothing listens on.
pub fn dead_base_url() -> String {
    // Bind, then drop, to find a port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

/// Awaits `call`, which must fail within `limit`, and returns its error.
pub async fn fails_within<T: std::fmt::Debug>(
    limit: Duration,
    call: impl std::future::Future<Output = Result<T, ultracart_conversation::Error>>,
) -> ultracart_conversation::Error {
    let started = std::time::Instant::now();
    let error = call.await.unwrap_err();
    assert!(started.elapsed() < limit, "waited {:?}", started.elapsed());
    error
}

/// Runs `call` on `tasks` clones of `client` at once, each in its own task,
/// and fails the test if any call fails.
pub async fn concurrently<F, Fut, T>(client: &Client, tasks: usize, call: F)
where
    F: Fn(Client) -> Fut,
    Fut: std::future::Future<Output = Result<T, ultracart_conversation::Error>> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = (0..tasks)
        .map(|_| tokio::spawn(call(client.clone())))
        .collect();
    for handle in handles {
        handle
            .await
            .expect("the task ran")
            .expect("the call succeeded");
    }
}
