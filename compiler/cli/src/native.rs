//! Native executables: the object file from `dlc-native`, linked by the
//! system C compiler with the runtime library that `dlc` carries inside it.

use std::path::{Path, PathBuf};
use std::process::Command;

use dlc_core::diagnostic::Diagnostic;
use dlc_core::Compilation;

/// The runtime static library (`vm/`), built by `build.rs`.
const RUNTIME: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/libdlvm.a"));

/// The system libraries the runtime needs (`rustc --print native-static-libs`).
const SYSTEM_LIBS: &[&str] = &["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl", "-lc"];

/// Links `object` with the runtime into the executable `output`.
pub fn link(object: &[u8], output: &Path) -> Result<(), String> {
    let runtime = runtime_archive()?;
    let work = scratch_dir()?;
    let object_path = work.join("program.o");
    std::fs::write(&object_path, object).map_err(|e| format!("cannot write {}: {e}", object_path.display()))?;
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let result = Command::new(&cc)
        .arg("-o")
        .arg(output)
        .arg(&object_path)
        .arg(&runtime)
        .args(["-Wl,--gc-sections", "-s"])
        .args(SYSTEM_LIBS)
        .output();
    let _ = std::fs::remove_dir_all(&work);
    let linked = result.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "cannot link: the C compiler `{cc}` was not found\nhint: install gcc or clang (Debian: `apt install gcc`), or set CC to one"
        ),
        _ => format!("cannot run the C compiler `{cc}`: {e}"),
    })?;
    if !linked.status.success() {
        return Err(format!("linking with `{cc}` failed:\n{}", String::from_utf8_lossy(&linked.stderr).trim_end()));
    }
    Ok(())
}

/// The runtime archive on disk: `DLC_RUNTIME` when set (for work on the
/// runtime), else the embedded copy, written once to the cache directory
/// under a name that changes with its contents.
fn runtime_archive() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("DLC_RUNTIME") {
        return Ok(PathBuf::from(path));
    }
    let dir = cache_dir();
    let path = dir.join(format!("libdlvm-{}.a", env!("DLC_RUNTIME_HASH")));
    if std::fs::metadata(&path).is_ok_and(|m| m.len() == RUNTIME.len() as u64) {
        return Ok(path);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // Written aside and renamed, so that concurrent builds never see half a file.
    let partial = dir.join(format!("libdlvm-{}.{}.tmp", env!("DLC_RUNTIME_HASH"), std::process::id()));
    std::fs::write(&partial, RUNTIME).map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
    std::fs::rename(&partial, &path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("dlc")
}

/// A fresh private directory for intermediate files.
pub fn scratch_dir() -> Result<PathBuf, String> {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("dlc-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// The backend of `dlc build --emit ir`.
pub fn ir_text(compilation: &Compilation) -> Result<String, Vec<Diagnostic>> {
    Ok(lower(compilation)?.to_string())
}

/// The backend of `dlc build`: an object file, or the reason code generation
/// failed (a bug in `dlc`, not in the program).
pub fn object_code(compilation: &Compilation) -> Result<Result<Vec<u8>, String>, Vec<Diagnostic>> {
    Ok(dlc_native::compile(&lower(compilation)?))
}

/// The program as `dlc build` builds it, lowered (for every target).
pub fn lower(compilation: &Compilation) -> Result<dlc_core::ir::Module, Vec<Diagnostic>> {
    let program = compilation.program.as_ref().ok_or_else(Vec::new)?;
    let manifest = compilation.manifest.as_ref().ok_or_else(Vec::new)?;
    dlc_core::ir::lower(program, manifest, &compilation.sources, &dlc_core::ir::Entries::program())
}
