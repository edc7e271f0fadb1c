//! One change handed to this member: its ack, or, dropped unacked, its
//! hand-back to the group.

use std::{fmt, sync::Arc};

use super::{
    context::{ACK_PATIENCE, Context},
    scripts,
};
use crate::{Change, Error};

/// A change of the inbox handed to this member of a group. Handle it, then
/// [`ack`](Self::ack) it: a change not acked within the group's
/// [`claim_after`](crate::WatchGroup::claim_after) goes to another member.
/// Dropped without an ack, it is handed back at once, for the next member
/// that asks.
///
/// ```no_run
/// # async fn handle(
/// #     mut inbox: ultracart_conversation::GroupWatch,
/// # ) -> Result<(), ultracart_conversation::Error> {
/// use futures::TryStreamExt;
///
/// while let Some(delivery) = inbox.try_next().await? {
///     let summary = delivery.change().summary();
///     println!("{:?}, try {}", summary.conversation_uuid, delivery.attempt());
///     delivery.ack().await?;
/// }
/// # Ok(()) }
/// ```
pub struct Delivery {
    change: Change,
    attempt: u32,
    receipt: Option<Receipt>,
}

/// What acking a delivery needs.
struct Receipt {
    context: Arc<Context>,
    entry_id: String,
    uuid: String,
}

impl Delivery {
    pub(super) fn new(
        context: Arc<Context>,
        change: Change,
        entry_id: String,
        uuid: String,
        attempt: u32,
    ) -> Self {
        Self {
            change,
            attempt,
            receipt: Some(Receipt {
                context,
                entry_id,
                uuid,
            }),
        }
    }

    /// The change: the conversation's summary as the group's poll found
    /// it.
    ///
    /// ```no_run
    /// # fn f(delivery: &ultracart_conversation::Delivery) {
    /// let uuid = delivery.change().summary().conversation_uuid.as_deref();
    /// # let _ = uuid;
    /// # }
    /// ```
    pub fn change(&self) -> &Change {
        &self.change
    }

    /// How many times the change has been handed out, this time included:
    /// 1, or more once a member kept it past the claim time, died holding
    /// it, or dropped it unacked.
    ///
    /// ```no_run
    /// # fn f(delivery: &ultracart_conversation::Delivery) {
    /// if delivery.attempt() > 1 {
    ///     println!("handled before, maybe in part: make the handler idempotent");
    /// }
    /// # }
    /// ```
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Marks the change done, so that no member is handed it again, and
    /// lets the conversation's next change out. Waits out a short Redis
    /// outage (a restart: up to 15 s), then fails with
    /// [`Error::SharedLimits`] naming Redis; the change is then handed out
    /// again after the claim time.
    ///
    /// ```no_run
    /// # async fn f(delivery: ultracart_conversation::Delivery) -> Result<(), ultracart_conversation::Error> {
    /// delivery.ack().await?;
    /// # Ok(()) }
    /// ```
    pub async fn ack(mut self) -> Result<(), Error> {
        let Some(receipt) = self.receipt.take() else {
            return Ok(());
        };
        let Receipt {
            context,
            entry_id,
            uuid,
        } = receipt;
        let acked = context
            .patiently(ACK_PATIENCE, |limit| {
                let (redis, keys, group) = (&context.redis, &context.keys, &context.group);
                scripts::ack(redis, keys, group, &entry_id, &uuid, limit)
            })
            .await;
        if acked.is_err() {
            // Not acked: it goes to a member again after the claim time.
            tracing::warn!(
                group = %context.group.name,
                member = %context.group.member,
                "a change could not be acked; it will be handed out again"
            );
        }
        acked
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        let Some(Receipt {
            context, entry_id, ..
        }) = self.receipt.take()
        else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let (redis, keys, group) = (&context.redis, &context.keys, &context.group);
                let handed = scripts::hand_back(redis, keys, group, &entry_id);
                if let Err(error) = handed.await {
                    tracing::debug!(%error, "could not hand a dropped change back; it goes out after the claim time");
                }
            });
        }
    }
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("change", &self.change)
            .field("attempt", &self.attempt)
            .field("acked", &self.receipt.is_none())
            .finish()
    }
}
