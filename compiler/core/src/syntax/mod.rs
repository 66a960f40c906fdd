//! Syntax: source text to [`ast::Module`] plus diagnostics. The parser never
//! fails: it returns the tree it could build and every error it found.

pub mod ast;
pub mod lexer;
pub mod parser;
pub mod token;
