//! What the service tests (examples.rs, crash.rs, abuse.rs) share: building a
//! program with `dlc build`; `Server`, a built program running as a server on
//! a free port, its stdout and stderr collected, killed when dropped; the
//! HTTP/1.1 client they drive it with (`http` and `raw`, one request per
//! connection, and `Conn`, keep-alive) and the `Response` both read; and a
//! small deterministic random number generator.
#![allow(dead_code)]

#[path = "../../../../lang-tests/harness/process.rs"]
pub mod process;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

const DLC: &str = env!("CARGO_BIN_EXE_dlc");

/// Longest wait for `listening on`, for an exit, or for one HTTP exchange,
/// unless a test gives its own.
pub const LIMIT: Duration = Duration::from_secs(15);

/// Secret and port variables the children must not inherit from the test's environment.
const SCRUBBED: &[&str] = &["PORT", "ADMIN_TOKEN", "API_TOKEN"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `dlc build SOURCE -o EXE`, `source` relative to the repository root.
pub fn build(source: &str, exe: &Path) {
    // Removed first, so that a build that writes nothing cannot pass.
    let _ = std::fs::remove_file(exe);
    let mut command = Command::new(DLC);
    command.current_dir(root()).args(["build", "--color", "never", source, "-o"]).arg(exe);
    let out = process::run(command, Duration::from_secs(120)).unwrap_or_else(|err| panic!("dlc build {source}: {err}"));
    assert!(
        out.status.success() && exe.is_file(),
        "dlc build {source} failed ({}):\n{}{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// `exe ARGS` in `dir`, with `env` set and `SCRUBBED` unset.
pub fn command(exe: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(exe);
    command.current_dir(dir).args(args);
    for name in SCRUBBED {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

// ---- a running server ----

/// A started executable; dropping it kills the process.
pub struct Server {
    pub child: Child,
    pub port: u16,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<thread::JoinHandle<()>>,
    status: Option<ExitStatus>,
}

/// How an executable that did not come up ended.
#[derive(Debug)]
pub struct Exited {
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Server {
    /// Starts `exe` in `dir` with `args` and waits up to `limit` for its `listening on` line.
    pub fn start(exe: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Server {
        Server::try_start(exe, dir, args, env, limit)
            .unwrap_or_else(|e| panic!("{} {args:?} did not start ({:?}):\n{}{}", exe.display(), e.status, e.stdout, e.stderr))
    }

    /// `start` on `--port 0 --db DB` in `dir`.
    pub fn on(exe: &Path, dir: &Path, db: &str, env: &[(&str, &str)]) -> Server {
        Server::start(exe, dir, &["--port", "0", "--db", db], env, LIMIT)
    }

    pub fn try_start(exe: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Result<Server, Exited> {
        let mut command = command(exe, dir, args, env);
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().unwrap_or_else(|err| panic!("start {}: {err}", exe.display()));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (port_sender, port) = mpsc::channel();
        let mut readers = Vec::new();
        // The port is in stderr's `listening on http://ADDR` (or, from
        // `wrangler dev`, stdout's `Ready on http://ADDR`).
        let pipes: [(Option<Box<dyn Read + Send>>, &Arc<Mutex<Vec<u8>>>, &str); 2] = [
            (child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>), &stdout, "Ready on http://"),
            (child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>), &stderr, "listening on http://"),
        ];
        for (pipe, sink, marker) in pipes {
            let Some(pipe) = pipe else { continue };
            let (sink, port_sender) = (Arc::clone(sink), port_sender.clone());
            readers.push(thread::spawn(move || {
                let mut pipe = BufReader::new(pipe);
                let mut line = Vec::new();
                loop {
                    line.clear();
                    match pipe.read_until(b'\n', &mut line) {
                        Ok(1..) => {}
                        _ => return,
                    }
                    sink.lock().unwrap().extend_from_slice(&line);
                    let line = String::from_utf8_lossy(&line);
                    let address = line.find(marker).map(|at| line[at + marker.len()..].trim_end());
                    if let Some(port) = address.and_then(|a| a.rsplit(':').next()).and_then(|p| p.parse::<u16>().ok()) {
                        let _ = port_sender.send(port);
                    }
                }
            }));
        }
        let mut server = Server { child, port: 0, stdout, stderr, readers, status: None };
        match port.recv_timeout(limit) {
            Ok(port) => {
                server.port = port;
                Ok(server)
            }
            Err(_) => {
                let status = server.wait(limit);
                Err(Exited { status, stdout: server.stdout(), stderr: server.log() })
            }
        }
    }

    /// Everything the server wrote on stderr so far.
    pub fn log(&self) -> String {
        text(&self.stderr.lock().unwrap())
    }

    /// The last `lines` lines of the log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    pub fn stdout(&self) -> String {
        text(&self.stdout.lock().unwrap())
    }

    /// Waits up to `limit` for the process to end (killing it past that: `None`), then for its
    /// output to be read.
    pub fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        if self.status.is_some() {
            return self.status;
        }
        let started = Instant::now();
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if started.elapsed() < limit => thread::sleep(Duration::from_millis(5)),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
            }
        };
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        self.status = status;
        status
    }

    /// SIGTERM, then waits for a graceful exit; the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        let sent = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {} failed", self.child.id());
        self.wait(LIMIT).unwrap_or_else(|| panic!("still running {} s after SIGTERM:\n{}", LIMIT.as_secs(), self.log()))
    }

    /// `kill -9`: no chance to clean up. Returns once the process is gone.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill the server");
        self.wait(LIMIT).expect("wait for the server");
    }

    /// Polls stdout until it contains `needle`.
    pub fn wait_for_stdout(&self, needle: &str) -> String {
        let started = Instant::now();
        loop {
            let out = self.stdout();
            if out.contains(needle) {
                return out;
            }
            assert!(started.elapsed() < LIMIT, "stdout never showed {needle:?}: {out:?}");
            thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
        http(self.port, method, path, headers, body)
    }

    pub fn get(&self, path: &str) -> Response {
        self.send("GET", path, &[], "")
    }

    pub fn post(&self, path: &str, body: &str) -> Response {
        self.send("POST", path, &[("content-type", "application/json")], body)
    }

    pub fn put(&self, path: &str, body: &str) -> Response {
        self.send("PUT", path, &[("content-type", "application/json")], body)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---- a tiny HTTP/1.1 client ----

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Lower-case names, in order.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|err| panic!("not JSON ({err}): {self:?}"))
    }

    /// Asserts the status and returns the body.
    pub fn expect(&self, status: u16) -> &str {
        assert_eq!(self.status, status, "{self:?}");
        &self.body
    }
}

