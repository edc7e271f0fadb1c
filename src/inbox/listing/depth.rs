//! How many pages a listing fetches ahead of the one the caller is on.
//!
//! Fetching further ahead pays only while the caller is waiting for the
//! network: the next request then leaves the moment the one before it is
//! answered, without waiting for the caller to take a page, and two pages
//! can be decoded at once. A caller slower than the network gains nothing
//! from more pages held ready, and each one is a request spent from the
//! hourly budget if it stops early. So by default the depth grows while
//! the caller waits and shrinks back while pages wait for it, and a page
//! queued beyond the least depth is sent only while the caller is waiting
//! for a page or asked for one a moment ago: a caller that stops asking,
//! holding the stream, has spent no more than with the least depth, but
//! for a page answered within that moment.

use std::time::Duration;

use tokio::{sync::watch, time::Instant};

/// How far ahead a listing fetches, as its caller set it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Prefetch {
    /// One page, and up to [`AUTO_MOST`] while the caller keeps waiting.
    Auto,
    /// Exactly this many pages.
    Fixed(usize),
}

/// The most pages fetched ahead by default. Measured against a local
/// server (BENCHMARKS.md, section 0): three lined up is where a caller
/// that only collects stops gaining.
pub(super) const AUTO_MOST: usize = 3;

/// How long after the caller's last ask it still counts as asking. Waiting
/// for the caller's next ask instead cost a fast caller a thread hop per
/// page (in one run, 1.30x curl's time became 1.44x). A caller that stops
/// asking for longer is held to the least depth: only a page answered
/// within this moment of its last ask can still leave, once.
const STILL_ASKING: Duration = Duration::from_millis(10);

/// The depth a listing fetches ahead at, now, and where its caller is.
#[derive(Debug)]
pub(super) struct Depth {
    now: usize,
    least: usize,
    most: usize,
    /// Places in line handed out so far.
    issued: u64,
    caller: watch::Sender<Caller>,
    still_asking: Duration,
}

/// Where the caller is, as the fetches queued ahead of it see it.
#[derive(Clone, Copy, Debug, Default)]
struct Caller {
    /// The place in line of the page the caller took last.
    at: u64,
    /// Whether the caller is waiting for a page now.
    waiting: bool,
    /// When the caller last asked for a page.
    asked_at: Option<Instant>,
}

/// A fetch's place in line.
#[derive(Debug)]
pub(super) struct Place {
    number: u64,
    least: u64,
    still_asking: Duration,
    caller: watch::Receiver<Caller>,
}

impl Place {
    pub(super) fn number(&self) -> u64 {
        self.number
    }

    /// Waits until this fetch may be sent: when it is within the least
    /// depth of the caller's page, or while the caller waits for a page or
    /// has just asked for one. `false` when the listing is gone (its
    /// fetches are being dropped).
    pub(super) async fn turn(mut self) -> bool {
        let (number, least, still_asking) = (self.number, self.least, self.still_asking);
        self.caller
            .wait_for(|caller| {
                caller.waiting
                    || number <= caller.at.saturating_add(least)
                    || caller
                        .asked_at
                        .is_some_and(|at| at.elapsed() < still_asking)
            })
            .await
            .is_ok()
    }
}

/// The caller waits for a page until this is dropped (also when the
/// caller gives up on the page half-way).
pub(super) struct Waiting(watch::Sender<Caller>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.send_modify(|caller| caller.waiting = false);
    }
}

impl Depth {
    pub(super) fn new(prefetch: Prefetch) -> Self {
        let (least, most) = match prefetch {
            Prefetch::Auto => (1, AUTO_MOST),
            Prefetch::Fixed(pages) => (pages, pages),
        };
        Self {
            now: least,
            least,
            most,
            issued: 0,
            caller: watch::Sender::new(Caller::default()),
            still_asking: STILL_ASKING,
        }
    }

    /// Pages to fetch ahead.
    pub(super) fn pages(&self) -> usize {
        self.now
    }

