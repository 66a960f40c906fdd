//! Reading a source file and compiling it safely: on a thread with the stack
//! the checker needs, with a panic turned into an internal-error outcome.

use std::path::Path;
use std::process::ExitCode;

use dlc_core::diagnostic::Diagnostic;
use dlc_core::manifest::Manifest;
use dlc_core::Compilation;

/// How a command ended, ordered from best to worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Success,
    CompileErrors,
    /// Bad usage, an unreadable file, a command not implemented yet.
    Usage,
    /// The compiler panicked: a bug in `dlc`.
    InternalError,
    /// `dlc run`: the program ran and exited with this status.
    Program(u8),
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(match self {
            Outcome::Success => 0,
            Outcome::CompileErrors => 1,
            Outcome::Usage => 2,
            Outcome::InternalError => 101,
            Outcome::Program(status) => status,
        })
    }
}

/// What the CLI keeps of a compilation. The compilation itself is never
/// dropped (see `compile_file`), which also spares the recursion of
/// dropping a deeply nested tree.
pub struct Compiled<T> {
    pub has_errors: bool,
    /// The diagnostics rendered with ariadne, ready to print.
    pub rendered: String,
    /// Present when there were no errors.
    pub manifest: Option<Manifest>,
    /// What the backend made of the checked program, when there were no errors.
    pub output: Option<T>,
}

/// A backend run on the checked program (on the compiler's thread): its
/// artefact, or diagnostics of what it cannot compile.
pub type Backend<T> = fn(&Compilation) -> Result<T, Vec<Diagnostic>>;

/// No backend: `dlc check` and `dlc plan`.
pub fn front_end_only(_: &Compilation) -> Result<(), Vec<Diagnostic>> {
    Ok(())
}

/// Reads and compiles one program. On failure the message has been printed.
pub fn compile_file<T: Send + 'static>(path: &Path, color: bool, backend: Backend<T>) -> Result<Compiled<T>, Outcome> {
    let name = path.display().to_string();
    let text = read_source(path).map_err(|reason| {
        eprintln!("error: cannot read {name}: {reason}");
        Outcome::Usage
    })?;
    compile(name, text, color, backend, Trees::Forget)
}

/// Compiles `text`, the program at `path`, for a process that goes on
/// compiling (`dlc serve`): the compiler's trees are freed.
pub fn compile_text<T: Send + 'static>(path: &Path, text: String, color: bool, backend: Backend<T>) -> Result<Compiled<T>, Outcome> {
    compile(path.display().to_string(), text, color, backend, Trees::Free)
}

/// What becomes of a compilation's trees.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Trees {
    /// Left to the process's exit, which comes soon: freeing them would
    /// cost time (a tenth of a check) and return nothing the OS does not
    /// reclaim anyway.
    Forget,
    Free,
}

fn compile<T: Send + 'static>(name: String, text: String, color: bool, backend: Backend<T>, trees: Trees) -> Result<Compiled<T>, Outcome> {
    let compiling = {
        let name = name.clone();
        std::thread::Builder::new().name(format!("compile {name}")).stack_size(dlc_core::STACK_SIZE).spawn(move || {
            let mut compilation = dlc_core::compile(&name, &text);
            let mut has_errors = compilation.has_errors();
            let mut rendered = compilation.render_diagnostics(color);
            let mut output = None;
            if !has_errors {
                match backend(&compilation) {
                    Ok(artefact) => output = Some(artefact),
                    Err(diagnostics) => {
                        has_errors = diagnostics.iter().any(Diagnostic::is_error);
                        rendered.push_str(&dlc_core::diagnostic::render(&diagnostics, &compilation.sources, color));
                    }
                }
            }
            let manifest = compilation.manifest.take().filter(|_| !has_errors);
            if trees == Trees::Forget {
                std::mem::forget(compilation);
            }
            Compiled { has_errors, rendered, manifest, output }
        })
    };
    let result = match compiling {
        Ok(thread) => thread.join().map_err(|_| "the compiler panicked".to_string()),
        Err(err) => Err(format!("cannot start the compiler thread: {err}")),
    };
    result.map_err(|reason| {
        // The panic message, if any, is already on stderr (the default hook).
        eprintln!("error: internal compiler error while compiling {name}: {reason}");
        eprintln!("note: this is a bug in dlc; please report it with the file that triggers it");
        Outcome::InternalError
    })
}

fn read_source(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|err| io_reason(&err))?;
    String::from_utf8(bytes).map_err(|err| {
        let offset = err.utf8_error().valid_up_to();
        format!("not valid UTF-8 (invalid byte at offset {offset})")
    })
}

/// The OS's description of an IO error, lower-cased, without the
/// `(os error N)` suffix: `no such file or directory`.
fn io_reason(err: &std::io::Error) -> String {
    let text = err.to_string();
    let text = text.rfind(" (os error ").map_or(text.as_str(), |at| &text[..at]);
    let mut chars = text.chars();
    chars.next().map_or(String::new(), |first| first.to_lowercase().chain(chars).collect())
}
