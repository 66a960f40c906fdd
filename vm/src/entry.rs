//! The process entry point `dl_run_main`, and `dl_stack_limit`, the stack
//! bound compiled code checks on function entry.

use crate::error::{protect, report_and_exit};
use crate::{output, types};

/// Compiled functions fail with a stack overflow (kind 3) when the stack
/// pointer is below this address. 0 (no limit) until `dl_run_main` starts
/// the program's thread.
#[unsafe(no_mangle)]
pub static mut dl_stack_limit: u64 = 0;

/// The stack of the thread that runs `main`.
pub const STACK_SIZE: usize = 64 << 20;
/// Room kept below `dl_stack_limit` for the failing path and the runtime
/// functions that run without their own check.
const STACK_MARGIN: usize = 1 << 20;

/// Makes the current thread's stack limit the address `STACK_SIZE` below
/// this frame, plus the margin. Call first thing on a fresh thread of
/// `STACK_SIZE` bytes.
pub fn set_stack_limit_here() {
    let marker = 0u8;
    let top = &marker as *const u8 as u64;
    let limit = top.saturating_sub((STACK_SIZE - STACK_MARGIN) as u64);
    // SAFETY: written before any compiled code of the program runs.
    unsafe { (&raw mut dl_stack_limit).write_volatile(limit) };
}

/// `dl_run_main(types, main, argc, argv) -> i32`: what the C `main` of a
/// compiled program returns. Installs the type table, runs `main` on a
/// thread with a 64 MiB stack, flushes standard output and returns 0. (A
/// runtime error exits with status 1 from inside.)
///
/// # Safety
/// `types` is the program's type table and `main` its compiled `main`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_run_main(
    types: *const u32,
    main: extern "C" fn() -> u64,
    _argc: i32,
    _argv: *const *const u8,
) -> i32 {
    // SAFETY: the caller's contract.
    unsafe { types::install(types) };
    let thread = std::thread::Builder::new().name("main".into()).stack_size(STACK_SIZE).spawn(move || {
        set_stack_limit_here();
        let outcome = protect(&mut || {
            main();
        });
        if let Err(message) = outcome {
            report_and_exit(&message);
        }
        output::flush();
    });
    match thread {
        Ok(handle) => {
            if handle.join().is_err() {
                report_and_exit("internal error in the runtime");
            }
        }
        Err(_) => report_and_exit("cannot start the program's thread"),
    }
    output::flush();
    0
}
