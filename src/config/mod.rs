//! Everything a client is built from: the builder, the environment, and the
//! checks on the URLs it will send credentials or data to.

mod builder;
mod env;
mod http_client;
mod url_check;

pub use builder::{ClientBuilder, DEFAULT_API_VERSION, DEFAULT_BASE_URL};
pub use env::{ENV_API_KEY, ENV_BASE_URL, ENV_OAUTH_TOKEN};
pub(crate) use http_client::{http_client_builder, redirect_host};
pub(crate) use url_check::{check_scheme, check_websocket_scheme, checked_url};
