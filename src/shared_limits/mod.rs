//! Limits shared by every process of one application, through Redis.
//!
//! UltraCart counts requests per application and IP, not per process: two
//! replicas that each keep one request in flight and each pace themselves
//! still overlap and overflow the bucket together. With [`SharedLimits`],
//! every client of every process in one namespace shares, through Redis:
//!
//! - the in-flight gate, as a lease with a time to live that its holder
//!   renews while its request is in flight; a holder that dies (SIGKILL,
//!   a lost machine) frees the gate when the lease runs out;
//! - the told [`RateLimit`](crate::RateLimit)s, hourly and daily budgets
//!   included, as GCRA cells computed by a Lua script on Redis's clock;
//! - the pause after a 429's `Retry-After`, and the pace learned from 429s,
//!   as one versioned record on Redis's clock.
//!
//! Admission is one atomic script; a request's answer is recorded before
//! its lease is freed, so the next request, in any process, already sees a
//! 429's pause. The connection, the namespace's keys, the lease and Redis's
//! clock are the Redis plumbing's (`crate::redis`).

mod admission;
mod config;
mod pace_cache;
mod pass;
mod stale;
mod store;

use admission::RedisAdmission;
pub use config::{OnUnavailable, SharedLimits};
