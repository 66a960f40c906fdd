//! JSON: `Json.encode` and `Json.decode`, directed by the type table, with a
//! hand-written parser (no serde: it would weigh on every executable).
//!
//! The format (brief §5), compact: records are objects with their fields in
//! declaration order, lists and tuples arrays, `Dict`s objects (keys
//! sorted), `None` is `null` and `Some(x)` is `x`, other enum variants
//! `"Name"` or `{"Name": [payload…]}`, `Unit` is `null`. A non-finite
//! `Float` (NaN, ±inf) has no JSON form and is encoded as `null`, as
//! JavaScript does.
//!
//! Decoding is strict and names the path of the first problem:
//! `$.tags[2]: expected String, found number`. A record must have every
//! field except those of an `Option` type (missing or `null` → `None`), and
//! no unknown or repeated field; an `Int` must be written as an integer
//! that fits; enums only in the two forms above. Syntax errors give the
//! line and column: `invalid JSON at line 1, column 7: expected ',' or ']'`.
//! Strings without escapes share the input text's bytes.

use crate::dict;
use crate::error::{check_stack, fail};
use crate::format::{write_float, write_int};
use crate::types::{self, Ty, TypeIdx, Types, Variant};
use crate::value::{
    List, Str, Word, err, field, list_items, new_list, new_object, new_str, none, ok, some, str_bytes, str_header,
    str_text,
};

/// Deepest nesting `decode` accepts.
const MAX_DEPTH: usize = 512;

// ---- encoding ----

pub(crate) fn write_json_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..0x20 => b"",
            _ => continue,
        };
        out.extend_from_slice(&s[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
    out.push(b'"');
}

/// Appends `v` (of type `ty`) as compact JSON; encoding a function is a
/// runtime error at `loc`.
///
/// # Safety
/// `v` is a valid value of type `ty`.
pub unsafe fn encode_into(types: &Types, out: &mut Vec<u8>, v: Word, ty: TypeIdx, loc: *const Str) {
    check_stack(loc);
    // SAFETY (whole body): `v` is a valid value of type `ty`.
    unsafe {
        match types.get(ty) {
            Ty::Int => write_int(out, v as i64),
            Ty::Float => {
                let x = f64::from_bits(v);
                if x.is_finite() { write_float(out, x) } else { out.extend_from_slice(b"null") }
            }
            Ty::Bool => out.extend_from_slice(if v != 0 { b"true" } else { b"false" }),
            Ty::Str => write_json_string(out, str_bytes(v as *const Str)),
            Ty::Func => fail("cannot encode a function as JSON", loc),
            Ty::List(elem) => {
                out.push(b'[');
                for (i, x) in list_items(v as *const List).iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    encode_into(types, out, *x, *elem, loc);
                }
                out.push(b']');
            }
            Ty::Dict(value) => {
                out.push(b'{');
                for (i, e) in dict::sorted_entries(v).iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_json_string(out, str_bytes(e.key));
                    out.push(b':');
                    encode_into(types, out, e.value, *value, loc);
                }
                out.push(b'}');
            }
            Ty::Tuple(items) if items.is_empty() => out.extend_from_slice(b"null"),
            Ty::Tuple(items) => {
                out.push(b'[');
                for (i, t) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    encode_into(types, out, field(v, i), *t, loc);
                }
                out.push(b']');
            }
            Ty::Record { fields, keys, .. } => {
                out.push(b'{');
                for (i, ((_, t), key)) in fields.iter().zip(keys.iter()).enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_json_string(out, key.as_bytes());
                    out.push(b':');
                    encode_into(types, out, field(v, i), *t, loc);
                }
                out.push(b'}');
            }
            Ty::Enum { variants, option, .. } => {
                let tag = field(v, 0);
                let Some(variant) = variants.get(tag as usize) else {
                    crate::error::fail_no_loc("internal error: invalid enum tag");
                };
                if *option {
                    if tag == crate::value::SOME {
                        encode_into(types, out, field(v, 1), variant.fields[0], loc);
                    } else {
                        out.extend_from_slice(b"null");
                    }
                } else if variant.fields.is_empty() {
                    write_json_string(out, variant.name.as_bytes());
                } else {
                    out.push(b'{');
                    write_json_string(out, variant.name.as_bytes());
                    out.extend_from_slice(b":[");
                    for (i, t) in variant.fields.iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        encode_into(types, out, field(v, i + 1), *t, loc);
                    }
                    out.extend_from_slice(b"]}");
                }
            }
        }
    }
}

