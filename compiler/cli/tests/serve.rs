//! `dlc serve` as a user runs it: a real server on a real socket, the
//! program file edited (written in place, or written aside and renamed over
//! it, as editors do) while clients keep sending requests.

mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{LIMIT, Server};

const DLC: &str = env!("CARGO_BIN_EXE_dlc");

/// The program under edit: `version` is what `GET /version` answers,
/// `note` the stored type's field (`String`, or `Int`: the body's length),
/// `extra` more declarations.
fn program(version: &str, note: &str, extra: &str) -> String {
    let text = if note == "Int" { "String.length(request.body)" } else { "request.body" };
    format!(
        r#"type Note = {{ text: {note} }}
store notes: Note

route POST /notes {{
  status(201, notes.insert(Note {{ text: {text} }}))
}}

route GET /count {{
  text("{{notes.count()}}")
}}

route GET /version {{
  text("{version}")
}}
{extra}"#
    )
}

fn workdir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test directory");
    dir
}

/// `dlc serve app.dl` in `dir` on a free port, diagnostics coloured as `color` says.
fn serve(dir: &Path, color: &str) -> Server {
    Server::start(Path::new(DLC), dir, &["serve", "app.dl", "--port", "0", "--color", color], &[], LIMIT)
}

/// Saves the program as an editor would: in place, or aside then renamed.
fn save(dir: &Path, text: &str, rename: bool) {
    let file = dir.join("app.dl");
    if rename {
        let aside = dir.join(".app.dl.swp");
        std::fs::write(&aside, text).expect("write");
        std::fs::rename(&aside, &file).expect("rename");
    } else {
        std::fs::write(&file, text).expect("write");
    }
}

/// Polls until `ok` holds (every few milliseconds), or fails naming `what`.
fn until(server: &Server, what: &str, ok: impl Fn() -> bool) {
    let started = Instant::now();
    while !ok() {
        assert!(started.elapsed() < LIMIT, "never saw {what}; the log:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn reloads_keep_every_request_the_socket_and_the_store() {
    let dir = workdir("reload");
    save(&dir, &program("v1", "String", ""), false);
    let server = serve(&dir, "never");
    let port = server.port;

    // Clients: each writes notes and reads the version, all the while.
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let versions = Arc::new(Mutex::new(Vec::<String>::new()));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (stop, failures, versions) = (Arc::clone(&stop), Arc::clone(&failures), Arc::clone(&versions));
            std::thread::spawn(move || {
                let mut written = 0;
                while !stop.load(Ordering::Relaxed) {
                    let r = support::http(port, "POST", "/notes", &[], &format!("client {c} note {written}"));
                    if r.status == 201 {
                        written += 1;
                    } else {
                        failures.lock().unwrap().push(format!("POST /notes: {r:?}"));
                    }
                    let r = support::http(port, "GET", "/version", &[], "");
                    match r.status {
                        200 => {
                            let mut seen = versions.lock().unwrap();
                            if seen.last() != Some(&r.body) {
                                seen.push(r.body);
                            }
                        }
                        _ => failures.lock().unwrap().push(format!("GET /version: {r:?}")),
                    }
                }
                written
            })
        })
        .collect();
    let saw = |version: &str| versions.lock().unwrap().iter().any(|v| v == version);
    let refusals = || server.log().matches("reload of app.dl refused").count();

    // A route's answer changes.
    save(&dir, &program("v2", "String", ""), true);
    until(&server, "v2", || saw("v2"));
    // A new route appears.
    let hello = "route GET /hello {\n  text(\"hello\")\n}\n";
    save(&dir, &program("v3", "String", hello), false);
    until(&server, "GET /hello", || support::http(port, "GET", "/hello", &[], "").body == "hello");
    // A compile error keeps the last good version serving, and is fixed.
    save(&dir, &program("v4", "String", "route GET /broken {\n  1 +\n}\n"), true);
    until(&server, "the compile error refused", || refusals() == 1);
    assert!(server.log().contains("[E0100]"), "the diagnostics are shown:\n{}", server.log());
    save(&dir, &program("v4", "String", hello), true);
    until(&server, "v4", || saw("v4"));
    // A store type the file cannot take is refused, the data untouched.
    save(&dir, &program("v5", "Int", hello), false);
    until(&server, "the store refused", || refusals() == 2);
    assert!(server.log().contains("store notes: field `text` was String, is now Int"), "{}", server.log());
    save(&dir, &program("v6", "String", hello), false);
    until(&server, "v6", || saw("v6"));

    stop.store(true, Ordering::Relaxed);
    let written: usize = clients.into_iter().map(|c| c.join().expect("a client")).sum();
    let failures = failures.lock().unwrap();
    assert!(failures.is_empty(), "{} requests failed, first: {}\n{}", failures.len(), failures[0], server.log());
    assert!(!saw("v5"), "the refused version never served");
    assert_eq!(support::http(port, "GET", "/count", &[], "").body, written.to_string(), "every committed write kept");
    let log = server.log();
    assert_eq!(log.matches("reloaded app.dl in ").count(), 4, "one line per reload:\n{log}");
    assert!(log.contains("+GET /hello"), "the line says what changed:\n{log}");
    assert!(written > 0);
}

