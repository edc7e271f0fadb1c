//! Throughput and memory of the client against a local server that is never
//! the bottleneck. Prints figures; asserts nothing (see BENCHMARKS.md).
//!
//! `cargo bench --bench throughput` runs every scenario, each listing in a
//! fresh process so that its peak memory is its own. The same binary serves
//! (`serve`) and runs single scenarios (`listing …`, `overhead URL`).

mod support;

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, ExitCode, Stdio},
    time::Instant,
};

use support::measure::{self, Lister, Listing, ListingResult, OverheadResult};

fn main() -> ExitCode {
    // `cargo bench` passes `--bench` to harness-less targets.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let outcome = match args.first().map(String::as_str) {
        Some("serve") => support::server::serve().map_err(|e| e.to_string()),
        Some("listing") => child_listing(&args[1..]),
        Some("overhead") => child_overhead(&args[1..]),
        Some("new-user") => child_new_user(&args[1..]),
        Some("side-by-side") => side_by_side(&args[1..]),
        None => run_all(),
        Some(other) => Err(format!(
            "unknown command `{other}`: use serve, listing, overhead, new-user or side-by-side"
        )),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// `listing LISTER TOTAL PREFETCH|default GATE CONSUMER_MS SERVER_MS BASE_URL`
fn child_listing(args: &[String]) -> Result<(), String> {
    let number = |i: usize| -> Result<usize, String> {
        args.get(i)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("argument {i} must be a number"))
    };
    let lister = args
        .first()
        .and_then(|n| Lister::parse(n))
        .ok_or("unknown lister")?;
    let plan = Listing {
        lister,
        total: number(1)?,
        prefetch: match args.get(2).map(String::as_str) {
            Some("default") => None,
            _ => Some(number(2)?),
        },
        gate: number(3)?,
        consumer_ms: number(4)? as u64,
        server_ms: number(5)? as u64,
    };
    let base = args.get(6).ok_or("missing base URL")?.clone();
    // Inside a task, as a service's code runs, not on the thread that
    // blocks on the runtime (which adds a thread hop to every wake-up).
    let result = runtime()?
        .block_on(
            async move { tokio::spawn(async move { measure::listing(&base, plan).await }).await },
        )
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string(&result).map_err(|e| e.to_string())?
    );
    Ok(())
}

fn child_overhead(args: &[String]) -> Result<(), String> {
    let base = args.first().ok_or("missing base URL")?;
    let rounds = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(41);
    let batch = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(200);
    // One thread: the comparison is of per-request work, not of how two
    // cores happen to be scheduled.
    let single = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let results = single
        .block_on(measure::overhead(base, rounds, batch))
        .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string(&results).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// `new-user BASE_URL [collect|stream]`: the default client lists
/// everything, collecting it (the default) or handling each item as it
/// streams; prints the count.
fn child_new_user(args: &[String]) -> Result<(), String> {
    let base = args.first().ok_or("missing base URL")?;
    let keep = match args.get(1) {
        Some(name) => support::side_by_side::Keep::parse(name).ok_or("use collect or stream")?,
        None => support::side_by_side::Keep::All,
    };
    println!("{}", support::side_by_side::new_user(base, keep)?);
    Ok(())
}

/// `side-by-side [BASE_URL] [ROUNDS]`: whole processes against a server of
/// 20,000 conversations, this benchmark's own unless a URL is given.
fn side_by_side(args: &[String]) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let rounds = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(5);
    let own;
    let base = match args.first().filter(|a| !a.is_empty()) {
        Some(base) => base.clone(),
        None => {
            own = start_server(&exe)?;
            own.base.clone()
        }
    };
    println!("## Whole processes, 20,000 conversations, {base}\n");
    support::side_by_side::run(&exe, &base, 20_000, rounds)
}

