//! The `dlc` command line as users see it (brief §7): exit statuses, which
//! stream gets what, the one-line IO errors, `plan`'s two forms, `build` and
//! `run`.

use std::path::PathBuf;
use std::process::{Command, Output};

const DLC: &str = env!("CARGO_BIN_EXE_dlc");

const CLEAN: &str = "store todos: String\n\nroute GET /todos {\n  todos.values()\n}\n";
const BROKEN: &str = "fn main() {\n  print(nope)\n}\n";

/// Writes `files` into a fresh directory for `test` and returns it.
fn workdir(test: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test directory");
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).expect("write a test file");
    }
    dir
}

fn dlc(dir: &PathBuf, args: &[&str]) -> Output {
    Command::new(DLC).current_dir(dir).args(args).output().expect("run dlc")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_of_a_clean_program_prints_nothing_and_exits_0() {
    let dir = workdir("check-clean", &[("app.dl", CLEAN.as_bytes())]);
    let out = dlc(&dir, &["check", "app.dl"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn check_reports_errors_on_stderr_and_exits_1() {
    let dir = workdir("check-broken", &[("app.dl", BROKEN.as_bytes())]);
    let out = dlc(&dir, &["check", "--color", "never", "app.dl"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("] Error: "), "{stderr}");
    assert!(stderr.contains("app.dl:2:"), "the location names the file as given: {stderr}");
}

#[test]
fn an_unreadable_file_is_one_line_and_exit_2() {
    let dir = workdir("unreadable", &[("latin1.dl", b"fn main() { print(\"caf\xe9\") }\n")]);
    let out = dlc(&dir, &["check", "missing.dl"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "error: cannot read missing.dl: no such file or directory\n");
    let out = dlc(&dir, &["check", "latin1.dl"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "error: cannot read latin1.dl: not valid UTF-8 (invalid byte at offset 22)\n");
}

#[test]
fn check_checks_every_file_and_the_worst_outcome_wins() {
    let dir = workdir("worst", &[("clean.dl", CLEAN.as_bytes()), ("broken.dl", BROKEN.as_bytes())]);
    let out = dlc(&dir, &["check", "--color", "never", "clean.dl", "broken.dl"]);
    assert_eq!(out.status.code(), Some(1));
    let out = dlc(&dir, &["check", "--color", "never", "missing.dl", "broken.dl", "clean.dl"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("error: cannot read missing.dl"), "{stderr}");
    assert!(stderr.contains("broken.dl:2:"), "files after the unreadable one are still checked: {stderr}");
}

#[test]
fn color_is_chosen_by_flag() {
    let dir = workdir("color", &[("app.dl", BROKEN.as_bytes())]);
    let always = text(&dlc(&dir, &["check", "--color", "always", "app.dl"]).stderr);
    assert!(always.contains('\u{1b}'), "--color always colours: {always}");
    let never = text(&dlc(&dir, &["--color", "never", "check", "app.dl"]).stderr);
    assert!(!never.contains('\u{1b}'), "--color never does not: {never}");
    // Captured stderr is not a terminal, so `auto` means no colour here.
    let auto = text(&dlc(&dir, &["check", "app.dl"]).stderr);
    assert_eq!(auto, never);
}

#[test]
fn plan_prints_the_manifest_table() {
    let dir = workdir("plan-table", &[("app.dl", CLEAN.as_bytes())]);
    let out = dlc(&dir, &["plan", "app.dl"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("Routes (1)\n"), "{stdout}");
    assert!(stdout.contains("/todos"), "{stdout}");
}

#[test]
fn plan_json_is_the_versioned_manifest() {
    let dir = workdir("plan-json", &[("app.dl", CLEAN.as_bytes())]);
    let out = dlc(&dir, &["plan", "app.dl", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).expect("plan --json prints JSON");
    assert_eq!(manifest["version"], 1);
    assert_eq!(manifest["routes"][0]["path"], "/todos");
    assert_eq!(manifest["routes"][0]["reads"][0], "todos");
}

#[test]
fn plan_shows_what_cors_allows() {
    let source = "cors [\"https://app.example.com\"]\n\nroute GET /x {\n  \"x\"\n}\n";
    let dir = workdir("plan-cors", &[("app.dl", source.as_bytes())]);
    let out = dlc(&dir, &["plan", "app.dl"]);
    assert!(text(&out.stdout).contains("CORS: https://app.example.com; preflight answered on every route path\n"), "{}", text(&out.stdout));
    let out = dlc(&dir, &["plan", "--json", "app.dl"]);
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).expect("plan --json prints JSON");
    assert_eq!(manifest["cors"], serde_json::json!(["https://app.example.com"]));
}

#[test]
fn plan_of_a_broken_program_prints_diagnostics_only() {
    let dir = workdir("plan-broken", &[("app.dl", BROKEN.as_bytes())]);
    let out = dlc(&dir, &["plan", "--json", "app.dl"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert!(text(&out.stderr).contains("] Error: "));
}

#[test]
fn version_and_usage() {
    let dir = workdir("usage", &[]);
    let out = dlc(&dir, &["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), format!("dlc {}\n", env!("CARGO_PKG_VERSION")));
    assert_eq!(dlc(&dir, &[]).status.code(), Some(2), "no command is a usage error");
    assert_eq!(dlc(&dir, &["check"]).status.code(), Some(2), "check needs a file");
    assert_eq!(dlc(&dir, &["frobnicate"]).status.code(), Some(2));
}

const SCRIPT: &str = "fn main() {\n  print(\"hi\")\n}\n";

#[test]
fn build_writes_the_executable_beside_the_working_directory_by_default() {
    let dir = workdir("build-default", &[("hello.dl", SCRIPT.as_bytes())]);
    let out = dlc(&dir, &["build", "hello.dl"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    let ran = Command::new(dir.join("hello")).output().expect("run the built program");
    assert_eq!(text(&ran.stdout), "hi\n");
    assert_eq!(ran.status.code(), Some(0));
}

#[test]
fn build_writes_where_o_says() {
    let dir = workdir("build-o", &[("hello.dl", SCRIPT.as_bytes())]);
    let out = dlc(&dir, &["build", "hello.dl", "-o", "sub-dir-less-name"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir.join("sub-dir-less-name").is_file());
    assert!(!dir.join("hello").exists());
}

#[test]
fn run_passes_arguments_and_exits_with_the_programs_status() {
    let failing = "fn main() {\n  print(\"before\")\n  assert 1 + 1 == 3\n}\n";
    let dir = workdir("run", &[("hello.dl", SCRIPT.as_bytes()), ("fails.dl", failing.as_bytes())]);
    let out = dlc(&dir, &["run", "hello.dl", "--", "--port", "1"]);
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), "hi\n".to_string()), "{}", text(&out.stderr));
    let out = dlc(&dir, &["run", "fails.dl"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "before\n");
    assert_eq!(text(&out.stderr), "error: assertion failed: 1 + 1 == 3 at fails.dl:3:3\n  left:  2\n  right: 3\n");
    assert!(!dir.join("fails").exists(), "`run` leaves no executable behind");
}

#[test]
fn build_of_a_broken_program_prints_diagnostics_and_writes_nothing() {
    let dir = workdir("build-broken", &[("app.dl", BROKEN.as_bytes())]);
    let out = dlc(&dir, &["build", "--color", "never", "app.dl"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("[E0200] Error"), "{}", text(&out.stderr));
    assert!(!dir.join("app").exists());
}

#[test]
fn build_without_a_c_compiler_says_what_to_install() {
    let dir = workdir("build-no-cc", &[("hello.dl", SCRIPT.as_bytes())]);
    let out = Command::new(DLC)
        .current_dir(&dir)
        .args(["build", "hello.dl"])
        .env("CC", "no-such-cc")
        .output()
        .expect("run dlc");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: cannot link: the C compiler `no-such-cc` was not found\n\
         hint: install gcc or clang (Debian: `apt install gcc`), or set CC to one\n"
    );
    assert!(!dir.join("hello").exists());
}

#[test]
fn build_target_wasm_writes_a_module_and_run_runs_it_under_node() {
    let failing = "fn main() {\n  print(\"before\")\n  assert 1 + 1 == 3\n}\n";
    let dir = workdir("wasm", &[("hello.dl", SCRIPT.as_bytes()), ("fails.dl", failing.as_bytes())]);
    let out = dlc(&dir, &["build", "--target", "wasm", "hello.dl"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let module = std::fs::read(dir.join("hello.wasm")).expect("hello.wasm is written");
    assert_eq!(&module[..4], b"\0asm");
    let out = dlc(&dir, &["run", "--target", "wasm", "hello.dl"]);
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), "hi\n".to_string()), "{}", text(&out.stderr));
    let out = dlc(&dir, &["build", "--emit", "wat", "hello.dl"]);
    let wat = text(&out.stdout);
    assert!(wat.starts_with("(module") && wat.contains("(export \"main\""), "{wat}");
    let out = dlc(&dir, &["run", "--target", "wasm", "fails.dl"]);
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(1), "before\n".to_string()));
    assert_eq!(text(&out.stderr), "error: assertion failed: 1 + 1 == 3 at fails.dl:3:3\n  left:  2\n  right: 3\n");
}

#[test]
fn run_target_wasm_without_node_says_what_to_install() {
    let dir = workdir("wasm-no-node", &[("hello.dl", SCRIPT.as_bytes())]);
    let out = Command::new(DLC)
        .current_dir(&dir)
        .args(["run", "--target", "wasm", "hello.dl"])
        .env("DLC_NODE", "no-such-node")
        .output()
        .expect("run dlc");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: cannot run the Wasm module: Node (`no-such-node`) was not found\n\
         hint: install Node.js 20 or later, or set DLC_NODE to its path\n"
    );
}

#[test]
fn a_service_builds_for_wasm_but_runs_under_node_as_one_diagnostic() {
    let service = "store notes: String\n\nroute GET /notes/:id {\n  notes.get(id)\n}\n";
    let dir = workdir("wasm-service", &[("app.dl", service.as_bytes())]);
    let out = dlc(&dir, &["run", "--target", "wasm", "--color", "never", "app.dl"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.matches("Error:").count(), 1, "{stderr}");
    assert!(stderr.contains("[E0600] Error: `dlc run --target wasm` runs scripts only, and this program has stores"), "{stderr}");
    assert!(stderr.contains("app.dl:1:7"), "{stderr}");
    assert!(stderr.contains("dlc ship --target workers"), "{stderr}");
    // Built, it is a module for a Workers host.
    let out = dlc(&dir, &["build", "--target", "wasm", "app.dl"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.join("app.wasm").exists());
}

#[test]
fn what_workers_cannot_run_fails_ship_and_plan_with_one_diagnostic_each() {
    let program = "store s: Int\n\ncron last_friday \"0 9 * * 5L\" {\n  s.set(\"a\", 1)\n}\n\ncron nth \"0 9 * * 5#2\" {\n  s.set(\"b\", 1)\n}\n";
    let dir = workdir("workers-capability", &[("app.dl", program.as_bytes())]);
    for command in [&["ship", "--target", "workers", "--color", "never", "app.dl", "-o", "out"][..], &["plan", "--target", "workers", "--color", "never", "app.dl"]] {
        let out = dlc(&dir, command);
        assert_eq!(out.status.code(), Some(1), "{command:?}");
        let stderr = text(&out.stderr);
        assert_eq!(stderr.matches("Error:").count(), 2, "{stderr}");
        assert!(stderr.contains("[E0600] Error: cron `last_friday`: the day of the week `5L` is not supported on the workers target"), "{stderr}");
        assert!(stderr.contains("app.dl:3:6") && stderr.contains("app.dl:7:6"), "{stderr}");
    }
    assert!(!dir.join("out").exists(), "nothing shipped");
}

#[test]
fn plan_for_workers_shows_what_ship_provisions() {
    let program = "secret API_TOKEN\nstore notes: String\n\ncron weekly \"@weekly\" {\n  notes.set(\"w\", API_TOKEN)\n}\n\nroute GET /notes {\n  notes.keys()\n}\n";
    let dir = workdir("workers-plan", &[("notes.dl", program.as_bytes())]);
    let out = dlc(&dir, &["plan", "--target", "workers", "notes.dl"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("on Cloudflare Workers (notes):"), "{stdout}");
    assert!(stdout.contains("  store notes: table store_notes in the object's SQLite\n"), "{stdout}");
    assert!(stdout.contains("  cron weekly: trigger \"0 0 * * SUN\"\n"), "{stdout}");
    assert!(stdout.contains("  secret API_TOKEN: "), "{stdout}");
    let out = dlc(&dir, &["plan", "--target", "workers", "--json", "notes.dl"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["workers"]["name"], "notes");
    assert_eq!(json["crons"][0]["schedule"], "@weekly");

    let out = dlc(&dir, &["ship", "--target", "workers", "notes.dl", "-o", "bundle"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("shipped notes for Cloudflare Workers into bundle\n"), "{stdout}");
    assert!(stdout.contains(" gzipped (Cloudflare's limit: 64 MiB)"), "{stdout}");
    let toml = std::fs::read_to_string(dir.join("bundle/wrangler.toml")).expect("wrangler.toml");
    assert!(toml.contains("name = \"notes\"\nmain = \"worker.js\"\n"), "{toml}");
    assert!(toml.contains("[triggers]\ncrons = [\"0 0 * * SUN\"]"), "{toml}");
    assert!(toml.contains("new_sqlite_classes = [\"Program\"]"), "{toml}");
    assert!(toml.contains("#   API_TOKEN"), "{toml}");
}

#[test]
fn shipping_a_script_to_workers_says_there_is_nothing_to_run() {
    let dir = workdir("workers-script", &[("hello.dl", b"fn main() {\n  print(\"hi\")\n}\n")]);
    let out = dlc(&dir, &["ship", "--target", "workers", "hello.dl"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: hello.dl has no routes and no crons: nothing would run on Workers\nhint: a script runs with `dlc run`; Workers serve routes and run crons\n"
    );
    assert!(!dir.join("hello-workers").exists());
}
