//! Literal syntax: how `debug` prints a value and interpolation inserts a
//! non-`String` (`dl_format_into`).
//!
//! `3`, `7.0`, `true`, `"a\n"`, `()`, `[1, 2]`, `(1, "a")`,
//! `Point { x: 1, y: 2 }`, `Point {}`, `Some(3)`, `None`,
//! `Dict.from_list([("a", 1)])`, `Dict.empty()`, `<fn>`.

use std::io::Write;

use crate::dict;
use crate::error::check_stack;
use crate::types::{self, Ty, TypeIdx, Types};
use crate::value::{List, Str, Word, field, list_items, new_str, str_text};

/// Decimal digits of an Int.
pub fn write_int(out: &mut Vec<u8>, n: i64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut m = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[i..]);
}

/// The shortest form that reads back to `x`, always with a `.` or an
/// exponent: `7.0`, `3.5`, `1e21`, `1e-7`, `NaN`, `inf`, `-inf`. (Rust's
/// `Debug` for `f64` is exactly this.)
pub fn write_float(out: &mut Vec<u8>, x: f64) {
    let _ = write!(out, "{x:?}");
}

/// A string literal: quoted, with `\n \t \" \\ \{` and `\u{…}` (lower-case
/// hex) for the other control characters.
pub fn write_string_literal(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '\n' => out.extend_from_slice(b"\\n"),
            '\t' => out.extend_from_slice(b"\\t"),
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '{' => out.extend_from_slice(b"\\{"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

fn write_sequence(out: &mut Vec<u8>, items: impl Iterator<Item = (Word, TypeIdx)>, types: &Types, loc: *const Str) {
    for (i, (v, t)) in items.enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        // SAFETY: the items are valid values of their types.
        unsafe { format_into(types, out, v, t, loc) };
    }
}

/// Appends `v` (of type `ty`) in literal syntax. `loc` is where a stack
/// overflow is reported (may be null).
///
/// # Safety
/// `v` is a valid value of type `ty`.
pub unsafe fn format_into(types: &Types, out: &mut Vec<u8>, v: Word, ty: TypeIdx, loc: *const Str) {
    check_stack(loc);
    // SAFETY (whole body): `v` is a valid value of type `ty`.
    unsafe {
        match types.get(ty) {
            Ty::Int => write_int(out, v as i64),
            Ty::Float => write_float(out, f64::from_bits(v)),
            Ty::Bool => out.extend_from_slice(if v != 0 { b"true" } else { b"false" }),
            Ty::Str => write_string_literal(out, str_text(v as *const Str)),
            Ty::Func => out.extend_from_slice(b"<fn>"),
            Ty::List(elem) => {
                out.push(b'[');
                let items = list_items(v as *const List);
                write_sequence(out, items.iter().map(|x| (*x, *elem)), types, loc);
                out.push(b']');
            }
            Ty::Dict(value) => {
                let entries = dict::sorted_entries(v);
                if entries.is_empty() {
                    out.extend_from_slice(b"Dict.empty()");
                    return;
                }
                out.extend_from_slice(b"Dict.from_list([");
                for (i, e) in entries.iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(b", ");
                    }
                    out.push(b'(');
                    write_string_literal(out, str_text(e.key));
                    out.extend_from_slice(b", ");
                    format_into(types, out, e.value, *value, loc);
                    out.push(b')');
                }
                out.extend_from_slice(b"])");
            }
            Ty::Tuple(items) => {
                out.push(b'(');
                write_sequence(out, items.iter().enumerate().map(|(i, t)| (field(v, i), *t)), types, loc);
                out.push(b')');
            }
            Ty::Record { name, fields, .. } => {
                out.extend_from_slice(name.as_bytes());
                if fields.is_empty() {
                    out.extend_from_slice(b" {}");
                    return;
                }
                out.extend_from_slice(b" { ");
                for (i, (fname, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(b", ");
                    }
                    out.extend_from_slice(fname.as_bytes());
                    out.extend_from_slice(b": ");
                    format_into(types, out, field(v, i), *t, loc);
                }
                out.extend_from_slice(b" }");
            }
            Ty::Enum { variants, .. } => {
                let Some(variant) = variants.get(field(v, 0) as usize) else {
                    crate::error::fail_no_loc("internal error: invalid enum tag");
                };
                out.extend_from_slice(variant.name.as_bytes());
                if !variant.fields.is_empty() {
                    out.push(b'(');
                    write_sequence(
                        out,
                        variant.fields.iter().enumerate().map(|(i, t)| (field(v, i + 1), *t)),
                        types,
                        loc,
                    );
                    out.push(b')');
                }
            }
        }
    }
}

