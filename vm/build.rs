//! Compiles the invocation boundary (`src/boundary.c`): `setjmp`/`longjmp`
//! cannot be called from Rust.

fn main() {
    println!("cargo:rerun-if-changed=src/boundary.c");
    cc::Build::new().file("src/boundary.c").flag_if_supported("-fno-omit-frame-pointer").compile("dlboundary");
}
