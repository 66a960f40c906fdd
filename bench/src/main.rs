//! `dl-bench`: on-demand benchmarks of `dlc` (never run as tests). Each
//! benchmark is a subcommand; see `bench/README.md`.
//!
//! `cargo run --release -p dl-bench -- check` times `dlc check` on a
//! generated 10,000-line program; `-- native` times executables built by
//! `dlc build` against C, Node and Deno.

mod check;
mod dlc;
mod native;
mod program;
mod runs;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "dl-bench", about = "Benchmarks of the Distlang compiler")]
struct Cli {
    #[command(subcommand)]
    bench: Bench,
}

/// One variant per benchmark; a new one (HTTP against Deno, …) is a
/// variant, a module and a line in `main`.
#[derive(Subcommand)]
enum Bench {
    /// Time `dlc check` on a generated program.
    Check(check::Args),
    /// Time programs built by `dlc build` against C, Node and Deno.
    Native(native::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().bench {
        Bench::Check(args) => check::run(&args),
        Bench::Native(args) => native::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
