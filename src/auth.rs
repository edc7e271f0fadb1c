//! How each request proves who it is for.

use std::{fmt, sync::Arc};

use http::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use crate::{Error, TokenProvider};

/// Header of UltraCart's simple API key scheme.
pub(crate) const SIMPLE_KEY_HEADER: HeaderName = HeaderName::from_static("x-ultracart-simple-key");

/// The credential a client sends. Header values are marked sensitive so
/// that neither reqwest nor tracing prints them.
#[derive(Clone)]
pub(crate) enum Auth {
    ApiKey(HeaderValue),
    Bearer(HeaderValue),
    Provider(Arc<dyn TokenProvider>),
}

impl Auth {
    pub(crate) fn api_key(key: &SecretString) -> Result<Self, Error> {
        sensitive_value("API key", key.expose_secret(), "").map(Self::ApiKey)
    }

    pub(crate) fn bearer(token: &SecretString) -> Result<Self, Error> {
        sensitive_value("OAuth access token", token.expose_secret(), "Bearer ").map(Self::Bearer)
    }

    /// Sets the credential header. `fresh` is a token just obtained after a
    /// 401; otherwise a provider is asked. Returns the provider's token, so
    /// that it can be named if UltraCart rejects it.
    pub(crate) async fn apply(
        &self,
        headers: &mut HeaderMap,
        fresh: Option<SecretString>,
    ) -> Result<Option<SecretString>, Error> {
        match self {
            Self::ApiKey(value) => {
                headers.insert(SIMPLE_KEY_HEADER, value.clone());
                Ok(None)
            }
            Self::Bearer(value) => {
                headers.insert(http::header::AUTHORIZATION, value.clone());
                Ok(None)
            }
            Self::Provider(provider) => {
                let token = match fresh {
                    Some(token) => token,
                    None => provider.access_token().await?,
                };
                let value = sensitive_value("OAuth access token", token.expose_secret(), "Bearer ")
                    .map_err(|e| Error::token(e.to_string(), None))?;
                headers.insert(http::header::AUTHORIZATION, value);
                Ok(Some(token))
            }
        }
    }

    /// After a 401: a different token to try once more, if the provider has one.
    pub(crate) async fn replacement(
        &self,
        rejected: SecretString,
    ) -> Result<Option<SecretString>, Error> {
        let Self::Provider(provider) = self else {
            return Ok(None);
        };
        let before = rejected.expose_secret().to_owned();
        let fresh = provider.refresh(rejected).await?;
        Ok((fresh.expose_secret() != before).then_some(fresh))
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
            Self::Provider(_) => f.write_str("TokenProvider"),
        }
    }
}
