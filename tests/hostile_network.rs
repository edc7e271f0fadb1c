//! What a network that misbehaves cannot make the client do: send a
//! credential or a signature to another host, overlap requests, leave the
//! route, talk to a websocket in clear, or repeat a listing's items.

mod common;

use std::time::Duration;

use common::{
    AGENT_JWT, API_KEY, agent_auth, builder_at, client_at, conversation,
    scripted::{Reply, ScriptedServer, page_for},
    upload_url,
};
use futures::TryStreamExt;
use ultracart_conversation::{Error, types::ConversationStartRequest};

/// A server on the same machine reached under another host name, which
/// records everything it gets.
async fn other_host() -> (ScriptedServer, String) {
    let server = ScriptedServer::always(Reply::json(200, &conversation("stolen"))).await;
    let url = server.other_host_url();
    (server, url)
}

/// A storage service that redirects to another host, and an API whose
/// upload URL (with a signature in its query) points at it.
async fn storage_redirecting_elsewhere() -> (ScriptedServer, ScriptedServer, ScriptedServer) {
    let (elsewhere, elsewhere_url) = other_host().await;
    let storage = ScriptedServer::redirecting(307, &format!("{elsewhere_url}/bucket/key")).await;
    let presigned = format!(
        "{}/bucket/key.png?X-Amz-Signature=TOPSECRET",
        storage.base_url()
    );
    let api = ScriptedServer::always(Reply::json(200, &upload_url("key.png", &presigned))).await;
    (elsewhere, storage, api)
}

#[tokio::test]
async fn an_api_redirect_to_another_host_is_a_typed_error_and_nothing_follows_it() {
    let (elsewhere, elsewhere_url) = other_host().await;
    for status in [301, 302, 303, 307, 308] {
        let location = format!("{elsewhere_url}/conversation/conversations?sig=TOPSECRET");
        let api = ScriptedServer::redirecting(status, &location).await;
        let client = client_at(api.base_url());

        let read = client.get_conversation("c-1").await.unwrap_err();
        let start = client
            .start_conversation(&ConversationStartRequest::default())
            .await
            .unwrap_err();

        for error in [read, start] {
            let Error::Redirect {
                status: got, host, ..
            } = &error
            else {
                panic!("{status}: {error:?}")
            };
            assert_eq!(got.map(|s| s.as_u16()), Some(status));
            assert_eq!(host.as_deref(), Some("localhost"));
            let text = format!("{error} {error:?}");
            assert!(text.contains("localhost"), "{text}");
            assert!(!text.contains("TOPSECRET"), "the query stays out: {text}");
            assert!(!error.is_retryable());
        }
        assert_eq!(api.requests(), 2, "{status}: sent once each, not retried");
    }
    assert_eq!(
        elsewhere.requests(),
        0,
        "the key never left for another host"
    );
}

#[tokio::test]
async fn a_callers_client_that_follows_redirects_gets_the_answer_refused() {
    let (elsewhere, elsewhere_url) = other_host().await;
    let location = format!("{elsewhere_url}/conversation/conversations/c-1");
    let api = ScriptedServer::redirecting(307, &location).await;
    let following = ultracart_conversation::reqwest::Client::new();
    let client = builder_at(api.base_url())
        .reqwest_client(following)
        .build()
        .unwrap();

    let error = client.get_conversation("c-1").await.unwrap_err();

    let Error::Redirect { status, host, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*status, None, "the caller's client followed it");
    assert_eq!(host.as_deref(), Some("localhost"));
    // The documented limit: a following client did send the request.
    assert_eq!(elsewhere.requests(), 1);
}

#[tokio::test]
async fn a_storage_redirect_is_refused_and_no_referer_carries_the_signature() {
    let (elsewhere, storage, api) = storage_redirecting_elsewhere().await;
    let client = client_at(api.base_url());

    let error = client
        .upload_multimedia("png", vec![1u8, 2, 3])
        .await
        .unwrap_err();

    assert!(matches!(error, Error::Upload { .. }), "{error:?}");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(307));
    let text = format!("{error} {error:?}");
    assert!(
        text.contains("localhost") && !text.contains("TOPSECRET"),
        "{text}"
    );
    assert_eq!(elsewhere.requests(), 0);
    assert!(storage.log()[0].header("referer").is_none());
}

