//! The runtime ABI, defined once: what compiled code (object files, the
//! JIT, Wasm modules) and the runtimes (`vm/`, the Wasm runtime) agree on.
//! Every consumer reads these definitions; none writes them down again.
//! `vm/README.md` explains them in prose.
//!
//! Both targets keep one 64-bit word per value (on Wasm a pointer is a
//! 32-bit address zero-extended to a word), so type tables, the descriptor
//! and object layouts are byte-for-byte the same on every target.

/// Bytes in one value's word.
pub const WORD: u32 = 8;

/// How a value crosses a call: a `Float` as a float, anything else as a
/// 64-bit word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Repr {
    Word,
    Float,
}

/// A function of the runtime that compiled code calls by symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuntimeFn {
    pub symbol: &'static str,
    pub params: &'static [Repr],
    /// `None`: returns nothing; it may also never return.
    pub ret: Option<Repr>,
}

const W: Repr = Repr::Word;

macro_rules! runtime_fns {
    ($($(#[$doc:meta])* $name:ident = $symbol:literal ($($p:expr),*) $(-> $ret:expr)?;)*) => {
        $($(#[$doc])* pub const $name: RuntimeFn = RuntimeFn { symbol: $symbol, params: &[$($p),*], ret: runtime_fns!(@ret $($ret)?) };)*
        /// Every function the compiler calls by itself (not through an
        /// `extern fn` of the stdlib).
        pub const RUNTIME_FNS: &[RuntimeFn] = &[$($name),*];
    };
    (@ret) => { None };
    (@ret $ret:expr) => { Some($ret) };
}

runtime_fns! {
    /// `(bytes) -> ptr`: 8-aligned memory in the invocation's region.
    ALLOC = "dl_alloc"(W) -> W;
    /// `(len) -> List*`: items uninitialised, filled in by the caller.
    LIST_ALLOC = "dl_list_alloc"(W) -> W;
    STR_CONCAT = "dl_str_concat"(W, W) -> W;
    LIST_CONCAT = "dl_list_concat"(W, W) -> W;
    /// `(a, b) -> Bool`.
    STR_EQ = "dl_str_eq"(W, W) -> W;
    /// `(a, b) -> -1 | 0 | 1`.
    STR_CMP = "dl_str_cmp"(W, W) -> W;
    /// `(a, b, type, loc) -> Bool`: structural.
    EQ = "dl_eq"(W, W, W, W) -> W;
    /// `(a, b, type, loc) -> -1 | 0 | 1`.
    CMP = "dl_cmp"(W, W, W, W) -> W;
    /// `(out, value, type) -> Str*`: `out` followed by `value` in literal syntax.
    FORMAT_INTO = "dl_format_into"(W, W, W) -> W;
    /// `(kind, loc) -> !`: a [`FailKind`].
    FAIL = "dl_fail"(W, W);
    /// `(message, loc) -> !`: a cron's `?` met `Err(message)`.
    FAIL_MESSAGE = "dl_fail_message"(W, W);
    /// `(written, left, right, type or -1, loc) -> !`.
    ASSERT_FAILED = "dl_assert_failed"(W, W, W, W, W);
    /// `(index) -> Str*`: a secret's value.
    SECRET = "dl_secret_value"(W) -> W;
    /// C's `fmod`: `Float`'s `%`.
    FLOAT_REM = "fmod"(Repr::Float, Repr::Float) -> Repr::Float;
}

/// The runtime's symbol for an `extern fn` of the stdlib: `dl_print`,
/// `dl_String_upper` (arguments: the declared parameters, then one type
/// index per generic parameter, then `loc`).
pub fn extern_symbol(module: Option<&str>, name: &str) -> String {
    match module {
        Some(module) => format!("dl_{module}_{name}"),
        None => format!("dl_{name}"),
    }
}

/// The runtime errors compiled code raises itself (`dl_fail`'s kinds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailKind {
    Overflow = 0,
    DivisionByZero = 1,
    Assertion = 2,
    StackOverflow = 3,
    Unreachable = 4,
}

impl FailKind {
    pub const ALL: [FailKind; 5] = [
        FailKind::Overflow,
        FailKind::DivisionByZero,
        FailKind::Assertion,
        FailKind::StackOverflow,
        FailKind::Unreachable,
    ];

    pub fn from_word(word: i64) -> Option<FailKind> {
        FailKind::ALL.get(usize::try_from(word).ok()?).copied()
    }

    /// What the runtime error says, before ` at file:line:col`.
    pub fn message(self) -> &'static str {
        match self {
            FailKind::Overflow => "integer overflow",
            FailKind::DivisionByZero => "division by zero",
            FailKind::Assertion => "assertion failed",
            FailKind::StackOverflow => "stack overflow",
            FailKind::Unreachable => "unreachable code",
        }
    }
}

/// What an entry point does to the stores (from the manifest), so the
/// runtime opens the transaction it needs: a write one, a read one, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Writes = 0,
    Reads = 1,
    None = 2,
}

impl Access {
    /// Anything unknown is treated as writing: the safe side.
    pub fn from_word(word: u64) -> Access {
        match word {
            1 => Access::Reads,
            2 => Access::None,
            _ => Access::Writes,
        }
    }
}

/// Native invocation stacks: `SIZE` bytes aligned to `SIZE`, so the stack
/// left is `sp % SIZE`; compiled functions fail with
/// [`FailKind::StackOverflow`] on entry when it is below `MARGIN`.
pub mod stack {
    pub const SIZE: u64 = 64 << 20;
    pub const MARGIN: u64 = 1 << 20;
}

/// Object layouts, as word indices.
pub mod layout {
    /// `Str { len (bytes), ptr, buf or 0 }`; a literal is
    /// `[len, ptr = self + STR_BYTES, 0, bytes…]`.
    pub const STR_LEN: u32 = 0;
    pub const STR_PTR: u32 = 1;
    pub const STR_BUF: u32 = 2;
    pub const STR_BYTES: u32 = 24;
    /// `List { len, items, buf or 0 }`; item `i` is `items[i]`.
    pub const LIST_LEN: u32 = 0;
    pub const LIST_ITEMS: u32 = 1;
    pub const LIST_BUF: u32 = 2;
    /// A closure: `[code, captured words…]`.
    pub const CLOSURE_CODE: u32 = 0;
    /// An enum: `[tag, payload words…]`.
    pub const ENUM_TAG: u32 = 0;
    pub const SOME: u64 = 0;
    pub const NONE: u64 = 1;
    pub const OK: u64 = 0;
    pub const ERR: u64 = 1;
}

/// The kinds of a type table's entries (`vm/README.md`, "Type descriptors").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeTag {
    Int = 0,
    Float = 1,
    Bool = 2,
    String = 3,
    List = 4,
    Dict = 5,
    Tuple = 6,
    Record = 7,
    Enum = 8,
    Function = 9,
}

