//! Type descriptors: the program's type table (format in README.md) parsed
//! into a `Types`, installed once per process by `dl_run_main`.
//!
//! The runtime's type-directed operations take `&Types` explicitly, so unit
//! tests can use tables of their own; the externs read the installed one.

use std::sync::atomic::{AtomicPtr, Ordering};

use dl_abi::TypeTag;

/// A type index, as the table numbers its entries.
pub type TypeIdx = u32;

pub enum Ty {
    Int,
    Float,
    Bool,
    Str,
    List(TypeIdx),
    Dict(TypeIdx),
    /// `Unit` is the empty tuple (its value is the word 0, not a pointer).
    Tuple(Box<[TypeIdx]>),
    Record {
        name: Box<str>,
        fields: Box<[(Box<str>, TypeIdx)]>,
        /// Each field's JSON key (its name unless `@json` maps it).
        keys: Box<[Box<str>]>,
        /// Each field's default as JSON text (`views: Int = 0`), if any.
        defaults: Box<[Option<Box<str>>]>,
    },
    /// `option`: this is the prelude's `Option` (JSON `null` / the payload).
    Enum {
        name: Box<str>,
        variants: Box<[Variant]>,
        option: bool,
    },
    Func,
}

pub struct Variant {
    pub name: Box<str>,
    pub fields: Box<[TypeIdx]>,
}

pub struct Types {
    tys: Vec<Ty>,
    /// Per type: no function and no `Float` inside, so two values at the
    /// same address are equal without looking.
    plain: Vec<bool>,
}

impl Types {
    pub const fn empty() -> Types {
        Types { tys: Vec::new(), plain: Vec::new() }
    }

    /// Parses a table in the README's format.
    ///
    /// # Safety
    /// `table` points to a well-formed table (it carries no length, so it is
    /// trusted as the compiler's output).
    pub unsafe fn parse(table: *const u32) -> Types {
        // SAFETY: the caller's contract.
        let word = |i: usize| -> u32 { unsafe { table.add(i).read_unaligned() } };
        let count = word(0) as usize;
        let mut tys = Vec::with_capacity(count);
        for i in 0..count {
            let mut at = word(1 + i) as usize;
            let mut next = || {
                let w = word(at);
                at += 1;
                w
            };
            let ty = match TypeTag::from_word(next()) {
                Some(TypeTag::Int) => Ty::Int,
                Some(TypeTag::Float) => Ty::Float,
                Some(TypeTag::Bool) => Ty::Bool,
                Some(TypeTag::String) => Ty::Str,
                Some(TypeTag::List) => Ty::List(next()),
                Some(TypeTag::Dict) => Ty::Dict(next()),
                Some(TypeTag::Tuple) => {
                    let n = next();
                    Ty::Tuple((0..n).map(|_| next()).collect())
                }
                Some(TypeTag::Record) => {
                    let name = read_name(&mut next);
                    let n = next();
                    let fields = (0..n)
                        .map(|_| {
                            let field = read_name(&mut next);
                            (field, next())
                        })
                        .collect();
                    let keys = (0..n).map(|_| read_name(&mut next)).collect();
                    let defaults = (0..n).map(|_| Some(read_name(&mut next)).filter(|d| !d.is_empty())).collect();
                    Ty::Record { name, fields, keys, defaults }
                }
                Some(TypeTag::Enum) => {
                    let name = read_name(&mut next);
                    let n = next();
                    let variants: Box<[Variant]> = (0..n)
                        .map(|_| {
                            let name = read_name(&mut next);
                            let k = next();
                            Variant { name, fields: (0..k).map(|_| next()).collect() }
                        })
                        .collect();
                    let option = &*name == "Option"
                        && variants.len() == 2
                        && &*variants[0].name == "Some"
                        && variants[0].fields.len() == 1
                        && &*variants[1].name == "None"
                        && variants[1].fields.is_empty();
                    Ty::Enum { name, variants, option }
                }
                Some(TypeTag::Function) | None => Ty::Func,
            };
            tys.push(ty);
        }
        let plain = plain_types(&tys);
        Types { tys, plain }
    }

    /// The descriptor of type `idx`.
    #[inline]
    pub fn get(&self, idx: TypeIdx) -> &Ty {
        match self.tys.get(idx as usize) {
            Some(ty) => ty,
            None => crate::error::fail_no_loc("internal error: invalid type index"),
        }
    }

    /// Whether values of the type have no function or `Float` inside.
    #[inline]
    pub fn is_plain(&self, idx: TypeIdx) -> bool {
        self.plain.get(idx as usize).copied().unwrap_or(false)
    }

    /// The type as a programmer writes it, for messages: `List<Int>`,
    /// `(Int, String)`; records and enums by name.
    pub fn name(&self, idx: TypeIdx) -> String {
        let mut out = String::new();
        self.write_name(&mut out, idx);
        out
    }

