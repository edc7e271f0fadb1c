//! What the examples that read an inbox share: how they end, whether to
//! use UltraCart or the demo server, and one line for a conversation.

use std::{env, process::ExitCode};

use ultracart_conversation::{ENV_API_KEY, ENV_OAUTH_TOKEN, types::ConversationSummary};

/// Success, or the error and its causes on one line (never a struct dump)
/// and a failing exit status.
pub fn exit_code(outcome: anyhow::Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Whether `Client::from_env` has a credential to use.
pub fn has_credential() -> bool {
    [ENV_API_KEY, ENV_OAUTH_TOKEN]
        .iter()
        .any(|name| env::var(name).is_ok_and(|value| !value.trim().is_empty()))
}

/// A conversation as one line: uuid, time of the last message, its text.
pub fn describe(summary: &ConversationSummary) -> String {
    format!(
        "{}  {}  {}",
        summary.conversation_uuid.as_deref().unwrap_or("?"),
        summary
            .last_message_dts
            .as_ref()
            .map(|t| t.to_string())
            .unwrap_or_default(),
        summary
            .last_conversation_message_body
            .as_deref()
            .unwrap_or(""),
    )
}
