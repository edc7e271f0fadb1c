//! Turns what the generated client and the pipeline saw into [`Error`].

use std::future::Future;

use bytes::Bytes;
use progenitor_client::ResponseValue;
use serde::de::DeserializeOwned;

use crate::{
    BodyExcerpt, Error, StatusCode,
    last_response::{self, LastResponse},
    retry, types,
};

type RawResult<T> = Result<ResponseValue<T>, progenitor_client::Error<types::ErrorResponse>>;

/// Runs one generated call and maps its outcome to the facade's types.
pub(crate) async fn call<T, F>(generated: F) -> Result<T, Error>
where
    F: Future<Output = RawResult<T>>,
    T: DeserializeOwned,
{
    last_response::scope(generated, |result, last| match result {
        Ok(value) => Ok(value.into_inner()),
        Err(e) => Err(match last {
            Some(LastResponse::Failed(error)) => error,
            Some(LastResponse::Answer {
                status,
                headers,
                body,
            }) => from_answer::<T>(status, &headers, &body),
            None => from_generated(e),
        }),
    })
    .await
}

/// An answer the generated client refused: an error status, or a success
/// whose body does not decode.
pub(crate) fn from_answer<T: DeserializeOwned>(
    status: StatusCode,
    headers: &http::HeaderMap,
    body: &Bytes,
) -> Error {
    if status.is_success() {
        return decode_failure::<T>(status, body);
    }
    let retry_after = retry::retry_after_header(headers);
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

/// Only a JSON object counts as UltraCart's error body; every field of
/// `ErrorResponse` is optional, so anything else would decode to nothing.
fn parse_error_response(body: &[u8]) -> Option<types::ErrorResponse> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if !value.is_object() {
        return None;
    }
    serde_json::from_value(value).ok()
}

/// Decodes again, this time tracking the path, to say where it failed.
pub(crate) fn decode_failure<T: DeserializeOwned>(status: StatusCode, body: &[u8]) -> Error {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Error::EmptyBody { status };
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    let (path, message) = match serde_path_to_error::deserialize::<_, T>(deserializer) {
        Err(e) => (e.path().to_string(), e.inner().to_string()),
        Ok(_) => (
            ".".to_string(),
            "trailing data after the JSON document".to_string(),
        ),
    };
    Error::Decode {
        status,
        path,
        message,
        body: BodyExcerpt::new(body),
    }
}

/// Errors that happened without a buffered answer: the request was never
/// built, or the connection failed.
fn from_generated(error: progenitor_client::Error<types::ErrorResponse>) -> Error {
    use progenitor_client::Error as G;
    match error {
        G::InvalidRequest(message) => Error::invalid_input(message),
        G::CommunicationError(e) | G::ResponseBodyError(e) | G::InvalidUpgrade(e) => {
            Error::from_reqwest(e)
        }
        G::ErrorResponse(value) => Error::Api {
            status: value.status(),
            retry_after: retry::retry_after_header(value.headers()),
            response: Box::new(value.into_inner()),
        },
        G::InvalidResponsePayload(body, e) => Error::Decode {
            status: StatusCode::OK,
            path: ".".to_string(),
            message: e.to_string(),
            body: BodyExcerpt::new(&body),
        },
        G::UnexpectedResponse(response) => Error::UnexpectedStatus {
            status: response.status(),
            retry_after: retry::retry_after_header(response.headers()),
            body: BodyExcerpt::new(b""),
        },
        G::Custom(message) => Error::unexpected(message),
    }
}
