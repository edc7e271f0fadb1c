//! Exports every conversation to a JSON Lines file, one a line, with a
//! progress bar; resumable: killed at any point, run it again with the same
//! path and it goes on where it stopped.
//!
//! By default it runs against the built-in demo server:
//!
//! ```text
//! cargo run --example export --features mock
//! cargo run --example export --features mock -- /tmp/out.jsonl
//! cargo run --example export --features mock -- /tmp/out.jsonl --fresh
//! cargo run --example export --features mock -- /tmp/whole.jsonl --messages
//! cargo run --example export --features mock -- /tmp/out.jsonl --follow
//! ```
//!
//! - `--fresh` starts over instead of resuming.
//! - `--messages` writes whole conversations (one `getConversation` each),
//!   paced inside UltraCart's default budget of 1,000 requests an hour when
//!   run against UltraCart; the bar shows the time that budget implies.
//! - `--follow` keeps appending conversations that change after the
//!   export, from the bookmark in the progress file (`<path>.progress`).
//!
//! With `ULTRACART_API_KEY` (or `ULTRACART_OAUTH_TOKEN`) set it exports from
//! UltraCart instead, read-only, configured by `ClientBuilder::from_env`
//! (`ULTRACART_BASE_URL` overrides the service URL):
//!
//! ```text
//! ULTRACART_API_KEY=... cargo run --example export --features mock
//! ```

use std::{
    env,
    path::PathBuf,
    process::ExitCode,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use futures::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use ultracart_conversation::{
    ClientBuilder, ENV_API_KEY, ExportProgress, RateLimit, Watch, mock::DemoServer,
};

/// UltraCart's default hourly budget, for the time `--messages` will take.
const REQUESTS_PER_HOUR: f64 = 1_000.0;

#[path = "support/inbox.rs"]
mod inbox;

use inbox::{describe, exit_code, has_credential};

#[tokio::main]
async fn main() -> ExitCode {
    exit_code(run().await)
}

/// What the command line asked for.
struct Args {
    path: PathBuf,
    fresh: bool,
    messages: bool,
    follow: bool,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        path: env::temp_dir().join("conversations.jsonl"),
        fresh: false,
        messages: false,
        follow: false,
    };
    for arg in env::args_os().skip(1) {
        match arg.to_str() {
            Some("--fresh") => args.fresh = true,
            Some("--messages") => args.messages = true,
            Some("--follow") => args.follow = true,
            Some(flag) if flag.starts_with("--") => anyhow::bail!(
                "unknown option {flag}; usage: export [PATH] [--fresh] [--messages] [--follow]"
            ),
            _ => args.path = PathBuf::from(arg),
        }
    }
    Ok(args)
}

async fn run() -> anyhow::Result<()> {
    let args = args()?;

    // The demo server must outlive the export, hence the named binding.
    let (client, _demo) = if has_credential() {
        eprintln!("Exporting from UltraCart (credential found in the environment).");
        let builder = ClientBuilder::from_env()?;
        let builder = if args.messages {
            builder.rate_limit(RateLimit::ultracart_default())
        } else {
            builder
        };
        (builder.build()?, None)
    } else {
        // The demo's data comes from a fixed seed, so a rerun resumes
        // against the same conversations; with --follow it keeps changing.
        let demo = if args.follow {
            DemoServer::builder().changing_inbox(2.0).start().await
        } else {
            DemoServer::start().await
        };
        eprintln!(
            "{ENV_API_KEY} is not set: exporting from the demo server at {}.",
            demo.base_url()
        );
        (demo.client()?, Some(demo))
    };

    // Following resumes what the run below leaves, so only the run starts
    // over when asked to.
    let export = client.export(&args.path);
    let export = if args.messages {
        export.whole_conversations()
    } else {
        export
    };
    if !args.fresh && export.progress_path().exists() {
        eprintln!(
            "Resuming the export to {} (its progress is in {}; --fresh starts over).",
            args.path.display(),
            export.progress_path().display()
        );
    }

    let started = Instant::now();
    let bar = ProgressBar::no_length();
    bar.enable_steady_tick(Duration::from_millis(100));
    let shown = bar.clone();
    let mut styled = false;
    let this_run = if args.fresh {
        export.clone().fresh()
    } else {
        export.clone()
    };
    let report = this_run
        .run_with(move |progress| show(&shown, progress, &mut styled))
        .await?;
    bar.finish_and_clear();

    let elapsed = started.elapsed();
    let bytes = std::fs::metadata(&args.path)
        .with_context(|| format!("cannot read back {}", args.path.display()))?
        .len();
    let resumed = if report.resumed() {
        format!(
            " (resumed: {} were there already)",
            report.lines() - report.written()
        )
    } else {
        String::new()
    };
    println!(
        "exported {} conversations{resumed}, {bytes} bytes, to {} in {:.2} s with {} requests",
        report.lines(),
        args.path.display(),
        elapsed.as_secs_f64(),
        report.requests(),
    );

    if args.follow {
        let every = if _demo.is_some() {
            Duration::from_secs(1)
        } else {
            Watch::DEFAULT_PERIOD
        };
        eprintln!(
            "Following: appending each conversation that changes, polling every {every:?} (Ctrl-C stops; run again to go on)."
        );
        let mut changes = export.follow(every);
        while let Some(change) = changes.try_next().await? {
            println!("appended {}", describe(change.summary()));
        }
    }
    Ok(())
}

/// The bar after each batch: a bar once the total is known (a spinner
/// before), and the time the requests left take at UltraCart's budget.
fn show(bar: &ProgressBar, progress: &ExportProgress, styled: &mut bool) {
    if !*styled {
        let template = match progress.total() {
            Some(total) => {
                bar.set_length(total);
                "{spinner} [{bar:40}] {pos}/{len} conversations ({per_sec}, eta {eta}) {msg}"
            }
            None => "{spinner} {pos} conversations ({per_sec}) {msg}",
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        *styled = true;
    }
    bar.set_position(progress.lines());
    if let Some(left) = progress.requests_left() {
        let at_budget = Duration::from_secs_f64(left as f64 * 3_600.0 / REQUESTS_PER_HOUR);
        bar.set_message(format!(
            "{left} requests left: {} at 1,000 an hour",
            indicatif::HumanDuration(at_budget)
        ));
    }
}
