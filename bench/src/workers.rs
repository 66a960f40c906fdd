//! `dl-bench workers`: the Workers target, measured on this machine.
//!
//! - Bundle sizes, raw and gzipped as `dlc ship` reports them: hello world
//!   (`programs/hello-route.dl`, one route) and each example service.
//! - Cold start: from starting a fresh workerd (Miniflare, through
//!   `std-targets/workers/serve.mjs`) to its first answer, and from its
//!   `listening` line to that answer (the isolate, the module's
//!   instantiation, the Durable Object's start); the native executable's
//!   start to its first answer beside it.
//! - Requests/s of `programs/server.dl`'s routes (hello, a store read, a
//!   store write) in workerd against the native executable, by a small
//!   keep-alive load generator in this process (workerd serves one
//!   Durable Object, so a handful of connections saturate it).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::http::Server;
use crate::{dlc, native::ms, peers};

#[derive(clap::Args)]
pub struct Args {
    /// Seconds of timed load on each route, per server.
    #[arg(long, default_value_t = 5)]
    duration: u64,
    /// Concurrent keep-alive connections of the load generator.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Cold starts measured per server (the median is reported).
    #[arg(long, default_value_t = 5)]
    starts: usize,
    /// The `dlc` to measure; by default the one built beside `dl-bench`.
    #[arg(long)]
    dlc: Option<PathBuf>,
}

/// The goal for hello world's bundle, gzipped.
const HELLO_GOAL: f64 = 100.0 * 1024.0;

pub fn run(args: &Args) -> Result<(), String> {
    let dlc = dlc::locate(args.dlc.as_deref())?;
    let out = dlc::bench_dir()?.join("workers");
    std::fs::create_dir_all(&out).map_err(|err| format!("cannot create {}: {err}", out.display()))?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let serve = root.join("std-targets/workers/serve.mjs");
    if !root.join("std-targets/workers/node_modules/miniflare").is_dir() {
        return Err("Miniflare is not installed: run `npm ci --prefix std-targets/workers`".into());
    }
    let node = peers::version("node".as_ref()).ok_or("`node --version` does not run: Node is needed")?;
    let workerd = std::fs::read_to_string(root.join("std-targets/workers/node_modules/workerd/package.json"))
        .ok()
        .and_then(|p| p.split("\"version\": \"").nth(1).and_then(|v| v.split('"').next()).map(str::to_string))
        .unwrap_or_else(|| "?".into());
    println!("peers: node {node}; workerd {workerd} (Miniflare)");

    println!("bundle sizes (dlc ship --target workers: the module and the host's JS):");
    for (name, source) in [
        ("hello world", "bench/programs/hello-route.dl"),
        ("todo", "examples/todo.dl"),
        ("counter", "examples/counter.dl"),
        ("shortener", "examples/shortener.dl"),
    ] {
        let (raw, gzipped) = ship(&dlc, &root.join(source), &out.join(format!("{name}-bundle").replace(' ', "-")))?;
        let goal = if name == "hello world" {
            format!(" ({} the 100 KB gzipped goal)", if gzipped < HELLO_GOAL { "under" } else { "OVER" })
        } else {
            String::new()
        };
        println!("  {name:<12} {:>8.1} KiB raw {:>8.1} KiB gzipped{goal}", raw / 1024.0, gzipped / 1024.0);
    }

    let bundle = out.join("server-bundle");
    ship(&dlc, &root.join("bench/programs/server.dl"), &bundle)?;
    let exe = out.join("server-dl");
    let built = Command::new(&dlc).args(["build", "--color=never"]).arg(root.join("bench/programs/server.dl")).arg("-o").arg(&exe).output();
    if !built.as_ref().is_ok_and(|o| o.status.success()) {
        return Err(format!("dlc build bench/programs/server.dl failed: {built:?}"));
    }
    let workers = |state: &Path| {
        let mut command = Command::new("node");
        command.arg(&serve).arg(&bundle).arg(state);
        command
    };
    let native = |db: &Path| {
        let mut command = Command::new(&exe);
        command.args(["--port", "0", "--db"]).arg(db);
        command
    };

    println!("cold start to the first answer of GET /hello (median of {}):", args.starts);
    for (name, start) in [("workerd", &workers as &dyn Fn(&Path) -> Command), ("native", &native)] {
        let (mut total, mut after_listening) = (vec![], vec![]);
        for i in 0..args.starts.max(1) {
            let state = fresh(&out.join(format!("cold-{name}-{i}")))?;
            let began = Instant::now();
            let server = Server::start("cold", start(&state.join("store")), &out.join(format!("cold-{name}.stderr")))?;
            let listening = Instant::now();
            let mut conn = Conn::open(server.port)?;
            conn.send("GET", "/hello", "", 200)?;
            total.push(began.elapsed());
            after_listening.push(listening.elapsed());
            server.stop();
        }
        println!("  {name:<8} {:>8.1} ms from start, {:>6.1} ms after `listening`", ms(median(total)), ms(median(after_listening)));
    }

    let state = fresh(&out.join("load-workerd"))?;
    let db = fresh(&out.join("load-native"))?;
    let servers = [
        ("workerd", Server::start("workerd", workers(&state.join("store")), &out.join("workerd.stderr"))?),
        ("native", Server::start("native", native(&db.join("server.db")), &out.join("native.stderr"))?),
    ];
    let keys = 100;
    for (_, server) in &servers {
        let mut conn = Conn::open(server.port)?;
        for k in 0..keys {
            conn.send("PUT", &format!("/kv/key-{k}"), &format!("value {k}"), 204)?;
        }
    }
    println!(
        "requests/s, {} keep-alive connections, {} s per route and server (the load generator shares the machine):",
        args.connections, args.duration
    );
    println!("  {:<8}{:>12}{:>12}{:>16}", "route", "workerd", "native", "workerd/native");
    for (route, method) in [("hello", "GET"), ("get", "GET"), ("put", "PUT")] {
        let rates: Vec<f64> = servers
            .iter()
            .map(|(_, server)| load(server.port, route, method, keys, args.connections, Duration::from_secs(args.duration)))
            .collect::<Result<_, _>>()?;
        println!("  {route:<8}{:>12.0}{:>12.0}{:>15.3}x", rates[0], rates[1], rates[0] / rates[1]);
    }
    for (_, server) in servers {
        server.stop();
    }
    Ok(())
}

