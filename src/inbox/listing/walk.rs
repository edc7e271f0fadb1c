//! One listing: its pure step ([`Step`]) fed by its requests ([`Fetcher`]).

use super::{
    ConversationPager,
    depth::Depth,
    fetcher::Fetcher,
    page::ConversationPage,
    step::{Step, Then},
};
use crate::Error;

/// The state of one listing.
pub(super) struct Walk {
    step: Step,
    fetcher: Fetcher,
    /// Delivered after the page that preceded it.
    pending_error: Option<Error>,
}

impl Walk {
    pub(super) fn new(pager: ConversationPager) -> Self {
        Self {
            step: Step::new(pager.start_offset, pager.max_items),
            fetcher: Fetcher::new(
                pager.client,
                pager.page_size,
                Depth::new(pager.prefetch),
                Some(pager.start_offset),
            ),
            pending_error: None,
        }
    }

    pub(super) fn failed(pager: ConversationPager, error: Error) -> Self {
        let mut walk = Self::new(pager);
        walk.fetcher.stop();
        walk.pending_error = Some(error);
        walk
    }

    /// How many pages to fetch beyond the one the caller needs next.
    fn ahead(&self) -> usize {
        if self.step.reads_ahead() {
            self.fetcher.depth.pages()
        } else {
            0
        }
    }

    fn top_up(&mut self, target: usize) {
        let (left, total) = (self.step.items_left(), self.step.total_records());
        self.fetcher.top_up(target, left, total);
    }

    /// The next page with something new on it, or the listing's end.
    pub(super) async fn next_page(&mut self) -> Option<Result<ConversationPage, Error>> {
        let _waiting = self.fetcher.depth.waiting();
        loop {
            if let Some(error) = self.pending_error.take() {
                self.fetcher.stop();
                return Some(Err(error));
            }
            // While the caller waits for this page, more are under way
            // behind it, so that decoding one overlaps fetching the next.
            self.top_up(self.ahead() + 1);
            let fetch = self.fetcher.next()?;
            let (offset, limit) = (fetch.offset, fetch.limit);
            let (response, marks) = match fetch.page().await {
                Ok(fetched) => fetched,
                Err(error) => {
                    self.fetcher.stop();
                    return Some(Err(error));
                }
            };
            let (page, then) = self.step.take(offset, limit, response, &marks);
            match then {
                Then::Read(offset) => self.fetcher.go_on_at(offset),
                Then::End => self.fetcher.stop(),
                Then::Fail(error) => {
                    self.fetcher.stop();
                    self.pending_error = Some(error);
                }
            }
            if let Some(page) = page {
                self.top_up(self.ahead());
                return Some(Ok(page));
            }
        }
    }
}
