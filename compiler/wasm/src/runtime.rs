//! The Wasm runtime: Distlang sources (`std-targets/wasm/runtime/`)
//! compiled by the same pipeline as programs, over the primitives of their
//! `Mem` module, which this backend emits inline or as host imports.
//!
//! A runtime function implements the runtime symbol of the same name,
//! lower-cased and without `dl_`: `list_push` is `dl_List_push`,
//! `str_concat` is `dl_str_concat`.

use std::collections::HashMap;

use dl_abi::Repr;
use dlc_core::ir::{self, Entries, FuncIdx};
use wasm_encoder::ValType;

/// The runtime's sources, embedded: `(module, file, text)`.
pub const SOURCES: &[(&str, &str, &str)] = &[
    ("Mem", "std-targets/wasm/runtime/mem.dl", include_str!("../../../std-targets/wasm/runtime/mem.dl")),
    ("Rt", "std-targets/wasm/runtime/rt.dl", include_str!("../../../std-targets/wasm/runtime/rt.dl")),
    ("RtText", "std-targets/wasm/runtime/text.dl", include_str!("../../../std-targets/wasm/runtime/text.dl")),
    ("RtCompare", "std-targets/wasm/runtime/compare.dl", include_str!("../../../std-targets/wasm/runtime/compare.dl")),
    ("RtDict", "std-targets/wasm/runtime/dict.dl", include_str!("../../../std-targets/wasm/runtime/dict.dl")),
    ("RtJson", "std-targets/wasm/runtime/json.dl", include_str!("../../../std-targets/wasm/runtime/json.dl")),
    ("RtStore", "std-targets/wasm/runtime/store.dl", include_str!("../../../std-targets/wasm/runtime/store.dl")),
    ("RtCrypto", "std-targets/wasm/runtime/crypto.dl", include_str!("../../../std-targets/wasm/runtime/crypto.dl")),
];

/// The module of primitives; every other runtime module implements symbols.
const PRIMITIVES: &str = "Mem";

/// The runtime, lowered.
pub struct Runtime {
    pub module: ir::Module,
    implementations: HashMap<String, FuncIdx>,
}

impl Runtime {
    /// Compiles runtime sources (`SOURCES`, or a working copy of them);
    /// their diagnostics, rendered, if they do not compile.
    pub fn compile(sources: &[(&str, &str, &str)]) -> Result<Runtime, String> {
        let compilation = dlc_core::compile_runtime(sources);
        let (Some(program), Some(manifest)) = (&compilation.program, &compilation.manifest) else {
            return Err(format!("the Wasm runtime does not compile:\n{}", compilation.render_diagnostics(false)));
        };
        let modules: Vec<&str> = sources.iter().map(|s| s.0).filter(|&m| m != PRIMITIVES).collect();
        let mut names = Vec::new();
        let mut functions = Vec::new();
        for (i, f) in program.functions.iter().enumerate() {
            if f.module.as_deref().is_some_and(|m| modules.contains(&m)) && f.body.is_some() && f.generics.is_empty() {
                // A function implements the symbol of its name, whatever its module.
                if names.contains(&f.name.to_lowercase()) {
                    return Err(format!("the Wasm runtime defines `{}` twice: each name is one runtime symbol", f.name));
                }
                names.push(f.name.to_lowercase());
                functions.push(dlc_core::check::typed::FnId(i as u32));
            }
        }
        let entries = Entries { program: false, tests: false, functions };
        let module = ir::lower(program, manifest, &compilation.sources, &entries)
            .map_err(|d| format!("the Wasm runtime does not lower:\n{}", dlc_core::diagnostic::render(&d, &compilation.sources, false)))?;
        // Its type indices would index the *program's* type table.
        for f in &module.functions {
            let mut uses = Vec::new();
            crate::walk::block(&f.body, &mut uses);
            let typed = |u: &crate::walk::Use| match u {
                crate::walk::Use::Type => true,
                crate::walk::Use::TypeTo(e) => Primitive::of(&module.externs[e.0 as usize].symbol).is_none(),
                _ => false,
            };
            if uses.iter().any(typed) {
                return Err(format!(
                    "the Wasm runtime's `{}` uses an operation that needs the type table (interpolation of a non-String, `==` on structures, `debug`)",
                    f.name
                ));
            }
        }
        let implementations = names.into_iter().zip(module.entries.iter().copied()).collect();
        Ok(Runtime { module, implementations })
    }

    /// The function implementing a runtime symbol.
    pub fn implementation(&self, symbol: &str) -> Option<FuncIdx> {
        let name = symbol.strip_prefix("dl_").unwrap_or(symbol).to_lowercase();
        self.implementations.get(&name).copied()
    }

    /// Every symbol it implements (`dl_` + the function's name).
    pub fn symbols(&self) -> impl Iterator<Item = &str> {
        self.implementations.keys().map(String::as_str)
    }
}

