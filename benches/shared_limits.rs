//! What sharing the limits through Redis costs a request: Redis round trips
//! and microseconds, against the same calls with this process's own limits.
//!
//! ```text
//! cargo bench --bench shared_limits --features mock,redis
//! ```
//!
//! Starts its own `redis-server` on a free port and the demo server, then
//! sends the same sequential `getConversations` calls through a client with
//! per-process limits and through one with shared limits, alternating
//! rounds, and prints medians.

#[allow(dead_code)]
#[path = "../tests/common/redis_server.rs"]
mod redis_server;

use std::time::{Duration, Instant};

use redis_server::RedisServer;
use ultracart_conversation::{Client, RateLimit, SharedLimits, mock::DemoServer};

const CALLS: u32 = 1_000;
const ROUNDS: usize = 5;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let redis = RedisServer::start();
    let demo = DemoServer::start().await;
    let client = |shared: bool, told: bool| {
        let mut builder = Client::builder()
            .api_key(DemoServer::API_KEY)
            .base_url(demo.base_url());
        if told {
            // Wide enough never to wait: only the bookkeeping is measured.
            builder = builder.rate_limit(RateLimit::per_second(1_000_000).unwrap());
        }
        if shared {
            builder = builder.shared_limits(SharedLimits::redis(&redis.url()).unwrap());
        }
        builder.build().unwrap()
    };
    for told in [false, true] {
        let (local, shared) = (client(false, told), client(true, told));
        let mut local_times = Vec::new();
        let mut shared_times = Vec::new();
        let mut round_trips = Vec::new();
        for _ in 0..ROUNDS {
            local_times.push(time(&local).await);
            let before = script_calls(&redis);
            shared_times.push(time(&shared).await);
            round_trips.push((script_calls(&redis) - before) as f64 / f64::from(CALLS));
        }
        let (local, shared) = (median(local_times), median(shared_times));
        let per_call = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(CALLS);
        println!(
            "{} rate limit: per-process {:.1} µs/call, shared {:.1} µs/call: +{:.1} µs and {:.2} Redis round trips a request, {:.1} µs of them inside Redis (medians of {ROUNDS} rounds of {CALLS})",
            if told { "told a" } else { "no" },
            per_call(local),
            per_call(shared),
            per_call(shared) - per_call(local),
            round_trips.iter().copied().fold(f64::NAN, f64::min),
            script_micros(&redis),
        );
        redis.cli(&["CONFIG", "RESETSTAT"]);
    }
}

async fn time(client: &Client) -> Duration {
    let started = Instant::now();
    for _ in 0..CALLS {
        client.get_conversations(10, 0).await.unwrap();
    }
    started.elapsed()
}

/// Scripts Redis has run, all kinds together: each is one round trip.
fn script_calls(redis: &RedisServer) -> u64 {
    redis
        .cli(&["INFO", "commandstats"])
        .lines()
        .filter(|line| line.starts_with("cmdstat_evalsha:") || line.starts_with("cmdstat_eval:"))
        .filter_map(|line| {
            line.split("calls=")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// Microseconds Redis spent in a script call, on average.
fn script_micros(redis: &RedisServer) -> f64 {
    redis
        .cli(&["INFO", "commandstats"])
        .lines()
        .find(|line| line.starts_with("cmdstat_evalsha:"))
        .and_then(|line| {
            line.split("usec_per_call=")
                .nth(1)?
                .split(',')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(f64::NAN)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}
