//! Shared helpers for the integration tests: local servers and a
//! client pointed at it.
#![allow(dead_code)]

pub mod oauth;
pub mod scripted;

use std::time::Duration;

use httpmock::MockServer;
use serde_json::{Value, json};
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

/// UltraCart's error envelope.
pub fn error_body(code: u16, user: &str, developer: &str) -> Value {
    json!({
        "error": {
            "developer_message": developer,
            "error_code": code.to_string(),
            "more_info": "https://www.ultracart.com/api/",
            "object_id": "obj-42",
            "user_message": user
        },
        "metadata": {"payload_name": "error"},
        "success": false
    })
}

/// A page of `count` summaries starting at `offset`, with paging metadata.
pub fn summaries_page(
    offset: usize,
    count: usize,
    limit: usize,
    total: Option<usize>,
    more: bool,
) -> Value {
    let conversations: Vec<Value> = (offset..offset + count)
        .map(|i| {
            json!({
                "conversation_uuid": format!("conv-{i:06}"),
                "conversation_arn": format!("arn:conversation:{i}"),
                "merchant_id": "DEMO",
                "message_count": (i % 17) as i32,
                "unread_messages": i % 2 == 0,
                "last_message_dts": "2022-07-18T10:15:30-04:00",
                "last_conversation_message_body": format!("message {i}")
            })
        })
        .collect();
    json!({
        "conversations": conversations,
        "metadata": {"result_set": {
            "count": count, "limit": limit, "more": more,
            "next_offset": offset + count, "offset": offset, "total_records": total
        }},
        "success": true
    })
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
