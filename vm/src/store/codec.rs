//! The binary encoding of stored values, and reading them back into the
//! region through a `Plan` (which also converts rows written under an older
//! schema).
//!
//! A row is `version payload`: `version` (a varint) numbers the schema the
//! row was written under; the payload follows the type:
//!
//! | type | bytes |
//! |---|---|
//! | `Int` | zigzag varint |
//! | `Float` | 8 bytes, the bits little-endian (NaN and infinities too) |
//! | `Bool` | one byte, 0 or 1 |
//! | `String` | varint byte length, UTF-8 bytes |
//! | `List<T>` | varint length, the items |
//! | `Dict<V>` | varint length, then key (as a `String`) and value, keys ascending |
//! | tuple, record | the items, the fields in the schema's order (`Unit`: nothing) |
//! | enum | varint tag (the variant's position in the schema), the payload |
//!
//! Varints are LEB128 (7 bits a byte, low first). Unlike JSON this keeps
//! every value apart: `Some(None)` from `None`, `Some(())` from `None`, NaN.

use crate::dict;
use crate::error::check_stack;
use crate::types::{Ty, TypeIdx, Types};
use crate::value::{List, Str, Word, alloc_list, field, list_items, new_object, new_str, none, str_bytes};

use super::schema::{Plan, PlanIdx, Step};

