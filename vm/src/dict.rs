//! `Dict<V>`: persistent dictionaries with `String` keys, by Baker's
//! rerooting (as in Conchon & Filliâtre's persistent arrays and tables).
//!
//! All versions of one dictionary (everything derived from one
//! `Dict.empty()` by `insert` and `remove`) share one mutable hash table.
//! The table holds the contents of exactly one version, the *current* one;
//! every other version is a *diff* node: "like the version I point to,
//! except that key `k` is bound to `v` / absent". So:
//!
//! - `d2 = insert(d, k, v)` on the current version changes the table in
//!   place, makes a new current node for `d2` and turns `d`'s node into the
//!   diff back to it: O(1) amortised and one 48-byte node per operation,
//!   which matters because the region frees nothing until the invocation
//!   ends. Linear use (`d = Dict.insert(d, k, v)`) is the common case and
//!   costs no more than a mutable hash table.
//! - Using an older version first *reroots*: walks the diff chain to the
//!   current node, applying and inverting each diff, so that the old version
//!   becomes current. Each version always sees its own contents; the cost is
//!   the distance between the versions (switching back and forth between two
//!   far-apart versions is the bad case; it is rare in practice).
//!
//! Why not a persistent tree or HAMT: their path copying costs O(log n)
//! nodes (hundreds of bytes) of garbage per insert, all of which stays in
//! the region until the invocation ends.
//!
//! Keys come out sorted (`keys`, `values`, comparison, printing, JSON): the
//! sorted entries of a version are computed once and cached on its node
//! (a version's contents never change). The table is linear-probing with
//! backward-shift deletion, keyed by a seeded hash of the key's bytes.
//!
//! Rerooting mutates shared state, so code that walks a version's entries
//! and may look at other versions meanwhile (comparison of nested values)
//! works on the cached sorted array, never on the table.

use std::sync::OnceLock;

use crate::region;
use crate::sort::{merge_sort, prefix16};
use crate::value::{List, Str, Word, alloc_list, option, str_bytes};

const CURRENT: u64 = 0;
const DIFF_SET: u64 = 1;
const DIFF_DEL: u64 = 2;

/// One version of a dictionary: what a `Dict<V>` word points to.
#[repr(C)]
pub struct Dict {
    kind: u64,
    /// `CURRENT`: the `Table`; a diff: the newer `Dict` node.
    link: *mut u8,
    /// A diff's key, and for `DIFF_SET` its value.
    key: *const Str,
    value: Word,
    /// Number of entries of this version.
    size: u64,
    /// The sorted entries, once asked for (`size` of them).
    sorted: *const Entry,
}

/// A key and its value.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Entry {
    pub key: *const Str,
    pub value: Word,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Slot {
    hash: u64,
    /// Null: the slot is empty.
    key: *const Str,
    value: Word,
}

#[repr(C)]
struct Table {
    len: usize,
    /// Capacity − 1; the capacity is 0 (no slots yet) or a power of two.
    mask: usize,
    slots: *mut Slot,
    seed: u64,
}

fn process_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x5eed);
        h.finish()
    })
}

fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

