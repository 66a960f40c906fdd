//! Every `extern fn` of the stdlib has an implementation on every target:
//! in the runtime linked into `dlc` (what the in-process paths — `dlc
//! test`, `dlc repl`, `dlc run --jit` — find in `dlvm::symbols`, and what
//! executables link), and in the Wasm runtime.

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

/// The externs the Wasm runtime does not implement: those only `dlc test`
/// calls (a test's `App` and virtual time), since tests run in-process.
/// Pinned, so that each one implemented is noticed here.
const WASM_PENDING: &[&str] = &["dl_App_request", "dl_App_run_cron", "dl_Time_advance"];

#[test]
fn every_stdlib_extern_has_an_implementation_on_wasm() {
    let compilation = dlc_core::compile("empty.dl", "fn main() {}\n");
    let program = compilation.program.expect("the stdlib checks");
    let runtime = dlc_wasm::runtime::embedded().expect("the Wasm runtime compiles");
    let mut missing: Vec<String> = program
        .functions
        .iter()
        .filter(|f| f.body.is_none())
        .map(dlc_core::ir::extern_symbol)
        .filter(|s| runtime.implementation(s).is_none())
        .collect();
    // And what the compiler calls by itself.
    missing.extend(dl_abi::RUNTIME_FNS.iter().map(|f| f.symbol.to_string()).filter(|s| runtime.implementation(s).is_none()));
    missing.sort();
    missing.dedup();
    assert_eq!(missing, WASM_PENDING, "externs with no implementation in std-targets/wasm/runtime/");
}
