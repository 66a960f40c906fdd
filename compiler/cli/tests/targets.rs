//! The same HTTP conversations on every target (issue 12): each test below
//! runs twice, against the executable `dlc build` makes (`native_…`) and
//! against the bundle `dlc ship --target workers` makes, served by real
//! workerd through Miniflare (`workers_…`, with
//! `std-targets/workers/serve.mjs`; the packages come from
//! `npm ci --prefix std-targets/workers`). A fresh store (a `--db` file, or
//! the Durable Object's SQLite directory) per test; real sockets.
//!
//! Covered on both: the todo example's whole API, every kind of response,
//! 404 and 405 with `Allow`, JSON round trips, a runtime error as a 500 with
//! an id and its writes rolled back, `main` once per start, persistence
//! across a restart, a cron run by name, secrets (present, missing, never
//! in the log), schema changes (compatible accepted, incompatible refused
//! naming the store and the difference, the data untouched).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use support::{LIMIT, Response, Server, build, command, process, text};

const DLC: &str = env!("CARGO_BIN_EXE_dlc");
const TODO: &str = "examples/todo.dl";
const SERVICE: &str = "compiler/cli/tests/programs/service.dl";
const SECRETS: &str = "compiler/cli/tests/programs/secrets.dl";
const SCHEMA_V1: &str = "compiler/cli/tests/programs/schema_v1.dl";
const SCHEMA_V2: &str = "compiler/cli/tests/programs/schema_v2.dl";
const SCHEMA_RETYPED: &str = "compiler/cli/tests/programs/schema_retyped.dl";

/// Miniflare starts workerd, which compiles the module: slower than an executable.
const START: Duration = Duration::from_secs(60);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Native,
    Workers,
}

/// A program on a target, with its store in the test's directory; started
/// and stopped as a user would.
struct App {
    target: Target,
    dir: PathBuf,
    /// The executable, or the bundle's directory.
    artefact: PathBuf,
    secrets: Vec<(String, String)>,
    server: Option<Server>,
}