fn hash(seed: u64, bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = seed ^ (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    mix(h)
}

impl Table {
    fn new() -> *mut Table {
        let t = region::alloc(size_of::<Table>()) as *mut Table;
        // SAFETY: freshly allocated.
        unsafe { t.write(Table { len: 0, mask: 0, slots: std::ptr::null_mut(), seed: process_seed() }) };
        t
    }

    fn cap(&self) -> usize {
        if self.slots.is_null() { 0 } else { self.mask + 1 }
    }

    /// # Safety
    /// `i <= mask` and the table has slots.
    unsafe fn slot(&self, i: usize) -> *mut Slot {
        // SAFETY: the caller's contract.
        unsafe { self.slots.add(i) }
    }

    /// The slot holding `key`, if any.
    unsafe fn find(&self, key: &[u8], h: u64) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let mut i = h as usize & self.mask;
        // SAFETY (loop): indices are masked; the table is never full.
        unsafe {
            loop {
                let s = &*self.slot(i);
                if s.key.is_null() {
                    return None;
                }
                if s.hash == h && str_bytes(s.key) == key {
                    return Some(i);
                }
                i = (i + 1) & self.mask;
            }
        }
    }

    fn grow(&mut self) {
        let old_cap = self.cap();
        let cap = if old_cap == 0 { 8 } else { old_cap * 2 };
        let slots = region::alloc_words(cap.saturating_mul(3)) as *mut Slot;
        // SAFETY: `cap` fresh slots; old slots are valid up to `old_cap`.
        unsafe {
            for i in 0..cap {
                (*slots.add(i)).key = std::ptr::null();
            }
            let mask = cap - 1;
            for i in 0..old_cap {
                let s = *self.slots.add(i);
                if !s.key.is_null() {
                    let mut j = s.hash as usize & mask;
                    while !(*slots.add(j)).key.is_null() {
                        j = (j + 1) & mask;
                    }
                    *slots.add(j) = s;
                }
            }
            self.slots = slots;
            self.mask = mask;
        }
    }

    /// Binds `key` to `value`; the previous binding, if any.
    unsafe fn set(&mut self, key: *const Str, value: Word) -> Option<Entry> {
        // SAFETY: `key` is a valid `Str`.
        unsafe {
            let bytes = str_bytes(key);
            let h = hash(self.seed, bytes);
            match self.find(bytes, h) {
                Some(i) => Some(self.replace(i, value)),
                None => {
                    self.add(key, h, value);
                    None
                }
            }
        }
    }

    /// Replaces the value in slot `i`; the previous entry.
    unsafe fn replace(&mut self, i: usize, value: Word) -> Entry {
        // SAFETY: `i` is a slot index from `find`.
        unsafe {
            let s = &mut *self.slot(i);
            let old = Entry { key: s.key, value: s.value };
            s.value = value;
            old
        }
    }

    /// Adds `key` (with hash `h`), which is not in the table.
    unsafe fn add(&mut self, key: *const Str, h: u64, value: Word) {
        // Keep the load at most 3/4.
        if (self.len + 1) * 4 > self.cap() * 3 {
            self.grow();
        }
        // SAFETY: indices are masked; the table is never full.
        unsafe {
            let mut i = h as usize & self.mask;
            while !(*self.slot(i)).key.is_null() {
                i = (i + 1) & self.mask;
            }
            *self.slot(i) = Slot { hash: h, key, value };
        }
        self.len += 1;
    }

    /// Unbinds `key`; the previous binding, if any.
    unsafe fn remove(&mut self, key: *const Str) -> Option<Entry> {
        // SAFETY (whole body): as in `set`.
        unsafe {
            let bytes = str_bytes(key);
            let h = hash(self.seed, bytes);
            let found = self.find(bytes, h)?;
            let old = *self.slot(found);
            // Backward-shift deletion: move later members of the probe
            // sequence into the hole unless their home lies in (hole, j].
            let mask = self.mask;
            let mut hole = found;
            let mut j = found;
            loop {
                j = (j + 1) & mask;
                let s = *self.slot(j);
                if s.key.is_null() {
                    break;
                }
                let home = s.hash as usize & mask;
                let stays = if hole <= j { hole < home && home <= j } else { hole < home || home <= j };
                if !stays {
                    *self.slot(hole) = s;
                    hole = j;
                }
            }
            (*self.slot(hole)).key = std::ptr::null();
            self.len -= 1;
            Some(Entry { key: old.key, value: old.value })
        }
    }
}

fn new_node(kind: u64, link: *mut u8, size: u64) -> *mut Dict {
    let d = region::alloc(size_of::<Dict>()) as *mut Dict;
    // SAFETY: freshly allocated.
    unsafe {
        d.write(Dict { kind, link, key: std::ptr::null(), value: 0, size, sorted: std::ptr::null() });
    }
    d
}

