//! A tiny keep-alive HTTP/1.1 server whose answers a closure decides, and
//! which counts what httpmock cannot: requests in flight at once, and
//! requests whose client hung up before the answer.
//!
//! As UltraCart does, it goes on working on a request whose client hung up:
//! the request stays in flight until its delay is over, so a client that
//! sends the next one before then overlaps it, and the counts show it.
//! Tests wait on what the server saw ([`ScriptedServer::until_received`],
//! [`ScriptedServer::until_done`]), never on a guess of how long it takes.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use serde::Serialize;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use super::Page;

/// What the server received.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When the whole request had arrived.
    pub at: Instant,
    /// Its place in arrival order, from 0.
    pub index: usize,
    /// When the server's work on it ended (its delay was over, whether or
    /// not the client was still there); `None` while it is in flight.
    pub done: Option<Instant>,
}

impl Received {
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter read as a number.
    pub fn query_number(&self, name: &str) -> Option<usize> {
        self.query(name)?.parse().ok()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How to answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delay: Duration,
}

impl Reply {
    /// `body` as JSON: a model, or a `serde_json::Value` for a body no
    /// model can express.
    pub fn json(status: u16, body: &impl Serialize) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(body).unwrap(),
            delay: Duration::ZERO,
        }
    }

    pub fn text(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Handler = dyn Fn(&Received, usize) -> Reply + Send + Sync;

#[derive(Default)]
struct Stats {
    requests: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    abandoned: AtomicUsize,
    done: AtomicUsize,
    /// In arrival order: `log[i].index == i`.
    log: Mutex<Vec<Received>>,
    /// Woken whenever a count changes.
    changed: tokio::sync::Notify,
}

/// How long a test waits for the server to see something before it fails.
const PATIENCE: Duration = Duration::from_secs(20);

pub struct ScriptedServer {
    addr: SocketAddr,
    stats: Arc<Stats>,
}

impl ScriptedServer {
    /// Starts a server; `handler` gets each request and its zero-based index.
    pub async fn start(
        handler: impl Fn(&Received, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(Stats::default());
        let handler: Arc<Handler> = Arc::new(handler);
        let server_stats = stats.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, handler.clone(), server_stats.clone()));
            }
        });
        Self { addr, stats }
    }

    /// A server that gives every request the same answer.
    pub async fn always(reply: Reply) -> Self {
        Self::start(move |_, _| reply.clone()).await
    }

    /// A server that answers the first `failures` requests with `failure`
    /// and every later one with `success`.
    pub async fn recovering(failures: usize, failure: Reply, success: Reply) -> Self {
        Self::start(move |_, n| {
            if n < failures {
                failure.clone()
            } else {
                success.clone()
            }
        })
        .await
    }

    /// A server that redirects every request to `location`.
    pub async fn redirecting(status: u16, location: &str) -> Self {
        Self::always(Reply::text(status, "moved").header("location", location)).await
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The same server reached under another host name (`localhost`
    /// instead of 127.0.0.1): for what must never be sent to another host.
    pub fn other_host_url(&self) -> String {
        self.base_url().replace("127.0.0.1", "localhost")
    }

    pub fn requests(&self) -> usize {
        self.stats.requests.load(Ordering::SeqCst)
    }

    /// The most requests the server was working on at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.stats.max_in_flight.load(Ordering::SeqCst)
    }

    /// Requests whose client closed the connection before the answer
    /// (counted when the server notices, though the request stays in
    /// flight until its delay is over).
    pub fn abandoned(&self) -> usize {
        self.stats.abandoned.load(Ordering::SeqCst)
    }

    /// Requests the server is working on now.
    pub fn in_flight(&self) -> usize {
        self.stats.in_flight.load(Ordering::SeqCst)
    }

    /// Requests whose work is over.
    pub fn done(&self) -> usize {
        self.stats.done.load(Ordering::SeqCst)
    }

    pub fn log(&self) -> Vec<Received> {
        self.stats.log.lock().unwrap().clone()
    }

    /// How many listing requests (those with a `_limit`) it has received.
    pub fn listing_requests(&self) -> usize {
        self.stats
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.query("_limit").is_some())
            .count()
    }

    /// Waits until the server has received `n` requests in all; fails the
    /// test if that takes longer than 20 s.
    pub async fn until_received(&self, n: usize) {
        self.until(|| self.requests() >= n, &format!("{n} requests received"))
            .await;
    }

    /// Waits until the server's work on `n` requests in all is over.
    pub async fn until_done(&self, n: usize) {
        self.until(|| self.done() >= n, &format!("{n} requests done"))
            .await;
    }

    /// Waits until `n` clients in all have hung up mid-request.
    pub async fn until_abandoned(&self, n: usize) {
        self.until(|| self.abandoned() >= n, &format!("{n} requests abandoned"))
            .await;
    }

    /// [`until_received`](Self::until_received) for a thread outside the
    /// server's runtime (the multi-process tests).
    pub fn block_until_received(&self, n: usize) {
        let deadline = Instant::now() + PATIENCE;
        while self.requests() < n {
            assert!(
                Instant::now() < deadline,
                "the server received {} requests, not {n}, within {PATIENCE:?}",
                self.requests()
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    async fn until(&self, reached: impl Fn() -> bool, what: &str) {
        let wait = async {
            loop {
                // Made before the check, so a change in between still wakes it.
                let changed = self.stats.changed.notified();
                if reached() {
                    return;
                }
                changed.await;
            }
        };
        if tokio::time::timeout(PATIENCE, wait).await.is_err() {
            panic!(
                "waited {PATIENCE:?} for {what}: {} received, {} done, {} abandoned",
                self.requests(),
                self.done(),
                self.abandoned()
            );
        }
    }

    /// Fails the test unless each request arrived no sooner than the
    /// server's work on the one before it ended: never two in flight, told
    /// by the server's own record of when each started and ended.
    pub fn assert_one_at_a_time(&self) {
        let log = self.log();
        for pair in log.windows(2) {
            let (before, after) = (&pair[0], &pair[1]);
            let ended = before.done.unwrap_or_else(|| {
                panic!(
                    "request {} arrived while request {} was still in flight",
                    after.index, before.index
                )
            });
            assert!(
                after.at >= ended,
                "request {} arrived {:?} before the work on request {} ended",
                after.index,
                ended - after.at,
                before.index
            );
        }
    }
}

async fn serve(mut stream: TcpStream, handler: Arc<Handler>, stats: Arc<Stats>) {
    // Without this, head and body as two writes meet delayed ACKs: 40 ms
    // a request.
    let _ = stream.set_nodelay(true);
    let mut buffer = Vec::new();
    loop {
        let Some(mut request) = read_request(&mut stream, &mut buffer).await else {
            return;
        };
        let index = {
            // Numbered and logged under one lock: the log is in index order.
            let mut log = stats.log.lock().unwrap();
            let index = stats.requests.fetch_add(1, Ordering::SeqCst);
            request.index = index;
            log.push(request.clone());
            index
        };
        let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        stats.max_in_flight.fetch_max(now, Ordering::SeqCst);
        stats.changed.notify_waiters();
        let reply = handler(&request, index);
        let hung_up = wait_watching(&mut stream, &mut buffer, reply.delay, || {
            stats.abandoned.fetch_add(1, Ordering::SeqCst);
            stats.changed.notify_waiters();
        })
        .await;
        // The work is over only now, whether or not the client is still
        // there; and it is counted as over before the answer goes out: a
        // client that waits for the answer cannot overlap this request.
        stats.log.lock().unwrap()[index].done = Some(Instant::now());
        stats.in_flight.fetch_sub(1, Ordering::SeqCst);
        stats.done.fetch_add(1, Ordering::SeqCst);
        stats.changed.notify_waiters();
        if hung_up {
            return;
        }
        if write_reply(&mut stream, &reply).await.is_err() {
            return;
        }
    }
}

/// Writes the answer; a `transfer-encoding: chunked` header in the reply
/// makes it send the body in chunks, with no length up front.
async fn write_reply(stream: &mut TcpStream, reply: &Reply) -> std::io::Result<()> {
    let chunked = reply.headers.iter().any(|(name, value)| {
        name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked")
    });
    let mut head = format!("HTTP/1.1 {} X\r\n", reply.status);
    if !chunked {
        head.push_str(&format!("content-length: {}\r\n", reply.body.len()));
    }
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    if !chunked {
        return stream.write_all(&reply.body).await;
    }
    for chunk in reply.body.chunks(16 * 1024) {
        stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await?;
        stream.write_all(chunk).await?;
        stream.write_all(b"\r\n").await?;
    }
    stream.write_all(b"0\r\n\r\n").await
}

/// Sleeps `delay`, noticing if the client closes the connection meanwhile
/// (then `on_hang_up` runs at once, and the sleep goes on: the server is
/// still working on the request). Returns whether the client hung up.
async fn wait_watching(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    delay: Duration,
    on_hang_up: impl FnOnce(),
) -> bool {
    let deadline = tokio::time::sleep(delay);
    tokio::pin!(deadline);
    let mut chunk = [0u8; 4096];
    loop {
        tokio::select! {
            _ = &mut deadline => return false,
            read = stream.read(&mut chunk) => match read {
                Ok(0) | Err(_) => {
                    on_hang_up();
                    deadline.await;
                    return true;
                }
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            },
        }
    }
}

async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<Received> {
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let target = request_line.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    buffer.drain(..head_end + 4);
    while buffer.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body: Vec<u8> = buffer.drain(..length).collect();
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_string(), query),
        None => (target.clone(), ""),
    };
    let query = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (pair.to_string(), String::new()),
        })
        .collect();
    Some(Received {
        method,
        path,
        query,
        headers,
        body,
        at: Instant::now(),
        index: 0,
        done: None,
    })
}

/// The page of a listing of `total` summaries that `request` asks for,
/// honouring `_limit` (default 100) and `_offset`, with `total_records`.
pub fn page_for(request: &Received, total: usize) -> Page {
    let limit = request.query_number("_limit").unwrap_or(100);
    let offset = request.query_number("_offset").unwrap_or(0);
    let count = total.saturating_sub(offset).min(limit);
    Page::new(offset, count)
        .limit(limit)
        .total(total)
        .more(offset + count < total)
}

/// Answers `getConversations` from `total` summaries, honouring `_limit`
/// and `_offset`; `total_records` is sent only when `send_total`.
pub fn listing(
    total: usize,
    send_total: bool,
    delay: Duration,
) -> impl Fn(&Received, usize) -> Reply + Send + Sync + 'static {
    move |request, _| {
        let page = page_for(request, total).total_if(send_total, total);
        Reply::json(200, &page.build()).delay(delay)
    }
}