/// One request on a fresh connection (`Connection: close`).
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    let mut request = format!("{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || !matches!(method, "GET" | "HEAD" | "DELETE") {
        request.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    // Read to the end of the response, not to the close: workerd keeps a
    // connection open for a while whatever the client asked.
    let conn = exchange(port, request.as_bytes(), |bytes| complete(bytes, method == "HEAD"));
    if method == "HEAD" {
        let head = text(&conn.buf);
        let (status, headers) = parse_head(head.trim_end()).unwrap_or_else(|| panic!("not an HTTP response: {head:?}"));
        return Response { status, headers, body: String::new() };
    }
    parse(&conn.buf)
}

/// The length of the whole response at the start of `bytes`, once it is
/// all there and its end is known (a `content-length` or chunked body, or
/// none: a reply to HEAD, a 204 or 304).
fn complete(bytes: &[u8], head_request: bool) -> Option<usize> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let (status, headers) = parse_head(&text(&bytes[..end - 4]))?;
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    if head_request || status == 204 || status == 304 {
        return Some(end);
    }
    if header("transfer-encoding").is_some_and(|te| te.eq_ignore_ascii_case("chunked")) {
        return bytes[end..].windows(5).position(|w| w == b"0\r\n\r\n").map(|at| end + at + 5);
    }
    let length: usize = header("content-length")?.parse().ok()?;
    (bytes.len() >= end + length).then_some(end + length)
}

/// Sends `request` as it is and reads the response until the server closes the connection. A
/// write error is ignored (the server may answer before reading everything); what was read
/// before a read error is kept.
pub fn raw(port: u16, request: &[u8]) -> Response {
    parse(&exchange(port, request, |_| None).buf)
}

