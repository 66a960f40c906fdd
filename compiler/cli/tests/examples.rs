//! What only a native executable does, end to end (brief §4–7, issue 4): the examples and the
//! small programs under `tests/programs/` are built once per test binary with `dlc build`, started
//! on a free port (`--port 0`; the port is read from the first stderr line, `listening on
//! http://ADDR`) with a fresh `--db` per test, and driven over real HTTP/1.1 through
//! `std::net::TcpStream`. Every server is killed when its test ends, failing or not.
//!
//! Covered: 413 over `--max-body` (answered from the head), acknowledged writes surviving a
//! `kill -9`, concurrent reads and serialised writes, long routes not holding up the others,
//! failing concurrent writes undone alone, SIGTERM finishing a write in flight, an incompatible
//! schema refused with the store file byte-identical, `PORT`, `--help` and bad flags. The HTTP
//! conversations every target holds (the examples' APIs, every kind of response, JSON, rollback,
//! crons, secrets, `main`, schema changes) are in `targets.rs`, run on native and on Workers.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use support::{LIMIT, Server, build, command, http, process, raw, text};

const TODO: &str = "examples/todo.dl";
const COUNTER: &str = "examples/counter.dl";
const SERVICE: &str = "compiler/cli/tests/programs/service.dl";
const SCHEMA_V1: &str = "compiler/cli/tests/programs/schema_v1.dl";
const SCHEMA_RETYPED: &str = "compiler/cli/tests/programs/schema_retyped.dl";

fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("examples")
}

/// A fresh, empty directory for `test`: the servers' working directory and database.
fn workdir(test: &str) -> PathBuf {
    let dir = scratch().join("tests").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test directory");
    dir
}

/// The executable built from `source` (relative to the repository root), once per test binary.
fn built(source: &str) -> PathBuf {
    static BUILT: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());
    let mut built = BUILT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(exe) = built.get(source) {
        return exe.clone();
    }
    let name = Path::new(source).file_stem().expect("a file name").to_string_lossy().into_owned();
    let dir = scratch().join("bin");
    std::fs::create_dir_all(&dir).expect("create the build directory");
    let exe = dir.join(name);
    build(source, &exe);
    built.insert(source.to_string(), exe.clone());
    exe
}

