//! [`WatchGroup`]: which group a replica's watch belongs to, and how the
//! group hands out its changes.

use std::time::Duration;

use crate::{
    Error,
    redis::{key_char, key_part},
};

const DEFAULT_LEADER_TTL: Duration = Duration::from_secs(15);
const DEFAULT_CLAIM_AFTER: Duration = Duration::from_secs(60);
const DEFAULT_MAX_DELIVERIES: u32 = 5;
const DEFAULT_RETENTION: Duration = Duration::from_secs(24 * 3_600);
/// A lease shorter than this would be renewed faster than Redis answers
/// across a loaded network; longer than this, a dead leader stalls the
/// group for too long to call it a watch.
const SHORTEST_LEADER_TTL: Duration = Duration::from_millis(300);
const LONGEST_LEADER_TTL: Duration = Duration::from_secs(3_600);
/// Below this a member would ask Redis for claims faster than it answers;
/// a change held longer than a day is a handler that never ends.
const SHORTEST_CLAIM_AFTER: Duration = Duration::from_millis(10);
const LONGEST_CLAIM_AFTER: Duration = Duration::from_secs(24 * 3_600);
/// Longer, and the stream of a busy inbox would hold more than a Redis
/// should keep for it.
const LONGEST_RETENTION: Duration = Duration::from_secs(90 * 24 * 3_600);

/// A group of replicas that follow one inbox together: one of them polls
/// UltraCart, and each change goes to one of them. Give it to
/// [`Watch::group`](crate::Watch::group); every replica names the same
/// group, each with a member name of its own.
///
/// The group lives in the Redis of the client's
/// [`SharedLimits`](crate::SharedLimits), within its namespace.
///
/// ```
/// use std::time::Duration;
/// use ultracart_conversation::WatchGroup;
///
/// let group = WatchGroup::new("support-desk")?
///     .member("pod-7")
///     .leader_ttl(Duration::from_secs(10))
///     .claim_after(Duration::from_secs(120))
///     .max_deliveries(3)
///     .retention(Duration::from_secs(6 * 3_600));
/// # let _ = group;
/// # Ok::<(), ultracart_conversation::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct WatchGroup {
    pub(super) name: String,
    pub(super) member: String,
    pub(super) leader_ttl: Duration,
    pub(super) claim_after: Duration,
    pub(super) max_deliveries: u32,
    pub(super) retention: Duration,
}

impl WatchGroup {
    /// The group called `name` within the namespace: 1 to 128 printable
    /// ASCII characters without spaces, `{` or `}`. The member is this
    /// replica's host name and process id until [`member`](Self::member)
    /// names it.
    ///
    /// ```
    /// # use ultracart_conversation::WatchGroup;
    /// assert!(WatchGroup::new("support-desk").is_ok());
    /// assert!(WatchGroup::new("no spaces").is_err());
    /// ```
    pub fn new(name: &str) -> Result<Self, Error> {
        Ok(Self {
            name: key_part("a group name", name)?.to_string(),
            member: default_member(),
            leader_ttl: DEFAULT_LEADER_TTL,
            claim_after: DEFAULT_CLAIM_AFTER,
            max_deliveries: DEFAULT_MAX_DELIVERIES,
            retention: DEFAULT_RETENTION,
        })
    }