/// Makes `d` the current version of its dictionary; returns the table.
///
/// # Safety
/// `d` is a valid `Dict`.
unsafe fn reroot(d: *mut Dict) -> *mut Table {
    // SAFETY (whole body): every node reachable from a valid node is valid.
    unsafe {
        if (*d).kind == CURRENT {
            return (*d).link as *mut Table;
        }
        // Reverse the chain d → … → current so that each diff points back
        // toward `d` (no recursion, no allocation).
        let mut back: *mut Dict = std::ptr::null_mut();
        let mut node = d;
        while (*node).kind != CURRENT {
            let next = (*node).link as *mut Dict;
            (*node).link = back as *mut u8;
            back = node;
            node = next;
        }
        let table = (*node).link as *mut Table;
        // Walk back to `d`: apply each diff, and make the node it was
        // relative to the inverse diff.
        let mut newer = node;
        let mut diff = back;
        while !diff.is_null() {
            let toward_d = (*diff).link as *mut Dict;
            let key = (*diff).key;
            let previous =
                if (*diff).kind == DIFF_SET { (*table).set(key, (*diff).value) } else { (*table).remove(key) };
            match previous {
                Some(e) => {
                    (*newer).kind = DIFF_SET;
                    (*newer).key = e.key;
                    (*newer).value = e.value;
                }
                None => {
                    (*newer).kind = DIFF_DEL;
                    (*newer).key = key;
                }
            }
            (*newer).link = diff as *mut u8;
            (*diff).kind = CURRENT;
            (*diff).link = table as *mut u8;
            newer = diff;
            diff = toward_d;
        }
        table
    }
}

/// A new, empty dictionary.
pub fn empty() -> *mut Dict {
    new_node(CURRENT, Table::new() as *mut u8, 0)
}

/// `d` with `key` bound to `value`.
///
/// # Safety
/// `d` is a valid `Dict`, `key` a valid `Str`.
pub unsafe fn insert(d: *mut Dict, key: *const Str, value: Word) -> *mut Dict {
    // SAFETY (whole body): the caller's contract.
    unsafe {
        let table = reroot(d);
        let bytes = str_bytes(key);
        let h = hash((*table).seed, bytes);
        let previous = match (*table).find(bytes, h) {
            Some(i) if (*(*table).slot(i)).value == value => return d, // same contents: the same dictionary
            Some(i) => Some((*table).replace(i, value)),
            None => {
                (*table).add(key, h, value);
                None
            }
        };
        let new = new_node(CURRENT, table as *mut u8, (*table).len as u64);
        match previous {
            Some(e) => {
                (*d).kind = DIFF_SET;
                (*d).key = e.key;
                (*d).value = e.value;
            }
            None => {
                (*d).kind = DIFF_DEL;
                (*d).key = key;
            }
        }
        (*d).link = new as *mut u8;
        new
    }
}

/// `d` without `key`.
///
/// # Safety
/// As `insert`.
pub unsafe fn remove(d: *mut Dict, key: *const Str) -> *mut Dict {
    // SAFETY (whole body): the caller's contract.
    unsafe {
        let table = reroot(d);
        let Some(previous) = (*table).remove(key) else {
            return d;
        };
        let new = new_node(CURRENT, table as *mut u8, (*table).len as u64);
        (*d).kind = DIFF_SET;
        (*d).key = previous.key;
        (*d).value = previous.value;
        (*d).link = new as *mut u8;
        new
    }
}

/// The value bound to `key` in `d`.
///
/// # Safety
/// As `insert`.
pub unsafe fn get(d: *mut Dict, key: *const Str) -> Option<Word> {
    // SAFETY (whole body): the caller's contract.
    unsafe {
        if (*d).size == 0 {
            return None;
        }
        let table = reroot(d);
        let bytes = str_bytes(key);
        let i = (*table).find(bytes, hash((*table).seed, bytes))?;
        Some((*(*table).slot(i)).value)
    }
}

/// The number of entries of `d`.
///
/// # Safety
/// `d` is a valid `Dict`.
pub unsafe fn size(d: *const Dict) -> usize {
    // SAFETY: the caller's contract.
    unsafe { (*d).size as usize }
}

