//! Value layouts shared with compiled code (`Str`, `List`, enums, closures)
//! and helpers to read them and to make new ones in the region.
//!
//! Values are immutable once built. The only writes into existing memory are
//! appends beyond the used part of a `StrBuf`/`ListBuf` (see `string.rs` and
//! `list.rs`), which no existing value can see.

use crate::region;

/// A value as compiled code passes it: one 64-bit word.
pub type Word = u64;

/// `String`: `len` bytes of UTF-8 at `ptr`. `buf` is the growable buffer the
/// bytes live in, or null when they cannot be appended to in place.
#[repr(C)]
pub struct Str {
    pub len: u64,
    pub ptr: *const u8,
    pub buf: *mut StrBuf,
}

/// Header of an appendable string buffer; `cap` bytes follow it, of which
/// the first `used` belong to some string.
#[repr(C)]
pub struct StrBuf {
    pub used: u64,
    pub cap: u64,
}

/// `List<T>`: `len` words at `items`; `buf` as for `Str`.
#[repr(C)]
pub struct List {
    pub len: u64,
    pub items: *mut Word,
    pub buf: *mut ListBuf,
}

/// Header of an appendable list buffer; `cap` words follow it.
#[repr(C)]
pub struct ListBuf {
    pub used: u64,
    pub cap: u64,
}

impl StrBuf {
    pub fn data(buf: *mut StrBuf) -> *mut u8 {
        // SAFETY: the bytes follow the 16-byte header.
        unsafe { (buf as *mut u8).add(size_of::<StrBuf>()) }
    }

    /// A new buffer with room for `cap` bytes, none used.
    pub fn new(cap: usize) -> *mut StrBuf {
        let buf = region::alloc(size_of::<StrBuf>().saturating_add(cap)) as *mut StrBuf;
        // SAFETY: freshly allocated, big enough.
        unsafe { buf.write(StrBuf { used: 0, cap: cap as u64 }) };
        buf
    }
}

impl ListBuf {
    pub fn data(buf: *mut ListBuf) -> *mut Word {
        // SAFETY: the items follow the 16-byte header.
        unsafe { (buf as *mut u8).add(size_of::<ListBuf>()) as *mut Word }
    }

    /// A new buffer with room for `cap` items, none used.
    pub fn new(cap: usize) -> *mut ListBuf {
        let buf = region::alloc_words(cap.saturating_add(2)) as *mut ListBuf;
        // SAFETY: freshly allocated, big enough.
        unsafe { buf.write(ListBuf { used: 0, cap: cap as u64 }) };
        buf
    }
}

// ---- strings ----

/// The bytes of a string.
///
/// # Safety
/// `s` is a valid `Str` whose bytes outlive `'a`.
#[inline]
pub unsafe fn str_bytes<'a>(s: *const Str) -> &'a [u8] {
    // SAFETY: the caller's contract; an empty string may have any pointer.
    unsafe {
        let len = (*s).len as usize;
        if len == 0 { &[] } else { std::slice::from_raw_parts((*s).ptr, len) }
    }
}

/// The text of a string (Distlang strings are valid UTF-8).
///
/// # Safety
/// As `str_bytes`.
#[inline]
pub unsafe fn str_text<'a>(s: *const Str) -> &'a str {
    // SAFETY: strings are UTF-8 by construction.
    unsafe { std::str::from_utf8_unchecked(str_bytes(s)) }
}

/// A `Str` header for bytes that already exist (and outlive the region).
pub fn str_header(ptr: *const u8, len: usize, buf: *mut StrBuf) -> *mut Str {
    let s = region::alloc(size_of::<Str>()) as *mut Str;
    // SAFETY: freshly allocated.
    unsafe { s.write(Str { len: len as u64, ptr, buf }) };
    s
}

/// A new string holding a copy of `bytes` (which must be UTF-8), header and
/// bytes in one allocation as for literals.
pub fn new_str(bytes: &[u8]) -> *mut Str {
    let s = region::alloc(size_of::<Str>() + bytes.len()) as *mut Str;
    // SAFETY: freshly allocated with room for the header and the bytes.
    unsafe {
        let data = (s as *mut u8).add(size_of::<Str>());
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
        s.write(Str { len: bytes.len() as u64, ptr: data, buf: std::ptr::null_mut() });
    }
    s
}

/// A part of `s` (byte offsets on character boundaries), sharing its bytes.
/// It keeps `s`'s buffer: appending to it in place is safe exactly when it
/// ends where the buffer's used part ends, which `dl_str_concat` checks.
///
/// # Safety
/// `s` is a valid `Str`, `start <= end <= len`.
pub unsafe fn substr(s: *const Str, start: usize, end: usize) -> *mut Str {
    // SAFETY: the caller's contract.
    unsafe {
        if start == 0 && end == (*s).len as usize {
            return s as *mut Str;
        }
        str_header((*s).ptr.wrapping_add(start), end - start, (*s).buf)
    }
}

