//! `dlc`, the Distlang command-line compiler (brief §7): parses its
//! arguments, reads source files, hands them to `dlc-core` and maps the
//! outcome to output and an exit status.
//!
//! Exit statuses: 0 success (warnings allowed), 1 the program has compile
//! errors, 2 bad usage, an unreadable file or a command not implemented yet,
//! 101 an internal compiler error (a bug: `dlc` caught a panic).

mod driver;

// The checker allocates many small trees; mimalloc makes that a third faster
// than the system allocator (measured with `dl-bench check`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use driver::Outcome;

#[derive(Parser)]
#[command(name = "dlc", version, about = "The Distlang compiler", propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    /// When to colour diagnostics.
    #[arg(long, value_enum, global = true, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    /// Colour when standard error is a terminal.
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum Command {
    /// Check programs and print their diagnostics; each FILE is its own program.
    Check {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Print the inferred manifest: routes, stores, crons, secrets, tests.
    Plan {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Print the manifest as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Build a native executable (not implemented yet).
    Build(Planned),
    /// Build and run a program (not implemented yet).
    Run(Planned),
    /// Run a program's tests (not implemented yet).
    Test(Planned),
    /// Interactive session (not implemented yet).
    Repl(Planned),
    /// Serve a program for local development (not implemented yet).
    Serve(Planned),
    /// Build a deployable bundle for a target (not implemented yet).
    Ship(Planned),
}

/// The arguments of a command that is not implemented yet: anything, so that
/// every invocation from the brief reaches the "not implemented" message.
#[derive(Args)]
struct Planned {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    args: Vec<std::ffi::OsString>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = match cli.color {
        Color::Auto => std::io::stderr().is_terminal(),
        Color::Always => true,
        Color::Never => false,
    };
    let outcome = match cli.command {
        Command::Check { files } => check(&files, color),
        Command::Plan { file, json } => plan(&file, json, color),
        Command::Build(_) => not_implemented("build"),
        Command::Run(_) => not_implemented("run"),
        Command::Test(_) => not_implemented("test"),
        Command::Repl(_) => not_implemented("repl"),
        Command::Serve(_) => not_implemented("serve"),
        Command::Ship(_) => not_implemented("ship"),
    };
    outcome.exit_code()
}

/// `dlc check FILE...`: diagnostics of every file; the worst outcome wins.
fn check(files: &[PathBuf], color: bool) -> Outcome {
    let mut worst = Outcome::Success;
    for path in files {
        let outcome = match driver::compile_file(path, color) {
            Ok(compiled) => {
                eprint!("{}", compiled.rendered);
                if compiled.has_errors { Outcome::CompileErrors } else { Outcome::Success }
            }
            Err(failure) => failure,
        };
        worst = worst.max(outcome);
    }
    worst
}

/// `dlc plan FILE [--json]`: the manifest on stdout, diagnostics on stderr.
fn plan(path: &std::path::Path, json: bool, color: bool) -> Outcome {
    let compiled = match driver::compile_file(path, color) {
        Ok(compiled) => compiled,
        Err(failure) => return failure,
    };
    eprint!("{}", compiled.rendered);
    let manifest = match compiled.manifest {
        Some(manifest) => manifest,
        None if compiled.has_errors => return Outcome::CompileErrors,
        None => {
            eprintln!("error: internal compiler error: {} checked clean but has no manifest", path.display());
            return Outcome::InternalError;
        }
    };
    if json {
        // Serialising a `serde_json::Value` cannot fail.
        let text = serde_json::to_string_pretty(&manifest.to_json()).unwrap_or_default();
        println!("{text}");
    } else {
        print!("{}", manifest.to_table());
    }
    Outcome::Success
}

fn not_implemented(command: &str) -> Outcome {
    eprintln!("error: `dlc {command}` is not implemented yet");
    Outcome::Usage
}
