//! Everything a client is built from: the builder and the environment.

mod builder;
mod env;

pub use builder::{ClientBuilder, DEFAULT_API_VERSION, DEFAULT_BASE_URL};
pub use env::{ENV_API_KEY, ENV_BASE_URL, ENV_OAUTH_TOKEN};
