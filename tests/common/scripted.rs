//! A tiny keep-alive HTTP/1.1 server whose answers a closure decides, and
//! which counts what httpmock cannot: requests in flight at once, and
//! requests whose client hung up before the answer.

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
    pub at: Instant,
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
    log: Mutex<Vec<Received>>,
}

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

    /// Requests whose client closed the connection before the answer.
    pub fn abandoned(&self) -> usize {
        self.stats.abandoned.load(Ordering::SeqCst)
    }

    pub fn log(&self) -> Vec<Received> {
        self.stats.log.lock().unwrap().clone()
    }
}

async fn serve(mut stream: TcpStream, handler: Arc<Handler>, stats: Arc<Stats>) {
    // Without this, head and body as two writes meet delayed ACKs: 40 ms
    // a request.
    let _ = stream.set_nodelay(true);
    let mut buffer = Vec::new();
    loop {
        let Some(request) = read_request(&mut stream, &mut buffer).await else {
            return;
        };
        let index = stats.requests.fetch_add(1, Ordering::SeqCst);
        stats.log.lock().unwrap().push(request.clone());
        let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        stats.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let reply = handler(&request, index);
        let hung_up = wait_watching(&mut stream, &mut buffer, reply.delay).await;
        // Counted as finished before the answer goes out: a client that
        // waits for the answer cannot overlap this request.
        stats.in_flight.fetch_sub(1, Ordering::SeqCst);
        if hung_up {
            stats.abandoned.fetch_add(1, Ordering::SeqCst);
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

/// Sleeps `delay`, noticing if the client closes the connection meanwhile.
async fn wait_watching(stream: &mut TcpStream, buffer: &mut Vec<u8>, delay: Duration) -> bool {
    let deadline = tokio::time::sleep(delay);
    tokio::pin!(deadline);
    let mut chunk = [0u8; 4096];
    loop {
        tokio::select! {
            _ = &mut deadline => return false,
            read = stream.read(&mut chunk) => match read {
                Ok(0) | Err(_) => return true,
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
