//! Lists: `dl_list_alloc`, `dl_list_concat` and the `List` externs of
//! `stdlib/list.dl`.
//!
//! `List.push(xs, x)` and `xs ++ ys` append in place under the same rule as
//! strings (see `string.rs`): only when `xs` ends where its buffer's used
//! part ends, so no other list sees the new items. A fresh buffer doubles.

use std::cmp::Ordering;

use crate::compare;
use crate::error::fail_no_loc;
use crate::sort::{merge_sort, prefix16};
use crate::types::{self, Ty, Types};
use crate::value::{List, ListBuf, Str, Word, alloc_list, call1, list_header, list_items, none, some, str_bytes};

/// `xs` followed by `extra`, appending in place when it can.
///
/// # Safety
/// `xs` is a valid `List`; `extra` is not inside `xs`'s buffer's unused part.
pub unsafe fn append(xs: *const List, extra: &[Word]) -> *mut List {
    // SAFETY (whole body): the caller's contract.
    unsafe {
        let (len, n) = ((*xs).len as usize, extra.len());
        if n == 0 {
            return xs as *mut List;
        }
        let buf = (*xs).buf;
        if !buf.is_null() {
            let data = ListBuf::data(buf);
            let used = (*buf).used as usize;
            if (*xs).items.wrapping_add(len) == data.add(used) && n <= (*buf).cap as usize - used {
                std::ptr::copy_nonoverlapping(extra.as_ptr(), data.add(used), n);
                (*buf).used = (used + n) as u64;
                return list_header((*xs).items, len + n, buf);
            }
        }
        let total = match len.checked_add(n) {
            Some(t) => t,
            None => fail_no_loc("out of memory"),
        };
        let cap = total.saturating_mul(2).max(4);
        let new = ListBuf::new(cap);
        let data = ListBuf::data(new);
        if len > 0 {
            std::ptr::copy_nonoverlapping((*xs).items, data, len);
        }
        std::ptr::copy_nonoverlapping(extra.as_ptr(), data.add(len), n);
        (*new).used = total as u64;
        list_header(data, total, new)
    }
}

/// `dl_list_alloc(len) -> List*`: a list of `len` uninitialised items, which
/// the caller fills in before anything else sees the list.
#[unsafe(no_mangle)]
pub extern "C" fn dl_list_alloc(len: i64) -> *mut List {
    crate::error::guard(|| {
        alloc_list(len.max(0) as usize)
    })
}

/// `dl_list_concat(a, b) -> List*`: `a ++ b`.
///
/// # Safety
/// `a` and `b` are valid `List`s.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_list_concat(a: *const List, b: *const List) -> *mut List {
    crate::error::guard(|| {
        // SAFETY: the caller's contract. `b`'s items are used items of some
        // buffer (or static), never the unused part of `a`'s.
        unsafe {
            if (*a).len == 0 {
                return b as *mut List;
            }
            append(a, list_items(b))
        }
    })
}

/// `List.length<T>(xs) -> Int`.
///
/// # Safety
/// Valid lists (here and below).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_List_length(xs: *const List, _t: i64, _loc: *const Str) -> i64 {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        unsafe { (*xs).len as i64 }
    })
}

/// `List.get<T>(xs, index) -> Option<T>`: `None` out of range.
///
/// # Safety
/// See `dl_List_length`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_List_get(xs: *const List, index: i64, _t: i64, _loc: *const Str) -> *mut Word {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        let items = unsafe { list_items(xs) };
        match usize::try_from(index).ok().and_then(|i| items.get(i)) {
            Some(x) => some(*x),
            None => none(),
        }
    })
}

/// `List.push<T>(xs, x) -> List<T>`.
///
/// # Safety
/// See `dl_List_length`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_List_push(xs: *const List, x: Word, _t: i64, _loc: *const Str) -> *mut List {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        unsafe { append(xs, &[x]) }
    })
}

