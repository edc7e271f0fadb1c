//! What makes the demo behave like a live account: an inbox that changes
//! while it is listed, and UltraCart's leaky-bucket rate limiter.

use std::time::{Duration, Instant};

/// Before each listing page but the first: this many conversations the
/// listing has not reached yet get a message (and move to the top), and this
/// many new ones start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Churn {
    pub(crate) moves: usize,
    pub(crate) starts: usize,
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
