//! Pieces of the throughput benchmark.

pub mod fixtures;
pub mod measure;
pub mod server;
pub mod side_by_side;