    fn write_name(&self, out: &mut String, idx: TypeIdx) {
        match self.get(idx) {
            Ty::Int => out.push_str("Int"),
            Ty::Float => out.push_str("Float"),
            Ty::Bool => out.push_str("Bool"),
            Ty::Str => out.push_str("String"),
            Ty::List(e) => {
                out.push_str("List<");
                self.write_name(out, *e);
                out.push('>');
            }
            Ty::Dict(v) => {
                out.push_str("Dict<");
                self.write_name(out, *v);
                out.push('>');
            }
            Ty::Tuple(items) if items.is_empty() => out.push_str("Unit"),
            Ty::Tuple(items) => {
                out.push('(');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.write_name(out, *item);
                }
                out.push(')');
            }
            Ty::Record { name, .. } => out.push_str(name),
            Ty::Enum { name, variants, option: true } => {
                out.push_str(name);
                out.push('<');
                self.write_name(out, variants[0].fields[0]);
                out.push('>');
            }
            Ty::Enum { name, .. } => out.push_str(name),
            Ty::Func => out.push_str("function"),
        }
    }
}

fn read_name(next: &mut impl FnMut() -> u32) -> Box<str> {
    let len = next() as usize;
    let mut bytes = Vec::with_capacity(len);
    for _ in 0..len.div_ceil(4) {
        bytes.extend_from_slice(&next().to_le_bytes());
    }
    bytes.truncate(len);
    String::from_utf8_lossy(&bytes).into()
}

/// The greatest fixpoint of "no function or Float inside".
fn plain_types(tys: &[Ty]) -> Vec<bool> {
    let mut plain: Vec<bool> = tys.iter().map(|ty| !matches!(ty, Ty::Float | Ty::Func)).collect();
    let is = |plain: &[bool], i: TypeIdx| plain.get(i as usize).copied().unwrap_or(false);
    loop {
        let mut changed = false;
        for (i, ty) in tys.iter().enumerate() {
            if !plain[i] {
                continue;
            }
            let ok = match ty {
                Ty::List(e) | Ty::Dict(e) => is(&plain, *e),
                Ty::Tuple(items) => items.iter().all(|t| is(&plain, *t)),
                Ty::Record { fields, .. } => fields.iter().all(|(_, t)| is(&plain, *t)),
                Ty::Enum { variants, .. } => variants.iter().all(|v| v.fields.iter().all(|t| is(&plain, *t))),
                _ => true,
            };
            if !ok {
                plain[i] = false;
                changed = true;
            }
        }
        if !changed {
            return plain;
        }
    }
}

static EMPTY: Types = Types::empty();
static INSTALLED: AtomicPtr<Types> = AtomicPtr::new(std::ptr::null_mut());

thread_local! {
    /// The types of the program whose invocation runs on this thread, when
    /// a host runs several programs (`with_types`); else the installed ones.
    static CURRENT: std::cell::Cell<*const Types> = const { std::cell::Cell::new(std::ptr::null()) };
}

/// Parses a program's type table once, for good (tables are leaked: a
/// process parses one per program it loads).
///
/// # Safety
/// As `Types::parse`.
pub unsafe fn leak(table: *const u32) -> &'static Types {
    // SAFETY: the caller's contract.
    Box::leak(Box::new(unsafe { Types::parse(table) }))
}

/// Makes `table` the process's types, those of its one program.
///
/// # Safety
/// As `Types::parse`.
pub unsafe fn install(table: *const u32) {
    if table.is_null() {
        return;
    }
    // SAFETY: the caller's contract.
    let types = unsafe { leak(table) };
    INSTALLED.store(types as *const Types as *mut Types, Ordering::Release);
}

/// Runs `body` with `types` as this thread's types.
pub fn with_types<R>(types: &'static Types, body: impl FnOnce() -> R) -> R {
    let outer = CURRENT.with(|c| c.replace(types));
    struct Restore(*const Types);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(outer);
    body()
}

/// The types of the program running on this thread (empty before any).
#[inline]
pub fn installed() -> &'static Types {
    let current = CURRENT.with(|c| c.get());
    let p = if current.is_null() { INSTALLED.load(Ordering::Acquire).cast_const() } else { current };
    if p.is_null() {
        &EMPTY
    } else {
        // SAFETY: tables are leaked, never freed.
        unsafe { &*p }
    }
}

/// A type index argument of an extern.
#[inline]
pub fn index(t: i64) -> TypeIdx {
    match u32::try_from(t) {
        Ok(i) => i,
        Err(_) => crate::error::fail_no_loc("internal error: invalid type index"),
    }
}

/// Builds tables for tests.
#[cfg(test)]
pub mod build {
    use super::*;

    #[derive(Default)]
    pub struct Table {
        entries: Vec<Vec<u32>>,
    }

    fn push_name(out: &mut Vec<u32>, name: &str) {
        out.push(name.len() as u32);
        for chunk in name.as_bytes().chunks(4) {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            out.push(u32::from_le_bytes(word));
        }
    }

