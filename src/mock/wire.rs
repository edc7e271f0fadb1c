//! Reading httpmock requests and writing responses, without ever panicking:
//! a panic in a responder would take the mock server's thread down with it,
//! so every malformed input becomes an error answer instead.

use httpmock::{HttpMockRequest, HttpMockResponse};
use serde::Serialize;

use crate::{AnswerShape, types};

/// A request's path, split into percent-decoded segments, and its query.
pub(crate) struct Target {
    /// The segments after the leading `/`; `None` for one that does not
    /// decode to UTF-8.
    pub(crate) segments: Vec<Option<String>>,
    pub(crate) query: Vec<(String, String)>,
}

impl Target {
    pub(crate) fn of(request: &HttpMockRequest) -> Self {
        Self::parse(request.uri_str())
    }

    fn parse(target: &str) -> Self {
        // A request through a proxy carries the absolute form.
        let target = match target.find("://") {
            Some(scheme_end) if !target.starts_with('/') => {
                let rest = &target[scheme_end + 3..];
                rest.find('/').map_or("/", |path| &rest[path..])
            }
            _ => target,
        };
        let target = target.split('#').next().unwrap_or_default();
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Self {
            segments: path
                .trim_start_matches('/')
                .split('/')
                .map(percent_decode)
                .collect(),
            query: url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        }
    }

    /// The first value of a query parameter.
    pub(crate) fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// The first value of a header, by case-insensitive name.
pub(crate) fn header<'a>(request: &'a HttpMockRequest, name: &str) -> Option<&'a str> {
    request
        .headers_vec()
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// Decodes `%XX` escapes; `None` when the result is not UTF-8. A `%` not
/// followed by two hex digits is kept as is, as lenient servers do.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A JSON answer built from one of the spec's models.
pub(crate) fn json<T: Serialize>(status: u16, value: &T) -> HttpMockResponse {
    match serde_json::to_vec(value) {
        Ok(body) => HttpMockResponse::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(body)
            .build(),
        Err(e) => error(
            500,
            "The demo server failed.",
            &format!("cannot encode the answer: {e}"),
        ),
    }
}

/// A model in the shape the demo answers with: bare, or in UltraCart's
/// envelope under `key`, as the live service sends it.
pub(crate) fn model<T: Serialize>(shape: AnswerShape, key: &str, value: &T) -> HttpMockResponse {
    match shape {
        AnswerShape::Bare => json(200, value),
        _ => json(
            200,
            &serde_json::json!({
                key: value,
                "metadata": {"payload_name": key},
                "success": true,
            }),
        ),
    }
}

/// UltraCart's error envelope.
pub(crate) fn error(status: u16, user_message: &str, developer_message: &str) -> HttpMockResponse {
    error_about(status, user_message, developer_message, None)
}

/// UltraCart's error envelope, naming the object it is about.
pub(crate) fn error_about(
    status: u16,
    user_message: &str,
    developer_message: &str,
    object_id: Option<&str>,
) -> HttpMockResponse {
    let body = types::ErrorResponse {
        error: Some(types::Error {
            developer_message: Some(developer_message.to_string()),
            error_code: Some(status.to_string()),
            more_info: None,
            object_id: object_id.map(str::to_string),
            user_message: Some(user_message.to_string()),
        }),
        metadata: Some(types::ResponseMetadata::default()),
        success: Some(false),
        warning: None,
    };
    // Serializing this struct of strings cannot fail; an empty body would
    // still carry the status.
    let body = serde_json::to_vec(&body).unwrap_or_default();
    HttpMockResponse::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body)
        .build()
}

/// A success without a body (join and leave).
pub(crate) fn no_content() -> HttpMockResponse {
    HttpMockResponse::builder().status(204).build()
}

/// S3's XML error document, which the fake storage answers with.
pub(crate) fn storage_error(status: u16, code: &str, message: &str) -> HttpMockResponse {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    HttpMockResponse::builder()
        .status(status)
        .header("content-type", "application/xml")
        .body(body)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = Target::parse("/conversation/conversations/a%2Fb?_limit=5&x=http://y&_limit=6");
        assert_eq!(t.segments.len(), 3);
        assert_eq!(t.segments[2].as_deref(), Some("a/b"));
        assert_eq!(t.query("_limit"), Some("5"));
        assert_eq!(t.query("x"), Some("http://y"));
        let absolute = Target::parse("http://127.0.0.1:1/conversation/agent/auth");
        assert_eq!(absolute.segments[1].as_deref(), Some("agent"));
        assert_eq!(Target::parse("/a/%FF").segments[1], None);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Fb%20c").as_deref(), Some("a/b c"));
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
        assert_eq!(percent_decode("%zz%4").as_deref(), Some("%zz%4"));
        assert_eq!(percent_decode("%C3%BC").as_deref(), Some("ü"));
        assert_eq!(percent_decode("%FF"), None);
    }
}
