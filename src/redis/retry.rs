//! How long a call goes on asking Redis after it stopped answering.

use std::time::Duration;

use tokio::time::Instant;

use crate::Error;

/// A call's patience with a Redis that stopped answering.
pub(crate) struct RedisRetry {
    budget: Duration,
    failing_since: Option<Instant>,
    delay: Duration,
}

/// Between two tries to reach Redis while it does not answer.
const FIRST_RETRY: Duration = Duration::from_millis(20);
const LONGEST_RETRY: Duration = Duration::from_millis(250);

impl RedisRetry {
    pub(crate) fn new(budget: Duration) -> Self {
        Self {
            budget,
            failing_since: None,
            delay: FIRST_RETRY,
        }
    }

    /// What is left of the budget for a call asked now: the whole budget
    /// until something failed.
    pub(crate) fn left(&self) -> Duration {
        self.failing_since.map_or(self.budget, |since| {
            self.budget.saturating_sub(since.elapsed())
        })
    }

    /// After a call asked at `asked` failed with `error`: waits, if Redis
    /// may answer within the budget, or gives up with `error`.
    pub(crate) async fn after(
        &mut self,
        asked: Instant,
        error: redis::RedisError,
        give_up: impl FnOnce(redis::RedisError) -> Error,
    ) -> Result<(), Error> {
        let since = *self.failing_since.get_or_insert(asked);
        if !super::failure::may_come_back(&error) || since.elapsed() + self.delay > self.budget {
            return Err(give_up(error));
        }
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(LONGEST_RETRY);
        Ok(())
    }
}
