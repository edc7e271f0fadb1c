//! The process-wide rustls crypto provider, for the clients that take it
//! rather than bring their own: reqwest built with `rustls-ring` (no
//! provider of its own), and the `redis` crate's `rediss://` connections.
//! rustls cannot choose by itself when both of this crate's backends are
//! built in (`--all-features`); it would panic. So the provider the cargo
//! features chose is installed once, unless the application installed one
//! first (then that one stays).

pub(crate) fn install_crypto_provider() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        #[cfg(feature = "rustls-aws-lc")]
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        #[cfg(all(feature = "rustls-ring", not(feature = "rustls-aws-lc")))]
        let provider = rustls::crypto::ring::default_provider();
        // An error means one is installed already.
        let _ = provider.install_default();
    });
}
