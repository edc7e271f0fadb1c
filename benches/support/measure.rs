//! Client-side measurements, one scenario per process so that peak memory
//! belongs to that scenario alone.

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use ultracart_conversation::{Client, types};

use super::fixtures::PAGE_SIZE;

const KEY: &str = "bench-key";

/// Who fetches the pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lister {
    /// The facade's stream.
    Facade,
    /// A loop over the generated client, one page after another.
    RawLoop,
    /// One keep-alive connection fetching the bytes, decoding nothing.
    Floor,
}

impl Lister {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "facade" => Some(Self::Facade),
            "raw-loop" => Some(Self::RawLoop),
            "floor" => Some(Self::Floor),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Listing {
    pub lister: Lister,
    pub total: usize,
    /// Pages fetched ahead; `None` leaves the listing's default.
    pub prefetch: Option<usize>,
    pub gate: usize,
    pub consumer_ms: u64,
    pub server_ms: u64,
}

#[derive(Serialize, Deserialize)]
pub struct ListingResult {
    pub items: usize,
    pub seconds: f64,
    pub peak_rss_kib: u64,
    pub requests: usize,
    pub max_in_flight: usize,
}

fn http(total: usize, server_ms: u64) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-bench-total", total.into());
    headers.insert("x-bench-delay-ms", server_ms.into());
    reqwest::Client::builder()
        .default_headers(headers)
        .tcp_nodelay(true)
        .build()
        .expect("a plain client builds")
}

fn client(base: &str, total: usize, server_ms: u64, gate: usize) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(base)
        .max_in_flight(gate)
        .reqwest_client(http(total, server_ms))
        .build()
        .expect("the bench client builds")
}

/// Times one listing; building the clients (which loads the system's root
/// certificates) happens before the clock starts, as it would once per
/// process in a service.
pub async fn listing(
    base: &str,
    plan: Listing,
) -> Result<ListingResult, Box<dyn std::error::Error + Send + Sync>> {
    reset(base).await?;
    let facade_client = client(base, plan.total, plan.server_ms, plan.gate);
    let bare = http(plan.total, plan.server_ms);
    let started = Instant::now();
    let items = match plan.lister {
        Lister::Facade => facade(&facade_client, plan).await?,
        Lister::RawLoop => raw_loop(&facade_client).await?,
        Lister::Floor => floor(&bare, base, plan).await?,
    };
    let seconds = started.elapsed().as_secs_f64();
    let (requests, max_in_flight) = stats(base).await?;
    Ok(ListingResult {
        items,
        seconds,
        peak_rss_kib: peak_rss_kib(),
        requests,
        max_in_flight,
    })
}

async fn facade(client: &Client, plan: Listing) -> Result<usize, ultracart_conversation::Error> {
    let pager = client.conversations();
    let pager = match plan.prefetch {
        Some(pages) => pager.prefetch(pages),
        None => pager,
    };
    let mut pages = pager.pages();
    let mut items = 0;
    while let Some(page) = pages.try_next().await? {
        items += page.len();
        if plan.consumer_ms > 0 {
            tokio::time::sleep(Duration::from_millis(plan.consumer_ms)).await;
        }
    }
    Ok(items)
}

async fn raw_loop(client: &Client) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let (mut items, mut offset) = (0, 0i32);
    loop {
        let page = client
            .raw()
            .get_conversations()
            .limit(PAGE_SIZE as i32)
            .offset(offset)
            .send()
            .await?;
        let page = page.into_inner();
        items += page.conversations.map_or(0, |c| c.len());
        let result_set = page.metadata.and_then(|m| m.result_set).unwrap_or_default();
        match (result_set.more, result_set.next_offset) {
            (Some(true), Some(next)) if next > offset => offset = next,
            _ => return Ok(items),
        }
    }
}

async fn floor(http: &reqwest::Client, base: &str, plan: Listing) -> Result<usize, reqwest::Error> {
    let mut bytes = 0;
    for offset in (0..plan.total).step_by(PAGE_SIZE) {
        let url = format!("{base}/conversation/conversations?_limit={PAGE_SIZE}&_offset={offset}");
        bytes += http
            .get(url)
            .header("x-ultracart-simple-key", KEY)
            .send()
            .await?
            .bytes()
            .await?
            .len();
    }
    std::hint::black_box(bytes);
    Ok(plan.total)
}

async fn reset(base: &str) -> Result<(), reqwest::Error> {
    reqwest::get(format!("{base}/__reset"))
        .await?
        .bytes()
        .await
        .map(drop)
}

