//! Where a client gets OAuth access tokens.

use std::fmt;

use futures::future::BoxFuture;
use secrecy::SecretString;

use crate::Error;

/// Supplies OAuth access tokens to a client.
///
/// The client asks [`access_token`](Self::access_token) before every
/// request, so an implementation should cache. When UltraCart answers 401,
/// the client calls [`refresh`](Self::refresh) once with the token it
/// rejected and, if that returns a different token, sends the request once
/// more. A provider that cannot supply a token returns
/// [`Error::token_provider`] with its own error as the cause.
///
/// ```
/// use futures::future::BoxFuture;
/// use ultracart_conversation::{Error, SecretString, TokenProvider};
///
/// /// Reads the token another process keeps fresh in a file.
/// struct FromFile(std::path::PathBuf);
///
/// impl TokenProvider for FromFile {
///     fn access_token(&self) -> BoxFuture<'_, Result<SecretString, Error>> {
///         Box::pin(async move {
///             let token = tokio::fs::read_to_string(&self.0)
///                 .await
///                 .map_err(Error::token_provider)?;
///             Ok(SecretString::from(token.trim().to_string()))
///         })
///     }
/// }
/// ```
pub trait TokenProvider: Send + Sync + 'static {
    /// A token to send now.
    fn access_token(&self) -> BoxFuture<'_, Result<SecretString, Error>>;

    /// A fresh token after UltraCart rejected `rejected`. The default asks
    /// [`access_token`](Self::access_token) again.
    fn refresh(&self, rejected: SecretString) -> BoxFuture<'_, Result<SecretString, Error>> {
        drop(rejected);
        self.access_token()
    }
}

/// A token that never changes: what [`bearer_token`](crate::ClientBuilder::bearer_token)
/// uses, as a provider for code that wants one type for both cases.
///
/// ```
/// use ultracart_conversation::{Client, StaticToken};
///
/// let client = Client::builder().token_provider(StaticToken::new("access-token")).build()?;
/// # Ok::<(), ultracart_conversation::Error>(())
/// ```
#[derive(Clone)]
pub struct StaticToken(SecretString);

impl StaticToken {
    /// Wraps a token.
    ///
    /// ```
    /// let token = ultracart_conversation::StaticToken::new("access-token");
    /// # let _ = token;
    /// ```
    pub fn new(token: impl Into<SecretString>) -> Self {
        Self(token.into())
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken([REDACTED])")
    }
}

impl TokenProvider for StaticToken {
    fn access_token(&self) -> BoxFuture<'_, Result<SecretString, Error>> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }
}
