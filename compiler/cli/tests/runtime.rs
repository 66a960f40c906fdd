//! The runtime linked into `dlc` implements every `extern fn` of the
//! stdlib: what the in-process paths (`dlc test`, `dlc repl`, `dlc run
//! --jit`) find in `dlvm::symbols`, and what executables link.

#[test]
fn every_stdlib_extern_has_an_implementation() {
    let compilation = dlc_core::compile("empty.dl", "fn main() {}\n");
    let program = compilation.program.expect("the stdlib checks");
    let symbols = dlvm::symbols::symbols();
    let externs: Vec<String> =
        program.functions.iter().filter(|f| f.body.is_none()).map(dlc_core::ir::extern_symbol).collect();
    assert!(externs.len() > 50, "the stdlib's externs were found: {externs:?}");
    let missing: Vec<&String> = externs.iter().filter(|s| !symbols.contains_key(s.as_str())).collect();
    assert!(missing.is_empty(), "externs with no implementation in dlvm::symbols: {missing:?}");
}
