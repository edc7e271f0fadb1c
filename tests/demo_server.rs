//! The built-in demo server, through the real client, and the typed httpmock
//! helpers on a plain server.
#![cfg(feature = "mock")]

use std::{
    collections::HashSet,
    time::{SystemTime, UNIX_EPOCH},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use futures::TryStreamExt;
use httpmock::MockServer;
use ultracart_conversation::{
    Client, StatusCode,
    mock::{DemoServer, MockServerExt},
    types,
};

/// A demo server can live in a static or move between tasks.
const _: fn() = || {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<DemoServer>();
};

fn participant_status(conversation: &types::Conversation, arn: &str) -> Option<String> {
    conversation
        .participants
        .iter()
        .flatten()
        .find(|p| p.conversation_participant_arn.as_deref() == Some(arn))
        .and_then(|p| p.status.clone())
}

#[tokio::test]
async fn lists_every_conversation_once_newest_first() {
    let demo = DemoServer::start().await;
    let client = demo.client().unwrap();

    let all: Vec<_> = client.conversations().items().try_collect().await.unwrap();

    assert_eq!(all.len(), 350);
    let uuids: HashSet<_> = all
        .iter()
        .map(|s| s.conversation_uuid.clone().unwrap())
        .collect();
    assert_eq!(uuids.len(), 350);
    let listed: Vec<_> = all
        .iter()
        .map(|s| s.conversation_uuid.clone().unwrap())
        .collect();
    assert_eq!(listed, demo.conversation_uuids());
    let times: Vec<_> = all
        .iter()
        .filter_map(|s| s.last_message_dts.as_ref()?.utc())
        .collect();
    assert_eq!(times.len(), 350, "every seeded timestamp parses");
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let texts: Vec<_> = all
        .iter()
        .map(|s| s.last_message_dts.as_ref().unwrap().as_str())
        .collect();
    assert!(texts.iter().any(|t| t.ends_with("-04:00")));
    assert!(texts.iter().any(|t| t.ends_with('Z')));
    assert!(texts.iter().any(|t| t.contains('.')));
    for summary in &all {
        assert_eq!(summary.merchant_id.as_deref(), Some("DEMO"));
        assert!(
            summary
                .conversation_arn
                .as_deref()
                .unwrap()
                .starts_with("arn:")
        );
        assert!(summary.last_conversation_message_body.is_some());
        assert!(summary.last_conversation_participant_name.is_some());
        assert!(summary.message_count.unwrap() >= 1);
    }
    assert!(all.iter().any(|s| s.unread_messages == Some(true)));
    assert!(all.iter().any(|s| s.unread_messages == Some(false)));
    // Two pages, and one read at the top that finds the inbox unchanged.
    assert_eq!(demo.request_count(), 3);
    let debug = format!("{demo:?}");
    assert!(
        debug.contains("conversations: 350") && debug.contains("requests: 3"),
        "{debug}"
    );
}

#[tokio::test]
async fn pages_carry_sane_metadata() {
    let demo = DemoServer::start().await;
    let client = demo.client().unwrap();

    let pages: Vec<_> = client
        .conversations()
        .page_size(200)
        .pages()
        .try_collect()
        .await
        .unwrap();

    assert_eq!(
        pages.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [200, 150]
    );
    let sets: Vec<_> = pages
        .iter()
        .map(|p| p.result_set().cloned().unwrap())
        .collect();
    assert_eq!(
        sets[0],
        types::ResultSet {
            count: Some(200),
            limit: Some(200),
            more: Some(true),
            next_offset: Some(200),
            offset: Some(0),
            total_records: Some(350),
        }
    );
    assert_eq!(
        sets[1],
        types::ResultSet {
            count: Some(150),
            limit: Some(200),
            more: Some(false),
            next_offset: Some(350),
            offset: Some(200),
            total_records: Some(350),
        }
    );

    // Without `_limit` the server uses UltraCart's default of 100.
    let default_page: types::ConversationsResponse = reqwest::Client::new()
        .get(format!("{}/conversation/conversations", demo.base_url()))
        .header("x-ultracart-simple-key", DemoServer::API_KEY)
        .header("x-ultracart-api-version", "2017-03-01")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(default_page.conversations.unwrap().len(), 100);
    assert_eq!(default_page.success, Some(true));
}

#[tokio::test]
async fn a_conversation_has_messages_and_participants() {
    let demo = DemoServer::start().await;
    let client = demo.client().unwrap();
    let summaries = client
        .get_conversations(50, 0)
        .await
        .unwrap()
        .conversations
        .unwrap();
    let busiest = summaries.iter().max_by_key(|s| s.message_count).unwrap();
    let uuid = busiest.conversation_uuid.clone().unwrap();

    let conversation = client.get_conversation(&uuid).await.unwrap();

    assert_eq!(
        conversation.conversation_uuid.as_deref(),
        Some(uuid.as_str())
    );
    assert_eq!(conversation.conversation_arn, busiest.conversation_arn);
    assert_eq!(conversation.merchant_id.as_deref(), Some("DEMO"));
    let messages = conversation.messages.clone().unwrap();
    assert_eq!(messages.len() as i32, busiest.message_count.unwrap());
    assert!(messages.len() >= 2);
    let last = messages.last().unwrap();
    assert_eq!(last.body, busiest.last_conversation_message_body);
    assert_eq!(last.message_dts, busiest.last_message_dts);
    assert!(messages.windows(2).all(|w| {
        w[0].message_dts.as_ref().unwrap().utc() <= w[1].message_dts.as_ref().unwrap().utc()
    }));
    let participants = conversation.participants.unwrap();
    assert!(participants.len() >= 2);
    for participant in &participants {
        assert!(participant.conversation_participant_uuid.is_some());
        assert!(participant.joined_dts.as_ref().unwrap().is_valid());
        assert!(matches!(
            participant.status.as_deref(),
            Some("joined" | "left")
        ));
        assert_eq!(
            participant.status.as_deref() == Some("left"),
            participant.left_dts.is_some()
        );
    }
}

#[tokio::test]
async fn an_unknown_conversation_is_a_404_with_an_error_response() {
    let demo = DemoServer::with_conversations(3).await;
    let client = demo.client().unwrap();

    // Reserved characters travel percent-encoded and are decoded by the demo.
    let error = client
        .get_conversation("no such/conversation?")
        .await
        .unwrap_err();

    assert_eq!(error.status(), Some(StatusCode::NOT_FOUND));
    let body = error.error_response().expect("an UltraCart error body");
    assert_eq!(body.success, Some(false));
    let detail = body.error.as_ref().unwrap();
    assert_eq!(detail.error_code.as_deref(), Some("404"));
    assert_eq!(detail.object_id.as_deref(), Some("no such/conversation?"));
    assert!(detail.user_message.is_some());

    for result in [
        client.join_conversation("missing").await,
        client.leave_conversation("missing").await,
    ] {
        assert_eq!(result.unwrap_err().status(), Some(StatusCode::NOT_FOUND));
    }
}

#[tokio::test]
async fn a_started_conversation_comes_first_and_can_be_read() {
    let demo = DemoServer::with_conversations(20).await;
    let client = demo.client().unwrap();
    let customer = "arn:ultracart:conversation:DEMO:participant/customer/new-one";

    let started = client
        .start_conversation(&types::ConversationStartRequest {
            add_conversation_participant_arns: Some(vec![customer.into()]),
            conversation_arn: None,
        })
        .await
        .unwrap();

    let uuid = started.conversation_uuid.unwrap();
    let first = client
        .get_conversations(5, 0)
        .await
        .unwrap()
        .conversations
        .unwrap();
    assert_eq!(first[0].conversation_uuid.as_deref(), Some(uuid.as_str()));
    assert_eq!(first[0].message_count, Some(0));
    assert_eq!(demo.conversation_uuids().len(), 21);
    let conversation = client.get_conversation(&uuid).await.unwrap();
    assert_eq!(conversation.conversation_arn, started.conversation_arn);
    assert_eq!(
        participant_status(&conversation, customer).as_deref(),
        Some("joined")
    );
}

#[tokio::test]
async fn joining_and_leaving_change_the_agents_status() {
    let demo = DemoServer::with_conversations(10).await;
    let client = demo.client().unwrap();
    let agent = client
        .get_agent_websocket_authorization()
        .await
        .unwrap()
        .conversation_participant_arn
        .unwrap();
    let uuid = demo.conversation_uuids()[4].clone();
    let before = client.get_conversation(&uuid).await.unwrap();
    assert_eq!(participant_status(&before, &agent), None);

    client.join_conversation(&uuid).await.unwrap();
    let joined = client.get_conversation(&uuid).await.unwrap();
    assert_eq!(
        participant_status(&joined, &agent).as_deref(),
        Some("joined")
    );
    assert_eq!(
        joined.participants.as_ref().unwrap().len(),
        before.participants.as_ref().unwrap().len() + 1
    );

    client.leave_conversation(&uuid).await.unwrap();
    let left = client.get_conversation(&uuid).await.unwrap();
    assert_eq!(participant_status(&left, &agent).as_deref(), Some("left"));
    let me = left
        .participants
        .iter()
        .flatten()
        .find(|p| p.conversation_participant_arn.as_deref() == Some(agent.as_str()))
        .unwrap();
    assert!(me.left_dts.as_ref().unwrap().as_str().ends_with("-04:00"));
}

#[tokio::test]
async fn agent_auth_returns_a_jwt_that_expires_in_the_future() {
    let demo = DemoServer::with_conversations(1).await;
    let client = demo.client().unwrap();

    let auth = client.get_agent_websocket_authorization().await.unwrap();

    assert_eq!(auth.merchant_id.as_deref(), Some("DEMO"));
    assert_eq!(
        auth.twilio_phone_numbers,
        Some(vec!["+15555550100".to_string()])
    );
    assert!(auth.websocket_url.as_deref().unwrap().starts_with("wss://"));
    let jwt = auth.jwt.unwrap();
    assert!(!format!("{jwt:?}").contains(jwt.expose()), "stays redacted");
    let parts: Vec<_> = jwt.expose().split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["typ"], "JWT");
    let payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(payload["exp"].as_u64().unwrap() > now);
    assert_eq!(
        payload["sub"].as_str(),
        auth.conversation_participant_arn.as_deref()
    );
    assert!(!parts[2].is_empty());
}