async fn stats(base: &str) -> Result<(usize, usize), Box<dyn std::error::Error + Send + Sync>> {
    let value: serde_json::Value = reqwest::get(format!("{base}/__stats"))
        .await?
        .json()
        .await?;
    let number = |name: &str| value[name].as_u64().unwrap_or(0) as usize;
    // The stats request counts itself.
    Ok((
        number("requests").saturating_sub(1),
        number("max_in_flight"),
    ))
}

/// This process's peak resident memory (Linux `VmHWM`), in KiB.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix("VmHWM:")?
                    .trim()
                    .strip_suffix("kB")?
                    .trim()
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(0)
}

#[derive(Serialize, Deserialize)]
pub struct OverheadResult {
    pub operation: String,
    pub facade_rps: f64,
    pub bare_rps: f64,
    /// Median over rounds of facade/bare within the same round.
    pub ratio: f64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Conversation,
    /// The conversation in UltraCart's envelope, as the live service sends it.
    EnvelopedConversation,
    Page,
}

/// The envelope, for the bare side: what a hand-rolled client would decode.
#[derive(serde::Deserialize)]
struct ConversationEnvelope {
    conversation: Option<types::Conversation>,
    success: Option<bool>,
}

/// Requests per second through the facade and through bare reqwest +
/// serde_json into the same models, in alternating batches in one process
/// (the order flips every round, so neither side always goes first): the
/// median batch of each, and the median of the paired ratios, which drift
/// in the machine's speed hits alike. `BENCH_ONLY=facade` or `bare` runs one
/// side, for profiling it alone.
pub async fn overhead(
    base: &str,
    rounds: usize,
    batch: usize,
) -> Result<Vec<OverheadResult>, Box<dyn std::error::Error + Send + Sync>> {
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let facade = client(base, PAGE_SIZE, 0, 1);
    let bare = http(PAGE_SIZE, 0);
    let mut results = Vec::new();
    for (call, operation) in [
        (Call::Conversation, "get_conversation"),
        (Call::EnvelopedConversation, "get_conversation, enveloped"),
        (Call::Page, "get_conversations (200)"),
    ] {
        let (mut facade_rates, mut bare_rates) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            for side in if round % 2 == 0 {
                ["facade", "bare"]
            } else {
                ["bare", "facade"]
            } {
                if !only.is_empty() && only != side {
                    continue;
                }
                let started = Instant::now();
                for _ in 0..batch {
                    if side == "facade" {
                        facade_call(&facade, call).await?;
                    } else {
                        bare_call(&bare, base, call).await?;
                    }
                }
                let rate = batch as f64 / started.elapsed().as_secs_f64();
                if side == "facade" {
                    facade_rates.push(rate)
                } else {
                    bare_rates.push(rate)
                }
            }
        }
        let ratios = facade_rates
            .iter()
            .zip(&bare_rates)
            .map(|(f, b)| f / b)
            .collect();
        results.push(OverheadResult {
            operation: operation.to_string(),
            facade_rps: median(facade_rates),
            bare_rps: median(bare_rates),
            ratio: median(ratios),
        });
    }
    Ok(results)
}

async fn facade_call(client: &Client, call: Call) -> Result<(), ultracart_conversation::Error> {
    match call {
        Call::Conversation => drop(std::hint::black_box(
            client.get_conversation("7f1c2d9e").await?,
        )),
        Call::EnvelopedConversation => drop(std::hint::black_box(
            client.get_conversation("enveloped").await?,
        )),
        Call::Page => drop(std::hint::black_box(
            client.get_conversations(PAGE_SIZE as u32, 0).await?,
        )),
    }
    Ok(())
}

async fn bare_call(
    http: &reqwest::Client,
    base: &str,
    call: Call,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let url = match call {
        Call::Conversation => format!("{base}/conversation/conversations/7f1c2d9e"),
        Call::EnvelopedConversation => format!("{base}/conversation/conversations/enveloped"),
        Call::Page => format!("{base}/conversation/conversations?_limit={PAGE_SIZE}&_offset=0"),
    };
    let bytes = http
        .get(url)
        .header("x-ultracart-simple-key", KEY)
        .header("x-ultracart-api-version", "2017-03-01")
        .header("accept", "application/json")
        // As the facade does: a production call has a timeout.
        .timeout(Duration::from_secs(30))
        .send()
        .await?
        .bytes()
        .await?;
    match call {
        Call::Conversation => drop(std::hint::black_box(serde_json::from_slice::<
            types::Conversation,
        >(&bytes)?)),
        Call::EnvelopedConversation => {
            let envelope: ConversationEnvelope = serde_json::from_slice(&bytes)?;
            drop(std::hint::black_box((
                envelope.conversation,
                envelope.success,
            )));
        }
        Call::Page => drop(std::hint::black_box(serde_json::from_slice::<
            types::ConversationsResponse,
        >(&bytes)?)),
    }
    Ok(())
}

pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}
