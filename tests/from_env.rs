//! `Client::from_env` over HTTP. The only test in this binary, because it
//! changes the process environment.

mod common;

use httpmock::MockServer;
use ultracart_conversation::{
    Client, ENV_API_KEY, ENV_BASE_URL, ENV_OAUTH_TOKEN, mock::MockServerExt,
};

#[tokio::test]
async fn the_environment_supplies_key_and_base_url() {
    let server = MockServer::start_async().await;
    let mock = server.get_conversation(|when, then| {
        when.conversation_uuid("c-1")
            .into_inner()
            .header("x-ultracart-simple-key", common::API_KEY);
        then.ok(&common::conversation("c-1"));
    });

    // SAFETY: no other thread of this test binary reads the environment.
    unsafe {
        std::env::remove_var(ENV_OAUTH_TOKEN);
        std::env::remove_var(ENV_API_KEY);
        std::env::set_var(ENV_BASE_URL, server.base_url());
    }
    let missing = Client::from_env().unwrap_err().to_string();
    assert!(
        missing.contains(ENV_API_KEY) && missing.contains(ENV_OAUTH_TOKEN),
        "{missing}"
    );

    // SAFETY: as above.
    unsafe { std::env::set_var(ENV_API_KEY, common::API_KEY) };
    let client = Client::from_env().unwrap();
    client.get_conversation("c-1").await.unwrap();

    mock.assert_async().await;
}
