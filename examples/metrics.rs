//! The client's metrics, served for Prometheus: a listing throttled by a
//! leaky bucket, then a watch, against the built-in demo server (never
//! UltraCart), with the metrics on a local port.
//!
//! ```text
//! cargo run --example metrics --features metrics,mock
//! cargo run --example metrics --features metrics,mock -- --seconds 30 --port 9185
//! ```
//!
//! It prints the URL to scrape (`http://127.0.0.1:9185/metrics` unless that
//! port is taken), what the listing cost, the metrics after it, each change
//! the watch reports, and the metrics again at the end (after `--seconds`,
//! or at Ctrl-C). Meanwhile `curl -s URL | grep ^ultracart_` shows them
//! as Prometheus scrapes them. A Prometheus of your own scrapes it with:
//!
//! ```yaml
//! scrape_configs:
//!   - job_name: ultracart-conversation
//!     static_configs: [{ targets: ["127.0.0.1:9185"] }]
//! ```

use std::{
    env,
    net::{SocketAddr, TcpListener},
    process::ExitCode,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use futures::TryStreamExt;
use metrics_exporter_prometheus::PrometheusBuilder;
use ultracart_conversation::{Client, RateLimit, mock::DemoServer};

#[path = "support/inbox.rs"]
#[allow(dead_code)] // has_credential: this example never uses UltraCart
mod inbox;

use inbox::{describe, exit_code};

/// Where the metrics are served unless the port is taken.
const DEFAULT_PORT: u16 = 9185;

#[tokio::main]
async fn main() -> ExitCode {
    exit_code(run().await)
}

async fn run() -> anyhow::Result<()> {
    let mut seconds: Option<u64> = None;
    let mut port = DEFAULT_PORT;
    let mut args = env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |what: &str| -> anyhow::Result<u64> {
            args.next()
                .and_then(|value| value.parse().ok())
                .with_context(|| format!("{what} needs a number"))
        };
        match arg.as_str() {
            "--seconds" => seconds = Some(number("--seconds")?),
            "--port" => port = u16::try_from(number("--port")?).context("--port: 0 to 65535")?,
            _ => anyhow::bail!("usage: metrics [--seconds N] [--port P]"),
        }
    }

    // The application's side: install an exporter (here Prometheus, served
    // over HTTP, with histogram buckets so that replicas can be summed),
    // and let the crate describe its metrics.
    let address = free_address(port)?;
    PrometheusBuilder::new()
        .set_buckets(&[
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
        ])?
        .with_http_listener(address)
        .install()
        .context("cannot start the Prometheus exporter")?;
    ultracart_conversation::metrics::describe();
    let url = format!("http://{address}/metrics");
    println!("Metrics for Prometheus at {url}\n");

    // A demo inbox of 1,500 conversations that changes twice a second,
    // behind a leaky bucket that holds 5 requests and drains 20 a second.
    let demo = DemoServer::builder()
        .conversations(1_500)
        .rate_limiter(5, 20.0)
        .changing_inbox(2.0)
        .start()
        .await;

    // A listing by a client that was not told the rate: it runs into the
    // bucket, waits out the 429s and learns the pace.
    let started = Instant::now();
    let listed: Vec<_> = demo
        .client()?
        .conversations()
        .page_size(100)
        .items()
        .try_collect()
        .await?;
    println!(
        "Listed {} conversations in {:.1} s: the demo server answered {} requests, {} of them 429.\n",
        listed.len(),
        started.elapsed().as_secs_f64(),
        demo.request_count(),
        demo.throttled_count()
    );
    print_metrics(&url).await?;

    // A watch by a client told UltraCart's budgets, so that the budget
    // gauges show too.
    let watcher = Client::builder()
        .api_key(DemoServer::API_KEY)
        .base_url(demo.base_url())
        .rate_limit(RateLimit::ultracart_default())
        .build()?;
    let mut watch = watcher
        .conversations()
        .watch()
        .every(Duration::from_secs(1));
    match seconds {
        Some(seconds) => println!("\nWatching for {seconds} s (Ctrl-C stops it sooner)."),
        None => println!("\nWatching until Ctrl-C."),
    }
    let deadline = seconds.map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    let until_deadline = async {
        match deadline {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(until_deadline);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut until_deadline => break,
            _ = &mut ctrl_c => break,
            next = watch.try_next() => {
                let Some(change) = next? else { break };
                println!("  {}", describe(change.summary()));
            }
        }
    }
    drop(watch);
    println!();
    print_metrics(&url).await?;
    Ok(())
}

/// `127.0.0.1:port`, or a free port if that one is taken.
fn free_address(port: u16) -> anyhow::Result<SocketAddr> {
    let probe = TcpListener::bind(("127.0.0.1", port))
        .or_else(|_| TcpListener::bind(("127.0.0.1", 0)))
        .context("no local port for the metrics")?;
    Ok(probe.local_addr()?)
}

/// Scrapes the endpoint as Prometheus would, and prints the crate's
/// samples (histograms by count and sum, without their buckets).
async fn print_metrics(url: &str) -> anyhow::Result<()> {
    let text = ultracart_conversation::reqwest::get(url)
        .await?
        .error_for_status()?
        .text()
        .await?;
    println!("curl -s {url} | grep ^ultracart_ | grep -v _bucket");
    for line in text
        .lines()
        .filter(|l| l.starts_with("ultracart_") && !l.contains("_bucket{"))
    {
        println!("  {line}");
    }
    Ok(())
}
