//! When the next request may start: the caller's own rate limit, and the
//! pace the client learns from UltraCart's 429s, shared by every clone.

mod learned;
mod moment;
mod rate_limit;

use std::{
    fmt,
    sync::{Mutex, MutexGuard},
    time::Duration,
};

pub(crate) use learned::{Learned, LearnedState, Ticket};
pub(crate) use moment::Moment;
pub use rate_limit::RateLimit;
use rate_limit::RateLimiter;
use tokio::time::Instant;

use crate::StatusCode;

/// The pace of one client and all its clones.
pub(crate) struct Pacing {
    limit: Option<RateLimiter>,
    learned: Mutex<Learned>,
}

impl Pacing {
    pub(crate) fn new(limit: Option<&RateLimit>) -> Self {
        Self {
            limit: limit.map(RateLimit::build),
            learned: Mutex::new(Learned::default()),
        }
    }

    fn learned(&self) -> MutexGuard<'_, Learned> {
        // Every update is a few assignments that leave the state usable, so
        // a panic elsewhere while the lock was held changes nothing here.
        self.learned
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until the caller's own rate limit lets a request start.
    pub(crate) async fn wait_for_rate_limit(&self) {
        if let Some(limit) = &self.limit {
            limit.until_ready().await;
        }
    }

    /// A request's turn now, or the instant it must wait for (a 429's
    /// `Retry-After`, or the pace learned from 429s). A request that waits
    /// takes nothing, so one that gives up costs the others nothing.
    pub(crate) fn turn(&self) -> Result<Ticket, Instant> {
        self.learned().turn(Instant::now())
    }

    /// Learns from what the server answered to the request of `ticket`.
    pub(crate) fn answered(
        &self,
        ticket: Ticket,
        status: StatusCode,
        retry_after: Option<Duration>,
    ) {
        let now = Instant::now();
        let mut learned = self.learned();
        if status == StatusCode::TOO_MANY_REQUESTS {
            learned.throttled(ticket, now, retry_after);
        } else {
            learned.accepted(ticket, now);
        }
    }

    /// How long a request that wanted to go now would be held back, by a
    /// 429's `Retry-After` or by the learned pace.
    pub(crate) fn delay_ahead(&self) -> Duration {
        self.learned().delay_ahead(Instant::now())
    }

    pub(crate) fn state(&self) -> PacingState {
        PacingState {
            learned: self.learned().state(Instant::now()),
            configured: self.limit.is_some(),
        }
    }
}

impl fmt::Debug for Pacing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.state(), f)
    }
}

/// How a client paces itself right now: what it learned from UltraCart's
/// 429s, and whether it is waiting out a `Retry-After`. From
/// [`Client::pacing`](crate::Client::pacing); shared by every clone.
///
#[doc = mock_fence!()]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ultracart_conversation::Error> {
/// let demo = ultracart_conversation::mock::DemoServer::start().await;
/// let client = demo.client()?;
/// client.get_conversations(10, 0).await?;
/// let pacing = client.pacing();
/// assert_eq!(pacing.throttled(), 0);
/// assert_eq!(pacing.requests_per_second(), None, "never throttled, never paced");
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PacingState {
    learned: LearnedState,
    configured: bool,
}

impl PacingState {
    #[cfg(feature = "redis")]
    pub(crate) fn new(learned: LearnedState, configured: bool) -> Self {
        Self {
            learned,
            configured,
        }
    }

    /// The pace learned from 429s, in requests a second (`None` until the
    /// first 429, and again after ten quiet minutes). While the client still
    /// probes for the rate after its first 429, this is the probing rate.
    ///
    /// ```
    /// # fn f(client: ultracart_conversation::Client) {
    /// if let Some(rate) = client.pacing().requests_per_second() {
    ///     println!("UltraCart lets us send about {rate:.1} a second");
    /// }
    /// # }
    /// ```
    pub fn requests_per_second(&self) -> Option<f64> {
        self.learned.requests_per_second
    }

    /// How many requests UltraCart's bucket holds, as learned from the
    /// first 429.
    ///
    /// ```
    /// # fn f(client: ultracart_conversation::Client) {
    /// println!("{:?}", client.pacing().capacity());
    /// # }
    /// ```
    pub fn capacity(&self) -> Option<f64> {
        self.learned.capacity
    }

    /// Whether the client is still looking for the rate (one 429 seen).
    ///
    /// ```
    /// # fn f(client: ultracart_conversation::Client) {
    /// println!("{}", client.pacing().is_probing());
    /// # }
    /// ```
    pub fn is_probing(&self) -> bool {
        self.learned.probing
    }

    /// How long a 429's `Retry-After` still holds every request back.
    ///
    /// ```
    /// # fn f(client: ultracart_conversation::Client) {
    /// println!("paused for {:?}", client.pacing().paused_for());
    /// # }
    /// ```
    pub fn paused_for(&self) -> Duration {
        self.learned.paused_for
    }

    /// How many 429s the client has had, all clones together.
    ///
    /// ```
    /// # fn f(client: ultracart_conversation::Client) {
    /// println!("{} 429s so far", client.pacing().throttled());
    /// # }
    /// ```
    pub fn throttled(&self) -> u64 {
        self.learned.throttled
    }

    /// Whether a [`RateLimit`] was configured as well.
    ///
    /// ```
    /// # fn f(client: ultracart_conversation::Client) {
    /// println!("{}", client.pacing().has_rate_limit());
    /// # }
    /// ```
    pub fn has_rate_limit(&self) -> bool {
        self.configured
    }
}