/// The server child, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(exe: &std::path::Path) -> Result<Server, String> {
    let mut child = Command::new(exe)
        .arg("serve")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no server stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let base = line
        .trim()
        .strip_prefix("listening ")
        .ok_or("the server did not start")?
        .to_string();
    Ok(Server { child, base })
}

fn run_child(exe: &std::path::Path, args: &[String]) -> Result<String, String> {
    let output = Command::new(exe)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).to_string());
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Runs a listing `reps` times in fresh processes: the median time, the
/// largest peak memory, and the server's counts from the last run.
fn listing(
    exe: &std::path::Path,
    base: &str,
    plan: Listing,
    reps: usize,
) -> Result<ListingResult, String> {
    let name = match plan.lister {
        Lister::Facade => "facade",
        Lister::RawLoop => "raw-loop",
        Lister::Floor => "floor",
    };
    let mut runs = Vec::new();
    for _ in 0..reps {
        let args: Vec<String> = vec![
            "listing".into(),
            name.into(),
            plan.total.to_string(),
            plan.prefetch
                .map_or_else(|| "default".to_string(), |p| p.to_string()),
            plan.gate.to_string(),
            plan.consumer_ms.to_string(),
            plan.server_ms.to_string(),
            base.to_string(),
        ];
        let line = run_child(exe, &args)?;
        runs.push(serde_json::from_str::<ListingResult>(&line).map_err(|e| e.to_string())?);
    }
    let peak_rss_kib = runs.iter().map(|r| r.peak_rss_kib).max().unwrap_or(0);
    let seconds = measure::median(runs.iter().map(|r| r.seconds).collect());
    let last = runs.pop().ok_or("no run")?;
    Ok(ListingResult {
        seconds,
        peak_rss_kib,
        ..last
    })
}

fn curl_floor(base: &str, total: usize) -> Option<f64> {
    let mut config = format!("header = \"x-bench-total: {total}\"\nsilent\n");
    for offset in (0..total).step_by(200) {
        config.push_str(&format!(
            "url = \"{base}/conversation/conversations?_limit=200&_offset={offset}\"\noutput = \"/dev/null\"\n"
        ));
    }
    let path = std::env::temp_dir().join(format!("bench-curl-{}.cfg", std::process::id()));
    std::fs::write(&path, config).ok()?;
    let started = Instant::now();
    let status = Command::new("curl").arg("-K").arg(&path).status().ok()?;
    let seconds = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&path);
    status.success().then_some(seconds)
}

fn python_sdk(base: &str, total: usize) -> Option<f64> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/python_sdk_listing.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(base)
        .arg(total.to_string())
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!(
            "python SDK run failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    value["seconds"].as_f64()
}

fn plan(lister: Lister, total: usize, prefetch: Option<usize>, gate: usize) -> Listing {
    Listing {
        lister,
        total,
        prefetch,
        gate,
        consumer_ms: 0,
        server_ms: 0,
    }
}

fn row(label: &str, result: &ListingResult, floor: f64) {
    println!(
        "| {label} | {} | {:.3} | {:.0} | {:.2}x | {:.1} | {} | {} |",
        result.items,
        result.seconds,
        result.items as f64 / result.seconds,
        result.seconds / floor,
        result.peak_rss_kib as f64 / 1024.0,
        result.requests,
        result.max_in_flight
    );
}