impl App {
    fn new(target: Target, test: &str) -> App {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("targets").join(format!("{test}-{target:?}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the test directory");
        App { target, dir, artefact: PathBuf::new(), secrets: Vec::new(), server: None }
    }

    /// Builds (or ships) `source` as the program this app runs from now on,
    /// on the same store.
    fn program(&mut self, source: &str, secrets: &[(&str, &str)]) -> &mut App {
        self.secrets = secrets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let name = Path::new(source).file_stem().expect("a file name").to_string_lossy().into_owned();
        match self.target {
            Target::Native => {
                self.artefact = self.dir.join(&name);
                build(source, &self.artefact);
            }
            Target::Workers => {
                self.artefact = self.dir.join(format!("{name}-workers"));
                ship(source, &self.artefact);
                let vars: String = self.secrets.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
                std::fs::write(self.artefact.join(".dev.vars"), vars).expect("write .dev.vars");
            }
        }
        self
    }

    fn env(&self) -> Vec<(&str, &str)> {
        match self.target {
            Target::Native => self.secrets.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
            Target::Workers => Vec::new(),
        }
    }

    fn args(&self, more: &[&str]) -> (PathBuf, Vec<String>) {
        let mut args: Vec<String> = match self.target {
            Target::Native => ["--port", "0", "--db", "app.db"].map(String::from).to_vec(),
            Target::Workers => vec![serve_mjs(), self.artefact.display().to_string(), self.dir.join("state").display().to_string()],
        };
        args.extend(more.iter().map(|s| s.to_string()));
        let program = match self.target {
            Target::Native => self.artefact.clone(),
            Target::Workers => PathBuf::from(node()),
        };
        (program, args)
    }

    fn start(&mut self) -> &Server {
        self.stop();
        let (program, args) = self.args(&[]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.server = Some(Server::start(&program, &self.dir, &args, &self.env(), START));
        self.server.as_ref().expect("started")
    }

    fn server(&self) -> &Server {
        self.server.as_ref().expect("a started app")
    }

    /// Stops it gracefully; everything it wrote (the program's output and
    /// the log).
    fn stop(&mut self) -> String {
        match self.server.take() {
            Some(mut server) => {
                server.terminate();
                format!("{}{}", server.stdout(), server.log())
            }
            None => String::new(),
        }
    }

    /// Runs the cron `name` once, as `--run-cron` does: the exit status and
    /// everything written (the program's output and the log).
    fn run_cron(&mut self, name: &str) -> (Option<i32>, String) {
        self.stop();
        let (program, args) = match self.target {
            Target::Native => (self.artefact.clone(), ["--db", "app.db", "--run-cron", name].map(String::from).to_vec()),
            Target::Workers => self.args(&["--run-cron", name]),
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = process::run(command(&program, &self.dir, &args, &self.env()), START).unwrap_or_else(|err| panic!("run the cron: {err}"));
        (out.status.code(), format!("{}{}", text(&out.stdout), text(&out.stderr)))
    }

    /// Starts a program that must refuse to run: why, as the user sees it
    /// (native: it exits 1 with the message; Workers: every request is
    /// answered with it, and it is logged).
    fn refusal(&mut self) -> String {
        self.stop();
        let (program, args) = self.args(&[]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match self.target {
            Target::Native => {
                let out = process::run(command(&program, &self.dir, &args, &self.env()), START).unwrap_or_else(|err| panic!("run the program: {err}"));
                let stderr = text(&out.stderr);
                assert_eq!(out.status.code(), Some(1), "refused with status 1: {stderr}");
                assert!(!stderr.contains("listening"), "{stderr}");
                stderr
            }
            Target::Workers => {
                let mut server = Server::start(&program, &self.dir, &args, &[], START);
                let (first, second) = (server.get("/"), server.get("/"));
                server.terminate();
                assert_eq!((first.status, first.header("content-type")), (500, Some("application/json")), "{first:?}");
                assert_eq!(first.body, second.body, "every request gets the same answer");
                let log = server.log();
                let message = first.json()["error"].as_str().unwrap_or_default().to_string();
                assert!(log.contains(&format!("error: {message}")), "the refusal is logged:\n{log}");
                message
            }
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        // Miniflare stops workerd on SIGTERM; a kill would leave it running.
        if let Some(mut server) = self.server.take() {
            let _ = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status();
            server.wait(LIMIT);
        }
    }
}

fn node() -> String {
    std::env::var("DLC_NODE").unwrap_or_else(|_| "node".to_string())
}

fn serve_mjs() -> String {
    let dir = root().join("std-targets/workers");
    assert!(
        dir.join("node_modules/miniflare").is_dir(),
        "Miniflare is not installed: run `npm ci --prefix std-targets/workers` (.ci/run does)"
    );
    dir.join("serve.mjs").display().to_string()
}

fn ship(source: &str, dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let mut command = Command::new(DLC);
    command.current_dir(root()).args(["ship", "--target", "workers", "--color", "never", source, "-o"]).arg(dir);
    let out = process::run(command, Duration::from_secs(120)).unwrap_or_else(|err| panic!("dlc ship {source}: {err}"));
    assert!(out.status.success(), "dlc ship {source} failed ({}):\n{}{}", out.status, text(&out.stdout), text(&out.stderr));
    for file in ["worker.js", "app.wasm", "wrangler.toml"] {
        assert!(dir.join(file).is_file(), "dlc ship wrote no {file}");
    }
}

/// Each conversation, once per target.
macro_rules! on_every_target {
    ($($name:ident,)*) => {
        mod native {
            $(#[test] fn $name() { super::$name(super::Target::Native) })*
        }
        mod workers {
            $(#[test] fn $name() { super::$name(super::Target::Workers) })*
        }
    };
}

on_every_target! {
    todo_api_creates_reads_filters_edits_and_deletes,
    unknown_paths_are_404_and_other_methods_405_with_allow,
    every_kind_of_response,
    json_round_trips_records_enums_options_tuples_and_lists,
    a_runtime_error_is_a_500_with_an_id_and_its_writes_rolled_back,
    main_runs_once_per_start_and_data_persists,
    a_cron_runs_by_name_in_its_own_transaction,
    a_present_secret_works_and_never_appears_in_the_log,
    a_missing_secret_is_refused_naming_it,
    schema_changes_compatible_accepted_incompatible_refused,
}

// ---- checks ----

/// The request lines of a log (`METHOD PATH STATUS TIMEms`).
fn request_lines(log: &str) -> Vec<&str> {
    log.lines().filter(|line| ["GET ", "HEAD ", "POST ", "PUT ", "PATCH ", "DELETE ", "OPTIONS "].iter().any(|m| line.starts_with(m))).collect()
}

fn assert_logged(log: &str, method: &str, path: &str, status: u16) {
    let prefix = format!("{method} {path} {status} ");
    let found = request_lines(log)
        .into_iter()
        .any(|line| line.strip_prefix(&prefix).and_then(|t| t.strip_suffix("ms")).is_some_and(|ms| ms.parse::<f64>().is_ok()));
    assert!(found, "no log line `{prefix}TIMEms` in:\n{log}");
}

/// A 500's body is `{"error":"internal error","id":ID}` with 8 hex digits; the id.
fn error_id(reply: &Response) -> String {
    assert_eq!((reply.status, reply.header("content-type")), (500, Some("application/json")), "{reply:?}");
    let body = reply.json();
    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "only `error` and `id`: {reply:?}");
    assert_eq!(body["error"], "internal error", "{reply:?}");
    let id = body["id"].as_str().unwrap_or_default().to_string();
    assert!(id.len() == 8 && id.bytes().all(|b| b.is_ascii_hexdigit()), "an 8-digit hex id: {id:?}");
    id
}

fn is_key(key: &str) -> bool {
    key.len() == 26 && key.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

// ---- the conversations ----

fn todo_api_creates_reads_filters_edits_and_deletes(target: Target) {
    let mut app = App::new(target, "todo-api");
    app.program(TODO, &[]).start();
    let server = app.server();
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
    assert_eq!(r.body, milk_json);
    let call = send("POST", "/todos", r#"{"title":"Call mom","tags":["family"]}"#).json()["id"].as_str().unwrap().to_string();
    assert!(call > milk, "insert keys are time-ordered: {milk} then {call}");
    let call_json = format!(r#"{{"id":"{call}","title":"Call mom","done":false,"tags":["family"]}}"#);
    assert_eq!(send("GET", &format!("/todos/{milk}"), "").expect(200), milk_json);
    assert_eq!(send("GET", "/todos", "").expect(200), format!("[{milk_json},{call_json}]"));
    assert_eq!(send("GET", "/todos?tag=home", "").expect(200), format!("[{milk_json}]"));
    assert_eq!(send("GET", "/todos?tag=nothing", "").expect(200), "[]");
    let r = send("PATCH", &format!("/todos/{milk}"), r#"{"done": true}"#);
    assert_eq!(r.json(), json!({"id": milk, "title": "Buy milk", "done": true, "tags": ["errands", "home"]}), "{r:?}");
    let r = send("PATCH", &format!("/todos/{milk}"), r#"{"title": "   "}"#);
    assert_eq!((r.status, r.body.as_str()), (400, r#"{"error":"title must not be empty"}"#));
    let r = send("PATCH", &format!("/todos/{milk}"), r#"{"done": "yes"}"#);
    assert_eq!((r.status, r.body.as_str()), (400, r#"{"error":"$.done: expected Bool, found string"}"#));
    let r = send("PUT", &format!("/todos/{milk}"), r#"{"title": "Buy oat milk", "tags": []}"#);
    assert_eq!(r.json(), json!({"id": milk, "title": "Buy oat milk", "done": true, "tags": []}), "{r:?}");
    assert_eq!(send("POST", &format!("/todos/{call}/toggle"), "").json()["done"], true);
    assert_eq!(send("GET", "/todos/nope", "").expect(404), "no todo nope");
    assert_eq!(send("DELETE", &format!("/todos/{milk}"), "").expect(204), "");
    assert_eq!(send("DELETE", &format!("/todos/{milk}"), "").status, 404);
    let r = send("POST", "/todos", r#"{"title": "a", "tags": ["#);
    assert!(r.status == 400 && r.json()["error"].as_str().unwrap().starts_with("invalid JSON at line 1, column "), "{r:?}");

    let log = app.stop();
    assert_eq!(request_lines(&log).len(), sent, "one log line per request:\n{log}");
    assert_logged(&log, "POST", "/todos", 201);
    assert_logged(&log, "PATCH", &format!("/todos/{milk}"), 400);
    assert_logged(&log, "DELETE", &format!("/todos/{milk}"), 204);
    assert!(!log.contains("tag=home"), "the log leaves queries out:\n{log}");
}

fn unknown_paths_are_404_and_other_methods_405_with_allow(target: Target) {
    let mut app = App::new(target, "404-405");
    let server = app.program(TODO, &[]).start();
    for path in ["/nope", "/", "/todos/a/b/c", "/todos/a/toggle/x"] {
        let r = server.get(path);
        assert_eq!((r.status, r.body.as_str(), r.header("content-type")), (404, "not found", Some("text/plain; charset=utf-8")), "GET {path}");
    }
    for (method, path, allow) in [
        ("PUT", "/todos", "GET, HEAD, POST"),
        ("POST", "/todos/x", "DELETE, GET, HEAD, PATCH, PUT"),
        ("GET", "/todos/x/toggle", "POST"),
        ("OPTIONS", "/todos/x/toggle", "POST"),
    ] {
        let r = server.send(method, path, &[], "");
        assert_eq!((r.status, r.header("allow")), (405, Some(allow)), "{method} {path}: {r:?}");
    }
    // HEAD is GET without the body; `%2F` is part of a segment.
    let r = server.send("HEAD", "/todos", &[], "");
    assert_eq!((r.status, r.body.as_str()), (200, ""), "{r:?}");
    assert_eq!(server.get("/todos/a%2Fb").expect(404), "no todo a/b");
}

fn every_kind_of_response(target: Target) {
    let mut app = App::new(target, "responses");
    let server = app.program(SERVICE, &[]).start();
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
}

fn json_round_trips_records_enums_options_tuples_and_lists(target: Target) {
    let mut app = App::new(target, "json");
    let server = app.program(SERVICE, &[]).start();
    let a = r#"{"name":"a","shape":{"Rect":[1.0,2.5]},"note":null,"tags":["x","y"],"pair":[3,true]}"#;
    assert_eq!(server.put("/items/a", a).expect(201), "a");
    assert_eq!(server.get("/items/a").expect(200), a);
    server.put("/items/c", r#"{"name":"c","shape":{"Circle":[2]},"tags":[],"pair":[-9223372036854775808,true]}"#).expect(201);
    let c = r#"{"name":"c","shape":{"Circle":[2.0]},"note":null,"tags":[],"pair":[-9223372036854775808,true]}"#;
    assert_eq!(server.get("/items/c").expect(200), c, "64-bit Ints and integral Floats survive the store");
    assert_eq!(server.put("/items/a", a).expect(200), "a", "a replacement");
    let d = r#"{"name":"caf\u00e9 \"q\" \\ \n ☃","shape":"Empty","note":"ü","tags":[],"pair":[0,false]}"#;
    server.put("/items/d", d).expect(201);
    assert_eq!(server.get("/items/d").json()["name"], "café \"q\" \\ \n ☃");
    let d = r#"{"name":"café \"q\" \\ \n ☃","shape":"Empty","note":"ü","tags":[],"pair":[0,false]}"#;
    assert_eq!(server.get("/items").expect(200), format!(r#"[["a",{a}],["c",{c}],["d",{d}]]"#), "in key order");
    let r = server.put("/items/q", r#"{"name":"q","tags":[],"note":null,"shape":{"Square":[1.0]},"pair":[1,true]}"#);
    assert_eq!((r.status, r.body.as_str()), (400, r#"{"error":"$.shape: unknown variant \"Square\" of Shape"}"#));
    assert_eq!(server.get("/items/q").status, 404, "nothing stored by a refused body");
}

fn a_runtime_error_is_a_500_with_an_id_and_its_writes_rolled_back(target: Target) {
    let mut app = App::new(target, "runtime-error");
    let server = app.program(SERVICE, &[]).start();
    let r = server.post("/explode/z", "");
    let id = error_id(&r);
    for internal in ["division", "zero", "service.dl", "explode"] {
        assert!(!r.body.contains(internal), "{internal:?} leaked to the client: {r:?}");
    }
    assert_eq!(server.get("/items/z").expect(404), "no item z", "the item's write was rolled back");
    assert_eq!(server.get("/marks/z").expect(200), "0", "the mark's write was rolled back");
    let overflow = error_id(&server.get("/overflow"));
    assert_ne!(overflow, id, "each error has its own id");
    assert_eq!(server.post("/explode/y", "ab").expect(200), "50");
    assert_eq!(server.get("/marks/y").expect(200), "1");
    let log = app.stop();
    let line = log.lines().find(|l| l.contains(&id)).unwrap_or_else(|| panic!("no log line with {id}:\n{log}"));
    assert_eq!(line.split(": ").next(), Some(format!("error {id}").as_str()), "{line}");
    assert!(line.contains("POST /explode/z: division by zero at") && line.contains("service.dl:"), "the details are logged: {line}");
    assert!(log.lines().any(|l| l.contains(&overflow) && l.contains("overflow")), "{log}");
    assert_logged(&log, "POST", "/explode/z", 500);
}

fn main_runs_once_per_start_and_data_persists(target: Target) {
    let mut app = App::new(target, "main");
    let server = app.program(SERVICE, &[]).start();
    assert_eq!(server.get("/marks/main").expect(200), "1", "main's write is committed before the first request");
    server.put("/items/kept", r#"{"name":"kept","shape":"Empty","note":null,"tags":[],"pair":[1,true]}"#).expect(201);
    let output = app.stop();
    assert_eq!(output.matches("main ran").count(), 1, "{output}");
    let server = app.start();
    assert_eq!(server.get("/marks/main").expect(200), "2", "once per start");
    assert_eq!(server.get("/items/kept").json()["name"], "kept", "the store outlives a restart");
}

fn a_cron_runs_by_name_in_its_own_transaction(target: Target) {
    let mut app = App::new(target, "cron");
    let server = app.program(TODO, &[]).start();
    let keep = server.post("/todos", r#"{"title":"keep","tags":[]}"#).json();
    let done = server.post("/todos", r#"{"title":"done","tags":[]}"#).json();
    server.post(&format!("/todos/{}/toggle", done["id"].as_str().unwrap()), "").expect(200);
    let (status, output) = app.run_cron("sweep");
    assert_eq!(status, Some(0), "{output}");
    assert!(output.contains("swept 1 done todos\n"), "{output}");
    assert_eq!(app.start().get("/todos").json(), json!([keep]));
    let (status, output) = app.run_cron("nope");
    assert_eq!(status, Some(2), "{output}");
    assert!(output.contains("nope"), "{output}");
}

const API_TOKEN: &str = "api-0d5e1b-top-secret";

fn a_present_secret_works_and_never_appears_in_the_log(target: Target) {
    let mut app = App::new(target, "secret-present");
    let server = app.program(SECRETS, &[("API_TOKEN", API_TOKEN)]).start();
    let bearer = format!("Bearer {API_TOKEN}");
    assert_eq!(server.send("GET", "/private", &[("authorization", &bearer)], "").expect(200), "welcome");
    assert_eq!(server.send("GET", "/private", &[("authorization", "Bearer nope")], "").expect(401), "who are you?");
    assert_eq!(server.get("/length").expect(200), API_TOKEN.len().to_string());
    let r = server.send("GET", "/crash", &[("authorization", &bearer)], "");
    let id = error_id(&r);
    let mut log = app.stop();
    assert!(log.contains(&id), "the 500's id is in the log:\n{log}");
    let (status, output) = app.run_cron("leak");
    log.push_str(&output);
    assert!(output.contains("leak") && output.contains("[secret API_TOKEN] was rejected"), "{status:?} {output}");
    assert!(!log.contains(API_TOKEN), "the secret's value is in the log:\n{log}");
}

fn a_missing_secret_is_refused_naming_it(target: Target) {
    let mut app = App::new(target, "secret-missing");
    let why = app.program(SECRETS, &[]).refusal();
    assert!(why.contains("missing secret API_TOKEN"), "{why}");
}

fn schema_changes_compatible_accepted_incompatible_refused(target: Target) {
    let mut app = App::new(target, "schema");
    app.program(SCHEMA_V1, &[]).start().put("/rows/k1", r#"{"a":1,"b":"x"}"#).expect(201);
    let server = app.program(SCHEMA_V2, &[]).start();
    assert_eq!(server.get("/rows").expect(200), r#"[["k1",{"a":1,"b":"x","c":null}]]"#, "a new Option field reads as None");
    server.put("/rows/k2", r#"{"a":2,"b":"y","c":7}"#).expect(201);
    let why = app.program(SCHEMA_RETYPED, &[]).refusal();
    assert!(why.contains("store rows") && why.contains("field `a` was Int, is now String"), "{why}");
    let server = app.program(SCHEMA_V2, &[]).start();
    let both = r#"[["k1",{"a":1,"b":"x","c":null}],["k2",{"a":2,"b":"y","c":7}]]"#;
    assert_eq!(server.get("/rows").expect(200), both, "the refused program changed nothing");
    let why = app.program(SCHEMA_V1, &[]).refusal();
    assert!(why.contains("store rows") && why.contains("`c`"), "going back, `c` was removed: {why}");
}

// ---- wrangler: the bundle as shipped, with no edits ----

/// wrangler, and the environment that keeps it offline and quiet, with a
/// scratch home in `dir`.
fn wrangler(dir: &Path) -> (PathBuf, Vec<(&'static str, String)>) {
    let bin = root().join("std-targets/workers/node_modules/.bin/wrangler");
    assert!(bin.is_file(), "wrangler is not installed: run `npm ci --prefix std-targets/workers` (.ci/run does)");
    let home = dir.join("home").display().to_string();
    let quiet = [("WRANGLER_SEND_METRICS", "false"), ("CLOUDFLARE_CF_FETCH_ENABLED", "false"), ("CI", "true"), ("NO_COLOR", "1")];
    let mut env: Vec<(&str, String)> = quiet.iter().map(|(k, v)| (*k, v.to_string())).collect();
    env.extend([("HOME", home.clone()), ("TMPDIR", home)]);
    (bin, env)
}

#[test]
fn wrangler_dev_serves_the_bundle_and_deploy_accepts_it() {
    let mut app = App::new(Target::Workers, "wrangler");
    app.program(TODO, &[]);
    let bundle = app.artefact.clone();
    let (bin, env) = wrangler(&app.dir);
    std::fs::create_dir_all(app.dir.join("home")).expect("create a scratch home");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let state = app.dir.join("state").display().to_string();
    let dev = ["dev", "--ip", "127.0.0.1", "--port", "0", "--persist-to", &state];
    app.server = Some(Server::start(&bin, &bundle, &dev, &env, START));
    let server = app.server();
    let r = server.post("/todos", r#"{"title":"done","tags":[]}"#);
    assert_eq!(r.status, 201, "{r:?}");
    let id = r.json()["id"].as_str().unwrap().to_string();
    server.post(&format!("/todos/{id}/toggle"), "").expect(200);
    // `wrangler dev` fires crons only by hand, by their trigger.
    let r = server.get("/cdn-cgi/handler/scheduled?cron=0+3+*+*+*");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(server.get("/todos").expect(200), "[]", "the cron swept the done todo");
    let output = app.stop();
    assert!(output.contains("swept 1 done todos\n") && output.contains("cron sweep ok"), "{output}");

    let deploy = ["deploy", "--dry-run", "--outdir", "dry-run"];
    let out = process::run(command(&bin, &bundle, &deploy, &env), START).unwrap_or_else(|err| panic!("wrangler deploy: {err}"));
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success() && said.contains("Total Upload") && said.contains("env.PROGRAM (Program)"), "{said}");
}

/// `schema.js`'s own tests (its text and refusals against native's, case
/// by case), under Node's test runner.
#[test]
fn the_workers_schema_module_agrees_with_native_case_by_case() {
    let mut command = Command::new(node());
    command.current_dir(root()).args(["--test", "std-targets/workers/schema.test.mjs"]);
    let out = process::run(command, START).unwrap_or_else(|err| panic!("node --test: {err}"));
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success() && said.contains("# fail 0"), "{said}");
}
