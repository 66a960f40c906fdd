//! The process entry point of a script: `dl_run_main`.

use crate::error::{protect, report_and_exit};
use crate::{output, stack, types};

/// `dl_run_main(types, main, argc, argv) -> i32`: what the C `main` of a
/// compiled program returns. Installs the type table, runs `main` on an
/// invocation thread (`stack.rs`), flushes standard output and returns 0. (A
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
    let thread = stack::spawn(move || {
        let outcome = protect(&mut || {
            main();
        });
        if let Err(message) = outcome {
            report_and_exit(&message);
        }
        output::flush();
    });
    match thread {
        Ok(thread) => thread.join(),
        Err(_) => report_and_exit("cannot start the program's thread"),
    }
    output::flush();
    0
}