#[test]
fn a_missing_secret_is_read_from_dot_env_and_never_logged() {
    let dir = workdir("secrets");
    let source = "secret API_KEY\n\nroute GET /key {\n  text(String.slice(API_KEY, 0, 3))\n}\n";
    std::fs::write(dir.join("app.dl"), source).expect("write");
    std::fs::write(dir.join(".env"), "# local secrets\nAPI_KEY=\"sk-live-7f3a\"\n").expect("write");
    let mut server = serve(&dir, "never");
    assert_eq!(server.get("/key").body, "sk-");
    server.terminate();
    assert!(!server.log().contains("sk-live-7f3a"), "{}", server.log());
}

#[test]
fn crons_run_on_their_schedule() {
    let dir = workdir("crons");
    let source = "store ticks: Int\n\ncron tick \"* * * * *\" {\n  let _ = ticks.insert(1)\n}\n\nroute GET /ticks {\n  text(\"{ticks.count()}\")\n}\n";
    std::fs::write(dir.join("app.dl"), source).expect("write");
    let server = serve(&dir, "never");
    // Due at the start of the next minute: up to 60 s away.
    let started = Instant::now();
    while !server.log().contains("cron tick ok") {
        assert!(started.elapsed() < Duration::from_secs(75), "the cron never ran:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(server.get("/ticks").body, "1", "{}", server.log());
}

/// A program for the dashboard's tests: a store, a route that fails, a cron.
const DASHBOARD_APP: &str = r#"type Note = { text: String }
store notes: Note unique(text)

route POST /notes {
  status(201, notes.insert(Note { text: request.body }))
}

route GET /notes/:key {
  match notes.get(key) {
    Some(note) => text(note.text),
    None => status(404, "no note"),
  }
}

route GET /boom {
  let xs: List<Int> = []
  text("{100 / xs.length()}")
}

cron tidy "0 3 * * *" {
  notes.set("tidied", Note { text: "by the cron" })
}
"#;

/// `DASHBOARD_APP` served, after a note was written (its key) and `GET /boom` failed.
fn dashboard_app(name: &str) -> (PathBuf, Server, String) {
    let dir = workdir(name);
    std::fs::write(dir.join("app.dl"), DASHBOARD_APP).expect("write");
    let server = serve(&dir, "never");
    let key = server.post("/notes", "hello").expect(201).to_string();
    assert_eq!(server.get("/boom").status, 500);
    (dir, server, key)
}

#[test]
fn the_dashboard_api_shows_the_program_traces_stores_and_runs_crons() {
    let (_dir, server, key) = dashboard_app("dashboard-api");

    let state = server.get("/_dl/api/state").json();
    let paths: Vec<&str> = state["manifest"]["routes"].as_array().unwrap().iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["/notes", "/notes/:key", "/boom"]);
    assert_eq!(state["crons"][0]["name"], "tidy");
    assert!(state["crons"][0]["next"].as_i64().is_some(), "{state}");
    assert_eq!(state["error"], serde_json::Value::Null);

    let traces = server.get("/_dl/api/requests").json();
    let boom = traces["requests"].as_array().unwrap().iter().find(|t| t["path"] == "/boom").expect("a trace of GET /boom").clone();
    assert_eq!((boom["status"].as_u64(), boom["route"].as_u64()), (Some(500), Some(2)));
    assert_eq!(boom["error"], "GET /boom: division by zero at app.dl:17:10");
    let post = traces["requests"][0].clone();
    assert_eq!((post["path"].as_str(), post["stores"].clone()), (Some("/notes"), serde_json::json!([format!("insert notes \"{key}\"")])));
    let after = traces["requests"].as_array().unwrap().last().unwrap()["id"].as_u64().unwrap();
    assert_eq!(server.get(&format!("/_dl/api/requests?after={after}")).json()["requests"], serde_json::json!([]));

    // An entry edited through the API is what the next request reads; one of the wrong type is refused.
    let r = server.put(&format!("/_dl/api/stores/notes/{key}"), r#"{"text":"edited"}"#);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(server.get(&format!("/notes/{key}")).body, "edited");
    let read = server.get("/_dl/api/requests").json()["requests"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(read["stores"], serde_json::json!([format!("get notes \"{key}\"")]), "{read}");
    let r = server.put(&format!("/_dl/api/stores/notes/{key}"), r#"{"text":3}"#);
    assert_eq!((r.status, r.json()["error"].as_str()), (400, Some("$.text: expected String, found number")));
    assert_eq!(server.get("/_dl/api/stores/notes").json()["entries"], serde_json::json!([[key, {"text": "edited"}]]));

    assert_eq!(server.post("/_dl/api/crons/tidy/run", "").expect(200), r#"{"ran":"tidy"}"#);
    assert_eq!(server.get("/notes/tidied").body, "by the cron");
    assert_eq!(server.send("DELETE", "/_dl/api/stores/notes/tidied", &[], "").json()["deleted"], true);
    assert_eq!(server.get("/notes/tidied").status, 404);
    assert_eq!(server.post("/_dl/api/crons/nope/run", "").status, 404);
    let log = server.log();
    assert!(log.contains("GET /boom 500") && !log.contains("/_dl/api"), "the dashboard's own requests are not logged:\n{log}");
    assert!(log.contains("division by zero at app.dl:17:10\n   17 |   text(\"{100 / xs.length()}\")"), "the error's source line:\n{log}");
    assert!(log.contains("cron tidy ok (run from the dashboard)"), "{log}");
}

#[test]
fn the_dashboard_shows_a_compile_error_and_refuses_programs_that_shadow_it() {
    let dir = workdir("dashboard-errors");
    std::fs::write(dir.join("app.dl"), DASHBOARD_APP).expect("write");
    let server = serve(&dir, "always");
    save(&dir, &format!("{DASHBOARD_APP}\nroute GET /broken {{\n  1 +\n}}\n"), true);
    until(&server, "the compile error on the dashboard", || server.get("/_dl/api/state").json()["error"].is_string());
    let error = server.get("/_dl/api/state").json()["error"].as_str().unwrap().to_string();
    assert!(error.contains("[E0100] Error: unexpected `}`") && !error.contains('\u{1b}'), "without colour: {error:?}");
    save(&dir, &format!("{DASHBOARD_APP}\nroute GET /_dl/mine {{\n  text(\"mine\")\n}}\n"), true);
    until(&server, "the shadowing refused", || server.log().contains("route GET /_dl/mine: paths under /_dl/ are the dashboard's"));
    save(&dir, DASHBOARD_APP, true);
    until(&server, "the error cleared", || server.get("/_dl/api/state").json()["error"].is_null());
}

#[test]
fn the_dashboard_works_in_a_real_browser() {
    let (dir, server, key) = dashboard_app("dashboard-browser");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/dashboard.mjs");
    let shot = dir.join("dashboard.png");
    let url = format!("http://127.0.0.1:{}/_dl/", server.port);
    let node = std::env::var("DLC_NODE").unwrap_or_else(|_| "node".into());
    let out = std::process::Command::new(node).arg(&script).arg(&url).arg(&shot).output().expect("run node");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.contains("dashboard: ok"), "{said}\n{}", server.log());
    assert!(std::fs::metadata(&shot).is_ok_and(|m| m.len() > 10_000), "a screenshot");
    // The entry edited in the browser is what the next request reads.
    assert_eq!(server.get(&format!("/notes/{key}")).body, "edited in the browser");
    assert_eq!(server.get("/notes/tidied").body, "by the cron", "the button ran the cron");
}

#[test]
fn an_index_added_by_a_reload_holds_every_entry_written_meanwhile() {
    let dir = workdir("index-reload");
    let v1 = "type Note = { text: String }\nstore notes: Note\n\nroute POST /notes {\n  status(201, notes.insert(Note { text: request.body }))\n}\n";
    let v2 = format!(
        "{}\n// How many entries the index does not find.\nroute GET /missing {{\n  let lost = notes.values().filter(fn(n) {{ notes.by_text(n.text, Scan {{}}).entries.length() != 1 }})\n  text(\"{{lost.length()}}\")\n}}\n",
        v1.replace("store notes: Note", "store notes: Note index(text)")
    );
    std::fs::write(dir.join("app.dl"), v1).expect("write");
    let server = serve(&dir, "never");
    let port = server.port;
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|c| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    assert_eq!(support::http(port, "POST", "/notes", &[], &format!("c{c}-{n}")).status, 201);
                    n += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    save(&dir, &v2, true);
    until(&server, "the index", || support::http(port, "GET", "/missing", &[], "").status == 200);
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().expect("a writer");
    }
    until(&server, "every entry in the index", || support::http(port, "GET", "/missing", &[], "").body == "0");
}
