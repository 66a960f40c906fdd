//! Structural equality and ordering (`dl_eq`, `dl_cmp`, `dl_str_eq`,
//! `dl_str_cmp`), as spec/types.md defines them.
//!
//! Ordering: numbers and strings (by Unicode scalar values, which is UTF-8
//! byte order) naturally, `false < true`, lists and tuples
//! lexicographically, records field by field, enums by constructor order
//! then payload, dictionaries as their sorted entry lists. Equality of
//! `Float`s is IEEE (`NaN != NaN`, `0.0 == -0.0`); for *ordering* `NaN` is
//! after every number and equal to itself, so that sorting is a total order.
//! Meeting a function value is a runtime error ("cannot compare functions").
//!
//! The last field of a tuple, record or variant is compared in a loop rather
//! than by recursion, so long chains (`Cons(1, Cons(2, …))`) need no stack.

use std::cmp::Ordering;

use crate::dict;
use crate::error::{check_stack, fail};
use crate::types::{Ty, TypeIdx, Types};
use crate::value::{List, Str, Word, field, list_items, str_bytes};

const FUNCTIONS: &str = "cannot compare functions";

/// Ordering of Floats used by `cmp`: NaN last (and equal to itself).
pub fn cmp_f64(a: f64, b: f64) -> Ordering {
    match a.partial_cmp(&b) {
        Some(o) => o,
        None => a.is_nan().cmp(&b.is_nan()),
    }
}

/// The fields of an object's part that a step compares, and the type of
/// each: for tuples and records all of them; for enums the payload.
enum Fields<'t> {
    Tuple(&'t [TypeIdx]),
    Record(&'t [(Box<str>, TypeIdx)]),
}

impl Fields<'_> {
    fn len(&self) -> usize {
        match self {
            Fields::Tuple(f) => f.len(),
            Fields::Record(f) => f.len(),
        }
    }
    fn ty(&self, i: usize) -> TypeIdx {
        match self {
            Fields::Tuple(f) => f[i],
            Fields::Record(f) => f[i].1,
        }
    }
}

/// Structural equality of two values of type `ty`.
///
/// # Safety
/// `a` and `b` are valid values of type `ty`.
pub unsafe fn eq(types: &Types, mut a: Word, mut b: Word, mut ty: TypeIdx, loc: *const Str) -> bool {
    check_stack(loc);
    // SAFETY (whole body): values are valid for their types.
    unsafe {
        loop {
            if a == b && types.is_plain(ty) {
                return true;
            }
            // The fields still to compare (at `offset` in both objects).
            let (fields, offset) = match types.get(ty) {
                Ty::Int | Ty::Bool => return a == b,
                Ty::Float => return f64::from_bits(a) == f64::from_bits(b),
                Ty::Str => return str_bytes(a as *const Str) == str_bytes(b as *const Str),
                Ty::Func => fail(FUNCTIONS, loc),
                Ty::List(elem) => {
                    let (xs, ys) = (list_items(a as *const List), list_items(b as *const List));
                    return xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| eq(types, *x, *y, *elem, loc));
                }
                Ty::Dict(value) => {
                    let (xs, ys) = (dict::sorted_entries(a), dict::sorted_entries(b));
                    return xs.len() == ys.len()
                        && xs.iter().zip(ys).all(|(x, y)| {
                            str_bytes(x.key) == str_bytes(y.key) && eq(types, x.value, y.value, *value, loc)
                        });
                }
                Ty::Tuple(items) => (Fields::Tuple(items), 0),
                Ty::Record { fields, .. } => (Fields::Record(fields), 0),
                Ty::Enum { variants, .. } => {
                    let tag = field(a, 0);
                    if tag != field(b, 0) {
                        return false;
                    }
                    match variants.get(tag as usize) {
                        Some(v) => (Fields::Tuple(&v.fields), 1),
                        None => crate::error::fail_no_loc("internal error: invalid enum tag"),
                    }
                }
            };
            let n = fields.len();
            if n == 0 {
                return true;
            }
            for i in 0..n - 1 {
                if !eq(types, field(a, offset + i), field(b, offset + i), fields.ty(i), loc) {
                    return false;
                }
            }
            (a, b, ty) = (field(a, offset + n - 1), field(b, offset + n - 1), fields.ty(n - 1));
        }
    }
}

/// Structural ordering of two values of type `ty`.
///
/// # Safety
/// `a` and `b` are valid values of type `ty`.
pub unsafe fn cmp(types: &Types, mut a: Word, mut b: Word, mut ty: TypeIdx, loc: *const Str) -> Ordering {
    check_stack(loc);
    // SAFETY (whole body): values are valid for their types.
    unsafe {
        loop {
            if a == b && types.is_plain(ty) {
                return Ordering::Equal;
            }
            let (fields, offset) = match types.get(ty) {
                Ty::Int => return (a as i64).cmp(&(b as i64)),
                Ty::Bool => return a.cmp(&b),
                Ty::Float => return cmp_f64(f64::from_bits(a), f64::from_bits(b)),
                Ty::Str => return str_bytes(a as *const Str).cmp(str_bytes(b as *const Str)),
                Ty::Func => fail(FUNCTIONS, loc),
                Ty::List(elem) => {
                    let (xs, ys) = (list_items(a as *const List), list_items(b as *const List));
                    for (x, y) in xs.iter().zip(ys) {
                        match cmp(types, *x, *y, *elem, loc) {
                            Ordering::Equal => {}
                            o => return o,
                        }
                    }
                    return xs.len().cmp(&ys.len());
                }
                Ty::Dict(value) => {
                    let (xs, ys) = (dict::sorted_entries(a), dict::sorted_entries(b));
                    for (x, y) in xs.iter().zip(ys) {
                        match str_bytes(x.key).cmp(str_bytes(y.key)) {
                            Ordering::Equal => {}
                            o => return o,
                        }
                        match cmp(types, x.value, y.value, *value, loc) {
                            Ordering::Equal => {}
                            o => return o,
                        }
                    }
                    return xs.len().cmp(&ys.len());
                }
                Ty::Tuple(items) => (Fields::Tuple(items), 0),
                Ty::Record { fields, .. } => (Fields::Record(fields), 0),
                Ty::Enum { variants, .. } => {
                    let (ta, tb) = (field(a, 0), field(b, 0));
                    if ta != tb {
                        return ta.cmp(&tb);
                    }
                    match variants.get(ta as usize) {
                        Some(v) => (Fields::Tuple(&v.fields), 1),
                        None => crate::error::fail_no_loc("internal error: invalid enum tag"),
                    }
                }
            };
            let n = fields.len();
            if n == 0 {
                return Ordering::Equal;
            }
            for i in 0..n - 1 {
                match cmp(types, field(a, offset + i), field(b, offset + i), fields.ty(i), loc) {
                    Ordering::Equal => {}
                    o => return o,
                }
            }
            (a, b, ty) = (field(a, offset + n - 1), field(b, offset + n - 1), fields.ty(n - 1));
        }
    }
}

