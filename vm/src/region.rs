//! The region: a thread-local bump allocator over large chunks, released all
//! at once when an invocation ends (`reset`); `dl_alloc` for compiled code.
//!
//! Every value of an invocation lives here (see README.md, "Memory model").
//! The first chunks (up to `KEEP` bytes) are kept across `reset` for the
//! next invocation; the rest, and chunks made for a single large object,
//! are returned to the system by `reset`, so one big invocation does not
//! leave its thread big.

use std::cell::{Cell, UnsafeCell};

/// The first chunk; later ones double, up to `MAX_CHUNK`.
const FIRST_CHUNK: usize = 1 << 20;
const MAX_CHUNK: usize = 64 << 20;
/// Objects at least this big get a chunk of their own.
const LARGE: usize = 256 << 10;
/// `reset` keeps the chunks that fit in this many bytes (the first two).
const KEEP: usize = 3 * FIRST_CHUNK;

struct Chunk {
    start: *mut u8,
    size: usize,
}

struct Region {
    /// Bump pointer and end of the current chunk (addresses).
    next: Cell<usize>,
    end: Cell<usize>,
    /// Index in `chunks` of the current chunk (meaningless when empty).
    current: Cell<usize>,
    chunks: UnsafeCell<Vec<Chunk>>,
    large: UnsafeCell<Vec<Chunk>>,
}

impl Drop for Region {
    fn drop(&mut self) {
        for chunk in self.chunks.get_mut().drain(..).chain(self.large.get_mut().drain(..)) {
            free_chunk(&chunk);
        }
    }
}

thread_local! {
    static REGION: Region = const {
        Region {
            next: Cell::new(0),
            end: Cell::new(0),
            current: Cell::new(0),
            chunks: UnsafeCell::new(Vec::new()),
            large: UnsafeCell::new(Vec::new()),
        }
    };
}

/// A chunk mapped from the system (not from `malloc`, which may keep freed
/// memory resident), its pages made resident as they are first touched.
fn new_chunk(size: usize) -> Chunk {
    // SAFETY: an anonymous private mapping; the size is never zero.
    let start = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if start == libc::MAP_FAILED {
        crate::error::fail_no_loc("out of memory");
    }
    Chunk { start: start as *mut u8, size }
}

fn free_chunk(chunk: &Chunk) {
    // SAFETY: mapped by `new_chunk` with this size; nothing points into it
    // any more (the region was reset or its thread is ending).
    unsafe { libc::munmap(chunk.start as *mut libc::c_void, chunk.size) };
}

impl Region {
    #[inline]
    fn alloc(&self, size: usize) -> *mut u8 {
        let next = self.next.get();
        if size <= self.end.get() - next {
            self.next.set(next + size);
            next as *mut u8
        } else {
            self.alloc_slow(size)
        }
    }

    #[cold]
    fn alloc_slow(&self, size: usize) -> *mut u8 {
        if size >= LARGE {
            let chunk = new_chunk(size);
            let start = chunk.start;
            // SAFETY: the region is only touched by its own thread, and no
            // reference into these vectors outlives a call.
            unsafe { (*self.large.get()).push(chunk) };
            return start;
        }
        // SAFETY: as above.
        let chunks = unsafe { &mut *self.chunks.get() };
        let mut index = if chunks.is_empty() { 0 } else { self.current.get() + 1 };
        // A chunk kept from an earlier invocation, or a new one.
        if index >= chunks.len() {
            let size = match chunks.last() {
                Some(last) => (last.size * 2).min(MAX_CHUNK),
                None => FIRST_CHUNK,
            };
            chunks.push(new_chunk(size));
            index = chunks.len() - 1;
        }
        let chunk = &chunks[index];
        self.current.set(index);
        let start = chunk.start as usize;
        self.next.set(start + size);
        self.end.set(start + chunk.size);
        start as *mut u8
    }

