//! Every program of the conformance suite and the examples that checks
//! clean compiles to a module that `wasmparser` validates, or is refused as
//! using something the Wasm runtime lacks: never an internal error, never a
//! panic. (Running them is the lang-tests' `wasm` target.)

use std::path::{Path, PathBuf};

fn programs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            programs(&path, out);
        } else if path.extension().is_some_and(|e| e == "dl") {
            out.push(path);
        }
    }
}

/// `Ok(None)`: refused as unsupported.
fn compile(path: &Path) -> Result<Option<Vec<u8>>, String> {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.display().to_string();
    let compilation = dlc_core::compile(&name, &text);
    let (Some(program), Some(manifest)) = (&compilation.program, &compilation.manifest) else {
        return Ok(None);
    };
    let Ok(module) = dlc_core::ir::lower(program, manifest, &compilation.sources, &dlc_core::ir::Entries::program()) else {
        return Ok(None);
    };
    let runtime = dlc_wasm::runtime::embedded()?;
    match dlc_wasm::compile(&module, runtime) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(dlc_wasm::Error::Unsupported(_)) => Ok(None),
        Err(dlc_wasm::Error::Internal(reason)) => Err(reason),
    }
}

#[test]
fn every_module_validates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut paths = Vec::new();
    for dir in ["lang-tests/run-pass", "lang-tests/run-fail", "lang-tests/check-pass", "examples"] {
        programs(&root.join(dir), &mut paths);
    }
    paths.sort();
    let checked = std::thread::Builder::new()
        .stack_size(dlc_core::STACK_SIZE)
        .spawn(move || {
            let mut validated = 0;
            let mut problems = Vec::new();
            for path in &paths {
                match std::panic::catch_unwind(|| compile(path)) {
                    Ok(Ok(Some(bytes))) => match wasmparser::Validator::new().validate_all(&bytes) {
                        Ok(_) => validated += 1,
                        Err(err) => problems.push(format!("{}: invalid module: {err}", path.display())),
                    },
                    Ok(Ok(None)) => {}
                    Ok(Err(reason)) => problems.push(format!("{}: {reason}", path.display())),
                    Err(_) => problems.push(format!("{}: the Wasm backend panicked", path.display())),
                }
            }
            (validated, problems)
        })
        .unwrap()
        .join()
        .unwrap();
    let (validated, problems) = checked;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(validated >= 100, "only {validated} modules were made");
}

#[test]
fn a_runtime_that_needs_the_type_table_is_refused() {
    // Interpolation of a non-String would index the program's type table
    // with the runtime's own type indices.
    let mut sources = dlc_wasm::runtime::SOURCES.to_vec();
    sources.push(("RtBad", "bad.dl", "fn bad_probe(n: Int) -> String {\n  \"{n}\"\n}\n"));
    let Err(error) = dlc_wasm::Runtime::compile(&sources) else { panic!("the runtime was accepted") };
    assert!(error.contains("`RtBad.bad_probe` uses an operation that needs the type table"), "{error}");
    assert!(dlc_wasm::Runtime::compile(dlc_wasm::runtime::SOURCES).is_ok());
}

#[test]
fn a_module_holds_only_the_runtime_it_uses() {
    let hello = compile(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/programs/hello.dl")).unwrap().unwrap();
    assert!(hello.len() < 20_000, "hello world is {} bytes", hello.len());
}