/// The runtime compiled from its embedded sources, once per thread (the
/// IR is not `Sync`; `dlc` compiles on one thread).
pub fn embedded() -> Result<&'static Runtime, String> {
    thread_local! {
        static RUNTIME: std::cell::OnceCell<Result<&'static Runtime, String>> = const { std::cell::OnceCell::new() };
    }
    RUNTIME.with(|cell| cell.get_or_init(|| Runtime::compile(SOURCES).map(|r| &*Box::leak(Box::new(r)))).clone())
}

/// What the host gives the module: the `dl` imports, in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    /// `(fd, text: Str*)`: bytes to stdout (1) or stderr (2).
    Write,
    /// `(message: Str*) -> !`: ends the invocation with a runtime error.
    Throw,
    /// `() -> Int`: milliseconds since the Unix epoch.
    Now,
    /// `() -> Int`: 64 random bits.
    Random,
    /// `(x, y) -> Float`: C's `fmod`.
    Fmod,
    /// `(x, y) -> Float`: C's `pow`.
    Pow,
    /// `(x, out) -> len`: `x` as `dl_format_into` writes it, at most 32 bytes at `out`.
    FloatFormat,
    /// `(text: Str*, out) -> ok`: parses a `Float` into the word at `out`.
    FloatParse,
    /// `(text: Str*, upper, out) -> len`: Unicode case mapping, at most
    /// three times `text`'s bytes at `out`.
    CaseMap,
    /// `(kind, key: Str*, text: Str*, out) -> len`: SHA-256 (kind 0) or
    /// HMAC-SHA256 under `key` (1) of `text` in hex, or the HMAC in
    /// base64url (2), at most 64 bytes at `out`.
    Digest,
    /// `(kind, text: Str*, out) -> len`: `text`'s bytes base64-encoded
    /// (kind 0; URL-safe unpadded, 2), or decoded (1; URL-safe, 3), at
    /// `out`, which has room for the result; -1 if `text` is not base64,
    /// -2 if the bytes are not UTF-8.
    Base64,
    /// `(kind, password: Str*, hash: Str*, out) -> n`: a new scrypt PHC
    /// string for `password` (kind 0, at most 128 bytes at `out`, its
    /// length), or whether `password` made `hash` (1: 1 or 0).
    Password,
    /// `(store, key: Str*) -> Str*`: the stored value's JSON text, or 0.
    StoreGet,
    /// `(store, key: Str*, json: Str*) -> Str* or 0`: sets the key's value
    /// and its entries in the store's indexes; the error (0: none) when a
    /// unique index has the value for another key.
    StorePut,
    /// `(store, key: Str*) -> existed`.
    StoreDelete,
    /// `(store) -> Int`: how many keys.
    StoreCount,
    /// `(store, prefix: Str*, after: Str* or 0, limit or -1, reverse) -> n`:
    /// the rows whose key starts with `prefix`, in key order or reversed,
    /// after the key `after` in that order, at most `limit`; read with
    /// `StoreRow` until the next scan.
    StoreScan,
    /// `(store, index, value, prefix: Str*, after: Str* or 0, limit,
    /// reverse) -> n`: as `StoreScan`, the rows whose value in the store's
    /// index `index` is `value` (a word of the index's type).
    StoreIndexScan,
    /// `(i, which) -> Str*`: the key (`which` 0) or JSON text (1) of the
    /// last scan's row `i`.
    StoreRow,
    /// `(index) -> Str*`: the value of the program's secret `index`.
    Secret,
}

