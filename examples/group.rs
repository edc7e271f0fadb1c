//! Several replicas following one inbox: one polls, each change goes to one.
//!
//! ```text
//! cargo run --example group --features mock,redis      # in one terminal
//! cargo run --example group --features mock,redis      # in a second
//! cargo run --example group --features mock,redis      # and in a third
//! ```
//!
//! The first replica started serves a demo inbox that changes twice a
//! second (and says so); the others find it through a file in the temporary
//! directory. Every replica joins the group `example-desk`: one of them
//! leads (it polls the inbox, and says so), and each change is handed to one
//! replica, which "works" on it for a second and a half and acks it. Kill a
//! replica that is working on a change (Ctrl-C, or `kill -9`): after the
//! claim time (5 s) another one is handed that change, attempt 2. Kill the
//! leader: another one leads within the lease time (3 s). Redis is
//! `REDIS_URL` (default `redis://127.0.0.1:6379`). No credential is used:
//! the inbox is the built-in demo server. `--seconds N` stops after N
//! seconds (default: run until stopped).

use std::{
    path::PathBuf,
    process::ExitCode,
    time::{Duration, Instant},
};

use futures::TryStreamExt;
use tracing_subscriber::{filter::Targets, fmt, prelude::*};
use ultracart_conversation::{Client, Error, SharedLimits, WatchGroup, mock::DemoServer};

#[path = "support/exit.rs"]
mod exit;

/// Where the replica serving the demo inbox leaves its address.
fn address_file() -> PathBuf {
    std::env::temp_dir().join("ultracart-conversation-group-example.url")
}

#[tokio::main]
async fn main() -> ExitCode {
    exit::exit_code(run().await)
}

async fn run() -> Result<(), Error> {
    // The group's own news (who leads, Redis outages, dead letters) at
    // info level and above.
    tracing_subscriber::registry()
        .with(fmt::layer().with_target(false).without_time())
        .with(Targets::new().with_target("ultracart_conversation", tracing::Level::INFO))
        .init();
    let seconds = std::env::args()
        .skip_while(|arg| arg != "--seconds")
        .nth(1)
        .and_then(|n| n.parse::<u64>().ok());
    let redis_url = std::env::var("REDIS_URL").unwrap_or("redis://127.0.0.1:6379".into());
    let (base_url, _demo) = demo_inbox().await;
    let member = format!("replica-{}", std::process::id());
    let client = Client::builder()
        .api_key(DemoServer::API_KEY)
        .base_url(&base_url)
        .shared_limits(SharedLimits::redis(&redis_url)?.namespace("group-example"))
        .build()?;
    let group = WatchGroup::new("example-desk")?
        .member(&member)
        .leader_ttl(Duration::from_secs(3))
        .claim_after(Duration::from_secs(5));
    println!("{member} joins the group example-desk (Redis at {redis_url}); Ctrl-C to leave");
    let mut inbox = client
        .conversations()
        .watch()
        .every(Duration::from_millis(500))
        .group(group);
    let started = Instant::now();
    let mut handled = 0;
    loop {
        let left = seconds.map(|s| Duration::from_secs(s).saturating_sub(started.elapsed()));
        let next = match left {
            Some(left) if left.is_zero() => break,
            Some(left) => match tokio::time::timeout(left, inbox.try_next()).await {
                Ok(next) => next?,
                Err(_) => break,
            },
            None => inbox.try_next().await?,
        };
        let Some(delivery) = next else { break };
        let summary = delivery.change().summary();
        println!(
            "{member}: working on {} (attempt {}): {:?}",
            summary.conversation_uuid.as_deref().unwrap_or("?"),
            delivery.attempt(),
            summary
                .last_conversation_message_body
                .as_deref()
                .unwrap_or("")
                .chars()
                .take(40)
                .collect::<String>(),
        );
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        delivery.ack().await?;
        handled += 1;
    }
    println!("{member} handled {handled} changes");
    Ok(())
}

/// The demo inbox's address: another replica's, if one serves it, or a new
/// one served by this replica (kept alive by the returned server).
async fn demo_inbox() -> (String, Option<DemoServer>) {
    if let Ok(url) = std::fs::read_to_string(address_file()) {
        let url = url.trim().to_string();
        let answers = reqwest::Client::new()
            .get(format!("{url}/conversation/conversations?_limit=1"))
            .header("x-ultracart-simple-key", DemoServer::API_KEY)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok();
        if answers {
            println!("following the demo inbox another replica serves at {url}");
            return (url, None);
        }
    }
    let demo = DemoServer::builder()
        .conversations(50)
        .changing_inbox(2.0)
        .start()
        .await;
    let url = demo.base_url();
    if let Err(error) = std::fs::write(address_file(), &url) {
        eprintln!(
            "cannot share the demo inbox's address ({error}): the other replicas will serve their own"
        );
    }
    println!("this replica serves the demo inbox at {url} (keep it running)");
    (url, Some(demo))
}
