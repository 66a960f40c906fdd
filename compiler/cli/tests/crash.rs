//! Crash test (issue 4, brief §4: "all its writes commit atomically when it
//! ends normally — durably, before the response is sent").
//!
//! `programs/crash-store.dl` is built once and served on a free port with a
//! temporary `--db`. Each round, writer threads `POST /items/KEY` distinct
//! keys as fast as they can over keep-alive connections, recording every
//! key whose `201` arrived in full, and a reader polls `GET /count`; a
//! random delay after the first acknowledgement, the server is killed with
//! SIGKILL (`Child::kill`) in the middle of that load. It is then restarted
//! on the same file, which must hold every key acknowledged in this and
//! every earlier round, each with its value, and at least as many rows as
//! any `/count` answer showed before the kill (a read must never show a
//! write that a crash can undo); every row that is there (acknowledged or
//! not) must hold exactly the value that was sent for its key. Then the
//! restarted server must serve normally: acknowledged keys read back one
//! at a time, a new write and its read, a 404. Every other round the first
//! restart is killed as well, within a few milliseconds of starting, while
//! it opens (and recovers) the file.
//!
//! Short mode (the default, for CI): 3 rounds. `DL_LONG_TESTS=1`: 25.
//! Deterministic choices from a fixed seed (`DL_TEST_SEED` overrides it);
//! the kill moments still meet the load at different points, so a failure
//! prints the round, the seed and the server's last log lines.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use support::{Conn, Rng, Server, build, command};

const WRITERS: usize = 4;
/// No single request or start-up may take longer than this.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

#[test]
fn every_acknowledged_write_survives_kill_9() {
    let long = std::env::var("DL_LONG_TESTS").is_ok_and(|v| v == "1");
    let rounds = if long { 25 } else { 3 };
    let seed = std::env::var("DL_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0xc4a5_4d1e_0000_0001u64);
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).max(1));
    let started = Instant::now();

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("crash");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test directory");
    let app = dir.join("app");
    build("compiler/cli/tests/programs/crash-store.dl", &app);
    let args = ["--port", "0", "--db", "crash.db"];

    // Every key acknowledged so far, in any round.
    let mut acknowledged: BTreeSet<String> = BTreeSet::new();
    let mut sent_total = 0u64;
    let mut kills = Vec::new();
    let mut server = Server::start(&app, &dir, &args, &[], IO_TIMEOUT);
    for round in 1..=rounds {
        let context = format!("round {round} of {rounds} (seed {seed:#x})");
        let delay = Duration::from_millis(20 + rng.below(380) as u64);
        kills.push(delay.as_millis());

        let outcome = load_then_kill(&mut server, round, delay);
        if !outcome.failures.is_empty() {
            panic!("{context}: requests failed before the kill:\n{}\nserver log:\n{}", outcome.failures.join("\n"), server.log_tail(30));
        }
        assert!(!outcome.acknowledged.is_empty(), "{context}: no write was acknowledged within {IO_TIMEOUT:?}\nserver log:\n{}", server.log_tail(30));
        sent_total += outcome.sent;
        acknowledged.extend(outcome.acknowledged.iter().cloned());

        // Restart on the same file; recovery must keep every acknowledged
        // write. Every other round, the first restart is killed too, a few
        // milliseconds in: during start-up, often while it recovers the file.
        if round.is_multiple_of(2) {
            let mut child = command(&app, &dir, &args, &[])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start the server");
            thread::sleep(Duration::from_micros(500 + rng.below(5000) as u64));
            child.kill().expect("kill the server");
            child.wait().expect("wait for the server");
        }
        server = Server::start(&app, &dir, &args, &[], IO_TIMEOUT);
        let context = format!("{context}, after a kill {delay:?} into the load");
        let stored = server.entries().unwrap_or_else(|e| panic!("{context}: GET /items failed: {e}\nserver log:\n{}", server.log_tail(30)));
        let missing: Vec<&String> = acknowledged.iter().filter(|k| !stored.contains_key(*k)).collect();
        assert!(
            missing.is_empty(),
            "{context}: {} of {} acknowledged writes are missing after the restart, e.g. {:?}\nserver log:\n{}",
            missing.len(),
            acknowledged.len(),
            &missing[..missing.len().min(10)],
            server.log_tail(30)
        );
        let wrong: Vec<(&String, &String)> = stored.iter().filter(|(k, v)| **v != value_for(k)).collect();
        assert!(wrong.is_empty(), "{context}: rows hold values that were never sent for their keys: {:?}", &wrong[..wrong.len().min(5)]);
        assert!(
            stored.len() as u64 >= outcome.max_count_seen,
            "{context}: GET /count showed {} rows before the kill, but only {} are there after the restart",
            outcome.max_count_seen,
            stored.len()
        );
        server.check_serves_normally(round, &mut rng, &acknowledged).unwrap_or_else(|e| panic!("{context}: the restarted server: {e}\nserver log:\n{}", server.log_tail(30)));
        // The probe write of `check_serves_normally` was acknowledged too.
        acknowledged.insert(probe_key(round));
    }
    drop(server);
    println!(
        "crash test: {rounds} rounds, {} writes acknowledged and all present after kill -9 ({sent_total} sent); kills at {kills:?} ms after the first acknowledgement; {:.1} s",
        acknowledged.len(),
        started.elapsed().as_secs_f64()
    );
}

