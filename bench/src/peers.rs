//! Peers the benchmarks compare against, found on the machine or
//! installed into `target/bench`: Deno (from npm) for `native` and `http`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Deno from the npm package `deno` (which ships the binary, in the
/// platform package `@deno/OS-ARCH`), installed with `npm` into
/// `target/bench/npm` when it is not there yet.
pub fn deno(bench: &Path) -> Result<PathBuf, String> {
    let prefix = bench.join("npm");
    if let Some(deno) = installed_deno(&prefix) {
        return Ok(deno);
    }
    println!("installing Deno: npm install --prefix {} deno", prefix.display());
    let status = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&prefix)
        .arg("deno")
        .stdout(Stdio::null())
        .status()
        .map_err(|err| format!("cannot run npm: {err}"))?;
    if !status.success() {
        return Err(format!("`npm install deno` failed ({status})"));
    }
    installed_deno(&prefix)
        .ok_or_else(|| format!("no working deno binary under {} after installing it", prefix.display()))
}

/// The real binary (not the `.bin/deno` Node shim, whose start-up would be
/// timed too) under `PREFIX/node_modules`, if one runs.
fn installed_deno(prefix: &Path) -> Option<PathBuf> {
    let modules = prefix.join("node_modules");
    let platform =
        std::fs::read_dir(modules.join("@deno")).into_iter().flatten().flatten().map(|e| e.path().join("deno"));
    platform.chain([modules.join("deno/deno")]).find(|deno| version(deno.as_os_str()).is_some())
}

/// The first line `PROGRAM --version` prints, if it runs and succeeds.
pub fn version(program: &OsStr) -> Option<String> {
    let output = Command::new(program).arg("--version").stderr(Stdio::null()).output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    output.status.success().then(|| text.lines().next().unwrap_or("").to_string())
}
