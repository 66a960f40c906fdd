//! The Distlang compiler core: source text in; checked program, manifest and
//! diagnostics out. It does no IO: the CLI, the REPL and the runtime do.
//!
//! The pipeline: [`syntax`] (lex, parse) → [`check`] (resolve names, infer
//! types, check patterns, infer effects) → [`check::typed::Program`] and its
//! [`manifest::Manifest`], which every backend starts from.

pub mod check;
pub mod diagnostic;
pub mod ir;
pub mod manifest;
pub mod source;
pub mod stdlib;
pub mod syntax;

use diagnostic::Diagnostic;
use manifest::Manifest;
use source::{SourceFile, SourceMap};

/// The result of compiling one program: always its sources and diagnostics;
/// the typed program and manifest only when there were no errors.
pub struct Compilation {
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
    pub program: Option<check::typed::Program>,
    pub manifest: Option<Manifest>,
}

impl Compilation {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The diagnostics rendered with ariadne, in source order.
    pub fn render_diagnostics(&self, color: bool) -> String {
        diagnostic::render(&self.diagnostics, &self.sources, color)
    }
}

/// Compiles the program `text`, read from the file `name`, together with the
/// standard library. Never panics, whatever the input.
///
/// The checker recurses over the syntax tree; the parser bounds nesting, so
/// callers should run this on a thread with at least [`STACK_SIZE`] bytes.
pub fn compile(name: &str, text: &str) -> Compilation {
    compile_files(&[], (name, text))
}

/// Compiles a target's runtime written in Distlang (`std-targets/wasm/`):
/// the standard library and `files` — each `(module, file name, source)`,
/// with the standard library's privileges (`extern fn`) — and no program.
/// A backend lowers its functions and links them with each program.
pub fn compile_runtime(files: &[(&str, &str, &str)]) -> Compilation {
    // An empty program keeps the checker's rule that the program comes last.
    compile_files(files, ("<runtime>", ""))
}

fn compile_files(runtime: &[(&str, &str, &str)], (name, text): (&str, &str)) -> Compilation {
    let mut sources = SourceMap::default();
    let mut diagnostics = Vec::new();
    let mut modules = Vec::new();
    let library = stdlib::FILES.iter().copied().chain(runtime.iter().map(|&(module, file, text)| (Some(module), file, text)));
    for (module, file_name, library_text) in library {
        let file = sources.add(SourceFile::new(file_name, library_text));
        let (ast, errors) = syntax::parser::parse(library_text, file);
        let syntax_errors = errors.iter().filter_map(Diagnostic::primary_span).collect();
        diagnostics.extend(errors);
        modules.push(check::ParsedModule { name: module.map(str::to_string), ast, is_stdlib: true, syntax_errors });
    }
    let file = sources.add(SourceFile::new(name, text));
    let (ast, errors) = syntax::parser::parse(text, file);
    let syntax_errors = errors.iter().filter_map(Diagnostic::primary_span).collect();
    diagnostics.extend(errors);
    modules.push(check::ParsedModule { name: None, ast, is_stdlib: false, syntax_errors });

    let checked = check::check(&modules);
    diagnostics.extend(checked.diagnostics);
    // Syntax and type errors interleave in source order.
    diagnostics.sort_by_key(|d| d.primary_span().map(|s| (s.file, s.start)));
    let failed = diagnostics.iter().any(Diagnostic::is_error);
    Compilation {
        sources,
        diagnostics,
        program: checked.program.filter(|_| !failed),
        manifest: checked.manifest.filter(|_| !failed),
    }
}

/// The stack a thread running [`compile`] should have.
pub const STACK_SIZE: usize = 256 * 1024 * 1024;
