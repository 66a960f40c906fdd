//! What the service tests share: building a test program and running it as
//! a server, a keep-alive HTTP/1.1 client just big enough for them, and a
//! small deterministic random number generator.
#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use crate::process;

const DLC: &str = env!("CARGO_BIN_EXE_dlc");

/// `dlc build tests/programs/NAME -o DIR/app`.
pub fn build(dir: &Path, name: &str) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs").join(name);
    let app = dir.join("app");
    let mut command = Command::new(DLC);
    command.args(["build", "--color", "never"]).arg(&source).arg("-o").arg(&app);
    let output = process::run(command, Duration::from_secs(120)).unwrap_or_else(|e| panic!("dlc build {name}: {e}"));
    assert!(output.status.success(), "dlc build {name} failed:\n{}", String::from_utf8_lossy(&output.stderr));
    app
}

/// A running server, killed when dropped; its stderr collected line by line.
pub struct Server {
    pub child: Child,
    pub port: u16,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `app --port 0 --db DB FLAGS…` and waits up to `timeout` for
    /// its `listening on http://ADDR:PORT` line.
    pub fn start(app: &Path, db: &Path, flags: &[&str], timeout: Duration) -> Server {
        let mut child = Command::new(app)
            .args(["--port", "0"])
            .arg("--db")
            .arg(db)
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", app.display()));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (first, first_line) = mpsc::channel();
        let stderr = child.stderr.take().expect("stderr is piped");
        {
            let log = Arc::clone(&log);
            thread::spawn(move || {
                let mut first = Some(first);
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Some(first) = first.take() {
                        let _ = first.send(line.clone());
                    }
                    log.lock().unwrap().push(line);
                }
            });
        }
        let line = match first_line.recv_timeout(timeout) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!("the server did not say where it listens within {timeout:?} (exit: {status:?})\nlog:\n{}", log.lock().unwrap().join("\n"));
            }
        };
        let port = line.strip_prefix("listening on http://").and_then(|a| a.rsplit(':').next()).and_then(|p| p.parse().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server's first line is not `listening on http://ADDR:PORT`: {line:?}");
        };
        Server { child, port, log }
    }

    /// Every line it has written to stderr so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Its last `lines` lines of stderr, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log.lock().unwrap();
        log[log.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response off the wire.
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| l.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()))
    }
}

/// A keep-alive HTTP/1.1 client connection, just enough for these tests.
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
        let head_end = loop {
            if let Some(at) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            self.fill()?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {head:?}"));
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| bad("no status"))?;
        let length: usize = head
            .lines()
            .find_map(|l| l.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case("content-length")).map(|(_, v)| v.trim().to_string()))
            .ok_or_else(|| bad("no content-length"))?
            .parse()
            .map_err(|_| bad("bad content-length"))?;
        while self.buf.len() < head_end + length {
            self.fill()?;
        }
        let body = self.buf[head_end..head_end + length].to_vec();
        self.buf.drain(..head_end + length);
        Ok(Response { status, head, body })
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
