//! The namespace that decides which clients share a budget.

use sha2::{Digest, Sha256};

use crate::Error;

/// Longest namespace a caller may set.
const LONGEST: usize = 128;

/// The default namespace: a hash of the base URL and the credential, so
/// that every process of one application on one account shares a budget,
/// two applications on one Redis never do, and Redis never sees the key.
pub(super) fn derived(base_url: &str, credential: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(b"ultracart-conversation shared limits v1\n");
    hash.update(base_url.as_bytes());
    hash.update(b"\n");
    hash.update(credential);
    let digest = hash.finalize();
    digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A namespace the caller chose, checked so that it cannot break the key
/// layout (`{…}` is Redis Cluster's hash tag).
pub(super) fn checked(namespace: &str) -> Result<String, Error> {
    let fits = !namespace.is_empty()
        && namespace.len() <= LONGEST
        && namespace
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '{' && c != '}');
    if fits {
        Ok(namespace.to_string())
    } else {
        Err(Error::config(format!(
            "a shared-limits namespace is 1 to {LONGEST} printable ASCII characters without spaces, `{{` or `}}`"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_namespaces_differ_by_credential_and_never_hold_it() {
        let a = derived("https://h.test/rest/v2", b"key-a");
        let b = derived("https://h.test/rest/v2", b"key-b");
        let other_host = derived("https://other.test/rest/v2", b"key-a");
        assert_ne!(a, b);
        assert_ne!(a, other_host);
        assert_eq!(a, derived("https://h.test/rest/v2", b"key-a"));
        assert_eq!(a.len(), 32);
        assert!(!a.contains("key-a"));
    }

    #[test]
    fn chosen_namespaces_cannot_break_the_key_layout() {
        assert!(checked("billing-export").is_ok());
        for bad in ["", "a b", "a{b}", &"x".repeat(LONGEST + 1), "é"] {
            assert!(checked(bad).is_err(), "{bad:?}");
        }
    }
}
