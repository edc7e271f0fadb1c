//! Requests to UltraCart: each one sent, how long it took, how long it
//! waited before it was sent, and the retries.

use std::future::Future;

#[cfg(feature = "metrics")]
use std::time::{Duration, Instant};

#[cfg(feature = "metrics")]
use super::{
    labels::{self, Set},
    names::{ADMISSION_WAIT_SECONDS, REQUEST_DURATION_SECONDS, REQUESTS_TOTAL, RETRIES_TOTAL},
};
#[cfg(feature = "metrics")]
use crate::StatusCode;
use crate::http::{Answer, retry::Reason};

/// Runs `send`, one request to UltraCart for `operation` (its operationId),
/// and counts it as sent: its status, or `error` without an answer, and
/// how long it took, from send to the whole answer read. Await it where
/// the request is sent, after admission, so that a request never sent is
/// never counted.
#[cfg(feature = "metrics")]
pub(crate) async fn request<F>(operation: &'static str, send: F) -> F::Output
where
    F: Future<Output = Result<Answer, reqwest::Error>>,
{
    let sent = Instant::now();
    let answer = send.await;
    request_sent(
        operation,
        answer.as_ref().ok().map(|answer| answer.status),
        sent.elapsed(),
    );
    answer
}

/// Without the feature: `send` itself.
#[cfg(not(feature = "metrics"))]
#[inline(always)]
pub(crate) fn request<F>(operation: &'static str, send: F) -> F
where
    F: Future<Output = Result<Answer, reqwest::Error>>,
{
    let _ = operation;
    send
}

/// Counts one request sent for `operation`: `status` is the answer's, or
/// `None` when no answer came; `took` from send to the whole answer read.
#[cfg(feature = "metrics")]
fn request_sent(operation: &'static str, status: Option<StatusCode>, took: Duration) {
    let status = status.map(|status| status.as_u16());
    labels::counter(REQUESTS_TOTAL, Set::Request { operation, status }).increment(1);
    labels::histogram(REQUEST_DURATION_SECONDS, Set::Operation(operation))
        .record(took.as_secs_f64());
}

/// Runs `admit`, a request's wait for its turn, and records how long it
/// waited when it was let through (a request refused is never sent).
#[cfg(feature = "metrics")]
pub(crate) async fn admission<F, T, E>(admit: F) -> F::Output
where
    F: Future<Output = Result<T, E>>,
{
    let asked = Instant::now();
    let admitted = admit.await;
    if admitted.is_ok() {
        ::metrics::histogram!(ADMISSION_WAIT_SECONDS).record(asked.elapsed().as_secs_f64());
    }
    admitted
}

/// Without the feature: `admit` itself.
#[cfg(not(feature = "metrics"))]
#[inline(always)]
pub(crate) fn admission<F, T, E>(admit: F) -> F
where
    F: Future<Output = Result<T, E>>,
{
    admit
}

/// Counts a retry of a request to `operation` (`None`: a request that is
/// not UltraCart's, such as the media upload's PUT, and is not counted).
#[inline]
pub(crate) fn retry(operation: Option<&'static str>, reason: Reason) {
    #[cfg(feature = "metrics")]
    if let Some(operation) = operation {
        let reason = reason_label(reason);
        labels::counter(RETRIES_TOTAL, Set::Retry { operation, reason }).increment(1);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (operation, reason);
}

/// The `reason` label of a retry: stable snake_case, whatever the log
/// says.
#[cfg(feature = "metrics")]
fn reason_label(reason: Reason) -> &'static str {
    match reason {
        Reason::RateLimited { .. } => "rate_limited",
        Reason::ServerError { .. } => "server_error",
        Reason::ConnectionFailed => "connection_failed",
        Reason::TimedOut => "timed_out",
        Reason::ConnectionBroke => "connection_broke",
    }
}

#[cfg(all(test, feature = "metrics"))]
mod tests {
    use super::*;
    use crate::metrics::tests::rendered;

    #[test]
    fn a_request_counts_by_operation_and_status_and_is_timed() {
        let text = rendered(|| {
            request_sent(
                "getConversations",
                Some(StatusCode::OK),
                Duration::from_millis(30),
            );
            request_sent(
                "getConversations",
                Some(StatusCode::TOO_MANY_REQUESTS),
                Duration::from_millis(5),
            );
            request_sent("getConversation", None, Duration::from_millis(5));
        });
        for line in [
            r#"ultracart_conversation_requests_total{operation="getConversations",status="200"} 1"#,
            r#"ultracart_conversation_requests_total{operation="getConversations",status="429"} 1"#,
            r#"ultracart_conversation_requests_total{operation="getConversation",status="error"} 1"#,
            r#"ultracart_conversation_request_duration_seconds_count{operation="getConversations"} 2"#,
            r#"ultracart_conversation_request_duration_seconds_count{operation="getConversation"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line}\n{text}");
        }
    }

    #[test]
    fn only_admitted_requests_record_their_wait() {
        let text = rendered(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            runtime.block_on(async {
                admission(async { Ok::<_, ()>(()) }).await.unwrap();
                admission(async { Err::<(), _>(()) }).await.unwrap_err();
            });
        });
        assert!(
            text.lines()
                .any(|l| l == "ultracart_conversation_admission_wait_seconds_count 1"),
            "{text}"
        );
    }

    #[test]
    fn retries_count_by_a_small_fixed_set_of_reasons() {
        let text = rendered(|| {
            retry(
                Some("getConversations"),
                Reason::RateLimited { retry_after: true },
            );
            retry(
                Some("getConversations"),
                Reason::RateLimited { retry_after: false },
            );
            retry(
                Some("getConversation"),
                Reason::ServerError { retry_after: false },
            );
            retry(None, Reason::ConnectionBroke);
        });
        assert!(text.contains(
            r#"ultracart_conversation_retries_total{operation="getConversations",reason="rate_limited"} 2"#
        ), "{text}");
        assert!(text.contains(
            r#"ultracart_conversation_retries_total{operation="getConversation",reason="server_error"} 1"#
        ), "{text}");
        assert!(
            !text.contains("connection_broke"),
            "not UltraCart's: {text}"
        );
        let labels = [
            Reason::RateLimited { retry_after: true },
            Reason::ServerError { retry_after: true },
            Reason::ConnectionFailed,
            Reason::TimedOut,
            Reason::ConnectionBroke,
        ]
        .map(reason_label);
        assert_eq!(
            labels,
            [
                "rate_limited",
                "server_error",
                "connection_failed",
                "timed_out",
                "connection_broke"
            ]
        );
    }
}
