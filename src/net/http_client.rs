//! The HTTP client the crate builds for itself, on the TLS backend the
//! cargo features chose:
//!
//! - `rustls-aws-lc` (default): reqwest's own rustls set-up, with the
//!   aws-lc-rs crypto provider and the platform verifier (system roots plus
//!   any `add_root_certificate`).
//! - `rustls-ring`: reqwest built without a provider, so it takes the
//!   process-wide rustls `CryptoProvider`; the crate's first client installs
//!   ring's, unless the application installed one first (then that one is
//!   used). A `reqwest::Client` the application builds itself before that
//!   needs the application to install one:
//!   `rustls::crypto::ring::default_provider().install_default()`.
//! - both (as with `--all-features`): aws-lc-rs; nothing is installed.
//! - neither: a compile error.

use std::{sync::OnceLock, time::Duration};

use crate::Error;

#[cfg(not(any(feature = "rustls-aws-lc", feature = "rustls-ring")))]
compile_error!(
    "ultracart-conversation needs a TLS backend: enable feature `rustls-aws-lc` (the default) or `rustls-ring`"
);

/// A `reqwest` client builder with the crate's rules: no redirect is
/// followed (a request to UltraCart carries a credential that must not reach
/// another host; a redirect comes back as an answer and the call fails with
/// [`Error::Redirect`](crate::Error::Redirect)), and no `Referer` is sent
/// (a presigned upload URL's signature is a credential too).
pub(crate) fn http_client_builder() -> reqwest::ClientBuilder {
    #[cfg(all(feature = "rustls-ring", not(feature = "rustls-aws-lc")))]
    super::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
}

/// How the crate builds a client of its own, kept so that it can build the
/// second one [`TlsOnDemand`] holds.
#[derive(Clone)]
pub(crate) struct OwnClient {
    pub(crate) connect_timeout: Duration,
    /// Trusted besides the system's roots.
    pub(crate) root_certificates: Vec<reqwest::Certificate>,
}

impl OwnClient {
    /// A client for https URLs: the system's roots (read from disk and
    /// parsed, a few milliseconds) and the extra ones.
    pub(crate) fn with_tls(&self) -> Result<reqwest::Client, Error> {
        built(
            self.builder()
                .tls_certs_merge(self.root_certificates.iter().cloned()),
        )
    }

    /// A client for plain http URLs (a loopback test server): it trusts no
    /// certificate, so the system's roots are never read, and an https URL
    /// sent through it by mistake fails its handshake rather than go out
    /// unchecked.
    pub(crate) fn plain(&self) -> Result<reqwest::Client, Error> {
        built(self.builder().tls_certs_only(std::iter::empty()))
    }

    fn builder(&self) -> reqwest::ClientBuilder {
        http_client_builder().connect_timeout(self.connect_timeout)
    }
}

fn built(builder: reqwest::ClientBuilder) -> Result<reqwest::Client, Error> {
    builder
        .build()
        .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))
}

/// The https client of a client built for a plain http base URL, built the
/// first time an https URL comes along (a presigned upload URL): a client
/// whose requests all stay on loopback never loads the system's roots.
pub(crate) struct TlsOnDemand {
    recipe: OwnClient,
    client: OnceLock<reqwest::Client>,
}

impl TlsOnDemand {
    pub(crate) fn new(recipe: OwnClient) -> Self {
        Self {
            recipe,
            client: OnceLock::new(),
        }
    }

    pub(crate) fn client(&self) -> Result<&reqwest::Client, Error> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        // Two callers racing here build two; one is kept.
        let built = self.recipe.with_tls()?;
        Ok(self.client.get_or_init(|| built))
    }
}

/// An answer that sends its request elsewhere.
pub(crate) struct Redirect {
    /// A caller-supplied client already followed it: the request, and what
    /// it carried, went to `host`.
    pub(crate) followed: bool,
    /// Only the host: a redirect's path or query may carry what a log must
    /// not.
    pub(crate) host: Option<String>,
}

/// The redirect an answer from `from` is, if any: one already followed
/// (`followed`: the answer came from another URL than the request was sent
/// to), or a 3xx towards its `Location`.
pub(crate) fn redirect_of(
    followed: bool,
    from: &url::Url,
    status: http::StatusCode,
    headers: &http::HeaderMap,
) -> Option<Redirect> {
    let host = if followed {
        from.host_str().map(str::to_string)
    } else if status.is_redirection() {
        redirect_host(from, headers)
    } else {
        return None;
    };
    Some(Redirect { followed, host })
}

/// The host of a redirect's `Location` (a relative one stays on `from`'s
/// host).
fn redirect_host(from: &url::Url, headers: &http::HeaderMap) -> Option<String> {
    let location = headers.get(http::header::LOCATION)?.to_str().ok()?;
    let target = from.join(location).ok()?;
    target.host_str().map(str::to_string)
}
