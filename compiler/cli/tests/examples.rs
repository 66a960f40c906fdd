//! The server runtime end to end (brief §4–7, issue 4): the examples under `examples/` and the
//! small programs under `tests/programs/` are built once per test binary with `dlc build`, started
//! on a free port (`--port 0`; the port is read from the first stderr line, `listening on
//! http://ADDR`) with a fresh `--db` per test, and driven over real HTTP/1.1 through
//! `std::net::TcpStream`. Every server is killed when its test ends, failing or not.
//!
//! Covered: every status the brief names (200 text/html/JSON/any value, 201 via `status`, 302
//! `redirect`, `with_header`, 404, 405 with `Allow`, 413 over `--max-body`, 400 `{"error": …}` for
//! an `Err` through `?` and for malformed JSON naming the path, 500 with a short id and nothing
//! internal), JSON round trips, rollback after a runtime error, persistence across a graceful
//! stop and a `kill -9`, graceful shutdown finishing a write in flight, `--run-cron` (success,
//! unknown name, failure rolled back), secrets (missing, present, never in the log), schema
//! changes (incompatible refused with the file byte-identical, compatible accepted), concurrent
//! reads and serialised writes, `main` before serving, `PORT` and `--help`.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use support::{LIMIT, Response, Server, build, command, http, process, raw, text};

const TODO: &str = "examples/todo.dl";
const SHORTENER: &str = "examples/shortener.dl";
const COUNTER: &str = "examples/counter.dl";
const SERVICE: &str = "compiler/cli/tests/programs/service.dl";
const SECRETS: &str = "compiler/cli/tests/programs/secrets.dl";
const SCHEMA_V1: &str = "compiler/cli/tests/programs/schema_v1.dl";
const SCHEMA_V2: &str = "compiler/cli/tests/programs/schema_v2.dl";
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

// ---- checks ----

/// The request lines of a log (`METHOD PATH STATUS TIMEms`).
fn request_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|line| ["GET ", "HEAD ", "POST ", "PUT ", "PATCH ", "DELETE ", "OPTIONS "].iter().any(|m| line.starts_with(m)))
        .collect()
}

/// Asserts that the log has a request line `METHOD PATH STATUS` followed by a time in ms.
fn assert_logged(log: &str, method: &str, path: &str, status: u16) {
    let prefix = format!("{method} {path} {status} ");
    let found = request_lines(log).into_iter().any(|line| {
        line.strip_prefix(&prefix)
            .and_then(|time| time.strip_suffix("ms"))
            .is_some_and(|ms| ms.parse::<f64>().is_ok())
    });
    assert!(found, "no log line `{prefix}TIMEms` in:\n{log}");
}

