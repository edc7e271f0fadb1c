//! When a watch polls and how far down it reads: the schedule (the period,
//! a catch-up read at once after a burst, backoff after transient failures)
//! and the bookmark it reads from. What it found is handed to whoever
//! reports it: one watch's stream, or a group's leader, which moves the
//! bookmark only once the changes are safely appended.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use super::{
    Bookmark,
    poll::{self, Found, Reach},
};
use crate::{Client, Error, http::pacing::Moment};

/// The longest a run of transient failures pushes the next poll back.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How long after a second (by this machine's clock) no change can still
/// arrive in it: a generous allowance for the skew between this clock and
/// UltraCart's, and for a change that becomes visible late.
const SECOND_CLOSES_AFTER: i64 = 60;

/// Where a watch begins.
#[derive(Clone, Debug)]
pub(super) enum Start {
    /// At what exists when it first reads: only later changes count.
    Newest,
    /// After this bookmark (at the start: with every conversation).
    After(Bookmark),
}

/// What one poll came to.
#[derive(Debug)]
pub(super) enum Polled {
    /// Changes after the bookmark, oldest first (maybe none); the next poll
    /// is due at `next_poll`.
    Found {
        found: Vec<Found>,
        next_poll: Instant,
    },
    /// A transient failure: poll again at this instant.
    Later(Instant),
    /// An error polling again cannot mend.
    Failed(Error),
}

/// The schedule and position of one watch's polls.
#[derive(Debug)]
pub(super) struct Poller {
    client: Client,
    page_size: u32,
    every: Duration,
    bookmark: Bookmark,
    /// Whether the first read only sets the starting point (a watch that
    /// reports what changes after it began).
    from_newest: bool,
    /// Whether the last poll read the bookmark's second whole once it was
    /// long past: then every conversation in it is known, and a poll can
    /// stop at the first of them (cheap when many share one second).
    second_closed: bool,
    /// Transient failures in a row.
    failures: u32,
}

impl Poller {
    pub(super) fn new(client: Client, page_size: u32, every: Duration, start: Start) -> Self {
        let (bookmark, from_newest) = match start {
            Start::Newest => (Bookmark::start(), true),
            Start::After(bookmark) => (bookmark, false),
        };
        Self {
            client,
            page_size,
            every,
            bookmark,
            from_newest,
            second_closed: false,
            failures: 0,
        }
    }

    /// Everything up to here has been reported (or, for a group, appended).
    pub(super) fn bookmark(&self) -> &Bookmark {
        &self.bookmark
    }

    /// Moves the position past `found`, once it is reported.
    pub(super) fn advance(&mut self, found: &Found) {
        self.bookmark.advance(found.second, &found.uuid);
    }

    /// Goes on from `bookmark` instead: the position another poller left,
    /// taken over.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(super) fn resume_from(&mut self, bookmark: Bookmark) {
        self.bookmark = bookmark;
        self.from_newest = false;
        self.second_closed = false;
    }

    /// Polls once, now.
    pub(super) async fn poll(&mut self) -> Polled {
        let started = Instant::now();
        let started_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let reach = if self.from_newest {
            Reach::NewestSecond
        } else if self.bookmark.second().is_none() {
            Reach::Everything
        } else if self.second_closed {
            Reach::PastBookmark
        } else {
            Reach::Bookmark
        };
        match poll::run(&self.client, self.page_size, &self.bookmark, reach).await {
            Ok(outcome) => {
                self.failures = 0;
                let newest = outcome
                    .found
                    .last()
                    .and_then(|f| f.second)
                    .max(self.bookmark.second());
                self.second_closed = newest.is_some_and(|second| {
                    second.saturating_add(SECOND_CLOSES_AFTER) < started_unix
                });
                if self.from_newest {
                    // What is there when the watch begins is its starting
                    // point, not a change.
                    self.from_newest = false;
                    for found in &outcome.found {
                        self.advance(found);
                    }
                    if self.bookmark.second().is_none() {
                        self.bookmark = Bookmark::after_nothing();
                    }
                    return Polled::Found {
                        found: Vec::new(),
                        next_poll: started.later(self.every),
                    };
                }
                // A poll of several pages took a while, and what moved to
                // the top meanwhile is read at once rather than a period
                // later.
                let catch_up = outcome.pages > 1 && !outcome.found.is_empty();
                Polled::Found {
                    next_poll: if catch_up {
                        Instant::now()
                    } else {
                        started.later(self.every)
                    },
                    found: outcome.found,
                }
            }
            Err(error) if error.is_retryable() => {
                self.failures += 1;
                let wait = backoff(self.every, self.failures, error.retry_after());
                tracing::warn!(
                    error = %error.report(),
                    failures = self.failures,
                    wait_ms = wait.as_millis() as u64,
                    "watch poll failed; polling again later"
                );
                Polled::Later(Instant::now().later(wait))
            }
            Err(error) => Polled::Failed(error),
        }
    }
}

/// How long to wait after `failures` transient failures in a row: the
/// period, doubled with each, at most five minutes (or the period, if
/// longer), and never less than the server asked for.
fn backoff(every: Duration, failures: u32, retry_after: Option<Duration>) -> Duration {
    let doubled = every.saturating_mul(1 << failures.min(16));
    doubled
        .min(MAX_BACKOFF.max(every))
        .max(retry_after.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_push_the_next_poll_back_twice_as_far_each_time_up_to_a_cap() {
        let every = Duration::from_secs(1);
        assert_eq!(backoff(every, 1, None), Duration::from_secs(2));
        assert_eq!(backoff(every, 3, None), Duration::from_secs(8));
        assert_eq!(backoff(every, 40, None), MAX_BACKOFF);
        let hour = Duration::from_secs(3_600);
        assert_eq!(backoff(hour, 5, None), hour, "never sooner than the period");
        assert_eq!(
            backoff(every, 1, Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
    }
}
