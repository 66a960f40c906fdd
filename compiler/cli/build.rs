//! Builds the runtime (`vm/`) as a release static library, which `dlc`
//! embeds (`src/native.rs`) so that an installed `dlc` links programs
//! without the source tree.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.join("../..");
    for watched in ["vm/src", "vm/build.rs", "vm/Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    // Its own target directory: the outer build holds the lock of the main one.
    let target_dir = out.join("vm-target");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let status = Command::new(cargo)
        .args(["build", "--release", "--lib", "--package", "dl-vm", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        // One codegen unit: a smaller, faster runtime. (It unwinds: runtime
        // errors travel as panics inside it, vm/src/error.rs.)
        .args(["--config", "profile.release.codegen-units=1"])
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .status()
        .expect("cannot run cargo to build the runtime");
    assert!(status.success(), "building the runtime (vm/) failed");
    let archive = target_dir.join("release/libdlvm.a");
    let bytes = std::fs::read(&archive).expect("the runtime archive exists after its build");
    std::fs::write(out.join("libdlvm.a"), &bytes).expect("cannot copy the runtime archive");
    // FNV-1a: names the cached copy, so that each runtime gets its own file.
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    println!("cargo:rustc-env=DLC_RUNTIME_HASH={hash:016x}");
}
