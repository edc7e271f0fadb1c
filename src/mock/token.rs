//! Credential-shaped strings for the demo: an agent JWT, upload URL
//! signatures and ETags. They look like the real thing so clients can parse
//! them, but nothing is really signed: the demo has no secrets to protect.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::{rng::fnv1a, seed::MERCHANT_ID};

/// How long the agent JWT is valid, like UltraCart's one hour.
pub(crate) const JWT_LIFETIME_SECS: u64 = 3600;

/// A JWT (`header.payload.signature`, base64url without padding) whose
/// payload carries `exp`, `iat`, `sub` and `merchant_id`.
pub(crate) fn agent_jwt(subject: &str, now_unix: u64) -> String {
    let header = serde_json::json!({"alg": "HS256", "typ": "JWT"});
    let payload = serde_json::json!({
        "exp": now_unix + JWT_LIFETIME_SECS,
        "iat": now_unix,
        "sub": subject,
        "merchant_id": MERCHANT_ID,
    });
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    // 32 bytes, the size of an HMAC-SHA256, derived from what is "signed".
    let signature: Vec<u8> = (0u8..4)
        .flat_map(|round| fnv1a(format!("{round}:{signed}").as_bytes()).to_be_bytes())
        .collect();
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// 64 hex digits, the shape of an `X-Amz-Signature`.
pub(crate) fn presign_signature(key: &str, nonce: u64) -> String {
    (0u8..4)
        .map(|round| {
            format!(
                "{:016x}",
                fnv1a(format!("{round}:{nonce}:{key}").as_bytes())
            )
        })
        .collect()
}

/// A quoted ETag that changes with the content, as S3's does.
pub(crate) fn etag(body: &[u8]) -> String {
    format!("\"{:016x}{:016x}\"", fnv1a(body), body.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jwt_has_three_parts_and_a_readable_payload() {
        let jwt = agent_jwt("arn:agent", 1_000);
        let parts: Vec<_> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(payload["exp"], 4_600);
        assert_eq!(payload["sub"], "arn:agent");
        assert_eq!(presign_signature("k", 1).len(), 64);
    }
}
