//! Maintainer commands for the crate's spec and generated client.
//!
//! `openapi/conversation.json` is the single source of truth: `import` derives
//! it from UltraCart's whole upstream document, `generate` turns it into a
//! reviewable Rust file, `lint-spec` checks it. The binary (`main.rs`) is a thin
//! CLI over these modules so the integration tests can drive them directly.

// The one generator, shared with build.rs: two copies could drift apart.
#[path = "../../codegen/generate.rs"]
pub mod codegen;
// The operation table and its classification, shared with build.rs too.
#[path = "../../codegen/operations.rs"]
pub mod classification;

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

/// The operations this crate covers, by upstream `operationId`: those
/// `openapi/operations.json` classifies. `import` keeps exactly these from
/// UltraCart's whole API; everything else is dropped.
pub fn operations(layout: &Layout) -> Result<Vec<String>> {
    let path = layout.operations();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::new(format!("cannot read {}: {e}", layout.display(&path))))?;
    let classes = classification::classification(&text).map_err(Error::new)?;
    Ok(classes.into_keys().collect())
}
