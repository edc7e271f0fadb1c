//! Listing every conversation: following the server's paging, prefetching
//! without overlapping requests, stopping cleanly.

mod common;

use std::time::Duration;

use common::{
    Page, builder_at, client_at,
    scripted::{Reply, ScriptedServer, listing},
};
use futures::{StreamExt, TryStreamExt};
use ultracart_conversation::{Client, Error};

fn uuids(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("conv-{i:06}")).collect()
}

async fn all_uuids(client: &Client, prefetch: usize) -> Result<Vec<String>, Error> {
    client
        .conversations()
        .prefetch(prefetch)
        .items()
        .map_ok(|s| s.conversation_uuid.unwrap_or_default())
        .try_collect()
        .await
}

fn requested(server: &ScriptedServer) -> Vec<(String, String)> {
    server
        .log()
        .iter()
        .map(|r| {
            (
                r.query("_offset").unwrap_or("").to_string(),
                r.query("_limit").unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(u32, u32)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(o, l)| (o.to_string(), l.to_string()))
        .collect()
}

#[tokio::test]
async fn every_item_once_in_order_across_an_uneven_last_page() {
    let server = ScriptedServer::start(listing(450, true, Duration::ZERO)).await;
    let client = client_at(server.base_url());

    let items = all_uuids(&client, 1).await.unwrap();

    assert_eq!(items, uuids(450));
    // The three pages, then one read at the top that finds nothing moved.
    assert_eq!(
        requested(&server),
        pairs(&[(0, 200), (200, 200), (400, 200), (0, 200)])
    );
}

#[tokio::test]
async fn a_missing_total_is_fine() {
    let server = ScriptedServer::start(listing(450, false, Duration::ZERO)).await;
    let client = client_at(server.base_url());

    let pages: Vec<_> = client
        .conversations()
        .page_size(150)
        .prefetch(0)
        .pages()
        .try_collect()
        .await
        .unwrap();

    assert_eq!(
        pages.iter().map(|p| p.len()).collect::<Vec<_>>(),
        vec![150, 150, 150]
    );
    assert!(
        pages
            .iter()
            .all(|p| p.result_set().unwrap().total_records.is_none())
    );
    assert_eq!(pages[2].offset(), 300);
    assert_eq!(pages[2].result_set().unwrap().more, Some(false));
    assert_eq!(
        server.requests(),
        3 + 1,
        "the pages and one read at the top"
    );
}

#[tokio::test]
async fn fetching_ahead_without_a_total_wastes_at_most_prefetch_requests() {
    let server = ScriptedServer::start(listing(450, false, Duration::from_millis(5))).await;
    let client = client_at(server.base_url());

    let items = all_uuids(&client, 2).await.unwrap();

    assert_eq!(items, uuids(450));
    assert!(
        (3..=3 + 2).contains(&server.requests()),
        "{} requests",
        server.requests()
    );
}

#[tokio::test]
async fn a_server_that_never_advances_ends_with_an_error_after_the_good_page() {
    let page = Page::new(0, 200).more(true).next_offset(0).build();
    let server = ScriptedServer::always(Reply::json(200, &page)).await;
    let client = client_at(server.base_url());

    let results: Vec<Result<_, Error>> = client.conversations().items().collect().await;

    assert_eq!(results.len(), 201, "200 good items, then the error");
    assert!(results[..200].iter().all(Result::is_ok));
    let error = results[200].as_ref().unwrap_err();
    assert!(matches!(error, Error::Pagination { .. }), "{error:?}");
    assert!(error.to_string().contains("next_offset"));
    assert!(
        server.requests() <= 2,
        "no loop: the page, and at most one fetched ahead"
    );
}

#[tokio::test]
async fn an_empty_page_ends_the_listing_even_if_the_server_says_more() {
    let server = ScriptedServer::start(|request, _| {
        let offset = request.query_number("_offset").unwrap();
        let count = if offset == 0 { 200 } else { 0 };
        Reply::json(200, &Page::new(offset, count).more(true).build())
    })
    .await;
    let client = client_at(server.base_url());

    let items = all_uuids(&client, 0).await.unwrap();

    assert_eq!(items.len(), 200);
    assert_eq!(
        server.requests(),
        2 + 1,
        "the pages and one read at the top"
    );
}

#[tokio::test]
async fn max_items_stops_early_and_asks_only_for_what_is_left() {
    let server = ScriptedServer::start(listing(10_000, true, Duration::ZERO)).await;
    let client = client_at(server.base_url());

    let items: Vec<_> = client
        .conversations()
        .max_items(250)
        .items()
        .try_collect()
        .await
        .unwrap();

    assert_eq!(items.len(), 250);
    assert_eq!(requested(&server), pairs(&[(0, 200), (200, 50)]));
}

#[tokio::test]
async fn start_offset_and_page_size_are_sent() {
    let server = ScriptedServer::start(listing(130, true, Duration::ZERO)).await;
    let client = client_at(server.base_url());

    let items: Vec<_> = client
        .conversations()
        .start_offset(100)
        .page_size(20)
        .items()
        .try_collect()
        .await
        .unwrap();

    assert_eq!(items.len(), 30);
    assert_eq!(items[0].conversation_uuid.as_deref(), Some("conv-000100"));
    assert_eq!(requested(&server), pairs(&[(100, 20), (120, 20)]));
}

#[tokio::test]
async fn prefetch_0_and_4_give_identical_output() {
    let delay = Duration::from_millis(15);
    let sequential = ScriptedServer::start(listing(1_000, true, delay)).await;
    let wide = ScriptedServer::start(listing(1_000, true, delay)).await;
    let sequential_client = client_at(sequential.base_url());
    let wide_client = builder_at(wide.base_url())
        .max_in_flight(4)
        .build()
        .unwrap();

    let without = sequential_client
        .conversations()
        .page_size(100)
        .prefetch(0)
        .items();
    let with = wide_client
        .conversations()
        .page_size(100)
        .prefetch(4)
        .items();
    let without: Vec<_> = without
        .map_ok(|s| s.conversation_uuid)
        .try_collect()
        .await
        .unwrap();
    let with: Vec<_> = with
        .map_ok(|s| s.conversation_uuid)
        .try_collect()
        .await
        .unwrap();

    assert_eq!(with, without);
    assert_eq!(with.len(), 1_000);
    assert_eq!(sequential.max_in_flight(), 1);
    // A listing sends its pages in offset order, one after another, even
    // through a wide gate: a page served before the one above it would miss
    // what moved down in between on a live inbox.
    assert_eq!(wide.max_in_flight(), 1);
    // Fetching ahead may ask past the end once or twice, never more than
    // the prefetch depth; then one read at the top.
    assert!(
        wide.requests() <= 10 + 4 + 1,
        "{} requests",
        wide.requests()
    );
}

#[tokio::test]
async fn prefetch_with_the_default_gate_never_overlaps_requests() {
    let server = ScriptedServer::start(listing(2_000, true, Duration::from_millis(5))).await;
    let client = client_at(server.base_url());

    let items = all_uuids(&client, 4).await.unwrap();

    assert_eq!(items, uuids(2_000));
    assert_eq!(server.max_in_flight(), 1);
}

#[tokio::test]
async fn the_next_page_is_fetched_while_the_caller_works() {
    let server = ScriptedServer::start(listing(600, true, Duration::from_millis(100))).await;
    let client = client_at(server.base_url());
    let mut pages = client.conversations().prefetch(1).pages();

    let first = pages.try_next().await.unwrap().unwrap();
    assert_eq!(first.offset(), 0);
    // The caller is busy and asks for nothing; the second page is being
    // fetched all the same (the wait fails the test if it never comes).
    server.until_received(2).await;
    let second = &server.log()[1];
    assert_eq!(second.query_number("_offset"), Some(200));
    drop(pages);
}

#[tokio::test]
async fn dropping_the_stream_stops_the_listing_but_lets_the_request_under_way_finish() {
    let server = ScriptedServer::start(listing(2_000, true, Duration::from_millis(300))).await;
    let client = client_at(server.base_url());

    let mut items = client.conversations().prefetch(1).items();
    for _ in 0..5 {
        items.try_next().await.unwrap().unwrap();
    }
    // The caller works on; meanwhile the next page has been requested.
    // Dropped while UltraCart works on that request.
    server.until_received(2).await;
    assert_eq!(server.in_flight(), 1, "the page ahead is still under way");
    drop(items);
    server.until_done(2).await;
    // Time for a request that should not come to show itself.
    tokio::time::sleep(Duration::from_millis(100)).await;

    assert_eq!(
        server.requests(),
        2,
        "the first page and the one fetched ahead, and nothing after"
    );
    assert_eq!(
        server.abandoned(),
        0,
        "the request UltraCart was working on was read to its end, so the next one cannot overlap it"
    );
}

#[tokio::test]
async fn by_default_a_caller_slower_than_the_server_has_one_page_fetched_ahead() {
    let server = ScriptedServer::start(listing(2_000, true, Duration::from_millis(50))).await;
    let client = client_at(server.base_url());
    let mut pages = client.conversations().pages();

    for taken in 1..=3 {
        pages.try_next().await.unwrap().unwrap();
        // Slower than the server: each page is ready before it is asked for.
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(server.requests(), taken + 1, "after {taken} pages");
    }
    drop(pages);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.requests(), 4, "nothing after the caller left");
}

#[tokio::test]
async fn by_default_a_caller_that_stops_asking_but_holds_the_stream_spends_one_page_ahead() {
    // Pages slow enough that a stalled test thread does not turn an ask
    // that waits into one that finds its page ready.
    let server = ScriptedServer::start(listing(2_000, true, Duration::from_millis(150))).await;
    let client = client_at(server.base_url());
    let mut pages = client.conversations().pages();

    // Asked for one after another: the caller waits for each, so more
    // pages are lined up behind the next one while it does.
    for _ in 0..4 {
        pages.try_next().await.unwrap().unwrap();
    }
    // Then it works on, holding the stream.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        server.requests(),
        5,
        "the four pages and one fetched ahead, as with `.prefetch(1)`"
    );
    assert_eq!(server.max_in_flight(), 1);
    drop(pages);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.requests(), 5);
    assert_eq!(server.abandoned(), 0);
}

