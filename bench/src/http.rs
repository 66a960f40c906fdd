//! `dl-bench http`: the same four routes served by an executable that
//! `dlc build` makes from `programs/server.dl` and by Deno running
//! `programs/server.js` (`Deno.serve` + `Deno.openKv`), both driven by `wrk`,
//! route by route, after checking that both answer correctly.

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{dlc, peers};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    load: LoadArgs,
    /// Keys stored (with PUT) before the store-get route is measured; the
    /// load asks for them at random.
    #[arg(long, default_value_t = 1000)]
    keys: usize,
    /// N of the compute route, `GET /compute/N`.
    #[arg(long, default_value_t = 100_000)]
    compute: u64,
    /// At the end, send each server at least a million `GET /hello`,
    /// sampling its RSS along the way.
    #[arg(long)]
    million: bool,
}

/// How the servers are loaded, for `http` and `pages` alike.
#[derive(clap::Args)]
pub struct LoadArgs {
    /// Seconds of timed load on each case (a route, a store size), per
    /// server and round.
    #[arg(long, default_value_t = 5)]
    pub(crate) duration: u64,
    /// Timed runs of each case on each server, taken in turns (Distlang,
    /// Deno, Distlang, …) so that a busy moment of the machine falls on
    /// both; the ratio reported is the median of the rounds' ratios.
    #[arg(long, default_value_t = 3)]
    pub(crate) rounds: u32,
    /// Seconds of untimed load on each case, per server, before its timed
    /// runs (JIT, caches, connection set-up).
    #[arg(long, default_value_t = 1)]
    pub(crate) warmup: u64,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    pub(crate) threads: usize,
    /// wrk connections, over all its threads.
    #[arg(long, default_value_t = 16)]
    pub(crate) connections: usize,
    /// The load generator (wrk 4).
    #[arg(long, default_value = "wrk")]
    pub(crate) wrk: PathBuf,
    /// The `dlc` to measure; by default the one built beside `dl-bench`.
    #[arg(long)]
    pub(crate) dlc: Option<PathBuf>,
}

/// One measured route: what wrk is pointed at, and Distlang's goal as a
/// ratio of its throughput to Deno's.
struct Route {
    name: &'static str,
    /// The URL path, or the wrk script (in `programs/`) that makes each
    /// request, with its argument.
    target: Target,
    goal: Option<f64>,
}

