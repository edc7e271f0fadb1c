//! Exports every conversation summary to a JSON Lines file, one summary a
//! line, with a progress bar.
//!
//! By default it runs against the built-in demo server:
//!
//! ```text
//! cargo run --example export --features mock
//! cargo run --example export --features mock -- /tmp/out.jsonl
//! ```
//!
//! With `ULTRACART_API_KEY` (or `ULTRACART_OAUTH_TOKEN`) set it exports from
//! UltraCart instead, read-only, configured by `Client::from_env`
//! (`ULTRACART_BASE_URL` overrides the service URL):
//!
//! ```text
//! ULTRACART_API_KEY=... cargo run --example export --features mock
//! ```

use std::{
    env,
    fs::File,
    io::{BufWriter, Write},
    path::PathBuf,
    process::ExitCode,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use futures::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use ultracart_conversation::{Client, ENV_API_KEY, ENV_OAUTH_TOKEN, mock::DemoServer};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The error and its causes on one line, never a struct dump.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let path = env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| env::temp_dir().join("conversations.jsonl"));

    // The demo server must outlive the export, hence the named binding.
    let (client, _demo) = if has_credential() {
        eprintln!("Exporting from UltraCart (credential found in the environment).");
        (Client::from_env()?, None)
    } else {
        let demo = DemoServer::start().await;
        eprintln!(
            "{ENV_API_KEY} is not set: exporting from the demo server at {}.",
            demo.base_url()
        );
        (demo.client()?, Some(demo))
    };

    let file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = BufWriter::new(file);
    let started = Instant::now();
    let bar = ProgressBar::no_length();
    bar.enable_steady_tick(Duration::from_millis(100));

    // Pages rather than items: the first page's `result_set` sizes the bar,
    // and the stream still fetches two pages ahead while this one is written.
    let mut pages = client.conversations().prefetch(2).pages();
    let mut count: u64 = 0;
    while let Some(page) = pages.try_next().await? {
        if count == 0 {
            style(&bar, page.result_set().and_then(|r| r.total_records))?;
        }
        for summary in page.items() {
            serde_json::to_writer(&mut out, summary)
                .with_context(|| format!("cannot write to {}", path.display()))?;
            out.write_all(b"\n")
                .with_context(|| format!("cannot write to {}", path.display()))?;
        }
        count += page.len() as u64;
        bar.inc(page.len() as u64);
    }
    out.flush()
        .with_context(|| format!("cannot write to {}", path.display()))?;
    drop(out);
    bar.finish_and_clear();

    let elapsed = started.elapsed();
    let bytes = std::fs::metadata(&path)
        .with_context(|| format!("cannot read back {}", path.display()))?
        .len();
    let rate = count as f64 / elapsed.as_secs_f64().max(1e-9);
    println!(
        "exported {count} conversations, {bytes} bytes, to {} in {:.2} s ({rate:.0}/s)",
        path.display(),
        elapsed.as_secs_f64(),
    );
    Ok(())
}

/// Whether `Client::from_env` has a credential to use.
fn has_credential() -> bool {
    [ENV_API_KEY, ENV_OAUTH_TOKEN]
        .iter()
        .any(|name| env::var(name).is_ok_and(|value| !value.trim().is_empty()))
}

/// A bar when the server says how many there are, a spinner otherwise.
fn style(bar: &ProgressBar, total: Option<i32>) -> anyhow::Result<()> {
    match total.and_then(|t| u64::try_from(t).ok()) {
        Some(total) => {
            bar.set_length(total);
            bar.set_style(ProgressStyle::with_template(
                "{spinner} [{bar:40}] {pos}/{len} conversations ({per_sec}, eta {eta})",
            )?);
        }
        None => bar.set_style(ProgressStyle::with_template(
            "{spinner} {pos} conversations ({per_sec})",
        )?),
    }
    Ok(())
}
