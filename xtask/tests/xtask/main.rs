//! Integration tests for `cargo xtask`, in one binary so the generator stack
//! is linked once. Every test works in a temporary root: the real `openapi/`
//! and `generated/` are only ever read.

mod cli;
mod generate;
mod import;
mod lint;
mod overlay;
mod support;
