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
    let server = Server::start(Path::new(DLC), &dir, &["serve", "app.dl", "--port", "0", "--color", "never"], &[], LIMIT);
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
    let mut server = Server::start(Path::new(DLC), &dir, &["serve", "app.dl", "--port", "0"], &[], LIMIT);
    assert_eq!(server.get("/key").body, "sk-");
    server.terminate();
    assert!(!server.log().contains("sk-live-7f3a"), "{}", server.log());
}
