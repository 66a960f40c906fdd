/* The invocation boundary: where a runtime error leaves compiled code.
 *
 * `dl_protect` runs `body(data)` under a `setjmp`; `dl_throw` jumps back to
 * the innermost one. Only compiled Distlang frames and the runtime's
 * plain-old frames (no destructors: see error.rs) lie between the two, so
 * the jump skips nothing that needed to run. Written in C because Rust
 * cannot call `setjmp`. */

#include <setjmp.h>
#include <stdlib.h>

static __thread jmp_buf *innermost;

int dl_protect(void (*body)(void *), void *data) {
    jmp_buf here;
    jmp_buf *outer = innermost;
    innermost = &here;
    if (setjmp(here) == 0) {
        body(data);
        innermost = outer;
        return 0;
    }
    innermost = outer;
    return 1;
}

int dl_protected(void) {
    return innermost != NULL;
}

void dl_throw(void) {
    if (innermost == NULL) {
        abort();
    }
    longjmp(*innermost, 1);
}