/// The entries of the dictionary `d` (a `Dict` word), sorted by key.
/// Computed once per version, then shared: the slice stays valid for the
/// whole invocation whatever happens to other versions.
///
/// # Safety
/// `d` is a valid `Dict`.
pub unsafe fn sorted_entries<'a>(d: Word) -> &'a [Entry] {
    let d = d as *mut Dict;
    // SAFETY (whole body): the caller's contract.
    unsafe {
        let n = (*d).size as usize;
        if n == 0 {
            return &[];
        }
        if (*d).sorted.is_null() {
            let table = &*reroot(d);
            let mut keyed: Vec<(u128, Entry)> = Vec::with_capacity(n);
            for i in 0..table.cap() {
                let s = *table.slot(i);
                if !s.key.is_null() {
                    keyed.push((prefix16(str_bytes(s.key)), Entry { key: s.key, value: s.value }));
                }
            }
            merge_sort(&mut keyed, |a, b| if a.0 != b.0 { a.0 < b.0 } else { str_bytes(a.1.key) < str_bytes(b.1.key) });
            let entries = region::alloc_words(n.saturating_mul(2)) as *mut Entry;
            for (i, (_, e)) in keyed.iter().take(n).enumerate() {
                *entries.add(i) = *e;
            }
            (*d).sorted = entries;
        }
        std::slice::from_raw_parts((*d).sorted, n)
    }
}

// ---- externs (`V` is passed as a type index and not needed) ----

/// `Dict.empty<V>() -> Dict<V>`.
#[unsafe(no_mangle)]
pub extern "C" fn dl_Dict_empty(_v: i64, _loc: *const Str) -> *mut Dict {
    crate::error::guard(|| {
        empty()
    })
}

/// `Dict.insert<V>(d, key, value) -> Dict<V>`.
///
/// # Safety
/// Valid `Dict` and `Str`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Dict_insert(
    d: *mut Dict,
    key: *const Str,
    value: Word,
    _v: i64,
    _loc: *const Str,
) -> *mut Dict {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        unsafe { insert(d, key, value) }
    })
}

/// `Dict.get<V>(d, key) -> Option<V>`.
///
/// # Safety
/// Valid `Dict` and `Str`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Dict_get(d: *mut Dict, key: *const Str, _v: i64, _loc: *const Str) -> *mut Word {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        option(unsafe { get(d, key) })
    })
}

/// `Dict.remove<V>(d, key) -> Dict<V>`.
///
/// # Safety
/// Valid `Dict` and `Str`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Dict_remove(d: *mut Dict, key: *const Str, _v: i64, _loc: *const Str) -> *mut Dict {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        unsafe { remove(d, key) }
    })
}

fn list_of(entries: &[Entry], pick: impl Fn(&Entry) -> Word) -> *mut List {
    let l = alloc_list(entries.len());
    for (i, e) in entries.iter().enumerate() {
        // SAFETY: `l` has room for every entry.
        unsafe { *(*l).items.add(i) = pick(e) };
    }
    l
}

/// `Dict.keys<V>(d) -> List<String>`, sorted.
///
/// # Safety
/// A valid `Dict`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Dict_keys(d: *mut Dict, _v: i64, _loc: *const Str) -> *mut List {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        list_of(unsafe { sorted_entries(d as Word) }, |e| e.key as Word)
    })
}

/// `Dict.values<V>(d) -> List<V>`, in key order.
///
/// # Safety
/// A valid `Dict`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Dict_values(d: *mut Dict, _v: i64, _loc: *const Str) -> *mut List {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        list_of(unsafe { sorted_entries(d as Word) }, |e| e.value)
    })
}

