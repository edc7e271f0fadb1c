//! Hands the facade what the pipeline saw of a call's final answer.
//!
//! The generated client reduces some answers to errors that have lost their
//! status (a 429 whose body is not JSON becomes a bare decode error). The
//! pipeline has already buffered status, headers and body, so it leaves them
//! here for the facade's error mapping. The slot is task-local to the one
//! facade call that opened it; calls through [`Client::raw`](crate::Client::raw)
//! open none and are unaffected.

use std::cell::RefCell;
use std::future::Future;

use bytes::Bytes;

use crate::{Error, StatusCode};

/// The final answer of a call, or the typed error the pipeline gave up with.
pub(crate) enum LastResponse {
    Answer {
        status: StatusCode,
        headers: http::HeaderMap,
        body: Bytes,
    },
    Failed(Error),
}

tokio::task_local! {
    static SLOT: RefCell<Option<LastResponse>>;
}

/// Runs `call` with a fresh slot, then hands its result and what the
/// pipeline left in the slot to `finish`.
pub(crate) async fn scope<F, T, R>(call: F, finish: impl FnOnce(T, Option<LastResponse>) -> R) -> R
where
    F: Future<Output = T>,
{
    SLOT.scope(RefCell::new(None), async move {
        let result = call.await;
        let last = SLOT.with(|slot| slot.borrow_mut().take());
        finish(result, last)
    })
    .await
}

/// Records the final answer; a no-op outside a facade call.
pub(crate) fn record(last: LastResponse) {
    let _ = SLOT.try_with(|slot| *slot.borrow_mut() = Some(last));
}
