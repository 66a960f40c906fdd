//! Running the real `dlc` binary and reading its diagnostics back.

use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::Duration;

use crate::process;

/// The `dlc` that cargo built for this test run.
pub const DLC: &str = env!("CARGO_BIN_EXE_dlc");

/// Generous: a debug build checking a large program, on a busy machine.
const LIMIT: Duration = Duration::from_secs(60);

/// What `dlc check` did with one file.
pub struct Checked {
    pub status: ExitStatus,
    pub stderr: String,
    pub diagnostics: Vec<Diagnostic>,
}

/// One diagnostic as rendered: `[E0200] Error: …` and its location line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: String,
    pub is_error: bool,
    /// Where the primary label points; `line` is 0 if no location was shown.
    pub file: String,
    pub line: usize,
}

/// Runs `dlc check --color never FILE` in `root`, so the paths in the
/// output are the ones given.
pub fn check(root: &Path, file: &Path) -> Result<Checked, String> {
    let mut command = Command::new(DLC);
    command.current_dir(root).args(["check", "--color", "never"]).arg(file);
    diagnose(command, "check", file)
}

/// Runs `dlc build --color never FILE -o EXE` in `root`, for the
/// diagnostics of building; the executable, if any, is deleted.
pub fn build(root: &Path, file: &Path) -> Result<Checked, String> {
    let executable = scratch_path(file);
    let mut command = Command::new(DLC);
    command.current_dir(root).args(["build", "--color", "never"]).arg(file).arg("-o").arg(&executable);
    let checked = diagnose(command, "build", file);
    let _ = std::fs::remove_file(&executable);
    checked
}

/// Runs `dlc build --emit ir FILE` in `root`.
pub fn emit_ir(root: &Path, file: &Path) -> Result<process::Output, String> {
    let mut command = Command::new(DLC);
    command.current_dir(root).args(["build", "--color", "never", "--emit", "ir"]).arg(file);
    process::run(command, LIMIT).map_err(|err| format!("`dlc build --emit ir {}`: {err}", file.display()))
}

fn diagnose(command: Command, verb: &str, file: &Path) -> Result<Checked, String> {
    let output = process::run(command, LIMIT).map_err(|err| format!("`dlc {verb} {}`: {err}", file.display()))?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let diagnostics = parse_diagnostics(&stderr);
    Ok(Checked { status: output.status, stderr, diagnostics })
}

/// A path in the temporary directory for something made from `file`,
/// unique to this process and file.
pub fn scratch_path(file: &Path) -> std::path::PathBuf {
    let flat: String = file.to_string_lossy().chars().map(|c| if c.is_alphanumeric() { c } else { '_' }).collect();
    std::env::temp_dir().join(format!("dl-lang-{}-{flat}", std::process::id()))
}

impl Checked {
    /// Fails unless `dlc` exited with `expected`; the message shows stderr.
    pub fn expect_status(&self, expected: i32) -> Result<(), String> {
        if self.status.code() == Some(expected) {
            return Ok(());
        }
        Err(format!("expected exit status {expected}, got {}\n{}", describe(self.status), indent_output(&self.stderr)))
    }
}

/// An exit status in words; 101 is how `dlc` reports a caught panic.
pub fn describe(status: ExitStatus) -> String {
    match status.code() {
        Some(101) => "101 (dlc panicked: an internal compiler error)".into(),
        Some(code) => code.to_string(),
        None => format!("{status} (dlc crashed)"),
    }
}

pub fn indent_output(text: &str) -> String {
    if text.is_empty() {
        return "stderr: (empty)".into();
    }
    let body: Vec<String> = text.lines().map(|l| format!("  | {l}")).collect();
    format!("stderr:\n{}", body.join("\n"))
}

/// Reads diagnostics from ariadne's output. A report starts with a header
///
/// ```text
/// [E0200] Error: unknown name `x`
/// ```
///
/// and its first location line, `╭─[ FILE:LINE:COL ]` (`,-[` in ASCII
/// mode), names where its primary label points.
pub fn parse_diagnostics(stderr: &str) -> Vec<Diagnostic> {
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    let mut awaiting_location = false;
    for line in strip_ansi(stderr).lines() {
        if let Some((code, is_error)) = parse_header(line) {
            diagnostics.push(Diagnostic { code, is_error, file: String::new(), line: 0 });
            awaiting_location = true;
        } else if awaiting_location
            && let Some((file, line)) = parse_location(line)
            && let Some(last) = diagnostics.last_mut()
        {
            (last.file, last.line) = (file, line);
            awaiting_location = false;
        }
    }
    diagnostics
}

/// `[E0200] Error: …` → `("E0200", true)`; `[W0402] Warning: …` → `("W0402", false)`.
fn parse_header(line: &str) -> Option<(String, bool)> {
    let rest = line.strip_prefix('[')?;
    let (code, rest) = rest.split_once("] ")?;
    if !is_code(code) {
        return None;
    }
    let is_error = if rest.starts_with("Error:") {
        true
    } else if rest.starts_with("Warning:") {
        false
    } else {
        return None;
    };
    Some((code.to_string(), is_error))
}

/// `   ╭─[ lang-tests/x.dl:3:7 ]` → `("lang-tests/x.dl", 3)`.
fn parse_location(line: &str) -> Option<(String, usize)> {
    let trimmed = line.trim_start();
    let rest = trimmed.strip_prefix("╭─[").or_else(|| trimmed.strip_prefix(",-["))?;
    let inner = rest.trim_end().strip_suffix(']')?.trim();
    let mut parts = inner.rsplitn(3, ':');
    let _col: usize = parts.next()?.parse().ok()?;
    let line: usize = parts.next()?.parse().ok()?;
    Some((parts.next()?.to_string(), line))
}

/// `E0200`, `W0402`: a capital letter and four digits.
pub fn is_code(word: &str) -> bool {
    let bytes = word.as_bytes();
    bytes.len() == 5 && bytes[0].is_ascii_uppercase() && bytes[1..].iter().all(u8::is_ascii_digit)
}

/// Removes ANSI escape sequences (CSI `ESC [ … final`), in case colour
/// leaks through.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            // Parameters and intermediates, then one final byte in @..~.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
    }
    out
}
