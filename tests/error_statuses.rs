//! Error answers: UltraCart's documented statuses, proxies' pages and broken bodies.

mod common;

use std::time::Duration;

use common::{builder, client, error_body};
use httpmock::MockServer;
use serde_json::json;
use ultracart_conversation::{Error, StatusCode, mock::MockServerExt};

/// A server that answers every request as `answer` says.
async fn answering(answer: impl FnOnce(httpmock::Then)) -> MockServer {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.any_request();
            answer(then);
        })
        .await;
    server
}

#[tokio::test]
async fn each_documented_status_maps_to_an_api_error_with_readable_fields() {
    for code in [400u16, 401, 410, 429, 500] {
        let server = MockServer::start_async().await;
        let mock = server.get_conversation(|when, then| {
            when.conversation_uuid("c-1");
            let body = error_body(code, "Something went wrong.", "Detail for devs");
            // The statuses the spec documents, each with its typed answer.
            match code {
                400 => then.bad_request(&body),
                401 => then.unauthorized(&body),
                410 => then.gone(&body),
                429 => then.too_many_requests(&body),
                _ => then.internal_server_error(&body),
            };
        });
        let client = builder(&server).max_retries(0).build().unwrap();

        let error = client.get_conversation("c-1").await.unwrap_err();

        mock.assert_async().await;
        assert!(matches!(error, Error::Api { .. }), "{code}: {error:?}");
        assert_eq!(error.status(), Some(StatusCode::from_u16(code).unwrap()));
        assert_eq!(error.user_message(), Some("Something went wrong."));
        assert_eq!(error.developer_message(), Some("Detail for devs"));
        let body = error.error_response().unwrap();
        assert_eq!(body.success, Some(false));
        let detail = body.error.as_ref().unwrap();
        assert_eq!(detail.object_id.as_deref(), Some("obj-42"));
        assert_eq!(
            detail.error_code.as_deref(),
            Some(code.to_string().as_str())
        );
        assert_eq!(error.is_retryable(), code == 429 || code == 500, "{code}");
        let text = error.to_string();
        assert!(
            text.contains(&code.to_string()) && text.contains("Something went wrong."),
            "{text}"
        );
    }
}

#[tokio::test]
async fn an_html_page_from_a_proxy_keeps_its_status_and_an_excerpt() {
    let server = answering(|then| {
        then.status(502)
            .header("content-type", "text/html")
            .body(format!(
                "<html><body><h1>502 Bad Gateway</h1>{}</body></html>",
                "x".repeat(5_000)
            ));
    })
    .await;
    let client = builder(&server).max_retries(0).build().unwrap();

    let error = client.get_conversations(10, 0).await.unwrap_err();

    let Error::UnexpectedStatus { status, body, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*status, StatusCode::BAD_GATEWAY);
    assert!(body.as_str().contains("502 Bad Gateway"));
    assert!(body.as_str().len() < 1_000, "the excerpt is bounded");
    assert!(error.error_response().is_none());
    assert!(error.is_retryable());
    assert!(error.to_string().contains("502"));
}

#[tokio::test]
async fn a_declared_status_with_a_non_json_body_does_not_lose_its_status() {
    let server = answering(|then| {
        then.status(500)
            .header("content-type", "text/plain")
            .body("Internal failure");
    })
    .await;
    let client = builder(&server).max_retries(0).build().unwrap();

    let error = client.get_conversation("c-1").await.unwrap_err();

    assert!(matches!(error, Error::UnexpectedStatus { .. }), "{error:?}");
    assert_eq!(error.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert!(error.to_string().contains("Internal failure"));
}

#[tokio::test]
async fn a_long_retry_after_fails_at_once_and_says_how_long() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(429)
                .header("retry-after", "120")
                .body("slow down");
        })
        .await;

    let error = client(&server).get_conversations(10, 0).await.unwrap_err();

    assert_eq!(
        mock.calls_async().await,
        1,
        "no retry when the wait is too long"
    );
    assert!(error.is_rate_limited());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(error.status(), Some(StatusCode::TOO_MANY_REQUESTS));
}

#[tokio::test]
async fn truncated_json_is_a_decode_error_with_status_and_excerpt() {
    let server = answering(|then| {
        then.status(200)
            .body(r#"{"conversations": [{"conversation_uuid": "c-1"}, {"conversa"#);
    })
    .await;

    let error = client(&server).get_conversations(10, 0).await.unwrap_err();

    let Error::Decode {
        status,
        body,
        message,
        ..
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(*status, StatusCode::OK);
    assert!(message.contains("EOF"), "{message}");
    assert!(body.as_str().starts_with(r#"{"conversations""#));
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn a_wrongly_shaped_field_is_named_by_its_path() {
    let server = answering(|then| {
        then.status(200).json_body(json!({
            "conversation_uuid": "c-1",
            "messages": [
                {"body": "fine", "message_dts": "2022-07-18T10:15:30-04:00"},
                {"body": "broken", "message_dts": {"not": "a date"}}
            ]
        }));
    })
    .await;

    let error = client(&server).get_conversation("c-1").await.unwrap_err();

    let Error::Decode { path, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(path, "messages[1].message_dts");
    assert!(error.to_string().contains("messages[1].message_dts"));
}

#[tokio::test]
async fn a_wrong_type_in_a_page_names_the_summary_and_field() {
    let server = answering(|then| {
        then.status(200).json_body(json!({
            "conversations": [{"message_count": 1}, {"message_count": "many"}]
        }));
    })
    .await;

    let error = client(&server).get_conversations(10, 0).await.unwrap_err();

    let Error::Decode { path, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(path, "conversations[1].message_count");
}

#[tokio::test]
async fn an_empty_success_body_where_json_is_expected_is_its_own_error() {
    let server = answering(|then| {
        then.status(200);
    })
    .await;

    let error = client(&server).get_conversation("c-1").await.unwrap_err();

    assert!(
        matches!(error, Error::EmptyBody { status, .. } if status == StatusCode::OK),
        "{error:?}"
    );
    assert!(error.to_string().contains("empty body"));
}

#[tokio::test]
async fn an_undocumented_status_with_an_error_body_is_still_readable() {
    let server = MockServer::start_async().await;
    server.get_conversation(|when, then| {
        when.conversation_uuid("missing");
        // Not a status the spec documents for this operation.
        then.into_inner().status(409).json_body_obj(&error_body(
            409,
            "The conversation is busy.",
            "conversation locked",
        ));
    });

    let error = client(&server)
        .get_conversation("missing")
        .await
        .unwrap_err();

    assert_eq!(error.status(), Some(StatusCode::CONFLICT));
    assert_eq!(error.user_message(), Some("The conversation is busy."));
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn a_json_error_body_that_is_not_an_object_is_not_mistaken_for_one() {
    let server = answering(|then| {
        then.status(400).body("\"bad request\"");
    })
    .await;

    let error = client(&server).join_conversation("c-1").await.unwrap_err();

    assert!(matches!(error, Error::UnexpectedStatus { .. }), "{error:?}");
    assert_eq!(error.status(), Some(StatusCode::BAD_REQUEST));
}

#[tokio::test]
async fn a_connection_refused_is_a_transport_error() {
    // Bind, then drop, to find a port nothing listens on.
    let client = common::builder_at(common::dead_base_url())
        .max_retries(0)
        .build()
        .unwrap();

    let error = client.get_conversation("c-1").await.unwrap_err();

    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert_eq!(error.status(), None);
}
