//! HTTPS works out of the box through rustls, and certificates are checked.

mod common;

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::{TlsAcceptor, rustls};
use ultracart_conversation::{Client, Error, RefreshTokenProvider, TokenProvider};

struct TestPki {
    ca_pem: String,
    server_config: Arc<rustls::ServerConfig>,
}

/// A throwaway certificate authority and a server certificate it signed
/// for `localhost` and `127.0.0.1`.
fn test_pki() -> TestPki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().unwrap();
    let server_params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![server_cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
        )
        .unwrap();
    TestPki {
        ca_pem: ca_cert.pem(),
        server_config: Arc::new(server_config),
    }
}

/// Serves one canned HTTP/1.1 answer per TLS connection; returns the port.
async fn serve_tls(config: Arc<rustls::ServerConfig>, body: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

/// The connection failed because the server's certificate is signed by an
/// authority the client does not trust: not for any other reason (a
/// connection refused, a handshake that never got that far, plain HTTP
/// sent to a TLS port), which would say nothing about certificates.
fn assert_refused_for_its_certificate(error: &Error) {
    let report = error.report().to_string();
    assert!(
        report.contains("invalid peer certificate") && report.contains("UnknownIssuer"),
        "not a certificate error: {report}"
    );
}

#[tokio::test]
async fn https_with_a_trusted_authority_works() {
    let pki = test_pki();
    let port = serve_tls(
        pki.server_config.clone(),
        r#"{"conversation_uuid":"over-tls"}"#,
    )
    .await;

    let client = Client::builder()
        .api_key(common::API_KEY)
        .base_url(format!("https://localhost:{port}/rest/v2"))
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let conversation = client.get_conversation("c-1").await.unwrap();

    assert_eq!(conversation.conversation_uuid.as_deref(), Some("over-tls"));
}

#[tokio::test]
async fn https_with_an_unknown_authority_is_refused() {
    let pki = test_pki();
    let port = serve_tls(pki.server_config.clone(), "{}").await;

    let client = Client::builder()
        .api_key(common::API_KEY)
        .base_url(format!("https://localhost:{port}"))
        .max_retries(0)
        .build()
        .unwrap();
    let error = client.get_conversation("c-1").await.unwrap_err();

    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_refused_for_its_certificate(&error);
}

#[tokio::test]
async fn the_token_providers_own_client_checks_certificates_too() {
    let pki = test_pki();
    let port = serve_tls(pki.server_config.clone(), "{}").await;

    let provider = RefreshTokenProvider::new("app-id", "secret", "refresh")
        .with_token_url(&format!("https://localhost:{port}/oauth/token"))
        .unwrap();
    let error = provider.access_token().await.unwrap_err();

    assert!(matches!(error, Error::TokenRefresh { .. }), "{error:?}");
    assert!(
        error.to_string().contains("could not be reached"),
        "{error}"
    );
    assert_refused_for_its_certificate(&error);
}

/// An API on plain http (a loopback test server) whose upload URL is https.
async fn plain_api_with_an_https_upload_url(port: u16) -> httpmock::MockServer {
    let api = httpmock::MockServer::start_async().await;
    let url = format!("https://localhost:{port}/bucket/k.png?signature=s");
    let body = serde_json::to_value(common::upload_url("k.png", &url)).unwrap();
    api.mock_async(|when, then| {
        when.method("GET").path("/conversation/upload_url/png");
        then.status(200).json_body(body);
    })
    .await;
    api
}

#[tokio::test]
async fn a_client_of_a_plain_http_api_uploads_to_an_https_url_it_trusts() {
    // Such a client does not load the system's roots when it is built; the
    // first https URL gets a client that checks certificates as usual.
    let pki = test_pki();
    let port = serve_tls(pki.server_config.clone(), "").await;
    let api = plain_api_with_an_https_upload_url(port).await;

    let client = common::builder(&api)
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let media = client
        .upload_multimedia("png", vec![7u8; 16])
        .await
        .unwrap();

    assert_eq!(media.key(), "k.png");
}

#[tokio::test]
async fn a_client_of_a_plain_http_api_refuses_an_https_upload_url_it_does_not_trust() {
    let pki = test_pki();
    let port = serve_tls(pki.server_config.clone(), "").await;
    let api = plain_api_with_an_https_upload_url(port).await;

    let client = common::builder(&api).max_retries(0).build().unwrap();
    let error = client
        .upload_multimedia("png", vec![7u8; 16])
        .await
        .unwrap_err();

    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_refused_for_its_certificate(&error);
}
