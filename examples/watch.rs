//! Follows an inbox: prints each conversation as it gets a new message or
//! starts, and keeps a bookmark in a file so that a restart goes on where
//! the last run stopped.
//!
//! By default it follows the built-in demo server, whose inbox changes a
//! few times a second, for 15 seconds:
//!
//! ```text
//! cargo run --example watch --features mock
//! cargo run --example watch --features mock -- --seconds 60
//! cargo run --example watch --features mock -- --bookmark /tmp/inbox.bookmark
//! ```
//!
//! With `ULTRACART_API_KEY` (or `ULTRACART_OAUTH_TOKEN`) set it follows
//! UltraCart instead, read-only, polling every 7.2 s (half the default
//! hourly budget of 1,000 requests):
//!
//! ```text
//! ULTRACART_API_KEY=... cargo run --example watch --features mock -- --bookmark inbox.bookmark
//! ```

use std::{
    env,
    path::PathBuf,
    process::ExitCode,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use futures::TryStreamExt;
use ultracart_conversation::{Bookmark, Client, ENV_API_KEY, Watch, mock::DemoServer};

#[path = "support/inbox.rs"]
mod inbox;

use inbox::{describe, exit_code, has_credential};

#[tokio::main]
async fn main() -> ExitCode {
    exit_code(run().await)
}

async fn run() -> anyhow::Result<()> {
    let mut seconds = 15u64;
    let mut bookmark_path: Option<PathBuf> = None;
    let mut args = env::args_os().skip(1);
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--seconds") => {
                let value = args.next().context("--seconds needs a number")?;
                seconds = value
                    .to_string_lossy()
                    .parse()
                    .context("--seconds needs a number")?;
            }
            Some("--bookmark") => {
                bookmark_path = Some(args.next().context("--bookmark needs a path")?.into());
            }
            _ => anyhow::bail!("usage: watch [--seconds N] [--bookmark PATH]"),
        }
    }

    // The demo server must outlive the watch, hence the named binding.
    let (client, every, _demo) = if has_credential() {
        eprintln!("Following UltraCart (credential found in the environment).");
        (Client::from_env()?, Watch::DEFAULT_PERIOD, None)
    } else {
        let demo = DemoServer::builder()
            .conversations(200)
            .changing_inbox(3.0)
            .start()
            .await;
        eprintln!(
            "{ENV_API_KEY} is not set: following the demo server at {}, whose inbox changes \
             3 times a second.",
            demo.base_url()
        );
        (demo.client()?, Duration::from_secs(1), Some(demo))
    };

    let mut watch = client.conversations().watch().every(every);
    if let Some(path) = bookmark_path.as_ref().filter(|p| p.exists()) {
        let saved =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let bookmark: Bookmark = serde_json::from_slice(&saved)
            .with_context(|| format!("{} holds no bookmark", path.display()))?;
        eprintln!("Resuming after the bookmark in {}.", path.display());
        watch = watch.from(bookmark);
    }
    eprintln!(
        "Polling every {every:?} for {seconds} s; each poll of a quiet inbox costs one request."
    );

    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    let mut count = 0;
    while let Ok(next) = tokio::time::timeout_at(deadline, watch.try_next()).await {
        let Some(change) = next? else { break };
        count += 1;
        println!(
            "{:>6.1} s  {}",
            started.elapsed().as_secs_f64(),
            describe(change.summary())
        );
        if let Some(path) = &bookmark_path {
            // Saved once the change is handled: a restart goes on after it.
            std::fs::write(path, serde_json::to_vec(&change.bookmark())?)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    println!("{count} changes in {seconds} s");
    Ok(())
}
