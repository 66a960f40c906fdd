//! The Distlang compiler core: source text in; checked program, manifest and
//! diagnostics out. It does no IO: the CLI, the REPL and the runtime do.

pub mod diagnostic;
pub mod source;
pub mod syntax;
