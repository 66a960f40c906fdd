//! The externs of `stdlib/store.dl`, secrets and `?` in a cron or test:
//! what compiled code calls in the instance and transaction of its thread.

use super::instance::with_current;
use super::transaction::{read, write};
use crate::error::fail;
use crate::value::{List, Str, Word, new_str, str_bytes};

/// `dl_secret_value(index) -> Str*`: a secret's value, read at start-up.
#[unsafe(no_mangle)]
pub extern "C" fn dl_secret_value(index: i64) -> *mut Str {
    crate::error::guard(|| {
        with_current(|instance| new_str(instance.map_or("", |i| i.secret(index as usize)).as_bytes()))
    })
}

/// `dl_fail_message(message, loc) -> !`: a cron's `?` met `Err(message)`.
///
/// # Safety
/// Valid `Str`s.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_fail_message(message: *const Str, loc: *const Str) {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        let text = String::from_utf8_lossy(unsafe { str_bytes(message) }).into_owned();
        fail(&text, loc)
    })
}

// ---- the store operations of stdlib/store.dl ----

/// # Safety
/// A valid `Str`.
unsafe fn key_text<'a>(key: *const Str) -> &'a str {
    // SAFETY: the caller's contract; Distlang strings are UTF-8.
    unsafe { crate::value::str_text(key) }
}

/// `Store.get(s, key) -> Option<T>`.
///
/// # Safety
/// Valid `Str`s (here and below); `s` a store index of the program.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Store_get(s: i64, key: *const Str, _t: i64, loc: *const Str) -> *mut Word {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        let key = unsafe { key_text(key) };
        super::dashboard::note("get", s, Some(key));
        crate::value::option(read(loc, |t| t.get(s as usize, key)))
    })
}

/// `Store.has(s, key) -> Bool`.
///
/// # Safety
/// As `dl_Store_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Store_has(s: i64, key: *const Str, _t: i64, loc: *const Str) -> i64 {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        let key = unsafe { key_text(key) };
        super::dashboard::note("has", s, Some(key));
        i64::from(read(loc, |t| t.has(s as usize, key)))
    })
}

/// `Store.count(s) -> Int`.
#[unsafe(no_mangle)]
pub extern "C" fn dl_Store_count(s: i64, _t: i64, loc: *const Str) -> i64 {
    crate::error::guard(|| {
        super::dashboard::note("count", s, None);
        read(loc, |t| t.count(s as usize))
    })
}

/// `Store.keys(s) -> List<String>`.
#[unsafe(no_mangle)]
pub extern "C" fn dl_Store_keys(s: i64, _t: i64, loc: *const Str) -> *mut List {
    crate::error::guard(|| {
        super::dashboard::note("keys", s, None);
        read(loc, |t| t.keys(s as usize))
    })
}

/// `Store.values(s) -> List<T>`.
#[unsafe(no_mangle)]
pub extern "C" fn dl_Store_values(s: i64, _t: i64, loc: *const Str) -> *mut List {
    crate::error::guard(|| {
        super::dashboard::note("values", s, None);
        read(loc, |t| t.values(s as usize))
    })
}

/// `Store.entries(s) -> List<(String, T)>`.
#[unsafe(no_mangle)]
pub extern "C" fn dl_Store_entries(s: i64, _t: i64, loc: *const Str) -> *mut List {
    crate::error::guard(|| {
        super::dashboard::note("entries", s, None);
        read(loc, |t| t.entries(s as usize))
    })
}

/// `Store.prefix(s, prefix) -> List<(String, T)>`.
///
/// # Safety
/// As `dl_Store_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Store_prefix(s: i64, prefix: *const Str, _t: i64, loc: *const Str) -> *mut List {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        let prefix = unsafe { key_text(prefix) };
        super::dashboard::note("prefix", s, Some(prefix));
        read(loc, |t| t.prefix(s as usize, prefix))
    })
}

