//! What each metric means, in words and units, for exporters that show it.

use ::metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

use super::names::*;

/// Gives the installed recorder a description and a unit for each of the
/// crate's metrics, which exporters show (Prometheus as `# HELP` lines).
/// Call it once, after installing the recorder; the metrics are recorded
/// whether or not it was called.
///
/// ```
/// let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
///     .install_recorder()
///     .expect("no other recorder installed");
/// ultracart_conversation::metrics::describe();
/// # metrics::counter!(ultracart_conversation::metrics::REQUESTS_TOTAL).increment(1);
/// assert!(handle.render().contains("# HELP ultracart_conversation_requests_total"));
/// ```
pub fn describe() {
    describe_counter!(
        REQUESTS_TOTAL,
        Unit::Count,
        "Requests sent to UltraCart, retries included, by operationId and HTTP status (error: no answer came)."
    );
    describe_histogram!(
        REQUEST_DURATION_SECONDS,
        Unit::Seconds,
        "How long a request to UltraCart took, from send to the whole answer read."
    );
    describe_histogram!(
        ADMISSION_WAIT_SECONDS,
        Unit::Seconds,
        "How long a request waited before it was sent: in-flight gate, told rate, a 429's pause, learned pace, shared limits."
    );
    describe_counter!(
        RETRIES_TOTAL,
        Unit::Count,
        "Retries of requests to UltraCart, by operationId and reason."
    );
    describe_gauge!(
        BUDGET_REMAINING,
        Unit::Count,
        "Requests a told hourly or daily budget lets the client send now, as of its last request."
    );
    describe_counter!(
        SHARED_LIMITS_UNAVAILABLE_TOTAL,
        Unit::Count,
        "Admissions that could not consult the limits shared through Redis."
    );
    describe_counter!(WATCH_POLLS_TOTAL, Unit::Count, "Polls of every watch.");
    describe_counter!(
        WATCH_CHANGES_TOTAL,
        Unit::Count,
        "Changes every watch reported."
    );
    describe_histogram!(
        WATCH_CHANGE_AGE_SECONDS,
        Unit::Seconds,
        "How old a change was when a watch reported it: now minus its last_message_dts."
    );
    describe_gauge!(
        GROUP_LEADER,
        "1 on the member that leads a group watch, 0 on the others."
    );
    describe_counter!(
        GROUP_DELIVERIES_TOTAL,
        Unit::Count,
        "Changes a group watch delivered, first time or again."
    );
    describe_counter!(
        GROUP_DEAD_LETTERS_TOTAL,
        Unit::Count,
        "Changes a group watch gave up on."
    );
    describe_gauge!(
        GROUP_PENDING,
        Unit::Count,
        "Changes a group watch holds that no member has acknowledged yet, as its leader counted them (0 on other members)."
    );
}
