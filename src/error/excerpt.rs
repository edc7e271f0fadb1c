//! Short, printable, secret-free excerpts of response bodies for errors.

use std::fmt;

/// How much of a body an error keeps: enough to recognise an HTML error page
/// or a truncated document, little enough to log.
const EXCERPT_CHARS: usize = 200;

/// The first few hundred characters of a response body, safe to print.
///
/// Control characters are escaped, invalid UTF-8 is replaced, and anything
/// shaped like a JWT is redacted, so the excerpt can go into logs as is.
///
/// ```
/// use ultracart_conversation::BodyExcerpt;
///
/// let excerpt = BodyExcerpt::new(b"<html><body>502 Bad Gateway</body></html>");
/// assert!(excerpt.as_str().contains("502 Bad Gateway"));
/// assert_eq!(excerpt.total_len(), 41);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct BodyExcerpt {
    text: String,
    total_len: usize,
}

impl BodyExcerpt {
    /// Builds an excerpt of `body`.
    ///
    /// ```
    /// # use ultracart_conversation::BodyExcerpt;
    /// let long = vec![b'x'; 10_000];
    /// assert!(BodyExcerpt::new(&long).as_str().len() < 1_000);
    /// ```
    pub fn new(body: &[u8]) -> Self {
        // Decode a little more than needed so a multi-byte character at the
        // cut does not turn into a replacement character.
        let head = &body[..body.len().min(EXCERPT_CHARS * 4)];
        let decoded = String::from_utf8_lossy(head);
        let mut text = String::with_capacity(EXCERPT_CHARS + 8);
        for (count, c) in decoded.chars().enumerate() {
            if count == EXCERPT_CHARS {
                break;
            }
            match c {
                '\n' | '\r' | '\t' => text.push(' '),
                c if c.is_control() => text.extend(c.escape_default()),
                c => text.push(c),
            }
        }
        let mut text = redact_jwts(&text);
        if text.chars().count() < decoded.chars().count() || head.len() < body.len() {
            text.push('…');
        }
        Self {
            text,
            total_len: body.len(),
        }
    }

    /// The printable excerpt.
    ///
    /// ```
    /// # use ultracart_conversation::BodyExcerpt;
    /// assert_eq!(BodyExcerpt::new(b"oops").as_str(), "oops");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Length of the whole body in bytes.
    ///
    /// ```
    /// # use ultracart_conversation::BodyExcerpt;
    /// assert_eq!(BodyExcerpt::new(b"").total_len(), 0);
    /// ```
    pub fn total_len(&self) -> usize {
        self.total_len
    }

    /// Whether the body was empty.
    ///
    /// ```
    /// # use ultracart_conversation::BodyExcerpt;
    /// assert!(BodyExcerpt::new(b"").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.total_len == 0
    }
}

impl fmt::Display for BodyExcerpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.total_len == 0 {
            f.write_str("<empty body>")
        } else {
            write!(f, "{:?} ({} bytes)", self.text, self.total_len)
        }
    }
}

impl fmt::Debug for BodyExcerpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Replaces every JWT-shaped run (`eyJ…`, base64url parts joined by dots)
/// with a marker. A JWT is the agent's websocket credential, and a decode
/// error on that response would otherwise print it.
pub(crate) fn redact_jwts(text: &str) -> String {
    const MARKER: &str = "eyJ";
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(MARKER) {
        out.push_str(&rest[..start]);
        let candidate = &rest[start..];
        let end = candidate
            .find(|c: char| !is_token_char(c))
            .unwrap_or(candidate.len());
        let token = &candidate[..end];
        if token.matches('.').count() >= 1 || token.len() >= 16 {
            out.push_str("[REDACTED JWT]");
        } else {
            out.push_str(token);
        }
        rest = &candidate[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_bounded_and_printable() {
        let body = format!("{}\u{1}", "é".repeat(1_000));
        let excerpt = BodyExcerpt::new(body.as_bytes());
        assert_eq!(excerpt.as_str().chars().count(), EXCERPT_CHARS + 1);
        assert!(excerpt.as_str().ends_with('…'));
        assert_eq!(BodyExcerpt::new(b"a\nb\x07").as_str(), "a b\\u{7}");
    }

    #[test]
    fn jwts_are_redacted() {
        let text = r#"{"jwt":"eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2ln","x":1}"#;
        let redacted = redact_jwts(text);
        assert!(!redacted.contains("eyJhbGci"), "{redacted}");
        assert!(redacted.contains("[REDACTED JWT]"));
        assert_eq!(redact_jwts("eyJ short"), "eyJ short");
    }

    #[test]
    fn invalid_utf8_does_not_panic() {
        let excerpt = BodyExcerpt::new(&[0xff, 0xfe, b'a']);
        assert!(excerpt.as_str().ends_with('a'));
    }
}
