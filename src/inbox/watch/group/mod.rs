//! One inbox followed by a group of replicas: one member polls UltraCart
//! at a time, and each change goes to one member.
//!
//! Every member runs the same code. Each tries for the group's leader lease
//! ([`leader`]); the one that holds it polls, and appends what it found to
//! a Redis Stream and moves the group's bookmark in one step that Redis
//! refuses unless it still holds the lease under the epoch it was given.
//! Each member reads the stream through a consumer group ([`member`]),
//! one change each time it asks; a change not acked in time goes to
//! another member ([`delivery`]).

mod config;
mod context;
mod delivery;
mod keys;
mod leader;
mod member;
mod payload;
mod scripts;

use std::{
    fmt,
    pin::Pin,
    task::{Context as TaskContext, Poll},
};

pub use config::WatchGroup;
pub use delivery::Delivery;
use futures::{Stream, StreamExt, stream::BoxStream};
use tokio_util::task::AbortOnDropHandle;

use super::Watch;
use crate::Error;

/// A [`Watch`] shared by a group of replicas, made by
/// [`Watch::group`]: a [`Stream`] of [`Delivery`]s, each change of the
/// inbox handed to one member of the group.
///
/// # What the group guarantees
///
/// - **One poller.** One member at a time polls UltraCart, under a leader
///   lease in the Redis of the client's
///   [`SharedLimits`](crate::SharedLimits), renewed while it polls; it
///   stops before the lease can have run out, and another member takes
///   over within about [`leader_ttl`](WatchGroup::leader_ttl) of its death.
///   The group sends one watch's requests, however many members, through
///   the shared limits like any other call.
/// - **Nothing lost at a handover.** The leader appends what a poll found
///   and moves the group's bookmark in one atomic step, refused by Redis
///   once the leader lost its lease; a new leader goes on from the
///   bookmark in Redis.
/// - **Each change to one member**, when it asks for the next (nothing is
///   fetched ahead for it). [`Delivery::ack`] completes a change; one not
///   acked within [`claim_after`](WatchGroup::claim_after) goes to another
///   member with [`Delivery::attempt`] one higher, and after
///   [`max_deliveries`](WatchGroup::max_deliveries) to the group's dead
///   letters, with a warning. Handlers must tolerate a change handed out
///   again: at least once, not exactly once.
/// - **One conversation in one member's hands.** A newer change of a
///   conversation whose earlier change is not acked yet waits until it is
///   (or until it is dead-lettered).
/// - **Bounded.** Acked changes and dead letters are trimmed after
///   [`retention`](WatchGroup::retention); members gone for ten minutes
///   holding nothing are forgotten; the group's keys expire a week after
///   the retention if no leader touches them.
///
/// # Redis
///
/// Unreachable when the group watch starts: the stream yields one
/// [`Error::SharedLimits`] naming Redis and ends, having sent nothing to
/// UltraCart. Unreachable later: the watch waits and goes on, with one
/// warning per outage; the leader polls no more until Redis answers, and
/// steps down if its lease may have run out meanwhile. Run Redis with
/// persistence (AOF, `appendfsync always` or `everysec`) and a `noeviction`
/// or `volatile-*` policy. Restarted without persistence, Redis forgets the
/// stream, the group, the bookmark and the lease: the group is made again,
/// the leader takes the lease again at once, and whichever member leads
/// goes on from the furthest point it knows the group reached (its own
/// last append, or the newest change it was handed). Changes appended and
/// not yet handed out or acked, and changes held back behind them, are
/// lost; changes between that point and where the group really was are
/// handed out again. Redis's clock times the leader lease: a step of the
/// Redis host's clock can cut a lease short, and two members then poll
/// for a while (the fencing keeps their appends apart).
///
/// A late ack, or a [`Delivery`] dropped, after the change went to another
/// member is that member's to finish: it neither completes the change nor
/// lets the conversation's next change out.
///
/// # Errors
///
/// The stream yields an error and ends when the group watch cannot start
/// (no shared limits on the client, a bad setting, Redis unreachable), or
/// when this member, as leader, meets an error polling again cannot mend
/// (as a plain watch would: a refused credential, a broken server).
///
/// ```no_run
/// use futures::TryStreamExt;
/// use ultracart_conversation::{Client, SharedLimits, WatchGroup};
///
/// # async fn triage(_: &ultracart_conversation::types::ConversationSummary) {}
/// # async fn run(key: &str, redis_url: &str, pod_name: &str) -> Result<(), ultracart_conversation::Error> {
/// let client = Client::builder()
///     .api_key(key)
///     .shared_limits(SharedLimits::redis(redis_url)?)
///     .build()?;
/// let group = WatchGroup::new("support-desk")?.member(pod_name);
/// let mut inbox = client.conversations().watch().group(group);
/// while let Some(delivery) = inbox.try_next().await? {
///     triage(delivery.change().summary()).await;
///     delivery.ack().await?;
/// }
/// # Ok(()) }
/// ```
#[must_use = "a group watch does nothing until it is polled"]
pub struct GroupWatch {
    name: String,
    member: String,
    stream: BoxStream<'static, Result<Delivery, Error>>,
}