/// Ships `source` into `dir`; its raw and gzipped size in bytes, as `dlc
/// ship` reports them.
fn ship(dlc: &Path, source: &Path, dir: &Path) -> Result<(f64, f64), String> {
    let output = Command::new(dlc)
        .args(["ship", "--target", "workers", "--color=never"])
        .arg(source)
        .arg("-o")
        .arg(dir)
        .output()
        .map_err(|err| format!("cannot run {}: {err}", dlc.display()))?;
    let said = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!("dlc ship {} failed:\n{said}{}", source.display(), String::from_utf8_lossy(&output.stderr)));
    }
    // `  bundle: 159.1 KiB raw, 50.3 KiB gzipped (…)`
    let line = said.lines().find_map(|l| l.trim().strip_prefix("bundle: ")).ok_or_else(|| format!("no bundle size in {said:?}"))?;
    let size = |text: &str| -> Option<f64> {
        let (n, unit) = text.trim().split_once(' ')?;
        let n: f64 = n.parse().ok()?;
        Some(if unit.starts_with("MiB") { n * 1024.0 * 1024.0 } else { n * 1024.0 })
    };
    let (raw, rest) = line.split_once(" raw, ").ok_or_else(|| format!("unexpected {line:?}"))?;
    let gzipped = rest.split(" gzipped").next().unwrap_or_default();
    Ok((size(raw).ok_or_else(|| format!("unexpected {line:?}"))?, size(gzipped).ok_or_else(|| format!("unexpected {line:?}"))?))
}

fn fresh(dir: &Path) -> Result<PathBuf, String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    Ok(dir.to_path_buf())
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// `connections` threads, each a keep-alive connection sending `route`'s
/// requests for `time`: all of them answered, per second.
fn load(port: u16, route: &str, method: &str, keys: usize, connections: usize, time: Duration) -> Result<f64, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..connections)
        .map(|c| {
            let (stop, done) = (Arc::clone(&stop), Arc::clone(&done));
            let route = route.to_string();
            let method = method.to_string();
            std::thread::spawn(move || -> Result<(), String> {
                let mut conn = Conn::open(port)?;
                let mut i = c;
                while !stop.load(Ordering::Relaxed) {
                    match route.as_str() {
                        "hello" => conn.send(&method, "/hello", "", 200)?,
                        "get" => conn.send(&method, &format!("/kv/key-{}", i % keys), "", 200)?,
                        _ => conn.send(&method, &format!("/kv/put-{c}-{i}"), "v", 204)?,
                    }
                    i += connections;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    let began = Instant::now();
    std::thread::sleep(time);
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().map_err(|_| "a load thread panicked".to_string())??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / began.elapsed().as_secs_f64())
}

/// A keep-alive HTTP/1.1 connection; every answer has a `content-length`.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(port: u16) -> Result<Conn, String> {
        let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|err| format!("cannot connect: {err}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Conn { stream, buf: Vec::new() })
    }

    /// Sends one request and reads its answer, which must have `status`.
    fn send(&mut self, method: &str, path: &str, body: &str, status: u16) -> Result<(), String> {
        let request = format!("{method} {path} HTTP/1.1\r\nhost: bench\r\ncontent-length: {}\r\n\r\n{body}", body.len());
        self.stream.write_all(request.as_bytes()).map_err(|err| format!("{method} {path}: {err}"))?;
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if self.buf.len() >= end + 4 + length {
                    let got = head.split(' ').nth(1).and_then(|s| s.parse::<u16>().ok());
                    if got != Some(status) {
                        return Err(format!("{method} {path}: expected {status}, got {:?}", String::from_utf8_lossy(&self.buf)));
                    }
                    self.buf.drain(..end + 4 + length);
                    return Ok(());
                }
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(format!("{method} {path}: the connection closed")),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(err) => return Err(format!("{method} {path}: {err}")),
            }
        }
    }
}
