//! Whatever a server sends, every operation ends in a value or a typed
//! error: no panic, no hang, no unbounded buffering.

mod common;

use std::sync::{Arc, Mutex};

use common::{
    builder_at,
    scripted::{Reply, ScriptedServer},
};
use proptest::prelude::*;
use serde_json::{Value, json};
use ultracart_conversation::{
    Error, StatusCode,
    types::{self, ConversationStartRequest},
};

/// A server that answers every request with whatever the test put in the slot.
struct Hostile {
    reply: Arc<Mutex<Reply>>,
    server: ScriptedServer,
}

impl Hostile {
    async fn start() -> Self {
        let reply = Arc::new(Mutex::new(Reply::text(200, "")));
        let slot = reply.clone();
        let server = ScriptedServer::start(move |_, _| slot.lock().unwrap().clone()).await;
        Self { reply, server }
    }

    /// Runs every operation against `reply` and checks each outcome. Each
    /// case has a client of its own: what one learned from a case's 429s
    /// would otherwise pace every later case, and the test would measure
    /// the pace, not the answers.
    async fn every_operation(&self, reply: Reply) {
        let status = reply.status;
        *self.reply.lock().unwrap() = reply;
        let client = builder_at(self.server.base_url())
            .max_retries(0)
            .max_retry_wait(std::time::Duration::from_millis(100))
            .timeout(std::time::Duration::from_secs(2))
            .build()
            .unwrap();
        let c = &client;
        check(status, c.get_conversation("c").await.map(drop));
        check(status, c.get_conversations(200, 0).await.map(drop));
        check(
            status,
            c.get_conversation_multimedia_upload_url("png")
                .await
                .map(drop),
        );
        check(
            status,
            c.get_agent_websocket_authorization().await.map(drop),
        );
        check(
            status,
            c.start_conversation(&ConversationStartRequest::default())
                .await
                .map(drop),
        );
        check(status, c.join_conversation("c").await);
        check(status, c.leave_conversation("c").await);
        check(status, c.agent_credentials().await.map(drop));
        c.forget_agent_credentials().await;
        let listing: Vec<_> =
            futures::StreamExt::collect(c.conversations().max_items(50).items()).await;
        assert_each_once(&listing, 50);
    }
}

/// A listing's outcome is each conversation once, at most `max` of them,
/// then at most one error, last: never a copy of one conversation, however
/// often the server sends it. A conversation is known by its uuid, or by
/// all it says when it has none.
fn assert_each_once(listing: &[Result<types::ConversationSummary, Error>], max: usize) {
    let (items, errors): (Vec<_>, Vec<_>) = listing.iter().partition(|r| r.is_ok());
    assert!(errors.len() <= 1, "{} errors", errors.len());
    if !errors.is_empty() {
        assert!(
            listing.last().unwrap().is_err(),
            "the error ends the listing"
        );
    }
    assert!(items.len() <= max, "{} items", items.len());
    let mut seen = std::collections::HashSet::new();
    for item in items {
        let item = item.as_ref().unwrap();
        let identity = match &item.conversation_uuid {
            Some(uuid) => format!("uuid {uuid}"),
            None => serde_json::to_string(item).unwrap(),
        };
        assert!(seen.insert(identity.clone()), "listed twice: {identity}");
    }
}

fn check(status: u16, outcome: Result<(), Error>) {
    let Err(error) = outcome else {
        assert!(
            (200..300).contains(&status),
            "only a 2xx may succeed, got {status}"
        );
        return;
    };
    let expected_status = StatusCode::from_u16(status).unwrap();
    match &error {
        Error::Api { status, .. } | Error::UnexpectedStatus { status, .. } => {
            assert_eq!(*status, expected_status)
        }
        Error::Decode { status, .. }
        | Error::EmptyBody { status, .. }
        | Error::UnrecognizedBody { status, .. } => {
            assert!(status.is_success());
            assert_eq!(*status, expected_status)
        }
        Error::AgentAuth { .. } | Error::Pagination { .. } => {}
        // A run of 429s holds later calls back longer than the client waits.
        Error::RateLimited { .. } if status == 429 => {}
        // A body on a 204 is a protocol violation that breaks the connection.
        Error::Transport { .. } if status == 204 => {}
        other => panic!("unexpected error kind for a {status} answer: {other:?}"),
    }
    // Display is bounded whatever the body was.
    assert!(
        error.to_string().len() < 2_000,
        "{}",
        error.to_string().len()
    );
}

fn statuses() -> impl Strategy<Value = u16> {
    prop::sample::select(vec![
        200u16, 201, 204, 400, 401, 404, 410, 429, 500, 502, 503,
    ])
}

