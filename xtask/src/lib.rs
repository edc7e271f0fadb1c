//! Maintainer commands for the crate's spec and generated client.
//!
//! `openapi/conversation.json` is the single source of truth: `import` derives
//! it from UltraCart's whole upstream document, `generate` turns it into a
//! reviewable Rust file, `lint-spec` checks it. The binary (`main.rs`) is a thin
//! CLI over these modules so the integration tests can drive them directly.

// The one generator, shared with build.rs: two copies could drift apart.
#[path = "../../codegen/generate.rs"]
pub mod codegen;

pub mod diff;
pub mod document;
pub mod error;
pub mod filter;
pub mod import;
pub mod layout;
pub mod lint;
pub mod operations;
pub mod overlay;
pub mod refs;
pub mod regen;

pub use error::{Error, Result};
pub use layout::Layout;

/// The operations this crate covers, by upstream `operationId`. `import` keeps
/// exactly these from UltraCart's whole API; everything else is dropped.
pub const OPERATIONS: [&str; 7] = [
    "getAgentWebsocketAuthorization",
    "getConversation",
    "getConversationMultimediaUploadUrl",
    "getConversations",
    "joinConversation",
    "leaveConversation",
    "startConversation",
];