pub(crate) enum Target {
    Path(String),
    Script(&'static str),
}

/// The RSS goal: under this many bytes idle, and flat under load.
const RSS_GOAL: u64 = 20_000_000;

/// Flat: RSS grows by less than this from the first 10 s of the million
/// hello requests to the end of them.
const FLAT: u64 = 1_000_000;

pub fn run(args: &Args) -> Result<(), String> {
    let opts = &args.load;
    let wrk_version = wrk_version(&opts.wrk)?;
    let dlc = dlc::locate(opts.dlc.as_deref())?;
    let bench = dlc::bench_dir()?;
    let out = bench.join("http");
    std::fs::create_dir_all(&out).map_err(|err| format!("cannot create {}: {err}", out.display()))?;
    let programs = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs");

    let exe = out.join("server-dl");
    build(&dlc, &programs.join("server.dl"), &exe)?;
    let mut servers = vec![];
    let dl_db = fresh(&out, "dl.db")?;
    let mut command = Command::new(&exe);
    command.arg("--port").arg("0").arg("--db").arg(&dl_db);
    servers.push(Server::start("dl", command, &out.join("dl.stderr"))?);
    let mut versions = vec![wrk_version];
    match peers::deno(&bench) {
        Ok(deno) => {
            versions.extend(peers::version(deno.as_os_str()));
            let db = fresh(&out, "deno.sqlite")?;
            servers.push(Server::start("deno", deno_command(&deno, &programs.join("server.js"), &out, &db), &out.join("deno.stderr"))?);
        }
        Err(why) => println!("note: deno is left out: {why}"),
    }
    println!("peers: {}", versions.join("; "));
    println!("load average (1 min) before: {}", load_average());

    // RSS idle after start-up: once the servers have settled, before any request.
    std::thread::sleep(Duration::from_millis(1000));
    let mut rss = vec![vec![]; servers.len()];
    for (i, server) in servers.iter().enumerate() {
        rss[i].push(("idle".to_string(), server.memory()?));
    }
    for server in &servers {
        check(server, args.compute)?;
        populate(server, args.keys)?;
    }

    let routes = [
        Route { name: "hello", target: Target::Path("/hello".into()), goal: Some(1.0) },
        Route { name: "get", target: Target::Script("kv-get.lua"), goal: Some(3.0) },
        Route { name: "put", target: Target::Script("kv-put.lua"), goal: Some(2.0) },
        Route { name: "compute", target: Target::Path(format!("/compute/{}", args.compute)), goal: None },
    ];
    let load = Load { opts, programs: &programs };
    println!(
        "wrk: {} threads, {} connections, {} s per route and server after {} s of warm-up; \
         servers' stderr (one log line per request from dl) to files in {}",
        opts.threads,
        opts.connections,
        opts.duration,
        opts.warmup,
        out.display()
    );
    // Per route: each server's rounds, in order.
    let mut results: Vec<Vec<Vec<WrkResult>>> = vec![];
    for route in &routes {
        let arg = |run: &str| match route.name {
            "get" => args.keys.to_string(),
            _ => run.to_string(),
        };
        let rounds = load.rounds(&servers, &route.target, route.name, arg)?;
        for (i, server) in servers.iter().enumerate() {
            rss[i].push((format!("after {}", route.name), server.memory()?));
        }
        results.push(rounds);
    }
    // Every write that wrk saw answered is in the store (a server that
    // answered 204 without storing would be fast), and everything still
    // answers as before.
    let puts = routes.iter().position(|route| route.name == "put").map(|i| &results[i]);
    for (i, server) in servers.iter().enumerate() {
        let answered = puts.map_or(0, |row| row[i].iter().map(|round| round.requests).sum());
        let (status, count) = request(server.port, "GET", "/count/put-run-", "")
            .map_err(|err| format!("{} server, GET /count/put-run-: {err}", server.name))?;
        match count.parse::<u64>() {
            Ok(count) if status == 200 && count >= answered => {}
            _ => {
                return Err(format!(
                    "wrk saw {answered} PUTs answered by the {} server, which then counts {status} {count:?} keys",
                    server.name
                ));
            }
        }
        check(server, args.compute)?;
    }
    print_table(&servers, &routes, &results);

    let mut million = vec![];
    if args.million {
        for (i, server) in servers.iter().enumerate() {
            let samples = load.million(server)?;
            let last = samples.last().copied().unwrap_or_default();
            rss[i].push(("after 1M hello".to_string(), last));
            million.push(samples);
        }
    }
    print_rss(&servers, &rss, &million);
    println!("load average (1 min) after: {}", load_average());
    for server in servers {
        server.stop();
    }
    Ok(())
}

/// Deno serving `script` on a free port with its KV store in `db`, allowed
/// to read and write `dir` only.
pub(crate) fn deno_command(deno: &Path, script: &Path, dir: &Path, db: &Path) -> Command {
    let mut command = Command::new(deno);
    command
        .args(["run", "--quiet", "--no-config", "--unstable-kv", "--allow-net=127.0.0.1"])
        .arg(format!("--allow-read={}", dir.display()))
        .arg(format!("--allow-write={}", dir.display()))
        .arg(script)
        .arg("--port")
        .arg("0")
        .arg("--db")
        .arg(db)
        .env("DENO_NO_UPDATE_CHECK", "1");
    command
}

/// `dlc build SRC -o EXE`.
pub(crate) fn build(dlc: &Path, src: &Path, exe: &Path) -> Result<(), String> {
    let output = Command::new(dlc)
        .args(["build", "--color=never"])
        .arg(src)
        .arg("-o")
        .arg(exe)
        .output()
        .map_err(|err| format!("cannot run {}: {err}", dlc.display()))?;
    if !output.status.success() {
        return Err(format!(
            "dlc build {} failed ({}):\n{}{}",
            src.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

/// `DIR/NAME`, with any store file of that name (and SQLite's `-wal` and
/// `-shm` beside it) left by an earlier run removed: each run starts empty.
pub(crate) fn fresh(dir: &Path, name: &str) -> Result<PathBuf, String> {
    for suffix in ["", "-wal", "-shm"] {
        let file = dir.join(format!("{name}{suffix}"));
        match std::fs::remove_file(&file) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!("cannot remove {}: {err}", file.display()));
            }
            _ => {}
        }
    }
    Ok(dir.join(name))
}

/// A server process, its standard error going to a file. Dropping it stops it.
pub(crate) struct Server {
    pub(crate) name: &'static str,
    child: Child,
    pub(crate) port: u16,
    log: PathBuf,
}

impl Server {
    /// Starts `command` with `--port 0` among its arguments and waits for
    /// the `listening on http://HOST:PORT` line it writes first.
    pub(crate) fn start(name: &'static str, mut command: Command, log: &Path) -> Result<Server, String> {
        let file = File::create(log).map_err(|err| format!("cannot create {}: {err}", log.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .env_remove("NODE_EXTRA_CA_CERTS")
            .spawn()
            .map_err(|err| format!("cannot start the {name} server: {err}"))?;
        let mut server = Server { name, child, port: 0, log: log.to_path_buf() };
        let started = Instant::now();
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            // `deno run --watch` says something of its own first.
            let listening = text.lines().find_map(|line| line.strip_prefix("listening on http://"));
            if let Some(port) = listening.and_then(|rest| rest.rsplit(':').next()).and_then(|port| port.trim().parse().ok()) {
                server.port = port;
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("the {name} server exited ({status}) before listening:\n{text}"));
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(format!("the {name} server did not say it was listening within 30 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The RSS and the thread count now.
    fn memory(&self) -> Result<Memory, String> {
        let tasks = format!("/proc/{}/task", self.child.id());
        let threads = std::fs::read_dir(&tasks).map_err(|err| format!("cannot read {tasks}: {err}"))?.count();
        Ok(Memory { rss: self.rss()?, threads })
    }

    /// Resident set size in bytes (`VmRSS` in `/proc/PID/status`).
    pub(crate) fn rss(&self) -> Result<u64, String> {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(&path).map_err(|err| format!("cannot read {path}: {err}"))?;
        let kb = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .ok_or_else(|| format!("no VmRSS in {path}"))?;
        Ok(kb * 1024)
    }

    /// CPU time used so far by all the process's threads (`utime` and
    /// `stime` in `/proc/PID/stat`, in clock ticks).
    fn cpu(&self) -> Result<Duration, String> {
        let path = format!("/proc/{}/stat", self.child.id());
        let stat = std::fs::read_to_string(&path).map_err(|err| format!("cannot read {path}: {err}"))?;
        // Fields after the command name (in parentheses, which may hold spaces): state is
        // field 3, utime 14 and stime 15.
        let fields: Vec<&str> = stat.rsplit_once(')').map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        let total = ticks(11).zip(ticks(12)).map(|(user, system)| user + system);
        let total = total.ok_or_else(|| format!("cannot read the CPU times in {path}"))?;
        Ok(Duration::from_secs_f64(total as f64 / clock_ticks()))
    }

    /// SIGTERM (both servers shut down gracefully on it), then SIGKILL if
    /// it is still there 5 s later.
    pub(crate) fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// Checks that `server` answers every route correctly: the benchmark must
/// not time a server that does something else (an error page is fast).
fn check(server: &Server, compute: u64) -> Result<(), String> {
    expect(server, "GET", "/hello", "", 200, "hello")?;
    expect(server, "GET", "/kv/never-stored", "", 404, "no key never-stored")?;
    let value = r#"a "quoted" value"#;
    expect(server, "PUT", "/kv/check", value, 204, "")?;
    expect(server, "GET", "/kv/check", "", 200, &json_string(value))?;
    expect(server, "GET", "/count/check", "", 200, "1")?;
    for n in [0, 1000, compute] {
        expect(server, "GET", &format!("/compute/{n}"), "", 200, &sum_of_squares_mod_7(n).to_string())?;
    }
    Ok(())
}

/// Stores `key-0` … `key-{keys-1}` (the store-get route's keys) and reads
/// the first and the last back.
fn populate(server: &Server, keys: usize) -> Result<(), String> {
    let value = |i: usize| format!("value of key-{i} {}", "x".repeat(48));
    for i in 0..keys {
        expect(server, "PUT", &format!("/kv/key-{i}"), &value(i), 204, "")?;
    }
    for i in [0, keys.saturating_sub(1)] {
        expect(server, "GET", &format!("/kv/key-{i}"), "", 200, &json_string(&value(i)))?;
    }
    Ok(())
}

/// What `GET /compute/N` answers: the sum of `i * i % 7` for `i` below N.
fn sum_of_squares_mod_7(n: u64) -> u64 {
    (0..n).map(|i| i * i % 7).sum()
}

/// `s` as a JSON string (the values here are ASCII).
fn json_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Sends one request and fails unless the answer has `status` and `body`.
fn expect(server: &Server, method: &str, path: &str, body: &str, status: u16, want: &str) -> Result<(), String> {
    let (got_status, got) = request(server.port, method, path, body)
        .map_err(|err| format!("{} server, {method} {path}: {err}", server.name))?;
    if got_status != status || got != want {
        return Err(format!(
            "the {} server answers {method} {path} with {got_status} {got:?}, not {status} {want:?}",
            server.name
        ));
    }
    Ok(())
}

/// A server's resident set size (bytes) and thread count at one moment.
#[derive(Clone, Copy, Default)]
struct Memory {
    rss: u64,
    threads: usize,
}

impl Memory {
    fn show(&self) -> String {
        format!("{} ({})", mb(self.rss), self.threads)
    }
}

/// A minimal HTTP/1.1 client: one request on its own connection; the
/// status and the body (de-chunked if need be).
pub(crate) fn request(port: u16, method: &str, path: &str, body: &str) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|err| format!("cannot connect: {err}"))?;
    let timeout = Some(Duration::from_secs(10));
    stream.set_read_timeout(timeout).and_then(|()| stream.set_write_timeout(timeout)).map_err(|e| e.to_string())?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body.as_bytes())).map_err(|e| e.to_string())?;
    let mut answer = vec![];
    stream.read_to_end(&mut answer).map_err(|err| format!("cannot read the answer: {err}"))?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").ok_or_else(|| format!("not an HTTP answer: {answer:?}"))?;
    let status =
        head.split(' ').nth(1).and_then(|code| code.parse().ok()).ok_or_else(|| format!("no status in {head:?}"))?;
    let chunked = head.lines().any(|line| {
        let line = line.to_ascii_lowercase();
        line.starts_with("transfer-encoding:") && line.contains("chunked")
    });
    Ok((status, if chunked { dechunk(body)? } else { body.to_string() }))
}

fn dechunk(mut body: &str) -> Result<String, String> {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").ok_or("bad chunked body")?;
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {size:?}"))?;
        if size == 0 {
            return Ok(out);
        }
        out.push_str(rest.get(..size).ok_or("short chunk")?);
        body = rest.get(size + 2..).ok_or("short chunk")?;
    }
}

/// How wrk is run.
pub(crate) struct Load<'a> {
    pub(crate) opts: &'a LoadArgs,
    /// Where the wrk scripts are.
    pub(crate) programs: &'a Path,
}

/// What wrk reports about one run.
pub(crate) struct WrkResult {
    pub(crate) requests: u64,
    pub(crate) per_second: f64,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    /// Answers other than 2xx and 3xx.
    non_2xx: u64,
    /// Connect, read, write errors and timeouts.
    socket_errors: u64,
    raw: String,
    /// CPU time (user and system, all threads) the server spent meanwhile.
    server_cpu: Duration,
}

impl WrkResult {
    fn errors(&self) -> u64 {
        self.non_2xx + self.socket_errors
    }
}

impl Load<'_> {
    /// wrk on `target` for `secs` seconds; `arg` is passed to a script.
    fn run(&self, server: &Server, target: &Target, arg: &str, secs: u64) -> Result<WrkResult, String> {
        let mut command = Command::new(&self.opts.wrk);
        command
            .arg(format!("--threads={}", self.opts.threads))
            .arg(format!("--connections={}", self.opts.connections.max(self.opts.threads)))
            .arg(format!("--duration={secs}s"))
            .arg("--latency");
        let base = format!("http://127.0.0.1:{}", server.port);
        match target {
            Target::Path(path) => {
                command.arg(format!("{base}{path}"));
            }
            Target::Script(script) => {
                command.arg("--script").arg(self.programs.join(script)).arg(&base).arg("--").arg(arg);
            }
        }
        let output = command.output().map_err(|err| format!("cannot run {}: {err}", self.opts.wrk.display()))?;
        let raw = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            return Err(format!("wrk failed ({}):\n{raw}{}", output.status, String::from_utf8_lossy(&output.stderr)));
        }
        parse_wrk(&raw).ok_or_else(|| format!("cannot read wrk's report:\n{raw}"))
    }

