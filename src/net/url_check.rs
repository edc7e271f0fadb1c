//! Which URLs the client will send credentials or data to.

use url::{Host, Url};

use crate::Error;

/// Checks a URL the client will send credentials to: https (plain http
/// only on loopback), no userinfo, query or fragment. Trailing slashes go,
/// since the generated client appends paths that start with `/`.
pub(crate) fn checked_url(input: &str, what: &str) -> Result<String, Error> {
    // Messages never repeat the input: it might hold credentials.
    let url = Url::parse(input.trim())
        .map_err(|e| Error::config(format!("the {what} is not a valid URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(format!(
            "the {what} must not contain credentials; use .api_key(..) or .bearer_token(..)"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(format!(
            "the {what} must not have a query or a fragment"
        )));
    }
    check_scheme(&url, what).map_err(Error::config)?;
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// https anywhere, plain http only on loopback hosts (tests, local demos).
/// The refusal is a message: each caller wraps it in its own kind of error.
pub(crate) fn check_scheme(url: &Url, what: &str) -> Result<(), String> {
    check_encrypted(url, what, "https", "http")
}

/// wss anywhere, plain ws only on loopback hosts: a websocket URL is where
/// the agent's JWT goes.
pub(crate) fn check_websocket_scheme(url: &Url, what: &str) -> Result<(), String> {
    check_encrypted(url, what, "wss", "ws")
}

fn check_encrypted(url: &Url, what: &str, secure: &str, plain: &str) -> Result<(), String> {
    if url.host().is_none() {
        return Err(format!("the {what} has no host"));
    }
    match url.scheme() {
        scheme if scheme == secure => Ok(()),
        scheme if scheme == plain && is_loopback(url) => Ok(()),
        scheme if scheme == plain => Err(format!(
            "the {what} must use {secure}; plain {plain} is allowed only for loopback hosts"
        )),
        other => Err(format!("the {what} must use {secure}, not `{other}`")),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked_and_normalized() {
        let ok = |s: &str| checked_url(s, "base URL").unwrap();
        assert_eq!(
            ok("https://secure.ultracart.com/rest/v2/"),
            "https://secure.ultracart.com/rest/v2"
        );
        assert_eq!(
            ok("https://secure.ultracart.com/rest/v2//"),
            "https://secure.ultracart.com/rest/v2"
        );
        assert_eq!(ok("http://127.0.0.1:9000"), "http://127.0.0.1:9000");
        assert_eq!(ok("http://[::1]:9000/api"), "http://[::1]:9000/api");
        assert_eq!(ok("http://localhost:1/"), "http://localhost:1");
        for bad in [
            "",
            "not a url",
            "http://example.com",
            "http://127.example.com",
            "ftp://127.0.0.1",
            "https://user:secret@example.com",
            "https://example.com/?q=1",
        ] {
            let e = checked_url(bad, "base URL").unwrap_err();
            assert!(matches!(e, Error::Config { .. }), "{bad}");
            assert!(!e.to_string().contains("secret"));
        }
    }
}
