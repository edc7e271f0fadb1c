//! Every operation over real HTTP: the exact request, and the decoded answer.
//! The documented requests are matched by literal method and path, not by
//! the typed mocks, whose routes come from the same spec as the client.

mod common;

use common::{API_KEY, OAUTH_TOKEN, Page, client, conversation};
use httpmock::{Method, MockServer};
use serde_json::json;
use ultracart_conversation::{
    Client,
    mock::MockServerExt,
    types::{
        ConversationMultimediaUploadUrlResponse, ConversationStartRequest,
        ConversationStartResponse,
    },
};

const VERSION_HEADER: &str = "x-ultracart-api-version";

/// What every request must carry, whatever the operation.
fn standard_headers(when: httpmock::When) -> httpmock::When {
    when.header(VERSION_HEADER, "2017-03-01")
        .header("accept", "application/json")
        .header("x-ultracart-simple-key", API_KEY)
        .header_missing("authorization")
        .header_missing("api-version")
        .header_prefix("user-agent", "ultracart-conversation/")
}

#[tokio::test]
async fn get_conversation_sends_the_documented_request_and_decodes_everything() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            standard_headers(when.method(Method::GET).path("/conversation/conversations/c-123"));
            then.status(200).json_body(json!({
                "conversation_arn": "arn:conversation:c-123",
                "conversation_uuid": "c-123",
                "merchant_id": "DEMO",
                "a_field_added_tomorrow": {"nested": [1, 2, 3]},
                "messages": [
                    {
                        "author_conversation_participant_arn": "arn:participant:ann",
                        "author_conversation_participant_name": "Ann",
                        "body": "Hello",
                        "media_urls": null,
                        "message_dts": "2022-07-18T10:15:30-04:00"
                    },
                    {"body": "Zulu", "media_urls": ["https://media.test/1.jpg"], "message_dts": "2022-07-18T14:16:00Z"},
                    {"body": null, "message_dts": "2022-07-18T14:16:30.123456Z"},
                    {"body": "zone-less", "message_dts": "2022-07-18T10:17:00"}
                ],
                "participants": [{
                    "conversation_participant_arn": "arn:participant:ann",
                    "conversation_participant_name": "Ann",
                    "conversation_participant_uuid": "p-1",
                    "joined_dts": "2022-07-18T10:00:00-04:00",
                    "last_message_dts": null,
                    "left_dts": null,
                    "status": "joined"
                }]
            }));
        })
        .await;

    let conversation = client(&server).get_conversation("c-123").await.unwrap();

    mock.assert_async().await;
    assert_eq!(conversation.conversation_uuid.as_deref(), Some("c-123"));
    assert_eq!(conversation.merchant_id.as_deref(), Some("DEMO"));
    let messages = conversation.messages.unwrap();
    assert_eq!(messages.len(), 4);
    assert_eq!(
        messages[0].author_conversation_participant_name.as_deref(),
        Some("Ann")
    );
    assert_eq!(messages[0].media_urls, None);
    assert_eq!(
        messages[1].media_urls.as_deref(),
        Some(&["https://media.test/1.jpg".to_string()][..])
    );
    assert_eq!(messages[2].body, None);

    let offset = messages[0].message_dts.as_ref().unwrap();
    assert_eq!(offset.as_str(), "2022-07-18T10:15:30-04:00");
    assert_eq!(
        offset.datetime().unwrap().offset().local_minus_utc(),
        -4 * 3600
    );
    assert_eq!(
        offset.utc().unwrap().to_rfc3339(),
        "2022-07-18T14:15:30+00:00"
    );
    let zulu = messages[1].message_dts.as_ref().unwrap();
    assert_eq!(
        zulu.utc().unwrap().to_rfc3339(),
        "2022-07-18T14:16:00+00:00"
    );
    let fraction = messages[2].message_dts.as_ref().unwrap();
    assert_eq!(fraction.utc().unwrap().timestamp_subsec_micros(), 123_456);
    let zoneless = messages[3].message_dts.as_ref().unwrap();
    assert!(zoneless.datetime().is_none());
    assert_eq!(zoneless.naive().unwrap().to_string(), "2022-07-18 10:17:00");

    let participant = &conversation.participants.unwrap()[0];
    assert_eq!(participant.status.as_deref(), Some("joined"));
    assert!(participant.left_dts.is_none());
}

