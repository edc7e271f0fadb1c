//! Redis's clock: the one clock every process of a namespace reads alike.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::http::pacing::Moment;

/// Microseconds since the Unix epoch, as Redis's `TIME` tells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct RedisTime(u64);

impl RedisTime {
    pub(crate) fn from_micros(micros: i64) -> Self {
        Self(u64::try_from(micros).unwrap_or(0))
    }
}

impl Moment for RedisTime {
    fn saturating_duration_since(self, earlier: Self) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }

    fn checked_add(self, duration: Duration) -> Option<Self> {
        // Rounded up: a wait of less than a microsecond is still a wait,
        // never an instant that has already come.
        let micros = u64::try_from(duration.as_nanos().div_ceil(1_000)).ok()?;
        self.0.checked_add(micros).map(Self)
    }
}

/// Redis's clock as last read, carried forward on this process's
/// monotonic clock until the next read: good to within a round trip, which
/// is all a decision made here needs; Redis re-checks what matters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Estimate {
    read: Option<(RedisTime, Instant)>,
}

impl Estimate {
    pub(crate) const fn unread() -> Self {
        Self { read: None }
    }

    pub(crate) fn is_read(&self) -> bool {
        self.read.is_some()
    }

    pub(crate) fn set(&mut self, now: RedisTime) {
        self.read = Some((now, Instant::now()));
    }

    /// Redis's time now, as far as this process can tell (the epoch before
    /// the first read, which admission makes before its first ticket).
    pub(crate) fn now(&self) -> RedisTime {
        match self.read {
            Some((at, read)) => at.later(read.elapsed()),
            None => RedisTime(0),
        }
    }
}
