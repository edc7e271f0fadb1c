//! No API key, OAuth token or agent JWT in any Debug or Display output.

mod common;

use std::time::Duration;

use common::{AGENT_JWT, API_KEY, OAUTH_TOKEN, builder, conversation, error_body};
use httpmock::MockServer;
use serde_json::json;
use ultracart_conversation::{Client, Error, mock::MockServerExt};

/// The parts of the JWT that must never show, whole or in part.
fn secrets() -> Vec<&'static str> {
    let mut secrets = vec![API_KEY, OAUTH_TOKEN, AGENT_JWT];
    secrets.extend(AGENT_JWT.split('.'));
    secrets
}

fn assert_clean(label: &str, text: &str) {
    for secret in secrets() {
        assert!(!text.contains(secret), "{label} leaks a secret: {text}");
    }
}

fn assert_error_clean(error: &Error) {
    assert_clean("Display", &error.to_string());
    assert_clean("alternate Display", &format!("{error:#}"));
    assert_clean("Debug", &format!("{error:?}"));
    assert_clean("pretty Debug", &format!("{error:#?}"));
}

async fn errors_from(server: &MockServer, client: &Client) -> Vec<Error> {
    let mut errors = Vec::new();
    let mut expect = |route: &str, result: Result<(), Error>| match result {
        Err(e) => errors.push(e),
        Ok(()) => panic!("{route} should have failed"),
    };
    server.get_conversation(|when, then| {
        when.conversation_uuid("api-error");
        then.unauthorized(&error_body(401, "Bad credentials.", "key not accepted"));
    });
    expect("api", client.get_conversation("api-error").await.map(drop));
    // Answers no model describes, on the operations' own routes.
    server.get_conversation(|when, then| {
        when.conversation_uuid("html");
        then.into_inner().status(503).body("<html>down</html>");
    });
    expect("html", client.get_conversation("html").await.map(drop));
    server.get_conversation(|when, then| {
        when.conversation_uuid("empty");
        then.into_inner().status(200);
    });
    expect("empty", client.get_conversation("empty").await.map(drop));
    server.get_conversation(|when, then| {
        when.conversation_uuid("slow");
        then.ok(&conversation("slow"))
            .into_inner()
            .delay(Duration::from_millis(800));
    });
    expect("timeout", client.get_conversation("slow").await.map(drop));
    server.get_agent_websocket_authorization(|_, then| {
        // A decode failure on the answer that carries the JWT.
        then.into_inner()
            .status(200)
            .json_body(json!({"jwt": AGENT_JWT, "twilio_phone_numbers": 7}));
    });
    expect(
        "agent decode",
        client.get_agent_websocket_authorization().await.map(drop),
    );
    expect("input", client.get_conversation("").await.map(drop));
    errors
}

#[tokio::test]
async fn errors_of_every_kind_print_no_secret() {
    let server = MockServer::start_async().await;
    let key_client = builder(&server)
        .max_retries(0)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let token_client = Client::builder()
        .bearer_token(OAUTH_TOKEN)
        .base_url(server.base_url())
        .max_retries(0)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();

    let mut errors = errors_from(&server, &key_client).await;
    errors.extend(errors_from(&server, &token_client).await);
    assert!(errors.iter().any(Error::is_timeout));
    assert!(errors.iter().any(|e| matches!(e, Error::Decode { .. })));

    let refused = common::builder_at(common::dead_base_url())
        .max_retries(0)
        .build()
        .unwrap();
    errors.push(refused.get_conversation("c").await.unwrap_err());
    errors.push(
        Client::builder()
            .api_key(format!("{API_KEY}\n"))
            .bearer_token(OAUTH_TOKEN)
            .build()
            .unwrap_err(),
    );
    errors.push(
        Client::builder()
            .api_key(format!("bad\n{API_KEY}"))
            .build()
            .unwrap_err(),
    );

    for error in &errors {
        assert_error_clean(error);
    }
}

#[test]
fn clients_and_builders_print_no_secret() {
    let key_builder = Client::builder().api_key(API_KEY);
    assert_clean("builder Debug", &format!("{key_builder:?}"));
    let key_client = key_builder.build().unwrap();
    assert_clean("client Debug", &format!("{key_client:?} {key_client:#?}"));
    assert_clean("raw client Debug", &format!("{:?}", key_client.raw()));

    let token_builder = Client::builder().bearer_token(OAUTH_TOKEN);
    assert_clean("builder Debug", &format!("{token_builder:?}"));
    let token_client = token_builder.build().unwrap();
    assert_clean(
        "client Debug",
        &format!("{token_client:#?} {:?}", token_client.raw()),
    );
}

#[tokio::test]
async fn the_agent_auth_model_keeps_its_jwt_out_of_debug() {
    let server = MockServer::start_async().await;
    server.get_agent_websocket_authorization(|_, then| {
        then.ok(&common::agent_auth(AGENT_JWT, Some("wss://ws.test/")));
    });

    let auth = builder(&server)
        .build()
        .unwrap()
        .get_agent_websocket_authorization()
        .await
        .unwrap();

    assert_clean("agent auth Debug", &format!("{auth:?} {auth:#?}"));
    assert_eq!(auth.jwt.unwrap().expose(), AGENT_JWT);
}
