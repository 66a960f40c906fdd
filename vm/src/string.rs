//! Strings: `dl_str_concat` (with in-place append) and the `String`
//! externs of `stdlib/string.dl`.
//!
//! `a ++ b` appends `b`'s bytes in place when `a` ends exactly where its
//! buffer's used part ends and the buffer has room: no other string can see
//! bytes beyond that point, so nothing observable changes, and `s = s ++ x`
//! in a loop is amortised linear. Otherwise the result gets a new buffer
//! (twice the size needed when `a` already had a buffer, i.e. when
//! appending looks like a habit; exactly the size needed otherwise).
//!
//! Results that are parts of their argument (`trim`, `slice`, `split`,
//! `chars`) share its bytes.

use crate::value::{List, Str, StrBuf, Word, new_list, new_str, none, some, str_bytes, str_header, str_text, substr};

/// `a ++ b`.
///
/// # Safety
/// `a` and `b` are valid `Str`s.
pub unsafe fn concat(a: *const Str, b: *const Str) -> *mut Str {
    // SAFETY: the caller's contract.
    unsafe {
        if (*b).len == 0 {
            return a as *mut Str;
        }
        if (*a).len == 0 {
            return b as *mut Str;
        }
        append(a, str_bytes(b))
    }
}

/// `a` followed by `bytes`, in place when it can be (see above).
///
/// # Safety
/// `a` is a valid `Str`; `bytes` are not part of `a`'s buffer beyond `a`.
pub unsafe fn append(a: *const Str, bytes: &[u8]) -> *mut Str {
    // SAFETY (whole body): the caller's contract; buffers are as `StrBuf`
    // describes them.
    unsafe {
        let (alen, blen) = ((*a).len as usize, bytes.len());
        let buf = (*a).buf;
        if !buf.is_null() {
            let data = StrBuf::data(buf);
            let used = (*buf).used as usize;
            if std::ptr::eq((*a).ptr.wrapping_add(alen), data.add(used)) && blen <= (*buf).cap as usize - used {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), data.add(used), blen);
                (*buf).used = (used + blen) as u64;
                return str_header((*a).ptr, alen + blen, buf);
            }
        }
        let total = match alen.checked_add(blen) {
            Some(n) => n,
            None => crate::error::fail_no_loc("out of memory"),
        };
        let cap = if buf.is_null() { total.div_ceil(8) * 8 } else { total.saturating_mul(2).max(32) };
        let new = StrBuf::new(cap);
        let data = StrBuf::data(new);
        std::ptr::copy_nonoverlapping((*a).ptr, data, alen);
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), data.add(alen), blen);
        (*new).used = total as u64;
        str_header(data, total, new)
    }
}

/// `dl_str_concat(a, b) -> Str*`: `a ++ b`.
///
/// # Safety
/// `a` and `b` are valid `Str`s.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_str_concat(a: *const Str, b: *const Str) -> *mut Str {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        unsafe { concat(a, b) }
    })
}

/// The byte offset of character `n` of `s` (clamped to the end).
fn char_offset(s: &str, n: i64) -> usize {
    if n <= 0 {
        return 0;
    }
    match s.char_indices().nth(n as usize) {
        Some((i, _)) => i,
        None => s.len(),
    }
}

/// A list of parts of `s` (byte ranges), sharing its bytes.
///
/// # Safety
/// `s` is a valid `Str`; the ranges lie on character boundaries.
unsafe fn parts(s: *const Str, ranges: impl Iterator<Item = (usize, usize)>) -> *mut List {
    // SAFETY: the caller's contract.
    let words: Vec<Word> = ranges.map(|(a, b)| unsafe { substr(s, a, b) } as Word).collect();
    new_list(&words)
}

// Each extern's last parameter is the call's location, unused when the
// function cannot fail.

/// `String.length(s) -> Int`: in Unicode scalar values.
///
/// # Safety
/// Valid `Str`s (here and in every function below).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_String_length(s: *const Str, _loc: *const Str) -> i64 {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        let bytes = unsafe { str_bytes(s) };
        // Count the bytes that start a character.
        bytes.iter().filter(|&&b| (b as i8) >= -0x40).count() as i64
    })
}

/// `String.upper(s) -> String` (Unicode case mapping).
///
/// # Safety
/// See `dl_String_length`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_String_upper(s: *const Str, _loc: *const Str) -> *mut Str {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        let text = unsafe { str_text(s) };
        if !text.bytes().any(|b| b.is_ascii_lowercase() || b >= 0x80) {
            return s as *mut Str;
        }
        new_str(text.to_uppercase().as_bytes())
    })
}

/// `String.lower(s) -> String` (Unicode case mapping).
///
/// # Safety
/// See `dl_String_length`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_String_lower(s: *const Str, _loc: *const Str) -> *mut Str {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        let text = unsafe { str_text(s) };
        if !text.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) {
            return s as *mut Str;
        }
        new_str(text.to_lowercase().as_bytes())
    })
}