#[tokio::test]
async fn get_conversations_sends_limit_and_offset_and_decodes_the_page() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            standard_headers(
                when.method(Method::GET)
                    .path("/conversation/conversations")
                    .query_param("_limit", "25")
                    .query_param("_offset", "50"),
            );
            then.status(200).json_body(json!({
                "conversations": [{
                    "conversation_uuid": "c-1",
                    "last_message_dts": "2022-07-18T10:15:30-04:00",
                    "message_count": 3,
                    "unread_messages": true,
                    "new_upstream_field": "ignored"
                }, {
                    "conversation_uuid": "c-2",
                    "last_message_dts": null,
                    "message_count": null
                }],
                "metadata": {"payload_name": "conversations", "result_set": {
                    "count": 2, "limit": 25, "more": false, "next_offset": 52, "offset": 50, "total_records": null
                }},
                "success": true,
                "warning": null
            }));
        })
        .await;

    let page = client(&server).get_conversations(25, 50).await.unwrap();

    mock.assert_async().await;
    let summaries = page.conversations.unwrap();
    assert_eq!(summaries.len(), 2);
    assert_eq!(summaries[0].message_count, Some(3));
    assert_eq!(summaries[0].unread_messages, Some(true));
    assert_eq!(summaries[1].last_message_dts, None);
    let result_set = page.metadata.unwrap().result_set.unwrap();
    assert_eq!(result_set.more, Some(false));
    assert_eq!(result_set.next_offset, Some(52));
    assert_eq!(result_set.total_records, None);
    assert_eq!(page.success, Some(true));
}

#[tokio::test]
async fn start_conversation_puts_the_json_body() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            standard_headers(
                when.method(Method::PUT)
                    .path("/conversation/conversations")
                    .header("content-type", "application/json")
                    .json_body(json!({
                        "add_conversation_participant_arns": ["arn:participant:agent-7"],
                        "conversation_arn": "arn:conversation:existing"
                    })),
            );
            then.status(200).json_body_obj(&ConversationStartResponse {
                conversation_arn: Some("arn:conversation:new".into()),
                ..common::started("c-new")
            });
        })
        .await;

    let request = ConversationStartRequest {
        add_conversation_participant_arns: Some(vec!["arn:participant:agent-7".into()]),
        conversation_arn: Some("arn:conversation:existing".into()),
    };
    let started = client(&server).start_conversation(&request).await.unwrap();

    mock.assert_async().await;
    assert_eq!(started.conversation_uuid.as_deref(), Some("c-new"));
    assert_eq!(
        started.conversation_arn.as_deref(),
        Some("arn:conversation:new")
    );
}

#[tokio::test]
async fn start_conversation_leaves_out_unset_fields() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::PUT)
                .path("/conversation/conversations")
                .json_body(json!({}));
            then.status(200).json_body_obj(&common::started("c-empty"));
        })
        .await;

    let started = client(&server)
        .start_conversation(&ConversationStartRequest::default())
        .await
        .unwrap();

    mock.assert_async().await;
    assert_eq!(started.conversation_uuid.as_deref(), Some("c-empty"));
}

#[tokio::test]
async fn join_accepts_200_and_204() {
    let server = MockServer::start_async().await;
    let ok = server
        .mock_async(|when, then| {
            standard_headers(
                when.method(Method::PUT)
                    .path("/conversation/conversations/c-1/join"),
            );
            then.status(200);
        })
        .await;
    let no_content = server
        .mock_async(|when, then| {
            when.method(Method::PUT)
                .path("/conversation/conversations/c-2/join");
            then.status(204);
        })
        .await;

    let client = client(&server);
    client.join_conversation("c-1").await.unwrap();
    client.join_conversation("c-2").await.unwrap();

    ok.assert_async().await;
    no_content.assert_async().await;
}

#[tokio::test]
async fn leave_sends_delete_and_accepts_any_2xx() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            standard_headers(
                when.method(Method::DELETE)
                    .path("/conversation/conversations/c-1/leave"),
            );
            then.status(202).body("ignored text");
        })
        .await;

    client(&server).leave_conversation("c-1").await.unwrap();

    mock.assert_async().await;
}

