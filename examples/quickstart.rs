//! A tour of the crate: all seven operations and a full listing.
//!
//! ```text
//! cargo run --example quickstart --features mock
//! ```
//!
//! With no credential in the environment it starts the built-in demo server
//! and walks through every operation against it. The demo answers in
//! UltraCart's envelope, as the live service does; `-- --bare` makes it
//! answer in the bare shapes of the 2022-07-18 revision instead, and the
//! tour reads the same data either way. With `ULTRACART_API_KEY` (or
//! `ULTRACART_OAUTH_TOKEN`) set it talks to UltraCart instead and makes
//! read-only calls only: it lists and reads conversations, but does not
//! start, join or leave one, and uploads nothing.

use std::{process::ExitCode, time::Duration};

use futures::TryStreamExt;
use ultracart_conversation::{
    AnswerShape, Client, ENV_API_KEY, ENV_OAUTH_TOKEN, Error, mock::DemoServer,
    types::ConversationStartRequest,
};

#[path = "support/exit.rs"]
mod exit;

#[tokio::main]
async fn main() -> ExitCode {
    exit::exit_code(run().await)
}

async fn run() -> Result<(), Error> {
    let live = [ENV_API_KEY, ENV_OAUTH_TOKEN]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()));
    if live {
        let client = Client::from_env()?;
        println!(
            "Credential found: read-only tour of UltraCart at {}\n",
            client.base_url()
        );
        read_only_tour(&client).await
    } else {
        let shape = if std::env::args().any(|arg| arg == "--bare") {
            AnswerShape::Bare
        } else {
            AnswerShape::Envelope
        };
        let demo = DemoServer::builder().answer_shape(shape).start().await;
        println!(
            "No {ENV_API_KEY} set: touring the built-in demo server at {}, answering {}",
            demo.base_url(),
            match shape {
                AnswerShape::Bare => "in the bare 2022-07-18 shapes",
                _ => "in UltraCart's envelope",
            }
        );
        println!("(set {ENV_API_KEY} to run the read-only part against UltraCart)\n");
        let client = demo.client()?;
        read_only_tour(&client).await?;
        writing_tour(&client).await
    }
}

async fn read_only_tour(client: &Client) -> Result<(), Error> {
    section("getConversations: the newest page");
    let page = client.get_conversations(5, 0).await?;
    let summaries = page.conversations.unwrap_or_default();
    for summary in &summaries {
        println!(
            "  {:<38} {:>3} msgs {:<6} {:<26} {}",
            summary.conversation_uuid.as_deref().unwrap_or("?"),
            summary.message_count.unwrap_or(0),
            if summary.unread_messages == Some(true) {
                "unread"
            } else {
                ""
            },
            summary
                .last_message_dts
                .as_ref()
                .map_or("-", |t| t.as_str()),
            excerpt(
                summary
                    .last_conversation_message_body
                    .as_deref()
                    .unwrap_or(""),
                40
            ),
        );
    }
    if let Some(rs) = page.metadata.and_then(|m| m.result_set) {
        let total = rs
            .total_records
            .map_or_else(|| "an unknown number".to_string(), |n| n.to_string());
        let more = if rs.more == Some(true) {
            "more pages to read"
        } else {
            "no more pages"
        };
        println!("  … {total} in all, {more}");
    }

    section("the whole listing, streamed with prefetch");
    let started = std::time::Instant::now();
    let all: Vec<_> = client.conversations().items().try_collect().await?;
    let unread = all
        .iter()
        .filter(|s| s.unread_messages == Some(true))
        .count();
    println!(
        "  {} conversations ({unread} unread) in {:.0?}",
        all.len(),
        started.elapsed()
    );

    if let Some(uuid) = summaries.first().and_then(|s| s.conversation_uuid.clone()) {
        section("getConversation: one conversation in full");
        let answer = client.get_conversation_enveloped(&uuid).await?;
        println!("  (answered {:?})", answer.shape());
        let conversation = answer.into_inner();
        for participant in conversation.participants.unwrap_or_default() {
            println!(
                "  participant {} ({})",
                participant
                    .conversation_participant_name
                    .as_deref()
                    .unwrap_or("?"),
                participant.status.as_deref().unwrap_or("?")
            );
        }
        for message in conversation.messages.unwrap_or_default().iter().take(4) {
            let when = message
                .message_dts
                .as_ref()
                .and_then(|t| t.utc())
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string());
            println!(
                "  [{}] {}: {}",
                when.unwrap_or_else(|| "?".into()),
                message
                    .author_conversation_participant_name
                    .as_deref()
                    .unwrap_or("?"),
                excerpt(message.body.as_deref().unwrap_or(""), 60)
            );
        }
    }

    section("a typed error");
    match client.get_conversation("no-such-conversation").await {
        Ok(_) => println!("  (unexpectedly found)"),
        Err(e) => println!(
            "  status {}: {}",
            e.status()
                .map_or_else(|| "none".to_string(), |s| s.to_string()),
            e.user_message().unwrap_or(&e.to_string())
        ),
    }
    Ok(())
}

async fn writing_tour(client: &Client) -> Result<(), Error> {
    section("startConversation");
    let request = ConversationStartRequest {
        add_conversation_participant_arns: Some(vec![
            "arn:demo:participant/agent-quickstart".into(),
        ]),
        conversation_arn: None,
    };
    let started = client.start_conversation_enveloped(&request).await?;
    let shape = started.shape();
    let uuid = started.into_inner().conversation_uuid.unwrap_or_default();
    println!("  started {uuid} (answered {shape:?})");

    section("joinConversation and leaveConversation");
    client.join_conversation(&uuid).await?;
    println!("  joined {uuid}");
    client.leave_conversation(&uuid).await?;
    println!("  left {uuid}");

    section("getAgentWebsocketAuthorization, as cached credentials");
    let credentials = client.agent_credentials().await?;
    println!("  websocket {}", credentials.websocket_url());
    // The JWT's Debug and Display are redacted: printing it shows no secret.
    println!(
        "  JWT {}, expires {}",
        credentials.jwt(),
        credentials
            .expires_at()
            .map_or_else(|| "when UltraCart says".to_string(), |at| at.to_string())
    );
    println!(
        "  still valid in 5 minutes: {}",
        !credentials.expires_within(Duration::from_secs(300))
    );

    section("getConversationMultimediaUploadUrl and the upload");
    let image = vec![0x89u8, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    let media = client.upload_multimedia("png", image).await?;
    println!("  uploaded as {}", media.key());
    println!("\nDone: seven operations, one listing, no secret printed.");
    Ok(())
}

fn section(title: &str) {
    println!("\n== {title}");
}

fn excerpt(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}
