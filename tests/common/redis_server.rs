//! A real `redis-server` of a test's own, on a free port, that the test can
//! kill and start again on the same port. It keeps nothing on disk.

use std::{
    io::{Read, Write},
    net::TcpStream,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct RedisServer {
    port: u16,
    password: Option<String>,
    child: Option<Child>,
    /// Where it keeps its append-only file, when it keeps one.
    dir: Option<std::path::PathBuf>,
}

impl RedisServer {
    pub fn start() -> Self {
        Self::launch(None)
    }

    /// One that demands `password` (`requirepass`).
    pub fn with_password(password: &str) -> Self {
        Self::launch(Some(password.to_string()))
    }

    /// One that writes every command to an append-only file before it
    /// answers (`--appendonly yes --appendfsync always`), in a directory of
    /// its own, and so loses nothing when stopped and started again.
    pub fn persistent() -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("uc-redis-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = Self {
            port,
            password: None,
            child: None,
            dir: Some(dir),
        };
        server.restart();
        server
    }

    /// Stops it as an operator would (`SHUTDOWN`): a persistent server
    /// has everything on disk when it is gone.
    pub fn shutdown(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = self.cli(&["SHUTDOWN"]);
            let _ = child.wait();
        }
    }

    fn launch(password: Option<String>) -> Self {
        let port = free_port();
        let mut server = Self {
            port,
            password,
            child: None,
            dir: None,
        };
        server.restart();
        server
    }

    pub fn url(&self) -> String {
        match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}/0", self.port),
            None => format!("redis://127.0.0.1:{}/0", self.port),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server at once (SIGKILL): what it held is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it (again) on its port and waits until it answers.
    pub fn restart(&mut self) {
        self.kill();
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match &self.dir {
            Some(dir) => command
                .args([
                    "--save",
                    "",
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "always",
                ])
                .arg("--dir")
                .arg(dir),
            None => command.args(["--save", "", "--appendonly", "no"]),
        };
        if let Some(password) = &self.password {
            command.args(["--requirepass", password]);
        }
        let child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start redis-server ({e}): these tests need a real Redis on PATH; \
                 install it with `apt-get install redis-server` (Debian/Ubuntu) or `brew install redis`"
            )
        });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.answers() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "redis-server on port {} did not start within 10 s",
            self.port
        );
    }

    /// Whether the server answers a PING (with or without a password, any
    /// answer counts).
    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        if stream.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut reply = [0u8; 64];
        matches!(stream.read(&mut reply), Ok(n) if n > 0)
    }

    /// `redis-cli` against this server, for what a test checks in Redis.
    pub fn cli(&self, args: &[&str]) -> String {
        let mut command = Command::new("redis-cli");
        command.args(["-p", &self.port.to_string()]);
        if let Some(password) = &self.password {
            command.args(["-a", password, "--no-auth-warning"]);
        }
        let output = command.args(args).output().expect("redis-cli runs");
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What a [`RedisProxy`] does with one command on its way to Redis.
pub enum Step {
    /// Passes it on, and its reply back.
    Forward,
    /// Passes it on but loses its reply, as a network that breaks after
    /// Redis ran the command: the first such command that Redis does not
    /// answer with an error (a `NOSCRIPT` goes back, so the client loads
    /// the script and asks again) has its reply dropped, and its connection
    /// is closed once the test calls [`RedisProxy::release`]. Later ones go
    /// through.
    LoseReply,
    /// Runs this command first, on a connection of its own, as another
    /// process that got there just before.
    Before(Vec<String>),
}

type Rule = dyn Fn(&[String]) -> Step + Send + Sync;

struct ProxyState {
    redis_port: u16,
    rule: Box<Rule>,
    lost_one: std::sync::atomic::AtomicBool,
    lost: tokio::sync::Notify,
    released: tokio::sync::Notify,
}

/// A TCP proxy in front of a [`RedisServer`] that reads each command going
/// through and lets a rule decide what happens to it.
pub struct RedisProxy {
    port: u16,
    state: std::sync::Arc<ProxyState>,
}

impl RedisProxy {
    pub async fn start(
        redis_port: u16,
        rule: impl Fn(&[String]) -> Step + Send + Sync + 'static,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = std::sync::Arc::new(ProxyState {
            redis_port,
            rule: Box::new(rule),
            lost_one: Default::default(),
            lost: Default::default(),
            released: Default::default(),
        });
        let serving = std::sync::Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, std::sync::Arc::clone(&serving)));
            }
        });
        Self { port, state }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Waits until a reply was lost ([`Step::LoseReply`]).
    pub async fn reply_lost(&self) {
        self.state.lost.notified().await;
    }

    /// Closes the connection whose reply was lost.
    pub fn release(&self) {
        self.state.released.notify_one();
    }
}

