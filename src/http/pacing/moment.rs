//! The clock a pace is kept on: this process's monotonic clock for one
//! client, or a clock every process reads alike (Redis's) for limits shared
//! between processes. The pace itself is the same state machine on either.

use std::{fmt::Debug, time::Duration};

use tokio::time::Instant;

/// Far enough off to be never for a client, near enough for any clock.
const FAR_OFF: Duration = Duration::from_secs(30 * 365 * 24 * 3_600);

/// A point in time on some clock.
pub(crate) trait Moment: Copy + Ord + Debug + Send + Sync + 'static {
    /// How long after `earlier` this is, or zero if it is not after it.
    fn saturating_duration_since(self, earlier: Self) -> Duration;

    /// `duration` later, or `None` past the clock's range.
    fn checked_add(self, duration: Duration) -> Option<Self>;

    /// `duration` later; past the clock's range, as far off as it goes
    /// (never sooner: a wait that overflows is a long wait, not none).
    fn later(self, duration: Duration) -> Self {
        self.checked_add(duration)
            .or_else(|| self.checked_add(FAR_OFF))
            .unwrap_or(self)
    }
}

impl Moment for Instant {
    fn saturating_duration_since(self, earlier: Self) -> Duration {
        Instant::saturating_duration_since(&self, earlier)
    }

    fn checked_add(self, duration: Duration) -> Option<Self> {
        Instant::checked_add(&self, duration)
    }
}