/// `String.trim(s) -> String`: without leading and trailing Unicode white
/// space.
///
/// # Safety
/// See `dl_String_length`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_String_trim(s: *const Str, _loc: *const Str) -> *mut Str {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        unsafe {
            let text = str_text(s);
            let start = text.len() - text.trim_start().len();
            let end = text.trim_end().len().max(start);
            substr(s, start, end)
        }
    })
}

/// `String.split(s, separator) -> List<String>`: the parts between the
/// occurrences of `separator` (`split("a,,b", ",")` is `["a", "", "b"]`,
/// `split("", ",")` is `[""]`). With an empty separator: the characters,
/// as `chars` (`split("", "")` is `[]`), as JavaScript does.
///
/// # Safety
/// See `dl_String_length`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_String_split(s: *const Str, separator: *const Str, loc: *const Str) -> *mut List {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        unsafe {
            let (text, sep) = (str_text(s), str_text(separator));
            if sep.is_empty() {
                return dl_String_chars(s, loc);
            }
            let mut ranges = Vec::new();
            let mut start = 0;
            for (i, _) in text.match_indices(sep) {
                ranges.push((start, i));
                start = i + sep.len();
            }
            ranges.push((start, text.len()));
            parts(s, ranges.into_iter())
        }
    })
}

/// `String.contains(s, part) -> Bool` (true for an empty `part`).
///
/// # Safety
/// See `dl_String_length`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_String_contains(s: *const Str, part: *const Str, _loc: *const Str) -> i64 {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        unsafe { str_text(s).contains(str_text(part)) as i64 }
    })
}

/// `String.starts_with(s, prefix) -> Bool`.
///
/// # Safety
/// See `dl_String_length`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_String_starts_with(s: *const Str, prefix: *const Str, _loc: *const Str) -> i64 {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        unsafe { str_bytes(s).starts_with(str_bytes(prefix)) as i64 }
    })
}

/// `String.ends_with(s, suffix) -> Bool`.
///
/// # Safety
/// See `dl_String_length`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_String_ends_with(s: *const Str, suffix: *const Str, _loc: *const Str) -> i64 {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        unsafe { str_bytes(s).ends_with(str_bytes(suffix)) as i64 }
    })
}

/// `String.replace(s, from, to) -> String`: every occurrence of `from`,
/// left to right. An empty `from` matches before every character and at the
/// end (`replace("ab", "", "-")` is `"-a-b-"`), as JavaScript's `replaceAll`.
///
/// # Safety
/// See `dl_String_length`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_String_replace(
    s: *const Str,
    from: *const Str,
    to: *const Str,
    _loc: *const Str,
) -> *mut Str {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        unsafe {
            let (text, from_text) = (str_text(s), str_text(from));
            if !from_text.is_empty() && !text.contains(from_text) {
                return s as *mut Str;
            }
            new_str(text.replace(from_text, str_text(to)).as_bytes())
        }
    })
}

/// `String.slice(s, start, end) -> String`: characters `start` up to
/// `end - 1`, clamped to the string (empty when `end <= start`).
///
/// # Safety
/// See `dl_String_length`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_String_slice(s: *const Str, start: i64, end: i64, _loc: *const Str) -> *mut Str {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        unsafe {
            let text = str_text(s);
            let a = char_offset(text, start);
            let b = if end <= start { a } else { a + char_offset(&text[a..], end - start.max(0)) };
            substr(s, a, b)
        }
    })
}

/// `String.to_int(s) -> Option<Int>`: an optional sign and decimal digits,
/// nothing else (no spaces, no `_`); `None` if it does not fit an Int.
///
/// # Safety
/// See `dl_String_length`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_String_to_int(s: *const Str, _loc: *const Str) -> *mut Word {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        match unsafe { str_text(s) }.parse::<i64>() {
            Ok(n) => some(n as Word),
            Err(_) => none(),
        }
    })
}

/// `String.to_float(s) -> Option<Float>`: decimal notation with an
/// optional sign, fraction and exponent (`1`, `-2.5`, `.5`, `1e9`), or
/// `inf`, `infinity`, `NaN` in any case (so `Float.to_string` reads back);
/// no spaces.
///
/// # Safety
/// See `dl_String_length`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_String_to_float(s: *const Str, _loc: *const Str) -> *mut Word {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        match unsafe { str_text(s) }.parse::<f64>() {
            Ok(x) => some(x.to_bits()),
            Err(_) => none(),
        }
    })
}

/// `String.chars(s) -> List<String>`: each Unicode scalar value as a
/// one-character string (sharing `s`'s bytes).
///
/// # Safety
/// See `dl_String_length`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_String_chars(s: *const Str, _loc: *const Str) -> *mut List {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        unsafe {
            let text = str_text(s);
            parts(s, text.char_indices().map(|(i, c)| (i, i + c.len_utf8())))
        }
    })
}

/// `String.code_points(s) -> List<Int>`.
///
/// # Safety
/// See `dl_String_length`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_String_code_points(s: *const Str, _loc: *const Str) -> *mut List {
    // SAFETY: the caller's contract.
    crate::error::guard(|| new_list(&unsafe { str_text(s) }.chars().map(|c| u64::from(c as u32)).collect::<Vec<Word>>()))
}

