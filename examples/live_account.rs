//! Figures for a live account: listings while the inbox moves, and pacing
//! against UltraCart's leaky bucket. Runs against the built-in demo server.
//!
//! ```text
//! cargo run --release --example live_account --features mock
//! ```
//!
//! 1. A busy inbox: before each page after the first, 3 conversations the
//!    listing has not reached get a message and jump to the top, and one new
//!    one starts. Every conversation that existed at the start must come out
//!    once.
//! 2. A leaky bucket that holds 5 requests and drains 20 a second, and a
//!    listing of 30 pages of 20: with the client told that rate, and with a
//!    default client that learns it.

use std::{
    collections::HashMap,
    process::ExitCode,
    time::{Duration, Instant},
};

use futures::TryStreamExt;
use ultracart_conversation::{Client, Error, RateLimit, mock::DemoServer};

#[path = "support/exit.rs"]
mod exit;

#[tokio::main]
async fn main() -> ExitCode {
    exit::exit_code(run().await)
}

async fn run() -> Result<(), Error> {
    println!("== Listing a busy inbox (3 move up and 1 starts before each page)");
    println!(
        "{:>14} {:>8} {:>5} {:>9} {:>9} {:>7} {:>6} {:>9}",
        "conversations", "prefetch", "gate", "yielded", "distinct", "missing", "twice", "requests"
    );
    for (conversations, prefetch, gate) in [(2_000, 0, 1), (2_000, 1, 1), (3_000, 3, 3)] {
        busy_listing(conversations, prefetch, gate).await?;
    }

    println!("\n== Pacing: a bucket of 5 draining 20 a second, 30 pages of 20");
    println!(
        "{:<44} {:>8} {:>5} {:>8} {:>8} {:>7}",
        "client", "requests", "429s", "time", "floor", "x floor"
    );
    let told = RateLimit::per_second(20)?.with_burst(5)?;
    paced("told the rate (per_second(20).with_burst(5))", Some(told)).await?;
    paced("default (learns from 429s)", None).await?;
    Ok(())
}

async fn busy_listing(conversations: usize, prefetch: usize, gate: usize) -> Result<(), Error> {
    let demo = DemoServer::builder()
        .conversations(conversations)
        .busy_inbox(3, 1)
        .start()
        .await;
    let existing = demo.conversation_uuids();
    let client = Client::builder()
        .api_key(DemoServer::API_KEY)
        .base_url(demo.base_url())
        .max_in_flight(gate)
        .build()?;
    let items: Vec<_> = client
        .conversations()
        .prefetch(prefetch)
        .items()
        .try_collect()
        .await?;
    let mut times: HashMap<String, usize> = HashMap::new();
    for item in &items {
        *times
            .entry(item.conversation_uuid.clone().unwrap_or_default())
            .or_default() += 1;
    }
    let missing = existing.iter().filter(|u| !times.contains_key(*u)).count();
    let twice = times.values().filter(|&&n| n > 1).count();
    println!(
        "{conversations:>14} {prefetch:>8} {gate:>5} {:>9} {:>9} {missing:>7} {twice:>6} {:>9}",
        items.len(),
        times.len(),
        demo.request_count()
    );
    Ok(())
}

async fn paced(name: &str, rate: Option<RateLimit>) -> Result<(), Error> {
    let demo = DemoServer::builder()
        .conversations(600)
        .rate_limiter(5, 20.0)
        .start()
        .await;
    let mut builder = Client::builder()
        .api_key(DemoServer::API_KEY)
        .base_url(demo.base_url());
    if let Some(rate) = rate {
        builder = builder.rate_limit(rate);
    }
    let client = builder.build()?;
    let started = Instant::now();
    let items: Vec<_> = client
        .conversations()
        .page_size(20)
        .items()
        .try_collect()
        .await?;
    let took = started.elapsed();
    assert_eq!(items.len(), 600);
    let throttled = demo.throttled_count();
    let requests = demo.request_count() - throttled;
    // What the bucket allows at best: 5 at once, then 20 a second.
    let floor = Duration::from_secs_f64((requests as f64 - 5.0) / 20.0);
    println!(
        "{name:<44} {requests:>8} {throttled:>5} {:>7.2}s {:>7.2}s {:>7.2}",
        took.as_secs_f64(),
        floor.as_secs_f64(),
        took.as_secs_f64() / floor.as_secs_f64()
    );
    println!("    pacing now: {:?}", client.pacing());
    Ok(())
}
