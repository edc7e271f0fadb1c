//! Bad arguments and bad settings fail before anything is sent.

mod common;

use common::{API_KEY, client};
use httpmock::MockServer;
use ultracart_conversation::{Client, Error};

#[tokio::test]
async fn bad_arguments_are_rejected_without_a_request() {
    let server = MockServer::start_async().await;
    let anything = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).body("{}");
        })
        .await;
    let client = client(&server);

    let mut errors = Vec::new();
    for uuid in ["", ".", "..", "a\\b"] {
        errors.push(client.get_conversation(uuid).await.unwrap_err());
        errors.push(client.join_conversation(uuid).await.unwrap_err());
        errors.push(client.leave_conversation(uuid).await.unwrap_err());
    }
    for extension in ["", ".", "..", "a/b", "png/../x"] {
        errors.push(
            client
                .get_conversation_multimedia_upload_url(extension)
                .await
                .unwrap_err(),
        );
    }
    for (limit, offset) in [(0, 0), (201, 0), (u32::MAX, 0), (10, u32::MAX)] {
        errors.push(client.get_conversations(limit, offset).await.unwrap_err());
    }

    for error in &errors {
        assert!(error.is_invalid_input(), "{error:?}");
        assert!(error.status().is_none());
    }
    assert_eq!(anything.calls_async().await, 0);
    let limit_error = client
        .get_conversations(201, 0)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        limit_error.contains("limit") && limit_error.contains("200"),
        "{limit_error}"
    );
}

#[test]
fn building_without_a_credential_fails_clearly() {
    let error = Client::builder().build().unwrap_err();
    assert!(matches!(error, Error::Config { .. }));
    assert!(error.to_string().contains("api_key"));
}

#[test]
fn building_with_both_credentials_fails() {
    let error = Client::builder()
        .api_key(API_KEY)
        .bearer_token("t")
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("one credential"));
}

#[test]
fn unusable_credentials_fail_without_echoing_them() {
    for key in ["", "   ", "line\nbreak-TOPSECRET"] {
        let error = Client::builder().api_key(key).build().unwrap_err();
        assert!(matches!(error, Error::Config { .. }), "{key:?}");
        assert!(!format!("{error} {error:?}").contains("TOPSECRET"));
    }
}

#[test]
fn base_urls_must_be_https_unless_loopback() {
    for bad in [
        "http://secure.ultracart.com/rest/v2",
        "not a url",
        "ftp://127.0.0.1/",
        "https://me:TOPSECRET@host.test",
    ] {
        let error = Client::builder()
            .api_key(API_KEY)
            .base_url(bad)
            .build()
            .unwrap_err();
        assert!(matches!(error, Error::Config { .. }), "{bad}");
        assert!(!error.to_string().contains("TOPSECRET"));
    }
    for good in [
        "https://secure.ultracart.com/rest/v2",
        "http://127.0.0.1:1",
        "http://localhost:8080/x",
        "http://[::1]:80",
    ] {
        Client::builder()
            .api_key(API_KEY)
            .base_url(good)
            .build()
            .unwrap();
    }
}

#[test]
fn zero_limits_are_configuration_errors() {
    assert!(
        Client::builder()
            .api_key(API_KEY)
            .max_in_flight(0)
            .build()
            .is_err()
    );
    assert!(
        Client::builder()
            .api_key(API_KEY)
            .timeout(std::time::Duration::ZERO)
            .build()
            .is_err()
    );
    assert!(
        Client::builder()
            .api_key(API_KEY)
            .max_response_bytes(0)
            .build()
            .is_err()
    );
}

#[test]
fn the_client_is_send_sync_clone_and_cheap() {
    fn assert_traits<T: Send + Sync + Clone + 'static>() {}
    assert_traits::<Client>();
    assert!(std::mem::size_of::<Client>() <= std::mem::size_of::<usize>());
}

#[test]
fn settings_at_the_edges_are_configuration_errors_not_panics() {
    use std::time::Duration;
    use ultracart_conversation::{Client, RateLimit};

    let e = Client::builder()
        .api_key("k")
        .max_in_flight(usize::MAX)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("max_in_flight"), "{e}");
    let e = RateLimit::per_period(1, Duration::MAX).unwrap_err();
    assert!(e.to_string().contains("a year"), "{e}");
    // A limit this far away is as good as none, and must not overflow.
    Client::builder()
        .api_key("k")
        .call_timeout(Duration::MAX)
        .max_retry_wait(Duration::MAX)
        .build()
        .unwrap();
}

#[tokio::test]
async fn a_call_timeout_of_duration_max_does_not_overflow() {
    let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
    let client = ultracart_conversation::Client::builder()
        .api_key(ultracart_conversation::mock::DemoServer::API_KEY)
        .base_url(demo.base_url())
        .call_timeout(std::time::Duration::MAX)
        .build()
        .unwrap();
    client.get_conversations(1, 0).await.unwrap();
}