    impl Table {
        pub fn add(&mut self, entry: Vec<u32>) -> u32 {
            self.entries.push(entry);
            self.entries.len() as u32 - 1
        }
        /// An entry to fill in later with `set` (recursive types).
        pub fn reserve(&mut self) -> u32 {
            self.add(Vec::new())
        }
        pub fn set(&mut self, idx: u32, entry: Vec<u32>) {
            self.entries[idx as usize] = entry;
        }
        pub fn int(&mut self) -> u32 {
            self.add(vec![0])
        }
        pub fn float(&mut self) -> u32 {
            self.add(vec![1])
        }
        pub fn bool(&mut self) -> u32 {
            self.add(vec![2])
        }
        pub fn string(&mut self) -> u32 {
            self.add(vec![3])
        }
        pub fn list(&mut self, elem: u32) -> u32 {
            self.add(vec![4, elem])
        }
        pub fn dict(&mut self, value: u32) -> u32 {
            self.add(vec![5, value])
        }
        pub fn tuple(&mut self, items: &[u32]) -> u32 {
            let mut e = vec![6, items.len() as u32];
            e.extend_from_slice(items);
            self.add(e)
        }
        pub fn func(&mut self) -> u32 {
            self.add(vec![9])
        }
        pub fn record_entry(name: &str, fields: &[(&str, u32)]) -> Vec<u32> {
            let mut e = vec![7];
            push_name(&mut e, name);
            e.push(fields.len() as u32);
            for (field, ty) in fields {
                push_name(&mut e, field);
                e.push(*ty);
            }
            for (field, _) in fields {
                push_name(&mut e, field);
            }
            for _ in fields {
                push_name(&mut e, "");
            }
            e
        }
        pub fn record(&mut self, name: &str, fields: &[(&str, u32)]) -> u32 {
            self.add(Self::record_entry(name, fields))
        }
        pub fn enum_entry(name: &str, variants: &[(&str, &[u32])]) -> Vec<u32> {
            let mut e = vec![8];
            push_name(&mut e, name);
            e.push(variants.len() as u32);
            for (variant, fields) in variants {
                push_name(&mut e, variant);
                e.push(fields.len() as u32);
                e.extend_from_slice(fields);
            }
            e
        }
        pub fn enumeration(&mut self, name: &str, variants: &[(&str, &[u32])]) -> u32 {
            self.add(Self::enum_entry(name, variants))
        }
        pub fn option(&mut self, t: u32) -> u32 {
            self.enumeration("Option", &[("Some", &[t]), ("None", &[])])
        }
        pub fn result(&mut self, t: u32, e: u32) -> u32 {
            self.enumeration("Result", &[("Ok", &[t]), ("Err", &[e])])
        }

        pub fn encode(&self) -> Vec<u32> {
            let mut table = vec![self.entries.len() as u32];
            let mut offset = 1 + self.entries.len();
            for entry in &self.entries {
                table.push(offset as u32);
                offset += entry.len();
            }
            for entry in &self.entries {
                table.extend_from_slice(entry);
            }
            table
        }

        pub fn types(&self) -> Types {
            let table = self.encode();
            // SAFETY: a well-formed table.
            unsafe { Types::parse(table.as_ptr()) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::build::Table;
    use super::*;

    #[test]
    fn parses_every_kind_and_names_types() {
        let mut t = Table::default();
        let int = t.int();
        let string = t.string();
        let list = t.list(int);
        let pair = t.tuple(&[int, string]);
        let unit = t.tuple(&[]);
        let opt = t.option(int);
        let point = t.record("Point", &[("x", int), ("y", int)]);
        let f = t.func();
        let dict = t.dict(list);
        let types = t.types();
        assert_eq!(types.name(list), "List<Int>");
        assert_eq!(types.name(pair), "(Int, String)");
        assert_eq!(types.name(unit), "Unit");
        assert_eq!(types.name(opt), "Option<Int>");
        assert_eq!(types.name(point), "Point");
        assert_eq!(types.name(dict), "Dict<List<Int>>");
        assert_eq!(types.name(f), "function");
        match types.get(point) {
            Ty::Record { name, fields, keys, .. } => {
                assert_eq!(&**name, "Point");
                assert_eq!(&*fields[1].0, "y");
                assert_eq!(&*keys[1], "y");
            }
            _ => panic!("not a record"),
        }
        assert!(matches!(types.get(opt), Ty::Enum { option: true, .. }));
    }

    #[test]
    fn plain_types_exclude_floats_and_functions_recursively() {
        let mut t = Table::default();
        let int = t.int();
        let float = t.float();
        let f = t.func();
        let tree = t.reserve();
        t.set(tree, Table::enum_entry("Tree", &[("Leaf", &[]), ("Node", &[tree, int, tree])]));
        let ftree = t.reserve();
        t.set(ftree, Table::enum_entry("FTree", &[("Leaf", &[f]), ("Node", &[ftree])]));
        let list = t.list(float);
        let types = t.types();
        assert!(types.is_plain(int));
        assert!(types.is_plain(tree));
        assert!(!types.is_plain(ftree));
        assert!(!types.is_plain(list));
    }
}