fn ordering_word(o: Ordering) -> i64 {
    match o {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

/// `dl_eq(a, b, ty, loc) -> Bool`.
///
/// # Safety
/// `a` and `b` are valid values of type `ty`; `loc` a valid `Str`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_eq(a: Word, b: Word, ty: i64, loc: *const Str) -> i64 {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        unsafe { eq(crate::types::installed(), a, b, crate::types::index(ty), loc) as i64 }
    })
}

/// `dl_cmp(a, b, ty, loc) -> i64`: −1, 0 or 1.
///
/// # Safety
/// As `dl_eq`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_cmp(a: Word, b: Word, ty: i64, loc: *const Str) -> i64 {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        ordering_word(unsafe { cmp(crate::types::installed(), a, b, crate::types::index(ty), loc) })
    })
}

/// `dl_str_eq(a, b) -> Bool`.
///
/// # Safety
/// `a` and `b` are valid `Str`s.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_str_eq(a: *const Str, b: *const Str) -> i64 {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        unsafe { (a == b || str_bytes(a) == str_bytes(b)) as i64 }
    })
}

/// `dl_str_cmp(a, b) -> i64`: −1, 0 or 1, by Unicode scalar values.
///
/// # Safety
/// `a` and `b` are valid `Str`s.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_str_cmp(a: *const Str, b: *const Str) -> i64 {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        ordering_word(unsafe { str_bytes(a).cmp(str_bytes(b)) })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::build::Table;
    use crate::value::testing::s;
    use crate::value::{new_list, new_object, none, some};

    #[test]
    fn structural_equality_and_order() {
        let mut t = Table::default();
        let int = t.int();
        let string = t.string();
        let float = t.float();
        let pair = t.tuple(&[int, string]);
        let list = t.list(pair);
        let opt = t.option(int);
        let fl = t.list(float);
        let types = t.types();
        let p = |n: i64, x: &str| new_object(&[n as u64, s(x) as u64]) as u64;
        let l1 = new_list(&[p(1, "a"), p(2, "b")]) as u64;
        let l2 = new_list(&[p(1, "a"), p(2, "b")]) as u64;
        let l3 = new_list(&[p(1, "a"), p(2, "c")]) as u64;
        let l4 = new_list(&[p(1, "a")]) as u64;
        let none = std::ptr::null();
        unsafe {
            assert!(eq(&types, l1, l2, list, none));
            assert!(!eq(&types, l1, l3, list, none));
            assert_eq!(cmp(&types, l1, l3, list, none), Ordering::Less);
            assert_eq!(cmp(&types, l4, l1, list, none), Ordering::Less);
            assert_eq!(cmp(&types, (-5i64) as u64, 3, int, none), Ordering::Less);
            // Some(_) < None
            assert_eq!(cmp(&types, some(100) as u64, none_value(), opt, none), Ordering::Less);
            assert_eq!(cmp(&types, some(1) as u64, some(2) as u64, opt, none), Ordering::Less);
            let nan = new_list(&[f64::NAN.to_bits()]) as u64;
            assert!(!eq(&types, nan, nan, fl, none));
            assert_eq!(cmp(&types, nan, nan, fl, none), Ordering::Equal);
            let one = new_list(&[1.0f64.to_bits()]) as u64;
            assert_eq!(cmp(&types, one, nan, fl, none), Ordering::Less);
            let s1 = s("é") as u64;
            let s2 = s("z") as u64;
            assert_eq!(cmp(&types, s1, s2, string, none), Ordering::Greater);
        }
    }

    fn none_value() -> u64 {
        none() as u64
    }

    #[test]
    fn long_chains_compare_without_recursion() {
        let mut t = Table::default();
        let int = t.int();
        let chain = t.reserve();
        t.set(chain, Table::enum_entry("Chain", &[("Nil", &[]), ("Cons", &[int, chain])]));
        let types = t.types();
        let build = |last: u64| {
            let mut v = new_object(&[0]) as u64;
            for i in 0..1_000_000u64 {
                v = new_object(&[1, if i == 0 { last } else { i }, v]) as u64;
            }
            v
        };
        let (a, b, c) = (build(7), build(7), build(8));
        unsafe {
            assert!(eq(&types, a, b, chain, std::ptr::null()));
            assert_eq!(cmp(&types, a, c, chain, std::ptr::null()), Ordering::Less);
        }
    }
}
