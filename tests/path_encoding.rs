//! Path values travel as exactly one percent-encoded segment.

mod common;

use common::client;
use httpmock::{Method, MockServer};
use serde_json::json;

const AWKWARD: [(&str, &str); 7] = [
    ("a/b", "a%2Fb"),
    ("what?x=1", "what%3Fx=1"),
    ("frag#ment", "frag%23ment"),
    ("100%", "100%25"),
    ("with space", "with%20space"),
    ("ünïcødé", "%C3%BCn%C3%AFc%C3%B8d%C3%A9"),
    ("../../etc", "..%2F..%2Fetc"),
];

#[tokio::test]
async fn conversation_uuids_are_one_encoded_segment_in_every_operation() {
    let server = MockServer::start_async().await;
    let client = client(&server);
    for (value, encoded) in AWKWARD {
        let base = format!("/conversation/conversations/{encoded}");
        let get = server
            .mock_async(|when, then| {
                when.method(Method::GET).path(base.clone());
                then.status(200)
                    .json_body(json!({"conversation_uuid": value}));
            })
            .await;
        let join = server
            .mock_async(|when, then| {
                when.method(Method::PUT).path(format!("{base}/join"));
                then.status(204);
            })
            .await;
        let leave = server
            .mock_async(|when, then| {
                when.method(Method::DELETE).path(format!("{base}/leave"));
                then.status(204);
            })
            .await;

        let conversation = client.get_conversation(value).await.unwrap();
        client.join_conversation(value).await.unwrap();
        client.leave_conversation(value).await.unwrap();

        assert_eq!(conversation.conversation_uuid.as_deref(), Some(value));
        get.assert_async().await;
        join.assert_async().await;
        leave.assert_async().await;
    }
}

#[tokio::test]
async fn extensions_are_one_encoded_segment() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::GET)
                .path("/conversation/upload_url/j%20p%3Fg%23");
            then.status(200).json_body(json!({"success": true}));
        })
        .await;

    client(&server)
        .get_conversation_multimedia_upload_url("j p?g#")
        .await
        .unwrap();

    mock.assert_async().await;
}
