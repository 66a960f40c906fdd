//! Fuzz target `check`: `dlc_core::compile` on arbitrary input must return,
//! never panic (brief §7). Bytes that are not UTF-8 are decoded lossily, as
//! the compiler only ever sees text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The checker recurses over the syntax tree: give it the stack `dlc`
    // gives it, so a deep-but-valid input is not reported as a crash.
    let text = text.into_owned();
    let compiled = std::thread::Builder::new()
        .stack_size(dlc_core::STACK_SIZE)
        .spawn(move || {
            let compilation = dlc_core::compile("fuzz.dl", &text);
            // Rendering is part of what `dlc check` does with every input.
            let _ = compilation.render_diagnostics(false);
            compilation.has_errors()
        })
        .expect("spawn the compiler thread");
    // A panic on the thread is a finding: re-raise it for libFuzzer.
    if let Err(panic) = compiled.join() {
        std::panic::resume_unwind(panic);
    }
});
