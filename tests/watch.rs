//! Following an inbox over real HTTP: an inbox that changes in wall-clock
//! time, a quiet one, a watch resumed in a new client from a saved
//! bookmark, the existing conversations first, a watch beside a listing,
//! and how errors end a watch or do not.

mod common;

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use common::{
    builder_at, client_at, error_body,
    inbox::{ChangingInbox, Ties},
    scripted::{Reply, ScriptedServer, listing},
};
use futures::{StreamExt, TryStreamExt};
use ultracart_conversation::{Bookmark, Change, Error, RetryPolicy, Watch};

const POLL: Duration = Duration::from_millis(100);

/// Runs a watch in its own task, keeping every change it yields.
struct Running {
    changes: Arc<Mutex<Vec<Change>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    fn start(mut watch: Watch) -> Self {
        let changes = Arc::new(Mutex::new(Vec::new()));
        let kept = changes.clone();
        let task = tokio::spawn(async move {
            while let Some(change) = watch.next().await {
                kept.lock()
                    .unwrap()
                    .push(change.expect("no error reaches the caller"));
            }
            panic!("a watch never ends by itself");
        });
        Self { changes, task }
    }

    /// Waits until the watch has reported `n` changes (at most 10 s) and
    /// returns the first `n`.
    async fn until_reported(&self, n: usize) -> Vec<Change> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            {
                let changes = self.changes.lock().unwrap();
                if changes.len() >= n {
                    return changes[..n].to_vec();
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "{} reported within 10 s, not {n}",
                    changes.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Stops the watch (dropping it) and returns what it reported.
    fn stop(self) -> Vec<Change> {
        self.task.abort();
        self.changes.lock().unwrap().clone()
    }
}

/// Waits until the server's work on the watch's first read is over, so
/// that what changes afterwards is what the watch must report.
async fn first_read_done(inbox: &ChangingInbox) {
    inbox.server.until_done(1).await;
}

fn second(change: &Change) -> i64 {
    let dts = change.summary().last_message_dts.as_ref().expect("dated");
    dts.utc().expect("readable").timestamp()
}

fn pair(change: &Change) -> (String, i64) {
    (
        change.summary().conversation_uuid.clone().unwrap(),
        second(change),
    )
}

/// Nothing reported twice, and every change made reported with its time or
/// a later one.
fn assert_each_change_once(made: &[(String, i64)], reported: &[Change]) {
    let mut pairs = HashSet::new();
    for change in reported {
        assert!(
            pairs.insert(pair(change)),
            "reported twice: {:?}",
            pair(change)
        );
    }
    let missed: Vec<_> = made
        .iter()
        .filter(|(uuid, at)| {
            !reported
                .iter()
                .any(|c| c.summary().conversation_uuid.as_ref() == Some(uuid) && second(c) >= *at)
        })
        .collect();
    assert!(
        missed.is_empty(),
        "{} of {} changes never reported: {missed:?}",
        missed.len(),
        made.len()
    );
}

async fn follow_a_busy_inbox(ties: Ties) {
    let inbox = ChangingInbox::start(500, ties).await;
    let client = client_at(inbox.server.base_url());
    let running = Running::start(client.conversations().watch().every(POLL));
    first_read_done(&inbox).await;

    inbox.start_changing(20);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let requests = inbox.server.requests();
    inbox.stop_changing();
    // A few more polls for the changes of the last moments.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reported = running.stop();

    let made = inbox.changes();
    assert!(made.len() >= 60, "{} changes", made.len());
    assert_each_change_once(&made, &reported);
    assert!(requests <= 70, "{requests} requests in 4 s");
    eprintln!(
        "ties by {ties:?}: {} changes made, {} reported, {requests} requests in 4 s",
        made.len(),
        reported.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_of_a_busy_inbox_is_reported_once_when_the_newest_come_first() {
    follow_a_busy_inbox(Ties::Recency).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_of_a_busy_inbox_is_reported_once_whatever_the_order_within_a_second() {
    follow_a_busy_inbox(Ties::Uuid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_that_span_pages_while_the_inbox_shifts_lose_nothing_and_repeat_nothing() {
    // Pages of 5 and 10 changes a poll: each poll spans pages, and the
    // inbox moves under it between them.
    let inbox = ChangingInbox::start(300, Ties::Uuid).await;
    let client = client_at(inbox.server.base_url());
    let running = Running::start(
        client
            .conversations()
            .page_size(5)
            .watch()
            .every(Duration::from_millis(200)),
    );
    first_read_done(&inbox).await;
    inbox.start_changing(50);
    tokio::time::sleep(Duration::from_secs(2)).await;
    inbox.stop_changing();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let reported = running.stop();

    assert_each_change_once(&inbox.changes(), &reported);
    assert!(inbox.server.requests() > 2 * 10, "polls spanned pages");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_inbox_reports_nothing_and_costs_one_request_a_poll() {
    let inbox = ChangingInbox::start(500, Ties::Uuid).await;
    let client = client_at(inbox.server.base_url());
    let started = std::time::Instant::now();
    let running = Running::start(client.conversations().watch().every(POLL));
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let requests = inbox.server.requests();
    let elapsed = started.elapsed();
    let reported = running.stop();

    assert!(reported.is_empty(), "{} reported", reported.len());
    // Each poll is one request for the top page: none reads further down.
    for request in inbox.server.log() {
        assert_eq!(
            request.query_number("_offset").unwrap_or(0),
            0,
            "request {} read below the top page",
            request.index
        );
    }
    // And no more requests than polls: a poll starts a period after the
    // one before it at the soonest, the first at once (a stalled machine
    // polls less, never more).
    let polls = (elapsed.as_millis() / POLL.as_millis()) as usize + 1;
    assert!(
        requests <= polls,
        "{requests} requests in {elapsed:?}, at most {polls} polls"
    );
    assert!(requests >= 3, "the watch polled: {requests} requests");
    eprintln!("quiet inbox: nothing reported, {requests} requests in {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_resumed_from_a_saved_bookmark_misses_nothing_and_repeats_nothing() {
    let inbox = ChangingInbox::start(500, Ties::Uuid).await;
    let first = Running::start(
        client_at(inbox.server.base_url())
            .conversations()
            .watch()
            .every(POLL),
    );
    first_read_done(&inbox).await;
    inbox.start_changing(20);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = first.stop();
    let saved = serde_json::to_string(&before.last().expect("changes").bookmark()).unwrap();

    // The inbox goes on changing while no watch runs.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let bookmark: Bookmark = serde_json::from_str(&saved).unwrap();
    let second = Running::start(
        client_at(inbox.server.base_url())
            .conversations()
            .watch()
            .every(POLL)
            .from(bookmark),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    inbox.stop_changing();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = second.stop();

    assert!(!after.is_empty());
    let (first_part, second_part) = (before.len(), after.len());
    let both: Vec<_> = before.into_iter().chain(after).collect();
    assert_each_change_once(&inbox.changes(), &both);
    eprintln!(
        "resume: {} changes made, {first_part} reported before the drop, {second_part} after the resume ({} bytes of bookmark)",
        inbox.changes().len(),
        saved.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn include_existing_reports_every_conversation_then_every_change() {
    let inbox = ChangingInbox::start(300, Ties::Recency).await;
    let existing: HashSet<_> = inbox.uuids().into_iter().collect();
    let client = client_at(inbox.server.base_url());
    let running = Running::start(
        client
            .conversations()
            .watch()
            .include_existing()
            .every(POLL),
    );

    // First the existing conversations, each once: the inbox stays still
    // until as many have been reported, so nothing else can be among them.
    let first: Vec<_> = running
        .until_reported(existing.len())
        .await
        .iter()
        .map(|c| c.summary().conversation_uuid.clone().unwrap())
        .collect();
    let first_set: HashSet<_> = first.iter().cloned().collect();
    assert_eq!(
        first_set.len(),
        first.len(),
        "the first reports are distinct"
    );
    assert_eq!(
        first_set, existing,
        "the first reports are the existing ones"
    );

    // Then every change.
    inbox.start_changing(5);
    tokio::time::sleep(Duration::from_secs(2)).await;
    inbox.stop_changing();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reported = running.stop();

    assert_each_change_once(&inbox.changes(), &reported[existing.len()..]);
    assert!(reported.len() > existing.len(), "changes came after");
    eprintln!(
        "include_existing: {} existing, then {} changes made, {} reported in all",
        existing.len(),
        inbox.changes().len(),
        reported.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_beside_a_listing_on_one_client_never_has_two_requests_in_flight() {
    let server = ScriptedServer::start(listing(1_000, true, Duration::from_millis(2))).await;
    let client = client_at(server.base_url());
    let running = Running::start(
        client
            .conversations()
            .watch()
            .every(Duration::from_millis(10)),
    );
    for _ in 0..3 {
        let items: Vec<_> = client.conversations().items().try_collect().await.unwrap();
        assert_eq!(items.len(), 1_000);
    }
    let watch_polls = server.requests();
    running.stop();

    assert_eq!(server.max_in_flight(), 1);
    assert!(
        watch_polls > 3 * 6,
        "the watch polled meanwhile: {watch_polls}"
    );
}

/// How often [`five_after`]'s watch polls.
const FAST_POLL: Duration = Duration::from_millis(10);

/// A watch of every conversation on a server that answers its first
/// `failures` requests with `failure`, and five conversations after; the
/// client does not retry, so each failure reaches the watch. Returns the
/// server once the five were reported.
async fn five_after(failures: usize, failure: Reply) -> ScriptedServer {
    let server = ScriptedServer::start(move |request, n| {
        if n < failures {
            failure.clone()
        } else {
            listing(5, true, Duration::ZERO)(request, n)
        }
    })
    .await;
    let client = builder_at(server.base_url())
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    let watch = client
        .conversations()
        .watch()
        .include_existing()
        .every(FAST_POLL);

    let five: Vec<_> = watch.take(5).try_collect().await.unwrap();
    assert_eq!(five.len(), 5);
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_delay_the_next_poll_and_the_watch_goes_on() {
    let server = five_after(3, Reply::text(503, "<html>maintenance</html>")).await;

    assert_eq!(
        server.requests(),
        4,
        "three failed polls, then one that worked"
    );
    // The n-th failure in a row waits twice the period n times over: 20,
    // 40, then 80 ms. Each gap is at least that (a sleep never ends early;
    // a stall only lengthens a gap), so a stall cannot pass a watch that
    // does not back off.
    let gaps: Vec<_> = server.log().windows(2).map(|w| w[1].at - w[0].at).collect();
    for (n, gap) in gaps.iter().enumerate() {
        let backoff = FAST_POLL * 2u32.pow(n as u32 + 1);
        assert!(
            *gap >= backoff,
            "after failure {}: {gap:?}, not {backoff:?} (gaps {gaps:?})",
            n + 1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_holds_the_next_poll_back_for_its_retry_after_and_the_watch_goes_on() {
    let throttled = Reply::json(429, &error_body(429, "Too many requests.", "Slow down."));
    let server = five_after(1, throttled.header("retry-after", "1")).await;

    let log = server.log();
    assert_eq!(log.len(), 2);
    let waited = log[1].at - log[0].at;
    assert!(waited >= Duration::from_millis(900), "waited {waited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_polling_cannot_mend_is_yielded_once_and_ends_the_watch() {
    let server = ScriptedServer::always(Reply::json(
        401,
        &error_body(401, "Invalid credentials.", "The simple key is not valid."),
    ))
    .await;
    let mut watch = client_at(server.base_url())
        .conversations()
        .watch()
        .every(Duration::from_millis(10));

    let error = watch.next().await.expect("an error").unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(401));
    assert!(watch.next().await.is_none());
    assert!(watch.next().await.is_none());
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_bookmark_in_an_unknown_format_is_refused_before_any_request() {
    let server = ScriptedServer::start(listing(5, true, Duration::ZERO)).await;
    let old: Bookmark = serde_json::from_str(r#"{"v":0,"mark":"2019"}"#).unwrap();
    let mut watch = client_at(server.base_url())
        .conversations()
        .watch()
        .from(old);

    let error = watch.next().await.expect("an error").unwrap_err();
    assert!(matches!(error, Error::Bookmark { .. }), "{error:?}");
    assert!(watch.next().await.is_none());
    assert_eq!(server.requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_servers_changing_inbox_is_followed_change_by_change() {
    let demo = ultracart_conversation::mock::DemoServer::builder()
        .conversations(200)
        .changing_inbox(20.0)
        .start()
        .await;
    let running = Running::start(demo.client().unwrap().conversations().watch().every(POLL));
    while demo.request_count() == 0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // Changes are made when a request arrives: those due by the watch's
    // first read came before it.
    let before = demo.changes().len();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let made: Vec<_> = demo
        .changes()
        .into_iter()
        .skip(before)
        .map(|(uuid, dts)| (uuid, dts.utc().unwrap().timestamp()))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reported = running.stop();

    assert!(made.len() >= 20, "{} changes", made.len());
    assert_each_change_once(&made, &reported);
}
