//! `dlc test FILE [--filter TEXT]`: the program's tests, compiled into this
//! process and run by the runtime (`dlvm::service::testing`), several at
//! once, reported in source order: one line per test, what went wrong
//! under a failed one, then `N passed, M failed`.

use std::io::Write;

use dlvm::service::testing::{self, Outcome};

use crate::jit::Loaded;

/// Runs the tests whose name contains `filter`; whether all passed.
pub fn run(loaded: &Loaded, filter: Option<&str>, color: bool) -> Result<bool, String> {
    let program = &loaded.program;
    let selected: Vec<usize> =
        (0..program.tests.len()).filter(|&i| filter.is_none_or(|f| program.tests[i].name.contains(f))).collect();
    let secrets = program
        .secrets
        .iter()
        .map(|name| {
            std::env::var(name).unwrap_or_else(|_| {
                eprintln!("note: the secret {name} is not set in the environment: tests see it as \"\"");
                String::new()
            })
        })
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let (mut passed, mut failed) = (0, 0);
    let mut out = std::io::stdout().lock();
    testing::run(std::sync::Arc::clone(program), secrets, selected, threads, |test, outcome| {
        let name = &program.tests[test].name;
        let report = report(name, &outcome, color);
        if outcome.result.is_ok() { passed += 1 } else { failed += 1 }
        let _ = out.write_all(report.as_bytes());
        let _ = out.flush();
    })?;
    let _ = writeln!(out, "{passed} passed, {failed} failed");
    Ok(failed == 0)
}

/// `test NAME ... ok`, or `... FAILED` with why, what it printed and what
/// the server logged, indented under it.
fn report(name: &str, outcome: &Outcome, color: bool) -> String {
    let paint = |code: &str, text: &str| if color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() };
    let Err(why) = &outcome.result else { return format!("test {name} ... {}\n", paint("32", "ok")) };
    let mut text = format!("test {name} ... {}\n", paint("31", "FAILED"));
    let mut section = |title: Option<&str>, body: &str| {
        let indent = if title.is_some() { "    " } else { "  " };
        if let Some(title) = title {
            text.push_str(&format!("  {title}:\n"));
        }
        for line in body.lines() {
            text.push_str(&format!("{indent}{line}\n"));
        }
    };
    section(None, why);
    if !outcome.printed.is_empty() {
        section(Some("printed"), &String::from_utf8_lossy(&outcome.printed));
    }
    if !outcome.log.is_empty() {
        section(Some("logged"), &outcome.log.join("\n"));
    }
    text
}
