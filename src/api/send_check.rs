//! Compile-time proof that every operation's future, the paging streams,
//! the watch and the export are `Send`, so a service can spawn them on a
//! multi-threaded runtime. Nothing here runs: it only has to type-check.

#![allow(dead_code)]

use std::path::Path;

use crate::{Client, types::ConversationStartRequest};

fn is_send<T: Send>(_: T) {}

fn every_future_is_send(client: &Client, start: &ConversationStartRequest, file: &Path) {
    is_send(client.get_agent_websocket_authorization());
    is_send(client.get_agent_websocket_authorization_enveloped());
    is_send(client.get_conversation("c"));
    is_send(client.get_conversation_enveloped("c"));
    is_send(client.get_conversation_multimedia_upload_url("png"));
    is_send(client.get_conversations(200, 0));
    is_send(client.join_conversation("c"));
    is_send(client.leave_conversation("c"));
    is_send(client.start_conversation(start));
    is_send(client.start_conversation_enveloped(start));
    is_send(client.agent_credentials());
    is_send(client.forget_agent_credentials());
    is_send(client.upload_multimedia("png", Vec::new()));
    is_send(client.upload_multimedia_file("png", file));
    is_send(client.conversations().items());
    is_send(client.conversations().pages());
    is_send(client.conversations().watch());
    is_send(futures::StreamExt::into_future(
        client.conversations().watch(),
    ));
    is_send(client.export(file).run());
    is_send(client.export(file).run_with(|_| {}));
    is_send(
        client
            .export(file)
            .follow(std::time::Duration::from_secs(1)),
    );
    is_send(
        client
            .raw()
            .get_conversation()
            .conversation_uuid("c")
            .send(),
    );
}
