//! Where one group keeps its state, within the client's namespace: every
//! key under one hash tag, so each script's keys are on one Cluster node.

use std::time::Duration;

use crate::redis::{Lease, Redis};

/// One group's keys, and its leader lease.
#[derive(Clone)]
pub(super) struct GroupKeys {
    /// The stream of changes the leader appended.
    pub(super) changes: String,
    /// Conversations with a change in the stream not yet acked.
    pub(super) open: String,
    /// Changes waiting for their conversation's open change to be acked.
    pub(super) held: String,
    /// Changes handed out too often.
    pub(super) dead: String,
    /// Where the leader's polls go on from.
    pub(super) bookmark: String,
    pub(super) leader: Lease,
}

impl GroupKeys {
    pub(super) fn new(redis: &Redis, group: &str, leader_ttl: Duration) -> Self {
        let key = |part: &str| redis.namespace.key(&format!("group:{group}:{part}"));
        Self {
            changes: key("changes"),
            open: key("open"),
            held: key("held"),
            dead: key("dead"),
            bookmark: key("bookmark"),
            leader: Lease::new(redis, &format!("group:{group}:leader"), leader_ttl, 1).fenced(),
        }
    }
}