impl Watch {
    /// Shares this watch with a group of replicas: one of them polls, and
    /// each change goes to one member; see [`GroupWatch`]. The watch's
    /// period, page size and starting point ([`include_existing`](Self::include_existing),
    /// [`from`](Self::from)) apply when the group starts afresh; a group
    /// with a bookmark in Redis goes on from there.
    ///
    /// ```no_run
    /// # fn f(client: ultracart_conversation::Client) -> Result<(), ultracart_conversation::Error> {
    /// use std::time::Duration;
    /// use ultracart_conversation::WatchGroup;
    ///
    /// let inbox = client
    ///     .conversations()
    ///     .watch()
    ///     .every(Duration::from_secs(10))
    ///     .group(WatchGroup::new("support-desk")?);
    /// # let _ = inbox;
    /// # Ok(()) }
    /// ```
    pub fn group(self, group: WatchGroup) -> GroupWatch {
        let name = group.name.clone();
        let member = group.member.clone();
        let start = self.checked_start();
        let client = self.pager.client().clone();
        let every = self.every;
        let setup = async move {
            let (page_size, start) = start?;
            group.check()?;
            let redis = client.shared_store().cloned().ok_or_else(|| {
                Error::config(
                    "a group watch keeps its state in the Redis of the client's shared limits: \
                     build the client with ClientBuilder::shared_limits(SharedLimits::redis(..))",
                )
            })?;
            let context = context::Context::new(redis, group);
            member::start(&context).await?;
            let leader = leader::Leader {
                context: context.clone(),
                client,
                page_size,
                every,
                start,
            };
            let leading = AbortOnDropHandle::new(tokio::spawn(leader.run()));
            Ok((member::Member::new(context), leading))
        };
        let stream = futures::stream::once(setup)
            .flat_map(|started| match started {
                Ok(running) => futures::stream::unfold(Some(running), next).boxed(),
                Err(error) => futures::stream::once(async move { Err(error) }).boxed(),
            })
            // Polled again after its end, it keeps saying so.
            .fuse()
            .boxed();
        GroupWatch {
            name,
            member,
            stream,
        }
    }
}

/// A running member: its reading of the changes, and its leader task.
type Running = (member::Member, AbortOnDropHandle<Error>);

/// The next delivery, or the leader's error and the end.
async fn next(running: Option<Running>) -> Option<(Result<Delivery, Error>, Option<Running>)> {
    let (mut member, mut leading) = running?;
    tokio::select! {
        delivery = member.next() => Some((Ok(delivery), Some((member, leading)))),
        ended = &mut leading => match ended {
            Ok(error) => Some((Err(error), None)),
            Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
            // Cancelled: the runtime is shutting down.
            Err(_) => None,
        },
    }
}

impl Stream for GroupWatch {
    type Item = Result<Delivery, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.stream.poll_next_unpin(cx)
    }
}

impl fmt::Debug for GroupWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupWatch")
            .field("group", &self.name)
            .field("member", &self.member)
            .finish_non_exhaustive()
    }
}