/// Runs `exe` to its end (for `--run-cron`, refusals, `--help`) in `dir`, with `env` set.
fn run(exe: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> process::Output {
    process::run(command(exe, dir, args, env), LIMIT).unwrap_or_else(|err| panic!("{} {args:?}: {err}", exe.display()))
}

// ---- todo.dl ----

#[test]
fn a_body_over_max_body_is_413() {
    let dir = workdir("todo-413");
    let exe = built(TODO);
    let server = Server::start(&exe, &dir, &["--port", "0", "--db", "todo.db", "--max-body", "64"], &[], LIMIT);
    // Answered from the head alone, before any of the body is sent.
    let head = "POST /todos HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 65\r\nconnection: close\r\n\r\n";
    let r = raw(server.port, head.as_bytes());
    assert_eq!(r.status, 413, "{r:?}");
    // Exactly at the limit is accepted; one byte over, body and all, is not.
    let at_limit = format!(r#"{{"title":"{}","tags":[]}}"#, "x".repeat(64 - 22));
    assert_eq!(at_limit.len(), 64);
    assert_eq!(server.post("/todos", &at_limit).status, 201);
    let over = format!(r#"{{"title":"{}","tags":[]}}"#, "x".repeat(65 - 22));
    assert_eq!(server.post("/todos", &over).status, 413);
    assert_eq!(server.get("/todos").json().as_array().map(Vec::len), Some(1), "the server still answers");
    drop(server);

    // The default limit is 1 MiB.
    let server = Server::on(&exe, &dir, "todo.db", &[]);
    let head = "POST /todos HTTP/1.1\r\nhost: x\r\ncontent-length: 1048577\r\nconnection: close\r\n\r\n";
    assert_eq!(raw(server.port, head.as_bytes()).status, 413);
    let big = format!(r#"{{"title":"{}","tags":[]}}"#, "y".repeat(1 << 19));
    assert_eq!(server.post("/todos", &big).status, 201, "half a MiB is under the default limit");
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = workdir("counter-kill");
    let exe = built(COUNTER);
    let mut server = Server::on(&exe, &dir, "counter.db", &[]);
    for i in 1..=5 {
        assert_eq!(server.post("/counters/visits/increment", "").expect(200), i.to_string());
    }
    assert_eq!(server.post("/counters/big/increment?by=1000", "").expect(200), "1000");
    server.kill();
    let server = Server::on(&exe, &dir, "counter.db", &[]);
    assert_eq!(server.get("/counters").expect(200), r#"[["big",1000],["visits",5]]"#);
}

// ---- service.dl: concurrency ----

#[test]
fn reads_run_concurrently_and_writes_serialise() {
    let dir = workdir("concurrency");
    let server = Server::on(&built(SERVICE), &dir, "service.db", &[]);
    let port = server.port;
    let readers: Vec<_> = (0..8)
        .map(|_| thread::spawn(move || http(port, "GET", "/sum/2000000", &[], "")))
        .collect();
    let writers: Vec<_> = (0..4)
        .map(|_| thread::spawn(move || (0..10).map(|_| http(port, "POST", "/marks/hits", &[], "")).collect::<Vec<_>>()))
        .collect();
    for reader in readers {
        let r = reader.join().unwrap();
        assert_eq!(r.expect(200), "[1999999000000,0]");
    }
    let mut seen: Vec<i64> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .map(|r| r.expect(200).parse().unwrap())
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (1..=40).collect::<Vec<i64>>(), "every increment saw the one before");
    assert_eq!(server.get("/marks/hits").expect(200), "40");
}

#[test]
fn long_routes_do_not_hold_up_the_others() {
    // Short routes run on the threads that read requests; a long one must
    // not stop those threads from answering everyone else.
    let dir = workdir("long-routes");
    let server = Server::on(&built(SERVICE), &dir, "service.db", &[]);
    let port = server.port;
    let long: Vec<_> = (0..6)
        .map(|_| thread::spawn(move || http(port, "GET", "/sum/3000000000", &[], "")))
        .collect();
    thread::sleep(Duration::from_millis(200));
    let mut slowest = Duration::ZERO;
    while !long.iter().all(|t| t.is_finished()) {
        let start = Instant::now();
        assert_eq!(server.get("/hello").expect(200), "hello");
        slowest = slowest.max(start.elapsed());
        thread::sleep(Duration::from_millis(20));
    }
    for t in long {
        assert_eq!(t.join().unwrap().expect(200), "[4499999998500000000,0]");
    }
    assert!(slowest < Duration::from_millis(1000), "a /hello took {slowest:?} while long routes ran");
}

#[test]
fn concurrent_writes_that_fail_are_undone_alone() {
    // Writes share transactions (one flush for many): a failing one must
    // take only its own writes with it.
    let dir = workdir("undo-alone");
    let server = Server::on(&built(SERVICE), &dir, "service.db", &[]);
    let port = server.port;
    let writers: Vec<_> = (0..8)
        .map(|t| {
            thread::spawn(move || {
                for i in 0..20 {
                    let good = http(port, "POST", &format!("/explode/good-{t}-{i}"), &[], "ab");
                    assert_eq!(good.expect(200), "50");
                    let bad = http(port, "POST", &format!("/explode/bad-{t}-{i}"), &[], "");
                    assert_eq!(bad.status, 500, "{bad:?}");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let items = server.get("/items").json();
    let mut names: Vec<String> = items.as_array().unwrap().iter().map(|pair| pair[0].as_str().unwrap().to_string()).collect();
    names.sort();
    let mut expected: Vec<String> = (0..8).flat_map(|t| (0..20).map(move |i| format!("good-{t}-{i}"))).collect();
    expected.sort();
    assert_eq!(names, expected, "every good write kept, no failed one");
    for (t, i) in [(0, 0), (3, 7), (7, 19)] {
        assert_eq!(server.get(&format!("/marks/good-{t}-{i}")).expect(200), "1");
        assert_eq!(server.get(&format!("/marks/bad-{t}-{i}")).expect(200), "0");
    }
}

#[test]
fn sigterm_lets_a_write_in_flight_finish_and_commit() {
    let dir = workdir("graceful");
    let exe = built(SERVICE);
    let mut server = Server::on(&exe, &dir, "service.db", &[]);
    let port = server.port;
    let slow = thread::spawn(move || http(port, "POST", "/slow/k", &[], "300000000"));
    thread::sleep(Duration::from_millis(300));
    assert_eq!(server.terminate().code(), Some(0), "{}", server.log());
    assert_eq!(slow.join().unwrap().expect(200), r#""done""#);
    let server = Server::on(&exe, &dir, "service.db", &[]);
    assert_eq!(server.get("/marks/k").expect(200), "300000000");
}

// ---- schemas ----

#[test]
fn an_incompatible_schema_is_refused_and_the_file_left_unchanged() {
    let dir = workdir("schema-incompatible");
    let v1 = built(SCHEMA_V1);
    let mut server = Server::on(&v1, &dir, "rows.db", &[]);
    server.put("/rows/k1", r#"{"a":1,"b":"x"}"#).expect(201);
    assert_eq!(server.terminate().code(), Some(0), "{}", server.log());

    let db = dir.join("rows.db");
    let before = std::fs::read(&db).expect("the store file");
    let out = run(&built(SCHEMA_RETYPED), &dir, &["--port", "0", "--db", "rows.db"], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("listening"), "{stderr}");
    assert!(stderr.contains("store rows") && stderr.contains("field `a` was Int, is now String"), "{stderr}");
    let after = std::fs::read(&db).expect("the store file");
    let differing = before.iter().zip(&after).filter(|(x, y)| x != y).count();
    assert!(
        before == after,
        "the refused program changed the store file: {} bytes before, {} after, {differing} bytes differ, first at {:?}",
        before.len(),
        after.len(),
        before.iter().zip(&after).position(|(x, y)| x != y)
    );

    let server = Server::on(&v1, &dir, "rows.db", &[]);
    assert_eq!(server.get("/rows").expect(200), r#"[["k1",{"a":1,"b":"x"}]]"#);
}

// ---- flags ----

#[test]
fn port_from_the_environment_help_and_bad_flags() {
    let dir = workdir("flags");
    let exe = built(COUNTER);
    let server = Server::start(&exe, &dir, &["--db", "counter.db"], &[("PORT", "0")], LIMIT);
    assert_ne!(server.port, 0);
    assert_eq!(server.get("/counters").expect(200), "[]");
    drop(server);

    let out = run(&exe, &dir, &["--help"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let help = text(&out.stdout);
    for flag in ["--port", "--host", "--db", "--max-body", "--run-cron", "--help"] {
        assert!(help.contains(flag), "--help mentions {flag}: {help}");
    }
    let out = run(&exe, &dir, &["--port", "http"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--port"), "{}", text(&out.stderr));
}