fn is_key(key: &str) -> bool {
    key.len() == 26 && key.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Asserts that a 500's body is `{"error":"internal error","id":ID}` with a short hex id, and
/// returns the id.
fn error_id(reply: &Response) -> String {
    assert_eq!(reply.status, 500, "{reply:?}");
    assert_eq!(reply.header("content-type"), Some("application/json"), "{reply:?}");
    let body = reply.json();
    let object = body.as_object().unwrap_or_else(|| panic!("{reply:?}"));
    assert_eq!(object.len(), 2, "only `error` and `id`: {reply:?}");
    assert_eq!(body["error"], "internal error", "{reply:?}");
    let id = body["id"].as_str().unwrap_or_else(|| panic!("{reply:?}")).to_string();
    assert!(id.len() >= 4 && id.len() <= 16 && id.bytes().all(|b| b.is_ascii_hexdigit()), "a short hex id: {id:?}");
    id
}

// ---- todo.dl ----

#[test]
fn todo_api_creates_reads_filters_edits_and_deletes() {
    let dir = workdir("todo-api");
    let mut server = Server::on(&built(TODO), &dir, "todo.db", &[]);
    let mut sent = 0;
    let mut send = |method: &str, path: &str, body: &str| {
        sent += 1;
        server.send(method, path, &[("content-type", "application/json")], body)
    };

    let r = send("GET", "/todos", "");
    assert_eq!((r.status, r.body.as_str(), r.header("content-type")), (200, "[]", Some("application/json")));

    let r = send("POST", "/todos", r#"{"title": "  Buy milk ", "tags": [" Home", "", "ERRANDS"]}"#);
    assert_eq!(r.status, 201, "{r:?}");
    let milk = r.json()["id"].as_str().unwrap().to_string();
    assert!(is_key(&milk), "an insert key: {milk:?}");
    assert_eq!(r.header("location"), Some(format!("/todos/{milk}").as_str()));
    let milk_json = format!(r#"{{"id":"{milk}","title":"Buy milk","done":false,"tags":["errands","home"]}}"#);
    assert_eq!(r.body, milk_json, "compact, fields in declaration order");

    let r = send("POST", "/todos", r#"{"title":"Call mom","tags":["family"]}"#);
    let call = r.json()["id"].as_str().unwrap().to_string();
    assert!(call > milk, "insert keys are time-ordered: {milk} then {call}");
    let call_json = format!(r#"{{"id":"{call}","title":"Call mom","done":false,"tags":["family"]}}"#);

    assert_eq!(send("GET", &format!("/todos/{milk}"), "").expect(200), milk_json);
    assert_eq!(send("GET", "/todos", "").expect(200), format!("[{milk_json},{call_json}]"));
    assert_eq!(send("GET", "/todos?tag=home", "").expect(200), format!("[{milk_json}]"));
    assert_eq!(send("GET", "/todos?tag=nothing", "").expect(200), "[]");

    // PATCH: Option fields missing or null leave the todo alone.
    let r = send("PATCH", &format!("/todos/{milk}"), r#"{"done": true}"#);
    assert_eq!(r.json(), json!({"id": milk, "title": "Buy milk", "done": true, "tags": ["errands", "home"]}), "{r:?}");
    let r = send("PATCH", &format!("/todos/{milk}"), r#"{"title": null, "done": null, "tags": ["Shop "]}"#);
    assert_eq!(r.json(), json!({"id": milk, "title": "Buy milk", "done": true, "tags": ["shop"]}), "{r:?}");
    let r = send("PATCH", &format!("/todos/{milk}"), r#"{"title": "   "}"#);
    assert_eq!((r.status, r.body.as_str()), (400, r#"{"error":"title must not be empty"}"#));

    let r = send("PUT", &format!("/todos/{milk}"), r#"{"title": "Buy oat milk", "tags": []}"#);
    assert_eq!(r.json(), json!({"id": milk, "title": "Buy oat milk", "done": true, "tags": []}), "{r:?}");

    let r = send("POST", &format!("/todos/{call}/toggle"), "");
    assert_eq!(r.json()["done"], true, "{r:?}");
    let r = send("POST", &format!("/todos/{call}/toggle"), "");
    assert_eq!(r.json()["done"], false, "{r:?}");

    assert_eq!(send("GET", "/todos/nope", "").expect(404), "no todo nope");
    assert_eq!(send("PUT", "/todos/nope", r#"{"title":"x","tags":[]}"#).expect(404), "no todo nope");
    assert_eq!(send("DELETE", &format!("/todos/{milk}"), "").expect(204), "");
    assert_eq!(send("DELETE", &format!("/todos/{milk}"), "").status, 404);
    assert_eq!(send("GET", &format!("/todos/{milk}"), "").status, 404);
    assert_eq!(send("GET", "/todos", "").expect(200), format!("[{call_json}]"));

    assert_eq!(server.terminate().code(), Some(0), "a graceful stop exits 0:\n{}", server.log());
    let log = server.log();
    assert_eq!(request_lines(&log).len(), sent, "one log line per request:\n{log}");
    assert_logged(&log, "POST", "/todos", 201);
    assert_logged(&log, "PATCH", &format!("/todos/{milk}"), 400);
    assert_logged(&log, "DELETE", &format!("/todos/{milk}"), 204);
    assert_logged(&log, "GET", "/todos", 200);
    assert!(!log.contains("tag=home"), "the log leaves queries out:\n{log}");
}

#[test]
fn malformed_json_is_a_400_naming_the_path_and_stores_nothing() {
    let dir = workdir("todo-bad-json");
    let server = Server::on(&built(TODO), &dir, "todo.db", &[]);
    let cases = [
        (r#"{"title": 5, "tags": []}"#, r#"{"error":"$.title: expected String, found number"}"#),
        (r#"{"title": "a", "tags": ["a", 3]}"#, r#"{"error":"$.tags[1]: expected String, found number"}"#),
        (r#"{"title": "a", "tags": null}"#, r#"{"error":"$.tags: expected List<String>, found null"}"#),
        (r#"{"title": "a"}"#, r#"{"error":"$: missing field \"tags\""}"#),
        (r#"{"title": "a", "tags": [], "due": 1}"#, r#"{"error":"$: unknown field \"due\""}"#),
        (r#"{"title": "  ", "tags": []}"#, r#"{"error":"title must not be empty"}"#),
    ];
    for (body, error) in cases {
        let r = server.post("/todos", body);
        assert_eq!((r.status, r.body.as_str()), (400, error), "for {body}: {r:?}");
        assert_eq!(r.header("content-type"), Some("application/json"), "{r:?}");
    }
    for body in [r#"{"title": "a", "tags": ["#, "", "not json"] {
        let r = server.post("/todos", body);
        assert_eq!(r.status, 400, "for {body:?}: {r:?}");
        assert!(r.json()["error"].as_str().unwrap().starts_with("invalid JSON at line 1, column "), "{r:?}");
    }
    let r = server.send("PATCH", "/todos/anything", &[], r#"{"done": "yes"}"#);
    assert_eq!(r.body, r#"{"error":"$.done: expected Bool, found string"}"#, "{r:?}");
    assert_eq!(server.get("/todos").expect(200), "[]", "nothing was stored");
}

#[test]
fn unknown_paths_are_404_and_other_methods_405_with_allow() {
    let dir = workdir("todo-404-405");
    let server = Server::on(&built(TODO), &dir, "todo.db", &[]);
    for path in ["/nope", "/", "/todos/a/b/c", "/todos/a/toggle/x"] {
        let r = server.get(path);
        assert_eq!((r.status, r.body.as_str()), (404, "not found"), "GET {path}: {r:?}");
    }
    assert_eq!(server.send("DELETE", "/nope", &[], "").status, 404);
    for (method, path, allow) in [
        ("PUT", "/todos", "GET, HEAD, POST"),
        ("DELETE", "/todos", "GET, HEAD, POST"),
        ("POST", "/todos/x", "DELETE, GET, HEAD, PATCH, PUT"),
        ("GET", "/todos/x/toggle", "POST"),
        ("OPTIONS", "/todos/x/toggle", "POST"),
    ] {
        let r = server.send(method, path, &[], "");
        assert_eq!(r.status, 405, "{method} {path}: {r:?}");
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}: {r:?}");
    }
    // The route's own 404 is not the server's.
    assert_eq!(server.get("/todos/x").expect(404), "no todo x");
}

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
fn data_persists_across_a_graceful_restart() {
    let dir = workdir("todo-restart");
    let exe = built(TODO);
    let mut server = Server::on(&exe, &dir, "todo.db", &[]);
    let first = server.post("/todos", r#"{"title":"one","tags":["a"]}"#).json();
    let second = server.post("/todos", r#"{"title":"two","tags":[]}"#).json();
    let before = server.get("/todos").expect(200).to_string();
    assert_eq!(server.terminate().code(), Some(0), "{}", server.log());
    assert!(server.log().contains("stopped"), "{}", server.log());

    let mut server = Server::on(&exe, &dir, "todo.db", &[]);
    assert_eq!(server.get("/todos").expect(200), before);
    assert_eq!(server.get(&format!("/todos/{}", first["id"].as_str().unwrap())).json(), first);
    let third = server.post("/todos", r#"{"title":"three","tags":[]}"#).json();
    assert!(third["id"].as_str() > second["id"].as_str(), "keys stay ordered across restarts");
    server.terminate();
    let server = Server::on(&exe, &dir, "todo.db", &[]);
    assert_eq!(server.get("/todos").json().as_array().map(Vec::len), Some(3));
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

#[test]
fn todo_sweep_cron_runs_once_with_run_cron() {
    let dir = workdir("todo-sweep");
    let exe = built(TODO);
    let mut server = Server::on(&exe, &dir, "todo.db", &[]);
    let keep = server.post("/todos", r#"{"title":"keep","tags":[]}"#).json();
    let done = server.post("/todos", r#"{"title":"done","tags":[]}"#).json();
    server.post(&format!("/todos/{}/toggle", done["id"].as_str().unwrap()), "").expect(200);
    server.terminate();

    let out = run(&exe, &dir, &["--db", "todo.db", "--run-cron", "sweep"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "swept 1 done todos\n");
    assert!(!text(&out.stderr).contains("listening"), "--run-cron does not serve: {}", text(&out.stderr));

    let server = Server::on(&exe, &dir, "todo.db", &[]);
    assert_eq!(server.get("/todos").json(), json!([keep]));
}

// ---- counter.dl ----

#[test]
fn counter_api_counts_resets_and_deletes() {
    let dir = workdir("counter-api");
    let server = Server::on(&built(COUNTER), &dir, "counter.db", &[]);
    assert_eq!(server.get("/counters").expect(200), "[]");
    assert_eq!(server.get("/counters/visits").expect(200), "0");
    assert_eq!(server.post("/counters/visits/increment?by=5", "").expect(200), "5");
    assert_eq!(server.post("/counters/visits/increment", "").expect(200), "6");
    for by in ["0", "-3", "lots"] {
        let r = server.post(&format!("/counters/visits/increment?by={by}"), "");
        assert_eq!((r.status, r.json()), (400, json!({"error": format!("by must be a positive integer, not {by}")})));
    }
    assert_eq!(server.post("/counters/hits/increment", "").expect(200), "1");
    assert_eq!(server.get("/counters/visits").expect(200), "6");
    assert_eq!(server.get("/counters").expect(200), r#"[["hits",1],["visits",6]]"#, "entries as [key, value] in key order");
    assert_eq!(server.post("/counters/visits/reset", "").expect(200), r#"{"name":"visits","previous":6}"#);
    assert_eq!(server.get("/counters/visits").expect(200), "0");
    assert_eq!(server.send("DELETE", "/counters/hits", &[], "").expect(204), "");
    assert_eq!(server.send("DELETE", "/counters/hits", &[], "").expect(404), "no counter hits");
    assert_eq!(server.get("/counters/visits/history").expect(200), "[]");
}

#[test]
fn counter_nightly_cron_runs_once_with_run_cron() {
    let dir = workdir("counter-cron");
    let exe = built(COUNTER);
    let mut server = Server::on(&exe, &dir, "counter.db", &[]);
    server.post("/counters/visits/increment?by=5", "").expect(200);
    server.post("/counters/hits/increment", "").expect(200);
    server.terminate();

    let before = now_ms();
    let out = run(&exe, &dir, &["--db", "counter.db", "--run-cron", "nightly"], &[]);
    let after = now_ms();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "snapshotted 2 counters\n");

    let server = Server::on(&exe, &dir, "counter.db", &[]);
    let history = server.get("/counters/visits/history").json();
    let at = history[0]["at"].as_i64().unwrap_or_else(|| panic!("{history}"));
    assert_eq!(history, json!([{"name": "visits", "value": 5, "at": at}]));
    assert!((before..=after).contains(&at), "the snapshot's time {at} is the cron run's ({before}..{after})");
    assert_eq!(server.get("/counters/hits/history").json()[0]["value"], 1);
}

#[test]
fn run_cron_of_an_unknown_name_exits_2() {
    let dir = workdir("cron-unknown");
    let out = run(&built(COUNTER), &dir, &["--db", "counter.db", "--run-cron", "hourly"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("hourly"), "the message names the cron asked for: {stderr}");
    assert!(!stderr.contains("listening"), "{stderr}");
}

#[test]
fn a_failing_cron_exits_1_and_is_rolled_back() {
    let dir = workdir("cron-failing");
    let exe = built(SERVICE);
    let out = run(&exe, &dir, &["--db", "service.db", "--run-cron", "broken"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("broken") && stderr.contains("assertion failed"), "{stderr}");
    assert!(stderr.contains("service.dl:"), "the error names the source location: {stderr}");

    let out = run(&exe, &dir, &["--db", "service.db", "--run-cron", "tick"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("ticked"), "{}", text(&out.stdout));

    let server = Server::on(&exe, &dir, "service.db", &[]);
    assert_eq!(server.get("/marks/broken").expect(200), "0", "the failed run's write was rolled back");
    assert_eq!(server.get("/marks/tick").expect(200), "1");
}

// ---- shortener.dl and secrets ----

const ADMIN_TOKEN: &str = "tok-7f3a9c-never-in-logs";

#[test]
fn shortener_creates_redirects_counts_and_guards_admin_routes() {
    let dir = workdir("shortener");
    let mut server = Server::on(&built(SHORTENER), &dir, "links.db", &[("ADMIN_TOKEN", ADMIN_TOKEN)]);
    let admin = format!("Bearer {ADMIN_TOKEN}");
    let admin = [("authorization", admin.as_str())];

    let r = server.post("/links", r#"{"url": "https://example.com/a", "code": null}"#);
    assert_eq!(r.status, 201, "{r:?}");
    let fresh = r.body.strip_prefix('/').unwrap_or_else(|| panic!("{r:?}")).to_string();
    assert_eq!(fresh.len(), 7, "{r:?}");
    assert_eq!(r.header("location"), Some(r.body.as_str()));
    let r = server.post("/links", r#"{"url": "https://example.org/b", "code": "docs"}"#);
    assert_eq!((r.status, r.body.as_str(), r.header("location")), (201, "/docs", Some("/docs")));
    // A missing `Option` field is `None`.
    assert_eq!(server.post("/links", r#"{"url": "https://example.net/"}"#).status, 201);

    for (body, error) in [
        (r#"{"url": "https://x.example", "code": "docs"}"#, "the code docs is taken"),
        (r#"{"url": "ftp://x", "code": null}"#, "not an http(s) URL: ftp://x"),
        (r#"{"url": "https://x.example", "code": "No"}"#, "a code is 3 to 32 of a-z, 0-9, - and _"),
        (r#"{"url": 3, "code": null}"#, "$.url: expected String, found number"),
    ] {
        let r = server.post("/links", body);
        assert_eq!((r.status, r.json()), (400, json!({ "error": error })), "{body}");
    }

    for _ in 0..2 {
        let r = server.get("/docs");
        assert_eq!((r.status, r.header("location"), r.body.as_str()), (302, Some("https://example.org/b"), ""), "{r:?}");
    }
    assert_eq!(server.get("/missing").expect(404), "no link /missing");
    let stats = server.get("/stats/docs").json();
    let last_visit = stats["last_visit"].as_i64().unwrap_or_else(|| panic!("{stats}"));
    assert_eq!(stats, json!({"code": "docs", "url": "https://example.org/b", "visits": 2, "last_visit": last_visit}));
    assert_eq!(
        server.get(&format!("/stats/{fresh}")).body,
        format!(r#"{{"code":"{fresh}","url":"https://example.com/a","visits":0,"last_visit":null}}"#)
    );

    // The secret guards the admin routes.
    assert_eq!(server.get("/admin/links").expect(401), "admin only");
    assert_eq!(server.send("GET", "/admin/links", &[("authorization", "Bearer wrong")], "").status, 401);
    let all = server.send("GET", &format!("/admin/links?token={ADMIN_TOKEN}"), &admin, "").json();
    assert_eq!(all.as_array().map(Vec::len), Some(3), "{all}");
    assert_eq!(all[0]["code"], "docs", "sorted by visits, most first: {all}");
    assert_eq!(server.send("DELETE", "/admin/links/docs", &[], "").status, 401);
    assert_eq!(server.send("DELETE", "/admin/links/docs", &admin, "").expect(204), "");
    assert_eq!(server.send("DELETE", "/admin/links/docs", &admin, "").status, 404);
    assert_eq!(server.get("/docs").status, 404);

    server.terminate();
    let log = server.log();
    assert_logged(&log, "GET", "/admin/links", 200);
    assert!(!log.contains(ADMIN_TOKEN), "the secret's value is in the log:\n{log}");
    assert!(!server.stdout().contains(ADMIN_TOKEN));
}

#[test]
fn a_missing_secret_stops_start_up_naming_it() {
    let dir = workdir("secret-missing");
    for (source, secret) in [(SHORTENER, "ADMIN_TOKEN"), (SECRETS, "API_TOKEN")] {
        let exited = Server::try_start(&built(source), &dir, &["--port", "0", "--db", "app.db"], &[], LIMIT)
            .err()
            .unwrap_or_else(|| panic!("{source} served without its secret {secret}"));
        assert_eq!(exited.status.and_then(|s| s.code()), Some(1), "{exited:?}");
        assert!(exited.stderr.contains(secret), "the error names {secret}: {exited:?}");
        assert!(!exited.stderr.contains("listening"), "{exited:?}");
    }
}

const API_TOKEN: &str = "api-0d5e1b-top-secret";

#[test]
fn a_present_secret_works_and_never_appears_in_the_log() {
    let dir = workdir("secret-present");
    let mut server = Server::on(&built(SECRETS), &dir, "secrets.db", &[("API_TOKEN", API_TOKEN)]);
    let bearer = format!("Bearer {API_TOKEN}");
    assert_eq!(server.send("GET", "/private", &[("authorization", &bearer)], "").expect(200), "welcome");
    assert_eq!(server.send("GET", "/private", &[("authorization", "Bearer nope")], "").expect(401), "who are you?");
    assert_eq!(server.get(&format!("/private?token={API_TOKEN}")).status, 401);
    assert_eq!(server.get("/length").expect(200), API_TOKEN.len().to_string());
    // A runtime error while the secret is in hand: nothing of it reaches the client or the log.
    let r = server.send("GET", "/crash", &[("authorization", &bearer)], "");
    let id = error_id(&r);
    assert!(!r.body.contains(API_TOKEN));
    assert_eq!(server.get("/length").status, 200, "the server carries on");
    server.terminate();
    let log = server.log();
    assert!(log.contains(&id), "the 500's id is in the log:\n{log}");
    assert!(!log.contains(API_TOKEN), "the secret's value is in the log:\n{log}");
}

/// Strict reading of "secrets never appear in logs": the runtime knows every secret's value, so
/// a failure message it logs (here a cron's `Err` through `?` that quotes the token) must not
/// show it either.
#[test]
fn a_failing_cron_does_not_log_a_secret() {
    let dir = workdir("secret-cron");
    let out = run(&built(SECRETS), &dir, &["--db", "secrets.db", "--run-cron", "leak"], &[("API_TOKEN", API_TOKEN)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("leak"), "{stderr}");
    assert!(!stderr.contains(API_TOKEN), "the secret's value is in the log: {stderr}");
}

// ---- service.dl: every kind of response, JSON, rollback, main, concurrency ----

#[test]
fn every_kind_of_response() {
    let dir = workdir("responses");
    let server = Server::on(&built(SERVICE), &dir, "service.db", &[]);
    let r = server.get("/hello");
    assert_eq!((r.status, r.header("content-type"), r.body.as_str()), (200, Some("text/plain; charset=utf-8"), "hello"));
    let r = server.get("/page");
    assert_eq!((r.status, r.header("content-type"), r.body.as_str()), (200, Some("text/html; charset=utf-8"), "<h1>hi</h1>"));
    let r = server.get("/answer");
    assert_eq!((r.status, r.header("content-type"), r.body.as_str()), (200, Some("application/json"), "42"));
    assert_eq!(server.get("/shapes").expect(200), r#"[{"Circle":[1.5]},{"Rect":[2.0,3.0]},"Empty"]"#);
    let r = server.get("/go");
    assert_eq!((r.status, r.body.as_str()), (302, ""), "{r:?}");
    assert_eq!((r.header("location"), r.header("x-extra")), (Some("https://example.com/there"), Some("yes")));
    let r = server.get("/positive/5");
    assert_eq!((r.status, r.body.as_str(), r.header("x-number")), (201, "5 is positive", Some("5")));
    let r = server.get("/positive/-2");
    assert_eq!((r.status, r.header("content-type"), r.body.as_str()), (400, Some("application/json"), r#"{"error":"not positive: -2"}"#));
    assert_eq!(server.get("/positive/abc").body, r#"{"error":"not positive: 0"}"#);
}

#[test]
fn json_round_trips_records_enums_options_tuples_and_lists() {
    let dir = workdir("json");
    let server = Server::on(&built(SERVICE), &dir, "service.db", &[]);
    let a = r#"{"name":"a","shape":{"Rect":[1.0,2.5]},"note":null,"tags":["x","y"],"pair":[3,true]}"#;
    assert_eq!(server.put("/items/a", a).expect(201), "a");
    assert_eq!(server.get("/items/a").expect(200), a);
    // Fields in any order come back in declaration order; `Some(x)` is `x`.
    let b = r#"{"pair":[-1,false],"tags":[],"note":"hi","shape":"Empty","name":"b"}"#;
    server.put("/items/b", b).expect(201);
    let b = r#"{"name":"b","shape":"Empty","note":"hi","tags":[],"pair":[-1,false]}"#;
    assert_eq!(server.get("/items/b").expect(200), b);
    // A missing `Option` field is `None`, sent back as null; an integral Float prints as one.
    server.put("/items/c", r#"{"name":"c","shape":{"Circle":[2]},"tags":[],"pair":[-9223372036854775808,true]}"#).expect(201);
    let c = r#"{"name":"c","shape":{"Circle":[2.0]},"note":null,"tags":[],"pair":[-9223372036854775808,true]}"#;
    assert_eq!(server.get("/items/c").expect(200), c);
    assert_eq!(server.put("/items/a", a).expect(200), "a", "a replacement");
    assert_eq!(server.get("/items").expect(200), format!(r#"[["a",{a}],["b",{b}],["c",{c}]]"#));
    // Unicode and escapes survive.
    let d = r#"{"name":"caf\u00e9 \"q\" \\ \n ☃","shape":"Empty","note":null,"tags":[],"pair":[0,false]}"#;
    server.put("/items/d", d).expect(201);
    assert_eq!(server.get("/items/d").json()["name"], "café \"q\" \\ \n ☃");

    let base = r#""name":"q","tags":[],"note":null"#;
    for (fields, error) in [
        (r#""shape":{"Square":[1.0]},"pair":[1,true]"#, r#"$.shape: unknown variant \"Square\" of Shape"#),
        (r#""shape":"Circle","pair":[1,true]"#, r#"$.shape: \"Circle\" has a payload: expected {\"Circle\": [...]}"#),
        (r#""shape":"Empty","pair":[1]"#, "$.pair: expected 2 elements, found 1"),
        (r#""shape":"Empty","pair":[1.5,true]"#, "$.pair[0]: expected Int, found number 1.5"),
        (r#""shape":"Empty","pair":[1,"yes"]"#, "$.pair[1]: expected Bool, found string"),
    ] {
        let r = server.put("/items/q", &format!("{{{base},{fields}}}"));
        assert_eq!((r.status, r.body.clone()), (400, format!(r#"{{"error":"{error}"}}"#)), "{fields}");
    }
    assert_eq!(server.get("/items/q").status, 404, "nothing stored by a refused body");
}

#[test]
fn a_runtime_error_is_a_500_with_an_id_rolled_back_and_the_server_carries_on() {
    let dir = workdir("runtime-error");
    let mut server = Server::on(&built(SERVICE), &dir, "service.db", &[]);
    // Writes to two stores, then divides by zero.
    let r = server.post("/explode/z", "");
    let id = error_id(&r);
    for internal in ["division", "zero", "service.dl", "explode", "panic", "at "] {
        assert!(!r.body.contains(internal), "{internal:?} leaked to the client: {r:?}");
    }
    assert_eq!(server.get("/items/z").expect(404), "no item z", "the item's write was rolled back");
    assert_eq!(server.get("/marks/z").expect(200), "0", "the mark's write was rolled back");
    assert_eq!(server.get("/items").expect(200), "[]");

    let overflow = error_id(&server.get("/overflow"));
    assert_ne!(overflow, id, "each error has its own id");

    // Still serving, reads and writes.
    assert_eq!(server.get("/hello").expect(200), "hello");
    assert_eq!(server.post("/explode/y", "ab").expect(200), "50");
    assert_eq!(server.get("/items/y").json()["name"], "y");
    assert_eq!(server.get("/marks/y").expect(200), "1");

    server.terminate();
    let log = server.log();
    let line = log.lines().find(|l| l.contains(&id)).unwrap_or_else(|| panic!("no log line with {id}:\n{log}"));
    assert!(line.contains("division by zero") && line.contains("service.dl:"), "the details are logged: {line}");
    assert!(log.lines().any(|l| l.contains(&overflow) && l.contains("overflow")), "{log}");
    assert_logged(&log, "POST", "/explode/z", 500);
    assert_logged(&log, "GET", "/overflow", 500);
}

#[test]
fn main_runs_once_before_serving() {
    let dir = workdir("main");
    let exe = built(SERVICE);
    let mut server = Server::on(&exe, &dir, "service.db", &[]);
    // `main`'s write is committed before the first request is served.
    assert_eq!(server.get("/marks/main").expect(200), "1");
    assert_eq!(server.get("/hello").expect(200), "hello");
    let out = server.wait_for_stdout("serving /hello");
    assert_eq!(out, "main ran\nserving /hello\n", "main's print comes first, once");
    server.terminate();
    let server = Server::on(&exe, &dir, "service.db", &[]);
    assert_eq!(server.get("/marks/main").expect(200), "2", "once per start");
}

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

#[test]
fn a_new_option_field_is_compatible_and_old_rows_read_it_as_null() {
    let dir = workdir("schema-compatible");
    let (v1, v2) = (built(SCHEMA_V1), built(SCHEMA_V2));
    let mut server = Server::on(&v1, &dir, "rows.db", &[]);
    server.put("/rows/k1", r#"{"a":1,"b":"x"}"#).expect(201);
    server.terminate();

    let mut server = Server::on(&v2, &dir, "rows.db", &[]);
    assert_eq!(server.get("/rows").expect(200), r#"[["k1",{"a":1,"b":"x","c":null}]]"#);
    server.put("/rows/k2", r#"{"a":2,"b":"y","c":7}"#).expect(201);
    let both = r#"[["k1",{"a":1,"b":"x","c":null}],["k2",{"a":2,"b":"y","c":7}]]"#;
    assert_eq!(server.get("/rows").expect(200), both);
    server.terminate();
    let mut server = Server::on(&v2, &dir, "rows.db", &[]);
    assert_eq!(server.get("/rows").expect(200), both);
    server.terminate();

    // Going back: to the old program the field `c` was removed.
    let out = run(&v1, &dir, &["--port", "0", "--db", "rows.db"], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("store rows") && stderr.contains("`c`"), "{stderr}");
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
