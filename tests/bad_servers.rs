//! Long-running work against servers that lie, over real HTTP: a
//! `Retry-After` of ages, a period of ages, a proxy that answers every
//! offset with the same page, and two exports started on one path. Each
//! must end in a clear typed error or wait calmly: no panic, no endless
//! paging, no interleaved file.

use std::{collections::HashSet, path::PathBuf, time::Duration};

mod common;

use common::{
    client_at,
    inbox::{now_second, summary},
    scripted::{Received, Reply, ScriptedServer, listing},
};
use futures::StreamExt;
use ultracart_conversation::{Error, types};

/// Long enough for a watch that would poll again, or panic, to have done
/// so many times over; short enough for the suite.
const A_WHILE: Duration = Duration::from_millis(400);

/// A scratch directory of this test's own.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("uc-bad-servers-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The same 200 conversations, all changed in the current second, at
/// every offset, with `more: true`: a proxy that drops `_offset` before it
/// reaches UltraCart. With `next_offset`, it passes on where the server
/// said the next page is, moved by the offset asked for; without, it says
/// nothing and the client counts.
fn same_page_at_every_offset(
    next_offset: bool,
) -> impl Fn(&Received, usize) -> Reply + Send + Sync + 'static {
    let second = now_second();
    move |request, _| {
        let offset = request.query_number("_offset").unwrap_or(0);
        let conversations = (0..200)
            .map(|i| summary(&format!("conv-{i:03}"), second))
            .collect();
        let page = types::ConversationsResponse {
            conversations: Some(conversations),
            metadata: Some(types::ResponseMetadata {
                payload_name: None,
                result_set: Some(types::ResultSet {
                    more: Some(true),
                    next_offset: next_offset.then(|| offset as i32 + 200),
                    ..Default::default()
                }),
            }),
            success: Some(true),
            ..Default::default()
        };
        Reply::json(200, &page)
    }
}

#[tokio::test]
async fn a_watch_meeting_a_retry_after_of_ten_to_the_nineteen_seconds_backs_off_without_panicking()
{
    for status in [429, 503] {
        let server = ScriptedServer::always(
            Reply::json(status, &common::error_body(status, "slow down", "limited"))
                .header("retry-after", "9300000000000000000"),
        )
        .await;
        let client = client_at(server.base_url());
        let mut watch = client
            .conversations()
            .watch()
            .every(Duration::from_millis(10));
        // A panic in the watch would surface here; a wait is what is due.
        let waited = tokio::time::timeout(A_WHILE, watch.next()).await;
        assert!(waited.is_err(), "{status}: yielded {waited:?}");
        assert_eq!(
            server.requests(),
            1,
            "{status}: one poll, then a wait as long as the server asks (a day at most)"
        );
        assert!(
            tokio::time::timeout(A_WHILE, watch.next()).await.is_err(),
            "{status}: still waiting"
        );
        assert_eq!(server.requests(), 1);
    }
}

#[tokio::test]
async fn a_watch_polling_every_duration_max_reports_what_exists_then_waits_without_panicking() {
    let server = ScriptedServer::start(listing(3, true, Duration::ZERO)).await;
    let client = client_at(server.base_url());
    let mut watch = client
        .conversations()
        .watch()
        .every(Duration::MAX)
        .include_existing();
    for _ in 0..3 {
        let change = watch.next().await.expect("a change").expect("no error");
        assert!(change.summary().conversation_uuid.is_some());
    }
    assert!(
        tokio::time::timeout(A_WHILE, watch.next()).await.is_err(),
        "the next poll is a day away"
    );
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_watch_behind_a_proxy_that_ignores_the_offset_ends_with_a_pagination_error_after_a_few_requests()
 {
    for next_offset in [false, true] {
        for include_existing in [false, true] {
            let server = ScriptedServer::start(same_page_at_every_offset(next_offset)).await;
            let client = client_at(server.base_url());
            let watch = client
                .conversations()
                .watch()
                .every(Duration::from_millis(10));
            let mut watch = if include_existing {
                watch.include_existing()
            } else {
                watch
            };
            let first = tokio::time::timeout(Duration::from_secs(10), watch.next())
                .await
                .expect("the watch ends its poll");
            let case = format!("next_offset {next_offset}, include_existing {include_existing}");
            assert!(
                matches!(first, Some(Err(Error::Pagination { .. }))),
                "{case}: {first:?}"
            );
            assert!(
                watch.next().await.is_none(),
                "{case}: yielded once, then ended"
            );
            assert_eq!(
                server.listing_requests(),
                5,
                "{case}: the page, then four that brought only what the poll had met"
            );
        }
    }
}

#[tokio::test]
async fn an_export_behind_a_proxy_that_ignores_the_offset_ends_with_a_pagination_error() {
    let dir = scratch("proxy");
    for next_offset in [false, true] {
        let server = ScriptedServer::start(same_page_at_every_offset(next_offset)).await;
        let client = client_at(server.base_url());
        let path = dir.join(format!("out-{next_offset}.jsonl"));
        let outcome = tokio::time::timeout(Duration::from_secs(10), client.export(&path).run())
            .await
            .expect("the export ends");
        assert!(
            matches!(outcome, Err(Error::Pagination { .. })),
            "{outcome:?}"
        );
        assert_eq!(server.listing_requests(), 5, "next_offset {next_offset}");
        // What it wrote stays, each conversation once.
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 200);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_export_on_the_same_path_fails_at_once_naming_the_path_and_writes_nothing() {
    let dir = scratch("two-runs");
    let path = dir.join("inbox.jsonl");
    let slow = ScriptedServer::start(listing(1_000, true, Duration::from_millis(30))).await;
    let first = {
        let client = client_at(slow.base_url());
        let path = path.clone();
        tokio::spawn(async move { client.export(&path).page_size(100).run().await })
    };
    // The first run holds the path once its first request is out.
    while slow.requests() == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let other = ScriptedServer::start(listing(1_000, true, Duration::ZERO)).await;
    let second = client_at(other.base_url()).export(&path).page_size(100);
    let refused = common::fails_within(Duration::from_secs(2), second.run()).await;
    match &refused {
        Error::Export { path: named, .. } => assert_eq!(named, &path),
        other => panic!("expected Error::Export, got {other:?}"),
    }
    assert!(refused.to_string().contains("inbox.jsonl"), "{refused}");
    assert_eq!(other.requests(), 0, "the second run sent nothing");
    // A fresh second run is refused the same way: it must not empty the
    // output under the first.
    let fresh = client_at(other.base_url()).export(&path).fresh().run();
    assert!(matches!(fresh.await, Err(Error::Export { .. })));
    assert!(slow.requests() < 11, "the first run is still under way");

    let report = first.await.unwrap().expect("the first run completes");
    assert_eq!(report.lines(), 1_000);
    let text = std::fs::read_to_string(&path).unwrap();
    let uuids: HashSet<_> = text
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["conversation_uuid"].clone()
        })
        .collect();
    assert_eq!(text.lines().count(), 1_000, "no line from the second run");
    assert_eq!(uuids.len(), 1_000);
    // Once the first run is over, the path is free again.
    let again = client_at(other.base_url())
        .export(&path)
        .run()
        .await
        .unwrap();
    assert!(again.resumed());
    std::fs::remove_dir_all(&dir).unwrap();
}