/// What one round of load saw before the kill.
struct Outcome {
    /// Keys whose `201` arrived in full.
    acknowledged: Vec<String>,
    /// Write requests begun.
    sent: u64,
    /// The largest `GET /count` answered.
    max_count_seen: u64,
    /// Anything wrong before the kill (after it, every request may fail).
    failures: Vec<String>,
}

/// Runs the writers and the reader against `server` for `delay`, kills the
/// server with SIGKILL, and collects what the clients saw.
fn load_then_kill(server: &mut Server, round: usize, delay: Duration) -> Outcome {
    let killed = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let acked = Arc::new(AtomicU64::new(0));
    let max_count = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let port = server.port;
    let fail = {
        let (killed, failures) = (Arc::clone(&killed), Arc::clone(&failures));
        move |what: String| {
            if !killed.load(Ordering::SeqCst) {
                failures.lock().unwrap().push(what);
            }
        }
    };

    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let (killed, sent, acked, fail) = (Arc::clone(&killed), Arc::clone(&sent), Arc::clone(&acked), fail.clone());
        writers.push(thread::spawn(move || {
            let mut acknowledged = Vec::new();
            let mut conn = match Conn::connect(port, IO_TIMEOUT) {
                Ok(conn) => conn,
                Err(e) => {
                    fail(format!("writer {writer}: cannot connect: {e}"));
                    return acknowledged;
                }
            };
            for seq in 0.. {
                if killed.load(Ordering::SeqCst) {
                    break;
                }
                let key = format!("r{round:02}-w{writer}-{seq:06}");
                sent.fetch_add(1, Ordering::SeqCst);
                match conn.request("POST", &format!("/items/{key}"), value_for(&key).as_bytes()) {
                    Ok(r) if r.status == 201 && r.body == key => {
                        acknowledged.push(key);
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(r) => {
                        fail(format!("writer {writer}: POST /items/{key}: {} {:?}", r.status, r.body));
                        break;
                    }
                    Err(e) => {
                        fail(format!("writer {writer}: POST /items/{key}: {e}"));
                        break;
                    }
                }
            }
            acknowledged
        }));
    }
    let reader = {
        let (killed, max_count, fail) = (Arc::clone(&killed), Arc::clone(&max_count), fail.clone());
        thread::spawn(move || {
            let mut conn = match Conn::connect(port, IO_TIMEOUT) {
                Ok(conn) => conn,
                Err(e) => return fail(format!("reader: cannot connect: {e}")),
            };
            let mut last = 0;
            while !killed.load(Ordering::SeqCst) {
                match conn.request("GET", "/count", b"") {
                    Ok(r) if r.status == 200 => match r.body.parse::<u64>() {
                        Ok(n) if n >= last => {
                            last = n;
                            max_count.fetch_max(n, Ordering::SeqCst);
                        }
                        _ => fail(format!("GET /count: {:?} after {last}", r.body)),
                    },
                    Ok(r) => fail(format!("GET /count: status {}", r.status)),
                    Err(e) => {
                        fail(format!("GET /count: {e}"));
                        return;
                    }
                }
                thread::sleep(Duration::from_millis(2));
            }
        })
    };

    // The delay counts from the first acknowledged write, so that every
    // round kills a server under load, however slow the machine is.
    let waiting = Instant::now();
    while acked.load(Ordering::SeqCst) == 0 && waiting.elapsed() < IO_TIMEOUT && failures.lock().unwrap().is_empty() {
        thread::sleep(Duration::from_millis(1));
    }
    thread::sleep(delay);
    killed.store(true, Ordering::SeqCst);
    server.kill();
    let acknowledged: Vec<String> = writers.into_iter().flat_map(|w| w.join().expect("a writer panicked")).collect();
    reader.join().expect("the reader panicked");
    let failures = std::mem::take(&mut *failures.lock().unwrap());
    Outcome { acknowledged, sent: sent.load(Ordering::SeqCst), max_count_seen: max_count.load(Ordering::SeqCst), failures }
}