    /// The caller asked for a page fetched ahead: one deeper if it has to
    /// wait for it, one shallower if the page was already there. (The
    /// first page is not fetched ahead: every caller waits for it, which
    /// says nothing about the caller.)
    pub(super) fn asked(&mut self, page_was_ready: bool) {
        self.now = if page_was_ready {
            self.now.saturating_sub(1).max(self.least)
        } else {
            (self.now + 1).min(self.most)
        };
    }

    /// The caller is waiting for a page, until the guard is dropped.
    pub(super) fn waiting(&self) -> Waiting {
        self.caller.send_modify(|caller| {
            caller.waiting = true;
            caller.asked_at = Some(Instant::now());
        });
        Waiting(self.caller.clone())
    }

    /// The next fetch's place in line.
    pub(super) fn place(&mut self) -> Place {
        let number = self.issued;
        self.issued += 1;
        Place {
            number,
            least: self.least as u64,
            still_asking: self.still_asking,
            caller: self.caller.subscribe(),
        }
    }

    /// The caller took the page fetched at place `number`.
    pub(super) fn took(&self, number: u64) {
        self.caller.send_modify(|caller| caller.at = number);
    }

    /// The fetches in line were dropped: the next one is the caller's next
    /// page.
    pub(super) fn restart(&self) {
        let last = self.issued.saturating_sub(1);
        self.caller.send_modify(|caller| caller.at = last);
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::*;

    #[test]
    fn auto_grows_while_the_caller_waits_and_shrinks_while_pages_wait() {
        let mut depth = Depth::new(Prefetch::Auto);
        assert_eq!(depth.pages(), 1);
        for expected in [2, 3, 3] {
            depth.asked(false);
            assert_eq!(depth.pages(), expected);
        }
        for expected in [2, 1, 1] {
            depth.asked(true);
            assert_eq!(depth.pages(), expected);
        }
    }

    #[tokio::test]
    async fn a_page_beyond_the_least_depth_leaves_only_while_the_caller_waits() {
        let mut depth = Depth::new(Prefetch::Auto);
        depth.still_asking = Duration::ZERO;
        let [first, second, third] = [depth.place(), depth.place(), depth.place()];
        assert!(first.turn().await, "the caller's page");
        assert!(second.turn().await, "one ahead");
        let mut third = Box::pin(third.turn());
        assert_eq!((&mut third).now_or_never(), None, "nobody has asked");
        let waiting = depth.waiting();
        assert_eq!((&mut third).now_or_never(), Some(true), "waiting");
        drop(waiting);

        let mut fourth = Box::pin(depth.place().turn());
        assert_eq!((&mut fourth).now_or_never(), None, "stopped asking");
        depth.took(2);
        assert_eq!((&mut fourth).now_or_never(), Some(true), "one ahead again");
    }

    #[tokio::test]
    async fn a_caller_that_asked_a_moment_ago_is_still_asking() {
        let mut depth = Depth::new(Prefetch::Auto);
        depth.still_asking = Duration::from_secs(3600);
        let _ = [depth.place(), depth.place()];
        drop(depth.waiting());
        assert!(depth.place().turn().await);
    }

    #[tokio::test]
    async fn after_a_restart_the_next_fetch_is_the_callers_next_page() {
        let mut depth = Depth::new(Prefetch::Auto);
        let dropped: Vec<_> = (0..3).map(|_| depth.place()).collect();
        drop(dropped);
        depth.restart();
        assert!(depth.place().turn().await);
    }

    #[tokio::test]
    async fn a_place_in_a_dropped_listing_is_not_sent() {
        let mut depth = Depth::new(Prefetch::Auto);
        let _ = depth.place();
        let _ = depth.place();
        let deep = depth.place();
        drop(depth);
        assert!(!deep.turn().await);
    }

    #[test]
    fn a_fixed_depth_never_moves() {
        for pages in [0, 1, 4] {
            let mut depth = Depth::new(Prefetch::Fixed(pages));
            depth.asked(false);
            depth.asked(true);
            depth.asked(true);
            assert_eq!(depth.pages(), pages);
        }
    }
}
