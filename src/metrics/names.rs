//! The names the metrics are registered under, as a Prometheus exporter
//! renders them.

/// Every HTTP request sent to UltraCart, retries included: a counter
/// labelled `operation` (the spec's operationId: `getConversations`,
/// `getConversation`, ...) and `status` (the HTTP status code as text, or
/// `error` when no answer came: the connection failed, broke or timed
/// out). A request held back by the client's limits and never sent is not
/// counted; one whose caller gave up while it was in flight is, once
/// answered. The media upload's PUT goes to the storage service, not to
/// UltraCart, and is not counted.
///
/// ```
/// assert_eq!(
///     ultracart_conversation::metrics::REQUESTS_TOTAL,
///     "ultracart_conversation_requests_total"
/// );
/// ```
pub const REQUESTS_TOTAL: &str = "ultracart_conversation_requests_total";

/// How long each request counted in [`REQUESTS_TOTAL`] took, from send to
/// the whole answer read (or the error), in seconds: a histogram labelled
/// `operation`.
///
/// ```
/// assert_eq!(
///     ultracart_conversation::metrics::REQUEST_DURATION_SECONDS,
///     "ultracart_conversation_request_duration_seconds"
/// );
/// ```
pub const REQUEST_DURATION_SECONDS: &str = "ultracart_conversation_request_duration_seconds";

/// How long each request counted in [`REQUESTS_TOTAL`] waited before it
/// was sent, in seconds: for the in-flight gate, a told rate limit, a
/// 429's `Retry-After`, the pace learned from 429s, or the limits shared
/// through Redis. A histogram without labels.
///
/// ```
/// assert_eq!(
///     ultracart_conversation::metrics::ADMISSION_WAIT_SECONDS,
///     "ultracart_conversation_admission_wait_seconds"
/// );
/// ```
pub const ADMISSION_WAIT_SECONDS: &str = "ultracart_conversation_admission_wait_seconds";

/// Retries of requests to UltraCart: a counter labelled `operation` and
/// `reason`, one of `rate_limited` (a 429), `server_error` (500, 502, 503,
/// 504), `connection_failed`, `timed_out` and `connection_broke`.
///
/// ```
/// assert_eq!(
///     ultracart_conversation::metrics::RETRIES_TOTAL,
///     "ultracart_conversation_retries_total"
/// );
/// ```
pub const RETRIES_TOTAL: &str = "ultracart_conversation_retries_total";

/// How many requests a told hourly or daily budget lets the client send
/// right now, as of its last request: a gauge labelled `window` (`hour`,
/// `day`). Set only when the client was told a rate
/// ([`ClientBuilder::rate_limit`](crate::ClientBuilder::rate_limit)) whose
/// bucket refills in an hour or a day, such as
/// [`RateLimit::ultracart_default`](crate::RateLimit::ultracart_default)
/// (both) or [`RateLimit::per_hour`](crate::RateLimit::per_hour). The
/// client keeps one request of a budget in reserve, so a full hourly
/// budget of 1,000 reads 999. With shared limits, it is the budget all
/// processes share, as Redis counted it when this process's last request
/// was admitted.
///
/// ```
/// assert_eq!(
///     ultracart_conversation::metrics::BUDGET_REMAINING,
///     "ultracart_conversation_budget_remaining"
/// );
/// ```
pub const BUDGET_REMAINING: &str = "ultracart_conversation_budget_remaining";

/// Admissions that could not consult the limits shared through Redis
/// (unreachable, too slow, refusing): a counter without labels.
///
/// ```
/// assert_eq!(
///     ultracart_conversation::metrics::SHARED_LIMITS_UNAVAILABLE_TOTAL,
///     "ultracart_conversation_shared_limits_unavailable_total"
/// );
/// ```
pub const SHARED_LIMITS_UNAVAILABLE_TOTAL: &str =
    "ultracart_conversation_shared_limits_unavailable_total";

/// Polls made by every [`Watch`](crate::Watch), failed ones included: a
/// counter without labels.
///
/// ```
/// assert_eq!(
///     ultracart_conversation::metrics::WATCH_POLLS_TOTAL,
///     "ultracart_conversation_watch_polls_total"
/// );
/// ```
pub const WATCH_POLLS_TOTAL: &str = "ultracart_conversation_watch_polls_total";

/// Changes reported by every [`Watch`](crate::Watch): a counter without
/// labels.
///
/// ```
/// assert_eq!(
///     ultracart_conversation::metrics::WATCH_CHANGES_TOTAL,
///     "ultracart_conversation_watch_changes_total"
/// );
/// ```
pub const WATCH_CHANGES_TOTAL: &str = "ultracart_conversation_watch_changes_total";

/// How far behind a watch is: for each change reported, the time from its
/// conversation's `last_message_dts` to the moment it was reported, in
/// seconds (a change without a `last_message_dts` is counted but not
/// timed). A histogram without labels.
///
/// ```
/// assert_eq!(
///     ultracart_conversation::metrics::WATCH_CHANGE_AGE_SECONDS,
///     "ultracart_conversation_watch_change_age_seconds"
/// );
/// ```
pub const WATCH_CHANGE_AGE_SECONDS: &str = "ultracart_conversation_watch_change_age_seconds";

/// Which member leads a group watch: a gauge labelled `group` and
/// `member`, 1 on the leader and 0 on the others. A group with no member
/// at 1 has no leader.
///
/// ```
/// assert_eq!(
///     ultracart_conversation::metrics::GROUP_LEADER,
///     "ultracart_conversation_group_leader"
/// );
/// ```
pub const GROUP_LEADER: &str = "ultracart_conversation_group_leader";

/// Changes a group watch delivered to a member: a counter labelled
/// `group` and `attempt` (`first`, or `again` for a redelivery).
///
/// ```
/// assert_eq!(
///     ultracart_conversation::metrics::GROUP_DELIVERIES_TOTAL,
///     "ultracart_conversation_group_deliveries_total"
/// );
/// ```
pub const GROUP_DELIVERIES_TOTAL: &str = "ultracart_conversation_group_deliveries_total";

/// Changes a group watch stopped delivering and set aside as dead letters:
/// a counter labelled `group`.
///
/// ```
/// assert_eq!(
///     ultracart_conversation::metrics::GROUP_DEAD_LETTERS_TOTAL,
///     "ultracart_conversation_group_dead_letters_total"
/// );
/// ```
pub const GROUP_DEAD_LETTERS_TOTAL: &str = "ultracart_conversation_group_dead_letters_total";

/// Changes a group watch holds that no member has acknowledged yet: a
/// gauge labelled `group`, set by the leader at each append and to 0 by a
/// member that stops leading, so the group's figure is the `max` across
/// replicas.
///
/// ```
/// assert_eq!(
///     ultracart_conversation::metrics::GROUP_PENDING,
///     "ultracart_conversation_group_pending"
/// );
/// ```
pub const GROUP_PENDING: &str = "ultracart_conversation_group_pending";