pub fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Appends the encoding of `v`, a value of type `ty`. `Err` for a function
/// inside (which `Stores::open` refuses for a store's type).
///
/// # Safety
/// `v` is a valid value of type `ty`.
pub unsafe fn encode(types: &Types, out: &mut Vec<u8>, v: Word, ty: TypeIdx) -> Result<(), String> {
    check_stack(std::ptr::null());
    // SAFETY (whole body): `v` is a valid value of type `ty`.
    unsafe {
        match types.get(ty) {
            Ty::Int => put_varint(out, ((v as i64) << 1 ^ ((v as i64) >> 63)) as u64),
            Ty::Float => out.extend_from_slice(&v.to_le_bytes()),
            Ty::Bool => out.push((v != 0) as u8),
            Ty::Str => put_bytes(out, str_bytes(v as *const Str)),
            Ty::List(elem) => {
                let items = list_items(v as *const List);
                put_varint(out, items.len() as u64);
                for x in items {
                    encode(types, out, *x, *elem)?;
                }
            }
            Ty::Dict(value) => {
                let entries = dict::sorted_entries(v);
                put_varint(out, entries.len() as u64);
                for e in entries {
                    put_bytes(out, str_bytes(e.key));
                    encode(types, out, e.value, *value)?;
                }
            }
            Ty::Tuple(items) => {
                for (i, t) in items.iter().enumerate() {
                    encode(types, out, field(v, i), *t)?;
                }
            }
            Ty::Record { fields, .. } => {
                for (i, (_, t)) in fields.iter().enumerate() {
                    encode(types, out, field(v, i), *t)?;
                }
            }
            Ty::Enum { variants, .. } => {
                let tag = field(v, 0);
                let Some(variant) = variants.get(tag as usize) else {
                    return Err("internal error: invalid enum tag".to_string());
                };
                put_varint(out, tag);
                for (i, t) in variant.fields.iter().enumerate() {
                    encode(types, out, field(v, i + 1), *t)?;
                }
            }
            Ty::Func => return Err(format!("a value of type {} cannot be stored", types.name(ty))),
        }
    }
    Ok(())
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// What is wrong with stored bytes.
pub type Malformed = &'static str;

/// Reads encoded values into the region.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, pos: 0 }
    }

    pub fn at_end(&self) -> bool {
        self.pos == self.bytes.len()
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn byte(&mut self) -> Result<u8, Malformed> {
        let b = *self.bytes.get(self.pos).ok_or("truncated")?;
        self.pos += 1;
        Ok(b)
    }

    pub fn varint(&mut self) -> Result<u64, Malformed> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = (b & 0x7f) as u64;
            if shift == 63 && bits > 1 {
                return Err("varint overflow");
            }
            n |= bits << shift;
            if b < 0x80 {
                return Ok(n);
            }
        }
        Err("varint overflow")
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if n > self.remaining() {
            return Err("truncated");
        }
        let bytes = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    fn string_bytes(&mut self) -> Result<&'a [u8], Malformed> {
        let len = self.varint()?;
        let bytes = self.take(usize::try_from(len).map_err(|_| "truncated")?)?;
        std::str::from_utf8(bytes).map_err(|_| "invalid UTF-8 in a string")?;
        Ok(bytes)
    }

    /// A count of `nonempty` items: each takes a byte at least.
    fn count(&mut self, nonempty: bool) -> Result<usize, Malformed> {
        let n = usize::try_from(self.varint()?).map_err(|_| "length out of range")?;
        if nonempty && n > self.remaining() {
            return Err("truncated");
        }
        Ok(n)
    }

    /// One value, read as the plan's step says.
    pub fn value(&mut self, plan: &Plan, step: PlanIdx) -> Result<Word, Malformed> {
        check_stack(std::ptr::null());
        let Some(s) = plan.steps.get(step as usize) else {
            return Err("internal error: invalid plan step");
        };
        Ok(match s {
            Step::Int => {
                let z = self.varint()?;
                ((z >> 1) as i64 ^ -((z & 1) as i64)) as Word
            }
            Step::Float => {
                let b = self.take(8)?;
                let mut word = [0u8; 8];
                word.copy_from_slice(b);
                u64::from_le_bytes(word)
            }
            Step::Bool => match self.byte()? {
                0 => 0,
                1 => 1,
                _ => return Err("invalid Bool"),
            },
            Step::Str => new_str(self.string_bytes()?) as Word,
            Step::List(elem) => {
                let n = self.count(plan.nonempty[*elem as usize])?;
                let list = alloc_list(n);
                for i in 0..n {
                    let x = self.value(plan, *elem)?;
                    // SAFETY: the list has room for `n` items.
                    unsafe { (*list).items.add(i).write(x) };
                }
                list as Word
            }
            Step::Dict(value) => {
                let n = self.count(true)?;
                let mut d = dict::empty();
                let mut previous: Option<&[u8]> = None;
                for _ in 0..n {
                    let key = self.string_bytes()?;
                    if previous.is_some_and(|p| p >= key) {
                        return Err("dictionary keys out of order");
                    }
                    previous = Some(key);
                    let key = new_str(key);
                    let v = self.value(plan, *value)?;
                    // SAFETY: `d` and `key` were just made.
                    d = unsafe { dict::insert(d, key, v) };
                }
                d as Word
            }
            Step::Tuple(items) if items.is_empty() => 0,
            Step::Tuple(items) => {
                let mut words = Vec::with_capacity(items.len());
                for item in items.iter() {
                    words.push(self.value(plan, *item)?);
                }
                new_object(&words) as Word
            }
            Step::Record { width, fields, missing } => {
                let mut words = vec![0; *width];
                for (slot, f) in fields.iter() {
                    words[*slot] = self.value(plan, *f)?;
                }
                for (slot, default) in missing.iter() {
                    words[*slot] = match default {
                        Some((text, ty)) => crate::json::default_value(crate::types::installed(), text, *ty),
                        None => none() as Word,
                    };
                }
                new_object(&words) as Word
            }
            Step::Enum { variants, option } => {
                let tag = self.varint()?;
                let Some((new_tag, payload)) = variants.get(tag as usize) else {
                    return Err("invalid enum tag");
                };
                if payload.is_empty() && *option {
                    return Ok(none() as Word);
                }
                let mut words = Vec::with_capacity(payload.len() + 1);
                words.push(*new_tag);
                for p in payload.iter() {
                    words.push(self.value(plan, *p)?);
                }
                new_object(&words) as Word
            }
        })
    }
}