    /// This replica's name in the group (default: host name and process
    /// id). A change handed to a member is handed to it again if it comes
    /// back under the same name. A name the group cannot use (the rules
    /// of [`new`](Self::new)) makes the group watch yield
    /// [`Error::Config`] and end.
    ///
    /// ```
    /// # use ultracart_conversation::WatchGroup;
    /// let group = WatchGroup::new("support-desk")?.member("pod-7");
    /// # let _ = group;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn member(mut self, name: &str) -> Self {
        self.member = name.to_string();
        self
    }

    /// How long the leader's lease lives without a renewal (default 15 s,
    /// 300 ms to an hour): a member takes over within about this long of
    /// the leader's death. The leader renews it every third of this, and
    /// stops polling before it can have run out.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ultracart_conversation::WatchGroup;
    /// let group = WatchGroup::new("desk")?.leader_ttl(Duration::from_secs(5));
    /// # let _ = group;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn leader_ttl(mut self, ttl: Duration) -> Self {
        self.leader_ttl = ttl;
        self
    }

    /// How long a member may hold a change without acking it before it is
    /// handed to another member, with [`Delivery::attempt`](crate::Delivery::attempt)
    /// one higher (default 60 s; set it above your handler's slowest
    /// run; at most a day).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ultracart_conversation::WatchGroup;
    /// let group = WatchGroup::new("desk")?.claim_after(Duration::from_secs(300));
    /// # let _ = group;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn claim_after(mut self, after: Duration) -> Self {
        self.claim_after = after;
        self
    }

    /// How many times a change is handed out before it is moved to the
    /// group's dead letters, with a warning, and never handed out again
    /// (default 5, at least 1).
    ///
    /// ```
    /// # use ultracart_conversation::WatchGroup;
    /// let group = WatchGroup::new("desk")?.max_deliveries(3);
    /// # let _ = group;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn max_deliveries(mut self, deliveries: u32) -> Self {
        self.max_deliveries = deliveries.max(1);
        self
    }

    /// How long acked changes and dead letters are kept in Redis (default
    /// 24 h, at most 90 days). A change still in someone's hands, or not
    /// yet handed out, is kept however old.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ultracart_conversation::WatchGroup;
    /// let group = WatchGroup::new("desk")?.retention(Duration::from_secs(3_600));
    /// # let _ = group;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// The settings checked, before the group watch starts.
    pub(super) fn check(&self) -> Result<(), Error> {
        key_part("a member name", &self.member)?;
        if !(SHORTEST_LEADER_TTL..=LONGEST_LEADER_TTL).contains(&self.leader_ttl) {
            return Err(Error::config(
                "a group's leader lease lives from 300 ms to an hour",
            ));
        }
        if !(SHORTEST_CLAIM_AFTER..=LONGEST_CLAIM_AFTER).contains(&self.claim_after) {
            return Err(Error::config(
                "a group hands a change on after 10 ms to a day",
            ));
        }
        if self.retention > LONGEST_RETENTION {
            return Err(Error::config(
                "a group keeps acked changes for at most 90 days",
            ));
        }
        Ok(())
    }
}

/// This replica as the group knows it by default: its host name (a pod's
/// name on Kubernetes) and process id.
fn default_member() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|host| {
            host.trim()
                .chars()
                .filter(|c| key_char(*c))
                .take(100)
                .collect::<String>()
        })
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| "host".to_string());
    format!("{host}-{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redis::LONGEST_NAME;

    #[test]
    fn names_that_would_break_the_key_layout_are_refused() {
        for bad in ["", "a b", "a{b}", &"x".repeat(LONGEST_NAME + 1), "é"] {
            assert!(WatchGroup::new(bad).is_err(), "{bad:?}");
            let group = WatchGroup::new("desk").unwrap().member(bad);
            assert!(group.check().is_err(), "member {bad:?}");
        }
    }

    #[test]
    fn the_default_member_is_a_usable_name_with_the_process_id() {
        let group = WatchGroup::new("desk").unwrap();
        group.check().unwrap();
        assert!(group.member.ends_with(&std::process::id().to_string()));
    }

    #[test]
    fn a_leader_lease_out_of_range_is_refused() {
        let group = WatchGroup::new("desk").unwrap();
        assert!(
            group
                .clone()
                .leader_ttl(Duration::from_millis(10))
                .check()
                .is_err()
        );
        assert!(
            group
                .leader_ttl(Duration::from_secs(7_200))
                .check()
                .is_err()
        );
    }

    #[test]
    fn a_claim_time_or_retention_redis_could_not_count_to_is_refused() {
        let group = WatchGroup::new("desk").unwrap();
        for bad in [
            group.clone().claim_after(Duration::from_millis(1)),
            group.clone().claim_after(Duration::MAX),
            group.clone().retention(Duration::MAX),
            group
                .clone()
                .retention(Duration::from_secs(100 * 365 * 24 * 3_600)),
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        group
            .claim_after(Duration::from_secs(24 * 3_600))
            .retention(Duration::from_secs(90 * 24 * 3_600))
            .check()
            .unwrap();
    }
}