async fn relay(client: tokio::net::TcpStream, state: std::sync::Arc<ProxyState>) {
    use std::sync::atomic::Ordering;
    use tokio::io::AsyncWriteExt;

    let Ok(upstream) = tokio::net::TcpStream::connect(("127.0.0.1", state.redis_port)).await else {
        return;
    };
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_redis, mut to_redis) = upstream.into_split();
    // Replies come back in the order their commands went: one flag a
    // command, true if its reply is to be lost.
    let (flags, mut pending) = tokio::sync::mpsc::unbounded_channel::<bool>();
    let commands = async {
        let mut buffer = Vec::new();
        while let Some(command) = next_frame(&mut from_client, &mut buffer).await {
            let step = (state.rule)(&resp_strings(&command));
            if let Step::Before(side) = &step {
                side_command(state.redis_port, side).await;
            }
            let _ = flags.send(matches!(step, Step::LoseReply));
            if to_redis.write_all(&command).await.is_err() {
                return;
            }
        }
    };
    let replies = async {
        let mut buffer = Vec::new();
        while let Some(reply) = next_frame(&mut from_redis, &mut buffer).await {
            let lose = pending.recv().await.unwrap_or(false);
            if lose && reply[0] != b'-' && !state.lost_one.swap(true, Ordering::SeqCst) {
                state.lost.notify_one();
                state.released.notified().await;
                // Dropping both halves closes the client's connection.
                return;
            }
            if to_client.write_all(&reply).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        () = commands => {}
        () = replies => {}
    }
}

/// Runs one command on a connection of its own and waits for its reply.
async fn side_command(redis_port: u16, command: &[String]) {
    use tokio::io::AsyncWriteExt;

    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", redis_port))
        .await
        .unwrap();
    let mut encoded = format!("*{}\r\n", command.len());
    for part in command {
        encoded.push_str(&format!("${}\r\n{part}\r\n", part.len()));
    }
    stream.write_all(encoded.as_bytes()).await.unwrap();
    let reply = next_frame(&mut stream, &mut Vec::new())
        .await
        .expect("Redis answers on the side connection");
    assert_ne!(reply[0], b'-', "{}", String::from_utf8_lossy(&reply));
}

/// The next whole RESP value from `reader`, read into `buffer` as needed;
/// none once the connection ends.
async fn next_frame(
    reader: &mut (impl tokio::io::AsyncRead + Unpin),
    buffer: &mut Vec<u8>,
) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;

    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(len) = resp_len(buffer) {
            return Some(buffer.drain(..len).collect());
        }
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The length of the first RESP value in `buffer`, once it is all there.
fn resp_len(buffer: &[u8]) -> Option<usize> {
    let line = buffer.windows(2).position(|pair| pair == b"\r\n")?;
    let after = line + 2;
    let number = || -> i64 {
        std::str::from_utf8(&buffer[1..line])
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or(-1)
    };
    match buffer[0] {
        b'$' | b'!' | b'=' => match usize::try_from(number()) {
            Ok(size) => (buffer.len() >= after + size + 2).then_some(after + size + 2),
            Err(_) => Some(after),
        },
        kind @ (b'*' | b'~' | b'>' | b'%' | b'|') => {
            let Ok(count) = usize::try_from(number()) else {
                return Some(after);
            };
            let count = if matches!(kind, b'%' | b'|') {
                2 * count
            } else {
                count
            };
            let mut at = after;
            for _ in 0..count {
                at += resp_len(&buffer[at..])?;
            }
            Some(at)
        }
        _ => Some(after),
    }
}

/// The parts of a command (an array of bulk strings), as text.
fn resp_strings(command: &[u8]) -> Vec<String> {
    let mut parts = Vec::new();
    let Some(first) = command.windows(2).position(|pair| pair == b"\r\n") else {
        return parts;
    };
    let mut at = first + 2;
    while at < command.len() {
        let Some(len) = resp_len(&command[at..]) else {
            break;
        };
        let value = &command[at..at + len];
        if let Some(line) = value.windows(2).position(|pair| pair == b"\r\n")
            && value[0] == b'$'
        {
            parts.push(String::from_utf8_lossy(&value[line + 2..len - 2]).into_owned());
        }
        at += len;
    }
    parts
}
