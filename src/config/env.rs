//! Configuration from the environment, the twelve-factor way.

use crate::{Client, ClientBuilder, Error};

/// A simple API key.
pub const ENV_API_KEY: &str = "ULTRACART_API_KEY";
/// An OAuth access token.
pub const ENV_OAUTH_TOKEN: &str = "ULTRACART_OAUTH_TOKEN";
/// Optional: another base URL (a staging host, a local demo server).
pub const ENV_BASE_URL: &str = "ULTRACART_BASE_URL";

impl ClientBuilder {
    /// A builder configured from `ULTRACART_API_KEY` or
    /// `ULTRACART_OAUTH_TOKEN` (exactly one), and `ULTRACART_BASE_URL` if
    /// set; further settings can follow.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use ultracart_conversation::ClientBuilder;
    ///
    /// let client = ClientBuilder::from_env()?.timeout(Duration::from_secs(10)).build()?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let read = |name| lookup(name).filter(|value| !value.trim().is_empty());
        let mut builder = Client::builder();
        builder = match (read(ENV_API_KEY), read(ENV_OAUTH_TOKEN)) {
            (Some(key), None) => builder.api_key(key),
            (None, Some(token)) => builder.bearer_token(token),
            (None, None) => {
                return Err(Error::config(format!(
                    "no credential in the environment: set {ENV_API_KEY} (a simple API key) \
                     or {ENV_OAUTH_TOKEN} (an OAuth access token)"
                )));
            }
            (Some(_), Some(_)) => {
                return Err(Error::config(format!(
                    "both {ENV_API_KEY} and {ENV_OAUTH_TOKEN} are set; set only one"
                )));
            }
        };
        if let Some(base_url) = read(ENV_BASE_URL) {
            builder = builder.base_url(base_url);
        }
        Ok(builder)
    }
}

impl Client {
    /// A client configured from the environment; see
    /// [`ClientBuilder::from_env`].
    ///
    /// ```no_run
    /// let client = ultracart_conversation::Client::from_env()?;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env()?.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<ClientBuilder, Error> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ClientBuilder::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn no_credential_names_the_variables() {
        let message = from(&[]).unwrap_err().to_string();
        assert!(
            message.contains(ENV_API_KEY) && message.contains(ENV_OAUTH_TOKEN),
            "{message}"
        );
        assert!(
            from(&[(ENV_API_KEY, "  ")]).is_err(),
            "blank counts as unset"
        );
    }

    #[test]
    fn one_credential_and_an_optional_base_url() {
        let client = from(&[(ENV_API_KEY, "k"), (ENV_BASE_URL, "http://127.0.0.1:9/v2/")])
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:9/v2");
        from(&[(ENV_OAUTH_TOKEN, "t")]).unwrap().build().unwrap();
    }

    #[test]
    fn both_credentials_are_refused_without_echoing_them() {
        let error = from(&[
            (ENV_API_KEY, "key-SECRET"),
            (ENV_OAUTH_TOKEN, "token-SECRET"),
        ])
        .unwrap_err();
        assert!(!error.to_string().contains("SECRET"));
    }
}
