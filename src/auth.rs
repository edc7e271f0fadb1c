//! How each request proves who it is for.

use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use crate::Error;

/// Header of UltraCart's simple API key scheme.
pub(crate) const SIMPLE_KEY_HEADER: HeaderName = HeaderName::from_static("x-ultracart-simple-key");

/// The credential a client sends, kept as a header value marked sensitive so
/// that neither reqwest nor tracing prints it.
#[derive(Clone)]
pub(crate) enum Auth {
    ApiKey(HeaderValue),
    Bearer(HeaderValue),
}

impl Auth {
    pub(crate) fn api_key(key: &SecretString) -> Result<Self, Error> {
        sensitive_value("API key", key.expose_secret(), "").map(Self::ApiKey)
    }

    pub(crate) fn bearer(token: &SecretString) -> Result<Self, Error> {
        sensitive_value("OAuth access token", token.expose_secret(), "Bearer ").map(Self::Bearer)
    }

    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        match self {
            Self::ApiKey(value) => {
                headers.insert(SIMPLE_KEY_HEADER, value.clone());
            }
            Self::Bearer(value) => {
                headers.insert(http::header::AUTHORIZATION, value.clone());
            }
        }
    }
}

fn sensitive_value(what: &str, secret: &str, prefix: &str) -> Result<HeaderValue, Error> {
    let secret = secret.trim();
    if secret.is_empty() {
        return Err(Error::config(format!("the {what} is empty")));
    }
    // The message names the problem, never the value.
    let mut value = HeaderValue::try_from(format!("{prefix}{secret}")).map_err(|_| {
        Error::config(format!(
            "the {what} contains characters that cannot go in an HTTP header"
        ))
    })?;
    value.set_sensitive(true);
    Ok(value)
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ApiKey(_) => f.write_str("ApiKey([REDACTED])"),
            Self::Bearer(_) => f.write_str("Bearer([REDACTED])"),
        }
    }
}
