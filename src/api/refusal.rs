//! The error an answer is, when it is not a usable success.

use crate::{
    BodyExcerpt, Error,
    http::Answer,
    net::{Body, redirect_host},
    types,
};

/// The error for an answer that is not a usable success: a redirect, a body
/// over the limit, or an error status.
pub(crate) fn from_status(answer: &Answer) -> Error {
    let status = answer.status;
    if answer.redirected {
        return Error::Redirect {
            status: None,
            host: answer.url.host_str().map(str::to_string),
        };
    }
    if status.is_redirection() {
        return Error::Redirect {
            status: Some(status),
            host: redirect_host(&answer.url, &answer.headers),
        };
    }
    let body = match &answer.body {
        Body::Read(body) => body,
        Body::TooLarge { limit } => {
            return Error::BodyTooLarge {
                status,
                limit: *limit,
            };
        }
    };
    let retry_after = answer.retry_after();
    match parse_error_response(body) {
        Some(response) => Error::Api {
            status,
            response: Box::new(response),
            retry_after,
        },
        None => Error::UnexpectedStatus {
            status,
            body: BodyExcerpt::new(body),
            retry_after,
        },
    }
}

/// UltraCart's error body: a JSON object with at least one of
/// `ErrorResponse`'s fields. Every field is optional, so anything else would
/// decode to an empty `ErrorResponse`.
fn parse_error_response(body: &[u8]) -> Option<types::ErrorResponse> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object()?;
    let known = ["error", "metadata", "success", "warning"];
    if !object.keys().any(|key| known.contains(&key.as_str())) {
        return None;
    }
    serde_json::from_value(value).ok()
}
