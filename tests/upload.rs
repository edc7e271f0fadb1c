//! Media upload: the presigned PUT carries the bytes and no UltraCart header.

mod common;

use httpmock::{Method, MockServer};
use ultracart_conversation::{
    Client, Error, StatusCode, mock::MockServerExt, types::ConversationMultimediaUploadUrlResponse,
};

const SIGNATURE: &str = "X-Amz-Signature=5ec4e7TOPSECRET";

/// A server where UltraCart hands out a presigned URL for `extension`
/// on the same server.
async fn upload_server(extension: &str) -> MockServer {
    let server = MockServer::start_async().await;
    let key = format!("merchant/DEMO/file-1.{extension}");
    let url = format!("{}/storage/{key}?{SIGNATURE}", server.base_url());
    server.get_conversation_multimedia_upload_url(|when, then| {
        when.extension(extension);
        then.ok(&ConversationMultimediaUploadUrlResponse {
            success: Some(true),
            ..common::upload_url(&key, &url)
        });
    });
    server
}

fn storage_when(when: httpmock::When, extension: &str) -> httpmock::When {
    when.method(Method::PUT)
        .path(format!("/storage/merchant/DEMO/file-1.{extension}"))
        .query_param("X-Amz-Signature", "5ec4e7TOPSECRET")
        .header_missing("x-ultracart-simple-key")
        .header_missing("authorization")
        .header_missing("x-ultracart-api-version")
}

#[tokio::test]
async fn bytes_go_to_the_presigned_url_without_ultracart_headers() {
    let server = upload_server("png").await;
    let png: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let expected = png.clone();
    let storage = server
        .mock_async(move |when, then| {
            storage_when(when, "png")
                .header("content-type", "image/png")
                .header("content-length", "70000")
                .is_true(move |request| request.body_ref() == expected.as_slice());
            then.status(200).header("etag", "\"abc\"");
        })
        .await;
    let client = common::client(&server);

    let media = client.upload_multimedia("png", png.clone()).await.unwrap();

    storage.assert_async().await;
    assert_eq!(media.key(), "merchant/DEMO/file-1.png");
    assert_eq!(media.url().path(), "/storage/merchant/DEMO/file-1.png");
    assert!(!format!("{media:?}").contains("TOPSECRET"));
}

#[tokio::test]
async fn a_bearer_client_does_not_send_its_token_to_storage_either() {
    let server = upload_server("jpg").await;
    let storage = server
        .mock_async(|when, then| {
            storage_when(when, "jpg").header("content-type", "image/jpeg");
            then.status(200);
        })
        .await;
    let client = Client::builder()
        .bearer_token(common::OAUTH_TOKEN)
        .base_url(server.base_url())
        .build()
        .unwrap();

    client
        .upload_multimedia("jpg", &b"\xff\xd8\xff"[..])
        .await
        .unwrap();

    storage.assert_async().await;
}

#[tokio::test]
async fn a_file_is_streamed_with_its_length() {
    let server = upload_server("mp4").await;
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let path =
        std::env::temp_dir().join(format!("ultracart-upload-test-{}.mp4", std::process::id()));
    std::fs::write(&path, &content).unwrap();
    let expected = content.clone();
    let storage = server
        .mock_async(move |when, then| {
            storage_when(when, "mp4")
                .header("content-type", "video/mp4")
                .header("content-length", "3000000")
                .is_true(move |request| request.body_ref() == expected.as_slice());
            then.status(200);
        })
        .await;
    let client = common::client(&server);

    let result = client.upload_multimedia_file("mp4", &path).await;
    let _ = std::fs::remove_file(&path);

    result.unwrap();
    storage.assert_async().await;
}

#[tokio::test]
async fn a_refused_upload_reports_the_storage_status_and_an_excerpt_but_not_the_signature() {
    let server = upload_server("gif").await;
    server
        .mock_async(|when, then| {
            storage_when(when, "gif");
            then.status(403)
                .header("content-type", "application/xml")
                .body("<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>");
        })
        .await;
    let client = common::client(&server);

    let error = client
        .upload_multimedia("gif", vec![1u8, 2, 3])
        .await
        .unwrap_err();

    assert!(matches!(error, Error::Upload { .. }), "{error:?}");
    assert_eq!(error.status(), Some(StatusCode::FORBIDDEN));
    let text = format!("{error} {error:?}");
    assert!(
        text.contains("AccessDenied") && text.contains("403"),
        "{text}"
    );
    assert!(!text.contains("TOPSECRET"), "{text}");
}

#[tokio::test]
async fn a_storage_outage_is_retried_and_then_reported() {
    let server = upload_server("pdf").await;
    let storage = server
        .mock_async(|when, then| {
            storage_when(when, "pdf");
            then.status(503).body("Slow Down");
        })
        .await;
    let client = common::builder(&server).max_retries(2).build().unwrap();

    let error = client
        .upload_multimedia("pdf", vec![0u8; 10])
        .await
        .unwrap_err();

    assert_eq!(storage.calls_async().await, 3);
    assert_eq!(error.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
}

#[tokio::test]
async fn an_answer_without_a_url_is_an_upload_error() {
    let server = MockServer::start_async().await;
    server.get_conversation_multimedia_upload_url(|when, then| {
        when.extension("png");
        then.ok(&ConversationMultimediaUploadUrlResponse {
            success: Some(true),
            ..Default::default()
        });
    });

    let error = common::client(&server)
        .upload_multimedia("png", vec![1u8])
        .await
        .unwrap_err();

    assert!(
        matches!(error, Error::Upload { status: None, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_unreachable_storage_host_gives_a_transport_error_without_the_signature() {
    let server = MockServer::start_async().await;
    let unreachable = format!("{}/k?{SIGNATURE}", common::dead_base_url());
    server.get_conversation_multimedia_upload_url(|when, then| {
        when.extension("png");
        then.ok(&common::upload_url("k", &unreachable));
    });

    let error = common::builder(&server)
        .max_retries(0)
        .build()
        .unwrap()
        .upload_multimedia("png", vec![1u8])
        .await
        .unwrap_err();

    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert!(!format!("{error} {error:?}").contains("TOPSECRET"));
}