#[tokio::test]
async fn a_cancelled_call_keeps_its_slot_until_ultracart_has_answered() {
    let api = ScriptedServer::always(
        Reply::json(200, &conversation("c")).delay(Duration::from_millis(300)),
    )
    .await;
    let client = client_at(api.base_url());

    let first = tokio::spawn({
        let client = client.clone();
        async move { client.get_conversation("c").await }
    });
    // Cancelled once UltraCart has the request, not on a guess of when.
    api.until_received(1).await;
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    client.get_conversation("c").await.unwrap();

    assert_eq!(api.requests(), 2);
    assert_eq!(
        api.max_in_flight(),
        1,
        "the second request waited for the first"
    );
    api.assert_one_at_a_time();
    assert_eq!(api.abandoned(), 0, "the first was read to its end");
}

#[tokio::test]
async fn many_cancelled_callers_never_overlap_requests() {
    let api = ScriptedServer::always(
        Reply::json(200, &conversation("c")).delay(Duration::from_millis(40)),
    )
    .await;
    let client = client_at(api.base_url());

    // Twelve callers, each reading its own conversation, so the server's
    // log says whose request is whose.
    let mut calls: Vec<_> = (0..12)
        .map(|i| {
            let client = client.clone();
            Some(tokio::spawn(async move {
                client.get_conversation(&format!("c-{i}")).await
            }))
        })
        .collect();
    // Four more give up while they queue for the slot, before they send.
    let impatient: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get_conversation("never-sent").await })
        })
        .collect();
    api.until_received(1).await;
    for call in impatient {
        call.abort();
    }
    // Every other caller gives up while UltraCart works on its request.
    for n in 1..=12 {
        api.until_received(n).await;
        let path = api.log()[n - 1].path.clone();
        let caller: usize = path.rsplit("c-").next().unwrap().parse().unwrap();
        if caller.is_multiple_of(2) {
            calls[caller].take().unwrap().abort();
        }
    }
    for call in calls.into_iter().flatten() {
        call.await.unwrap().unwrap();
    }
    api.until_done(12).await;

    assert_eq!(api.requests(), 12, "the impatient callers sent nothing");
    assert_eq!(api.max_in_flight(), 1);
    api.assert_one_at_a_time();
    assert_eq!(
        api.abandoned(),
        0,
        "each cancelled caller's request was read to its end"
    );
}

#[tokio::test]
async fn the_raw_client_refuses_path_values_that_change_the_route() {
    let api = ScriptedServer::always(Reply::json(200, &conversation("c"))).await;
    let client = client_at(api.base_url());
    let raw = client.raw();

    for value in ["", ".", "..", "a\\b", "..\\.."] {
        let read = raw.get_conversation().conversation_uuid(value).send().await;
        let join = raw
            .join_conversation()
            .conversation_uuid(value)
            .send()
            .await;
        let leave = raw
            .leave_conversation()
            .conversation_uuid(value)
            .send()
            .await;
        for (what, failed) in [
            ("get", read.err()),
            ("join", join.err()),
            ("leave", leave.err()),
        ] {
            let error = failed.unwrap_or_else(|| panic!("{what} {value:?} was sent"));
            assert!(
                matches!(error, ultracart_conversation::raw::Error::InvalidRequest(_)),
                "{what} {value:?}: {error:?}"
            );
            assert!(error.to_string().contains("conversation_uuid"), "{error}");
        }
    }
    for value in ["", "..", "a/b", "a\\b"] {
        let upload = raw
            .get_conversation_multimedia_upload_url()
            .extension(value)
            .send()
            .await;
        assert!(
            matches!(
                upload,
                Err(ultracart_conversation::raw::Error::InvalidRequest(_))
            ),
            "{value:?}"
        );
    }
    assert_eq!(api.requests(), 0, "nothing was sent");
}

