//! A store's secondary and unique indexes (`store users: User
//! unique(email) index(tags)`, brief §4): what an index holds for a value,
//! and how its entries are keyed.
//!
//! Each index is one redb table, `index/STORE/FIELD`, whose keys are
//! `value ++ key`: the indexed value in an encoding that keeps order and
//! ends itself, then the entry's key; its values are empty. So the entries
//! of one value are the range `[value, value ++ 0xFF)` (a key is UTF-8,
//! which never holds 0xFF), in key order, and a page of them is a range
//! like a page of the store. `mod.rs` keeps the tables in step with every
//! write, in the write's transaction.
//!
//! | value | encoding |
//! |---|---|
//! | `String` | its bytes with 0x00 written 0x00 0xFF, then 0x00 0x01 |
//! | `Int` | 8 bytes big-endian, the sign bit flipped |
//! | `Bool` | one byte, 0 or 1 |

use dl_abi::TypeTag;
use redb::TableDefinition;

use crate::value::{List, Str, Word, field, list_items, str_bytes};

/// An index table: `value ++ key` → nothing.
pub type IndexDef<'a> = TableDefinition<'a, &'static [u8], ()>;

/// An index of a store, as the program declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexSpec {
    pub field: String,
    /// The field's position in the record.
    pub slot: usize,
    /// The type of the values: `Int`, `Bool` or `String`.
    pub key: TypeTag,
    pub unique: bool,
    /// The field is a `List` of them, and each element is indexed.
    pub each: bool,
}

/// Above every key byte: the end of one value's entries.
const BEYOND_KEYS: u8 = 0xff;

pub fn table_name(store: &str, field: &str) -> String {
    format!("index/{store}/{field}")
}

impl IndexSpec {
    /// What the store file records of it: an index whose text changes is
    /// built anew.
    pub fn text(&self) -> String {
        let kind = if self.unique { "unique" } else { "index" };
        let each = if self.each { " each" } else { "" };
        format!("{kind} {}{each} {:?} at {}", self.field, self.key, self.slot)
    }

    /// The encoded values `record` holds for this index: none, one, or (a
    /// `List` field) one per distinct element.
    ///
    /// # Safety
    /// `record` is a value of the store's record type.
    pub unsafe fn values_of(&self, record: Word) -> Vec<Vec<u8>> {
        // SAFETY: the caller's contract: the field has the index's type.
        unsafe {
            let v = field(record, self.slot);
            if !self.each {
                return vec![self.encode(v)];
            }
            let mut values: Vec<Vec<u8>> = list_items(v as *const List).iter().map(|x| self.encode(*x)).collect();
            values.sort();
            values.dedup();
            values
        }
    }

    /// The encoding of `v`, a value of the index's type.
    ///
    /// # Safety
    /// `v` is a value of type `self.key`.
    pub unsafe fn encode(&self, v: Word) -> Vec<u8> {
        match self.key {
            TypeTag::Int => ((v as i64) ^ i64::MIN).to_be_bytes().to_vec(),
            TypeTag::Bool => vec![(v != 0) as u8],
            _ => {
                // SAFETY: the caller's contract.
                let bytes = unsafe { str_bytes(v as *const Str) };
                let mut out = Vec::with_capacity(bytes.len() + 2);
                for &b in bytes {
                    out.push(b);
                    if b == 0 {
                        out.push(0xff);
                    }
                }
                out.extend_from_slice(&[0, 1]);
                out
            }
        }
    }

    /// An encoded value as the program writes it, for messages (a string
    /// quoted as JSON, as the Workers host quotes it).
    pub fn show_encoded(&self, value: &[u8]) -> String {
        match self.key {
            TypeTag::Int => {
                let bytes: [u8; 8] = value.get(..8).and_then(|b| b.try_into().ok()).unwrap_or_default();
                (i64::from_be_bytes(bytes) ^ i64::MIN).to_string()
            }
            TypeTag::Bool => (value.first() == Some(&1)).to_string(),
            _ => {
                let mut bytes = Vec::with_capacity(value.len());
                let mut i = 0;
                while i < value.len() && !(value[i] == 0 && value.get(i + 1) == Some(&1)) {
                    bytes.push(value[i]);
                    i += if value[i] == 0 { 2 } else { 1 };
                }
                let mut quoted = Vec::with_capacity(bytes.len() + 2);
                crate::json::write_json_string(&mut quoted, &bytes);
                String::from_utf8_lossy(&quoted).into_owned()
            }
        }
    }
}

/// The index entry of `value` for the key `key`.
pub fn entry(value: &[u8], key: &str) -> Vec<u8> {
    [value, key.as_bytes()].concat()
}

/// The key of an entry of `value`.
pub fn key_of<'e>(entry: &'e [u8], value: &[u8]) -> Option<&'e str> {
    std::str::from_utf8(entry.get(value.len()..)?).ok()
}

/// The end of `value`'s entries (exclusive).
pub fn end_of(value: &[u8]) -> Vec<u8> {
    [value, &[BEYOND_KEYS]].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(key: TypeTag) -> IndexSpec {
        IndexSpec { field: "f".into(), slot: 0, key, unique: false, each: false }
    }

    #[test]
    fn encodings_keep_the_order_of_values_and_then_of_keys() {
        let ints = spec(TypeTag::Int);
        let mut encoded: Vec<Vec<u8>> = [i64::MIN, -2, -1, 0, 1, 255, i64::MAX]
            .iter()
            .map(|n| unsafe { ints.encode(*n as Word) })
            .collect();
        let sorted = encoded.clone();
        encoded.sort();
        assert_eq!(encoded, sorted);
        assert_eq!(ints.show_encoded(&sorted[1]), "-2");

        // "a" < "a\0" < "a\0b" < "ab": the terminator sorts below every escaped byte.
        let texts: Vec<Vec<u8>> = ["a", "a\0", "a\0b", "ab"]
            .iter()
            .map(|t| {
                let s = crate::value::new_str(t.as_bytes());
                unsafe { spec(TypeTag::String).encode(s as Word) }
            })
            .collect();
        let mut sorted = texts.clone();
        sorted.sort();
        assert_eq!(texts, sorted);
        assert_eq!(spec(TypeTag::String).show_encoded(&texts[2]), "\"a\\u0000b\"");
        // Every entry of a value, whatever its key, is before the next value's.
        let (a, a0) = (&texts[0], &texts[1]);
        assert!(entry(a, "\u{10FFFF}") < end_of(a) && end_of(a) <= *a0);
        assert_eq!(key_of(&entry(a, "k1"), a), Some("k1"));
    }
}
