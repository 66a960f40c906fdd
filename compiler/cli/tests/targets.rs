//! The same HTTP conversations on every target (issue 12): each test below
//! runs twice, against the executable `dlc build` makes (`native_…`) and
//! against the bundle `dlc ship --target workers` makes, served by real
//! workerd through Miniflare (`workers_…`, with
//! `std-targets/workers/serve.mjs`; the packages come from
//! `npm ci --prefix std-targets/workers`). A fresh store (a `--db` file, or
//! the Durable Object's SQLite directory) per test; real sockets.
//!
//! Covered on both: the examples' APIs (todo, counter, shortener) with
//! their crons run by name, malformed JSON, 404 and 405 with `Allow`, every
//! kind of response, JSON round trips, a runtime error as a 500 with an id
//! and its writes rolled back, a failing cron rolled back, `main` once per
//! start, persistence across a restart, secrets (present, missing, never in
//! the log), schema changes (compatible accepted, incompatible refused
//! naming the store and the difference, the data untouched). Then the
//! bundle as shipped under `wrangler dev` and `wrangler deploy --dry-run`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use support::{LIMIT, Response, Server, build, command, process, raw, text};

const DLC: &str = env!("CARGO_BIN_EXE_dlc");
const TODO: &str = "examples/todo.dl";
const COUNTER: &str = "examples/counter.dl";
const SHORTENER: &str = "examples/shortener.dl";
const ACCOUNTS: &str = "examples/accounts.dl";
const CORS: &str = "compiler/cli/tests/programs/cors.dl";
const SERVICE: &str = "compiler/cli/tests/programs/service.dl";
const SECRETS: &str = "compiler/cli/tests/programs/secrets.dl";
const SCHEMA_V1: &str = "compiler/cli/tests/programs/schema_v1.dl";
const SCHEMA_V2: &str = "compiler/cli/tests/programs/schema_v2.dl";
const SCHEMA_RETYPED: &str = "compiler/cli/tests/programs/schema_retyped.dl";
const SCHEMA_DEFAULTED: &str = "compiler/cli/tests/programs/schema_defaulted.dl";
const PAGES: &str = "compiler/cli/tests/programs/pages.dl";
const JSON_KEYS_V1: &str = "compiler/cli/tests/programs/json_keys_v1.dl";
const JSON_KEYS_V2: &str = "compiler/cli/tests/programs/json_keys_v2.dl";
const INDEXES: &str = "compiler/cli/tests/programs/indexes.dl";
const INDEXES_V0: &str = "compiler/cli/tests/programs/indexes_v0.dl";
const ADMIN_TOKEN: &str = "tok-7f3a9c-never-in-logs";
const API_TOKEN: &str = "api-0d5e1b-top-secret";

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
    malformed_json_is_a_400_naming_the_path_and_stores_nothing,
    unknown_paths_are_404_and_other_methods_405_with_allow,
    data_persists_across_a_graceful_restart,
    todo_sweep_cron_runs_once_with_run_cron,
    counter_api_counts_resets_and_deletes,
    counter_nightly_cron_runs_once_with_run_cron,
    run_cron_of_an_unknown_name_exits_2,
    a_failing_cron_exits_1_and_is_rolled_back,
    shortener_creates_redirects_counts_and_guards_admin_routes,
    a_missing_secret_is_refused_naming_it,
    a_present_secret_works_and_never_appears_in_the_log,
    a_failing_cron_does_not_log_a_secret,
    a_secret_with_quotes_and_control_characters_never_reaches_the_log,
    every_kind_of_response,
    a_guard_through_question_mark_answers_with_its_response,
    cookies_are_set_with_safe_defaults_and_read_back,
    accounts_sign_up_log_in_guard_and_webhooks,
    cors_answers_preflights_and_marks_every_response,
    json_round_trips_records_enums_options_tuples_and_lists,
    a_runtime_error_is_a_500_with_an_id_rolled_back_and_the_server_carries_on,
    main_runs_once_before_serving,
    schema_changes_compatible_accepted_incompatible_refused,
    json_keys_map_the_wire_and_never_the_store,
    a_new_field_with_a_default_reads_older_rows_with_it,
    pages_list_newest_first_and_resume_after_next,
    fifty_concurrent_registrations_of_one_email_make_one_user,
    a_taken_unique_value_fails_the_write_and_leaves_no_index_entry,
    indexes_page_list_elements_and_are_built_for_existing_rows,
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

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn is_key(key: &str) -> bool {
    key.len() == 26 && key.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

// ---- the conversations ----

fn todo_api_creates_reads_filters_edits_and_deletes(target: Target) {
    let mut app = App::new(target, "todo-api");
    let server = app.program(TODO, &[]).start();
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
    assert_eq!(send("GET", "/recent?limit=1", "").expect(200), format!(r#"{{"todos":[{call_json}],"next":"{call}"}}"#));
    assert_eq!(send("GET", &format!("/recent?after={call}"), "").expect(200), format!(r#"{{"todos":[{milk_json}],"next":null}}"#));

    // PATCH: Option fields missing or null leave the todo alone.
    let r = send("PATCH", &format!("/todos/{milk}"), r#"{"done": true}"#);
    assert_eq!(r.json(), json!({"id": milk, "title": "Buy milk", "done": true, "tags": ["errands", "home"]}), "{r:?}");
    let r = send("PATCH", &format!("/todos/{milk}"), r#"{"title": null, "done": null, "tags": ["Shop "]}"#);
    assert_eq!(r.json(), json!({"id": milk, "title": "Buy milk", "done": true, "tags": ["shop"]}), "{r:?}");
    // The tag index follows the edit.
    assert_eq!(send("GET", "/todos?tag=home", "").expect(200), "[]");
    assert_eq!(send("GET", "/todos?tag=shop", "").json()[0]["id"], milk.as_str());
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

    let log = app.stop();
    assert_eq!(request_lines(&log).len(), sent, "one log line per request:\n{log}");
    assert_logged(&log, "POST", "/todos", 201);
    assert_logged(&log, "PATCH", &format!("/todos/{milk}"), 400);
    assert_logged(&log, "DELETE", &format!("/todos/{milk}"), 204);
    assert_logged(&log, "GET", "/todos", 200);
    assert!(!log.contains("tag=home"), "the log leaves queries out:\n{log}");
}

fn malformed_json_is_a_400_naming_the_path_and_stores_nothing(target: Target) {
    let mut app = App::new(target, "todo-bad-json");
    let server = app.program(TODO, &[]).start();
    let cases = [
        (r#"{"title": 5, "tags": []}"#, r#"{"error":"$.title: expected String, found number"}"#),
        (r#"{"title": "a", "tags": ["a", 3]}"#, r#"{"error":"$.tags[1]: expected String, found number"}"#),
        (r#"{"title": "a", "tags": null}"#, r#"{"error":"$.tags: expected List<String>, found null"}"#),
        (r#"{"title": "a"}"#, r#"{"error":"$: missing field \"tags\""}"#),
        (r#"{"title": "  ", "tags": []}"#, r#"{"error":"title must not be empty"}"#),
    ];
    for (body, error) in cases {
        let r = server.post("/todos", body);
        assert_eq!((r.status, r.body.as_str()), (400, error), "for {body}: {r:?}");
        assert_eq!(r.header("content-type"), Some("application/json"), "{r:?}");
    }
    // A field the type does not declare is skipped, but must still be JSON.
    for body in [r#"{"title": "a", "tags": ["#, "", "not json", r#"{"title": "a", "tags": [], "due": [1,}"#] {
        let r = server.post("/todos", body);
        assert_eq!(r.status, 400, "for {body:?}: {r:?}");
        assert!(r.json()["error"].as_str().unwrap().starts_with("invalid JSON at line 1, column "), "{r:?}");
    }
    let r = server.send("PATCH", "/todos/anything", &[], r#"{"done": "yes"}"#);
    assert_eq!(r.body, r#"{"error":"$.done: expected Bool, found string"}"#, "{r:?}");
    assert_eq!(server.get("/todos").expect(200), "[]", "nothing was stored");
}

fn unknown_paths_are_404_and_other_methods_405_with_allow(target: Target) {
    let mut app = App::new(target, "todo-404-405");
    let server = app.program(TODO, &[]).start();
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

fn data_persists_across_a_graceful_restart(target: Target) {
    let mut app = App::new(target, "todo-restart");
    app.program(TODO, &[]);
    let server = app.start();
    let first = server.post("/todos", r#"{"title":"one","tags":["a"]}"#).json();
    let second = server.post("/todos", r#"{"title":"two","tags":[]}"#).json();
    let before = server.get("/todos").expect(200).to_string();
    app.stop();

    let server = app.start();
    assert_eq!(server.get("/todos").expect(200), before);
    assert_eq!(server.get(&format!("/todos/{}", first["id"].as_str().unwrap())).json(), first);
    let third = server.post("/todos", r#"{"title":"three","tags":[]}"#).json();
    assert!(third["id"].as_str() > second["id"].as_str(), "keys stay ordered across restarts");
    app.stop();
    let server = app.start();
    assert_eq!(server.get("/todos").json().as_array().map(Vec::len), Some(3));
}

fn todo_sweep_cron_runs_once_with_run_cron(target: Target) {
    let mut app = App::new(target, "todo-sweep");
    app.program(TODO, &[]);
    let server = app.start();
    let keep = server.post("/todos", r#"{"title":"keep","tags":[]}"#).json();
    let done = server.post("/todos", r#"{"title":"done","tags":[]}"#).json();
    server.post(&format!("/todos/{}/toggle", done["id"].as_str().unwrap()), "").expect(200);
    app.stop();

    let (status, output) = app.run_cron("sweep");
    assert_eq!(status, Some(0), "{output}");
    assert_eq!(output.matches("swept 1 done todos\n").count(), 1, "{output}");
    assert!(!output.contains("listening"), "--run-cron does not serve: {output}");

    let server = app.start();
    assert_eq!(server.get("/todos").json(), json!([keep]));
}

fn counter_api_counts_resets_and_deletes(target: Target) {
    let mut app = App::new(target, "counter-api");
    let server = app.program(COUNTER, &[]).start();
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

fn counter_nightly_cron_runs_once_with_run_cron(target: Target) {
    let mut app = App::new(target, "counter-cron");
    app.program(COUNTER, &[]);
    let server = app.start();
    server.post("/counters/visits/increment?by=5", "").expect(200);
    server.post("/counters/hits/increment", "").expect(200);
    app.stop();

    let before = now_ms();
    let (status, output) = app.run_cron("nightly");
    let after = now_ms();
    assert_eq!(status, Some(0), "{output}");
    assert_eq!(output.matches("snapshotted 2 counters\n").count(), 1, "{output}");

    let server = app.start();
    let history = server.get("/counters/visits/history").json();
    let at = history[0]["at"].as_i64().unwrap_or_else(|| panic!("{history}"));
    assert_eq!(history, json!([{"name": "visits", "value": 5, "at": at}]));
    assert!((before..=after).contains(&at), "the snapshot's time {at} is the cron run's ({before}..{after})");
    assert_eq!(server.get("/counters/hits/history").json()[0]["value"], 1);
}

fn run_cron_of_an_unknown_name_exits_2(target: Target) {
    let mut app = App::new(target, "cron-unknown");
    let (status, output) = app.program(COUNTER, &[]).run_cron("hourly");
    assert_eq!(status, Some(2), "{output}");
    assert!(output.contains("hourly"), "the message names the cron asked for: {output}");
    assert!(!output.contains("listening"), "{output}");
}

fn a_failing_cron_exits_1_and_is_rolled_back(target: Target) {
    let mut app = App::new(target, "cron-failing");
    app.program(SERVICE, &[]);
    let (status, output) = app.run_cron("broken");
    assert_eq!(status, Some(1), "{output}");
    assert!(output.contains("cron broken failed") && output.contains("assertion failed"), "{output}");
    assert!(output.contains("service.dl:"), "the error names the source location: {output}");

    let (status, output) = app.run_cron("tick");
    assert_eq!(status, Some(0), "{output}");
    assert!(output.contains("ticked"), "{output}");

    let server = app.start();
    assert_eq!(server.get("/marks/broken").expect(200), "0", "the failed run's write was rolled back");
    assert_eq!(server.get("/marks/tick").expect(200), "1");
}

fn shortener_creates_redirects_counts_and_guards_admin_routes(target: Target) {
    let mut app = App::new(target, "shortener");
    let server = app.program(SHORTENER, &[("ADMIN_TOKEN", ADMIN_TOKEN)]).start();
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

    let log = app.stop();
    assert_logged(&log, "GET", "/admin/links", 200);
    assert!(!log.contains(ADMIN_TOKEN), "the secret's value is in the output or the log:\n{log}");
}

fn a_missing_secret_is_refused_naming_it(target: Target) {
    let mut app = App::new(target, "secret-missing");
    for (source, secret) in [(SHORTENER, "ADMIN_TOKEN"), (SECRETS, "API_TOKEN")] {
        let why = app.program(source, &[]).refusal();
        assert!(why.contains(&format!("missing secret {secret}")), "{why}");
    }
}

fn a_present_secret_works_and_never_appears_in_the_log(target: Target) {
    let mut app = App::new(target, "secret-present");
    let server = app.program(SECRETS, &[("API_TOKEN", API_TOKEN)]).start();
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
    let log = app.stop();
    assert!(log.contains(&id), "the 500's id is in the log:\n{log}");
    assert!(!log.contains(API_TOKEN), "the secret's value is in the log:\n{log}");
}

/// Strict reading of "secrets never appear in logs": the runtime knows every secret's value, so
/// a failure message it logs (here a cron's `Err` through `?` that quotes the token) must not
/// show it either.
fn a_failing_cron_does_not_log_a_secret(target: Target) {
    let mut app = App::new(target, "secret-cron");
    let (status, output) = app.program(SECRETS, &[("API_TOKEN", API_TOKEN)]).run_cron("leak");
    assert_eq!(status, Some(1), "{output}");
    assert!(output.contains("leak") && output.contains("token [secret API_TOKEN] was rejected"), "{output}");
    assert!(!output.contains(API_TOKEN), "the secret's value is in the log: {output}");
}

/// A secret with a space, quotes and control characters changes when a log line quotes it (an
/// invalid header value, a failed assertion's sides): redaction must catch it in every form.
fn a_secret_with_quotes_and_control_characters_never_reaches_the_log(target: Target) {
    const AWKWARD: &str = "s3cr3t \"q\" v\r\u{1}{";
    let mut app = App::new(target, "secret-awkward");
    let server = app.program(SECRETS, &[("API_TOKEN", AWKWARD)]).start();
    let ids: Vec<String> = ["/header", "/assert", "/crash"].iter().map(|path| error_id(&server.get(path))).collect();
    assert_eq!(server.get("/length").expect(200), AWKWARD.chars().count().to_string());
    let log = app.stop();
    for id in &ids {
        assert!(log.contains(id.as_str()), "the 500's id is in the log:\n{log}");
    }
    assert!(log.contains("invalid value for header 'authorization'"), "the log says why:\n{log}");
    assert!(log.contains("[secret API_TOKEN]"), "the secret is named in its place:\n{log}");
    assert!(!log.contains("s3cr3t"), "the secret's value is in the log:\n{log}");
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
    assert_eq!(server.get("/positive/abc").body, r#"{"error":"not positive: 0"}"#);
    let named = |r: &Response, name: &str| r.headers.iter().filter(|(n, _)| n == name).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    let r = server.get("/problem");
    assert_eq!((r.status, named(&r, "content-type"), r.body.as_str()), (200, vec!["application/problem+json".to_string()], r#"["gone"]"#));
    assert_eq!(named(&server.get("/cookies"), "set-cookie"), ["a=1", "b=2"]);
    for code in [204, 304] {
        // Read to the connection's end: nothing may follow the head.
        let r = raw(server.port, format!("GET /bodiless/{code} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes());
        assert_eq!((r.status, r.header("content-type"), r.body.as_str()), (code, None, ""), "{r:?}");
    }
    // An impossible status is a 500, logged with its real value.
    error_id(&server.get("/bodiless/-5"));
    let log = app.stop();
    assert!(log.contains("GET /bodiless/-5: invalid reply: status -5 is not in 200-599"), "{log}");
}

fn a_guard_through_question_mark_answers_with_its_response(target: Target) {
    let mut app = App::new(target, "guard");
    let server = app.program(SERVICE, &[]).start();
    let r = server.get("/me/1");
    assert_eq!((r.status, r.body.as_str(), r.header("www-authenticate")), (401, "login first", Some("Bearer")), "{r:?}");
    assert_eq!(server.send("GET", "/me/1", &[("authorization", "Bearer bad")], "").expect(403), "wrong token");
    assert_eq!(server.send("GET", "/me/7", &[("authorization", "Bearer good")], "").expect(200), "ada 7");
    let r = server.send("GET", "/me/-7", &[("authorization", "Bearer good")], "");
    assert_eq!((r.status, r.body.as_str()), (400, r#"{"error":"not positive: -7"}"#));
}

fn cookies_are_set_with_safe_defaults_and_read_back(target: Target) {
    let mut app = App::new(target, "cookies");
    let server = app.program(SERVICE, &[]).start();
    let r = server.post("/login", "a b;c");
    let cookies: Vec<&str> = r.headers.iter().filter(|(n, _)| n == "set-cookie").map(|(_, v)| v.as_str()).collect();
    assert_eq!(cookies, [
        "session=a%20b%3Bc; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=Lax",
        "theme=dark; Max-Age=60; Path=/; HttpOnly; Secure; SameSite=Lax",
    ]);
    let me = server.send("GET", "/whoami", &[("cookie", "theme=dark; session=a%20b%3Bc")], "");
    assert_eq!(me.expect(200), "session a b;c");
    assert_eq!(server.get("/whoami").status, 401);
}

/// The accounts example as its users meet it: sign-up stores a scrypt hash, login answers with
/// an HS256 token (checked here with RustCrypto's HMAC and the base64 crate), the guard reads it from the header or
/// the cookie, a webhook is accepted only with the provider's HMAC signature.
fn accounts_sign_up_log_in_guard_and_webhooks(target: Target) {
    use hmac::{Hmac, Mac};
    let hmac = |key: &str, message: &str| {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(message.as_bytes());
        mac.finalize().into_bytes().to_vec()
    };
    let hmac_hex = |key: &str, message: &str| hmac(key, message).iter().map(|b| format!("{b:02x}")).collect::<String>();
    let mut app = App::new(target, "accounts");
    let server = app.program(ACCOUNTS, &[("JWT_KEY", "jwt-key-9c1e"), ("WEBHOOK_SECRET", "whsec-41d2")]).start();
    let created = server.post("/signup", r#"{"email": "Ada@Example.com", "password": "correct horse", "name": "Ada", "plan": "free"}"#);
    assert_eq!(created.status, 201, "{created:?}");
    let profile = created.json();
    assert_eq!((profile["email"].as_str(), profile["name"].as_str()), (Some("ada@example.com"), Some("Ada")));
    let created_at = profile["created_at"].as_str().unwrap_or_default().to_string();
    assert!(created_at.len() == 24 && created_at.ends_with('Z'), "an ISO timestamp: {created_at}");
    assert_eq!(server.post("/signup", r#"{"email": "ada@example.com", "password": "x12345678", "name": "A"}"#).status, 409);
    assert_eq!(server.post("/login", r#"{"email": "ada@example.com", "password": "wrong horse"}"#).status, 401);
    let login = server.post("/login", r#"{"email": "ada@example.com", "password": "correct horse"}"#);
    let token = login.json()["token"].as_str().expect("a token").to_string();
    // HS256: the signature is the HMAC of the first two parts under JWT_KEY.
    let (signed, signature) = token.rsplit_once('.').expect("three parts");
    let url = |bytes: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    assert_eq!(signature, url(&hmac("jwt-key-9c1e", signed)), "the token's signature");
    assert_eq!(login.header("set-cookie"), Some(format!("session={token}; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=Lax").as_str()));
    let me = server.send("GET", "/me", &[("authorization", &format!("Bearer {token}"))], "");
    assert_eq!(me.json(), profile);
    assert_eq!(server.send("GET", "/me", &[("cookie", &format!("theme=x; session={token}"))], "").json(), profile);
    let forged = format!("{signed}.{}", url(&[0; 32]));
    let r = server.send("GET", "/me", &[("authorization", &format!("Bearer {forged}"))], "");
    assert_eq!((r.status, r.header("content-type"), r.body.as_str()), (401, Some("application/problem+json"), r#"["invalid token: bad signature"]"#));
    let body = r#"{"id": "pay_1", "amount": 1200}"#;
    let signature = hmac_hex("whsec-41d2", body);
    assert_eq!(server.send("POST", "/webhooks/payments", &[("x-signature", &signature)], body).status, 204);
    assert_eq!(server.send("POST", "/webhooks/payments", &[("x-signature", &hmac_hex("guess", body))], body).status, 401);
    let log = app.stop();
    for secret in ["jwt-key-9c1e", "whsec-41d2", "correct horse"] {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
    }
}

/// `cors [...]`: a browser's preflight is answered on every route path, every response (errors
/// too) says which listed origin may read it, an origin not listed gets nothing but `vary`.
fn cors_answers_preflights_and_marks_every_response(target: Target) {
    let mut app = App::new(target, "cors");
    let server = app.program(CORS, &[]).start();
    let app_origin = ("origin", "https://app.example.com");
    let asked = [app_origin, ("access-control-request-method", "POST"), ("access-control-request-headers", "content-type, authorization")];
    let r = server.send("OPTIONS", "/items", &asked, "");
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(r.header("access-control-allow-origin"), Some("https://app.example.com"));
    assert_eq!(r.header("access-control-allow-methods"), Some("GET, HEAD, POST"));
    assert_eq!(r.header("access-control-allow-headers"), Some("content-type, authorization"));
    assert_eq!((r.header("access-control-max-age"), r.header("vary")), (Some("86400"), Some("origin")));
    assert_eq!(server.send("OPTIONS", "/items/7", &asked, "").header("access-control-allow-methods"), Some("DELETE"));
    let local = ("origin", "http://localhost:5173");
    for (method, path, status) in [("GET", "/items", 200), ("POST", "/items", 201), ("GET", "/crash", 500), ("GET", "/nowhere", 404), ("PUT", "/items", 405), ("OPTIONS", "/nowhere", 404)] {
        let r = server.send(method, path, &[local], "");
        assert_eq!((r.status, r.header("access-control-allow-origin"), r.header("vary")), (status, Some("http://localhost:5173"), Some("origin")), "{method} {path}: {r:?}");
    }
    let r = server.send("GET", "/items", &[("origin", "https://evil.example")], "");
    assert_eq!((r.status, r.header("access-control-allow-origin"), r.header("vary")), (200, None, Some("origin")), "{r:?}");
    let r = server.send("OPTIONS", "/items", &[("origin", "https://evil.example"), ("access-control-request-method", "POST")], "");
    assert_eq!((r.status, r.header("access-control-allow-origin")), (204, None), "{r:?}");
    // Without `cors`, OPTIONS is a method like any other routes do not take.
    let mut plain = App::new(target, "cors-none");
    let server = plain.program(SERVICE, &[]).start();
    let r = server.send("OPTIONS", "/hello", &[app_origin], "");
    assert_eq!((r.status, r.header("access-control-allow-origin")), (405, None), "{r:?}");
}

fn json_round_trips_records_enums_options_tuples_and_lists(target: Target) {
    let mut app = App::new(target, "json");
    let server = app.program(SERVICE, &[]).start();
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

fn a_runtime_error_is_a_500_with_an_id_rolled_back_and_the_server_carries_on(target: Target) {
    let mut app = App::new(target, "runtime-error");
    let server = app.program(SERVICE, &[]).start();
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

    let log = app.stop();
    let line = log.lines().find(|l| l.contains(&id)).unwrap_or_else(|| panic!("no log line with {id}:\n{log}"));
    assert!(line.contains("division by zero") && line.contains("service.dl:"), "the details are logged: {line}");
    assert!(log.lines().any(|l| l.contains(&overflow) && l.contains("overflow")), "{log}");
    assert_logged(&log, "POST", "/explode/z", 500);
    assert_logged(&log, "GET", "/overflow", 500);
}

fn main_runs_once_before_serving(target: Target) {
    let mut app = App::new(target, "main");
    app.program(SERVICE, &[]);
    let server = app.start();
    // `main`'s write is committed before the first request is served.
    assert_eq!(server.get("/marks/main").expect(200), "1");
    assert_eq!(server.get("/hello").expect(200), "hello");
    let output = app.stop();
    assert_eq!(output.matches("main ran\n").count(), 1, "{output}");
    assert!(output.find("main ran") < output.find("serving /hello"), "main's print comes first: {output}");
    let server = app.start();
    assert_eq!(server.get("/marks/main").expect(200), "2", "once per start");
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

fn pages_list_newest_first_and_resume_after_next(target: Target) {
    let mut app = App::new(target, "pages");
    let server = app.program(PAGES, &[]).start();
    let keys: Vec<String> = (0..7).map(|i| server.post("/notes", &format!("note {i}")).expect(201).to_string()).collect();
    let mut seen = Vec::new();
    let mut url = "/notes?limit=3".to_string();
    loop {
        let page = server.get(&url).json();
        for entry in page["entries"].as_array().expect("entries") {
            seen.push((entry[0].as_str().unwrap().to_string(), entry[1].as_str().unwrap().to_string()));
        }
        match page["next"].as_str() {
            Some(next) => url = format!("/notes?limit=3&after={next}"),
            None => break,
        }
    }
    let newest_first: Vec<(String, String)> = keys.iter().enumerate().rev().map(|(i, k)| (k.clone(), format!("note {i}"))).collect();
    assert_eq!(seen, newest_first);
    let r = server.get("/notes?limit=0");
    assert_eq!(r.status, 500, "a limit of 0 is a runtime error: {}", r.body);
    assert_eq!(server.get("/notes?limit=7").json()["next"], serde_json::Value::Null, "a page of all that is left");
    // Within a prefix, backwards: keys after it (here `b/…`, and `a0` just past `a/`'s end) are not in it.
    for key in ["a/1", "a/2", "a/3", "a0", "b/1", "a", "a/\u{10FFFF}"] {
        server.put(&format!("/notes/{}", key.replace('/', "%2F").replace('\u{10FFFF}', "%F4%8F%BF%BF")), key).expect(201);
    }
    let page = server.get("/prefixed/a%2F").json();
    assert_eq!(page, json!({"entries": [["a/\u{10FFFF}", "a/\u{10FFFF}"], ["a/3", "a/3"]], "next": "a/3"}));
    let page = server.get("/prefixed/a%2F?after=a%2F3").json();
    assert_eq!(page, json!({"entries": [["a/2", "a/2"], ["a/1", "a/1"]], "next": null}));
}

fn a_new_field_with_a_default_reads_older_rows_with_it(target: Target) {
    let mut app = App::new(target, "defaults");
    app.program(SCHEMA_V1, &[]).start().put("/rows/k1", r#"{"a":1,"b":"x"}"#).expect(201);
    let server = app.program(SCHEMA_DEFAULTED, &[]).start();
    assert_eq!(server.get("/rows").expect(200), r#"[["k1",{"a":1,"b":"x","views":7}]]"#);
    // A body without the field takes the default too; one with it keeps its value.
    server.put("/rows/k2", r#"{"a":2,"b":"y"}"#).expect(201);
    server.put("/rows/k3", r#"{"a":3,"b":"z","views":0}"#).expect(201);
    let rows = r#"[["k1",{"a":1,"b":"x","views":7}],["k2",{"a":2,"b":"y","views":7}],["k3",{"a":3,"b":"z","views":0}]]"#;
    assert_eq!(app.program(SCHEMA_DEFAULTED, &[]).start().get("/rows").expect(200), rows, "after a restart");
}

fn json_keys_map_the_wire_and_never_the_store(target: Target) {
    let mut app = App::new(target, "json-keys");
    let server = app.program(JSON_KEYS_V1, &[]).start();
    server.put("/uploads/a", r#"{"content-type":"text/plain","x-size":3}"#).expect(201);
    assert_eq!(server.get("/uploads").expect(200), r#"[["a",{"content-type":"text/plain","x-size":3}]]"#);
    let r = server.put("/uploads/b", r#"{"content_type":"text/plain","x-size":3}"#);
    assert_eq!((r.status, r.body.as_str()), (400, r#"{"error":"$: missing field \"content-type\""}"#), "the field's name is not its key");
    // A store holds fields by name, so renaming a key is no schema change.
    let server = app.program(JSON_KEYS_V2, &[]).start();
    assert_eq!(server.get("/uploads").expect(200), r#"[["a",{"mime":"text/plain","x-size":3}]]"#);
}

fn user(name: &str, email: &str, tags: &[&str]) -> String {
    json!({ "name": name, "email": email, "tags": tags }).to_string()
}

fn fifty_concurrent_registrations_of_one_email_make_one_user(target: Target) {
    let mut app = App::new(target, "unique-race");
    let server = app.program(INDEXES, &[]).start();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..50)
            .map(|i| scope.spawn(move || server.post("/users", &user(&format!("n{i}"), "same@example.com", &[])).status))
            .collect();
        clients.into_iter().map(|c| c.join().expect("a client")).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| [201, 409, 500].contains(s)), "the others are refused cleanly: {statuses:?}");
    let users = server.get("/users").json();
    assert_eq!(users.as_array().map(Vec::len), Some(1), "{users}");
    assert_eq!(server.get("/by-email/same%40example.com").json()[0], users[0][0]);
}

fn a_taken_unique_value_fails_the_write_and_leaves_no_index_entry(target: Target) {
    let mut app = App::new(target, "unique-taken");
    let server = app.program(INDEXES, &[]).start();
    server.put("/users/ada", &user("Ada", "ada@example.com", &["math"])).expect(201);
    server.put("/users/eve", &user("Eve", "eve@example.com", &["spy"])).expect(201);
    // Eve takes Ada's email: refused, and Eve keeps her own row and entries.
    let r = server.put("/users/eve", &user("Eve", "ada@example.com", &["math"]));
    assert_eq!(r.status, 500, "{r:?}");
    assert_eq!(server.get("/by-email/eve%40example.com").json()[0], "eve");
    assert_eq!(server.get("/tagged/math").json()["entries"].as_array().map(Vec::len), Some(1), "no entry of the failed write");
    assert_eq!(server.get("/tagged/spy").json()["entries"][0][0], "eve");
    let log = app.stop();
    assert!(log.contains(r#"store users: unique index email: "ada@example.com" is already taken"#), "{log}");
    // Once Ada is gone, her email is free.
    let server = app.start();
    assert_eq!(server.send("DELETE", "/users/ada", &[], "").body, "true");
    assert_eq!(server.get("/by-email/ada%40example.com").body, "null");
    server.put("/users/eve", &user("Eve", "ada@example.com", &["math"])).expect(201);
    assert_eq!(server.get("/by-email/ada%40example.com").json()[1]["name"], "Eve");
    assert_eq!(server.get("/by-email/eve%40example.com").body, "null", "the old value's entry went");
}

fn indexes_page_list_elements_and_are_built_for_existing_rows(target: Target) {
    let mut app = App::new(target, "index-build");
    // Rows written before the store had indexes, two with one email.
    let server = app.program(INDEXES_V0, &[]).start();
    for (key, email, tags) in [("k1", "a@x", vec!["x", "y"]), ("k2", "b@x", vec!["y"]), ("k3", "a@x", vec![]), ("k4", "c@x", vec!["y", "y"])] {
        server.put(&format!("/users/{key}"), &user(key, email, &tags)).expect(201);
    }
    let why = app.program(INDEXES, &[]).refusal();
    assert!(why.contains(r#"store users: unique index email: "a@x" is already taken"#), "{why}");
    app.program(INDEXES_V0, &[]).start().send("DELETE", "/users/k3", &[], "").expect(200);
    // Now the index builds at start-up, and serves the rows already there.
    let server = app.program(INDEXES, &[]).start();
    assert_eq!(server.get("/by-email/a%40x").json()[0], "k1");
    let first = server.get("/tagged/y").json();
    assert_eq!((first["entries"][0][0].clone(), first["entries"][1][0].clone(), first["next"].clone()), (json!("k1"), json!("k2"), json!("k2")));
    let second = server.get("/tagged/y?after=k2").json();
    assert_eq!(second, json!({ "entries": [["k4", { "name": "k4", "email": "c@x", "tags": ["y", "y"], "level": 0 }]], "next": null }));
    assert_eq!(server.get("/tagged/x").json()["entries"].as_array().map(Vec::len), Some(1));
    // Writes after the old program ran without the index are indexed anew
    // when the index comes back.
    app.program(INDEXES_V0, &[]).start().put("/users/k5", &user("k5", "e@x", &["x"])).expect(201);
    let server = app.program(INDEXES, &[]).start();
    assert_eq!(server.get("/by-email/e%40x").json()[0], "k5");
    assert_eq!(server.get("/tagged/x").json()["entries"].as_array().map(Vec::len), Some(2));
    // An Int index, exact beyond 2^53 and ordered below zero.
    for (key, level) in [("k1", "9007199254740993"), ("k2", "9007199254740992"), ("k4", "-5")] {
        let body = format!(r#"{{"name":"{key}","email":"{key}@x","tags":[],"level":{level}}}"#);
        server.put(&format!("/users/{key}"), &body).expect(201);
    }
    assert_eq!(server.get("/level/9007199254740993").json(), json!(["k1"]));
    assert_eq!(server.get("/level/-5").json(), json!(["k4"]));
    assert_eq!(server.get("/level/0").json(), json!(["k5"]), "the default of the rows written without it");
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

/// `schema.js`'s and `indexes.js`'s own tests (schema texts and refusals,
/// index value orders, against native's case by case), under Node's test
/// runner.
#[test]
fn the_workers_schema_and_index_modules_agree_with_native_case_by_case() {
    let mut command = Command::new(node());
    command.current_dir(root()).args(["--test", "std-targets/workers/schema.test.mjs", "std-targets/workers/indexes.test.mjs"]);
    let out = process::run(command, START).unwrap_or_else(|err| panic!("node --test: {err}"));
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success() && said.contains("# fail 0"), "{said}");
}
