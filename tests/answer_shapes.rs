//! UltraCart answers three operations bare (2022-07-18) or in its envelope
//! (every revision since, and the live service): the facade gives the same
//! data for both, and never turns an answer it does not recognise into an
//! empty model.

mod common;

use common::scripted::{Reply, ScriptedServer};
use httpmock::MockServer;
use serde_json::{Value, json};
use ultracart_conversation::{
    AnswerShape, Client, Error, StatusCode,
    mock::{DemoServer, MockServerExt},
    types::ConversationStartRequest,
};

async fn demo(shape: AnswerShape) -> (DemoServer, Client) {
    let demo = DemoServer::builder()
        .conversations(5)
        .answer_shape(shape)
        .start()
        .await;
    let client = demo.client().unwrap();
    (demo, client)
}

#[tokio::test]
async fn get_conversation_reads_the_same_conversation_in_both_shapes() {
    let (bare_demo, bare) = demo(AnswerShape::Bare).await;
    let (enveloped_demo, enveloped) = demo(AnswerShape::Envelope).await;
    let uuid = bare_demo.conversation_uuids()[0].clone();
    assert_eq!(enveloped_demo.conversation_uuids()[0], uuid, "same seed");

    let from_bare = bare.get_conversation_enveloped(&uuid).await.unwrap();
    let from_envelope = enveloped.get_conversation_enveloped(&uuid).await.unwrap();

    assert_eq!(from_bare.shape(), AnswerShape::Bare);
    assert_eq!(from_envelope.shape(), AnswerShape::Envelope);
    assert_eq!(from_envelope.success(), Some(true));
    assert_eq!(from_bare.inner(), from_envelope.inner());
    let conversation = enveloped.get_conversation(&uuid).await.unwrap();
    assert_eq!(
        conversation.conversation_uuid.as_deref(),
        Some(uuid.as_str())
    );
    assert!(!conversation.messages.unwrap_or_default().is_empty());
    assert!(!conversation.participants.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn agent_auth_and_agent_credentials_work_in_both_shapes() {
    for shape in [AnswerShape::Bare, AnswerShape::Envelope] {
        let (_demo, client) = demo(shape).await;
        let answer = client
            .get_agent_websocket_authorization_enveloped()
            .await
            .unwrap();
        assert_eq!(answer.shape(), shape);
        let auth = answer.into_inner();
        assert!(auth.jwt.is_some(), "{shape:?}");
        assert!(auth.websocket_url.is_some(), "{shape:?}");
        assert!(auth.conversation_participant_arn.is_some(), "{shape:?}");

        let credentials = client.agent_credentials().await.unwrap();
        assert_eq!(credentials.websocket_url().scheme(), "wss");
        assert!(credentials.expires_at().is_some(), "{shape:?}");
    }
}

#[tokio::test]
async fn start_conversation_returns_the_new_ids_in_both_shapes() {
    for shape in [AnswerShape::Bare, AnswerShape::Envelope] {
        let (demo, client) = demo(shape).await;
        let answer = client
            .start_conversation_enveloped(&ConversationStartRequest::default())
            .await
            .unwrap();
        assert_eq!(answer.shape(), shape);
        let started = answer.into_inner();
        let uuid = started.conversation_uuid.expect("the new uuid");
        assert!(started.conversation_arn.is_some(), "{shape:?}");
        assert_eq!(demo.conversation_uuids()[0], uuid, "{shape:?}");
    }
}

#[tokio::test]
async fn the_envelopes_warning_and_metadata_are_reachable() {
    let server = ScriptedServer::always(Reply::json(
        200,
        &json!({
            "conversation": {"conversation_uuid": "c-1"},
            "success": true,
            "warning": {"warning_message": "slow down soon", "more_info": "https://x.test"},
            "metadata": {"payload_name": "conversation"}
        }),
    ))
    .await;
    let client = common::client_at(server.base_url());

    let answer = client.get_conversation_enveloped("c-1").await.unwrap();

    assert_eq!(
        answer.warning().and_then(|w| w.warning_message.as_deref()),
        Some("slow down soon")
    );
    assert_eq!(
        answer.metadata().and_then(|m| m.payload_name.as_deref()),
        Some("conversation")
    );
    assert_eq!(answer.inner().conversation_uuid.as_deref(), Some("c-1"));
}

#[tokio::test]
async fn known_fields_beside_unknown_ones_still_decode_in_both_shapes() {
    let bodies = [
        json!({"conversation_uuid": "c-1", "brand_new_field": {"x": 1}}),
        json!({"conversation": {"conversation_uuid": "c-1", "transport_statuses": []}, "success": true, "new_top_level": 7}),
    ];
    for body in bodies {
        let server = ScriptedServer::always(Reply::json(200, &body)).await;
        let client = common::client_at(server.base_url());
        let conversation = client.get_conversation("c-1").await.unwrap();
        assert_eq!(conversation.conversation_uuid.as_deref(), Some("c-1"));
    }
}

#[tokio::test]
async fn an_envelope_that_says_it_failed_is_an_api_error_despite_a_200() {
    let server = ScriptedServer::always(Reply::json(
        200,
        &json!({"success": false, "error": {"user_message": "No such agent.", "developer_message": "agent disabled"}}),
    ))
    .await;
    let client = common::client_at(server.base_url());

    let error = client
        .get_agent_websocket_authorization()
        .await
        .unwrap_err();

    assert!(matches!(error, Error::Api { .. }), "{error:?}");
    assert_eq!(error.status(), Some(StatusCode::OK));
    assert_eq!(error.user_message(), Some("No such agent."));
}

#[tokio::test]
async fn a_broken_field_inside_the_envelope_is_named_by_its_full_path() {
    let server = ScriptedServer::always(Reply::json(
        200,
        &json!({"conversation": {"messages": [{"message_dts": {"not": "a date"}}]}, "success": true}),
    ))
    .await;
    let client = common::client_at(server.base_url());

    let error = client.get_conversation("c-1").await.unwrap_err();

    let Error::Decode { path, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(path, "conversation.messages[0].message_dts");
}

/// An answer that is a JSON object with none of the expected fields, in
/// either shape: decoding it would give an empty model.
const STRANGER: &str = r#"{"unexpected": "TOPSECRET-VALUE", "also_unknown": [1, 2]}"#;

fn assert_unrecognized(operation: &str, outcome: Result<(), Error>, model: &str) {
    let error = outcome.expect_err(operation);
    let Error::UnrecognizedBody {
        status,
        model: named,
        keys,
        ..
    } = &error
    else {
        panic!("{operation}: {error:?}")
    };
    assert_eq!(*status, StatusCode::OK, "{operation}");
    assert_eq!(named, model, "{operation}");
    assert_eq!(keys, &["also_unknown", "unexpected"], "{operation}");
    let text = format!("{error} {error:?}");
    assert!(text.contains("unexpected"), "{operation}: {text}");
    assert!(
        !text.contains("TOPSECRET"),
        "{operation}: values never show: {text}"
    );
    assert!(!error.is_retryable(), "{operation}");
}

#[tokio::test]
async fn an_answer_with_none_of_the_models_fields_is_an_error_for_every_operation() {
    let server = ScriptedServer::always(Reply::text(200, STRANGER)).await;
    let client = common::client_at(server.base_url());

    assert_unrecognized(
        "get_conversation",
        client.get_conversation("c-1").await.map(drop),
        "Conversation",
    );
    assert_unrecognized(
        "get_conversations",
        client.get_conversations(10, 0).await.map(drop),
        "ConversationsResponse",
    );
    assert_unrecognized(
        "get_agent_websocket_authorization",
        client.get_agent_websocket_authorization().await.map(drop),
        "ConversationAgentAuthResponse",
    );
    assert_unrecognized(
        "agent_credentials",
        client.agent_credentials().await.map(drop),
        "ConversationAgentAuthResponse",
    );
    assert_unrecognized(
        "start_conversation",
        client
            .start_conversation(&ConversationStartRequest::default())
            .await
            .map(drop),
        "ConversationStartResponse",
    );
    assert_unrecognized(
        "get_conversation_multimedia_upload_url",
        client
            .get_conversation_multimedia_upload_url("png")
            .await
            .map(drop),
        "ConversationMultimediaUploadUrlResponse",
    );
    // Join and leave document no body: any 2xx is their success, whatever
    // it carries, as in UltraCart's own SDKs.
    client.join_conversation("c-1").await.unwrap();
    client.leave_conversation("c-1").await.unwrap();
}

#[tokio::test]
async fn an_empty_object_or_a_payload_without_fields_is_refused_too() {
    for (body, model) in [
        (json!({}), "Conversation"),
        (json!({"conversation": {}, "success": true}), "Conversation"),
        (
            json!({"conversation": {"mystery": 1}, "success": true}),
            "Conversation",
        ),
        (
            json!({"success": true, "warning": {"warning_message": "x"}}),
            "Conversation",
        ),
    ] {
        let server = ScriptedServer::always(Reply::json(200, &body)).await;
        let client = common::client_at(server.base_url());
        let error = client.get_conversation("c-1").await.unwrap_err();
        assert!(
            matches!(&error, Error::UnrecognizedBody { model: m, .. } if m == model),
            "{body}: {error:?}"
        );
    }
}

#[tokio::test]
async fn the_typed_mocks_in_the_envelope_drive_the_facade() {
    // A test of the caller's own code can answer in the live shape with the
    // typed mock's route and a body of its own; the facade reads it.
    let server = MockServer::start_async().await;
    let envelope: Value = json!({"agent_auth": {
        "jwt": common::AGENT_JWT,
        "websocket_url": "wss://ws.example.test/agent",
        "conversation_participant_name": "Agent Seven"
    }, "success": true});
    server.get_agent_websocket_authorization(|_, then| {
        then.into_inner().status(200).json_body(envelope);
    });
    let client = common::client(&server);

    let credentials = client.agent_credentials().await.unwrap();

    assert_eq!(credentials.jwt().expose(), common::AGENT_JWT);
    assert_eq!(
        credentials.websocket_url().host_str(),
        Some("ws.example.test")
    );
}

#[tokio::test]
async fn the_raw_client_decodes_the_bare_shape_as_documented() {
    let (demo, client) = demo(AnswerShape::Bare).await;
    let uuid = demo.conversation_uuids()[0].clone();

    let raw = client
        .raw()
        .get_conversation()
        .conversation_uuid(&uuid)
        .send()
        .await
        .unwrap()
        .into_inner();

    assert_eq!(raw.conversation_uuid.as_deref(), Some(uuid.as_str()));
}

#[tokio::test]
async fn a_page_or_an_upload_url_that_says_it_failed_is_an_api_error_despite_a_200() {
    let failed = json!({"success": false, "error": {"user_message": "Not allowed.", "developer_message": "scope missing"}});
    let server = ScriptedServer::start(move |_, _| Reply::json(200, &failed)).await;
    let client = common::builder_at(server.base_url()).build().unwrap();

    let page = client.get_conversations(10, 0).await.unwrap_err();
    let url = client
        .get_conversation_multimedia_upload_url("png")
        .await
        .unwrap_err();
    let listing: Result<Vec<_>, _> =
        futures::TryStreamExt::try_collect(client.conversations().items()).await;

    for error in [page, url, listing.unwrap_err()] {
        assert!(matches!(error, Error::Api { .. }), "{error:?}");
        assert_eq!(error.status(), Some(StatusCode::OK));
        assert_eq!(error.user_message(), Some("Not allowed."));
    }
}

#[tokio::test]
async fn callers_racing_through_answers_of_both_shapes_each_read_their_own() {
    // Which shape to try first is a hint shared by every client in the
    // process; callers whose answers interleave both shapes must still each
    // get their own conversation, never another's or an empty one.
    let api = ScriptedServer::start(|request, index| {
        let uuid = request.path.rsplit('/').next().unwrap_or_default();
        let conversation = common::bodies::conversation(uuid);
        let reply = if index % 2 == 0 {
            Reply::json(200, &conversation)
        } else {
            Reply::json(200, &json!({"conversation": conversation, "success": true}))
        };
        reply.delay(std::time::Duration::from_millis(5))
    })
    .await;
    let client = common::builder_at(api.base_url())
        .max_in_flight(4)
        .build()
        .unwrap();

    let calls: Vec<_> = (0..40)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { (i, client.get_conversation(&format!("c{i}")).await) })
        })
        .collect();
    for call in calls {
        let (i, answer) = call.await.unwrap();
        let conversation = answer.unwrap();
        assert_eq!(
            conversation.conversation_uuid.as_deref(),
            Some(format!("c{i}").as_str())
        );
    }
    assert_eq!(api.requests(), 40);
    assert!(api.max_in_flight() > 1, "the callers raced");
}
