//! How each request proves who it is for: a simple key, a bearer token, or
//! OAuth access tokens from a [`TokenProvider`].

mod credential;
mod provider;
mod refresh;

pub(crate) use credential::Auth;
pub use provider::{StaticToken, TokenProvider};
pub use refresh::{DEFAULT_TOKEN_URL, RefreshTokenProvider};