impl Host {
    pub const ALL: [Host; 20] = [
        Host::Write,
        Host::Throw,
        Host::Now,
        Host::Random,
        Host::Fmod,
        Host::Pow,
        Host::FloatFormat,
        Host::FloatParse,
        Host::CaseMap,
        Host::Digest,
        Host::Base64,
        Host::Password,
        Host::StoreGet,
        Host::StorePut,
        Host::StoreDelete,
        Host::StoreCount,
        Host::StoreScan,
        Host::StoreIndexScan,
        Host::StoreRow,
        Host::Secret,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Host::Write => "write",
            Host::Throw => "throw",
            Host::Now => "now",
            Host::Random => "random",
            Host::Fmod => "fmod",
            Host::Pow => "pow",
            Host::FloatFormat => "float_format",
            Host::FloatParse => "float_parse",
            Host::CaseMap => "case_map",
            Host::Digest => "digest",
            Host::Base64 => "base64",
            Host::Password => "password",
            Host::StoreGet => "store_get",
            Host::StorePut => "store_put",
            Host::StoreDelete => "store_delete",
            Host::StoreCount => "store_count",
            Host::StoreScan => "store_scan",
            Host::StoreIndexScan => "store_index_scan",
            Host::StoreRow => "store_row",
            Host::Secret => "secret_value",
        }
    }

    pub fn index(self) -> u32 {
        Host::ALL.iter().position(|&h| h == self).unwrap_or(0) as u32
    }

    pub fn params(self) -> &'static [Repr] {
        use Repr::{Float as F, Word as W};
        match self {
            Host::Write | Host::FloatParse | Host::StoreGet | Host::StoreDelete | Host::StoreRow => &[W, W],
            Host::StoreScan => &[W, W, W, W, W],
            Host::StoreIndexScan => &[W, W, W, W, W, W, W],
            Host::Throw | Host::StoreCount | Host::Secret => &[W],
            Host::Now | Host::Random => &[],
            Host::Fmod | Host::Pow => &[F, F],
            Host::FloatFormat => &[F, W],
            Host::CaseMap | Host::StorePut | Host::Base64 => &[W, W, W],
            Host::Digest | Host::Password => &[W, W, W, W],
        }
    }

    pub fn result(self) -> Option<Repr> {
        match self {
            Host::Write | Host::Throw => None,
            Host::Fmod | Host::Pow => Some(Repr::Float),
            Host::Now
            | Host::Random
            | Host::FloatFormat
            | Host::FloatParse
            | Host::CaseMap
            | Host::Digest
            | Host::Base64
            | Host::Password
            | Host::StoreGet
            | Host::StorePut
            | Host::StoreDelete
            | Host::StoreCount
            | Host::StoreScan
            | Host::StoreIndexScan
            | Host::StoreRow
            | Host::Secret => Some(Repr::Word),
        }
    }

    pub fn signature(self) -> (Vec<ValType>, Vec<ValType>) {
        (self.params().iter().map(|&r| crate::val_type(r)).collect(), self.result().map(crate::val_type).into_iter().collect())
    }
}

/// A primitive of the `Mem` module (`std-targets/wasm/runtime/mem.dl`
/// documents each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Primitive {
    /// Reinterprets a word (`word`, `value`, `float_bits`, `float_from_bits`).
    Same(Repr, Repr),
    Load,
    Store,
    LoadByte,
    StoreByte,
    LoadU32,
    Copy,
    Heap,
    SetHeap,
    HeapBase,
    TypeTable,
    Descriptor,
    State,
    Pages,
    Grow,
    And,
    Or,
    Xor,
    Shl,
    ShrU,
    Add,
    Mul,
    LtU,
    Sqrt,
    Floor,
    Ceil,
    Trunc,
    FloatToInt,
    IntToFloat,
    Host(Host),
}

impl Primitive {
    pub fn of(symbol: &str) -> Option<Primitive> {
        use Primitive::*;
        let name = symbol.strip_prefix("dl_Mem_")?;
        Some(match name {
            "word" => Same(Repr::Word, Repr::Word),
            "value" => Same(Repr::Word, Repr::Word),
            "float_bits" => Same(Repr::Float, Repr::Word),
            "float_from_bits" => Same(Repr::Word, Repr::Float),
            "load" => Load,
            "put" => Store,
            "load_byte" => LoadByte,
            "put_byte" => StoreByte,
            "load_u32" => LoadU32,
            "copy" => Copy,
            "heap" => Heap,
            "set_heap" => SetHeap,
            "heap_base" => HeapBase,
            "type_table" => TypeTable,
            "descriptor" => Descriptor,
            "state" => State,
            "pages" => Pages,
            "grow" => Grow,
            "and" => And,
            "or" => Or,
            "xor" => Xor,
            "shl" => Shl,
            "shr_u" => ShrU,
            "add" => Add,
            "mul" => Mul,
            "lt_u" => LtU,
            "sqrt" => Sqrt,
            "floor" => Floor,
            "ceil" => Ceil,
            "trunc" => Trunc,
            "float_to_int" => FloatToInt,
            "int_to_float" => IntToFloat,
            _ => Primitive::Host(*self::Host::ALL.iter().find(|h| h.name() == name)?),
        })
    }

    /// The representations of its arguments (the first ones of the call:
    /// type indices and `loc` follow, unused) and of its result.
    pub fn signature(self) -> (&'static [Repr], Option<Repr>) {
        use Primitive::*;
        use Repr::{Float as F, Word as W};
        match self {
            Same(W, W) => (&[W], Some(W)),
            Same(F, _) => (&[F], Some(W)),
            Same(_, _) => (&[W], Some(F)),
            Load | LoadByte | LoadU32 | Grow => (&[W], Some(W)),
            Store | StoreByte => (&[W, W], None),
            Copy => (&[W, W, W], None),
            Heap | HeapBase | TypeTable | Descriptor | State | Pages => (&[], Some(W)),
            SetHeap => (&[W], None),
            And | Or | Xor | Shl | ShrU | Add | Mul | LtU => (&[W, W], Some(W)),
            Sqrt | Floor | Ceil | Trunc => (&[F], Some(F)),
            FloatToInt => (&[F], Some(W)),
            IntToFloat => (&[W], Some(F)),
            Host(host) => (host.params(), host.result()),
        }
    }
}
