//! Reading an answer: the success body, or the one typed error the answer is.
//!
//! UltraCart's models make every field optional and unknown fields are
//! ignored, so any JSON object would decode into an empty model. An empty
//! model is therefore accepted only when the answer carried at least one of
//! the model's fields; otherwise the answer is
//! [`Error::UnrecognizedBody`], naming the keys it did carry.

use std::{
    collections::BTreeMap,
    marker::PhantomData,
    sync::atomic::{AtomicBool, Ordering},
};

use bytes::Bytes;
use schemars::JsonSchema;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::value::RawValue;

use super::{
    envelope_seed::{Envelope, EnvelopeSeed},
    enveloped::{AnswerShape, Enveloped},
    json_read,
    refusal::from_status,
};
use crate::{BodyExcerpt, Error, StatusCode, http::Answer, net::Body, types};

/// What every answer model is: optional fields, a default with none set.
pub(crate) trait Model: DeserializeOwned + Default + PartialEq + JsonSchema {}

impl<T: DeserializeOwned + Default + PartialEq + JsonSchema> Model for T {}

/// The fields of UltraCart's envelope around a payload, which are exactly
/// those of `ErrorResponse`.
pub(super) const ENVELOPE_FIELDS: [&str; 4] = ["error", "metadata", "success", "warning"];

/// The body of a usable success, or the error the answer is.
pub(crate) fn success_body(answer: &Answer) -> Result<&Bytes, Error> {
    match &answer.body {
        Body::Read(body) if answer.status.is_success() && !answer.redirected => Ok(body),
        _ => Err(from_status(answer)),
    }
}

/// A model that is UltraCart's envelope itself (a page of conversations,
/// the upload URL): it carries `success` and `error` beside its payload.
pub(crate) trait EnvelopeModel: Model {
    /// The envelope's own fields, when they say the call failed.
    fn failure(&self) -> Option<types::ErrorResponse>;
}

macro_rules! envelope_model {
    ($($model:ty),*) => {$(
        impl EnvelopeModel for $model {
            fn failure(&self) -> Option<types::ErrorResponse> {
                failed(self.success, self.error.is_some()).then(|| types::ErrorResponse {
                    error: self.error.clone(),
                    metadata: self.metadata.clone(),
                    success: self.success,
                    warning: self.warning.clone(),
                })
            }
        }
    )*};
}

envelope_model!(
    types::ConversationsResponse,
    types::ConversationMultimediaUploadUrlResponse
);

/// A model that is the whole body. One that says it failed is an
/// [`Error::Api`], whatever the HTTP status.
pub(crate) fn model<T: EnvelopeModel>(answer: &Answer) -> Result<T, Error> {
    let body = success_body(answer)?;
    let value: T = typed(answer.status, body, body, "")?;
    if let Some(failure) = value.failure() {
        return Err(Error::Api {
            status: answer.status,
            response: Box::new(failure),
            retry_after: None,
        });
    }
    if value == T::default() {
        require_known_field::<T>(answer.status, body, body)?;
    }
    Ok(value)
}

/// Whether the last answer read with [`enveloped`] was in the envelope: the
/// shape to try first, since a service answers in one shape. The live
/// service answers in the envelope.
static ENVELOPED_LAST: AtomicBool = AtomicBool::new(true);

/// A model UltraCart sends either bare or wrapped in its envelope under
/// `payload` (`{"conversation": {...}, "success": true, ...}`).
///
/// A usual answer takes one pass: the shape the last answer came in is
/// tried first, the other only when that fails. Anything else is read
/// again, slowly, to say exactly what is wrong with it.
pub(crate) fn enveloped<T: Model>(
    answer: &Answer,
    payload: &'static str,
) -> Result<Enveloped<T>, Error> {
    let body = success_body(answer)?;
    let envelope_first = ENVELOPED_LAST.load(Ordering::Relaxed);
    let read = |envelope: bool| {
        if envelope {
            plain_envelope(body, payload)
        } else {
            plain_bare(body)
        }
    };
    if let Some(value) = read(envelope_first).or_else(|| {
        let other = read(!envelope_first);
        if other.is_some() {
            ENVELOPED_LAST.store(!envelope_first, Ordering::Relaxed);
        }
        other
    }) {
        return Ok(value);
    }
    read_precisely(answer.status, body, payload)
}

/// `body` as a bare model with at least one field set, in one pass.
fn plain_bare<T: Model>(body: &[u8]) -> Option<Enveloped<T>> {
    let value: T = json_read::whole(body).ok()?;
    (value != T::default())
        .then(|| Enveloped::new(value, AnswerShape::Bare, types::ErrorResponse::default()))
}

/// `body` as an envelope with a payload that has at least one field set,
/// and that does not say it failed, in one pass.
fn plain_envelope<T: Model>(body: &[u8], payload: &'static str) -> Option<Enveloped<T>> {
    let seed = EnvelopeSeed {
        key: payload,
        model: PhantomData,
    };
    let Envelope { payload, facts } = json_read::whole_with(body, seed).ok()?;
    let value = payload.filter(|value| *value != T::default())?;
    (!says_it_failed(&facts)).then(|| Enveloped::new(value, AnswerShape::Envelope, facts))
}

/// An envelope that reports a failure: `success: false`, or an error
/// without `success: true`.
fn says_it_failed(facts: &types::ErrorResponse) -> bool {
    failed(facts.success, facts.error.is_some())
}

fn failed(success: Option<bool>, has_error: bool) -> bool {
    success == Some(false) || (has_error && success != Some(true))
}

