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
