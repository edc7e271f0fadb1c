//! One attempt: wait for a slot at the gate, send, read the answer.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use futures::future::BoxFuture;
use tokio::sync::Semaphore;
use tracing::Instrument;

use super::{answer::Answer, pacing::Pacing};
use crate::net::read_capped;

/// What one attempt came to.
pub(crate) type Attempted = Result<Answer, reqwest::Error>;

/// Sends `request` once a slot of `gate` is free and `pacing` allows it, and
/// reads the whole answer, up to `limit` bytes.
///
/// The attempt keeps the slot until the answer is read or the request's
/// timeout ends it, even when the caller stops waiting: UltraCart is still
/// working on a request whose caller went away, and a slot freed early
/// would let the next request overlap it. So a caller that drops the call
/// hands the attempt to a task of its own, which finishes it.
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
    let attempt = async move {
        let answer = send_and_read(&http, request, limit).await;
        drop(permit);
        // Here, not in the caller: a dropped caller's request still
        // teaches the client its pace.
        if let Ok(answer) = &answer {
            pacing.answered(ticket, answer.status, answer.retry_after());
        }
        answer
    };
    FinishOnDrop(Some(Box::pin(attempt.in_current_span()))).await
}

/// A future that, dropped before it is done, is finished on a task of its
/// own. Polled inline while its caller waits: a task per attempt would cost
/// more than the rest of the pipeline.
struct FinishOnDrop<T: Send + 'static>(Option<BoxFuture<'static, T>>);

impl<T: Send + 'static> Future for FinishOnDrop<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let Some(inner) = self.0.as_mut() else {
            // Not polled again after it was ready: `await` never does.
            return Poll::Pending;
        };
        let output = std::task::ready!(inner.as_mut().poll(cx));
        self.0 = None;
        Poll::Ready(output)
    }
}

impl<T: Send + 'static> Drop for FinishOnDrop<T> {
    fn drop(&mut self) {
        if let (Some(unfinished), Ok(runtime)) =
            (self.0.take(), tokio::runtime::Handle::try_current())
        {
            runtime.spawn(unfinished);
        }
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
