//! `dlc`, the Distlang command-line compiler (brief §7): parses its
//! arguments, reads source files, hands them to `dlc-core` and maps the
//! outcome to output and an exit status.
//!
//! Exit statuses: 0 success (warnings allowed), 1 the program has compile
//! errors, 2 bad usage, an unreadable file or a command not implemented yet,
//! 101 an internal compiler error (a bug: `dlc` caught a panic).

mod driver;
mod jit;
mod native;
mod repl;
mod serve;
mod testing;
mod wasm;
mod workers;

// The checker allocates many small trees; mimalloc makes that a third faster
// than the system allocator (measured with `dl-bench check`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
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

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Target {
    /// An executable for this machine (Cranelift, linked with `cc`).
    Native,
    /// A WebAssembly module (runs under Node with `dlc run`).
    Wasm,
}

#[derive(Clone, Copy, ValueEnum)]
enum ShipTarget {
    /// Cloudflare Workers: the Wasm module in a Durable Object with SQLite storage.
    Workers,
}

#[derive(Clone, Copy, ValueEnum)]
enum Emit {
    /// The mid-level IR (monomorphic, A-normal form).
    Ir,
    /// The Wasm module as text (implies `--target wasm`).
    Wat,
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
        /// Also show what shipping to this target provisions (and check
        /// that the target can run the program).
        #[arg(long, value_enum)]
        target: Option<ShipTarget>,
    },
    /// Build a native executable, or a Wasm module.
    Build {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Target::Native)]
        target: Target,
        /// Where to write the executable [default: the file's name without `.dl` (and with `.wasm` for wasm), in the current directory].
        #[arg(short, long, value_name = "PATH")]
        output: Option<PathBuf>,
        /// Print an intermediate form instead of building.
        #[arg(long, value_enum, value_name = "FORM")]
        emit: Option<Emit>,
    },
    /// Build a program and run it, passing it ARGS.
    Run {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Target::Native)]
        target: Target,
        /// Compile into this process and run there, instead of building an
        /// executable (what `dlc test` and `dlc repl` do).
        #[arg(long, conflicts_with = "target")]
        jit: bool,
        #[arg(last = true, value_name = "ARGS")]
        args: Vec<std::ffi::OsString>,
    },
    /// Run a program's tests, each against a fresh, empty store.
    Test {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Run only the tests whose name contains TEXT.
        #[arg(long, value_name = "TEXT")]
        filter: Option<String>,
    },
    /// An interactive session: expressions, `let`, `fn`, `type`; with a
    /// program, its definitions and its store.
    Repl {
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
        /// The store file [default: FILE with `.db` instead of `.dl`].
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
    },
    /// Serve a program for local development: its routes and crons, reloaded
    /// on every save while the socket and the store stay open.
    Serve {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[arg(long, default_value_t = 8080)]
        port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// The store file [default: FILE's name with `.db`, in this directory].
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
    },
    /// Build a deployable bundle: for Cloudflare Workers, a directory that
    /// `npx wrangler dev` runs and `npx wrangler deploy` deploys.
    Ship {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[arg(long, value_enum)]
        target: ShipTarget,
        /// The bundle's directory [default: FILE's name with `-workers`, in the current directory].
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    // No transparent huge pages: a compilation touches its memory once, and
    // after another program ran, faulting in huge pages (zeroing, and
    // compacting memory to find them) cost `dlc test` up to a third of its
    // time (`dl-bench tests`: 0.34-0.63 s without this, 0.35 s with).
    // SAFETY: a plain prctl on this process; its failure changes nothing.
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    let cli = Cli::parse();
    let color = match cli.color {
        Color::Auto => std::io::stderr().is_terminal(),
        Color::Always => true,
        Color::Never => false,
    };
    let outcome = match cli.command {
        Command::Check { files } => check(&files, color),
        Command::Plan { file, json, target: None } => plan(&file, json, color),
        Command::Plan { file, json, target: Some(ShipTarget::Workers) } => plan_workers(&file, json, color),
        Command::Build { file, emit: Some(Emit::Ir), .. } => emit_ir(&file, color),
        Command::Build { file, emit: Some(Emit::Wat), .. } => emit_wat(&file, color),
        Command::Build { file, output, emit: None, target } => {
            let output = output.unwrap_or_else(|| default_output(&file, target));
            build(&file, &output, target, color)
        }
        Command::Run { file, jit: false, args, target } => run(&file, &args, target, color),
        Command::Run { file, jit: true, args, .. } => run_in_process(&file, &args, color),
        Command::Test { file, filter } => {
            let report_color = match cli.color {
                Color::Auto => std::io::stdout().is_terminal(),
                Color::Always => true,
                Color::Never => false,
            };
            test(&file, filter.as_deref(), color, report_color)
        }
        Command::Repl { file, db } => Outcome::Program(repl::run(file.as_deref(), db, color)),
        Command::Serve { file, port, host, db } => serve::run(serve::Options { file, port, host, db, color }),
        Command::Ship { file, target: ShipTarget::Workers, output } => ship_workers(&file, output, color),
    };
    outcome.exit_code()
}

