//! The HTTP client the crate builds for itself.

/// A `reqwest` client builder with the crate's rules: no redirect is
/// followed (a request to UltraCart carries a credential that must not reach
/// another host; a redirect comes back as an answer and the call fails with
/// [`Error::Redirect`](crate::Error::Redirect)), and no `Referer` is sent
/// (a presigned upload URL's signature is a credential too).
pub(crate) fn http_client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
}

/// The host a redirect answer points at, from its `Location` (a relative
/// one stays on `from`'s host). Only the host: a redirect's path or query
/// may carry what a log must not.
pub(crate) fn redirect_host(from: &url::Url, headers: &http::HeaderMap) -> Option<String> {
    let location = headers.get(http::header::LOCATION)?.to_str().ok()?;
    let target = from.join(location).ok()?;
    target.host_str().map(str::to_string)
}
