//! What UltraCart (or something in between) answered to one request.

use http::HeaderMap;
use url::Url;

use crate::{StatusCode, net::Body};

/// A whole answer, read within the client's limits.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) version: http::Version,
    pub(crate) headers: HeaderMap,
    /// Where the answer came from. It differs from where the request was
    /// sent only when a caller-supplied HTTP client followed a redirect.
    pub(crate) url: Url,
    /// Whether that URL is not the one the request was sent to.
    pub(crate) redirected: bool,
    /// The wait its `Retry-After` asks for, read once, when it has one.
    pub(crate) retry_after: Option<std::time::Duration>,
    pub(crate) body: Body,
}