#[tokio::test]
async fn upload_urls_accept_a_plain_put_and_refuse_a_second_credential() {
    let demo = DemoServer::with_conversations(1).await;
    let client = demo.client().unwrap();
    let http = reqwest::Client::new();

    let answer = client
        .get_conversation_multimedia_upload_url("jpg")
        .await
        .unwrap();

    assert_eq!(answer.success, Some(true));
    let target = answer.conversation_multimedia_upload_url.unwrap();
    let (key, url) = (target.key.unwrap(), target.url.unwrap());
    assert!(
        key.starts_with("conversation/DEMO/") && key.ends_with(".jpg"),
        "{key}"
    );
    assert!(
        url.starts_with(&format!("{}/demo-storage/{key}?", demo.base_url())),
        "{url}"
    );
    assert!(url.contains("X-Amz-Signature=") && url.contains("X-Amz-Expires=900"));
    assert_eq!(demo.uploaded(&key), None);

    let refused = http
        .put(&url)
        .header("authorization", "Bearer leaked")
        .body(vec![1u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("<Code>InvalidArgument</Code>")
    );
    assert_eq!(demo.uploaded(&key), None);

    let unsigned = url.split('?').next().unwrap();
    let forbidden = http.put(unsigned).body("x").send().await.unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);

    let photo = vec![0xFFu8; 4_096];
    let stored = http.put(&url).body(photo).send().await.unwrap();
    assert_eq!(stored.status(), StatusCode::OK);
    assert!(stored.headers().contains_key("etag"));
    assert_eq!(demo.uploaded(&key), Some(4_096));

    // The spec puts no limit on the extension: an odd one is kept in the
    // key and escaped in the URL, which still takes the upload.
    let odd = client
        .get_conversation_multimedia_upload_url("j?g é")
        .await
        .unwrap()
        .conversation_multimedia_upload_url
        .unwrap();
    let (key, url) = (odd.key.unwrap(), odd.url.unwrap());
    assert!(key.ends_with(".j?g é"), "{key}");
    assert!(url.contains(".j%3Fg%20%C3%A9?"), "{url}");
    let stored = http.put(&url).body("odd").send().await.unwrap();
    assert_eq!(stored.status(), StatusCode::OK);
    assert_eq!(demo.uploaded(&key), Some(3));
}

