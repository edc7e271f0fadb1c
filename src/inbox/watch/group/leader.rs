//! The group's one poller: each member tries for the leader lease; the one
//! that holds it polls UltraCart and appends what it finds, with the
//! group's bookmark, in one fenced step. It stops polling before its lease
//! can have run out, and a member takes over within about a lease's time
//! of its death, from the bookmark in Redis.

use std::{sync::Arc, time::Duration};

use tokio::{sync::watch, time::Instant};

use super::{
    WatchGroup,
    context::Context,
    payload,
    scripts::{self, Appended, Batch},
};
use crate::{
    Client, Error,
    inbox::watch::{
        Bookmark,
        poller::{Polled, Poller, Start},
    },
    redis::{Holder, Standing, Take, may_come_back},
};

/// Between two tries to append after Redis failed one.
const APPEND_RETRY: Duration = Duration::from_millis(100);

/// What a member needs to lead.
pub(super) struct Leader {
    pub(super) context: Arc<Context>,
    pub(super) client: Client,
    pub(super) page_size: u32,
    pub(super) every: Duration,
    /// Where a group with no bookmark in Redis starts.
    pub(super) start: Start,
}

/// How a member's turn as leader ended.
enum Led {
    /// It may no longer act (its lease may have run out, or Redis did not
    /// answer), or another member leads now: another member's turn first.
    SteppedDown,
    /// No member holds the lease any more (Redis restarted and kept
    /// nothing): this member takes it again at once, and goes on from
    /// where it was.
    Lost,
    /// Polling again cannot mend this; it ends this member's watch.
    Failed(Error),
}

impl Leader {
    /// Follows, and leads whenever it holds the lease, for as long as the
    /// member's watch lives; returns only an error that polling again
    /// cannot mend, which ends this member's watch.
    pub(super) async fn run(self) -> Error {
        let ttl = self.context.group.leader_ttl;
        // When the lease was last found gone: gone again soon after (a
        // Redis that keeps evicting it) is no restart, and is not chased.
        let mut lost_at: Option<Instant> = None;
        loop {
            let mut holder = self.context.keys.leader.holder();
            let asked = Instant::now();
            let wait = match holder.take(self.context.timeout()).await {
                Ok(Take::Taken { epoch }) => {
                    self.context.answered();
                    let epoch = epoch.unwrap_or(0);
                    match self.lead(holder, asked, epoch).await {
                        Led::Failed(error) => return error,
                        Led::Lost if lost_at.is_none_or(|at| at.elapsed() > ttl) => {
                            lost_at = Some(Instant::now());
                            Duration::ZERO
                        }
                        Led::Lost | Led::SteppedDown => ttl / 3,
                    }
                }
                Ok(Take::Busy(left)) => {
                    self.context.answered();
                    left.clamp(Duration::from_millis(10), ttl / 3)
                }
                Err(cause) => {
                    self.context.failed("taking the leader lease", cause);
                    ttl / 3
                }
            };
            // Members that all ask at once would all ask at once again.
            tokio::time::sleep(wait.mul_f64(1.0 + fastrand::f64() / 4.0)).await;
        }
    }

    /// Leads under the lease `holder` took at `taken_at` with `epoch`,
    /// until it may no longer, then hands the lease back.
    async fn lead(&self, holder: Holder, taken_at: Instant, epoch: u64) -> Led {
        let group = &self.context.group;
        let margin = group.leader_ttl / 4;
        let renewing = holder.renewing(taken_at, Some(epoch), margin, |_| {});
        let mut standing = renewing.standing();
        tracing::info!(group = %group.name, member = %group.member, epoch, "leading the group: polling UltraCart for it");
        let led = {
            let _leading = Leading::start(group);
            self.act(&mut standing, holder.token(), epoch)
                .await
                .unwrap_or(Led::SteppedDown)
        };
        if standing.borrow().may_act() {
            tracing::info!(group = %group.name, member = %group.member, "no longer leading the group");
        } else {
            tracing::warn!(
                group = %group.name,
                member = %group.member,
                "stopped leading the group: its lease could not be renewed in time and may have run out"
            );
        }
        renewing.stop().await;
        // Handed back at once, so that another member need not wait for it
        // to run out.
        let _ = holder.release().await;
        led
    }

