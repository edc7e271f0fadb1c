//! What a caller does when the pace record changed under it (another
//! process wrote it between this one's read and its write): computes again
//! from the new record and asks again, for a while. One rule for admitting
//! a request and for recording its answer.

use std::time::Duration;

/// After each run of this many stale answers the caller waits a little
/// before asking again; after this many in all it stops, since a record
/// that never holds still is a broken store, not a busy one.
const BEFORE_WAITING: u32 = 8;
const BEFORE_GIVING_UP: u32 = 256;
/// The first such wait, doubled each time up to the longest.
const FIRST_WAIT: Duration = Duration::from_millis(1);
const LONGEST_WAIT: Duration = Duration::from_millis(50);

/// The stale answers of one caller so far.
#[derive(Debug)]
pub(super) struct Stale {
    answers: u32,
    wait: Duration,
}

impl Stale {
    pub(super) fn new() -> Self {
        Self {
            answers: 0,
            wait: FIRST_WAIT,
        }
    }

    /// After one more stale answer: waits, if a run of them just ended,
    /// and says whether to ask again.
    pub(super) async fn again(&mut self) -> bool {
        match self.next_wait() {
            Some(wait) if wait.is_zero() => true,
            Some(wait) => {
                tokio::time::sleep(wait).await;
                true
            }
            None => false,
        }
    }

    /// After one more stale answer: how long to wait before asking again
    /// (mostly not at all), or `None` to give up.
    fn next_wait(&mut self) -> Option<Duration> {
        self.answers += 1;
        if self.answers >= BEFORE_GIVING_UP {
            return None;
        }
        if !self.answers.is_multiple_of(BEFORE_WAITING) {
            return Some(Duration::ZERO);
        }
        let wait = self.wait;
        self.wait = (wait * 2).min(LONGEST_WAIT);
        Some(wait)
    }

    /// How many stale answers came so far.
    pub(super) fn answers(&self) -> u32 {
        self.answers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_again_at_once_then_waits_after_every_run_of_eight() {
        let mut stale = Stale::new();
        let waits: Vec<_> = (0..16).map(|_| stale.next_wait()).collect();
        assert!(waits[..7].iter().all(|w| *w == Some(Duration::ZERO)));
        assert_eq!(waits[7], Some(FIRST_WAIT));
        assert_eq!(waits[15], Some(FIRST_WAIT * 2));
    }

    #[test]
    fn goes_on_well_past_eight_and_gives_up_in_bounded_time() {
        let mut stale = Stale::new();
        let mut waited = Duration::ZERO;
        while let Some(wait) = stale.next_wait() {
            assert!(wait <= LONGEST_WAIT);
            waited += wait;
        }
        assert_eq!(stale.answers(), BEFORE_GIVING_UP);
        assert!(waited < Duration::from_secs(2), "{waited:?}");
    }
}
