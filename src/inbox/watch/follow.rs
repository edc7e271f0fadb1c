//! The state of one watch's stream, as one enum: reporting what the last
//! poll found, waiting for the next poll, or ended.

use std::collections::VecDeque;

use tokio::time::Instant;

use super::{
    Change,
    poll::Found,
    poller::{Polled, Poller},
};
use crate::Error;

/// Where a watch is.
#[derive(Debug)]
enum Phase {
    /// Handing out what the last poll found, oldest first; the next poll
    /// is due at `next_poll`.
    Reporting {
        found: VecDeque<Found>,
        next_poll: Instant,
    },
    /// Due to poll at this instant.
    Waiting {
        until: Instant,
    },
    /// To be yielded once, and then the end.
    Failed(Error),
    Ended,
}

/// One watch: its poller, and its phase.
#[derive(Debug)]
pub(super) struct Follow {
    poller: Poller,
    phase: Phase,
}

impl Follow {
    pub(super) fn new(poller: Poller) -> Self {
        Self {
            poller,
            phase: Phase::Waiting {
                until: Instant::now(),
            },
        }
    }

    /// The next change, or the end after an error that polling again
    /// cannot mend.
    pub(super) async fn next(&mut self) -> Option<Result<Change, Error>> {
        loop {
            match std::mem::replace(&mut self.phase, Phase::Ended) {
                Phase::Reporting {
                    mut found,
                    next_poll,
                } => match found.pop_front() {
                    Some(change) => {
                        self.phase = Phase::Reporting { found, next_poll };
                        self.poller.advance(&change);
                        return Some(Ok(Change {
                            summary: change.summary,
                            bookmark: self.poller.bookmark().clone(),
                        }));
                    }
                    None => self.phase = Phase::Waiting { until: next_poll },
                },
                Phase::Waiting { until } => {
                    tokio::time::sleep_until(until).await;
                    self.phase = match self.poller.poll().await {
                        Polled::Found { found, next_poll } => Phase::Reporting {
                            found: found.into(),
                            next_poll,
                        },
                        Polled::Later(until) => Phase::Waiting { until },
                        Polled::Failed(error) => Phase::Failed(error),
                    };
                }
                Phase::Failed(error) => return Some(Err(error)),
                Phase::Ended => return None,
            }
        }
    }
}