/// `items` ordered stably by their `keys` (values of type `ty`), as a new
/// list. Keys of basic types are compared without going through `compare`
/// (and strings mostly by an inline prefix: see `sort::prefix16`).
///
/// # Safety
/// The keys are valid values of type `ty`; `keys` and `items` have the same
/// length.
pub unsafe fn sort_by_keys(types: &Types, keys: &[Word], items: &[Word], ty: u32, loc: *const Str) -> *mut List {
    fn sorted<K: Copy>(mut pairs: Vec<(K, Word)>, less: impl FnMut(&K, &K) -> bool) -> *mut List {
        let mut less = less;
        merge_sort(&mut pairs, |a, b| less(&a.0, &b.0));
        let out = alloc_list(pairs.len());
        for (i, (_, x)) in pairs.iter().enumerate() {
            // SAFETY: `out` has room for every item.
            unsafe { *(*out).items.add(i) = *x };
        }
        out
    }
    let zip = |f: &dyn Fn(Word) -> Word| keys.iter().zip(items).map(|(k, x)| (f(*k), *x)).collect::<Vec<_>>();
    // SAFETY (whole body): the keys are values of type `ty`.
    unsafe {
        match types.get(ty) {
            Ty::Int => sorted(zip(&|k| k), |a, b| (*a as i64) < (*b as i64)),
            Ty::Bool => sorted(zip(&|k| k), |a, b| a < b),
            Ty::Float => {
                sorted(zip(&|k| k), |a, b| compare::cmp_f64(f64::from_bits(*a), f64::from_bits(*b)) == Ordering::Less)
            }
            Ty::Str => {
                let pairs: Vec<((u128, Word), Word)> =
                    keys.iter().zip(items).map(|(k, x)| ((prefix16(str_bytes(*k as *const Str)), *k), *x)).collect();
                sorted(pairs, |a, b| {
                    if a.0 != b.0 { a.0 < b.0 } else { str_bytes(a.1 as *const Str) < str_bytes(b.1 as *const Str) }
                })
            }
            _ => sorted(zip(&|k| k), |a, b| compare::cmp(types, *a, *b, ty, loc) == Ordering::Less),
        }
    }
}

/// Sorted copy of `xs` in structural order of type `t`; stable.
///
/// # Safety
/// `xs` is a valid list of values of type `t`.
pub unsafe fn sort(types: &Types, xs: *const List, t: u32, loc: *const Str) -> *mut List {
    // SAFETY: the caller's contract.
    unsafe {
        let items = list_items(xs);
        sort_by_keys(types, items, items, t, loc)
    }
}

/// Copy of `xs` sorted by `key(x)` (values of type `k`); stable. Each key is
/// computed once, before sorting.
///
/// # Safety
/// `xs` is a valid list, `key` a closure from its items to values of type `k`.
pub unsafe fn sort_by(types: &Types, xs: *const List, key: *const Word, k: u32, loc: *const Str) -> *mut List {
    // SAFETY: the caller's contract. The closure may allocate and call the
    // runtime; nothing here holds a borrow of shared state meanwhile.
    unsafe {
        let items = list_items(xs);
        let keys: Vec<Word> = items.iter().map(|&x| call1(key, x)).collect();
        sort_by_keys(types, &keys, items, k, loc)
    }
}

/// `List.sort<T>(xs) -> List<T>`: ascending structural order, stable.
///
/// # Safety
/// See `dl_List_length`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_List_sort(xs: *const List, t: i64, loc: *const Str) -> *mut List {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        unsafe { sort(types::installed(), xs, types::index(t), loc) }
    })
}

/// `List.sort_by<T, K>(xs, key: fn(T) -> K) -> List<T>`: by key, stable.
///
/// # Safety
/// See `dl_List_length`; `key` is a closure.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_List_sort_by(
    xs: *const List,
    key: *const Word,
    _t: i64,
    k: i64,
    loc: *const Str,
) -> *mut List {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        unsafe { sort_by(types::installed(), xs, key, types::index(k), loc) }
    })
}

