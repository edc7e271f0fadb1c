//! Every error reads as one sentence, keeps its causes in `source()`, and
//! prints each of them once through an error reporter such as anyhow.

mod common;

use std::{error::Error as _, time::Duration};

use common::{
    builder_at, client_at, dead_base_url,
    oauth::{api_client, provider},
    scripted::{Reply, ScriptedServer},
};
use ultracart_conversation::{Error, mock::DemoServer};

/// The error's own sentence and each cause's, top down.
fn chain(error: &Error) -> Vec<String> {
    let mut levels = vec![error.to_string()];
    let mut cause = error.source();
    while let Some(c) = cause {
        levels.push(c.to_string());
        cause = c.source();
    }
    levels
}

/// One sentence at each level, no level repeating one below it, and each
/// printed once by anyhow's report of the whole chain.
fn assert_reads_once(error: &Error) -> Vec<String> {
    let levels = chain(error);
    for (i, level) in levels.iter().enumerate() {
        assert!(!level.contains('\n'), "{level:?}");
        for below in &levels[i + 1..] {
            assert!(
                !level.contains(below.as_str()),
                "{level:?} repeats {below:?}"
            );
        }
    }
    levels
}

fn assert_anyhow_prints_each_once(error: Error) {
    let levels = chain(&error);
    let report = format!("{:#}", anyhow::Error::from(error));
    for level in &levels {
        assert_eq!(report.matches(level.as_str()).count(), 1, "{report}");
    }
}

#[tokio::test]
async fn a_refused_connection_keeps_reqwests_error_as_its_cause() {
    let error = client_at(dead_base_url())
        .get_conversation("c")
        .await
        .unwrap_err();

    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    let levels = assert_reads_once(&error);
    assert_eq!(levels[0], "the connection to 127.0.0.1 failed");
    assert!(error.source().unwrap().is::<reqwest::Error>());
    assert_anyhow_prints_each_once(error);
}

#[tokio::test]
async fn a_timeout_names_the_host_and_keeps_the_cause() {
    let slow = ScriptedServer::always(
        Reply::json(200, &common::bodies::conversation("c")).delay(Duration::from_secs(3)),
    )
    .await;
    let error = builder_at(slow.base_url())
        .timeout(Duration::from_millis(100))
        .max_retries(0)
        .build()
        .unwrap()
        .get_conversation("c")
        .await
        .unwrap_err();

    assert!(error.is_timeout(), "{error:?}");
    assert_reads_once(&error);
    assert!(error.source().unwrap().is::<reqwest::Error>());
    assert_anyhow_prints_each_once(error);
}

#[tokio::test]
async fn a_decode_error_keeps_serde_jsons_error_with_its_position() {
    let broken = ScriptedServer::always(Reply::text(200, r#"{"conversations": [{"conversa"#)).await;
    let error = client_at(broken.base_url())
        .get_conversations(10, 0)
        .await
        .unwrap_err();

    let levels = assert_reads_once(&error);
    let cause = error.source().unwrap();
    assert!(cause.is::<serde_json::Error>(), "{cause:?}");
    assert!(levels[1].contains("line 1"), "{levels:?}");
    assert_anyhow_prints_each_once(error);
}

#[tokio::test]
async fn a_token_endpoint_that_cannot_be_reached_is_the_cause_of_the_token_error() {
    let api = ScriptedServer::always(Reply::json(200, &common::bodies::conversation("c"))).await;
    let error = api_client(&api.base_url(), provider(&dead_base_url()))
        .get_conversation("c")
        .await
        .unwrap_err();

    assert!(matches!(error, Error::TokenRefresh { .. }), "{error:?}");
    let levels = assert_reads_once(&error);
    assert!(levels.len() >= 2, "{levels:?}");
    assert!(error.is_retryable());
    assert_anyhow_prints_each_once(error);
}

#[tokio::test]
async fn an_unreadable_upload_file_keeps_the_io_error() {
    let demo = DemoServer::with_conversations(1).await;
    let error = demo
        .client()
        .unwrap()
        .upload_multimedia_file("png", "/nonexistent/photo.png")
        .await
        .unwrap_err();

    assert!(matches!(error, Error::Upload { .. }), "{error:?}");
    assert_reads_once(&error);
    assert!(error.source().unwrap().is::<std::io::Error>());
    assert_anyhow_prints_each_once(error);
}

#[test]
fn a_custom_providers_error_is_the_cause() {
    let error = Error::token_provider(std::io::Error::other("vault sealed"));
    let levels = assert_reads_once(&error);
    assert_eq!(levels[1], "vault sealed");
    assert_anyhow_prints_each_once(error);
}