    /// Polls and appends while the lease allows; `None` once it may not.
    async fn act(
        &self,
        standing: &mut watch::Receiver<Standing>,
        token: &str,
        mut epoch: u64,
    ) -> Option<Led> {
        let context = &self.context;
        let stored = while_may_act(standing, self.bookmark()).await??;
        // A bookmark Redis lost with a restart: the group goes on from the
        // furthest this member knows it reached.
        let start = match stored.or_else(|| context.furthest_reached()) {
            Some(bookmark) => Start::After(bookmark),
            None => self.start.clone(),
        };
        let mut poller = Poller::new(self.client.clone(), self.page_size, self.every, start);
        let mut next_poll = Instant::now();
        loop {
            let now_epoch = standing.borrow().epoch;
            if let Some(now_epoch) = now_epoch.filter(|e| *e != epoch) {
                // Taken again after Redis lost it, or after it ran out:
                // another leader may have moved the bookmark in between.
                epoch = now_epoch;
                // Gone with a restart that kept nothing: the leader goes on
                // from what it holds.
                if let Some(bookmark) = while_may_act(standing, self.bookmark()).await?? {
                    poller.resume_from(bookmark);
                }
            }
            while_may_act(standing, tokio::time::sleep_until(next_poll)).await?;
            match while_may_act(standing, poller.poll()).await? {
                Polled::Found {
                    found,
                    next_poll: at,
                } => {
                    let mut bookmark = poller.bookmark().clone();
                    let changes = found
                        .iter()
                        .map(|found| {
                            bookmark.advance(found.second, &found.uuid);
                            (
                                found.uuid.clone(),
                                payload::write(&found.summary, &bookmark),
                            )
                        })
                        .collect();
                    let batch = Batch {
                        poll: fastrand::u64(..),
                        bookmark: serde_json::to_string(&bookmark).unwrap_or_default(),
                        changes,
                    };
                    loop {
                        let append = scripts::append(
                            &context.redis,
                            &context.keys,
                            token,
                            epoch,
                            &batch,
                            context.group.retention,
                        );
                        match while_may_act(standing, append).await? {
                            Ok(Appended::Done { pending }) => {
                                context.answered();
                                if let Some(pending) = pending {
                                    let pending = usize::try_from(pending).unwrap_or(usize::MAX);
                                    crate::metrics::group_pending(&context.group.name, pending);
                                }
                                break;
                            }
                            Ok(Appended::Fenced) => {
                                tracing::warn!(
                                    group = %context.group.name,
                                    member = %context.group.member,
                                    "another member leads the group now; what this poll found is left to it"
                                );
                                return Some(Led::SteppedDown);
                            }
                            Ok(Appended::Lost) => {
                                context.answered();
                                tracing::warn!(
                                    group = %context.group.name,
                                    member = %context.group.member,
                                    "Redis no longer knows of the group's leader (restarted without persistence?); taking the lead again"
                                );
                                return Some(Led::Lost);
                            }
                            // Retried as it is: the poll's id makes a
                            // repeat of an append that did land a no-op.
                            Err(cause) if may_come_back(&cause) => {
                                context.failed("appending changes", cause);
                                while_may_act(standing, tokio::time::sleep(APPEND_RETRY)).await?;
                            }
                            Err(cause) => return Some(Led::Failed(context.unavailable(cause))),
                        }
                    }
                    for found in &found {
                        poller.advance(found);
                    }
                    context.reached(poller.bookmark());
                    next_poll = at;
                }
                Polled::Later(at) => next_poll = at,
                Polled::Failed(error) => return Some(Led::Failed(error)),
            }
        }
    }

    /// The group's bookmark in Redis, if it has one; `None` when Redis
    /// did not answer. One this version cannot read is left for a new
    /// start, with a warning.
    async fn bookmark(&self) -> Option<Option<Bookmark>> {
        let context = &self.context;
        let stored = scripts::bookmark(&context.redis, &context.keys, context.timeout()).await;
        let stored = match stored {
            Ok(None) => return Some(None),
            Ok(Some(stored)) => stored,
            Err(cause) => {
                context.failed("reading the group's bookmark", cause);
                return None;
            }
        };
        let read = serde_json::from_str::<Bookmark>(&stored)
            .map_err(|e| Error::bookmark(e.to_string()))
            .and_then(|bookmark| bookmark.check().map(|()| bookmark));
        match read {
            Ok(bookmark) => Some(Some(bookmark)),
            Err(error) => {
                tracing::warn!(
                    group = %context.group.name,
                    error = %error,
                    "the group's bookmark cannot be read; the group starts over as a new one"
                );
                Some(None)
            }
        }
    }
}

/// Runs `work` while the lease allows it: `None` once the lease may have
/// run out, judged on this process's clock. The work is then dropped: a
/// request under way finishes, and none is sent after it.
async fn while_may_act<T>(
    standing: &mut watch::Receiver<Standing>,
    work: impl Future<Output = T>,
) -> Option<T> {
    let mut work = std::pin::pin!(work);
    loop {
        let until = {
            let standing = standing.borrow_and_update();
            if !standing.may_act() {
                return None;
            }
            standing.acting_until()?
        };
        tokio::select! {
            done = &mut work => return Some(done),
            () = tokio::time::sleep_until(until) => {}
            changed = standing.changed() => changed.ok()?,
        }
    }
}

/// While it lives, this member's metrics say it leads the group; dropped
/// (the lead ended, or the watch was dropped mid-lead), they say it does
/// not, and its count of waiting changes no longer adds to the group's.
struct Leading<'a> {
    group: &'a WatchGroup,
}

impl<'a> Leading<'a> {
    fn start(group: &'a WatchGroup) -> Self {
        crate::metrics::group_leader(&group.name, &group.member, true);
        Self { group }
    }
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        crate::metrics::group_leader(&self.group.name, &self.group.member, false);
        crate::metrics::group_pending(&self.group.name, 0);
    }
}

#[cfg(all(test, feature = "metrics"))]
mod tests {
    use super::*;

    #[test]
    fn a_lead_however_it_ends_leaves_the_gauges_saying_this_member_no_longer_leads() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let group = WatchGroup::new("inbox").unwrap().member("pod-a");
        let (during, after) = ::metrics::with_local_recorder(&recorder, || {
            let leading = Leading::start(&group);
            crate::metrics::group_pending("inbox", 7);
            let during = handle.render();
            // Dropped, as a lead's future is when its watch is dropped
            // mid-lead.
            drop(leading);
            (during, handle.render())
        });
        let has = |text: &str, line: &str| text.lines().any(|l| l == line);
        let leader = r#"ultracart_conversation_group_leader{group="inbox",member="pod-a"}"#;
        let pending = r#"ultracart_conversation_group_pending{group="inbox"}"#;
        assert!(has(&during, &format!("{leader} 1")), "{during}");
        assert!(has(&during, &format!("{pending} 7")), "{during}");
        assert!(has(&after, &format!("{leader} 0")), "{after}");
        assert!(has(&after, &format!("{pending} 0")), "{after}");
    }
}
