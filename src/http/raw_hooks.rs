//! The one place where the pipeline meets the generated client: progenitor's
//! hooks, which every call of [`Client::raw`](crate::Client::raw) passes.
//!
//! `pre` refuses path values that would change the route and prepares the
//! request as the facade does; a failure there is a progenitor error that
//! says what failed (`InvalidRequest` for a path value, `Custom` for a
//! credential that could not be had). `exec` runs the pipeline and hands the
//! generated code the final answer as it came: status, headers and body, or
//! the HTTP library's own error. An answer whose body was over the limit
//! keeps its status and headers, and its body fails to read with
//! [`Error::BodyTooLarge`](crate::Error::BodyTooLarge) as the cause.

use std::sync::Arc;

use bytes::Bytes;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::ResponseBuilderExt;

use super::{
    answer::Answer,
    attempt::Unsent,
    operation::{Operation, Repeat},
    pipeline::Pipeline,
};
use crate::{Error, net::Body, raw};

/// progenitor adds this to every request from the spec's `info.version`;
/// UltraCart knows only its own version header, which `prepare` sets.
const PROGENITOR_VERSION_HEADER: &str = "api-version";

/// Used only if the generated client names an operation the table lacks,
/// which the build rules out; it retries nothing that could repeat an action.
const UNKNOWN: Operation = Operation {
    id: "unknown",
    name: "unknown",
    method: http::Method::GET,
    path: "",
    repeat: Repeat::Once,
};

impl ClientHooks<Arc<Pipeline>> for raw::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        if let Some(operation) = Operation::named(info.operation_id) {
            operation
                .check_route(self.baseurl(), request.url())
                .map_err(|e| progenitor_client::Error::InvalidRequest(e.to_string()))?;
        }
        request.headers_mut().remove(PROGENITOR_VERSION_HEADER);
        // Here, where an error can still be progenitor's own: `exec` can
        // only report the HTTP library's errors.
        self.inner()
            .before_send(request, true)
            .await
            .map_err(|e| progenitor_client::Error::Custom(e.report().to_string()))
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let operation = Operation::named(info.operation_id).unwrap_or(&UNKNOWN);
        // Boxed: the pipeline's future is large, and the generated future
        // that awaits it is moved several times before it runs.
        // No patience: the raw client waits as long as pacing asks, since
        // here an error can only be the HTTP library's. `pre` has already
        // refused a call that a `Retry-After` would hold back too long.
        match Box::pin(
            self.inner()
                .execute(self.client(), request, operation, None),
        )
        .await
        {
            Ok(answer) => Ok(into_response(answer)),
            Err(Unsent::Http(e)) => Err(e),
            Err(Unsent::HeldBack(_)) => unreachable!("held back only with a patience"),
            // The shared store stopped answering between `pre` and here.
            // Nothing was sent; reqwest's errors cannot be made, so the
            // refusal comes as the error of a request that cannot be built.
            Err(Unsent::Unavailable(error)) => {
                tracing::warn!(error = %error, "raw client request not sent");
                Err(unsendable())
            }
        }
    }
}

/// A reqwest error for a request that was not sent: the conversion of a
/// request whose URI (`/`) is no absolute URL. No client, so no TLS set-up
/// that could fail.
fn unsendable() -> reqwest::Error {
    match reqwest::Request::try_from(http::Request::new(reqwest::Body::from(""))) {
        Err(error) => error,
        Ok(_) => unreachable!("a request to `/` has no absolute URL"),
    }
}

/// The answer as reqwest would have handed it over.
fn into_response(answer: Answer) -> reqwest::Response {
    let body = match answer.body {
        Body::Read(bytes) => reqwest::Body::from(bytes),
        Body::TooLarge { limit } => {
            let error = Error::BodyTooLarge {
                status: answer.status,
                limit,
            };
            reqwest::Body::wrap_stream(futures::stream::once(async move { Err::<Bytes, _>(error) }))
        }
    };
    // The builder is only for the URL, which reqwest keeps in a private
    // extension; with no other part set it cannot fail, and if it did the
    // answer would only lose its URL.
    let mut response = http::Response::builder()
        .url(answer.url)
        .body(())
        .unwrap_or_default()
        .map(|()| body);
    *response.status_mut() = answer.status;
    *response.version_mut() = answer.version;
    *response.headers_mut() = answer.headers;
    reqwest::Response::from(response)
}
