//! TLS for `rediss://`. The `redis` crate takes rustls's process-wide
//! crypto provider, and rustls cannot choose one by itself when both of
//! this crate's backends are built in (`--all-features`): it would panic.
//! So the provider the cargo features chose is installed first, unless the
//! application installed one already (then that one stays).

pub(super) fn install_crypto_provider() {
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
