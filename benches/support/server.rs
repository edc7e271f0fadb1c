//! The benchmark server: HTTP/1.1 keep-alive on 127.0.0.1, a thread per
//! connection, pre-built bodies, so that it is never the bottleneck.
//!
//! Routes: `GET /conversation/conversations/{uuid}`, `GET
//! /conversation/conversations?_limit&_offset` (total records from the
//! `x-bench-total` header, default 20,000), `/__stats` (requests and the
//! most in flight at once, as JSON) and `/__reset`. The `x-bench-delay-ms`
//! header makes an answer wait.

use std::{
    io::{BufRead, BufReader, Write},
    net::{TcpListener, TcpStream},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use super::fixtures::{self, Summaries};

struct Shared {
    conversation: Vec<u8>,
    conversation_envelope: Vec<u8>,
    summaries: Summaries,
    requests: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// Serves until the process ends; prints `listening http://…` first.
pub fn serve() -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    println!("listening http://{}", listener.local_addr()?);
    let shared = Arc::new(Shared {
        conversation: fixtures::conversation(),
        conversation_envelope: fixtures::conversation_envelope(),
        summaries: Summaries::new(),
        requests: AtomicUsize::new(0),
        in_flight: AtomicUsize::new(0),
        max_in_flight: AtomicUsize::new(0),
    });
    for stream in listener.incoming() {
        let stream = stream?;
        let shared = shared.clone();
        std::thread::spawn(move || {
            let _ = handle(stream, &shared);
        });
    }
    Ok(())
}

fn handle(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let (mut total, mut delay_ms) = (20_000usize, 0u64);
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "x-bench-total" => total = value.trim().parse().unwrap_or(total),
                    "x-bench-delay-ms" => delay_ms = value.trim().parse().unwrap_or(0),
                    _ => {}
                }
            }
        }
        shared.requests.fetch_add(1, Ordering::SeqCst);
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let body = answer(shared, &target, total);
        if delay_ms > 0 {
            std::thread::sleep(Duration::from_millis(delay_ms));
        }
        // Done before the answer leaves: a client waiting for it cannot
        // have another request counted as overlapping.
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        let mut out = Vec::with_capacity(head.len() + body.len());
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(&body);
        writer.write_all(&out)?;
    }
}

fn answer(shared: &Shared, target: &str, total: usize) -> Vec<u8> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse::<usize>().ok())
    };
    match path {
        "/__stats" => format!(
            "{{\"requests\":{},\"max_in_flight\":{}}}",
            shared.requests.load(Ordering::SeqCst),
            shared.max_in_flight.load(Ordering::SeqCst)
        )
        .into_bytes(),
        "/__reset" => {
            shared.requests.store(0, Ordering::SeqCst);
            shared.max_in_flight.store(0, Ordering::SeqCst);
            b"{}".to_vec()
        }
        "/conversation/conversations" => shared.summaries.page(
            param("_offset").unwrap_or(0),
            param("_limit").unwrap_or(100),
            total,
        ),
        path if path.ends_with("/enveloped") => shared.conversation_envelope.clone(),
        _ => shared.conversation.clone(),
    }
}
