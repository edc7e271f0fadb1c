//! Reading a body whole, within a limit: for UltraCart's answers and the
//! token endpoint's.

use bytes::{Bytes, BytesMut};

/// The body of an answer.
#[derive(Debug)]
pub(crate) enum Body {
    Read(Bytes),
    /// Longer than the client accepts; reading stopped at `limit` bytes.
    TooLarge {
        limit: usize,
    },
}

/// Reads the whole body, refusing more than `limit` bytes; a body that
/// arrives in one chunk is not copied.
pub(crate) async fn read_capped(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<Body, reqwest::Error> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Ok(Body::TooLarge { limit });
    }
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = response.chunk().await? {
        total = total.saturating_add(chunk.len());
        if total > limit {
            return Ok(Body::TooLarge { limit });
        }
        chunks.push(chunk);
    }
    if chunks.len() <= 1 {
        return Ok(Body::Read(chunks.pop().unwrap_or_default()));
    }
    let mut joined = BytesMut::with_capacity(total);
    for chunk in chunks {
        joined.extend_from_slice(&chunk);
    }
    Ok(Body::Read(joined.freeze()))
}
