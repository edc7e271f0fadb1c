//! Whole processes, side by side: a listing as a new user writes it, one
//! curl process fetching the same pages without decoding them, and
//! UltraCart's Python SDK, each started fresh, in alternating order, so
//! that start-up counts and the machine's drift hits all three alike.

use std::{
    process::{Command, Stdio},
    time::Instant,
};

use futures::TryStreamExt;
use ultracart_conversation::Client;

use super::{fixtures::PAGE_SIZE, measure::median};

/// What the new user does with the conversations.
#[derive(Clone, Copy)]
pub enum Keep {
    /// Collects every summary into one `Vec`, then drops it.
    All,
    /// Handles each summary as it arrives (here, counts it), as a service
    /// working through its inbox does: nothing is held.
    None,
}

impl Keep {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "collect" => Some(Self::All),
            "stream" => Some(Self::None),
            _ => None,
        }
    }
}

/// The child: what a new user writes to list every conversation, from the
/// runtime's start to the last item, with the default client.
pub fn new_user(base: &str, keep: Keep) -> Result<usize, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client = Client::builder()
            .api_key("bench-key")
            .base_url(base)
            .build()
            .map_err(|e| e.to_string())?;
        let items = client.conversations().items();
        match keep {
            Keep::All => {
                let all: Vec<_> = items.try_collect().await.map_err(|e| e.to_string())?;
                Ok(all.len())
            }
            Keep::None => items
                .try_fold(0, |n, _| async move { Ok(n + 1) })
                .await
                .map_err(|e| e.to_string()),
        }
    })
}

/// One contestant and its times.
struct Contestant {
    label: String,
    command: Command,
    /// Whole processes.
    times: Vec<f64>,
    /// What the process reported of its own listing loop, if anything (the
    /// Python script times its loop alone, without the interpreter's start
    /// and the SDK's imports).
    loop_times: Vec<f64>,
}

/// Runs the three side by side `rounds` times against `base` (which must
/// serve `total` conversations) and prints their medians.
pub fn run(exe: &std::path::Path, base: &str, total: usize, rounds: usize) -> Result<(), String> {
    let curl_config = curl_config(base, total)?;
    let mut ours = Command::new(exe);
    ours.args(["new-user", base, "collect"]);
    let mut streaming = Command::new(exe);
    streaming.args(["new-user", base, "stream"]);
    let mut curl = Command::new("curl");
    curl.arg("-K").arg(&curl_config);
    let mut python = Command::new("python3");
    python
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/benches/python_sdk_listing.py"
        ))
        .args([base, &total.to_string()]);
    let mut contestants = vec![
        Contestant::new("curl, one process, no decoding", curl),
        Contestant::new("this crate, default client, `items()` collected", ours),
        Contestant::new("the same, each item handled as it streams", streaming),
    ];
    // Another build of this benchmark (an earlier commit's crate with
    // today's harness), to compare before and after in the same run.
    if let Some(before) = std::env::var_os("BENCH_BEFORE") {
        for (how, label) in [
            ("collect", "`items()` collected, built from BENCH_BEFORE"),
            ("stream", "handled as they stream, built from BENCH_BEFORE"),
        ] {
            let mut earlier = Command::new(&before);
            earlier.args(["new-user", base, how]);
            contestants.push(Contestant::new(label, earlier));
        }
    }
    if python_sdk_installed() {
        contestants.push(Contestant::new("ultracart-rest-sdk 4.1.208", python));
    }
    for round in 0..rounds {
        // Each round starts with the next contestant.
        for i in 0..contestants.len() {
            let n = contestants.len();
            contestants[(round + i) % n].time_once()?;
        }
    }
    let _ = std::fs::remove_file(&curl_config);
    let floor = median(contestants[0].times.clone());
    let ours = median(contestants[1].times.clone());
    println!(
        "| client | median of {rounds} (s) | runs (s) | vs curl | vs this crate |\n|---|---|---|---|---|"
    );
    for contestant in &contestants {
        row(&contestant.label, &contestant.times, floor, ours);
        if !contestant.loop_times.is_empty() {
            let label = format!("{}, its listing loop alone", contestant.label);
            row(&label, &contestant.loop_times, floor, ours);
        }
    }
    Ok(())
}

fn row(label: &str, times: &[f64], floor: f64, ours: f64) {
    let seconds = median(times.to_vec());
    let runs: Vec<String> = times.iter().map(|t| format!("{t:.4}")).collect();
    println!(
        "| {label} | {seconds:.4} | {} | {:.2}x | {:.1}x |",
        runs.join(" "),
        seconds / floor,
        seconds / ours,
    );
}

impl Contestant {
    fn new(label: &str, mut command: Command) -> Self {
        command.stdout(Stdio::piped()).stderr(Stdio::inherit());
        Self {
            label: label.to_string(),
            command,
            times: Vec::new(),
            loop_times: Vec::new(),
        }
    }

    fn time_once(&mut self) -> Result<(), String> {
        let started = Instant::now();
        let output = self.command.output().map_err(|e| e.to_string())?;
        let seconds = started.elapsed().as_secs_f64();
        if !output.status.success() {
            return Err(format!("{} failed: {}", self.label, output.status));
        }
        self.times.push(seconds);
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&output.stdout)
            && let Some(seconds) = value["seconds"].as_f64()
        {
            self.loop_times.push(seconds);
        }
        Ok(())
    }
}

/// A curl config that fetches every page once over one keep-alive
/// connection (the listing makes one request more: the read at the top).
fn curl_config(base: &str, total: usize) -> Result<std::path::PathBuf, String> {
    let mut config = String::from("silent\nfail\n");
    for offset in (0..total).step_by(PAGE_SIZE) {
        config.push_str(&format!(
            "url = \"{base}/conversation/conversations?_limit={PAGE_SIZE}&_offset={offset}\"\noutput = \"/dev/null\"\n"
        ));
    }
    let path = std::env::temp_dir().join(format!("bench-side-{}.cfg", std::process::id()));
    std::fs::write(&path, config).map_err(|e| e.to_string())?;
    Ok(path)
}

fn python_sdk_installed() -> bool {
    Command::new("python3")
        .args(["-c", "import ultracart"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
