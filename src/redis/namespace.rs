//! The namespace that decides which clients share what they keep in Redis,
//! and the names of its keys.

use std::{fmt, sync::Arc};

use sha2::{Digest, Sha256};

use crate::Error;

/// Longest name a caller may give a part of a key (a namespace, a group, a
/// member).
pub(crate) const LONGEST_NAME: usize = 128;

/// Whether a name may hold `c`: printable ASCII, no space, no brace.
pub(crate) fn key_char(c: char) -> bool {
    c.is_ascii_graphic() && c != '{' && c != '}'
}

/// `name`, if it can be part of a key without breaking the layout: short,
/// printable, and free of the braces that make a Redis Cluster hash tag.
/// `what` names it in the error ("a shared-limits namespace").
pub(crate) fn key_part<'a>(what: &str, name: &'a str) -> Result<&'a str, Error> {
    let fits = !name.is_empty() && name.len() <= LONGEST_NAME && name.chars().all(key_char);
    if fits {
        Ok(name)
    } else {
        Err(Error::config(format!(
            "{what} is 1 to {LONGEST_NAME} printable ASCII characters without spaces, `{{` or `}}`"
        )))
    }
}

/// One namespace's keys. All share one hash tag (`{…}`), so that every key a
/// script touches lives on one node of a Redis Cluster.
#[derive(Clone)]
pub(crate) struct Namespace {
    /// `ultracart-conversation:{<namespace>}`: processes of older versions
    /// share Redis with newer ones during a rolling upgrade, so this never
    /// changes.
    prefix: Arc<str>,
}

impl Namespace {
    /// The default namespace: a hash of the base URL and the credential, so
    /// that every process of one application on one account shares it, two
    /// applications on one Redis never do, and Redis never sees the key.
    pub(crate) fn derived(base_url: &str, credential: &[u8]) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"ultracart-conversation shared limits v1\n");
        hash.update(base_url.as_bytes());
        hash.update(b"\n");
        hash.update(credential);
        let digest = hash.finalize();
        let name: String = digest[..16]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Self::named(&name)
    }

    /// A namespace the caller chose, checked so that it cannot break the key
    /// layout (`{…}` is Redis Cluster's hash tag).
    pub(crate) fn checked(name: &str) -> Result<Self, Error> {
        key_part("a shared-limits namespace", name).map(Self::named)
    }

    fn named(name: &str) -> Self {
        Self {
            prefix: format!("ultracart-conversation:{{{name}}}").into(),
        }
    }

    /// The key named `suffix` in this namespace.
    pub(crate) fn key(&self, suffix: &str) -> String {
        format!("{}:{suffix}", self.prefix)
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_namespaces_differ_by_credential_and_never_hold_it() {
        let key = |base_url, credential| Namespace::derived(base_url, credential).key("lease");
        let a = key("https://h.test/rest/v2", b"key-a".as_slice());
        assert_ne!(a, key("https://h.test/rest/v2", b"key-b"));
        assert_ne!(a, key("https://other.test/rest/v2", b"key-a"));
        assert_eq!(a, key("https://h.test/rest/v2", b"key-a"));
        assert!(!a.contains("key-a"));
    }

    #[test]
    fn keys_keep_the_layout_older_versions_use() {
        // Pinned: a rolling upgrade shares Redis with processes that name
        // their keys this way.
        assert_eq!(
            Namespace::derived("https://h.test/rest/v2", b"key-a").key("lease"),
            "ultracart-conversation:{a0175d0cd863c68c0c643fbf1760a75c}:lease"
        );
        assert_eq!(
            Namespace::checked("support-desk")
                .unwrap()
                .key("rate:50000:5"),
            "ultracart-conversation:{support-desk}:rate:50000:5"
        );
    }

    #[test]
    fn chosen_namespaces_cannot_break_the_key_layout() {
        assert!(Namespace::checked("billing-export").is_ok());
        for bad in ["", "a b", "a{b}", &"x".repeat(LONGEST_NAME + 1), "é"] {
            assert!(Namespace::checked(bad).is_err(), "{bad:?}");
        }
    }
}