/// `String.from_code_points(points) -> String`.
///
/// # Safety
/// A valid `List<Int>`; `loc` as compiled code passes it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_String_from_code_points(points: *const List, loc: *const Str) -> *mut Str {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        let points = unsafe { crate::value::list_items(points) };
        let mut text = String::with_capacity(points.len());
        for &point in points {
            let n = point as i64;
            match u32::try_from(n).ok().and_then(char::from_u32) {
                Some(c) => text.push(c),
                None => crate::error::fail(&format!("String.from_code_points: {n} is not a Unicode scalar value"), loc),
            }
        }
        new_str(text.as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::testing::{items, opt, s, text};

    fn texts(l: *const List) -> Vec<String> {
        items(l).into_iter().map(|w| text(w as *const Str)).collect()
    }

    #[test]
    fn appends_in_place_only_at_the_end_of_the_buffer() {
        unsafe {
            let base = concat(s("ab"), s("cd")); // a fresh buffer
            let x = concat(base, s("X")); // may append in place
            let y = concat(base, s("Y")); // must not overwrite x's "X"
            assert_eq!(text(x), "abcdX");
            assert_eq!(text(y), "abcdY");
            assert_eq!(text(base), "abcd");
            let xy = concat(x, s("Z"));
            assert_eq!(text(xy), "abcdXZ");
            assert_eq!(text(y), "abcdY");
            // A slice ending inside the used part must copy too.
            let part = substr(xy, 0, 3);
            let p2 = concat(part, s("!"));
            assert_eq!(text(p2), "abc!");
            assert_eq!(text(xy), "abcdXZ");
        }
    }

    #[test]
    fn repeated_append_is_linear_and_shares_the_buffer() {
        unsafe {
            let mut acc = s("");
            let piece = s("0123456789");
            let mut buffers = std::collections::HashSet::new();
            for _ in 0..10_000 {
                acc = concat(acc, piece);
                buffers.insert((*acc).buf as usize);
            }
            assert_eq!((*acc).len, 100_000);
            assert!(buffers.len() < 20, "{} buffers", buffers.len());
            assert!(text(acc).starts_with("01234567890123"));
        }
    }

    #[test]
    fn string_functions() {
        unsafe {
            let n = std::ptr::null();
            assert_eq!(dl_String_length(s("héllo"), n), 5);
            assert_eq!(text(dl_String_upper(s("héllo"), n)), "HÉLLO");
            assert_eq!(text(dl_String_lower(s("ABC"), n)), "abc");
            assert_eq!(text(dl_String_trim(s("  a b \n"), n)), "a b");
            assert_eq!(text(dl_String_trim(s("   "), n)), "");
            assert_eq!(texts(dl_String_split(s("a,,b"), s(","), n)), ["a", "", "b"]);
            assert_eq!(texts(dl_String_split(s(""), s(","), n)), [""]);
            assert_eq!(texts(dl_String_split(s("héy"), s(""), n)), ["h", "é", "y"]);
            assert_eq!(texts(dl_String_split(s("a--b--"), s("--"), n)), ["a", "b", ""]);
            assert_eq!(dl_String_contains(s("hello"), s("ll"), n), 1);
            assert_eq!(dl_String_contains(s("hello"), s(""), n), 1);
            assert_eq!(dl_String_starts_with(s("hello"), s("he"), n), 1);
            assert_eq!(dl_String_ends_with(s("hello"), s("lo"), n), 1);
            assert_eq!(dl_String_ends_with(s("hello"), s("he"), n), 0);
            assert_eq!(text(dl_String_replace(s("a.b.c"), s("."), s("::"), n)), "a::b::c");
            assert_eq!(text(dl_String_replace(s("ab"), s(""), s("-"), n)), "-a-b-");
            assert_eq!(text(dl_String_slice(s("héllo"), 1, 3, n)), "él");
            assert_eq!(text(dl_String_slice(s("héllo"), -5, 100, n)), "héllo");
            assert_eq!(text(dl_String_slice(s("héllo"), 3, 2, n)), "");
            assert_eq!(text(dl_String_slice(s("héllo"), 4, 9, n)), "o");
            assert_eq!(text(dl_String_slice(s("héllo"), 7, 9, n)), "");
            assert_eq!(opt(dl_String_to_int(s("-42"), n)), Some((-42i64) as u64));
            assert_eq!(opt(dl_String_to_int(s("4 2"), n)), None);
            assert_eq!(opt(dl_String_to_int(s("99999999999999999999"), n)), None);
            assert_eq!(opt(dl_String_to_float(s("2.5"), n)), Some(2.5f64.to_bits()));
            assert_eq!(opt(dl_String_to_float(s("x"), n)), None);
            assert_eq!(texts(dl_String_chars(s("aé😀"), n)), ["a", "é", "😀"]);
            assert!(texts(dl_String_chars(s(""), n)).is_empty());
        }
    }
}
