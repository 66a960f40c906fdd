//! Programs compiled into the `dlc` process: the IR through the same
//! Cranelift translation as `dlc build` (`dlc_native::jit`), calling the
//! runtime linked into `dlc` as a library. `dlc run --jit`, `dlc test` and
//! `dlc repl` run programs this way: no linker, no executable, no process.

use std::sync::Arc;

use dlc_core::diagnostic::Diagnostic;
use dlc_core::ir::Entries;
use dlc_core::Compilation;
pub use dlc_native::Speed;
use dlc_native::Jitted;
use dlvm::service::Program;

/// A program in memory, loaded by the runtime. The code lives as long as
/// this value; what `program` points to is part of it.
pub struct Loaded {
    pub program: Arc<Program>,
    pub code: Jitted,
    /// The address and result type (an index of the program's type table)
    /// of each of `Entries::functions`.
    pub entries: Vec<(*const u8, u32)>,
}

// SAFETY: the entry addresses point into `code`, which is `Send`.
unsafe impl Send for Loaded {}

/// Compiles a checked program into this process: `Err` is a bug in `dlc`
/// (code generation failed), diagnostics are what the backend cannot compile.
pub fn compile(compilation: &Compilation, entries: &Entries, speed: Speed) -> Result<Result<Loaded, String>, Vec<Diagnostic>> {
    let program = compilation.program.as_ref().ok_or_else(Vec::new)?;
    let manifest = compilation.manifest.as_ref().ok_or_else(Vec::new)?;
    let module = dlc_core::ir::lower(program, manifest, &compilation.sources, entries)?;
    Ok(dlc_native::jit(&module, &dlvm::symbols::symbols(), speed).map(|code| {
        // SAFETY: the type table and descriptor of the code just compiled,
        // which `Loaded` keeps mapped as long as the program.
        let program = unsafe { Program::load(dlvm::types::leak(code.type_table), code.descriptor) };
        let entries = module.entries.iter().map(|&f| (code.function(f), module.functions[f.0 as usize].ret.0)).collect();
        Loaded { program: Arc::new(program), code, entries }
    }))
}

/// The backend of `dlc run --jit`.
pub fn program(compilation: &Compilation) -> Result<Result<Loaded, String>, Vec<Diagnostic>> {
    compile(compilation, &Entries::program(), Speed::FastCode)
}

/// The backend of `dlc test`: the program and its tests, each run once,
/// compiled for compile speed.
pub fn with_tests(compilation: &Compilation) -> Result<Result<Loaded, String>, Vec<Diagnostic>> {
    compile(compilation, &Entries::with_tests(), Speed::FastCompile)
}

/// `dlc run --jit`: runs a script's `main` as its executable would (a
/// runtime error exits with status 1), or a service with `args` as its
/// flags, its store file named after `name`. The exit status.
pub fn run(loaded: &Loaded, args: &[String], name: &str) -> u8 {
    if loaded.program.is_service() {
        return dlvm::service::run(Arc::clone(&loaded.program), args, name) as u8;
    }
    match loaded.program.main {
        // SAFETY: the program's own type table and `main`.
        Some(main) => unsafe { dlvm::entry::dl_run_main(loaded.code.type_table, main, 0, std::ptr::null()) as u8 },
        None => 0,
    }
}