fn run_all() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let server = start_server(&exe)?;
    let base = server.base.clone();
    let reps = 3;
    println!(
        "machine: {} cores; server {base}\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    println!(
        "## 1. Overhead against bare reqwest + serde_json (41 alternating rounds of 200 calls, one thread)\n"
    );
    println!("| operation | facade req/s | bare req/s | facade/bare |\n|---|---|---|---|");
    let overhead: Vec<OverheadResult> =
        serde_json::from_str(&run_child(&exe, &["overhead".into(), base.clone()])?)
            .map_err(|e| e.to_string())?;
    for r in &overhead {
        println!(
            "| {} | {:.0} | {:.0} | {:.3} |",
            r.operation, r.facade_rps, r.bare_rps, r.ratio
        );
    }

    println!("\n## 2. Listing (pages of 200; median of {reps} runs, each in a fresh process)\n");
    println!(
        "| scenario | items | seconds | items/s | vs floor | peak RSS MiB | requests | max in flight |\n|---|---|---|---|---|---|---|---|"
    );
    for total in [20_000, 200_000] {
        let floor = listing(&exe, &base, plan(Lister::Floor, total, Some(0), 1), reps)?;
        if let Some(curl) = curl_floor(&base, total) {
            println!(
                "| {total}: floor, one curl process | {total} | {curl:.3} | {:.0} | {:.2}x | - | - | - |",
                total as f64 / curl,
                curl / floor.seconds
            );
        }
        row(
            &format!("{total}: floor, reqwest bytes only"),
            &floor,
            floor.seconds,
        );
        row(
            &format!("{total}: generated client, bare loop"),
            &listing(&exe, &base, plan(Lister::RawLoop, total, Some(0), 1), reps)?,
            floor.seconds,
        );
        row(
            &format!("{total}: facade, prefetch 0"),
            &listing(&exe, &base, plan(Lister::Facade, total, Some(0), 1), reps)?,
            floor.seconds,
        );
        row(
            &format!("{total}: facade, default (1 to 3 ahead, gate 1)"),
            &listing(&exe, &base, plan(Lister::Facade, total, None, 1), reps)?,
            floor.seconds,
        );
        row(
            &format!("{total}: facade, prefetch 4, gate 4"),
            &listing(&exe, &base, plan(Lister::Facade, total, Some(4), 4), reps)?,
            floor.seconds,
        );
    }

    println!("\n## 3. Caller spends 5 ms per page, server adds 5 ms per page (8,000 items)\n");
    println!(
        "| scenario | items | seconds | items/s | vs prefetch 0 | peak RSS MiB | requests | max in flight |\n|---|---|---|---|---|---|---|---|"
    );
    let slow = |prefetch| Listing {
        consumer_ms: 5,
        server_ms: 5,
        ..plan(Lister::Facade, 8_000, Some(prefetch), 1)
    };
    let sequential = listing(&exe, &base, slow(0), reps)?;
    row("prefetch 0", &sequential, sequential.seconds);
    let overlapped = listing(&exe, &base, slow(1), reps)?;
    row("prefetch 1", &overlapped, sequential.seconds);
    println!(
        "\nprefetch 1 is {:.2}x faster than prefetch 0",
        sequential.seconds / overlapped.seconds
    );

    println!("\n## 4. Against UltraCart's Python SDK (20,000 items, both sequential)\n");
    match python_sdk(&base, 20_000) {
        Some(python) => {
            let sequential = listing(&exe, &base, plan(Lister::Facade, 20_000, Some(0), 1), reps)?;
            let default = listing(&exe, &base, plan(Lister::Facade, 20_000, None, 1), reps)?;
            println!(
                "| client | seconds | items/s | vs Python | max in flight |\n|---|---|---|---|---|"
            );
            println!(
                "| ultracart-rest-sdk 4.1.208 (Python {}) | {python:.3} | {:.0} | 1.0x | 1 |",
                python_version(),
                20_000.0 / python
            );
            for (label, ours) in [
                ("this crate, prefetch 0", &sequential),
                ("this crate, default (1 to 3 ahead, gate 1)", &default),
            ] {
                println!(
                    "| {label} | {:.3} | {:.0} | {:.1}x | {} |",
                    ours.seconds,
                    20_000.0 / ours.seconds,
                    python / ours.seconds,
                    ours.max_in_flight
                );
            }
        }
        None => println!("skipped: `pip install ultracart-rest-sdk==4.1.208` to include it"),
    }
    Ok(())
}

fn python_version() -> String {
    Command::new("python3")
        .arg("-c")
        .arg("import platform; print(platform.python_version())")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
