//! The language tests (`cargo test -p dlc --test lang`): every file under
//! `lang-tests/`, every example, every `dl` code block of `spec/`, and the
//! agreement of diagnostic codes, docs and tests. Each runs the real `dlc`.
//! The format is described in `lang-tests/README.md`.
//!
//! `cargo test -p dlc --test lang -- check-fail/` runs a subset;
//! `DL_BLESS=1 cargo test -p dlc --test lang` rewrites expected outputs.

mod cases;
mod codes;
mod dlc;
mod expected;
mod process;
mod spec;
mod targets;

use std::path::PathBuf;

use libtest_mimic::{Failed, Trial};

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let root = repo_root();
    let (cases, problems) = cases::discover(&root);
    let mut trials = Vec::new();
    for (name, problem) in problems {
        trials.push(failing(name, problem));
    }
    for case in &cases {
        trials.extend(cases::trials(&root, case.clone()));
    }
    trials.extend(spec::trials(&root));
    trials.push(codes::trial(&root, &cases));
    libtest_mimic::run(&args, trials).exit();
}

/// `compiler/cli/../..`.
fn repo_root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// A trial whose failure message ends with the command that reruns it.
pub fn trial(name: String, run: impl FnOnce() -> Result<(), String> + Send + 'static) -> Trial {
    let rerun = format!("\n\nrerun: cargo test -p dlc --test lang -- --exact '{name}'");
    Trial::test(name, move || run().map_err(|message| Failed::from(message + &rerun)))
}

/// A trial that fails with `message`: a problem found before running.
pub fn failing(name: String, message: String) -> Trial {
    trial(name, move || Err(message))
}