// ---- lists ----

/// The items of a list.
///
/// # Safety
/// `l` is a valid `List` whose items outlive `'a`.
#[inline]
pub unsafe fn list_items<'a>(l: *const List) -> &'a [Word] {
    // SAFETY: the caller's contract.
    unsafe {
        let len = (*l).len as usize;
        if len == 0 { &[] } else { std::slice::from_raw_parts((*l).items, len) }
    }
}

/// A list of `len` uninitialised items: header and items in one allocation.
pub fn alloc_list(len: usize) -> *mut List {
    let l = region::alloc_words(len.saturating_add(3)) as *mut List;
    // SAFETY: freshly allocated with room for the header and the items.
    unsafe {
        let items = (l as *mut Word).add(3);
        l.write(List { len: len as u64, items, buf: std::ptr::null_mut() });
    }
    l
}

/// A new list holding a copy of `items`.
pub fn new_list(items: &[Word]) -> *mut List {
    let l = alloc_list(items.len());
    // SAFETY: room for `items.len()` words.
    unsafe { std::ptr::copy_nonoverlapping(items.as_ptr(), (*l).items, items.len()) };
    l
}

/// A `List` header for items that already exist.
pub fn list_header(items: *mut Word, len: usize, buf: *mut ListBuf) -> *mut List {
    let l = region::alloc(size_of::<List>()) as *mut List;
    // SAFETY: freshly allocated.
    unsafe { l.write(List { len: len as u64, items, buf }) };
    l
}

// ---- objects: tuples, records, enums ----

/// A new object of the given words (a tuple, record or enum).
pub fn new_object(words: &[Word]) -> *mut Word {
    let p = region::alloc_words(words.len());
    // SAFETY: room for the words.
    unsafe { std::ptr::copy_nonoverlapping(words.as_ptr(), p, words.len()) };
    p
}

/// Word `i` of an object.
///
/// # Safety
/// `obj` points to an object of more than `i` words.
#[inline]
pub unsafe fn field(obj: Word, i: usize) -> Word {
    // SAFETY: the caller's contract.
    unsafe { *(obj as *const Word).add(i) }
}

pub const SOME: Word = 0;
pub const NONE: Word = 1;
pub const OK: Word = 0;
pub const ERR: Word = 1;

/// The one `None` (tag 1, no payload); read-only static data.
static NONE_VALUE: [Word; 2] = [NONE, 0];

pub fn some(x: Word) -> *mut Word {
    new_object(&[SOME, x])
}

pub fn none() -> *mut Word {
    NONE_VALUE.as_ptr() as *mut Word
}

pub fn option(x: Option<Word>) -> *mut Word {
    match x {
        Some(x) => some(x),
        None => none(),
    }
}

pub fn ok(x: Word) -> *mut Word {
    new_object(&[OK, x])
}

pub fn err(x: Word) -> *mut Word {
    new_object(&[ERR, x])
}

// ---- closures ----

/// Calls a one-argument closure `[code, captures…]` as `code(closure, arg)`,
/// inside an invocation boundary: a runtime error in the closure unwinds the
/// runtime's frames above (see error.rs).
///
/// # Safety
/// `closure` is a closure object whose code takes one argument.
pub unsafe fn call1(closure: *const Word, arg: Word) -> Word {
    // SAFETY: the caller's contract: word 0 is the code pointer.
    let code: extern "C" fn(*const Word, Word) -> Word = unsafe { std::mem::transmute(*closure as usize) };
    let mut result = 0;
    match crate::error::protect(&mut || result = code(closure, arg)) {
        Ok(()) => result,
        Err(message) => std::panic::resume_unwind(Box::new(crate::error::RuntimeError(message))),
    }
}

#[cfg(test)]
pub mod testing {
    //! Helpers for the unit tests of the other modules.
    #![allow(clippy::not_unsafe_ptr_arg_deref)]
    use super::*;

    pub fn s(text: &str) -> *mut Str {
        new_str(text.as_bytes())
    }

    pub fn text(s: *const Str) -> String {
        // SAFETY: test strings are valid.
        unsafe { str_text(s).to_string() }
    }

    pub fn items(l: *const List) -> Vec<Word> {
        // SAFETY: test lists are valid.
        unsafe { list_items(l).to_vec() }
    }

    /// An Option value as a Rust Option.
    pub fn opt(o: *const Word) -> Option<Word> {
        // SAFETY: test options are valid.
        unsafe { if *o == SOME { Some(*o.add(1)) } else { None } }
    }
}
