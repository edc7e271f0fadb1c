//! Path values travel as exactly one percent-encoded segment.

mod common;

use common::{client, conversation};
use httpmock::MockServer;
use ultracart_conversation::{mock::MockServerExt, types::ConversationMultimediaUploadUrlResponse};

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
        // The typed mocks' routes match any segment; the exact encoding is
        // checked with a literal path.
        let get = server.get_conversation(|when, then| {
            when.into_inner().path(base.clone());
            then.ok(&conversation(value));
        });
        let join = server.join_conversation(|when, then| {
            when.into_inner().path(format!("{base}/join"));
            then.success(204);
        });
        let leave = server.leave_conversation(|when, then| {
            when.into_inner().path(format!("{base}/leave"));
            then.success(204);
        });

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
    let mock = server.get_conversation_multimedia_upload_url(|when, then| {
        when.into_inner()
            .path("/conversation/upload_url/j%20p%3Fg%23");
        then.ok(&ConversationMultimediaUploadUrlResponse {
            success: Some(true),
            ..Default::default()
        });
    });

    client(&server)
        .get_conversation_multimedia_upload_url("j p?g#")
        .await
        .unwrap();

    mock.assert_async().await;
}
