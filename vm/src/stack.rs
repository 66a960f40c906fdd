//! Invocation stacks: every piece of compiled code runs on a stack of
//! `STACK_SIZE` bytes aligned to `STACK_SIZE`, so that the stack left is
//! `sp % STACK_SIZE`. Compiled functions check it on entry with a mask and a
//! compare (no memory access, whatever the thread), and fail with "stack
//! overflow" before the guard page is near. Such a stack is either a whole
//! thread's (`spawn`) or one a thread switches to for a call
//! (`on_invocation_stack`, how the server's async threads run short routes).

use std::ffi::c_void;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The stack of an invocation thread; a power of two (`dl_abi::stack`,
/// which compiled code's stack check reads too).
pub const STACK_SIZE: usize = dl_abi::stack::SIZE as usize;
/// Compiled code fails when less than this is left: room for the failing
/// path and for the runtime's functions called from the deepest frame.
pub const STACK_MARGIN: usize = dl_abi::stack::MARGIN as usize;
/// The runtime's own recursive functions fail below this.
const RUNTIME_MARGIN: usize = 256 << 10;

thread_local! {
    static ON_INVOCATION_STACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// The stack `on_invocation_stack` switches to on this thread, mapped
    /// on first use and unmapped when the thread ends.
    static SWITCH_STACK: std::cell::OnceCell<SwitchStack> = const { std::cell::OnceCell::new() };
}

struct SwitchStack(*mut c_void);

impl Drop for SwitchStack {
    fn drop(&mut self) {
        // SAFETY: a mapping of `aligned_stack`, no longer in use: the thread
        // is ending, so no call on it is under way.
        unsafe { libc::munmap(self.0, STACK_SIZE) };
    }
}

/// Runs `body` on an invocation stack: at once on an invocation thread,
/// else on this thread's switch stack. A panic in `body` goes on unwinding
/// in the caller, on the caller's stack.
pub fn on_invocation_stack<R>(body: impl FnOnce() -> R) -> io::Result<R> {
    if ON_INVOCATION_STACK.with(|on| on.get()) {
        return Ok(body());
    }
    let base = SWITCH_STACK.with(|stack| match stack.get() {
        Some(stack) => Ok(stack.0),
        None => aligned_stack().map(|base| stack.get_or_init(|| SwitchStack(base)).0),
    })?;
    ON_INVOCATION_STACK.with(|on| on.set(true));
    // SAFETY: `base` is this thread's own aligned mapping (guard page at its
    // low end), not in use: calls on it do not nest (the flag above sends a
    // nested call straight to `body`). psm needs `body` not to unwind out
    // of the switched stack: the panic is caught there and resumed here.
    let outcome = unsafe {
        psm::on_stack(base as *mut u8, STACK_SIZE, || catch_unwind(AssertUnwindSafe(body)))
    };
    ON_INVOCATION_STACK.with(|on| on.set(false));
    match outcome {
        Ok(value) => Ok(value),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// A running invocation thread.
pub struct Thread {
    id: libc::pthread_t,
    stack: *mut c_void,
}

// SAFETY: the handle only names the thread and its stack's mapping, which
// `join` releases once, from whichever thread holds it.
unsafe impl Send for Thread {}
unsafe impl Sync for Thread {}

/// Starts `body` on a new invocation thread.
pub fn spawn(body: impl FnOnce() + Send + 'static) -> io::Result<Thread> {
    let stack = aligned_stack()?;
    let body: Box<Box<dyn FnOnce() + Send>> = Box::new(Box::new(body));
    // SAFETY: plain pthread calls on a zeroed attribute object; `stack` is a
    // fresh mapping of STACK_SIZE bytes that outlives the thread (`join`).
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        let mut id: libc::pthread_t = 0;
        let data = Box::into_raw(body) as *mut c_void;
        let mut status = libc::pthread_attr_init(&mut attr);
        if status == 0 {
            status = libc::pthread_attr_setstack(&mut attr, stack, STACK_SIZE);
        }
        if status == 0 {
            status = libc::pthread_create(&mut id, &attr, start, data);
        }
        libc::pthread_attr_destroy(&mut attr);
        if status != 0 {
            drop(Box::from_raw(data as *mut Box<dyn FnOnce() + Send>));
            libc::munmap(stack, STACK_SIZE);
            return Err(io::Error::from_raw_os_error(status));
        }
        Ok(Thread { id, stack })
    }
}

impl Thread {
    /// Whether this is the thread calling.
    pub fn is_current(&self) -> bool {
        // SAFETY: comparing thread ids.
        unsafe { libc::pthread_equal(self.id, libc::pthread_self()) != 0 }
    }

    /// Waits for the thread to end and releases its stack.
    pub fn join(self) {
        // SAFETY: `id` is a joinable thread started by `spawn`, joined once;
        // its stack is no longer in use after the join.
        unsafe {
            libc::pthread_join(self.id, std::ptr::null_mut());
            libc::munmap(self.stack, STACK_SIZE);
        }
    }
}

extern "C" fn start(data: *mut c_void) -> *mut c_void {
    // SAFETY: `data` is the box `spawn` leaked for this thread.
    let body = unsafe { Box::from_raw(data as *mut Box<dyn FnOnce() + Send>) };
    ON_INVOCATION_STACK.with(|on| on.set(true));
    // A panic must not unwind into the C start routine.
    let _ = catch_unwind(AssertUnwindSafe(body));
    std::ptr::null_mut()
}

/// `STACK_SIZE` bytes aligned to `STACK_SIZE`, the lowest page a guard.
fn aligned_stack() -> io::Result<*mut c_void> {
    let len = 2 * STACK_SIZE;
    // SAFETY: an anonymous private mapping, trimmed to its aligned middle.
    unsafe {
        let mapping = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        );
        if mapping == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let start = mapping as usize;
        let base = (start + STACK_SIZE - 1) & !(STACK_SIZE - 1);
        if base > start {
            libc::munmap(mapping, base - start);
        }
        let end = base + STACK_SIZE;
        if start + len > end {
            libc::munmap(end as *mut c_void, start + len - end);
        }
        libc::mprotect(base as *mut c_void, 4096, libc::PROT_NONE);
        Ok(base as *mut c_void)
    }
}

/// Gives back to the system the pages of this invocation thread's stack
/// below the caller's frame: after an invocation that went deep (a stack
/// overflow touches all 64 MiB), the thread's resident memory returns to
/// what it needs.
pub fn release_unused() {
    if !ON_INVOCATION_STACK.with(|on| on.get()) {
        return;
    }
    let marker = 0u8;
    let here = std::hint::black_box(&marker) as *const u8 as usize;
    let base = here & !(STACK_SIZE - 1);
    // Keep the guard page and a little below the caller for what follows.
    let start = base + 4096;
    let end = (here.saturating_sub(64 << 10)) & !4095;
    if end > start {
        // SAFETY: the range is this thread's own stack, below every live
        // frame; its contents are dead and read back as zeros.
        unsafe { libc::madvise(start as *mut c_void, end - start, libc::MADV_DONTNEED) };
    }
}

/// Bytes of stack left below the caller, on an invocation thread.
#[inline]
fn stack_left() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize & (STACK_SIZE - 1)
}

/// Whether the runtime's recursion must stop here: true on an invocation
/// thread with little stack left (other threads, such as tests', have
/// stacks of their own size and are not checked).
#[inline]
pub fn exhausted() -> bool {
    stack_left() < RUNTIME_MARGIN && ON_INVOCATION_STACK.with(|on| on.get())
}
