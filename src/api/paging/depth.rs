//! How many pages a listing fetches ahead of the one the caller is on.
//!
//! Fetching further ahead pays only while the caller is waiting for the
//! network: the next request then leaves the moment the one before it is
//! answered, without waiting for the caller to take a page, and two pages
//! can be decoded at once. A caller slower than the network gains nothing
//! from more pages held ready, and each one is a request spent from the
//! hourly budget if it stops early. So by default the depth grows while
//! the caller waits and shrinks back while pages wait for it.

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

/// The depth a listing fetches ahead at, now.
#[derive(Debug)]
pub(super) struct Depth {
    now: usize,
    least: usize,
    most: usize,
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
}

#[cfg(test)]
mod tests {
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