/// The value written for `key`: checkable from the key alone.
fn value_for(key: &str) -> String {
    format!("{key}:{}", "v".repeat(16 + key.len() * 3))
}

fn probe_key(round: usize) -> String {
    format!("probe-{round:02}")
}

impl Server {
    /// `GET /items`: every stored (key, value).
    fn entries(&self) -> Result<BTreeMap<String, String>, String> {
        let mut conn = Conn::connect(self.port, IO_TIMEOUT).map_err(|e| e.to_string())?;
        let r = conn.request("GET", "/items", b"").map_err(|e| e.to_string())?;
        if r.status != 200 {
            return Err(format!("status {}", r.status));
        }
        let json: serde_json::Value = serde_json::from_str(&r.body).map_err(|e| format!("not JSON: {e}"))?;
        let mut entries = BTreeMap::new();
        for entry in json.as_array().ok_or("not a JSON array")? {
            match entry.as_array().map(|pair| pair.as_slice()) {
                Some([serde_json::Value::String(k), serde_json::Value::String(v)]) => {
                    entries.insert(k.clone(), v.clone());
                }
                _ => return Err(format!("an entry is not a [key, value] pair: {entry}")),
            }
        }
        Ok(entries)
    }

    /// After a restart: some acknowledged keys read back one at a time, a new
    /// write is acknowledged and reads back, an unknown path is a 404.
    fn check_serves_normally(&self, round: usize, rng: &mut Rng, acknowledged: &BTreeSet<String>) -> Result<(), String> {
        let mut conn = Conn::connect(self.port, IO_TIMEOUT).map_err(|e| format!("cannot connect: {e}"))?;
        let keys: Vec<&String> = acknowledged.iter().collect();
        for _ in 0..20 {
            let key = keys[rng.below(keys.len())];
            let r = conn.request("GET", &format!("/items/{key}"), b"").map_err(|e| format!("GET /items/{key}: {e}"))?;
            if r.status != 200 || r.body != value_for(key) {
                return Err(format!("GET /items/{key}: {} {:?}", r.status, r.body));
            }
        }
        let key = probe_key(round);
        let r = conn.request("POST", &format!("/items/{key}"), value_for(&key).as_bytes()).map_err(|e| format!("POST: {e}"))?;
        if r.status != 201 || r.body != key {
            return Err(format!("POST /items/{key}: {} {:?}", r.status, r.body));
        }
        let r = conn.request("GET", &format!("/items/{key}"), b"").map_err(|e| format!("GET: {e}"))?;
        if r.status != 200 || r.body != value_for(&key) {
            return Err(format!("GET /items/{key} after writing it: {} {:?}", r.status, r.body));
        }
        let r = conn.request("GET", "/no/such/path", b"").map_err(|e| format!("GET /no/such/path: {e}"))?;
        if r.status != 404 {
            return Err(format!("GET /no/such/path: {} (expected 404)", r.status));
        }
        Ok(())
    }
}


