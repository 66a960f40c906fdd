//! Standard output: one process-wide buffer that `print` and `debug` write
//! through, flushed when large, at exit and before a runtime error message.
//!
//! When stdout is a terminal every line is flushed at once, so interactive
//! use still sees output as it happens.

use std::io::{IsTerminal, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::types;
use crate::value::{Str, Word, str_bytes};

const FLUSH_AT: usize = 64 << 10;

static BUFFER: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static IS_TERMINAL: OnceLock<bool> = OnceLock::new();

fn buffer() -> MutexGuard<'static, Vec<u8>> {
    BUFFER.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_fd1(bytes: &[u8]) {
    // Straight to the file descriptor: std's stdout would buffer again by
    // lines. ManuallyDrop: fd 1 is not ours to close.
    // SAFETY: fd 1 is open for the life of the process (or writes fail,
    // which we ignore: there is nowhere to report them).
    let mut out = ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(1) });
    let _ = out.write_all(bytes);
}

fn flush_locked(buf: &mut Vec<u8>) {
    if !buf.is_empty() {
        write_fd1(buf);
        buf.clear();
    }
}

thread_local! {
    /// What this thread prints, while a test captures it.
    static CAPTURED: std::cell::RefCell<Option<Vec<u8>>> = const { std::cell::RefCell::new(None) };
}

/// Runs `body` with what this thread prints kept aside: its result, and
/// the bytes printed.
pub fn capture<R>(body: impl FnOnce() -> R) -> (R, Vec<u8>) {
    let outer = CAPTURED.with(|c| c.borrow_mut().replace(Vec::new()));
    let result = body();
    let printed = CAPTURED.with(|c| std::mem::replace(&mut *c.borrow_mut(), outer)).unwrap_or_default();
    (result, printed)
}

/// Appends to the capture of this thread, if one is on.
fn captured(bytes: &[u8], newline: bool) -> bool {
    CAPTURED.with(|c| match c.borrow_mut().as_mut() {
        Some(buf) => {
            buf.extend_from_slice(bytes);
            if newline {
                buf.push(b'\n');
            }
            true
        }
        None => false,
    })
}

/// Writes `bytes` to standard output (buffered).
pub fn write(bytes: &[u8]) {
    if captured(bytes, false) {
        return;
    }
    let mut buf = buffer();
    buf.extend_from_slice(bytes);
    if buf.len() >= FLUSH_AT || *IS_TERMINAL.get_or_init(|| std::io::stdout().is_terminal()) {
        flush_locked(&mut buf);
    }
}

/// Writes `line` and a line break.
pub fn write_line(line: &[u8]) {
    if captured(line, true) {
        return;
    }
    let mut buf = buffer();
    buf.extend_from_slice(line);
    buf.push(b'\n');
    if buf.len() >= FLUSH_AT || *IS_TERMINAL.get_or_init(|| std::io::stdout().is_terminal()) {
        flush_locked(&mut buf);
    }
}

/// Writes out everything buffered.
pub fn flush() {
    flush_locked(&mut buffer());
}

/// `print(line: String) -> Unit`.
///
/// # Safety
/// `line` is a valid `Str`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_print(line: *const Str, _loc: *const Str) {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        write_line(unsafe { str_bytes(line) });
    })
}

/// `debug<T>(value: T) -> Unit`: the value in literal syntax and a line break.
///
/// # Safety
/// `value` is a valid value of type `t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_debug(value: Word, t: i64, loc: *const Str) {
    crate::error::guard(|| {
        let mut text = Vec::new();
        // SAFETY: the caller's contract.
        unsafe { crate::format::format_into(types::installed(), &mut text, value, types::index(t), loc) };
        text.push(b'\n');
        write(&text);
    })
}