    /// `--warmup` seconds untimed on each server, then `--rounds` timed runs
    /// of `--duration` seconds on each in turns, each with the server's CPU
    /// time: per server, its rounds. `arg` gives a script its argument for
    /// a run (`warm`, `run-1`, …). Any answer other than 2xx or 3xx, or a
    /// socket error, stops the benchmark: a failing server would look fast.
    pub(crate) fn rounds(
        &self,
        servers: &[Server],
        target: &Target,
        name: &str,
        arg: impl Fn(&str) -> String,
    ) -> Result<Vec<Vec<WrkResult>>, String> {
        if self.opts.warmup > 0 {
            for server in servers {
                self.run(server, target, &arg("warm"), self.opts.warmup)?;
            }
        }
        let mut rounds: Vec<Vec<WrkResult>> = servers.iter().map(|_| vec![]).collect();
        for round in 1..=self.opts.rounds.max(1) {
            for (i, server) in servers.iter().enumerate() {
                let cpu = server.cpu()?;
                let mut result = self.run(server, target, &arg(&format!("run-{round}")), self.opts.duration)?;
                result.server_cpu = server.cpu()?.saturating_sub(cpu);
                if result.errors() > 0 {
                    return Err(format!(
                        "{} answered {} of {} {name} requests wrongly or not at all (its log: {}); wrk said:\n{}",
                        server.name,
                        result.errors(),
                        result.requests,
                        server.log.display(),
                        result.raw
                    ));
                }
                rounds[i].push(result);
            }
        }
        Ok(rounds)
    }

