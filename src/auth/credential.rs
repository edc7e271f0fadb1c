//! The credential a client sends, as a header.

use std::{fmt, sync::Arc, time::Duration};

use http::{HeaderMap, HeaderName, HeaderValue, header::AUTHORIZATION};
use secrecy::{ExposeSecret, SecretString};

use super::TokenProvider;
use crate::Error;

/// Header of UltraCart's simple API key scheme.
pub(crate) const SIMPLE_KEY_HEADER: HeaderName = HeaderName::from_static("x-ultracart-simple-key");
const BEARER: &str = "Bearer ";

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
        sensitive_value("OAuth access token", token.expose_secret(), BEARER).map(Self::Bearer)
    }

    /// What names the application for limits shared between processes:
    /// the API key (only ever hashed), or `None` for OAuth tokens, which
    /// change and differ between replicas.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn identity(&self) -> Option<&[u8]> {
        match self {
            Self::ApiKey(value) => Some(value.as_bytes()),
            Self::Bearer(_) | Self::Provider(_) => None,
        }
    }

    /// Sets the credential header, waiting at most `token_wait` for a
    /// provider's token. A provider still working when the wait ends goes
    /// on (its result is kept for the next request); this request fails.
    pub(crate) async fn apply(
        &self,
        headers: &mut HeaderMap,
        token_wait: Duration,
    ) -> Result<(), Error> {
        match self {
            Self::ApiKey(value) => {
                headers.insert(SIMPLE_KEY_HEADER, value.clone());
            }
            Self::Bearer(value) => {
                headers.insert(AUTHORIZATION, value.clone());
            }
            Self::Provider(provider) => {
                let token = wait_for_token(token_wait, provider.access_token()).await?;
                headers.insert(AUTHORIZATION, provider_value(&token)?);
            }
        }
        Ok(())
    }

    /// After UltraCart answered 401 to a request that carried `sent`: the
    /// header to send once more, when the provider has a different token.
    /// A provider that fails here leaves the 401 as the answer.
    pub(crate) async fn after_rejection(
        &self,
        sent: &HeaderMap,
        token_wait: Duration,
    ) -> Option<HeaderValue> {
        let Self::Provider(provider) = self else {
            return None;
        };
        let rejected = sent
            .get(AUTHORIZATION)?
            .to_str()
            .ok()?
            .strip_prefix(BEARER)?
            .to_string();
        let fresh = match wait_for_token(
            token_wait,
            provider.refresh(SecretString::from(rejected.clone())),
        )
        .await
        {
            Ok(fresh) => fresh,
            Err(error) => {
                tracing::warn!(error = %error, "could not refresh the access token UltraCart rejected");
                return None;
            }
        };
        if fresh.expose_secret() == rejected {
            return None;
        }
        provider_value(&fresh).ok()
    }
}

async fn wait_for_token(
    token_wait: Duration,
    token: impl Future<Output = Result<SecretString, Error>>,
) -> Result<SecretString, Error> {
    match tokio::time::timeout(token_wait, token).await {
        Ok(token) => token,
        Err(elapsed) => Err(Error::TokenRefresh {
            status: None,
            message: format!("no access token within {token_wait:?}"),
            source: Some(Box::new(elapsed)),
        }),
    }
}

fn provider_value(token: &SecretString) -> Result<HeaderValue, Error> {
    sensitive_value("OAuth access token", token.expose_secret(), BEARER)
        .map_err(|e| Error::token(e.to_string(), None))
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
