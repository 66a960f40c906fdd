//! Runtime errors: `dl_fail` for compiled code, `fail` for the externs, and
//! the stack check that keeps runtime recursion above the guard page.
//!
//! A runtime error prints `error: <what> at <file>:<line>:<col>` on stderr
//! after flushing stdout, and exits with status 1.

use std::io::Write;

use crate::value::{Str, str_bytes};

/// What each `dl_fail` kind means.
const KINDS: [&str; 5] =
    ["integer overflow", "division by zero", "assertion failed", "stack overflow", "unreachable code"];

pub const OVERFLOW: i64 = 0;
pub const STACK_OVERFLOW: i64 = 3;

/// Stops the program with `error: <what> at <loc>` (`loc` a `Str` holding
/// `file:line:col`, or null when no location is known).
// Not `unsafe fn`: every `loc` comes from compiled code or is null, and
// every extern passes its own along.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
#[cold]
pub fn fail(what: &str, loc: *const Str) -> ! {
    crate::output::flush();
    let mut message = Vec::with_capacity(what.len() + 64);
    message.extend_from_slice(b"error: ");
    message.extend_from_slice(what.as_bytes());
    if !loc.is_null() {
        message.extend_from_slice(b" at ");
        // SAFETY: a non-null `loc` is a `Str` from compiled code.
        message.extend_from_slice(unsafe { str_bytes(loc) });
    }
    message.push(b'\n');
    let _ = std::io::stderr().write_all(&message);
    std::process::exit(1)
}

/// `fail` without a location (allocation failures, internal errors).
#[cold]
pub fn fail_no_loc(what: &str) -> ! {
    fail(what, std::ptr::null())
}

/// `dl_fail(kind, loc) -> !`: kinds 0 integer overflow, 1 division by zero,
/// 2 assertion failed, 3 stack overflow, 4 unreachable code.
///
/// # Safety
/// `loc` is null or a valid `Str`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_fail(kind: i64, loc: *const Str) -> ! {
    // Only the low 32 bits: robust to a caller passing an `i32`.
    match KINDS.get(kind as u32 as usize) {
        Some(what) => fail(what, loc),
        None => fail("runtime error", loc),
    }
}

/// Fails with a stack overflow if the stack pointer is below
/// `dl_stack_limit`; called on entry to the runtime's recursive functions.
#[inline]
pub fn check_stack(loc: *const Str) {
    let marker = 0u8;
    let here = &marker as *const u8 as u64;
    // SAFETY: a plain read of a word that is only written before `main` runs.
    let limit = unsafe { (&raw const crate::entry::dl_stack_limit).read_volatile() };
    if here < limit {
        fail(KINDS[STACK_OVERFLOW as usize], loc);
    }
}
