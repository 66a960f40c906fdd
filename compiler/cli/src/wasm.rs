//! Wasm modules: `dlc build --target wasm` writes the module `dlc-wasm`
//! makes; `dlc run --target wasm` runs a script's module under Node with
//! the host that `dlc` carries (`std-targets/wasm/node/host.mjs`).

use std::path::{Path, PathBuf};
use std::process::Command;

use dlc_core::diagnostic::{Code, Diagnostic};
use dlc_core::Compilation;
use dlc_wasm::Runtime;

/// The Node host, embedded: `(file, text)`.
const HOST: &[(&str, &str)] = &[
    ("host.mjs", include_str!("../../../std-targets/wasm/node/host.mjs")),
    ("portable.js", include_str!("../../../std-targets/wasm/portable.js")),
    ("float.js", include_str!("../../../std-targets/wasm/float.js")),
    ("crypto.js", include_str!("../../../std-targets/wasm/crypto.js")),
];

/// The backend of `dlc build --target wasm` and `dlc ship`: the module, or
/// why not. A service's module needs a host of HTTP, stores and secrets
/// (`std-targets/workers/worker.js`).
pub fn module(compilation: &Compilation) -> Result<Result<Vec<u8>, dlc_wasm::Error>, Vec<Diagnostic>> {
    let program = crate::native::lower(compilation)?;
    Ok(runtime().map_err(dlc_wasm::Error::Internal).and_then(|runtime| dlc_wasm::compile(&program, runtime)))
}

/// The backend of `dlc run --target wasm`: a script's module (Node's host
/// runs `main` alone).
pub fn script(compilation: &Compilation) -> Result<Result<Vec<u8>, dlc_wasm::Error>, Vec<Diagnostic>> {
    if let Some(diagnostic) = compilation.program.as_ref().and_then(service_construct) {
        return Err(vec![diagnostic]);
    }
    module(compilation)
}

/// What the Node host cannot run: a service's routes, crons, stores and
/// secrets. One diagnostic, at the first.
fn service_construct(program: &dlc_core::check::typed::Program) -> Option<Diagnostic> {
    let (span, what) = [
        program.routes.first().map(|r| (r.span, "routes")),
        program.crons.first().map(|c| (c.span, "crons")),
        program.stores.first().map(|s| (s.span, "stores")),
        program.secrets.first().map(|s| (s.span, "secrets")),
    ]
    .into_iter()
    .flatten()
    .min_by_key(|(span, _)| span.start)?;
    Some(
        Diagnostic::error(Code::Unsupported, format!("`dlc run --target wasm` runs scripts only, and this program has {what}"))
            .label(span, "a service needs a host for this")
            .hint("run it natively (`dlc run`), or ship it with `dlc ship --target workers` and run that with `npx wrangler dev`"),
    )
}

/// The runtime compiled from `DLC_WASM_RUNTIME` (a directory holding a
/// working copy of `std-targets/wasm/runtime/`, for work on it) or from
/// the embedded sources.
fn runtime() -> Result<&'static Runtime, String> {
    let Some(dir) = std::env::var_os("DLC_WASM_RUNTIME") else {
        return dlc_wasm::runtime::embedded();
    };
    let dir = PathBuf::from(dir);
    let mut sources = Vec::new();
    for &(module, file, _) in dlc_wasm::runtime::SOURCES {
        let name = Path::new(file).file_name().map_or_else(|| file.into(), PathBuf::from);
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        sources.push((module, path.display().to_string(), text));
    }
    let borrowed: Vec<(&str, &str, &str)> = sources.iter().map(|(m, f, t)| (*m, f.as_str(), t.as_str())).collect();
    // Compiled once per process; leaked, as the embedded one lives forever too.
    Runtime::compile(&borrowed).map(|runtime| &*Box::leak(Box::new(runtime)))
}

/// Runs the module at `module` under Node; its exit status.
pub fn run(module: &Path, args: &[std::ffi::OsString]) -> Result<std::process::ExitStatus, String> {
    let dir = module.parent().unwrap_or(Path::new("."));
    for (file, text) in HOST {
        let path = dir.join(file);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let host = dir.join(HOST[0].0);
    let node = std::env::var_os("DLC_NODE").unwrap_or_else(|| "node".into());
    Command::new(&node).arg(&host).arg(module).args(args).status().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "cannot run the Wasm module: Node (`{}`) was not found\nhint: install Node.js 20 or later, or set DLC_NODE to its path",
            node.to_string_lossy()
        ),
        _ => format!("cannot run Node: {e}"),
    })
}
