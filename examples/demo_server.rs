//! The demo server on its own, for tools that test an HTTP API from
//! outside (such as schemathesis in `.ci/run`), or to point any client at.
//!
//! ```text
//! cargo run --example demo_server --features mock
//! cargo run --example demo_server --features mock -- --api-key my-test-key
//! ```
//!
//! It prints `listening on http://127.0.0.1:PORT` (a free port) once it
//! answers, and serves until it is killed. `--api-key KEY` makes it refuse
//! every credential but that simple key with 401, as UltraCart refuses a
//! wrong key; without it any non-empty key or bearer token is accepted.

use std::{io::Write, process::ExitCode};

use ultracart_conversation::mock::DemoServer;

#[tokio::main]
async fn main() -> ExitCode {
    let mut api_key = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--api-key", Some(value)) => api_key = Some(value),
            _ => return usage(&format!("unexpected argument {arg}")),
        }
    }
    let mut builder = DemoServer::builder();
    if let Some(key) = api_key {
        builder = builder.accept_only_api_key(key);
    }
    let demo = builder.start().await;
    println!("listening on {}", demo.base_url());
    // Whoever waits for that line reads it now, not when the buffer fills.
    let _ = std::io::stdout().flush();
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("error: {problem}\nusage: demo_server [--api-key KEY]");
    ExitCode::FAILURE
}
