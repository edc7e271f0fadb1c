//! What the client records with `tracing`: one span per call, an event per
//! retry, and never a credential or a message body.

mod common;

use std::time::Duration;

use common::{
    AGENT_JWT, API_KEY, OAUTH_TOKEN,
    captured::Captured,
    client_at,
    scripted::{Reply, ScriptedServer},
};
use futures::TryStreamExt;
use serde_json::json;
use tracing_subscriber::fmt::format::FmtSpan;
use ultracart_conversation::{
    Client,
    types::{self, ConversationStartRequest},
};

fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (captured, guard)
}

const MESSAGE_BODY: &str = "my order number is 12345, secret-ish";

/// Answers every operation; the first call of each kind fails once so that
/// retries are traced too.
fn service() -> impl Fn(&common::scripted::Received, usize) -> Reply + Send + Sync + 'static {
    |request, n| {
        if n % 3 == 0 && request.method == "GET" {
            return Reply::text(503, "busy");
        }
        match (request.method.as_str(), request.path.as_str()) {
            ("PUT", "/conversation/agent/auth") => {
                Reply::json(200, &common::agent_auth(AGENT_JWT, None))
            }
            ("GET", "/conversation/conversations") => {
                Reply::json(200, &common::Page::new(0, 3).total(3).build())
            }
            ("PUT", "/conversation/conversations") => {
                Reply::json(500, &common::error_body(500, "x", "y"))
            }
            ("GET", "/conversation/upload_url/png") => {
                Reply::json(200, &common::upload_url("k", "https://up.test/k?sig=1"))
            }
            // A date of the wrong type: the decode error must not echo the body.
            ("GET", "/conversation/conversations/bad") => Reply::json(
                200,
                &json!({"messages": [{"body": MESSAGE_BODY, "message_dts": true}]}),
            ),
            ("GET", _) => Reply::json(200, &conversation_saying(MESSAGE_BODY)),
            _ => Reply::text(204, ""),
        }
    }
}

fn conversation_saying(body: &str) -> types::Conversation {
    types::Conversation {
        messages: Some(vec![types::ConversationMessage {
            body: Some(body.into()),
            ..Default::default()
        }]),
        ..Default::default()
    }
}

async fn exercise(client: &Client) {
    let _ = client.get_agent_websocket_authorization().await;
    let _ = client.get_conversation("c-1").await;
    let _ = client.get_conversation("bad").await;
    let _ = client.get_conversation_multimedia_upload_url("png").await;
    let _ = client.get_conversations(10, 0).await;
    let _ = client.conversations().items().try_collect::<Vec<_>>().await;
    let _ = client.join_conversation("c-1").await;
    let _ = client.leave_conversation("c-1").await;
    let _ = client
        .start_conversation(&ConversationStartRequest::default())
        .await;
    let _ = client.get_conversation("").await;
}

#[tokio::test]
async fn every_call_and_failure_path_traces_no_secret_and_no_body() {
    let server = ScriptedServer::start(service()).await;
    let (captured, _guard) = capture();

    let key_client = client_at(server.base_url());
    exercise(&key_client).await;
    let token_client = Client::builder()
        .bearer_token(OAUTH_TOKEN)
        .base_url(server.base_url())
        .retry_policy(common::fast_retries())
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    exercise(&token_client).await;

    let text = captured.text();
    assert!(
        text.contains("ultracart_conversation.call"),
        "spans are recorded: {text}"
    );
    for secret in [API_KEY, OAUTH_TOKEN, AGENT_JWT, MESSAGE_BODY] {
        assert!(!text.contains(secret), "trace output contains {secret:?}");
    }
    for part in AGENT_JWT.split('.') {
        assert!(!text.contains(part));
    }
    // And each call was traced: a span per call that reached UltraCart,
    // closed with its operation and the status it got (`exercise` twice;
    // the empty uuid is refused before it is sent).
    let answered = |operation: &str| {
        text.lines()
            .filter(|l| l.contains("close") && l.contains("status="))
            .filter(|l| l.contains(&format!("operation=\"{operation}\"")))
            .count()
    };
    for (operation, calls) in [
        ("get_agent_websocket_authorization", 2),
        ("get_conversation", 4),
        ("get_conversation_multimedia_upload_url", 2),
        ("join_conversation", 2),
        ("leave_conversation", 2),
        ("start_conversation", 2),
    ] {
        assert_eq!(answered(operation), calls, "{operation}: {text}");
    }
    // Two calls, and at least one page for each of the two listings.
    let listing = answered("get_conversations");
    assert!(listing >= 4, "get_conversations: {listing} spans: {text}");
}

#[tokio::test]
async fn a_call_has_one_span_with_its_operation_attempts_and_status() {
    let server = ScriptedServer::recovering(
        1,
        Reply::text(503, "busy"),
        Reply::json(200, &common::conversation("c-1")),
    )
    .await;
    let (captured, _guard) = capture();

    client_at(server.base_url())
        .get_conversation("c-1")
        .await
        .unwrap();

    let text = captured.text();
    let closes: Vec<&str> = text.lines().filter(|l| l.contains("close")).collect();
    assert_eq!(closes.len(), 1, "{text}");
    let span = closes[0];
    assert!(span.contains("operation=\"get_conversation\""), "{span}");
    assert!(span.contains("attempt=2"), "{span}");
    assert!(span.contains("status=200"), "{span}");
    assert!(span.contains("elapsed_ms="), "{span}");
    let retry = text
        .lines()
        .find(|l| l.contains("retrying UltraCart request"))
        .expect("a retry event");
    assert!(retry.contains("reason=\"server error\""), "{retry}");
    assert!(retry.contains("wait_ms="), "{retry}");
}
