//! Services: compiled programs with routes, crons, stores or secrets, run
//! as [`Instance`]s. `dl_run_program`, the C `main` of a native service,
//! reads its descriptor, checks its secrets, runs `main` once, then serves
//! its routes (or runs the one cron `--run-cron NAME` asks for).
//!
//! | module | owns |
//! |---|---|
//! | `descriptor` | the program as the compiler describes it |
//! | `instance` | a running program: types, secrets, stores; the one each thread runs in |
//! | `transaction` | one invocation, one transaction; undoing a failed one |
//! | `invoke` | calling entry points: a route's arguments and `Response` |
//! | `serve` | routes over HTTP on the pool and the writer |
//! | `scheduler` | crons in real time, and the runs due in a span of virtual time |
//! | `externs` | the store and secret externs compiled code calls |
//! | `testing` | `dlc test`: tests, `App` calls and virtual time |
//! | `interactive` | `dlc repl`: inputs run one by one, their values kept |
//! | `dev` | `dlc serve`: one server whose program a reload replaces |
//! | `dashboard` | `dlc serve`'s dev dashboard at `/_dl/` and its JSON API |
//!
//! Every invocation (a request, a cron run, `main`, a test) runs on an
//! invocation thread (`stack.rs`), inside the invocation boundary
//! (`error.rs`), and leaves nothing in the region when it ends.

pub mod dashboard;
mod descriptor;
pub mod dev;
pub mod externs;
pub mod interactive;
mod instance;
mod invoke;
mod scheduler;
mod serve;
pub mod testing;
mod transaction;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use descriptor::{Access, Program};
pub use instance::{Instance, StoreFile};
use serve::Runners;

use crate::server::{self, Flags};
use crate::{output, types};

/// `dl_run_program(types, service, argc, argv) -> i32`: the C `main` of a
/// service.
///
/// # Safety
/// `types` is the program's type table and `service` its descriptor.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_run_program(types: *const u32, service: *const u64, _argc: i32, _argv: *const *const u8) -> i32 {
    // SAFETY: the caller's contract.
    let program = unsafe {
        types::install(types);
        Program::load(types::installed(), service)
    };
    let args: Vec<String> = std::env::args().collect();
    let name = args.first().map_or("app", |a| Path::new(a).file_stem().and_then(|s| s.to_str()).unwrap_or("app")).to_string();
    run(Arc::new(program), args.get(1..).unwrap_or_default(), &name)
}

/// Runs a service as its executable would: `args` are its flags (after
/// the program's name), `name` is the program's name, which names the
/// default store file (`NAME.db`). Returns the exit status.
pub fn run(program: Arc<Program>, args: &[String], name: &str) -> i32 {
    let status = start(program, args, name);
    output::flush();
    server::log::flush();
    status
}

/// The value of each secret of `program` from the environment; `Err`
/// names the first one missing.
pub fn secrets_from_env(program: &Program) -> Result<Vec<String>, String> {
    program
        .secrets
        .iter()
        .map(|name| std::env::var(name).map_err(|_| format!("missing secret {name}: set the environment variable {name}")))
        .collect()
}

/// Start-up, `main`, then serving or the one cron asked for: the exit status.
fn start(program: Arc<Program>, args: &[String], name: &str) -> i32 {
    let port = std::env::var_os("PORT").map(|p| p.to_string_lossy().into_owned());
    let flags = match Flags::parse(args.iter().cloned(), port.as_deref()) {
        Ok(flags) => flags,
        Err(message) => {
            eprintln!("error: {message}");
            return 2;
        }
    };
    if flags.help {
        print!("{}", server::help_text(name));
        return 0;
    }
    let secrets = match secrets_from_env(&program) {
        Ok(secrets) => secrets,
        Err(message) => {
            eprintln!("error: {message}");
            return 1;
        }
    };
    let path = flags.db.clone().unwrap_or_else(|| PathBuf::from(format!("{name}.db")));
    let instance = match Instance::start(Arc::clone(&program), secrets, StoreFile::Path(&path)) {
        Ok(instance) => Arc::new(instance),
        Err(message) => {
            eprintln!("error: {message}");
            return 1;
        }
    };
    let status = run_instance(&flags, &instance);
    // Closing the store file cleanly spares the next start a recovery.
    instance.close();
    status
}

/// `main`, then serving or the one cron asked for: the exit status.
fn run_instance(flags: &Flags, instance: &Arc<Instance>) -> i32 {
    let program = &instance.program;
    let cron = match &flags.run_cron {
        Some(name) => match program.crons.iter().find(|c| &c.name == name) {
            Some(cron) => Some(cron),
            None => {
                let known: Vec<&str> = program.crons.iter().map(|c| c.name.as_str()).collect();
                eprintln!("error: no cron named `{name}` (crons: {})", if known.is_empty() { "none".into() } else { known.join(", ") });
                return 2;
            }
        },
        None => None,
    };
    let runners = match Runners::new(Arc::clone(instance)) {
        Ok(runners) => Arc::new(runners),
        Err(err) => {
            eprintln!("error: cannot start the invocation threads: {err}");
            return 1;
        }
    };

    if let Some(main) = program.main
        && let Err(message) = runners.run_unit(main, Access::Writes)
    {
        output::flush();
        eprintln!("error: {}", instance.redact(&message));
        return 1;
    }
    if let Some(cron) = cron {
        return match runners.run_unit(cron.code, cron.access) {
            Ok(()) => 0,
            Err(message) => {
                output::flush();
                eprintln!("error: cron {} failed: {}", cron.name, instance.redact(&message));
                1
            }
        };
    }
    if program.routes.is_empty() && program.crons.is_empty() {
        return 0;
    }
    let _scheduler = match scheduler::start(&runners) {
        Ok(scheduler) => scheduler,
        Err(message) => {
            eprintln!("error: {message}");
            return 1;
        }
    };
    if program.routes.is_empty() {
        return wait_for_shutdown();
    }
    serve::serve(flags, runners)
}

/// A service with crons and no routes runs until SIGTERM or SIGINT.
fn wait_for_shutdown() -> i32 {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => {
            runtime.block_on(server::signal_shutdown());
            0
        }
        Err(err) => {
            eprintln!("error: {err}");
            1
        }
    }
}
