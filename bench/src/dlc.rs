//! Finding the `dlc` to measure: the one built next to this executable,
//! with the same profile, (re)built first so it is never stale; and the
//! benchmarks' working directory, `target/bench`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `dlc` given with `--dlc` (a path, not a bare name looked up in
/// `PATH`, made absolute, since benchmarks may run it in another
/// directory), or the sibling of this executable after `cargo build -p dlc`
/// with this executable's profile.
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(path) = explicit {
        if path.components().count() == 1 {
            return Ok(path.to_path_buf());
        }
        return path.canonicalize().map_err(|err| format!("cannot find dlc at {}: {err}", path.display()));
    }
    let release = !cfg!(debug_assertions);
    if !release {
        eprintln!("warning: this is a debug build; measure with `cargo run --release -p dl-bench`");
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build.current_dir(&workspace).args(["build", "--quiet", "-p", "dlc"]);
    if release {
        build.arg("--release");
    }
    let status = build.status().map_err(|err| format!("cannot run cargo to build dlc: {err}"))?;
    if !status.success() {
        return Err(format!("`cargo build -p dlc` failed ({status})"));
    }
    let dlc = target_profile_dir()?.join(format!("dlc{}", std::env::consts::EXE_SUFFIX));
    if !dlc.is_file() {
        return Err(format!("{} does not exist after building it", dlc.display()));
    }
    Ok(dlc)
}

/// `target/release` (or `target/debug`): where this executable lives.
pub fn target_profile_dir() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|err| format!("cannot locate dl-bench: {err}"))?;
    exe.parent().map(Path::to_path_buf).ok_or_else(|| format!("{} has no parent directory", exe.display()))
}

/// `target/bench`, created if needed: generated programs, executables and
/// installed peers live there.
pub fn bench_dir() -> Result<PathBuf, String> {
    let dir = target_profile_dir()?.join("../bench");
    std::fs::create_dir_all(&dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    Ok(dir.canonicalize().unwrap_or(dir))
}
