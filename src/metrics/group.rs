//! The group watch: which member leads, what it delivered, what it gave up
//! on, and what waits.
//!
//! Its labels are the application's names for the group and its members:
//! they allocate when recorded, which a group's events, a few a second at
//! most, can afford. A member's name should outlive a restart (a host or
//! pod name), or every restart leaves a series behind.

#[cfg(feature = "metrics")]
use super::names::{GROUP_DEAD_LETTERS_TOTAL, GROUP_DELIVERIES_TOTAL, GROUP_LEADER, GROUP_PENDING};

/// Records whether `member` leads `group` now: call it on each member
/// when it takes or loses the lead (and once when it joins), so that the
/// gauge reads 1 on the leader and 0 elsewhere.
#[inline]
pub(crate) fn group_leader(group: &str, member: &str, leads: bool) {
    #[cfg(feature = "metrics")]
    ::metrics::gauge!(GROUP_LEADER, "group" => group.to_owned(), "member" => member.to_owned())
        .set(if leads { 1.0 } else { 0.0 });
    #[cfg(not(feature = "metrics"))]
    let _ = (group, member, leads);
}

/// Counts a change of `group` delivered to a member: `first` for its
/// first delivery, otherwise a redelivery.
#[inline]
pub(crate) fn group_delivered(group: &str, first: bool) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(
        GROUP_DELIVERIES_TOTAL,
        "group" => group.to_owned(),
        "attempt" => if first { "first" } else { "again" }
    )
    .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (group, first);
}

/// Counts a change of `group` given up on and set aside as a dead letter.
#[inline]
pub(crate) fn group_dead_lettered(group: &str) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(GROUP_DEAD_LETTERS_TOTAL, "group" => group.to_owned()).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = group;
}

/// Records how many changes of `group` wait to be delivered or
/// acknowledged now.
#[inline]
pub(crate) fn group_pending(group: &str, pending: usize) {
    #[cfg(feature = "metrics")]
    ::metrics::gauge!(GROUP_PENDING, "group" => group.to_owned()).set(pending as f64);
    #[cfg(not(feature = "metrics"))]
    let _ = (group, pending);
}

#[cfg(all(test, feature = "metrics"))]
mod tests {
    use super::*;
    use crate::metrics::tests::rendered;

    #[test]
    fn a_group_shows_its_leader_deliveries_dead_letters_and_backlog() {
        let text = rendered(|| {
            group_leader("inbox", "pod-a", false);
            group_leader("inbox", "pod-b", false);
            group_leader("inbox", "pod-a", true);
            group_delivered("inbox", true);
            group_delivered("inbox", true);
            group_delivered("inbox", false);
            group_dead_lettered("inbox");
            group_pending("inbox", 7);
            group_pending("inbox", 3);
        });
        for line in [
            r#"ultracart_conversation_group_leader{group="inbox",member="pod-a"} 1"#,
            r#"ultracart_conversation_group_leader{group="inbox",member="pod-b"} 0"#,
            r#"ultracart_conversation_group_deliveries_total{group="inbox",attempt="first"} 2"#,
            r#"ultracart_conversation_group_deliveries_total{group="inbox",attempt="again"} 1"#,
            r#"ultracart_conversation_group_dead_letters_total{group="inbox"} 1"#,
            r#"ultracart_conversation_group_pending{group="inbox"} 3"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line}\n{text}");
        }
    }
}
