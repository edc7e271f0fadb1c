//! What the client does, as numbers: requests, latency, admission waits,
//! retries, budgets, the watch and the group watch, recorded through the
//! [`metrics`](https://docs.rs/metrics) facade (feature `metrics`).
//!
//! The application picks the exporter (Prometheus, StatsD, an
//! OpenTelemetry bridge) and installs it as the process's recorder; the
//! crate only records. Without a recorder each record is the facade's
//! no-op, and without the feature the recording compiles to nothing.
//!
//! | name | kind | labels | what |
//! |---|---|---|---|
//! | [`ultracart_conversation_requests_total`](REQUESTS_TOTAL) | counter | `operation`, `status` | every request sent to UltraCart, retries included; `status` is the HTTP status, or `error` when no answer came |
//! | [`ultracart_conversation_request_duration_seconds`](REQUEST_DURATION_SECONDS) | histogram | `operation` | from send to the whole answer read |
//! | [`ultracart_conversation_admission_wait_seconds`](ADMISSION_WAIT_SECONDS) | histogram | | how long a request waited before it was sent |
//! | [`ultracart_conversation_retries_total`](RETRIES_TOTAL) | counter | `operation`, `reason` | retries, by why |
//! | [`ultracart_conversation_budget_remaining`](BUDGET_REMAINING) | gauge | `window` | requests a told hourly or daily budget has left |
//! | [`ultracart_conversation_shared_limits_unavailable_total`](SHARED_LIMITS_UNAVAILABLE_TOTAL) | counter | | admissions that could not reach the shared limits' Redis |
//! | [`ultracart_conversation_watch_polls_total`](WATCH_POLLS_TOTAL) | counter | | polls of every watch |
//! | [`ultracart_conversation_watch_changes_total`](WATCH_CHANGES_TOTAL) | counter | | changes every watch reported |
//! | [`ultracart_conversation_watch_change_age_seconds`](WATCH_CHANGE_AGE_SECONDS) | histogram | | how old a change was when reported |
//! | [`ultracart_conversation_group_leader`](GROUP_LEADER) | gauge | `group`, `member` | 1 on the member that leads a group watch, 0 on the others |
//! | [`ultracart_conversation_group_deliveries_total`](GROUP_DELIVERIES_TOTAL) | counter | `group`, `attempt` | changes a group watch delivered |
//! | [`ultracart_conversation_group_dead_letters_total`](GROUP_DEAD_LETTERS_TOTAL) | counter | `group` | changes a group watch gave up on |
//! | [`ultracart_conversation_group_pending`](GROUP_PENDING) | gauge | `group` | changes a group watch holds undelivered |
//!
//! No label carries a credential, a conversation uuid or any other value
//! without bound: `operation` is one of the spec's seven operationIds,
//! `status` an HTTP status code, `reason` and `window` come from small
//! fixed sets, and `group` and `member` are the names the application gives
//! its group watches and their members.
//!
#![cfg_attr(feature = "mock", doc = "```")]
#![cfg_attr(not(feature = "mock"), doc = "```ignore")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ultracart_conversation::Error> {
//! // The application's choice of exporter; here Prometheus, rendered in
//! // the process (metrics-exporter-prometheus can also serve it on a port).
//! let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new()
//!     .install_recorder()
//!     .expect("no other recorder installed");
//! ultracart_conversation::metrics::describe();
//!
//! # let demo = ultracart_conversation::mock::DemoServer::start().await;
//! # let client = demo.client()?;
//! client.get_conversations(10, 0).await?;
//!
//! let text = prometheus.render();
//! assert!(text.contains(
//!     r#"ultracart_conversation_requests_total{operation="getConversations",status="200"} 1"#
//! ));
//! # Ok(()) }
//! ```

#[cfg(feature = "metrics")]
mod describe;
#[cfg(feature = "metrics")]
mod labels;
#[cfg(feature = "metrics")]
mod names;

mod budget;
#[cfg(feature = "redis")]
mod group;
mod requests;
mod watch;

pub(crate) use budget::budget_remaining;
#[cfg(feature = "redis")]
pub(crate) use budget::{shared_budget, shared_limits_unavailable};
#[cfg(feature = "redis")]
pub(crate) use group::{group_dead_lettered, group_delivered, group_leader, group_pending};
pub(crate) use requests::{admission, request, retry};
pub(crate) use watch::{watch_poll, watch_reported};

#[cfg(feature = "metrics")]
pub use describe::describe;
#[cfg(feature = "metrics")]
pub use names::*;

#[cfg(all(test, feature = "metrics"))]
pub(crate) mod tests {
    /// What `record` recorded, as Prometheus renders it, with a recorder of
    /// its own (this thread only, so tests running beside it do not mix in).
    pub(crate) fn rendered(record: impl FnOnce()) -> String {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        ::metrics::with_local_recorder(&recorder, record);
        handle.render()
    }
}