impl TypeTag {
    pub fn from_word(word: u32) -> Option<TypeTag> {
        use TypeTag::*;
        [Int, Float, Bool, String, List, Dict, Tuple, Record, Enum, Function].get(word as usize).copied()
    }
}

/// The service descriptor: words, counts first, then the entries.
pub mod descriptor {
    /// `n_routes n_crons n_stores n_secrets n_tests main-or-0 n_origins
    /// n_indexes`.
    pub const HEADER_WORDS: usize = 8;
    /// `method path code access`.
    pub const ROUTE_WORDS: usize = 4;
    /// `name schedule code access`.
    pub const CRON_WORDS: usize = 4;
    /// `name value-type`.
    pub const STORE_WORDS: usize = 2;
    /// `name`.
    pub const SECRET_WORDS: usize = 1;
    /// `name code`.
    pub const TEST_WORDS: usize = 2;
    /// `origin`: what `cors` allows (`*`: any).
    pub const ORIGIN_WORDS: usize = 1;
    /// `store field slot key flags`: an index of the store at position
    /// `store` on the record field named `field` at position `slot`, whose
    /// values have the type tag `key` (`Int`, `Bool` or `String`); `flags`
    /// are `INDEX_UNIQUE` and `INDEX_EACH`. A store's indexes come in its
    /// declaration order, which is each one's position (`index_get`'s
    /// `index`).
    pub const INDEX_WORDS: usize = 5;
    /// At most one key per value.
    pub const INDEX_UNIQUE: u64 = 1;
    /// The field is a `List`, and each of its elements is indexed.
    pub const INDEX_EACH: u64 = 2;
}

/// Symbols of a program's entry into its runtime.
pub mod entry {
    /// `(types, main, argc, argv) -> status`: a script.
    pub const RUN_MAIN: &str = "dl_run_main";
    /// `(types, descriptor, argc, argv) -> status`: a service.
    pub const RUN_PROGRAM: &str = "dl_run_program";
}
