//! A local fake of the Conversation API, for tests, demos and the quickstart
//! (feature `mock`).
//!
//! [`DemoServer`] is ready to use: seeded with a few hundred conversations,
//! it answers all seven operations like UltraCart. [`MockServerExt`] adds
//! one typed method per operation to any [`httpmock::MockServer`], for
//! tests that script exact answers.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ultracart_conversation::Error> {
//! use ultracart_conversation::mock::DemoServer;
//!
//! let demo = DemoServer::start().await;
//! let page = demo.client()?.get_conversations(200, 0).await?;
//! let total = page.metadata.and_then(|m| m.result_set).and_then(|r| r.total_records);
//! assert_eq!(total, Some(350));
//! # Ok(()) }
//! ```

mod demo;
mod live;
mod rng;
mod routes;
mod seed;
mod state;
mod token;
mod wire;

/// Typed httpmock helpers generated from the spec by progenitor: one method
/// per operation on [`httpmock::MockServer`] through [`MockServerExt`],
/// with `When` and `Then` wrappers that take the models from
/// [`types`](crate::types).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/conversation_httpmock.rs"));
}

pub use demo::{DemoServer, DemoServerBuilder};
pub use generated::MockServerExt;