// ---- decoding ----

/// A step of the path to the value being decoded.
enum Seg {
    Index(usize),
    /// A field name, dict key or variant name (bytes that outlive the
    /// decoder: the type table's or the region's).
    Key(*const u8, usize),
}

struct Decoder<'a> {
    types: &'a Types,
    text: &'a [u8],
    pos: usize,
    path: Vec<Seg>,
    depth: usize,
    loc: *const Str,
}

type Decoded<T> = Result<T, String>;

fn is_identifier(key: &[u8]) -> bool {
    match key.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => key.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_'),
        _ => false,
    }
}

fn quoted(key: &[u8]) -> String {
    let mut out = Vec::new();
    write_json_string(&mut out, key);
    String::from_utf8_lossy(&out).into_owned()
}

impl<'a> Decoder<'a> {
    // -- errors --

    fn path(&self) -> String {
        let mut out = String::from("$");
        for seg in &self.path {
            match seg {
                Seg::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
                Seg::Key(p, n) => {
                    // SAFETY: see `Seg::Key`.
                    let key = unsafe { std::slice::from_raw_parts(*p, *n) };
                    if is_identifier(key) {
                        out.push('.');
                        out.push_str(&String::from_utf8_lossy(key));
                    } else {
                        out.push('[');
                        out.push_str(&quoted(key));
                        out.push(']');
                    }
                }
            }
        }
        out
    }

    /// An error about the value at the current path.
    fn at_path(&self, what: impl AsRef<str>) -> String {
        format!("{}: {}", self.path(), what.as_ref())
    }

