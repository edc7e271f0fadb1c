//! The facade: the client, one method per operation, reading each answer
//! into a model or one typed error, and on top of them paging, agent
//! sessions and uploads.

pub(crate) mod agent;
mod client;
pub(crate) mod decode;
mod envelope_seed;
mod enveloped;
mod export;
mod json_read;
mod operations;
pub(crate) mod paging;
mod refusal;
mod send_check;
mod upload;
pub(crate) mod validate;
pub(crate) mod watch;

pub use client::Client;
pub use enveloped::{AnswerShape, Enveloped};
pub use export::{Export, ExportProgress, ExportReport};
pub use upload::UploadedMedia;
