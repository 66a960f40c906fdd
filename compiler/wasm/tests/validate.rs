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
    compile_text(&path.display().to_string(), &std::fs::read_to_string(path).unwrap())
}

fn compile_text(name: &str, text: &str) -> Result<Option<Vec<u8>>, String> {
    let compilation = dlc_core::compile(name, text);
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

/// What a service's module gives its host: the descriptor (native's
/// layout, in linear memory), the table its code words index, `alloc`
/// and the heap pointer.
#[test]
fn a_service_module_exports_its_descriptor() {
    let source = "route GET /hi/:name {\n  \"hi {name}\"\n}\n\ncron tick \"* * * * *\" {\n  print(\"tick\")\n}\n";
    let bytes = compile_text("service.dl", source).unwrap().expect("a service without stores compiles");
    wasmparser::Validator::new().validate_all(&bytes).unwrap();
    let (mut exports, mut globals, mut image) = (Vec::new(), Vec::new(), Vec::new());
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        match payload.unwrap() {
            wasmparser::Payload::ExportSection(reader) => {
                exports.extend(reader.into_iter().map(|e| e.unwrap()).map(|e| (e.name.to_string(), e.index)));
            }
            wasmparser::Payload::GlobalSection(reader) => {
                for global in reader {
                    let mut ops = global.unwrap().init_expr.get_operators_reader();
                    let wasmparser::Operator::I32Const { value } = ops.read().unwrap() else { panic!("a constant") };
                    globals.push(value as usize);
                }
            }
            wasmparser::Payload::DataSection(reader) => {
                let data = reader.into_iter().next().unwrap().unwrap();
                let wasmparser::DataKind::Active { offset_expr, .. } = data.kind else { panic!("an active segment") };
                let wasmparser::Operator::I32Const { value } = offset_expr.get_operators_reader().read().unwrap() else { panic!() };
                image = vec![0; value as usize];
                image.extend_from_slice(data.data);
            }
            _ => {}
        }
    }
    let names: Vec<&str> = exports.iter().map(|e| e.0.as_str()).collect();
    for wanted in ["memory", "heap", "heap_base", "descriptor", "table", "alloc"] {
        assert!(names.contains(&wanted), "{wanted} is not exported: {names:?}");
    }
    let word = |at: usize| u64::from_le_bytes(image[at..at + 8].try_into().unwrap()) as usize;
    let text = |at: usize| String::from_utf8(image[word(at + 8)..word(at + 8) + word(at)].to_vec()).unwrap();
    let descriptor = globals[exports.iter().find(|e| e.0 == "descriptor").unwrap().1 as usize];
    let counts: Vec<usize> = (0..6).map(|i| word(descriptor + 8 * i)).collect();
    assert_eq!(counts, [1, 1, 0, 0, 0, 0], "routes, crons, stores, secrets, tests, no main");
    let route = descriptor + 8 * dl_abi::descriptor::HEADER_WORDS;
    assert_eq!((text(word(route)), text(word(route + 8))), ("GET".to_string(), "/hi/:name".to_string()));
    let cron = route + 8 * dl_abi::descriptor::ROUTE_WORDS;
    assert_eq!((text(word(cron)), text(word(cron + 8))), ("tick".to_string(), "* * * * *".to_string()));
    assert!(word(route + 16) > 0 && word(cron + 16) > 0 && word(route + 16) != word(cron + 16), "code words are distinct table slots");
}