#[tokio::test]
async fn requests_need_a_credential_and_an_api_version() {
    let demo = DemoServer::with_conversations(1).await;
    let http = reqwest::Client::new();
    let url = format!("{}/conversation/conversations", demo.base_url());

    let anonymous = http
        .get(&url)
        .header("x-ultracart-api-version", "2017-03-01")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let body: types::ErrorResponse = anonymous.json().await.unwrap();
    assert_eq!(body.success, Some(false));
    assert_eq!(body.error.unwrap().error_code.as_deref(), Some("401"));

    let empty_bearer = http
        .get(&url)
        .header("authorization", "Bearer ")
        .header("x-ultracart-api-version", "2017-03-01")
        .send()
        .await
        .unwrap();
    assert_eq!(empty_bearer.status(), StatusCode::UNAUTHORIZED);

    let unversioned = http
        .get(&url)
        .header("x-ultracart-simple-key", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(unversioned.status(), StatusCode::BAD_REQUEST);

    // The client's bearer tokens are accepted like simple keys.
    let bearer = Client::builder()
        .bearer_token("any-token")
        .base_url(demo.base_url())
        .build()
        .unwrap();
    bearer.get_conversations(1, 0).await.unwrap();
}

#[tokio::test]
async fn a_demo_told_its_credential_refuses_every_other_one_with_401() {
    let demo = DemoServer::builder()
        .conversations(3)
        .accept_only_api_key("right-key")
        .accept_only_bearer_token("right-token")
        .start()
        .await;
    let http = reqwest::Client::new();
    let url = format!("{}/conversation/conversations", demo.base_url());
    let status_with = |name: &'static str, value: &'static str| {
        let request = http
            .get(&url)
            .header(name, value)
            .header("x-ultracart-api-version", "2017-03-01");
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let body: types::ErrorResponse = response.json().await.unwrap_or_default();
            (status, body)
        }
    };

    for (name, value) in [
        ("x-ultracart-simple-key", "wrong-key"),
        ("x-ultracart-simple-key", DemoServer::API_KEY),
        ("x-ultracart-simple-key", "right-token"),
        ("authorization", "Bearer wrong-token"),
        ("authorization", "Bearer right-key"),
    ] {
        let (status, body) = status_with(name, value).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {value}");
        let error = body.error.expect("UltraCart's error body");
        assert_eq!(error.error_code.as_deref(), Some("401"));
        assert!(
            !format!("{error:?}").contains(value),
            "the credential is not echoed"
        );
    }
    for (name, value) in [
        ("x-ultracart-simple-key", "right-key"),
        ("authorization", "Bearer right-token"),
    ] {
        let (status, _) = status_with(name, value).await;
        assert_eq!(status, StatusCode::OK, "{name}: {value}");
    }

    // Through the client: a wrong key is the typed 401, not retried; the
    // demo's own client uses the key it accepts.
    let wrong = Client::builder()
        .api_key("wrong-key")
        .base_url(demo.base_url())
        .build()
        .unwrap();
    let before = demo.request_count();
    let error = wrong.get_conversation("any").await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::UNAUTHORIZED));
    assert!(!error.is_retryable());
    assert_eq!(demo.request_count(), before + 1, "a 401 is not retried");
    let page = demo
        .client()
        .unwrap()
        .get_conversations(10, 0)
        .await
        .unwrap();
    assert_eq!(page.conversations.unwrap().len(), 3);
    assert!(!format!("{demo:?}").contains("right-key"));
    let builder = DemoServer::builder().accept_only_api_key("right-key");
    assert!(!format!("{builder:?}").contains("right-key"), "{builder:?}");
}

