//! Several replicas of one service sharing one budget through Redis.
//!
//! ```text
//! cargo run --example replicas --features mock,redis      # in one terminal
//! cargo run --example replicas --features mock,redis      # and in another
//! ```
//!
//! Each replica sends requests for 15 seconds under one shared limit of 20
//! requests a second (a burst of 5) and one request in flight, and prints
//! how many it sent each second. Started alone, a replica sends about 20 a
//! second; started twice, the two share the budget and each sends about
//! half, and the gate never lets their requests overlap. Redis is
//! `REDIS_URL` (default `redis://127.0.0.1:6379`).
//!
//! With no credential in the environment, each replica talks to a demo
//! server of its own, and names the shared namespace itself (the default
//! namespace is derived from the base URL and the key, which differ per
//! demo server). With `ULTRACART_API_KEY` set it sends read-only
//! `getConversations` calls to UltraCart, in the namespace derived from the
//! key: every replica with that key shares it.

use std::{
    process::ExitCode,
    time::{Duration, Instant},
};

use ultracart_conversation::{
    Client, ClientBuilder, ENV_API_KEY, ENV_OAUTH_TOKEN, Error, RateLimit, SharedLimits,
    mock::DemoServer,
};

#[path = "support/exit.rs"]
mod exit;

const RUN_FOR: Duration = Duration::from_secs(15);

#[tokio::main]
async fn main() -> ExitCode {
    exit::exit_code(run().await)
}

async fn run() -> Result<(), Error> {
    let redis_url = std::env::var("REDIS_URL").unwrap_or("redis://127.0.0.1:6379".into());
    let mut limits = SharedLimits::redis(&redis_url)?;
    let live = [ENV_API_KEY, ENV_OAUTH_TOKEN]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()));
    let demo;
    let builder = if live {
        ClientBuilder::from_env()?
    } else {
        demo = DemoServer::start().await;
        limits = limits.namespace("replicas-example");
        Client::builder()
            .api_key(DemoServer::API_KEY)
            .base_url(demo.base_url())
    };
    let client = builder
        .rate_limit(RateLimit::per_second(20)?.with_burst(5)?)
        .shared_limits(limits)
        .build()?;
    let me = std::process::id();
    println!(
        "replica {me}: sharing limits through {redis_url:?} for {RUN_FOR:?}; start me again elsewhere"
    );

    let started = Instant::now();
    let mut second = Instant::now();
    let mut sent = 0u32;
    while started.elapsed() < RUN_FOR {
        client.get_conversations(10, 0).await?;
        sent += 1;
        if second.elapsed() >= Duration::from_secs(1) {
            println!(
                "replica {me}: {sent:>2} requests in the last second (the shared limit is 20)"
            );
            sent = 0;
            second = Instant::now();
        }
    }
    Ok(())
}
