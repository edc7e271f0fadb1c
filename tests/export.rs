//! The resumable export over real HTTP: killed with SIGKILL mid-run as a
//! real process, then run again on the same path, it completes the file
//! with every conversation exactly once, sending little more than what the
//! killed run had left.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

mod common;

use common::{
    client_at,
    scripted::{ScriptedServer, listing},
};
use futures::{StreamExt, TryStreamExt};
use ultracart_conversation::{Client, RateLimit, mock::DemoServer};

/// The test that, run in a process of its own, is the export to kill.
const WORKER: &str = "export_worker_process";
const ENV_URL: &str = "UC_EXPORT_WORKER_URL";
const ENV_PATH: &str = "UC_EXPORT_WORKER_PATH";
const ENV_WHOLE: &str = "UC_EXPORT_WORKER_WHOLE";
const PAGE: u32 = 100;

/// A scratch directory of this test's own.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("uc-export-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A client that spaces its requests, so that a kill lands mid-run.
fn paced_client(base_url: &str) -> Client {
    Client::builder()
        .api_key(DemoServer::API_KEY)
        .base_url(base_url)
        .rate_limit(RateLimit::per_second(200).unwrap())
        .build()
        .unwrap()
}

async fn export(client: &Client, path: &Path, whole: bool) -> ultracart_conversation::ExportReport {
    let export = client.export(path).page_size(PAGE);
    let export = if whole {
        export.whole_conversations()
    } else {
        export
    };
    export.run().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by the kill tests in a process of its own"]
async fn export_worker_process() {
    let (Ok(url), Ok(path)) = (std::env::var(ENV_URL), std::env::var(ENV_PATH)) else {
        return;
    };
    let whole = std::env::var(ENV_WHOLE).is_ok();
    export(&paced_client(&url), Path::new(&path), whole).await;
}

/// Starts the export in a process of its own, and kills it with SIGKILL
/// once the server has answered `after` of its requests. Returns how many
/// it had sent by then.
async fn kill_mid_run(demo: &DemoServer, path: &Path, whole: bool, after: usize) -> usize {
    let before = demo.request_count();
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--ignored", "--exact", WORKER, "--nocapture"])
        .env(ENV_URL, demo.base_url())
        .env(ENV_PATH, path)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if whole {
        command.env(ENV_WHOLE, "1");
    }
    let mut child = command.spawn().unwrap();
    while demo.request_count() - before < after {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the export ended before the kill"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // SIGKILL on Unix: no destructor, no flush.
    child.kill().unwrap();
    child.wait().unwrap();
    demo.request_count() - before
}

/// Every line is JSON with a uuid, and no uuid twice.
fn distinct_uuids(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'), "no half line at the end");
    let mut uuids = HashSet::new();
    for line in text.lines() {
        let value: serde_json::Value = serde_json::from_str(line).expect("a whole line of JSON");
        let uuid = value["conversation_uuid"]
            .as_str()
            .expect("a uuid")
            .to_string();
        assert!(uuids.insert(uuid.clone()), "{uuid} twice");
    }
    uuids.len()
}

async fn killed_then_rerun(conversations: usize, whole: bool, kills: &[usize]) {
    let dir = scratch(if whole { "whole" } else { "summaries" });
    let demo = DemoServer::with_conversations(conversations).await;

    let reference = dir.join("reference.jsonl");
    let report = export(&demo.client().unwrap(), &reference, whole).await;
    let uninterrupted = demo.request_count();
    assert_eq!(report.requests() as usize, uninterrupted);
    assert_eq!(distinct_uuids(&reference), conversations);

    let path = dir.join("out.jsonl");
    let mut sent = 0;
    for &after in kills {
        sent += kill_mid_run(&demo, &path, whole, after).await;
    }
    assert!(
        sent < uninterrupted,
        "the kills came mid-run: {sent} of {uninterrupted}"
    );

    let before = demo.request_count();
    let rerun = export(&paced_client(&demo.base_url()), &path, whole).await;
    let rerun_requests = demo.request_count() - before;

    assert!(rerun.resumed());
    assert_eq!(distinct_uuids(&path), conversations);
    assert_eq!(rerun.lines() as usize, conversations);
    let remaining = uninterrupted - sent.min(uninterrupted);
    assert!(
        rerun_requests <= remaining + 2,
        "the rerun sent {rerun_requests}; {remaining} remained of {uninterrupted}"
    );
    eprintln!(
        "{conversations} conversations (whole: {whole}): {uninterrupted} requests uninterrupted, \
         {sent} before the kills, {rerun_requests} on the rerun ({remaining} remained)"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_killed_mid_run_is_completed_by_the_rerun_each_conversation_once() {
    killed_then_rerun(3_000, false, &[12]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_killed_twice_is_still_completed_each_conversation_once() {
    killed_then_rerun(3_000, false, &[4, 9]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_conversation_export_killed_mid_run_resumes_the_same_way() {
    killed_then_rerun(400, true, &[150]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complete_export_run_again_sends_nothing_and_fresh_starts_over() {
    let dir = scratch("complete");
    let demo = DemoServer::with_conversations(250).await;
    let client = demo.client().unwrap();
    let path = dir.join("out.jsonl");
    export(&client, &path, false).await;
    let before = demo.request_count();

    let again = export(&client, &path, false).await;
    assert!(again.resumed());
    assert_eq!(
        (again.requests(), again.written(), again.lines()),
        (0, 0, 250)
    );
    assert_eq!(demo.request_count(), before);

    let fresh = client.export(&path).fresh().run().await.unwrap();
    assert!(!fresh.resumed());
    assert_eq!(fresh.written(), 250);
    assert_eq!(distinct_uuids(&path), 250);

    let summaries_begun = client.export(&path).whole_conversations().run().await;
    assert!(matches!(
        summaries_begun,
        Err(ultracart_conversation::Error::Export { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_after_an_export_appends_changes_and_resumes_from_the_progress_file() {
    let dir = scratch("follow");
    // An export of 1,000 in pages of 50 costs 20 requests and more: a rerun
    // that exported again could not hide among a few polls.
    let demo = DemoServer::builder()
        .conversations(1_000)
        .changing_inbox(40.0)
        .start()
        .await;
    let client = demo.client().unwrap();
    let path = dir.join("out.jsonl");
    let follow_five = || async {
        let follow = client
            .export(&path)
            .page_size(50)
            .follow(Duration::from_millis(20));
        follow.take(5).try_collect::<Vec<_>>().await.unwrap()
    };

    let first = follow_five().await;
    let exported = std::fs::read_to_string(&path).unwrap();
    let lines = exported.lines().count();
    assert!(lines >= 1_000 + 5, "{lines} lines");
    assert!(demo.request_count() >= 21, "the export's pages");

    let before = demo.request_count();
    let resumed = follow_five().await;
    let rerun_requests = demo.request_count() - before;

    // Resumed: the export is not done again, nor the file rewritten; the
    // rerun only polls, and appends its five changes.
    let now = std::fs::read_to_string(&path).unwrap();
    assert!(now.starts_with(&exported), "the rerun rewrote the output");
    assert_eq!(now.lines().count(), lines + 5);
    assert!(
        rerun_requests < 20,
        "the rerun sent {rerun_requests} requests, as many as an export"
    );
    let pairs: HashSet<_> = first
        .iter()
        .chain(&resumed)
        .map(|c| {
            let s = c.summary();
            (
                s.conversation_uuid.clone(),
                s.last_message_dts.as_ref().map(|d| d.to_string()),
            )
        })
        .collect();
    assert_eq!(pairs.len(), 10, "no change appended twice");
    eprintln!("follow: {lines} lines, then {rerun_requests} requests for five changes");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_sharing_one_second_cost_their_pages_and_one_read_at_the_top() {
    let server = ScriptedServer::start(listing(3_000, true, Duration::ZERO)).await;
    let dir = scratch("one-second");
    let path = dir.join("out.jsonl");
    let report = export(&client_at(server.base_url()), &path, false).await;

    assert_eq!(distinct_uuids(&path), 3_000);
    assert_eq!(
        (report.requests(), server.requests()),
        (31, 31),
        "30 pages and one at the top"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_of_a_busy_inbox_holds_every_conversation_that_existed_once() {
    let demo = DemoServer::builder()
        .conversations(2_000)
        .busy_inbox(3, 1)
        .start()
        .await;
    let existing = demo.conversation_uuids();
    let dir = scratch("busy");
    let path = dir.join("out.jsonl");
    export(&demo.client().unwrap(), &path, false).await;

    distinct_uuids(&path);
    let text = std::fs::read_to_string(&path).unwrap();
    let exported: HashSet<_> = text
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["conversation_uuid"]
                .to_string()
        })
        .collect();
    let missing = existing
        .iter()
        .filter(|uuid| !exported.contains(&format!("\"{uuid}\"")))
        .count();
    assert_eq!(missing, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}