/// A `Scan { prefix, after, limit, reverse }` (words in declaration order).
///
/// # Safety
/// `scan` is a valid `Scan`, which outlives the result.
unsafe fn scan_of<'a>(scan: *const Word, loc: *const Str) -> crate::store::Scan<'a> {
    // SAFETY: the caller's contract: a record of four words, an
    // `Option<String>` (tag, payload) second.
    let (prefix, after, limit, reverse) = unsafe {
        let after = *scan.add(1) as *const Word;
        let after = (*after == crate::value::SOME).then(|| key_text(*after.add(1) as *const Str));
        (key_text(*scan as *const Str), after, *scan.add(2), *scan.add(3) != 0)
    };
    if !(1..=1000).contains(&limit) {
        fail(&format!("a page's limit is 1 to 1000, not {limit}"), loc);
    }
    crate::store::Scan { prefix, after, limit: limit as usize, reverse }
}

/// `Store.page(s, scan) -> Page<T>`.
///
/// # Safety
/// As `dl_Store_get`; `scan` a valid `Scan`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Store_page(s: i64, scan: *const Word, _t: i64, loc: *const Str) -> *mut Word {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        let scan = unsafe { scan_of(scan, loc) };
        super::dashboard::note("page", s, None);
        read(loc, |t| t.page(s as usize, &scan))
    })
}

/// `Store.index_get(s, index, value) -> Option<(String, T)>`: `s.by_FIELD(value)`
/// on the store's unique index at position `index`.
///
/// # Safety
/// As `dl_Store_get`; `value` a value of the index's type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Store_index_get(s: i64, index: i64, value: Word, _t: i64, _v: i64, loc: *const Str) -> *mut Word {
    // SAFETY: the caller's contract.
    crate::error::guard(|| {
        super::dashboard::note("index_get", s, None);
        read(loc, |t| unsafe { t.index_get(s as usize, index as usize, value) })
    })
}

/// `Store.index_page(s, index, value, scan) -> Page<T>`: `s.by_FIELD(value,
/// scan)` on the store's index at position `index`.
///
/// # Safety
/// As `dl_Store_index_get`; `scan` a valid `Scan`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Store_index_page(
    s: i64,
    index: i64,
    value: Word,
    scan: *const Word,
    _t: i64,
    _v: i64,
    loc: *const Str,
) -> *mut Word {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        let scan = unsafe { scan_of(scan, loc) };
        super::dashboard::note("index_page", s, None);
        // SAFETY: as above.
        read(loc, |t| unsafe { t.index_page(s as usize, index as usize, value, &scan) })
    })
}

/// `Store.set(s, key, value)`.
///
/// # Safety
/// As `dl_Store_get`; `value` a value of the store's type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Store_set(s: i64, key: *const Str, value: Word, _t: i64, loc: *const Str) {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        let key = unsafe { key_text(key) };
        super::dashboard::note("set", s, Some(key));
        // SAFETY: as above.
        write(loc, |t| unsafe { t.set(s as usize, key, value) })
    })
}

/// `Store.insert(s, value) -> String`: the new, time-ordered key.
///
/// # Safety
/// As `dl_Store_set`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Store_insert(s: i64, value: Word, _t: i64, loc: *const Str) -> *mut Str {
    // SAFETY: the caller's contract.
    crate::error::guard(|| {
        let key = write(loc, |t| unsafe { t.insert(s as usize, value) });
        // SAFETY: the key just made.
        super::dashboard::note("insert", s, Some(unsafe { key_text(key) }));
        key
    })
}

/// `Store.delete(s, key) -> Bool`: whether the key existed.
///
/// # Safety
/// As `dl_Store_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Store_delete(s: i64, key: *const Str, _t: i64, loc: *const Str) -> i64 {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        let key = unsafe { key_text(key) };
        super::dashboard::note("delete", s, Some(key));
        i64::from(write(loc, |t| t.delete(s as usize, key)))
    })
}