/// `Dict.size<V>(d) -> Int`.
///
/// # Safety
/// A valid `Dict`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dl_Dict_size(d: *mut Dict, _v: i64, _loc: *const Str) -> i64 {
    crate::error::guard(|| {
        // SAFETY: the caller's contract.
        unsafe { size(d) as i64 }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::testing::{s, text};
    use std::collections::BTreeMap;

    fn contents(d: *mut Dict) -> Vec<(String, u64)> {
        unsafe { sorted_entries(d as Word).iter().map(|e| (text(e.key), e.value)).collect() }
    }

    fn lookup(d: *mut Dict, k: &str) -> Option<u64> {
        unsafe { get(d, s(k)) }
    }

    #[test]
    fn older_versions_keep_their_contents() {
        unsafe {
            let d0 = empty();
            let d1 = insert(d0, s("b"), 2);
            let d2 = insert(d1, s("a"), 1);
            let d3 = insert(d2, s("b"), 20);
            let d4 = remove(d3, s("a"));
            let d5 = remove(d4, s("zzz"));
            assert_eq!(d5, d4);
            // Use them out of order, several times.
            for _ in 0..3 {
                assert_eq!(lookup(d2, "a"), Some(1));
                assert_eq!(lookup(d4, "a"), None);
                assert_eq!(lookup(d0, "b"), None);
                assert_eq!(lookup(d3, "b"), Some(20));
                assert_eq!(lookup(d1, "b"), Some(2));
                assert_eq!(contents(d2), vec![("a".into(), 1), ("b".into(), 2)]);
                assert_eq!(contents(d4), vec![("b".into(), 20)]);
                assert_eq!(size(d0), 0);
                assert_eq!(size(d3), 2);
            }
            // Branching from an old version leaves the others intact.
            let e = insert(d1, s("c"), 3);
            assert_eq!(contents(e), vec![("b".into(), 2), ("c".into(), 3)]);
            assert_eq!(lookup(d3, "c"), None);
            assert_eq!(lookup(d3, "a"), Some(1));
            assert_eq!(lookup(e, "c"), Some(3));
            assert_eq!(lookup(d1, "c"), None);
        }
    }

    #[test]
    fn random_operations_match_a_model_in_every_version() {
        let mut seed = 7u64;
        let mut rand = move |n: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let mut versions: Vec<(*mut Dict, BTreeMap<String, u64>)> = vec![(empty(), BTreeMap::new())];
        for step in 0..4000 {
            // Mostly linear use of the newest version, sometimes an old one.
            let from = if rand(10) == 0 { rand(versions.len() as u64) as usize } else { versions.len() - 1 };
            let (d, model) = versions[from].clone();
            let key = format!("k{}", rand(300));
            let (d2, mut m2) = (d, model.clone());
            let d2 = unsafe {
                if rand(4) == 0 {
                    m2.remove(&key);
                    remove(d2, s(&key))
                } else {
                    m2.insert(key.clone(), step);
                    insert(d2, s(&key), step)
                }
            };
            versions.push((d2, m2));
            if step % 97 == 0 {
                let (d, model) = &versions[rand(versions.len() as u64) as usize];
                let expected: Vec<(String, u64)> = model.iter().map(|(k, v)| (k.clone(), *v)).collect();
                assert_eq!(contents(*d), expected);
                assert_eq!(unsafe { size(*d) }, model.len());
            }
        }
        for (d, model) in versions.iter().rev().step_by(37) {
            for k in 0..300 {
                let key = format!("k{k}");
                assert_eq!(lookup(*d, &key), model.get(&key).copied());
            }
        }
    }

    #[test]
    fn linear_inserts_make_little_garbage() {
        region::reset();
        let keys: Vec<*mut Str> = (0..100_000).map(|i| s(&format!("key{i}"))).collect();
        let before = region::used();
        let mut d = empty();
        for (i, k) in keys.iter().enumerate() {
            d = unsafe { insert(d, *k, i as u64) };
        }
        let per_insert = (region::used() - before) / keys.len();
        // A 48-byte node plus the table (24-byte slots, load ≥ 3/8, and the
        // tables it outgrew).
        assert!(per_insert < 48 + 24 * 6, "{per_insert} bytes per insert");
        assert_eq!(unsafe { size(d) }, 100_000);
        assert_eq!(lookup(d, "key77777"), Some(77777));
    }
}