/// [`enveloped`] for an answer that is neither a plain bare model nor a
/// plain envelope: the top level first, then each part, so that the error
/// names the field or the keys.
fn read_precisely<T: Model>(
    status: StatusCode,
    body: &[u8],
    payload: &'static str,
) -> Result<Enveloped<T>, Error> {
    // The top level only, each value left unparsed: one quick pass.
    let fields: BTreeMap<String, &RawValue> = serde_json::from_slice(body)
        .map_err(|e| decode_failure::<BTreeMap<String, IgnoredAny>>(status, body, body, "", e))?;
    if let Some(inner) = fields.get(payload).filter(|raw| raw.get() != "null") {
        let facts = envelope_facts(status, &fields, body)?;
        let inner = inner.get().as_bytes();
        let value: T = typed(status, inner, body, payload)?;
        if value == T::default() {
            require_known_field::<T>(status, inner, body)?;
        }
        return Ok(Enveloped::new(value, AnswerShape::Envelope, facts));
    }
    let value: T = typed(status, body, body, "")?;
    // An empty model is fine only if the answer named at least one of its
    // fields (all of them null).
    if value != T::default() || names_a_known_field::<T>(fields.keys()) {
        return Ok(Enveloped::new(
            value,
            AnswerShape::Bare,
            types::ErrorResponse::default(),
        ));
    }
    if fields
        .keys()
        .any(|key| ENVELOPE_FIELDS.contains(&key.as_str()))
    {
        // An envelope without its payload: a failure it describes, or
        // nothing usable.
        envelope_facts(status, &fields, body)?;
    }
    Err(unrecognized::<T>(status, fields.into_keys().collect()))
}

/// An envelope's own fields, read from their unparsed values; an envelope
/// that says it failed is an [`Error::Api`] whatever its HTTP status.
fn envelope_facts(
    status: StatusCode,
    fields: &BTreeMap<String, &RawValue>,
    body: &[u8],
) -> Result<types::ErrorResponse, Error> {
    // Only the envelope's four fields, as a JSON object of their own, so
    // that the payload is not decoded twice.
    let mut own = String::from("{");
    for name in ENVELOPE_FIELDS {
        if let Some(value) = fields.get(name) {
            if own.len() > 1 {
                own.push(',');
            }
            own.push('"');
            own.push_str(name);
            own.push_str("\":");
            own.push_str(value.get());
        }
    }
    own.push('}');
    let facts: types::ErrorResponse = typed(status, own.as_bytes(), body, "")?;
    if says_it_failed(&facts) {
        return Err(Error::Api {
            status,
            response: Box::new(facts),
            retry_after: None,
        });
    }
    Ok(facts)
}

/// Decodes `json` (part of `body`, at `at`) as `T`, with the failing
/// field's path in the error.
fn typed<T: DeserializeOwned>(
    status: StatusCode,
    json: &[u8],
    body: &[u8],
    at: &str,
) -> Result<T, Error> {
    // The fast path; the path-tracking decoder runs only on failure.
    json_read::whole(json).map_err(|e| decode_failure::<T>(status, json, body, at, e))
}

/// Decodes again, this time tracking the path, to say where `first` failed.
fn decode_failure<T: DeserializeOwned>(
    status: StatusCode,
    json: &[u8],
    body: &[u8],
    at: &str,
    first: serde_json::Error,
) -> Error {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Error::EmptyBody { status };
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(json);
    let (path, source) = match serde_path_to_error::deserialize::<_, T>(deserializer) {
        Err(e) => (e.path().to_string(), e.into_inner()),
        // The value itself decodes: what failed is around it.
        Ok(_) => (".".to_string(), first),
    };
    let path = match (at, path.as_str()) {
        ("", _) => path,
        (at, ".") => at.to_string(),
        (at, path) if path.starts_with('[') => format!("{at}{path}"),
        (at, path) => format!("{at}.{path}"),
    };
    Error::Decode {
        status,
        path,
        message: source.to_string(),
        body: BodyExcerpt::new(body),
        source,
    }
}

/// Fails unless the JSON object `json` has at least one of `T`'s fields.
fn require_known_field<T: Model>(
    status: StatusCode,
    json: &[u8],
    body: &[u8],
) -> Result<(), Error> {
    let keys: BTreeMap<String, IgnoredAny> =
        serde_json::from_slice(json).map_err(|source| Error::Decode {
            status,
            path: ".".to_string(),
            message: source.to_string(),
            body: BodyExcerpt::new(body),
            source,
        })?;
    if names_a_known_field::<T>(keys.keys()) {
        return Ok(());
    }
    Err(unrecognized::<T>(status, keys.into_keys().collect()))
}

fn unrecognized<T: JsonSchema>(status: StatusCode, keys: Vec<String>) -> Error {
    Error::UnrecognizedBody {
        status,
        model: T::schema_name().into_owned(),
        keys,
    }
}

/// Whether any of `keys` is a field of `T`. Only answers that decoded to an
/// empty model ask, so the schema is built on that slow path alone.
fn names_a_known_field<'a, T: JsonSchema>(mut keys: impl Iterator<Item = &'a String>) -> bool {
    let known = known_fields::<T>();
    keys.any(|key| known.contains(key))
}

/// The JSON names of `T`'s fields, from its schema. Only consulted for
/// answers that decoded to an empty model or might be enveloped, never on
/// the path of a listing's pages.
fn known_fields<T: JsonSchema>() -> Vec<String> {
    let schema = schemars::schema_for!(T);
    schema
        .get("properties")
        .and_then(serde_json::Value::as_object)
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_models_know_their_fields() {
        let fields = known_fields::<types::Conversation>();
        assert!(
            fields.contains(&"conversation_uuid".to_string()),
            "{fields:?}"
        );
        assert!(
            known_fields::<types::ConversationAgentAuthResponse>().contains(&"jwt".to_string())
        );
    }
}