/// Sends `request` on a fresh connection and reads until `end` gives the
/// length of what was read that is the response (which is then all the
/// buffer holds), or until the connection closes.
fn exchange(port: u16, request: &[u8], end: impl Fn(&[u8]) -> Option<usize>) -> Conn {
    let mut conn = Conn::connect(port, LIMIT).unwrap_or_else(|err| panic!("connect to port {port}: {err}"));
    let _ = conn.stream.write_all(request);
    loop {
        if let Some(length) = end(&conn.buf) {
            conn.buf.truncate(length);
            return conn;
        }
        match conn.fill() {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) if matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                panic!("no complete response within {} s; got {:?}", LIMIT.as_secs(), text(&conn.buf))
            }
            Err(_) => return conn,
        }
    }
}

/// A whole response, the connection closed after it: the body is chunked, `content-length`
/// long, or all the rest.
fn parse(bytes: &[u8]) -> Response {
    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        panic!("not an HTTP response: {:?}", text(bytes));
    };
    let head = text(&bytes[..end]);
    let Some((status, headers)) = parse_head(&head) else {
        panic!("bad status line {:?}", head.split("\r\n").next().unwrap_or_default());
    };
    let mut response = Response { status, headers, body: String::new() };
    let mut body = bytes[end + 4..].to_vec();
    if response.header("transfer-encoding").is_some_and(|te| te.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body);
    } else if let Some(length) = response.header("content-length").and_then(|l| l.parse::<usize>().ok()) {
        assert!(body.len() >= length, "short body: {} of {length} bytes in {:?}", body.len(), text(bytes));
        body.truncate(length);
    }
    response.body = text(&body);
    response
}

/// The status and the headers of a head without its blank line; `None` if the status line is
/// not `HTTP/1.1 NNN …`.
fn parse_head(head: &str) -> Option<(u16, Vec<(String, String)>)> {
    let mut lines = head.split("\r\n");
    let status = lines.next()?.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    Some((status, headers))
}

fn dechunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let Some(eol) = bytes.windows(2).position(|w| w == b"\r\n") else { return body };
        let size = usize::from_str_radix(text(&bytes[..eol]).split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if size == 0 {
            return body;
        }
        let start = eol + 2;
        body.extend_from_slice(&bytes[start..(start + size).min(bytes.len())]);
        bytes = &bytes[(start + size + 2).min(bytes.len())..];
    }
}

/// A keep-alive HTTP/1.1 client connection.
pub struct Conn {
    pub stream: TcpStream,
    pub buf: Vec<u8>,
}

impl Conn {
    pub fn connect(port: u16, timeout: Duration) -> io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(Conn { stream, buf: Vec::new() })
    }

    pub fn request(&mut self, method: &str, path: &str, body: &[u8]) -> io::Result<Response> {
        let mut bytes = format!("{method} {path} HTTP/1.1\r\nhost: test\r\ncontent-length: {}\r\n\r\n", body.len()).into_bytes();
        bytes.extend_from_slice(body);
        self.stream.write_all(&bytes)?;
        self.response()
    }

    /// Reads one response: the head, then a `content-length` body (the
    /// server always sends one).
    pub fn response(&mut self) -> io::Result<Response> {
        let end = loop {
            if let Some(at) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            self.fill()?;
        };
        let head = text(&self.buf[..end]);
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {head:?}"));
        let (status, headers) = parse_head(&head).ok_or_else(|| bad("no status"))?;
        let mut response = Response { status, headers, body: String::new() };
        let length: usize = response
            .header("content-length")
            .ok_or_else(|| bad("no content-length"))?
            .parse()
            .map_err(|_| bad("bad content-length"))?;
        let body_end = end + 4 + length;
        while self.buf.len() < body_end {
            self.fill()?;
        }
        response.body = text(&self.buf[end + 4..body_end]);
        self.buf.drain(..body_end);
        Ok(response)
    }

    pub fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk)? {
            0 => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the connection closed before a full response")),
            n => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
        }
    }
}

/// xorshift64*, as in robustness.rs.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}
