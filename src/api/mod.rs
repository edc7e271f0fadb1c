//! The seven operations: the client, one method per operation, its
//! argument checks, and reading each answer into a model or one typed
//! error ([`answer`]); agent sessions and uploads beside them.

pub(crate) mod agent;
pub(crate) mod answer;
mod client;
mod operations;
mod send_check;
mod upload;
pub(crate) mod validate;

pub use answer::{AnswerShape, Enveloped};
pub use client::Client;
pub(crate) use client::SharedStore;
pub use upload::UploadedMedia;