#[tokio::test]
async fn malformed_requests_get_400() {
    let demo = DemoServer::with_conversations(1).await;
    let http = reqwest::Client::new();
    let send = |request: reqwest::RequestBuilder| async move {
        let response = request
            .header("x-ultracart-simple-key", DemoServer::API_KEY)
            .header("x-ultracart-api-version", "2017-03-01")
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: types::ErrorResponse = response.json().await.unwrap_or_default();
        (status, body)
    };
    let list = format!("{}/conversation/conversations", demo.base_url());

    for query in [
        "_limit=500",
        "_limit=-1",
        "_limit=abc",
        "_offset=-1",
        "_offset=x",
    ] {
        let (status, body) = send(http.get(format!("{list}?{query}"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body.error.unwrap().error_code.as_deref(), Some("400"));
    }
    let (status, _) = send(http.put(&list).body("{not json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // JSON, but not the spec's object: serde alone would read `[null, null]`
    // as a request with both fields absent.
    for body in [
        "[null, null]",
        "[]",
        "null",
        "\"arn\"",
        r#"{"conversation_arn": null}"#,
        r#"{"conversation_arn": 7}"#,
        r#"{"add_conversation_participant_arns": [null]}"#,
    ] {
        let (status, body_back) = send(http.put(&list).body(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            body_back.error.unwrap().error_code.as_deref(),
            Some("400"),
            "{body}"
        );
    }
    // What the spec allows is started: arrays may be null, extra fields
    // are ignored.
    let (status, _) = send(http.put(&list).body(
        r#"{"add_conversation_participant_arns": null, "conversation_arn": "arn:x", "x": 1}"#,
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    // `_limit=0` is the spec's least: an empty page, not an error.
    let empty: types::ConversationsResponse = http
        .get(format!("{list}?_limit=0"))
        .header("x-ultracart-simple-key", DemoServer::API_KEY)
        .header("x-ultracart-api-version", "2017-03-01")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(empty.conversations.map(|c| c.len()), Some(0));
    let (status, _) = send(http.post(&list)).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _) =
        send(http.get(format!("{}/conversation/nothing-here", demo.base_url()))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The server survives all of it.
    demo.client()
        .unwrap()
        .get_conversations(1, 0)
        .await
        .unwrap();
}

#[tokio::test]
async fn overrides_take_precedence_over_the_demo() {
    let demo = DemoServer::with_conversations(5).await;
    let client = Client::builder()
        .api_key(DemoServer::API_KEY)
        .base_url(demo.base_url())
        .max_retries(0)
        .build()
        .unwrap();

    demo.override_routes(|server| {
        // Fails once, then lets the demo answer.
        server.get_conversations(|_when, then| {
            then.internal_server_error(&types::ErrorResponse::default())
                .into_inner()
                .up_to_n_times(1);
        });
    })
    .await;

    let error = client.get_conversations(5, 0).await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    let page = client.get_conversations(5, 0).await.unwrap();
    assert_eq!(page.conversations.unwrap().len(), 5);
}

#[tokio::test]
async fn typed_helpers_script_a_plain_mock_server() {
    let server = MockServer::start_async().await;
    let found = server.get_conversation(|when, then| {
        when.conversation_uuid("abc");
        then.ok(&types::Conversation {
            conversation_uuid: Some("abc".into()),
            merchant_id: Some("DEMO".into()),
            ..Default::default()
        });
    });
    let failing = server.get_conversation(|when, then| {
        when.conversation_uuid("boom");
        then.internal_server_error(&types::ErrorResponse {
            error: Some(types::Error {
                error_code: Some("500".into()),
                user_message: Some("Something broke.".into()),
                ..Default::default()
            }),
            success: Some(false),
            ..Default::default()
        });
    });
    let client = Client::builder()
        .api_key("k")
        .base_url(server.base_url())
        .max_retries(0)
        .build()
        .unwrap();

    let conversation = client.get_conversation("abc").await.unwrap();
    assert_eq!(conversation.conversation_uuid.as_deref(), Some("abc"));
    assert_eq!(conversation.merchant_id.as_deref(), Some("DEMO"));
    found.assert_async().await;

    let error = client.get_conversation("boom").await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(error.user_message(), Some("Something broke."));
    failing.assert_calls_async(1).await;
}

#[tokio::test]
async fn the_clients_own_upload_and_agent_credentials_work_against_the_demo() {
    let demo = DemoServer::with_conversations(1).await;
    let client = demo.client().unwrap();

    let media = client
        .upload_multimedia("png", vec![7u8; 1_234])
        .await
        .unwrap();
    assert_eq!(demo.uploaded(media.key()), Some(1_234));

    let path = std::env::temp_dir().join(format!("demo-upload-{}.mp4", std::process::id()));
    std::fs::write(&path, vec![1u8; 70_000]).unwrap();
    let file = client.upload_multimedia_file(".mp4", &path).await;
    std::fs::remove_file(&path).unwrap();
    let file = file.unwrap();
    assert!(file.key().ends_with(".mp4"), "{}", file.key());
    assert_eq!(demo.uploaded(file.key()), Some(70_000));

    let credentials = client.agent_credentials().await.unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expires_in = credentials.expires_at().unwrap().timestamp() - now;
    assert!((3_500..=3_600).contains(&expires_in), "{expires_in}");
    assert_eq!(credentials.merchant_id(), Some("DEMO"));
    assert_eq!(credentials.websocket_url().scheme(), "wss");
}
