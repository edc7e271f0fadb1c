//! A local fake of the Conversation API, for tests, demos and the quickstart
//! (feature `mock`).

/// Typed httpmock helpers generated from the spec by progenitor: one method
/// per operation on [`httpmock::MockServer`] through [`MockServerExt`],
/// with `When` and `Then` wrappers that take the models from
/// [`types`](crate::types).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/conversation_httpmock.rs"));
}

pub use generated::MockServerExt;