#[tokio::test]
async fn plain_ws_agent_urls_are_refused_except_on_loopback() {
    for (url, usable) in [
        ("ws://agents.example.com/socket", false),
        ("http://agents.example.com/socket", false),
        ("ws://127.0.0.1:9/socket", true),
        ("wss://agents.example.com/socket", true),
    ] {
        let api = ScriptedServer::always(Reply::json(200, &agent_auth(AGENT_JWT, Some(url)))).await;
        let client = client_at(api.base_url());

        let outcome = client.agent_credentials().await;

        match (outcome, usable) {
            (Ok(credentials), true) => assert_eq!(credentials.websocket_url().as_str(), url),
            (Err(error), false) => {
                assert!(matches!(error, Error::AgentAuth { .. }), "{error:?}");
                let text = format!("{error} {error:?}");
                assert!(!text.contains("eyJ"), "{text}");
            }
            (outcome, _) => panic!("{url}: {outcome:?}"),
        }
    }
}

#[tokio::test]
async fn body_less_puts_say_content_length_zero() {
    let api = ScriptedServer::start(|request, _| match request.path.as_str() {
        "/conversation/agent/auth" => {
            Reply::json(200, &agent_auth(AGENT_JWT, Some("wss://ws.test/a")))
        }
        _ => Reply::text(204, ""),
    })
    .await;
    let client = client_at(api.base_url());

    client.join_conversation("c-1").await.unwrap();
    client.get_agent_websocket_authorization().await.unwrap();
    client
        .raw()
        .join_conversation()
        .conversation_uuid("c-2")
        .send()
        .await
        .unwrap();
    client.leave_conversation("c-1").await.unwrap();

    let log = api.log();
    for put in log.iter().filter(|r| r.method == "PUT") {
        assert_eq!(put.header("content-length"), Some("0"), "{}", put.path);
    }
    let delete = log.iter().find(|r| r.method == "DELETE").unwrap();
    assert_eq!(delete.header("content-length"), None);
    assert_eq!(log.iter().filter(|r| r.method == "PUT").count(), 3);
}

#[tokio::test]
async fn a_creeping_next_offset_never_repeats_an_item() {
    let total = 2_000usize;
    let api = ScriptedServer::start(move |request, _| {
        let offset = request.query_number("_offset").unwrap();
        // The server creeps: it says the next page starts one item later.
        let page = page_for(request, total).next_offset(offset + 1);
        Reply::json(200, &page.build())
    })
    .await;
    let client = client_at(api.base_url());

    let items: Vec<_> = client.conversations().items().try_collect().await.unwrap();

    let mut uuids: Vec<_> = items.iter().map(|s| s.conversation_uuid.clone()).collect();
    assert_eq!(uuids.len(), total);
    uuids.sort();
    uuids.dedup();
    assert_eq!(uuids.len(), total, "each item once");
    assert!(api.requests() <= 12, "{} requests", api.requests());
}

#[tokio::test]
async fn a_call_timeout_bounds_retries_and_waits_together() {
    let api = ScriptedServer::always(
        Reply::text(503, "busy")
            .header("retry-after", "1")
            .delay(Duration::from_millis(150)),
    )
    .await;
    let client = builder_at(api.base_url())
        .api_key(API_KEY)
        .call_timeout(Duration::from_millis(700))
        .build()
        .unwrap();

    let error =
        common::fails_within(Duration::from_millis(1_000), client.get_conversation("c")).await;

    // The wait of a second would have ended after the limit, so the call
    // ends with the answer it had.
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503), "{error:?}");
    assert_eq!(api.requests(), 1);

    let slow =
        ScriptedServer::always(Reply::json(200, &conversation("c")).delay(Duration::from_secs(5)))
            .await;
    let client = builder_at(slow.base_url())
        .call_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let error = common::fails_within(Duration::from_secs(2), client.get_conversation("c")).await;
    assert!(error.is_timeout(), "{error:?}");
}

#[tokio::test]
async fn an_upload_a_callers_client_redirected_is_refused() {
    let (elsewhere, _storage, api) = storage_redirecting_elsewhere().await;
    let client = builder_at(api.base_url())
        .reqwest_client(ultracart_conversation::reqwest::Client::new())
        .build()
        .unwrap();

    let error = client
        .upload_multimedia("png", vec![1u8, 2, 3])
        .await
        .unwrap_err();

    assert!(matches!(error, Error::Upload { .. }), "{error:?}");
    let text = format!("{error} {error:?}");
    assert!(
        text.contains("redirected to localhost") && !text.contains("TOPSECRET"),
        "{text}"
    );
    // The documented limit: a following client did send the bytes there.
    assert_eq!(elsewhere.requests(), 1);
}
