//! A listing on a live account: while it walks the pages, customers write
//! (their conversations jump to the top) and new conversations start. It
//! still yields every conversation that existed when it started, once.

mod common;

use std::{collections::HashMap, time::Duration};

use common::{builder_at, inbox::BusyInbox};
use futures::TryStreamExt;
use ultracart_conversation::{Client, mock::DemoServer, types::ConversationSummary};

/// How often each uuid came out of a listing.
fn tally(items: &[ConversationSummary]) -> HashMap<String, usize> {
    let mut times = HashMap::new();
    for item in items {
        *times
            .entry(
                item.conversation_uuid
                    .clone()
                    .expect("every summary has a uuid"),
            )
            .or_insert(0) += 1;
    }
    times
}

async fn busy(conversations: usize, max_in_flight: usize) -> (DemoServer, Client) {
    let demo = DemoServer::builder()
        .conversations(conversations)
        .busy_inbox(3, 1)
        .start()
        .await;
    let client = Client::builder()
        .api_key(DemoServer::API_KEY)
        .base_url(demo.base_url())
        .max_in_flight(max_in_flight)
        .build()
        .unwrap();
    (demo, client)
}

/// Lists a busy inbox and checks the guarantee: everything that existed at
/// the start exactly once, nothing twice. Returns the requests made.
/// `prefetch`: `None` leaves the listing's default.
async fn assert_complete(
    conversations: usize,
    prefetch: Option<usize>,
    max_in_flight: usize,
) -> usize {
    assert_complete_in_pages_of(conversations, 200, prefetch, max_in_flight).await
}

async fn assert_complete_in_pages_of(
    conversations: usize,
    page_size: u32,
    prefetch: Option<usize>,
    max_in_flight: usize,
) -> usize {
    let (demo, client) = busy(conversations, max_in_flight).await;
    let existing = demo.conversation_uuids();

    let pager = client.conversations().page_size(page_size);
    let pager = match prefetch {
        Some(pages) => pager.prefetch(pages),
        None => pager,
    };
    let items: Vec<_> = pager.items().try_collect().await.unwrap();

    assert_whole_and_once(
        &existing,
        &items,
        &format!("{conversations} conversations, prefetch {prefetch:?}, gate {max_in_flight}"),
    );
    demo.request_count()
}

/// Everything in `existing` listed, and nothing twice.
fn assert_whole_and_once(existing: &[String], items: &[ConversationSummary], what: &str) {
    let times = tally(items);
    let missing = existing.iter().filter(|u| !times.contains_key(*u)).count();
    let twice = times.values().filter(|&&n| n > 1).count();
    assert_eq!(
        (missing, twice),
        (0, 0),
        "{what}: {missing} never listed, {twice} listed twice"
    );
    assert!(items.len() >= existing.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_inbox_is_listed_whole_and_once_one_page_at_a_time() {
    let requests = assert_complete(2_000, Some(0), 1).await;
    // Ten pages, an eleventh because the inbox grew past 2,000 while it was
    // listed, and one read at the top.
    assert_eq!(requests, 12, "{requests}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_inbox_is_listed_whole_and_once_with_the_default_prefetch() {
    // Fetching ahead races pages to the server; several rounds give a race
    // the chance to show.
    for _ in 0..5 {
        assert_complete(2_000, None, 1).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_inbox_is_listed_whole_and_once_with_prefetch_and_a_wide_gate() {
    // The demo's busy inbox, on a server that counts requests in flight:
    // two listings at once on one client whose gate lets three requests go
    // together. Their requests do overlap (a listing alone never has two
    // in flight: its pages go in offset order), and each is still whole
    // and once.
    for _ in 0..2 {
        let inbox = BusyInbox::start(3_000, 3, 1, Duration::from_millis(2)).await;
        let existing = inbox.uuids();
        let client = builder_at(inbox.server.base_url())
            .max_in_flight(3)
            .build()
            .unwrap();
        let list = || {
            client
                .conversations()
                .prefetch(3)
                .items()
                .try_collect::<Vec<_>>()
        };

        let (first, second) = tokio::join!(list(), list());

        for items in [first.unwrap(), second.unwrap()] {
            assert_whole_and_once(&existing, &items, "prefetch 3, gate 3, two listings");
        }
        let overlapped = inbox.server.max_in_flight();
        assert!(
            (2..=3).contains(&overlapped),
            "at most {overlapped} requests in flight at once"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_at_the_top_longer_than_a_page_still_finds_everything() {
    // Pages of 20 while 4 conversations move up before each: the read at
    // the top spans many pages, and the inbox shifts under it too.
    let requests = assert_complete_in_pages_of(1_000, 20, None, 1).await;
    assert!(requests < 100, "{requests}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_started_during_the_listing_come_once_if_at_all() {
    let (demo, client) = busy(1_000, 1).await;
    let before = demo.conversation_uuids();

    let items: Vec<_> = client.conversations().items().try_collect().await.unwrap();

    let started: Vec<_> = demo
        .conversation_uuids()
        .into_iter()
        .filter(|u| !before.contains(u))
        .collect();
    assert!(!started.is_empty(), "the inbox was busy");
    let times = tally(&items);
    for uuid in &started {
        assert!(times.get(uuid).copied().unwrap_or(0) <= 1, "{uuid}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_inbox_costs_one_request_beyond_its_pages() {
    let demo = DemoServer::builder().conversations(1_000).start().await;
    let client = demo.client().unwrap();

    let items: Vec<_> = client.conversations().items().try_collect().await.unwrap();

    assert_eq!(items.len(), 1_000);
    assert_eq!(demo.request_count(), 5 + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_hold_the_same_conversations_as_items_each_once() {
    // Two demo servers alike, listed alike with nothing fetched ahead (the
    // same requests in the same order): their inboxes move the same way,
    // so `pages()` and `items()` must bring the same conversations in the
    // same order.
    let (demo, client) = busy(1_000, 1).await;
    let (twin, twin_client) = busy(1_000, 1).await;
    let existing = demo.conversation_uuids();
    assert_eq!(existing, twin.conversation_uuids());

    let pages: Vec<_> = client
        .conversations()
        .page_size(150)
        .prefetch(0)
        .pages()
        .try_collect()
        .await
        .unwrap();
    let items: Vec<_> = twin_client
        .conversations()
        .page_size(150)
        .prefetch(0)
        .items()
        .try_collect()
        .await
        .unwrap();

    let from_pages: Vec<_> = pages.into_iter().flat_map(|p| p.into_items()).collect();
    let uuids = |list: &[ConversationSummary]| -> Vec<String> {
        list.iter()
            .map(|s| s.conversation_uuid.clone().unwrap())
            .collect()
    };
    assert_eq!(demo.request_count(), twin.request_count());
    assert_eq!(uuids(&from_pages), uuids(&items), "pages and items differ");
    assert_whole_and_once(&existing, &from_pages, "pages");
}
