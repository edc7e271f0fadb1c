//! What makes the demo behave like a live account: an inbox that changes
//! while it is listed, one that changes with the clock, and UltraCart's
//! leaky-bucket rate limiter.

use std::time::{Duration, Instant, SystemTime};

/// Before each listing page but the first: this many conversations the
/// listing has not reached yet get a message (and move to the top), and this
/// many new ones start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Churn {
    pub(crate) moves: usize,
    pub(crate) starts: usize,
}

/// Changes at a steady rate in wall-clock time: the `n`th is due
/// `n / per_second` seconds after the inbox began to change. They are made
/// when a request comes (all those due by then, each stamped with its own
/// time), so the demo needs no thread of its own.
#[derive(Clone, Debug)]
pub(crate) struct Flow {
    per_second: f64,
    began: Instant,
    began_at: SystemTime,
    made: u64,
}

impl Flow {
    /// The most changes made at once, should a demo sit idle for days.
    const MOST_AT_ONCE: u64 = 10_000;

    pub(crate) fn new(per_second: f64) -> Self {
        Self {
            per_second: if per_second.is_finite() && per_second > 0.0 {
                per_second
            } else {
                1.0
            },
            began: Instant::now(),
            began_at: SystemTime::now(),
            made: 0,
        }
    }

    /// The times of the changes due by `now` and not made yet, oldest first.
    pub(crate) fn due(&mut self, now: Instant) -> Vec<SystemTime> {
        let elapsed = now.saturating_duration_since(self.began).as_secs_f64();
        let due = (elapsed * self.per_second).floor() as u64;
        let first = self.made.max(due.saturating_sub(Self::MOST_AT_ONCE));
        let times = (first..due)
            .map(|n| self.began_at + Duration::from_secs_f64(n as f64 / self.per_second))
            .collect();
        self.made = due;
        times
    }
}

/// UltraCart's limiter: a bucket that holds `capacity` requests and drains
/// `per_second` of them a second; a request that finds it full is refused.
#[derive(Clone, Debug)]
pub(crate) struct LeakyBucket {
    capacity: f64,
    per_second: f64,
    level: f64,
    at: Instant,
}

impl LeakyBucket {
    pub(crate) fn new(capacity: u32, per_second: f64) -> Self {
        Self {
            capacity: f64::from(capacity.max(1)),
            per_second: if per_second.is_finite() && per_second > 0.0 {
                per_second
            } else {
                1.0
            },
            level: 0.0,
            at: Instant::now(),
        }
    }

    /// Lets a request in, or says how long until one would be let in
    /// (what `Retry-After` says, rounded up to whole seconds as HTTP writes
    /// it).
    pub(crate) fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        let drained = self.per_second * now.saturating_duration_since(self.at).as_secs_f64();
        self.level = (self.level - drained).max(0.0);
        self.at = now;
        if self.level + 1.0 > self.capacity + 1e-9 {
            let wait = (self.level + 1.0 - self.capacity) / self.per_second;
            return Err(Duration::from_secs(wait.ceil().max(1.0) as u64));
        }
        self.level += 1.0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_fall_due_at_their_rate_each_once() {
        let mut flow = Flow::new(20.0);
        let start = flow.began;
        assert!(flow.due(start).is_empty());
        let first = flow.due(start + Duration::from_millis(260));
        assert_eq!(first.len(), 5);
        assert_eq!(flow.due(start + Duration::from_millis(260)).len(), 0);
        let next = flow.due(start + Duration::from_millis(510));
        assert_eq!(next.len(), 5);
        assert!(first.windows(2).chain(next.windows(2)).all(|w| w[0] < w[1]));
        assert!(first[4] < next[0]);
    }

    #[test]
    fn the_bucket_holds_its_capacity_and_drains_at_its_rate() {
        let start = Instant::now();
        let mut bucket = LeakyBucket::new(5, 20.0);
        for _ in 0..5 {
            assert!(bucket.admit(start).is_ok());
        }
        assert_eq!(bucket.admit(start), Err(Duration::from_secs(1)));
        assert!(bucket.admit(start + Duration::from_millis(51)).is_ok());
    }
}