    /// `GET /hello` in 10-second runs until a million have been answered,
    /// with the RSS after each run.
    fn million(&self, server: &Server) -> Result<Vec<Memory>, String> {
        let mut total = 0;
        let mut samples = vec![];
        let started = Instant::now();
        while total < 1_000_000 {
            let result = self.run(server, &Target::Path("/hello".into()), "", 10)?;
            if result.errors() > 0 {
                return Err(format!("{} failed {} hello requests:\n{}", server.name, result.errors(), result.raw));
            }
            total += result.requests;
            samples.push(server.memory()?);
        }
        println!(
            "{}: {total} GET /hello in {:.0} s, RSS in MB (threads) after each 10 s: {}",
            server.name,
            started.elapsed().as_secs_f64(),
            samples.iter().map(Memory::show).collect::<Vec<_>>().join(" ")
        );
        Ok(samples)
    }
}

/// Reads wrk's `--latency` report.
fn parse_wrk(raw: &str) -> Option<WrkResult> {
    let mut requests = None;
    let mut per_second = None;
    let (mut p50, mut p99) = (None, None);
    let (mut non_2xx, mut socket_errors) = (0, 0);
    for line in raw.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", value] => p50 = duration(value),
            ["99%", value] => p99 = duration(value),
            ["Requests/sec:", value] => per_second = value.parse().ok(),
            [n, "requests", "in", ..] => requests = n.parse().ok(),
            ["Non-2xx", "or", "3xx", "responses:", n] => non_2xx = n.parse().ok()?,
            ["Socket", "errors:", rest @ ..] => {
                socket_errors = rest.iter().filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok()).sum()
            }
            _ => {}
        }
    }
    Some(WrkResult {
        requests: requests?,
        per_second: per_second?,
        p50: p50?,
        p99: p99?,
        non_2xx,
        socket_errors,
        raw: raw.to_string(),
        server_cpu: Duration::ZERO,
    })
}