/// `List.slice<T>(xs, start, end) -> List<T>`: items `start` up to
/// `end - 1`, clamped to the list; shares `xs`'s items.
///
/// # Safety
/// See `dl_List_length`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_List_slice(xs: *const List, start: i64, end: i64, _t: i64, _loc: *const Str) -> *mut List {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        unsafe {
            let len = (*xs).len as i64;
            let a = start.clamp(0, len);
            let b = end.clamp(a, len);
            if a == 0 && b == len {
                return xs as *mut List;
            }
            list_header((*xs).items.wrapping_add(a as usize), (b - a) as usize, (*xs).buf)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::build::Table;
    use crate::value::testing::{items, opt, s};
    use crate::value::{new_list, new_object};

    #[test]
    fn push_shares_buffers_without_clobbering() {
        unsafe {
            let n = std::ptr::null();
            let empty = alloc_list(0);
            let a = dl_List_push(empty, 1, 0, n);
            let ab = dl_List_push(a, 2, 0, n);
            let abc = dl_List_push(ab, 3, 0, n); // in place after `ab`
            let abx = dl_List_push(ab, 9, 0, n); // must copy
            assert_eq!(items(abc), [1, 2, 3]);
            assert_eq!(items(abx), [1, 2, 9]);
            assert_eq!(items(ab), [1, 2]);
            assert_eq!(items(a), [1]);
            assert!(items(empty).is_empty());
            let c = dl_list_concat(abc, abx);
            assert_eq!(items(c), [1, 2, 3, 1, 2, 9]);
            assert_eq!(items(dl_list_concat(empty, abx)), [1, 2, 9]);
            // A slice ending before the used end copies on push.
            let front = dl_List_slice(abc, 0, 2, 0, n);
            assert_eq!(items(dl_List_push(front, 7, 0, n)), [1, 2, 7]);
            assert_eq!(items(abc), [1, 2, 3]);
        }
    }

    #[test]
    fn linear_push_reuses_the_buffer() {
        unsafe {
            let mut xs = alloc_list(0);
            let mut bufs = std::collections::HashSet::new();
            for i in 0..100_000 {
                xs = dl_List_push(xs, i, 0, std::ptr::null());
                bufs.insert((*xs).buf as usize);
            }
            assert_eq!(items(xs), (0..100_000).collect::<Vec<u64>>());
            assert!(bufs.len() < 20);
        }
    }

    #[test]
    fn get_and_slice_clamp() {
        unsafe {
            let n = std::ptr::null();
            let xs = new_list(&[10, 20, 30]);
            assert_eq!(opt(dl_List_get(xs, 1, 0, n)), Some(20));
            assert_eq!(opt(dl_List_get(xs, 3, 0, n)), None);
            assert_eq!(opt(dl_List_get(xs, -1, 0, n)), None);
            assert_eq!(items(dl_List_slice(xs, -3, 2, 0, n)), [10, 20]);
            assert_eq!(items(dl_List_slice(xs, 2, 99, 0, n)), [30]);
            assert!(items(dl_List_slice(xs, 2, 1, 0, n)).is_empty());
            assert!(items(dl_List_slice(xs, 5, 9, 0, n)).is_empty());
        }
    }

    #[test]
    fn sort_is_structural_and_stable() {
        let mut t = Table::default();
        let int = t.int();
        let string = t.string();
        let pair = t.tuple(&[int, string]);
        let float = t.float();
        let types = t.types();
        assert_eq!(string, 1);
        let p = |n: u64, x: &str| new_object(&[n, s(x) as u64]) as u64;
        unsafe {
            let xs = new_list(&[p(2, "b"), p(1, "z"), p(2, "a"), p(1, "a")]);
            let sorted = items(sort(&types, xs, pair, std::ptr::null()));
            let expected = [(1, "a"), (1, "z"), (2, "a"), (2, "b")];
            for (w, (n, x)) in sorted.iter().zip(expected) {
                assert_eq!(crate::value::field(*w, 0), n);
                assert_eq!(crate::value::testing::text(crate::value::field(*w, 1) as *const Str), x);
            }
            let strs: Vec<u64> =
                ["b", "abcdefghijklmnopq2", "", "abcdefghijklmnopq1", "a", "é"].iter().map(|x| s(x) as u64).collect();
            let string = 1;
            let sorted: Vec<String> = items(sort(&types, new_list(&strs), string, std::ptr::null()))
                .iter()
                .map(|w| crate::value::testing::text(*w as *const Str))
                .collect();
            assert_eq!(sorted, ["", "a", "abcdefghijklmnopq1", "abcdefghijklmnopq2", "b", "é"]);
            let floats: Vec<u64> = [2.5, f64::NAN, -1.0, 0.0].iter().map(|x: &f64| x.to_bits()).collect();
            let sorted: Vec<f64> = items(sort(&types, new_list(&floats), float, std::ptr::null()))
                .iter()
                .map(|w| f64::from_bits(*w))
                .collect();
            assert_eq!(&sorted[..3], [-1.0, 0.0, 2.5]);
            assert!(sorted[3].is_nan());
            let ints = new_list(&[3, (-1i64) as u64, 2]);
            assert_eq!(items(sort(&types, ints, int, std::ptr::null())), [(-1i64) as u64, 2, 3]);
        }
    }

    extern "C" fn first_field(_closure: *const Word, x: Word) -> Word {
        // SAFETY: called on pairs.
        unsafe { crate::value::field(x, 0) }
    }

    #[test]
    fn sort_by_calls_the_key_once_per_item_and_is_stable() {
        let mut t = Table::default();
        let int = t.int();
        let types = t.types();
        let closure = new_object(&[first_field as *const () as usize as u64]);
        let p = |n: u64, tag: u64| new_object(&[n, tag]) as u64;
        unsafe {
            let xs = new_list(&[p(2, 0), p(1, 1), p(2, 2), p(1, 3)]);
            let sorted = items(sort_by(&types, xs, closure, int, std::ptr::null()));
            let tags: Vec<u64> = sorted.iter().map(|w| crate::value::field(*w, 1)).collect();
            assert_eq!(tags, [1, 3, 0, 2]);
        }
    }
}
