//! The targets run tests (`run-pass`, `run-fail`) run on. Adding a target is
//! writing its runner and naming it in [`TARGETS`].

use std::path::Path;

use std::process::Command;
use std::time::Duration;

use crate::cases::{Case, Kind};
use crate::dlc;
use crate::expected::{self, Missing};
use crate::process::{self, Output};

/// Builds and runs the program at `program` (relative to `root`, the
/// working directory) and returns what it did.
pub type Runner = fn(root: &Path, program: &Path) -> Result<Output, String>;

pub struct Target {
    /// The name in `//@ run: NAME` and in trial names (`x.dl [native]`).
    pub name: &'static str,
    /// `None` until the target exists: its run tests get no trials yet.
    pub run: Option<Runner>,
}

pub const TARGETS: &[Target] = &[
    Target { name: "native", run: Some(run_native) },
    // `dlc run --jit`: compiled into the `dlc` process, as `dlc test` and `dlc repl` run code.
    Target { name: "jit", run: Some(run_jit) },
    // `dlc run --target wasm`: a Wasm module under Node.
    Target { name: "wasm", run: Some(run_wasm) },
    // `dlc ship --target workers`, then drive it with `wrangler dev`.
    Target { name: "workers", run: None },
];

/// Generous: a debug `dlc` on a busy machine; programs themselves are quick.
const LIMIT: Duration = Duration::from_secs(60);

/// `dlc build` to a temporary executable, then run it from `root`.
fn run_native(root: &Path, program: &Path) -> Result<Output, String> {
    let executable = dlc::scratch_path(program);
    let mut build = Command::new(dlc::DLC);
    build.current_dir(root).args(["build", "--color", "never"]).arg(program).arg("-o").arg(&executable);
    let built = process::run(build, LIMIT).map_err(|err| format!("`dlc build {}`: {err}", program.display()))?;
    if !built.status.success() {
        return Err(format!(
            "`dlc build` failed with {}\n{}",
            dlc::describe(built.status),
            dlc::indent_output(&String::from_utf8_lossy(&built.stderr))
        ));
    }
    let mut command = Command::new(&executable);
    command.current_dir(root);
    let ran = process::run(command, LIMIT).map_err(|err| format!("running {}: {err}", program.display()));
    let _ = std::fs::remove_file(&executable);
    ran
}

/// `dlc run --jit` from `root`: the program compiled and run inside `dlc`.
fn run_jit(root: &Path, program: &Path) -> Result<Output, String> {
    let mut command = Command::new(dlc::DLC);
    command.current_dir(root).args(["run", "--jit", "--color", "never"]).arg(program);
    process::run(command, LIMIT).map_err(|err| format!("`dlc run --jit {}`: {err}", program.display()))
}

/// `dlc run --target wasm` from `root`: the module, under Node.
fn run_wasm(root: &Path, program: &Path) -> Result<Output, String> {
    let mut command = Command::new(dlc::DLC);
    command.current_dir(root).args(["run", "--target", "wasm", "--color", "never"]).arg(program);
    process::run(command, LIMIT).map_err(|err| format!("`dlc run --target wasm {}`: {err}", program.display()))
}

/// `dlc test` on the case (`--filter` when given): its stdout is pinned by
/// `NAME.stdout` with error ids replaced by `ID` (an example's, unpinned,
/// must end `N passed, 0 failed`), its status by `NAME.status` (0).
pub fn test_trial(root: &Path, case: &Case, filter: Option<&str>) -> Result<(), String> {
    let mut command = Command::new(dlc::DLC);
    command.current_dir(root).args(["test", "--color", "never"]).arg(&case.path);
    if let Some(filter) = filter {
        command.args(["--filter", filter]);
    }
    let output = process::run(command, LIMIT).map_err(|err| format!("`dlc test {}`: {err}", case.path.display()))?;
    let stdout = without_error_ids(&String::from_utf8_lossy(&output.stdout));
    if case.kind != Kind::Test {
        let last = stdout.lines().last().unwrap_or("");
        if output.status.success() && last.ends_with(" passed, 0 failed") {
            return Ok(());
        }
        return Err(format!("`dlc test` failed with {}\n{}{}", dlc::describe(output.status), dlc::indent_output(&stdout), dlc::indent_output(&String::from_utf8_lossy(&output.stderr))));
    }
    let results = [
        compare_status(root, &case.path, &output, 0),
        expected::compare(root, &case.path, "stdout", &stdout, Missing::Fails),
        expected::compare(root, &case.path, "stderr", &String::from_utf8_lossy(&output.stderr), Missing::MeansEmpty),
    ];
    let problems: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n\n")) }
}

/// `text` with each 500's error id (8 hex digits after `error ` or in
/// `"id":"…"`) replaced by `ID`: they are random.
fn without_error_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = ["error ", "\"id\":\""].iter().filter_map(|m| rest.find(m).map(|i| i + m.len())).min() {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let id_len = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        if id_len == 8 {
            out.push_str("ID");
            rest = &rest[8..];
        }
    }
    out.push_str(rest);
    out
}

/// Runs the case on one target and compares status, stdout and stderr with
/// the files beside it (`NAME.status`, `NAME.stdout`, `NAME.stderr`).
pub fn run_trial(root: &Path, case: &Case, run: Runner) -> Result<(), String> {
    let output = run(root, &case.path)?;
    let (default_status, stderr) = match case.kind {
        Kind::RunFail => (1, Missing::Fails),
        _ => (0, Missing::MeansEmpty),
    };
    let results = [
        compare_status(root, &case.path, &output, default_status),
        expected::compare(root, &case.path, "stdout", &String::from_utf8_lossy(&output.stdout), Missing::MeansEmpty),
        expected::compare(root, &case.path, "stderr", &String::from_utf8_lossy(&output.stderr), stderr),
    ];
    let problems: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n\n")) }
}

/// `NAME.status` holds the expected exit status when it is not the default
/// (0 for run-pass, 1 for run-fail); blessing writes it only then.
fn compare_status(root: &Path, program: &Path, output: &Output, default: i32) -> Result<(), String> {
    let path = root.join(program.with_extension("status"));
    let actual = output.status.code();
    if expected::blessing() {
        let result = match actual {
            Some(code) if code == default => std::fs::remove_file(&path).or(Ok(())),
            _ => std::fs::write(&path, format!("{}\n", actual.map_or(-1, |c| c))),
        };
        return result.map_err(|err: std::io::Error| format!("cannot bless {}: {err}", path.display()));
    }
    let expected = match std::fs::read_to_string(&path) {
        Ok(text) => text.trim().parse::<i32>().map_err(|_| format!("{}: not an exit status: {text:?}", path.display()))?,
        Err(_) => default,
    };
    if actual == Some(expected) {
        return Ok(());
    }
    Err(format!("expected exit status {expected}, got {}", output.status))
}
