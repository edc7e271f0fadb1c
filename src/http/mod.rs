//! The HTTP layer: everything between a built request and its final answer.
//!
//! A request travels, in order: [`Pipeline::prepare`] (fixed headers, the
//! credential), then [`Pipeline::execute`]: the in-flight gate and pacing
//! ([`attempt`], [`pacing`]), the send and a capped read, and the retry
//! loop ([`retry`]) around them. It comes back as an [`Answer`] read whole,
//! or the HTTP library's error. The facade (`crate::api`) reads the answer;
//! the generated client gets it through [`raw_hooks`].

pub(crate) mod admission;
mod answer;
mod attempt;
mod operation;
pub(crate) mod pacing;
mod path_value;
mod pipeline;
mod raw_hooks;
pub(crate) mod retry;
pub(crate) mod retry_after;

pub(crate) use answer::Answer;
pub(crate) use operation::{Operation, Repeat, ops};
pub use pacing::{PacingState, RateLimit};
pub(crate) use pipeline::HttpSettings;
pub use pipeline::Pipeline;
pub use retry::RetryPolicy;
