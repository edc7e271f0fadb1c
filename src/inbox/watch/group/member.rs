//! This member's side of the group: asking for the next change, claiming
//! one a member kept too long, waiting on a connection of its own for new
//! ones, and waiting out Redis outages.

use std::{sync::Arc, time::Duration};

use redis::aio::MultiplexedConnection;
use tokio::time::Instant;

use super::{
    context::Context,
    delivery::Delivery,
    payload,
    scripts::{self, Entry},
};
use crate::Error;

/// The longest a member blocks waiting for a new change before it looks
/// again for one to claim.
const LONGEST_BLOCK: Duration = Duration::from_secs(1);
/// Between two tries while Redis does not answer.
const FIRST_RETRY: Duration = Duration::from_millis(50);
const LONGEST_RETRY: Duration = Duration::from_secs(1);

/// One member's reading of the group's changes.
pub(super) struct Member {
    context: Arc<Context>,
    /// For blocking reads, opened on first need and again after it broke.
    blocking: Option<MultiplexedConnection>,
}

impl Member {
    pub(super) fn new(context: Arc<Context>) -> Self {
        Self {
            context,
            blocking: None,
        }
    }

    /// How long to block for a new change: short enough that a change
    /// another member kept too long is claimed soon after its time.
    fn block(&self) -> Duration {
        (self.context.group.claim_after / 2).clamp(Duration::from_millis(10), LONGEST_BLOCK)
    }

    /// The next change for this member. Waits, however long, for one: a
    /// Redis outage is waited out (with one warning), never an error.
    pub(super) async fn next(&mut self) -> Delivery {
        let mut retry = FIRST_RETRY;
        loop {
            match self.try_next().await {
                Ok(Some(delivery)) => return delivery,
                Ok(None) => retry = FIRST_RETRY,
                Err(cause) => {
                    self.context.failed("reading changes", cause);
                    self.blocking = None;
                    tokio::time::sleep(retry).await;
                    retry = (retry * 2).min(LONGEST_RETRY);
                }
            }
        }
    }

    /// One look for a change to claim or a new one, then one blocking
    /// wait for a new one.
    async fn try_next(&mut self) -> Result<Option<Delivery>, redis::RedisError> {
        let context = &self.context;
        let group = &context.group;
        let next = scripts::next(&context.redis, &context.keys, group, context.timeout()).await?;
        context.answered();
        for (uuid, deliveries) in &next.dead {
            crate::metrics::group_dead_lettered(&group.name);
            tracing::warn!(
                group = %group.name,
                conversation = %uuid,
                deliveries,
                "a change was handed out too often without an ack; moved to the group's dead letters"
            );
        }
        if let Some(entry) = next.entry {
            return Ok(self.delivery(entry));
        }
        let block = self.block();
        let connection = match &mut self.blocking {
            Some(connection) => connection,
            None => {
                // A response may take the whole block, and then some.
                let opened = context
                    .redis
                    .connection
                    .dedicated(block * 2 + context.timeout())
                    .await?;
                self.blocking.insert(opened)
            }
        };
        let started = Instant::now();
        let entry = scripts::wait_for_new(connection, &context.keys, &group.member, block).await?;
        match entry {
            Some(entry) => Ok(self.delivery(entry)),
            None => {
                // A server that answers a block at once (not Redis, or a
                // proxy) must not make this a hot loop.
                tokio::time::sleep_until(started + Duration::from_millis(10)).await;
                Ok(None)
            }
        }
    }

    /// The delivery of `entry`; none for one this version cannot read, which
    /// is left unacked for a member that can, and dead-lettered after it
    /// was handed out too often.
    fn delivery(&self, entry: Entry) -> Option<Delivery> {
        crate::metrics::group_delivered(&self.context.group.name, entry.deliveries <= 1);
        match payload::read(&entry.payload) {
            Ok(change) => {
                self.context.reached(&change.bookmark);
                Some(Delivery::new(
                    Arc::clone(&self.context),
                    change,
                    entry.id,
                    entry.uuid,
                    entry.deliveries,
                ))
            }
            Err(error) => {
                tracing::warn!(
                    group = %self.context.group.name,
                    error = %error,
                    "a change in the group's stream cannot be read; left for another member"
                );
                None
            }
        }
    }
}

/// Confirms Redis answers and the group's stream exists, within the
/// client's Redis timeout: a group watch that cannot start fails at once
/// with an error naming Redis, before anything is sent to UltraCart.
pub(super) async fn start(context: &Context) -> Result<(), Error> {
    crate::metrics::group_leader(&context.group.name, &context.group.member, false);
    context
        .patiently(context.timeout(), |limit| {
            scripts::ensure_group(&context.redis, &context.keys, limit)
        })
        .await
}
