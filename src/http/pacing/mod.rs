//! When the next request may start: the caller's own rate limit, shared by
//! every clone of a client.

mod rate_limit;

pub use rate_limit::RateLimit;
use rate_limit::RateLimiter;

/// The pace of one client and all its clones.
#[derive(Debug)]
pub(crate) struct Pacing {
    limit: Option<RateLimiter>,
}

impl Pacing {
    pub(crate) fn new(limit: Option<&RateLimit>) -> Self {
        Self {
            limit: limit.map(RateLimit::build),
        }
    }

    /// Waits until a request may start.
    pub(crate) async fn wait_turn(&self) {
        if let Some(limit) = &self.limit {
            limit.until_ready().await;
        }
    }
}
