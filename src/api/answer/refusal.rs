//! The error an answer is, when it is not a usable success.

use crate::{
    BodyExcerpt, Error,
    http::Answer,
    net::{Body, redirect_of},
    types,
};

/// The error for an answer that is not a usable success: a redirect, a body
/// over the limit, or an error status.
pub(crate) fn from_status(answer: &Answer) -> Error {
    let status = answer.status;
    if let Some(redirect) = redirect_of(answer.redirected, &answer.url, status, &answer.headers) {
        return Error::Redirect {
            // A followed redirect's status is the other host's.
            status: (!redirect.followed).then_some(status),
            host: redirect.host,
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
    let retry_after = answer.retry_after;
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
    if !object
        .keys()
        .any(|key| super::decode::ENVELOPE_FIELDS.contains(&key.as_str()))
    {
        return None;
    }
    serde_json::from_value(value).ok()
}