#[tokio::test]
async fn a_failing_page_is_reported_after_the_good_ones() {
    let server = ScriptedServer::start(|request, _| {
        if request.query_number("_offset") == Some(0) {
            Reply::json(200, &Page::new(0, 200).total(400).more(true).build())
        } else {
            Reply::json(
                400,
                &common::error_body(400, "Bad offset.", "offset rejected"),
            )
        }
    })
    .await;
    let client = client_at(server.base_url());

    let results: Vec<_> = client.conversations().pages().collect().await;

    assert_eq!(results.len(), 2);
    assert_eq!(results[0].as_ref().unwrap().len(), 200);
    assert_eq!(
        results[1].as_ref().unwrap_err().user_message(),
        Some("Bad offset.")
    );
}

#[tokio::test]
async fn a_bad_page_size_is_an_input_error_without_requests() {
    let server = ScriptedServer::start(listing(10, true, Duration::ZERO)).await;
    let client = client_at(server.base_url());

    for size in [0, 201] {
        let results: Vec<_> = client
            .conversations()
            .page_size(size)
            .items()
            .collect()
            .await;
        assert_eq!(results.len(), 1);
        assert!(results[0].as_ref().unwrap_err().is_invalid_input());
    }
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn many_tasks_sharing_one_default_client_never_overlap() {
    let server = ScriptedServer::always(
        Reply::json(200, &common::conversation("c")).delay(Duration::from_millis(10)),
    )
    .await;
    let client = client_at(server.base_url());

    common::concurrently(&client, 20, |client| async move {
        client.get_conversation("c").await
    })
    .await;

    assert_eq!(server.requests(), 20);
    assert_eq!(server.max_in_flight(), 1);
}