/// wrk's `644.00us`, `1.72ms`, `2.01s`, `1.00m`.
fn duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match unit {
        "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(number * scale))
}

/// The first line `wrk --version` prints (it exits 1 after it), or how to
/// get wrk.
pub(crate) fn wrk_version(wrk: &Path) -> Result<String, String> {
    let output = Command::new(wrk).arg("--version").output().map_err(|err| {
        format!("cannot run {} ({err}): install wrk (Debian: `apt-get install wrk`) or pass --wrk PATH", wrk.display())
    })?;
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text.lines().next().unwrap_or("wrk").split(" Copyright").next().unwrap_or("wrk").trim().to_string())
}

/// Per route, each server's median round, and Distlang's throughput over
/// Deno's: the median of the rounds' ratios (each round runs both servers
/// one after the other), with the lowest and highest.
fn print_table(servers: &[Server], routes: &[Route], results: &[Vec<Vec<WrkResult>>]) {
    println!(
        "req/s: wrk's requests per second, p50 / p99: latency in ms, cpu: server CPU time per request in µs \
         (each server's median round); dl/deno: median of the rounds' ratios (lowest–highest)"
    );
    print!("{:<9}", "route");
    for server in servers {
        print!("{:>12}{:>17}{:>8}", format!("{} req/s", server.name), "p50 / p99", "cpu");
    }
    if servers.len() > 1 {
        print!("{:>22}   goal", "dl/deno");
    }
    println!();
    for (route, rounds) in routes.iter().zip(results) {
        print!("{:<9}", route.name);
        for server_rounds in rounds {
            let result = median_by(server_rounds, |r| r.per_second);
            let cpu = result.server_cpu.as_secs_f64() * 1e6 / result.requests.max(1) as f64;
            print!(
                "{:>12.0}{:>17}{:>8.0}",
                result.per_second,
                format!("{:.2} / {:.2}", ms(result.p50), ms(result.p99)),
                cpu
            );
        }
        if let [dl, deno] = rounds.as_slice() {
            let ratios: Vec<f64> = dl.iter().zip(deno).map(|(d, n)| d.per_second / n.per_second).collect();
            let ratio = *median_by(&ratios, |r| *r);
            let (low, high) = ratios.iter().fold((f64::MAX, 0.0f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
            print!("{:>22}", format!("{ratio:.2}x ({low:.2}–{high:.2})"));
            if let Some(goal) = route.goal {
                let verdict = if ratio >= goal { "met" } else { "MISSED" };
                print!("   ≥ {goal:.0}x Deno: {verdict}");
            }
        }
        println!();
    }
}

/// The item whose `key` is the median (the upper one of an even count).
pub(crate) fn median_by<T>(items: &[T], key: impl Fn(&T) -> f64) -> &T {
    let mut sorted: Vec<&T> = items.iter().collect();
    sorted.sort_by(|a, b| key(a).total_cmp(&key(b)));
    sorted[sorted.len() / 2]
}

/// The RSS table, and the verdict on Distlang's goal: under 20 MB idle
/// and flat (judged over the million requests when there were).
fn print_rss(servers: &[Server], rss: &[Vec<(String, Memory)>], million: &[Vec<Memory>]) {
    println!("RSS (VmRSS) in MB, and (threads):");
    let Some(labels) = rss.first() else { return };
    print!("{:<9}", "");
    for (label, _) in labels {
        print!("{label:>15}");
    }
    println!();
    for (server, samples) in servers.iter().zip(rss) {
        print!("{:<9}", server.name);
        for (_, memory) in samples {
            print!("{:>15}", memory.show());
        }
        println!();
    }
    let dl = &rss[0];
    let idle = dl[0].1.rss;
    let most = dl.iter().map(|(_, memory)| memory.rss).max().unwrap_or(idle);
    let verdict = if idle < RSS_GOAL { "met" } else { "MISSED" };
    let over = if most < RSS_GOAL { "under" } else { "OVER" };
    println!(
        "goal: dl idle under {} MB: {} MB: {verdict} (highest under load {:.2} MB, {over} {} MB)",
        RSS_GOAL / 1_000_000,
        mb(idle),
        most as f64 / 1e6,
        RSS_GOAL / 1_000_000
    );
    match million.first().filter(|samples| samples.len() > 1) {
        Some(samples) => {
            let (first, last) = (samples[0].rss, samples[samples.len() - 1].rss);
            let growth = last as f64 - first as f64;
            let verdict = if growth < FLAT as f64 { "met" } else { "MISSED" };
            println!(
                "goal: dl flat over a million requests: {} MB after the first 10 s of them, {} MB at the end \
                 ({:+.1} MB; flat means under +{} MB): {verdict}",
                mb(first),
                mb(last),
                growth / 1e6,
                FLAT / 1_000_000
            );
        }
        None => println!("goal: dl flat: judged with --million"),
    }
}

/// The first field of `/proc/loadavg`: on a shared machine, whether
/// something else ran meanwhile.
pub(crate) fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().next().unwrap_or("?").to_string()
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux).
fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        let output = Command::new("getconf").arg("CLK_TCK").output().ok();
        let ticks = output.and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok());
        ticks.filter(|&t: &f64| t > 0.0).unwrap_or(100.0)
    })
}

fn mb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1e6)
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
