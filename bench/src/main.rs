//! `dl-bench`: on-demand benchmarks of `dlc` (never run as tests). Each
//! benchmark is a subcommand; see `bench/README.md`.
//!
//! `cargo run --release -p dl-bench -- check` times `dlc check` on a
//! generated 10,000-line program; `-- native` times executables built by
//! `dlc build` against C, Node and Deno; `-- http` loads a server built by
//! `dlc build` and the same routes on Deno with wrk; `-- tests` times
//! `dlc test` on a generated suite against the same suite under `deno test`;
//! `-- repl` times `dlc repl`'s answer to each input of a session; `--
//! reload` times `dlc serve`'s reloads against `deno run --watch`; `--
//! workers` measures bundles, cold starts and requests/s in workerd.

mod check;
mod dlc;
mod http;
mod pages;
mod native;
mod peers;
mod program;
mod reload;
mod repl;
mod runs;
mod tests;
mod wasm;
mod workers;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "dl-bench", about = "Benchmarks of the Distlang compiler")]
struct Cli {
    #[command(subcommand)]
    bench: Bench,
}

/// One variant per benchmark; a new one is a variant, a module and a line
/// in `main`.
#[derive(Subcommand)]
enum Bench {
    /// Time `dlc check` on a generated program.
    Check(check::Args),
    /// Time programs built by `dlc build` against C, Node and Deno.
    Native(native::Args),
    /// Load a server built by `dlc build` and the same routes on Deno with wrk.
    Http(http::Args),
    /// The newest page of a store of 10k to 1M entries (`store.page`) against Deno KV's `kv.list`, with wrk.
    Pages(pages::Args),
    /// Time `dlc test` on a generated suite against the same suite under `deno test`.
    Tests(tests::Args),
    /// fib, alloc and numeric as Wasm in Node, against JavaScript in Node and native; module sizes.
    Wasm(wasm::Args),
    /// Time `dlc repl`'s answer to each input of a generated session.
    Repl(repl::Args),
    /// `dlc serve`'s reloads against `deno run --watch`: save to new answer, failures under load, RSS.
    Reload(reload::Args),
    /// The Workers target: bundle sizes, cold start, requests/s in workerd against native.
    Workers(workers::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().bench {
        Bench::Check(args) => check::run(&args),
        Bench::Native(args) => native::run(&args),
        Bench::Http(args) => http::run(&args),
        Bench::Pages(args) => pages::run(&args),
        Bench::Tests(args) => tests::run(&args),
        Bench::Wasm(args) => wasm::run(&args),
        Bench::Repl(args) => repl::run(&args),
        Bench::Reload(args) => reload::run(&args),
        Bench::Workers(args) => workers::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