/// `dl_format_into(out, v, ty) -> Str*`: `out` followed by `v` in literal
/// syntax (what interpolation inserts for non-`String`s, appending to the
/// text so far).
///
/// # Safety
/// `out` is a valid `Str`; `v` is a valid value of type `ty`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_format_into(out: *const Str, v: Word, ty: i64) -> *mut Str {
    crate::error::guard(|| {
        let mut text = Vec::new();
        // SAFETY: the caller's contract.
        unsafe {
            format_into(types::installed(), &mut text, v, types::index(ty), std::ptr::null());
            if (*out).len == 0 { new_str(&text) } else { crate::string::append(out, &text) }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::build::Table;
    use crate::value::testing::s;
    use crate::value::{new_list, new_object, none, some};

    fn float(x: f64) -> String {
        let mut out = Vec::new();
        write_float(&mut out, x);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_always_show_they_are_floats() {
        assert_eq!(float(7.0), "7.0");
        assert_eq!(float(3.5), "3.5");
        assert_eq!(float(1e21), "1e21");
        assert_eq!(float(1e15), "1000000000000000.0");
        assert_eq!(float(1e16), "1e16");
        assert_eq!(float(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(float(1e-7), "1e-7");
        assert_eq!(float(-0.0), "-0.0");
        assert_eq!(float(f64::NAN), "NaN");
        assert_eq!(float(f64::INFINITY), "inf");
        assert_eq!(float(f64::NEG_INFINITY), "-inf");
        assert_eq!(float(5e-324), "5e-324");
        for x in [0.1, 1.0 / 3.0, 123456.789, 1e300, 2.5e-10] {
            assert_eq!(float(x).parse::<f64>().unwrap(), x);
        }
    }

    #[test]
    fn values_in_literal_syntax() {
        let mut t = Table::default();
        let int = t.int();
        let float_ty = t.float();
        let string = t.string();
        let boolean = t.bool();
        let unit = t.tuple(&[]);
        let pair = t.tuple(&[int, string]);
        let list = t.list(int);
        let point = t.record("Point", &[("x", int), ("y", int)]);
        let empty_rec = t.record("Empty", &[]);
        let opt = t.option(int);
        let shape = t.enumeration("Shape", &[("Circle", &[float_ty]), ("Rect", &[float_ty, float_ty]), ("Dot", &[])]);
        let dict_ty = t.dict(int);
        let f = t.func();
        let types = t.types();
        let show = |v: u64, ty: u32| {
            let mut out = Vec::new();
            unsafe { format_into(&types, &mut out, v, ty, std::ptr::null()) };
            String::from_utf8(out).unwrap()
        };
        assert_eq!(show((-3i64) as u64, int), "-3");
        assert_eq!(show(1, boolean), "true");
        assert_eq!(show(s("a\n\t\"\\{}\r\u{7f}é") as u64, string), r#""a\n\t\"\\\{}\u{d}\u{7f}é""#);
        assert_eq!(show(0, unit), "()");
        assert_eq!(show(new_object(&[1, s("a") as u64]) as u64, pair), r#"(1, "a")"#);
        assert_eq!(show(new_list(&[1, 2]) as u64, list), "[1, 2]");
        assert_eq!(show(new_list(&[]) as u64, list), "[]");
        assert_eq!(show(new_object(&[1, 2]) as u64, point), "Point { x: 1, y: 2 }");
        assert_eq!(show(new_object(&[]) as u64, empty_rec), "Empty {}");
        assert_eq!(show(some(3) as u64, opt), "Some(3)");
        assert_eq!(show(none() as u64, opt), "None");
        assert_eq!(show(new_object(&[1, 1.0f64.to_bits(), 2.5f64.to_bits()]) as u64, shape), "Rect(1.0, 2.5)");
        assert_eq!(show(new_object(&[2]) as u64, shape), "Dot");
        let d = crate::dict::empty();
        assert_eq!(show(d as u64, dict_ty), "Dict.empty()");
        let d = unsafe { crate::dict::insert(crate::dict::insert(d, s("b"), 2), s("a"), 1) };
        assert_eq!(show(d as u64, dict_ty), r#"Dict.from_list([("a", 1), ("b", 2)])"#);
        assert_eq!(show(new_object(&[0]) as u64, f), "<fn>");
    }
}
