//! How the crate talks HTTP at all, below any API call: the `reqwest`
//! client it builds (TLS backend, no redirects, no `Referer`), the URLs it
//! will send credentials or data to, and reading a body within a limit.

mod capped_read;
#[cfg(any(
    feature = "redis",
    all(feature = "rustls-ring", not(feature = "rustls-aws-lc"))
))]
mod crypto_provider;
mod http_client;
mod url_check;

pub(crate) use capped_read::{Body, read_capped};
#[cfg(any(
    feature = "redis",
    all(feature = "rustls-ring", not(feature = "rustls-aws-lc"))
))]
pub(crate) use crypto_provider::install_crypto_provider;
pub(crate) use http_client::{OwnClient, Redirect, TlsOnDemand, http_client_builder, redirect_of};
pub(crate) use url_check::{check_scheme, check_websocket_scheme, checked_url};
