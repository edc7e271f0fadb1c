//! The tour of the crate. With `ULTRACART_API_KEY` set it makes read-only
//! calls against UltraCart; without it, it says what it would do.

use ultracart_conversation::{Client, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let Ok(key) = std::env::var("ULTRACART_API_KEY") else {
        println!("ULTRACART_API_KEY is not set.");
        println!("Set it to a simple API key with conversation_read permission, then run again:");
        println!("  ULTRACART_API_KEY=... cargo run --example quickstart");
        println!("The tour lists the newest conversations and reads the first one.");
        return Ok(());
    };
    let client = Client::builder().api_key(key).build()?;
    let page = client.get_conversations(10, 0).await?;
    let summaries = page.conversations.unwrap_or_default();
    println!("{} newest conversations:", summaries.len());
    for summary in &summaries {
        println!(
            "  {}  {:>3} messages  {}",
            summary.conversation_uuid.as_deref().unwrap_or("?"),
            summary.message_count.unwrap_or(0),
            summary
                .last_message_dts
                .as_ref()
                .map(|t| t.as_str())
                .unwrap_or("-"),
        );
    }
    if let Some(uuid) = summaries
        .first()
        .and_then(|s| s.conversation_uuid.as_deref())
    {
        let conversation = client.get_conversation(uuid).await?;
        println!(
            "{uuid} has {} messages",
            conversation.messages.unwrap_or_default().len()
        );
    }
    Ok(())
}