#[tokio::test]
async fn agent_websocket_authorization_is_a_put_and_keeps_the_jwt() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            standard_headers(when.method(Method::PUT).path("/conversation/agent/auth"));
            then.status(200).json_body_obj(&common::agent_seven(
                common::AGENT_JWT,
                "wss://websocket.test/agent",
            ));
        })
        .await;

    let auth = client(&server)
        .get_agent_websocket_authorization()
        .await
        .unwrap();

    mock.assert_async().await;
    assert_eq!(auth.jwt.as_ref().unwrap().expose(), common::AGENT_JWT);
    assert_eq!(
        auth.websocket_url.as_deref(),
        Some("wss://websocket.test/agent")
    );
    assert_eq!(
        auth.twilio_phone_numbers.unwrap(),
        vec!["+15555550100".to_string()]
    );
}

#[tokio::test]
async fn upload_url_decodes_the_body_the_server_really_sends() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            standard_headers(
                when.method(Method::GET)
                    .path("/conversation/upload_url/jpg"),
            );
            then.status(200)
                .json_body_obj(&ConversationMultimediaUploadUrlResponse {
                    success: Some(true),
                    ..common::upload_url(
                        "merchant/DEMO/abc.jpg",
                        "https://uploads.test/abc.jpg?X-Amz-Signature=deadbeef",
                    )
                });
        })
        .await;

    let answer = client(&server)
        .get_conversation_multimedia_upload_url("jpg")
        .await
        .unwrap();

    mock.assert_async().await;
    let target = answer.conversation_multimedia_upload_url.unwrap();
    assert_eq!(target.key.as_deref(), Some("merchant/DEMO/abc.jpg"));
    assert!(
        target
            .url
            .unwrap()
            .starts_with("https://uploads.test/abc.jpg")
    );
}

#[tokio::test]
async fn a_bearer_token_replaces_the_simple_key() {
    let server = MockServer::start_async().await;
    let mock = server.get_conversation(|when, then| {
        when.conversation_uuid("c-1")
            .into_inner()
            .header("authorization", format!("Bearer {OAUTH_TOKEN}"))
            .header_missing("x-ultracart-simple-key")
            .header(VERSION_HEADER, "2017-03-01");
        then.ok(&conversation("c-1"));
    });

    let client = Client::builder()
        .bearer_token(OAUTH_TOKEN)
        .base_url(server.base_url())
        .build()
        .unwrap();
    client.get_conversation("c-1").await.unwrap();

    mock.assert_async().await;
}

#[tokio::test]
async fn a_base_url_with_a_path_and_trailing_slash_is_joined_without_doubling() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            // Under a base path, which the typed mocks' routes do not know.
            when.method(Method::GET)
                .path("/rest/v2/conversation/conversations/c-1");
            then.status(200).json_body_obj(&conversation("c-1"));
        })
        .await;

    let client = Client::builder()
        .api_key(API_KEY)
        .base_url(format!("{}/rest/v2/", server.base_url()))
        .build()
        .unwrap();
    client.get_conversation("c-1").await.unwrap();

    mock.assert_async().await;
}

#[tokio::test]
async fn api_version_and_user_agent_can_be_set() {
    let server = MockServer::start_async().await;
    let mock = server.get_conversation(|when, then| {
        when.into_inner()
            .header(VERSION_HEADER, "2099-01-01")
            .header("user-agent", "support-desk/2.1");
        then.ok(&conversation("c-1"));
    });

    let client = common::builder(&server)
        .api_version("2099-01-01")
        .user_agent("support-desk/2.1")
        .build()
        .unwrap();
    client.get_conversation("c-1").await.unwrap();

    mock.assert_async().await;
}

#[tokio::test]
async fn the_raw_client_shares_base_url_headers_and_auth() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            standard_headers(
                when.method(Method::GET)
                    .path("/conversation/conversations")
                    .query_param("_limit", "3"),
            );
            then.status(200)
                .json_body_obj(&Page::new(0, 3).limit(3).total(3).build());
        })
        .await;

    let client = client(&server);
    let response = client
        .raw()
        .get_conversations()
        .limit(3)
        .send()
        .await
        .unwrap();

    mock.assert_async().await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.into_inner().conversations.unwrap().len(), 3);
}
