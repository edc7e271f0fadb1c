//! One attempt: wait to be admitted, send, read the answer.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use futures::future::BoxFuture;
use tracing::Instrument;

use super::{
    admission::{Admission, Refusal},
    answer::Answer,
    retry_after,
};
use crate::{Error, net::read_capped};

/// What one attempt came to.
pub(crate) type Attempted = Result<Answer, Unsent>;

/// An attempt that got no answer.
#[derive(Debug)]
pub(crate) enum Unsent {
    /// The HTTP library's error: the connection failed, broke or timed out.
    Http(reqwest::Error),
    /// Not sent: a 429's `Retry-After` or the learned pace would have held
    /// it back this much longer than the caller waits.
    HeldBack(Duration),
    /// Not sent: the limits shared with other processes could not be
    /// consulted.
    Unavailable(Error),
}

/// Sends `request` once `admission` lets it go, and reads the whole answer,
/// up to `limit` bytes. With a `patience`, a request that pacing would hold
/// back longer than that is not sent. `operation` (its operationId) names
/// it in the metrics.
///
/// The attempt keeps its place in flight until the answer is read or the
/// request's timeout ends it, even when the caller stops waiting: UltraCart
/// is still working on a request whose caller went away, and a place freed
/// early would let the next request overlap it. So a caller that drops the
/// call hands the attempt to a task of its own, which finishes it.
pub(crate) async fn send(
    admission: &Arc<dyn Admission>,
    http: &reqwest::Client,
    request: reqwest::Request,
    limit: usize,
    patience: Option<Duration>,
    operation: &'static str,
) -> Attempted {
    let pass = crate::metrics::admission(admission.admit(patience))
        .await
        .map_err(|refusal| match refusal {
            Refusal::HeldBack(wait) => Unsent::HeldBack(wait),
            Refusal::Unavailable(error) => Unsent::Unavailable(error),
        })?;
    let http = http.clone();
    let attempt = async move {
        let answer = crate::metrics::request(operation, send_and_read(&http, request, limit)).await;
        // Here, not in the caller: a dropped caller's request still
        // teaches the client its pace.
        match &answer {
            Ok(answer) => pass.answered(answer.status, answer.retry_after).await,
            Err(_) => drop(pass),
        }
        answer.map_err(Unsent::Http)
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
) -> Result<Answer, reqwest::Error> {
    let sent_to = request.url().clone();
    let mut response = http.execute(request).await?;
    let status = response.status();
    let version = response.version();
    let headers = std::mem::take(response.headers_mut());
    let retry_after = retry_after::read(&headers);
    let url = response.url().clone();
    let body = read_capped(&mut response, limit).await?;
    Ok(Answer {
        status,
        version,
        headers,
        redirected: url != sent_to,
        url,
        retry_after,
        body,
    })
}