    /// A syntax error at the current position.
    fn syntax(&self, what: &str) -> String {
        let before = &self.text[..self.pos.min(self.text.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let column = before[line_start..].iter().filter(|&&b| (b as i8) >= -0x40).count() + 1;
        format!("invalid JSON at line {line}, column {column}: {what}")
    }

    /// `expected T, found <kind of the next value>`, or a syntax error if
    /// no value starts here.
    fn mismatch(&mut self, ty: TypeIdx) -> String {
        let found = match self.peek() {
            Some(b'n') if self.text[self.pos..].starts_with(b"null") => "null",
            Some(b't') if self.text[self.pos..].starts_with(b"true") => "boolean",
            Some(b'f') if self.text[self.pos..].starts_with(b"false") => "boolean",
            Some(b'"') => "string",
            Some(b'[') => "array",
            Some(b'{') => "object",
            Some(b'-' | b'0'..=b'9') => "number",
            None => return self.syntax("unexpected end of input"),
            Some(_) => return self.syntax("expected a value"),
        };
        self.at_path(format!("expected {}, found {found}", self.types.name(ty)))
    }

    // -- lexing --

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Skips white space, then `c` if it is next.
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8, what: &str) -> Decoded<()> {
        if self.eat(c) { Ok(()) } else { Err(self.syntax(what)) }
    }

    fn eat_literal(&mut self, word: &[u8]) -> bool {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    /// A number token; whether it is written as an integer.
    fn number(&mut self) -> Decoded<(&'a str, bool)> {
        let start = self.pos;
        let digits = |d: &mut Self| {
            let from = d.pos;
            while let Some(b'0'..=b'9') = d.peek() {
                d.pos += 1;
            }
            d.pos > from
        };
        self.eat_literal(b"-");
        if !self.eat_literal(b"0") && !digits(self) {
            return Err(self.syntax("invalid number"));
        }
        let mut integer = true;
        if self.eat_literal(b".") {
            integer = false;
            if !digits(self) {
                return Err(self.syntax("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            integer = false;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !digits(self) {
                return Err(self.syntax("invalid number"));
            }
        }
        // SAFETY: ASCII.
        let token = unsafe { std::str::from_utf8_unchecked(&self.text[start..self.pos]) };
        Ok((token, integer))
    }

    fn hex4(&mut self) -> Decoded<u32> {
        let mut n = 0;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.syntax("invalid \\u escape")),
            };
            n = n * 16 + d as u32;
            self.pos += 1;
        }
        Ok(n)
    }

    /// A string token (the opening quote is next), as a `Str`.
    fn string(&mut self) -> Decoded<*mut Str> {
        self.pos += 1;
        let start = self.pos;
        // Fast path: no escapes, the bytes are shared with the input.
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    let bytes = &self.text[start..self.pos - 1];
                    return Ok(str_header(bytes.as_ptr(), bytes.len(), std::ptr::null_mut()));
                }
                Some(b'\\') => break,
                Some(0..0x20) => return Err(self.syntax("control character in string")),
                Some(_) => self.pos += 1,
                None => return Err(self.syntax("unterminated string")),
            }
        }
        let mut out = self.text[start..self.pos].to_vec();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(new_str(&out));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self.peek();
                    self.pos += 1;
                    let simple = match c {
                        Some(b'"') => b'"',
                        Some(b'\\') => b'\\',
                        Some(b'/') => b'/',
                        Some(b'b') => 0x08,
                        Some(b'f') => 0x0c,
                        Some(b'n') => b'\n',
                        Some(b'r') => b'\r',
                        Some(b't') => b'\t',
                        Some(b'u') => {
                            let mut code = self.hex4()?;
                            if (0xd800..0xdc00).contains(&code) {
                                if !self.eat_literal(b"\\u") {
                                    return Err(self.syntax("unpaired surrogate in \\u escape"));
                                }
                                let low = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&low) {
                                    return Err(self.syntax("unpaired surrogate in \\u escape"));
                                }
                                code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
                            }
                            let Some(c) = char::from_u32(code) else {
                                return Err(self.syntax("unpaired surrogate in \\u escape"));
                            };
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                            continue;
                        }
                        _ => {
                            self.pos -= 1;
                            return Err(self.syntax("invalid escape"));
                        }
                    };
                    out.push(simple);
                }
                Some(0..0x20) => return Err(self.syntax("control character in string")),
                Some(b) => {
                    out.push(b);
                    self.pos += 1;
                }
                None => return Err(self.syntax("unterminated string")),
            }
        }
    }

    /// An object key and the `:` after it.
    fn key(&mut self) -> Decoded<*mut Str> {
        self.ws();
        if self.peek() != Some(b'"') {
            return Err(self.syntax("expected a string key"));
        }
        let key = self.string()?;
        self.expect(b':', "expected ':'")?;
        Ok(key)
    }

    /// After an element or member: `true` if another follows (`,`), `false`
    /// at `close`.
    fn next_or_close(&mut self, close: u8) -> Decoded<bool> {
        if self.eat(b',') {
            Ok(true)
        } else if self.eat(close) {
            Ok(false)
        } else if close == b']' {
            Err(self.syntax("expected ',' or ']'"))
        } else {
            Err(self.syntax("expected ',' or '}'"))
        }
    }

    /// Skips one value of any type (surplus array elements, undeclared fields).
    fn skip(&mut self) -> Decoded<()> {
        self.enter()?;
        self.ws();
        match self.peek() {
            Some(b'"') => {
                self.string()?;
            }
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
            }
            Some(b'[') => {
                self.pos += 1;
                if !self.eat(b']') {
                    loop {
                        self.skip()?;
                        if !self.next_or_close(b']')? {
                            break;
                        }
                    }
                }
            }
            Some(b'{') => {
                self.pos += 1;
                if !self.eat(b'}') {
                    loop {
                        self.key()?;
                        self.skip()?;
                        if !self.next_or_close(b'}')? {
                            break;
                        }
                    }
                }
            }
            _ => {
                if !(self.eat_literal(b"null") || self.eat_literal(b"true") || self.eat_literal(b"false")) {
                    return Err(if self.peek().is_none() {
                        self.syntax("unexpected end of input")
                    } else {
                        self.syntax("expected a value")
                    });
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    fn enter(&mut self) -> Decoded<()> {
        check_stack(self.loc);
        self.depth += 1;
        if self.depth > MAX_DEPTH { Err(self.at_path("nested too deeply")) } else { Ok(()) }
    }

    // -- typed decoding --

    /// One value of type `ty`.
    fn value(&mut self, ty: TypeIdx) -> Decoded<Word> {
        self.enter()?;
        self.ws();
        let types = self.types;
        let v = match types.get(ty) {
            Ty::Int => match self.peek() {
                Some(b'-' | b'0'..=b'9') => {
                    let (token, integer) = self.number()?;
                    if !integer {
                        return Err(self.at_path(format!("expected Int, found number {token}")));
                    }
                    match token.parse::<i64>() {
                        Ok(n) => n as Word,
                        Err(_) => return Err(self.at_path(format!("number {token} does not fit an Int"))),
                    }
                }
                _ => return Err(self.mismatch(ty)),
            },
            Ty::Float => match self.peek() {
                Some(b'-' | b'0'..=b'9') => {
                    let (token, _) = self.number()?;
                    match token.parse::<f64>() {
                        Ok(x) if x.is_finite() => x.to_bits(),
                        _ => return Err(self.at_path(format!("number {token} does not fit a Float"))),
                    }
                }
                _ => return Err(self.mismatch(ty)),
            },
            Ty::Bool => {
                if self.eat_literal(b"true") {
                    1
                } else if self.eat_literal(b"false") {
                    0
                } else {
                    return Err(self.mismatch(ty));
                }
            }
            Ty::Str => match self.peek() {
                Some(b'"') => self.string()? as Word,
                _ => return Err(self.mismatch(ty)),
            },
            Ty::Tuple(items) if items.is_empty() => {
                if !self.eat_literal(b"null") {
                    return Err(self.mismatch(ty));
                }
                0
            }
            Ty::Func => return Err(self.at_path("cannot decode a function")),
            Ty::List(elem) => self.list(ty, *elem)?,
            Ty::Tuple(items) => new_object(&self.fixed_array(ty, items, 0)?) as Word,
            Ty::Dict(value) => self.dict(ty, *value)?,
            Ty::Record { fields, keys, defaults, .. } => self.record(ty, fields, keys, defaults)?,
            Ty::Enum { variants, option: true, .. } => {
                if self.eat_literal(b"null") {
                    none() as Word
                } else {
                    let x = self.value(variants[0].fields[0])?;
                    some(x) as Word
                }
            }
            Ty::Enum { name, variants, option: false } => self.variant(ty, name, variants)?,
        };
        self.depth -= 1;
        Ok(v)
    }

    // The composite cases, out of line to keep `value`'s frame small (it
    // recurses once per level of nesting).

    #[inline(never)]
    fn list(&mut self, ty: TypeIdx, elem: TypeIdx) -> Decoded<Word> {
        if self.peek() != Some(b'[') {
            return Err(self.mismatch(ty));
        }
        self.pos += 1;
        let mut items = Vec::new();
        if !self.eat(b']') {
            loop {
                self.path.push(Seg::Index(items.len()));
                items.push(self.value(elem)?);
                self.path.pop();
                if !self.next_or_close(b']')? {
                    break;
                }
            }
        }
        Ok(new_list(&items) as Word)
    }

    #[inline(never)]
    fn dict(&mut self, ty: TypeIdx, value: TypeIdx) -> Decoded<Word> {
        if self.peek() != Some(b'{') {
            return Err(self.mismatch(ty));
        }
        self.pos += 1;
        let mut d = dict::empty();
        if !self.eat(b'}') {
            loop {
                let key = self.key()?;
                // SAFETY: `key` and `d` were just made.
                unsafe {
                    if dict::get(d, key).is_some() {
                        return Err(self.at_path(format!("duplicate key {}", quoted(str_bytes(key)))));
                    }
                    self.path.push(Seg::Key((*key).ptr, (*key).len as usize));
                    let v = self.value(value)?;
                    self.path.pop();
                    d = dict::insert(d, key, v);
                }
                if !self.next_or_close(b'}')? {
                    break;
                }
            }
        }
        Ok(d as Word)
    }

    #[inline(never)]
    fn record(
        &mut self,
        ty: TypeIdx,
        fields: &[(Box<str>, TypeIdx)],
        keys: &[Box<str>],
        defaults: &[Option<Box<str>>],
    ) -> Decoded<Word> {
        if self.peek() != Some(b'{') {
            return Err(self.mismatch(ty));
        }
        self.pos += 1;
        let mut slots: Vec<Option<Word>> = fields.iter().map(|_| None).collect();
        if !self.eat(b'}') {
            loop {
                let key = self.key()?;
                // SAFETY: `key` was just made.
                let name = unsafe { str_bytes(key) };
                // A field the type does not declare is skipped: clients send more.
                let Some(i) = keys.iter().position(|k| k.as_bytes() == name) else {
                    self.skip()?;
                    if !self.next_or_close(b'}')? {
                        break;
                    }
                    continue;
                };
                if slots[i].is_some() {
                    return Err(self.at_path(format!("duplicate field {}", quoted(name))));
                }
                self.path.push(Seg::Key(keys[i].as_ptr(), keys[i].len()));
                slots[i] = Some(self.value(fields[i].1)?);
                self.path.pop();
                if !self.next_or_close(b'}')? {
                    break;
                }
            }
        }
        let mut words = Vec::with_capacity(fields.len());
        for (((slot, (_, t)), key), default) in slots.iter().zip(fields.iter()).zip(keys.iter()).zip(defaults.iter()) {
            match (slot, default) {
                (Some(v), _) => words.push(*v),
                (None, Some(text)) => words.push(default_value(self.types, text, *t)),
                (None, None) if matches!(self.types.get(*t), Ty::Enum { option: true, .. }) => words.push(none() as Word),
                (None, None) => return Err(self.at_path(format!("missing field {}", quoted(key.as_bytes())))),
            }
        }
        Ok(new_object(&words) as Word)
    }

    /// A variant of a (non-`Option`) enum.
    #[inline(never)]
    fn variant(&mut self, ty: TypeIdx, name: &str, variants: &[Variant]) -> Decoded<Word> {
        match self.peek() {
            Some(b'"') => {
                let s = self.string()?;
                // SAFETY: `s` was just made.
                let tag_name = unsafe { str_bytes(s) };
                match variants.iter().position(|v| v.name.as_bytes() == tag_name) {
                    Some(tag) if variants[tag].fields.is_empty() => Ok(new_object(&[tag as Word]) as Word),
                    Some(_) => {
                        let q = quoted(tag_name);
                        Err(self.at_path(format!("{q} has a payload: expected {{{q}: [...]}}")))
                    }
                    None => Err(self.at_path(format!("unknown variant {} of {name}", quoted(tag_name)))),
                }
            }
            Some(b'{') => {
                self.pos += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    return Err(self.at_path(format!("expected a variant of {name}, found an empty object")));
                }
                let s = self.key()?;
                // SAFETY: `s` was just made.
                let tag_name = unsafe { str_bytes(s) };
                let Some(tag) = variants.iter().position(|v| v.name.as_bytes() == tag_name) else {
                    return Err(self.at_path(format!("unknown variant {} of {name}", quoted(tag_name))));
                };
                let variant = &variants[tag];
                if variant.fields.is_empty() {
                    let q = quoted(tag_name);
                    return Err(self.at_path(format!("{q} has no payload: expected {q}")));
                }
                self.path.push(Seg::Key(variant.name.as_ptr(), variant.name.len()));
                self.ws();
                let mut words = self.fixed_array(ty, &variant.fields, 1)?;
                words[0] = tag as Word;
                self.path.pop();
                if !self.eat(b'}') {
                    if self.peek() == Some(b',') {
                        return Err(self.at_path(format!("expected one variant of {name}, found more keys")));
                    }
                    return Err(self.syntax("expected '}'"));
                }
                Ok(new_object(&words) as Word)
            }
            _ => Err(self.mismatch(ty)),
        }
    }

    /// An array of exactly `tys.len()` values, decoded into words after
    /// `skip` leading zero words (the room for an enum tag).
    fn fixed_array(&mut self, ty: TypeIdx, tys: &[TypeIdx], skip: usize) -> Decoded<Vec<Word>> {
        if self.peek() != Some(b'[') {
            return Err(self.mismatch(ty));
        }
        self.pos += 1;
        let n = tys.len();
        let mut words = vec![0; skip];
        let mut count = 0;
        if !self.eat(b']') {
            loop {
                if count < n {
                    self.path.push(Seg::Index(count));
                    words.push(self.value(tys[count])?);
                    self.path.pop();
                } else {
                    self.skip()?;
                }
                count += 1;
                if !self.next_or_close(b']')? {
                    break;
                }
            }
        }
        if count != n {
            let plural = if n == 1 { "" } else { "s" };
            return Err(self.at_path(format!("expected {n} element{plural}, found {count}")));
        }
        Ok(words)
    }
}

/// A record field's default (JSON text the compiler checked) as a value.
pub fn default_value(types: &Types, text: &str, ty: TypeIdx) -> Word {
    decode(types, text.as_bytes(), ty, std::ptr::null())
        .unwrap_or_else(|e| crate::error::fail_no_loc(&format!("internal error: the default {text} does not decode: {e}")))
}

/// Decodes `text` as a value of type `ty`.
pub fn decode(types: &Types, text: &[u8], ty: TypeIdx, loc: *const Str) -> Result<Word, String> {
    let mut d = Decoder { types, text, pos: 0, path: Vec::new(), depth: 0, loc };
    let v = d.value(ty)?;
    d.ws();
    if d.pos < text.len() {
        return Err(d.syntax("unexpected text after the value"));
    }
    Ok(v)
}

/// `Json.encode<T: Json>(value) -> String`.
///
/// # Safety
/// `value` is a valid value of type `t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Json_encode(value: Word, t: i64, loc: *const Str) -> *mut Str {
    crate::error::guard(|| {
        let mut out = Vec::new();
        // SAFETY: the caller's contract.
        unsafe { encode_into(types::installed(), &mut out, value, types::index(t), loc) };
        new_str(&out)
    })
}