fn json_values() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
    ];
    let keys = prop::sample::select(vec![
        "conversations",
        "metadata",
        "result_set",
        "more",
        "next_offset",
        "offset",
        "count",
        "total_records",
        "messages",
        "message_dts",
        "jwt",
        "websocket_url",
        "error",
        "user_message",
        "conversation_multimedia_upload_url",
        "url",
        "key",
        "x",
    ]);
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..6).prop_map(|pairs| Value::Object(
                pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

type Shared = std::sync::OnceLock<(tokio::runtime::Runtime, Hostile)>;

/// One runtime and one server for all cases of a test (each test its own,
/// as tests run in parallel): starting them per case would cost more than
/// the cases.
fn shared(cell: &'static Shared) -> &'static (tokio::runtime::Runtime, Hostile) {
    cell.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let hostile = rt.block_on(Hostile::start());
        (rt, hostile)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(status in statuses(), body in prop::collection::vec(any::<u8>(), 0..512)) {
        static CELL: Shared = Shared::new();
        let (rt, hostile) = shared(&CELL);
        rt.block_on(hostile.every_operation(Reply { status, headers: vec![], body, delay: Default::default() }));
    }

    #[test]
    fn arbitrary_json_never_panics(status in statuses(), value in json_values()) {
        static CELL: Shared = Shared::new();
        let (rt, hostile) = shared(&CELL);
        rt.block_on(hostile.every_operation(Reply::json(status, &value)));
    }
}

#[tokio::test]
async fn paging_metadata_of_every_odd_shape_ends() {
    let hostile = Hostile::start().await;
    // Each shape, and whether the page decodes (a string where the spec
    // has a number or a boolean does not).
    for (result_set, decodes) in [
        (json!({"more": true, "next_offset": -1}), true),
        (json!({"more": true, "next_offset": 0}), true),
        (json!({"more": true, "next_offset": 2_147_483_647}), true),
        (json!({"more": true, "next_offset": "200"}), false),
        (json!({"more": "yes"}), false),
        (json!(null), true),
        (json!({}), true),
    ] {
        // The same one conversation on every page, whatever is asked.
        let page = json!({"conversations": [{"conversation_uuid": "a"}], "metadata": {"result_set": result_set}});
        hostile.every_operation(Reply::json(200, &page)).await;

        // A whole listing, with its reads at the top: "a" once, and an end
        // within a few requests.
        let client = builder_at(hostile.server.base_url())
            .max_retries(0)
            .build()
            .unwrap();
        let before = hostile.server.requests();
        let listing: Vec<_> = futures::StreamExt::collect(client.conversations().items()).await;
        let requests = hostile.server.requests() - before;

        assert_each_once(&listing, usize::MAX);
        let uuids: Vec<_> = listing
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|s| s.conversation_uuid.as_deref())
            .collect();
        if decodes {
            assert_eq!(uuids, [Some("a")], "{result_set}");
        } else {
            assert!(uuids.is_empty(), "{result_set}");
            assert!(
                matches!(listing[..], [Err(Error::Decode { .. })]),
                "{result_set}: {listing:?}"
            );
        }
        assert!(
            (1..=6).contains(&requests),
            "{result_set}: {requests} requests"
        );
        eprintln!(
            "{result_set}: {requests} requests, {} results",
            listing.len()
        );
    }
}

#[tokio::test]
async fn a_body_over_the_cap_is_refused_with_or_without_a_length() {
    let big = types::Conversation {
        merchant_id: Some("x".repeat(64 * 1024)),
        ..common::conversation("c")
    };
    for chunked in [false, true] {
        let mut reply = Reply::json(200, &big);
        if chunked {
            reply = reply.header("transfer-encoding", "chunked");
        }
        let server = ScriptedServer::always(reply).await;
        let client = builder_at(server.base_url())
            .max_response_bytes(16 * 1024)
            .build()
            .unwrap();

        let error = client.get_conversation("c").await.unwrap_err();

        assert!(
            matches!(error, Error::BodyTooLarge { limit: 16_384, .. }),
            "chunked {chunked}: {error:?}"
        );
        assert_eq!(error.status(), Some(StatusCode::OK));
        assert!(error.to_string().contains("16384"), "{error}");
        assert!(!error.is_retryable());
        assert_eq!(
            server.requests(),
            1,
            "a body over the cap is not fetched again"
        );
        let raw = client
            .raw()
            .get_conversation()
            .conversation_uuid("c")
            .send()
            .await;
        assert!(raw.is_err(), "the raw client refuses it too");
    }
}

#[tokio::test]
async fn the_default_cap_admits_large_pages_and_refuses_runaway_bodies() {
    let page = common::Page::new(0, 200).total(200).build();
    let huge =
        Reply::text(200, &"x".repeat(9 * 1024 * 1024)).header("transfer-encoding", "chunked");
    let server = ScriptedServer::start(move |request, _| {
        if request.path.ends_with("/huge") {
            huge.clone()
        } else {
            Reply::json(200, &page)
        }
    })
    .await;
    let client = common::client_at(server.base_url());

    client.get_conversations(200, 0).await.unwrap();
    let error = client.get_conversation("huge").await.unwrap_err();

    assert!(matches!(error, Error::BodyTooLarge { .. }), "{error:?}");
}