/// `dlc check FILE...`: diagnostics of every file; the worst outcome wins.
fn check(files: &[PathBuf], color: bool) -> Outcome {
    let mut worst = Outcome::Success;
    for path in files {
        let outcome = match driver::compile_file(path, color, driver::front_end_only) {
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
    let compiled = match driver::compile_file(path, color, driver::front_end_only) {
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

/// The program compiled with a Workers backend (its diagnostics printed):
/// what the backend made of it, and its manifest.
fn checked_for_workers<T: Send + 'static>(path: &Path, backend: driver::Backend<T>, color: bool) -> Result<(T, dlc_core::manifest::Manifest), Outcome> {
    let compiled = driver::compile_file(path, color, backend)?;
    eprint!("{}", compiled.rendered);
    match (compiled.output, compiled.manifest) {
        (Some(output), Some(manifest)) => Ok((output, manifest)),
        _ => Err(Outcome::CompileErrors),
    }
}

/// `dlc plan --target workers FILE [--json]`: the manifest, then what
/// `dlc ship` would provision on Workers.
fn plan_workers(path: &Path, json: bool, color: bool) -> Outcome {
    let (triggers, manifest) = match checked_for_workers(path, workers::triggers, color) {
        Ok(checked) => checked,
        Err(failure) => return failure,
    };
    let name = workers::worker_name(path);
    let provisions = workers::provisions(&name, &manifest, &triggers);
    if json {
        let mut value = manifest.to_json();
        value["workers"] = serde_json::json!({ "name": name, "provisions": provisions });
        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
    } else {
        print!("{}", manifest.to_table());
        println!("\non Cloudflare Workers ({name}):");
        for line in provisions {
            println!("  {line}");
        }
    }
    Outcome::Success
}

/// `dlc ship --target workers FILE [-o DIR]`.
fn ship_workers(path: &Path, output: Option<PathBuf>, color: bool) -> Outcome {
    let (bundle, manifest) = match checked_for_workers(path, workers::bundle, color) {
        Ok(checked) => checked,
        Err(failure) => return failure,
    };
    if manifest.routes.is_empty() && manifest.crons.is_empty() {
        eprintln!("error: {} has no routes and no crons: nothing would run on Workers", path.display());
        eprintln!("hint: a script runs with `dlc run`; Workers serve routes and run crons");
        return Outcome::Usage;
    }
    let module = match &bundle.module {
        Ok(module) => module,
        Err(error) => return wasm_failure(path, error, "workers"),
    };
    let name = workers::worker_name(path);
    let dir = output.unwrap_or_else(|| PathBuf::from(format!("{name}-workers")));
    match workers::write(&dir, &name, &manifest, &bundle, module) {
        Ok(report) => {
            print!("{report}");
            Outcome::Success
        }
        Err(reason) => {
            eprintln!("error: {reason}");
            Outcome::Usage
        }
    }
}

/// `./app` (or `./app.wasm`) for `app.dl`: the file's stem, in the current directory.
fn default_output(file: &Path, target: Target) -> PathBuf {
    let stem = file.file_stem().map_or_else(|| "app".into(), |s| s.to_os_string());
    let path = PathBuf::from(".").join(stem);
    match target {
        Target::Native => path,
        Target::Wasm => path.with_extension("wasm"),
    }
}

/// `dlc build FILE --emit ir`: the IR on stdout.
fn emit_ir(path: &Path, color: bool) -> Outcome {
    match driver::compile_file(path, color, native::ir_text) {
        Ok(compiled) => {
            eprint!("{}", compiled.rendered);
            match compiled.output {
                Some(text) => {
                    print!("{text}");
                    Outcome::Success
                }
                None => Outcome::CompileErrors,
            }
        }
        Err(failure) => failure,
    }
}

/// `dlc build FILE [--target T] [-o PATH]`.
fn build(path: &Path, output: &Path, target: Target, color: bool) -> Outcome {
    if target == Target::Wasm {
        return build_wasm(path, output, wasm::module, color);
    }
    let compiled = match driver::compile_file(path, color, native::object_code) {
        Ok(compiled) => compiled,
        Err(failure) => return failure,
    };
    eprint!("{}", compiled.rendered);
    let object = match compiled.output {
        Some(Ok(object)) => object,
        Some(Err(reason)) => {
            eprintln!("error: internal compiler error in code generation for {}: {reason}", path.display());
            eprintln!("note: this is a bug in dlc; please report it with the file that triggers it");
            return Outcome::InternalError;
        }
        None => return Outcome::CompileErrors,
    };
    match native::link(&object, output) {
        Ok(()) => Outcome::Success,
        Err(reason) => {
            eprintln!("error: {reason}");
            Outcome::Usage
        }
    }
}

/// `dlc build FILE --emit wat`: the Wasm module as text on stdout.
fn emit_wat(path: &Path, color: bool) -> Outcome {
    match wasm_module(path, wasm::module, color) {
        Ok(module) => match wasmprinter::print_bytes(&module) {
            Ok(text) => {
                print!("{text}");
                Outcome::Success
            }
            Err(err) => {
                eprintln!("error: internal compiler error: the Wasm module of {} does not print: {err}", path.display());
                Outcome::InternalError
            }
        },
        Err(outcome) => outcome,
    }
}

/// `dlc build --target wasm FILE [-o PATH]` (`backend`: `wasm::module`,
/// or `wasm::script` for `dlc run`).
fn build_wasm(path: &Path, output: &Path, backend: driver::Backend<Result<Vec<u8>, dlc_wasm::Error>>, color: bool) -> Outcome {
    let module = match wasm_module(path, backend, color) {
        Ok(module) => module,
        Err(outcome) => return outcome,
    };
    match std::fs::write(output, module) {
        Ok(()) => Outcome::Success,
        Err(err) => {
            eprintln!("error: cannot write {}: {err}", output.display());
            Outcome::Usage
        }
    }
}

/// The Wasm module of a program; on failure the message has been printed.
fn wasm_module(path: &Path, backend: driver::Backend<Result<Vec<u8>, dlc_wasm::Error>>, color: bool) -> Result<Vec<u8>, Outcome> {
    let compiled = driver::compile_file(path, color, backend)?;
    eprint!("{}", compiled.rendered);
    match compiled.output {
        Some(Ok(module)) => Ok(module),
        Some(Err(error)) => Err(wasm_failure(path, &error, "wasm")),
        None => Err(Outcome::CompileErrors),
    }
}

/// Prints why the Wasm backend made no module for `target`.
fn wasm_failure(path: &Path, error: &dlc_wasm::Error, target: &str) -> Outcome {
    match error {
        dlc_wasm::Error::Unsupported(what) => {
            eprintln!("error: {} uses `{what}`, which the {target} target does not provide yet", path.display());
            Outcome::CompileErrors
        }
        dlc_wasm::Error::Internal(reason) => {
            eprintln!("error: internal compiler error in Wasm code generation for {}: {reason}", path.display());
            eprintln!("note: this is a bug in dlc; please report it with the file that triggers it");
            Outcome::InternalError
        }
    }
}

/// `dlc run FILE [--target T] [-- ARGS]`: builds into a scratch directory,
/// runs the executable (or the module, under Node) and exits with its status.
fn run(path: &Path, args: &[std::ffi::OsString], target: Target, color: bool) -> Outcome {
    let dir = match native::scratch_dir() {
        Ok(dir) => dir,
        Err(reason) => {
            eprintln!("error: {reason}");
            return Outcome::Usage;
        }
    };
    let executable = dir.join(default_output(path, target).file_name().unwrap_or_else(|| "app".as_ref()));
    let outcome = match target {
        Target::Native => build(path, &executable, target, color),
        Target::Wasm => build_wasm(path, &executable, wasm::script, color),
    };
    if outcome != Outcome::Success {
        let _ = std::fs::remove_dir_all(&dir);
        return outcome;
    }
    let status = match target {
        Target::Native => std::process::Command::new(&executable).args(args).status().map_err(|err| format!("cannot run the built program: {err}")),
        Target::Wasm => wasm::run(&executable, args),
    };
    let _ = std::fs::remove_dir_all(&dir);
    match status {
        Ok(status) => Outcome::Program(program_status(status)),
        Err(reason) => {
            eprintln!("error: {reason}");
            Outcome::Usage
        }
    }
}

/// Compiles a program into this process with `backend`; on failure the
/// message has been printed.
fn load(path: &Path, color: bool, backend: driver::Backend<Result<jit::Loaded, String>>) -> Result<jit::Loaded, Outcome> {
    let compiled = driver::compile_file(path, color, backend)?;
    eprint!("{}", compiled.rendered);
    match compiled.output {
        Some(Ok(loaded)) => Ok(loaded),
        Some(Err(reason)) => {
            eprintln!("error: internal compiler error in code generation for {}: {reason}", path.display());
            eprintln!("note: this is a bug in dlc; please report it with the file that triggers it");
            Err(Outcome::InternalError)
        }
        None => Err(Outcome::CompileErrors),
    }
}

/// `dlc run --jit FILE [-- ARGS]`.
fn run_in_process(path: &Path, args: &[std::ffi::OsString], color: bool) -> Outcome {
    let loaded = match load(path, color, jit::program) {
        Ok(loaded) => loaded,
        Err(outcome) => return outcome,
    };
    let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let name = path.file_stem().map_or_else(|| "app".into(), |s| s.to_string_lossy().into_owned());
    Outcome::Program(jit::run(&loaded, &args, &name))
}

/// `dlc test FILE [--filter TEXT]`: exit 0 when every test passed, 1 when
/// one failed. `report_color`: colour the report (on stdout).
fn test(path: &Path, filter: Option<&str>, color: bool, report_color: bool) -> Outcome {
    let loaded = match load(path, color, jit::with_tests) {
        Ok(loaded) => loaded,
        Err(outcome) => return outcome,
    };
    match testing::run(&loaded, filter, report_color) {
        Ok(true) => Outcome::Success,
        Ok(false) => Outcome::Program(1),
        Err(message) => {
            eprintln!("error: {message}");
            Outcome::Program(1)
        }
    }
}

/// The exit status of a finished program; a signal as the shell reports it.
fn program_status(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(signal)) => 128 + signal as u8,
        (None, None) => 1,
    }
}