/// `Json.decode<T: Json>(text) -> Result<T, String>`.
///
/// # Safety
/// `text` is a valid `Str`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Json_decode(text: *const Str, t: i64, loc: *const Str) -> *mut Word {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        let bytes = unsafe { str_text(text) }.as_bytes();
        match decode(types::installed(), bytes, types::index(t), loc) {
            Ok(v) => ok(v),
            Err(message) => err(new_str(message.as_bytes()) as Word),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::build::Table;
    use crate::value::testing::{s, text};

    struct Fixture {
        types: Types,
        todo: u32,
        list_int: u32,
        shape: u32,
        pair: u32,
        dict: u32,
        float: u32,
        tree: u32,
        opt_opt: u32,
        dict_str: u32,
        strings: u32,
    }

    fn fixture() -> Fixture {
        let mut t = Table::default();
        let int = t.int();
        let float = t.float();
        let string = t.string();
        let boolean = t.bool();
        let unit = t.tuple(&[]);
        let tags = t.list(string);
        let opt_int = t.option(int);
        let todo = t.record(
            "Todo",
            &[("title", string), ("done", boolean), ("tags", tags), ("due", opt_int), ("nothing", unit)],
        );
        let list_int = t.list(int);
        let shape = t.enumeration("Shape", &[("Circle", &[float]), ("Rect", &[float, float]), ("Dot", &[])]);
        let pair = t.tuple(&[int, string]);
        let dict = t.dict(list_int);
        let tree = t.reserve();
        t.set(tree, Table::enum_entry("Tree", &[("Leaf", &[]), ("Node", &[tree, int, tree])]));
        let opt_opt = t.option(opt_int);
        let dict_str = t.dict(string);
        Fixture { types: t.types(), todo, list_int, shape, pair, dict, float, tree, opt_opt, dict_str, strings: tags }
    }

    fn round_trip(f: &Fixture, json: &str, ty: u32) -> String {
        let v = decode(&f.types, json.as_bytes(), ty, std::ptr::null()).unwrap_or_else(|e| panic!("{json}: {e}"));
        let mut out = Vec::new();
        unsafe { encode_into(&f.types, &mut out, v, ty, std::ptr::null()) };
        String::from_utf8(out).unwrap()
    }

    fn error(f: &Fixture, json: &str, ty: u32) -> String {
        match decode(&f.types, json.as_bytes(), ty, std::ptr::null()) {
            Ok(_) => panic!("{json} decoded"),
            Err(e) => e,
        }
    }

    #[test]
    fn encodes_and_decodes_every_kind() {
        let f = fixture();
        let todo = r#"{"title":"a\"b\n\u00e9\ud83d\ude00","done":true,"tags":["x","y"],"due":3,"nothing":null}"#;
        assert_eq!(
            round_trip(&f, todo, f.todo),
            "{\"title\":\"a\\\"b\\né😀\",\"done\":true,\"tags\":[\"x\",\"y\"],\"due\":3,\"nothing\":null}"
        );
        // Optional fields may be missing or null; white space anywhere.
        let sparse = " { \"tags\" : [ ] , \"done\" : false , \"title\" : \"t\", \"nothing\": null } ";
        assert_eq!(round_trip(&f, sparse, f.todo), r#"{"title":"t","done":false,"tags":[],"due":null,"nothing":null}"#);
        assert_eq!(round_trip(&f, r#"{"Rect": [1, 2.5]}"#, f.shape), r#"{"Rect":[1.0,2.5]}"#);
        assert_eq!(round_trip(&f, r#""Dot""#, f.shape), r#""Dot""#);
        assert_eq!(round_trip(&f, r#"[1,"a"]"#, f.pair), r#"[1,"a"]"#);
        assert_eq!(round_trip(&f, r#"{"b":[2],"a":[1,-1]}"#, f.dict), r#"{"a":[1,-1],"b":[2]}"#);
        assert_eq!(round_trip(&f, "1e21", f.float), "1e21");
        assert_eq!(round_trip(&f, "-0", f.float), "-0.0");
        assert_eq!(round_trip(&f, "[-9223372036854775808]", f.list_int), "[-9223372036854775808]");
        assert_eq!(
            round_trip(&f, r#"{"Node":["Leaf",1,{"Node":["Leaf",2,"Leaf"]}]}"#, f.tree),
            r#"{"Node":["Leaf",1,{"Node":["Leaf",2,"Leaf"]}]}"#
        );
        assert_eq!(round_trip(&f, "null", f.opt_opt), "null");
        assert_eq!(round_trip(&f, "5", f.opt_opt), "5");
    }

    #[test]
    fn strings_without_escapes_share_the_input() {
        let mut t = Table::default();
        let string = t.string();
        let types = t.types();
        let input = s(r#""hello""#);
        let v = decode(&types, unsafe { str_bytes(input) }, string, std::ptr::null()).unwrap();
        assert_eq!(text(v as *const Str), "hello");
        assert_eq!(unsafe { (*(v as *const Str)).ptr }, unsafe { (*input).ptr.add(1) });
    }

    #[test]
    fn non_finite_floats_encode_as_null() {
        let f = fixture();
        let mut out = Vec::new();
        unsafe { encode_into(&f.types, &mut out, f64::NAN.to_bits(), f.float, std::ptr::null()) };
        assert_eq!(out, b"null");
    }

    #[test]
    fn decode_errors_name_the_path() {
        let f = fixture();
        assert_eq!(
            error(&f, r#"{"title":"a","done":true,"tags":["x","y",3],"nothing":null}"#, f.todo),
            "$.tags[2]: expected String, found number"
        );
        assert_eq!(error(&f, r#"{"title":"a","tags":[],"nothing":null}"#, f.todo), r#"$: missing field "done""#);
        assert_eq!(error(&f, r#"{"title":"a","title":"b"}"#, f.todo), r#"$: duplicate field "title""#);
        assert_eq!(error(&f, r#"{"title":1}"#, f.todo), "$.title: expected String, found number");
        assert_eq!(error(&f, r#"{"title":"a","done":"yes"}"#, f.todo), "$.done: expected Bool, found string");
        assert_eq!(
            error(&f, r#"{"title":"a","done":true,"tags":[],"due":"x"}"#, f.todo),
            "$.due: expected Int, found string"
        );
        assert_eq!(error(&f, "[1.5]", f.list_int), "$[0]: expected Int, found number 1.5");
        assert_eq!(
            error(&f, "[99999999999999999999]", f.list_int),
            "$[0]: number 99999999999999999999 does not fit an Int"
        );
        assert_eq!(error(&f, "{}", f.list_int), "$: expected List<Int>, found object");
        assert_eq!(error(&f, "null", f.list_int), "$: expected List<Int>, found null");
        assert_eq!(error(&f, r#"[1,"a",true]"#, f.pair), "$: expected 2 elements, found 3");
        assert_eq!(error(&f, r#"[1]"#, f.pair), "$: expected 2 elements, found 1");
        assert_eq!(error(&f, r#"{"Rect":[1]}"#, f.shape), "$.Rect: expected 2 elements, found 1");
        assert_eq!(error(&f, r#"{"Rect":[1,"x"]}"#, f.shape), "$.Rect[1]: expected Float, found string");
        assert_eq!(error(&f, r#""Square""#, f.shape), r#"$: unknown variant "Square" of Shape"#);
        assert_eq!(error(&f, r#""Rect""#, f.shape), r#"$: "Rect" has a payload: expected {"Rect": [...]}"#);
        assert_eq!(error(&f, r#"{"Dot":[]}"#, f.shape), r#"$: "Dot" has no payload: expected "Dot""#);
        assert_eq!(error(&f, r#"{"Dot":[], "Rect":[1,2]}"#, f.shape), r#"$: "Dot" has no payload: expected "Dot""#);
        assert_eq!(
            error(&f, r#"{"Circle":[1], "Rect":[1,2]}"#, f.shape),
            "$: expected one variant of Shape, found more keys"
        );
        assert_eq!(error(&f, r#"{"a b":[1,"x"]}"#, f.dict), r#"$["a b"][1]: expected Int, found string"#);
        assert_eq!(error(&f, r#"{"a":[1],"a":[2]}"#, f.dict), r#"$: duplicate key "a""#);
        assert_eq!(error(&f, "1e999", f.float), "$: number 1e999 does not fit a Float");
    }

    #[test]
    fn syntax_errors_give_line_and_column() {
        let f = fixture();
        assert_eq!(error(&f, "[1, 2", f.list_int), "invalid JSON at line 1, column 6: expected ',' or ']'");
        assert_eq!(error(&f, "[1,\n 2 x]", f.list_int), "invalid JSON at line 2, column 4: expected ',' or ']'");
        assert_eq!(error(&f, "", f.list_int), "invalid JSON at line 1, column 1: unexpected end of input");
        assert_eq!(error(&f, "[1] 2", f.list_int), "invalid JSON at line 1, column 5: unexpected text after the value");
        assert_eq!(error(&f, "[01]", f.list_int), "invalid JSON at line 1, column 3: expected ',' or ']'");
        assert_eq!(error(&f, "[-]", f.list_int), "invalid JSON at line 1, column 3: invalid number");
        assert_eq!(error(&f, "[nul]", f.list_int), "invalid JSON at line 1, column 2: expected a value");
        assert_eq!(error(&f, "[1,]", f.list_int), "invalid JSON at line 1, column 4: expected a value");
        assert_eq!(error(&f, r#"{"x":"\q"}"#, f.dict_str), "invalid JSON at line 1, column 8: invalid escape");
        assert_eq!(
            error(&f, "{\"x\":\"\u{1}\"}", f.dict_str),
            "invalid JSON at line 1, column 7: control character in string"
        );
        assert_eq!(error(&f, r#"{"x":"a"#, f.dict_str), "invalid JSON at line 1, column 8: unterminated string");
        assert_eq!(error(&f, r#"{"x":"a" "y"}"#, f.dict_str), "invalid JSON at line 1, column 10: expected ',' or '}'");
        assert_eq!(error(&f, r#"{"x" "a"}"#, f.dict_str), "invalid JSON at line 1, column 6: expected ':'");
        assert_eq!(error(&f, r#"{x:1}"#, f.dict_str), "invalid JSON at line 1, column 2: expected a string key");
        assert_eq!(
            error(&f, r#"["\ud800"]"#, f.strings),
            "invalid JSON at line 1, column 9: unpaired surrogate in \\u escape"
        );
        assert_eq!(error(&f, r#"{"é": 1}"#, f.dict), r#"$["é"]: expected List<Int>, found number"#);
        let deep = "[".repeat(MAX_DEPTH + 10);
        let mut t = Table::default();
        let nested = t.reserve();
        t.set(nested, vec![4, nested]);
        let types = t.types();
        let e = std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(move || decode(&types, deep.as_bytes(), nested, std::ptr::null()).unwrap_err())
            .unwrap()
            .join()
            .unwrap();
        assert!(e.ends_with("nested too deeply"), "{e}");
    }
}