    fn reset(&self) {
        // SAFETY: see `alloc_slow`.
        let (chunks, large) = unsafe { (&mut *self.chunks.get(), &mut *self.large.get()) };
        for chunk in large.drain(..) {
            free_chunk(&chunk);
        }
        let mut kept = 0;
        let keep = chunks.iter().take_while(|c| {
            kept += c.size;
            kept <= KEEP
        });
        let keep = keep.count().max(1).min(chunks.len());
        for chunk in chunks.drain(keep..) {
            free_chunk(&chunk);
        }
        self.current.set(0);
        match chunks.first() {
            Some(first) => {
                self.next.set(first.start as usize);
                self.end.set(first.start as usize + first.size);
            }
            None => {
                self.next.set(0);
                self.end.set(0);
            }
        }
    }

    fn used(&self) -> usize {
        // SAFETY: see `alloc_slow`.
        let (chunks, large) = unsafe { (&*self.chunks.get(), &*self.large.get()) };
        let mut total: usize = large.iter().map(|c| c.size).sum();
        if !chunks.is_empty() {
            let current = self.current.get();
            total += chunks[..current].iter().map(|c| c.size).sum::<usize>();
            total += self.next.get() - chunks[current].start as usize;
        }
        total
    }
}

/// `bytes` of uninitialised memory, 8-aligned, valid until the next `reset`
/// of this thread's region.
#[inline]
pub fn alloc(bytes: usize) -> *mut u8 {
    let size = match bytes.checked_add(7) {
        Some(n) if n <= isize::MAX as usize => n & !7,
        _ => crate::error::fail_no_loc("out of memory"),
    };
    match REGION.try_with(|r| r.alloc(size)) {
        Ok(p) => p,
        Err(_) => crate::error::fail_no_loc("allocation after the thread ended"),
    }
}

/// Room for `n` words.
#[inline]
pub fn alloc_words(n: usize) -> *mut u64 {
    match n.checked_mul(8) {
        Some(bytes) => alloc(bytes) as *mut u64,
        None => crate::error::fail_no_loc("out of memory"),
    }
}

/// Releases everything this thread allocated since the last reset: every
/// pointer into the region becomes invalid. Chunks are kept for reuse.
pub fn reset() {
    let _ = REGION.try_with(|r| r.reset());
}

/// Bytes handed out (or lost at chunk ends) since the last reset.
pub fn used() -> usize {
    REGION.try_with(|r| r.used()).unwrap_or(0)
}

/// `dl_alloc(bytes) -> ptr`: 8-aligned region memory.
#[unsafe(no_mangle)]
pub extern "C" fn dl_alloc(bytes: i64) -> *mut u8 {
    crate::error::guard(|| {
        alloc(bytes as usize)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocations_are_aligned_and_disjoint() {
        let a = alloc(3);
        let b = alloc(8);
        let c = alloc(0);
        let d = alloc(1);
        assert_eq!(a as usize % 8, 0);
        assert_eq!(b as usize, a as usize + 8);
        assert_eq!(c as usize, b as usize + 8);
        assert_eq!(d as usize % 8, 0);
    }

    #[test]
    fn reset_reuses_chunks_and_frees_large_ones() {
        reset();
        let first = alloc(16);
        for _ in 0..10 {
            alloc(200 << 10);
        }
        let big = alloc(LARGE * 2);
        // SAFETY: freshly allocated.
        unsafe { big.write_bytes(1, LARGE * 2) };
        assert!(used() >= (10 * (200 << 10)) + LARGE * 2);
        reset();
        assert_eq!(used(), 0);
        assert_eq!(alloc(16), first);
    }

    #[test]
    fn reset_gives_back_what_a_big_invocation_grew() {
        reset();
        // SAFETY: this thread's region, not borrowed while the closure runs.
        let chunks = || REGION.with(|r| unsafe { (*r.chunks.get()).iter().map(|c| c.size).collect::<Vec<_>>() });
        let first = alloc(16);
        // 40 MiB in small objects: chunks of 1, 2, 4, 8, 16 and 32 MiB.
        for _ in 0..(40 << 10) {
            alloc(1 << 10);
        }
        assert!(chunks().len() >= 6);
        reset();
        assert_eq!(chunks(), [FIRST_CHUNK, 2 * FIRST_CHUNK], "the chunks within KEEP stay");
        assert_eq!(alloc(16), first);
    }
}
