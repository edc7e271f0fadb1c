//! Reading an answer: a success into its model (in either of the shapes
//! UltraCart sends), anything else into the one typed error.

pub(crate) mod decode;
mod envelope_seed;
mod enveloped;
mod json_read;
pub(crate) mod refusal;

pub use enveloped::{AnswerShape, Enveloped};
