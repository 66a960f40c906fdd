//! Runtime errors: `dl_fail` for compiled code, `fail` for the externs, the
//! invocation boundary they leave through, and the stack check that keeps
//! runtime recursion above the guard page.
//!
//! A runtime error ends the current invocation (`protect`); a script's
//! `main` then prints `error: <what> at <file>:<line>:<col>` on stderr after
//! flushing stdout, and exits with status 1.
//!
//! How an error travels, without undefined behaviour:
//! - inside the runtime, `fail` *unwinds* (a Rust panic carrying a
//!   [`RuntimeError`]), so the runtime's own frames drop what they own;
//! - every `extern "C"` function runs its body in [`guard`], which catches
//!   that unwinding (or a bug's panic) at the edge of compiled code;
//! - from there, and from `dl_fail` in compiled code, [`throw`] `longjmp`s
//!   to the innermost `dl_protect` (`boundary.c`) over compiled frames
//!   only, which own nothing;
//! - the runtime calls compiled code (closures, `main`) only through
//!   [`protect`], so a jump never crosses a Rust frame with destructors.

use std::cell::RefCell;
use std::ffi::c_void;
use std::io::Write;
use std::panic::AssertUnwindSafe;

use crate::value::{Str, str_bytes};

use dl_abi::FailKind;


/// A runtime error on its way out: `<what> at <loc>`.
pub struct RuntimeError(pub String);

unsafe extern "C" {
    fn dl_protect(body: extern "C" fn(*mut c_void), data: *mut c_void) -> i32;
    fn dl_protected() -> i32;
    fn dl_throw() -> !;
}

thread_local! {
    /// The error `throw` is carrying to the innermost `protect`.
    static PENDING: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// `<what> at <loc>` (`loc` a `Str` holding `file:line:col`, or null).
fn describe(what: &str, loc: *const Str) -> String {
    let mut message = what.to_string();
    if !loc.is_null() {
        message.push_str(" at ");
        // SAFETY: a non-null `loc` is a `Str` from compiled code.
        message.push_str(&String::from_utf8_lossy(unsafe { str_bytes(loc) }));
    }
    message
}

/// Stops the current invocation with `<what> at <loc>`, unwinding the
/// runtime's frames up to the extern's [`guard`].
// Not `unsafe fn`: every `loc` comes from compiled code or is null, and
// every extern passes its own along.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
#[cold]
pub fn fail(what: &str, loc: *const Str) -> ! {
    std::panic::resume_unwind(Box::new(RuntimeError(describe(what, loc))))
}

/// `fail` without a location (allocation failures, internal errors).
#[cold]
pub fn fail_no_loc(what: &str) -> ! {
    fail(what, std::ptr::null())
}

/// Runs the body of an `extern "C"` function: an error inside it leaves
/// through the invocation boundary instead of unwinding into compiled code.
#[inline]
pub fn guard<R>(body: impl FnOnce() -> R) -> R {
    match std::panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => throw(message_of(payload)),
    }
}

fn message_of(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<RuntimeError>() {
        Ok(error) => error.0,
        Err(payload) => match payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned()) {
            Some(text) => format!("internal error in the runtime: {text}"),
            None => "internal error in the runtime".to_string(),
        },
    }
}

/// Leaves compiled code with `message`: to the innermost [`protect`], or,
/// outside any, by reporting it and exiting with status 1.
#[cold]
pub fn throw(message: String) -> ! {
    // SAFETY: plain queries and jumps of boundary.c.
    if unsafe { dl_protected() } == 0 {
        report_and_exit(&message);
    }
    PENDING.with(|p| *p.borrow_mut() = Some(message));
    // SAFETY: only compiled frames and guard's plain frames lie between here
    // and the `setjmp`, as the module documentation explains.
    unsafe { dl_throw() }
}

/// Runs compiled code (`body` calls it and stores its result) inside an
/// invocation boundary: `Err` carries the runtime error that ended it.
pub fn protect(body: &mut dyn FnMut()) -> Result<(), String> {
    extern "C" fn run(data: *mut c_void) {
        // SAFETY: `data` is the `&mut &mut dyn FnMut()` below, alive for the call.
        let body = unsafe { &mut *(data as *mut &mut dyn FnMut()) };
        body();
    }
    let mut body = body;
    // SAFETY: `run` only calls `body`, which owns nothing that needs dropping.
    let thrown = unsafe { dl_protect(run, &mut body as *mut &mut dyn FnMut() as *mut c_void) };
    if thrown == 0 {
        return Ok(());
    }
    Err(PENDING.with(|p| p.borrow_mut().take()).unwrap_or_else(|| "runtime error".to_string()))
}

/// Prints `error: <message>` after what the program printed, and exits 1.
pub fn report_and_exit(message: &str) -> ! {
    crate::output::flush();
    let _ = writeln!(std::io::stderr(), "error: {message}");
    std::process::exit(1)
}

/// `dl_fail(kind, loc) -> !`: a `dl_abi::FailKind`. Called by
/// compiled code, so it throws directly.
///
/// # Safety
/// `loc` is null or a valid `Str`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_fail(kind: i64, loc: *const Str) -> ! {
    // Only the low 32 bits: robust to a caller passing an `i32`.
    let what = FailKind::from_word(i64::from(kind as u32)).map_or("runtime error", FailKind::message);
    throw(describe(what, loc))
}

/// `dl_assert_failed(written, left, right, ty, loc) -> !`: a failed
/// `assert`, with the condition as written and, when it compares two
/// values of type `ty` (`ty` ≥ 0), both sides in literal syntax.
///
/// # Safety
/// Valid `Str`s; `left` and `right` values of type `ty`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_assert_failed(written: *const Str, left: u64, right: u64, ty: i64, loc: *const Str) -> ! {
    let message = guard_message(|| {
        // SAFETY: the caller's contract.
        let written = String::from_utf8_lossy(unsafe { str_bytes(written) }).into_owned();
        let mut message = describe(&format!("assertion failed: {written}"), loc);
        if let Ok(ty) = u32::try_from(ty) {
            let types = crate::types::installed();
            let show = |v: u64| {
                let mut out = Vec::new();
                // SAFETY: the caller's contract.
                unsafe { crate::format::format_into(types, &mut out, v, ty, loc) };
                String::from_utf8_lossy(&out).into_owned()
            };
            message.push_str(&format!("\n  left:  {}\n  right: {}", show(left), show(right)));
        }
        message
    });
    throw(message)
}

/// Runs `body` (which builds an error message) as `guard` does: a runtime
/// error inside it (formatting ran out of stack) becomes the message.
fn guard_message(body: impl FnOnce() -> String) -> String {
    std::panic::catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(message_of)
}

/// Fails with a stack overflow when little stack is left; called on entry
/// to the runtime's recursive functions.
#[inline]
pub fn check_stack(loc: *const Str) {
    if crate::stack::exhausted() {
        fail(FailKind::StackOverflow.message(), loc);
    }
}
