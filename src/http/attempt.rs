//! One attempt: wait for a slot at the gate, send, read the answer.

use std::sync::Arc;

use tokio::sync::Semaphore;
use tracing::Instrument;

use super::{answer::Answer, pacing::Pacing};
use crate::net::read_capped;

/// What one attempt came to.
pub(crate) type Attempted = Result<Answer, reqwest::Error>;

/// Sends `request` once a slot of `gate` is free and `pacing` allows it, and
/// reads the whole answer, up to `limit` bytes.
///
/// The send and the read run in a task of their own that keeps the slot
/// until the answer is read or the request's timeout ends it, even when the
/// caller stops waiting: UltraCart is still working on a request whose caller
/// went away, and a slot freed early would let the next request overlap it.
pub(crate) async fn send(
    gate: &Arc<Semaphore>,
    pacing: &Arc<Pacing>,
    http: &reqwest::Client,
    request: reqwest::Request,
    limit: usize,
) -> Attempted {
    // The semaphore is never closed, so acquiring cannot fail; if it ever
    // were, requests would go out ungated rather than fail.
    let permit = gate.clone().acquire_owned().await.ok();
    let ticket = pacing.wait_turn().await;
    let http = http.clone();
    let pacing = Arc::clone(pacing);
    let attempt = tokio::spawn(
        async move {
            let answer = send_and_read(&http, request, limit).await;
            drop(permit);
            // Here, not in the caller: a cancelled caller's request still
            // teaches the client its pace.
            if let Ok(answer) = &answer {
                pacing.answered(ticket, answer.status, answer.retry_after());
            }
            answer
        }
        .in_current_span(),
    );
    match attempt.await {
        Ok(attempted) => attempted,
        // The task is never aborted, so it can only have panicked.
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}

async fn send_and_read(
    http: &reqwest::Client,
    request: reqwest::Request,
    limit: usize,
) -> Attempted {
    let sent_to = request.url().clone();
    let mut response = http.execute(request).await?;
    let status = response.status();
    let version = response.version();
    let headers = std::mem::take(response.headers_mut());
    let url = response.url().clone();
    let body = read_capped(&mut response, limit).await?;
    Ok(Answer {
        status,
        version,
        headers,
        redirected: url != sent_to,
        url,
        body,
    })
}
