//! The mid-level IR both backends lower from: monomorphic, in A-normal form,
//! with structured control flow.
//!
//! - *Monomorphic*: every generic function is instantiated per type
//!   arguments ([`lower`]), so every variable has a concrete type and
//!   type-dependent operations name their type in the [`TypeTable`].
//! - *A-normal form*: operands are variables or constants; every
//!   intermediate value has a variable. Variables are mutable slots (the
//!   Cranelift backend turns them into SSA values, the Wasm one into locals).
//! - *Structured control*: `if`, `switch`, labelled blocks and loops with
//!   `break`/`continue`, which map one to one onto Wasm and trivially onto a
//!   Cranelift CFG. Pattern matching is already compiled to decision trees
//!   ([`matching`]).
//! - *Optimised once*: small functions are inlined into their callers
//!   ([`inline`]) before any backend sees the module.
//! - *Errors at the user's code*: an operation that can fail carries the
//!   `file:line:col` to report as an operand; in a stdlib function it is
//!   the function's hidden last parameter, its caller's location.
//!
//! Values follow the runtime's ABI (`vm/README.md`): one word each; objects
//! are arrays of words, addressed here by word index.

mod inline;
mod lower;
mod matching;
mod print;
pub mod types;

pub use lower::{extern_symbol, lower};
pub use dl_abi::{Access, FailKind, Repr};
pub use types::{TypeIdx, TypeTable};

/// What an entry point does to the stores, from its effects in the manifest.
pub fn access(effects: &crate::manifest::Effects) -> Access {
    if !effects.writes.is_empty() {
        Access::Writes
    } else if !effects.reads.is_empty() {
        Access::Reads
    } else {
        Access::None
    }
}

/// The entry points to lower (and all they reach).
#[derive(Clone, Debug, Default)]
pub struct Entries {
    /// `main`, the routes and the crons: the program as it runs.
    pub program: bool,
    /// The program's tests (`dlc test`).
    pub tests: bool,
    /// Non-generic functions that a host calls itself (the REPL's inputs),
    /// in [`Module::entries`] in this order.
    pub functions: Vec<crate::check::typed::FnId>,
}

impl Entries {
    /// The program as `dlc build` builds it.
    pub fn program() -> Entries {
        Entries { program: true, ..Entries::default() }
    }

    /// The program and its tests, for `dlc test`.
    pub fn with_tests() -> Entries {
        Entries { program: true, tests: true, ..Entries::default() }
    }
}

/// A whole program, ready for a backend.
#[derive(Debug, Default)]
pub struct Module {
    pub types: TypeTable,
    /// `types` encoded for the runtime (`vm/README.md`).
    pub type_table: Vec<u32>,
    pub functions: Vec<Function>,
    /// Runtime functions the program calls, by symbol.
    pub externs: Vec<Extern>,
    /// String literals, including the `file:line:col` of runtime errors.
    pub strings: Vec<String>,
    /// The program's `fn main`.
    pub main: Option<FuncIdx>,
    /// Entry points of a server: each a function of the runtime's
    /// `(params: List<String>, request: Request) -> Response` (routes) or
    /// `() -> Unit` (crons).
    pub routes: Vec<Route>,
    pub crons: Vec<Cron>,
    pub stores: Vec<StoreDecl>,
    /// Secret names, by `SecretId`.
    pub secrets: Vec<String>,
    /// The origins `cors` allows (`["*"]`: any); empty without `cors`.
    pub cors: Vec<String>,
    /// Each a `() -> Unit` function, when lowered with [`Entries::tests`].
    pub tests: Vec<Test>,
    /// The instances of [`Entries::functions`].
    pub entries: Vec<FuncIdx>,
}

impl Module {
    /// Whether the program needs the server runtime (stores, secrets, routes
    /// or crons), rather than only running `main`.
    pub fn is_service(&self) -> bool {
        !(self.routes.is_empty() && self.crons.is_empty() && self.stores.is_empty() && self.secrets.is_empty())
    }

    /// The service descriptor's words, in the order `dl_abi::descriptor`
    /// gives (counts, then the entries); each backend writes texts and
    /// code in its own way.
    pub fn descriptor(&self) -> Vec<DescriptorWord<'_>> {
        use DescriptorWord::{Code, Int, Text};
        let mut words = vec![
            Int(self.routes.len() as u64),
            Int(self.crons.len() as u64),
            Int(self.stores.len() as u64),
            Int(self.secrets.len() as u64),
            Int(self.tests.len() as u64),
        ];
        words.push(self.main.map_or(Int(0), Code));
        words.push(Int(self.cors.len() as u64));
        words.push(Int(self.stores.iter().map(|s| s.indexes.len() as u64).sum()));
        for r in &self.routes {
            words.extend([Text(&r.method), Text(&r.path), Code(r.func), Int(r.access as u64)]);
        }
        for c in &self.crons {
            words.extend([Text(&c.name), Text(&c.schedule), Code(c.func), Int(c.access as u64)]);
        }
        for s in &self.stores {
            words.extend([Text(&s.name), Int(u64::from(s.value.0))]);
        }
        words.extend(self.secrets.iter().map(|name| Text(name)));
        for t in &self.tests {
            words.extend([Text(&t.name), Code(t.func)]);
        }
        words.extend(self.cors.iter().map(|origin| Text(origin)));
        for (store, s) in self.stores.iter().enumerate() {
            for index in &s.indexes {
                let key = Int(index.key as u64);
                words.extend([Int(store as u64), Text(&index.field), Int(index.slot as u64), key, Int(index.flags)]);
            }
        }
        words
    }
}

/// A word of the service descriptor.
#[derive(Clone, Copy, Debug)]
pub enum DescriptorWord<'m> {
    Int(u64),
    /// The address of a string literal.
    Text(&'m str),
    /// A function's code.
    Code(FuncIdx),
}

#[derive(Clone, Debug)]
pub struct Route {
    pub method: String,
    /// As written: `/todos/:id`.
    pub path: String,
    pub func: FuncIdx,
    pub access: Access,
}

#[derive(Clone, Debug)]
pub struct Test {
    pub name: String,
    pub func: FuncIdx,
}

#[derive(Clone, Debug)]
pub struct Cron {
    pub name: String,
    pub schedule: String,
    pub func: FuncIdx,
    pub access: Access,
}

#[derive(Clone, Debug)]
pub struct StoreDecl {
    pub name: String,
    pub value: TypeIdx,
    pub indexes: Vec<IndexDecl>,
}

/// An index of a store (`dl_abi::descriptor::INDEX_WORDS`).
#[derive(Clone, Debug)]
pub struct IndexDecl {
    pub field: String,
    pub slot: usize,
    /// The type of its values: `Int`, `Bool` or `String`.
    pub key: dl_abi::TypeTag,
    /// `dl_abi::descriptor::INDEX_UNIQUE` and `INDEX_EACH`.
    pub flags: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncIdx(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExternIdx(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StrIdx(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label(pub u32);

/// The empty string, given as the location of operations that cannot fail.
pub const NO_LOC: StrIdx = StrIdx(0);

/// [`NO_LOC`] as an operand.
pub const fn no_loc() -> Operand {
    Operand::Const(Const::Str(NO_LOC))
}

#[derive(Clone, Debug)]
pub struct Function {
    /// `List.map<Int, String>`, `main`, `main.lambda1`: for the printer,
    /// symbols and stack traces.
    pub name: String,
    pub abi: Abi,
    pub params: Vec<VarId>,
    pub ret: TypeIdx,
    pub vars: Vec<Var>,
    pub body: Block,
    /// Where the function is declared: stack exhaustion is reported there.
    pub loc: StrIdx,
}

impl Function {
    pub fn var(&self, id: VarId) -> &Var {
        &self.vars[id.0 as usize]
    }
}

/// How a function is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abi {
    /// Called directly by index: parameters and result in their [`Repr`].
    Direct,
    /// The code of a closure: the first parameter is the closure object,
    /// the others and the result are words (a `Float` as its bits).
    Closure,
}

#[derive(Clone, Debug)]
pub struct Var {
    pub name: String,
    pub ty: TypeIdx,
}

/// A runtime function (`vm/`), called with the C ABI.
#[derive(Clone, Debug, PartialEq)]
pub struct Extern {
    pub symbol: String,
    pub params: Vec<Repr>,
    /// `None`: returns nothing (the value is `()`); it may also never return.
    pub ret: Option<Repr>,
}

pub type Block = Vec<Stmt>;

#[derive(Clone, Debug)]
pub enum Stmt {
    /// Evaluates the right-hand side into the variable.
    Let(VarId, Rvalue),
    /// Evaluates the right-hand side for its effect.
    Do(Rvalue),
    /// Stores a word into a freshly allocated object (initialisation only:
    /// objects are immutable once built).
    Init { object: Operand, index: u32, value: Operand },
    If { cond: Operand, then: Block, else_: Block },
    /// Runs the case whose value equals `on`, else `default`.
    Switch { on: Operand, cases: Vec<(i64, Block)>, default: Block },
    /// Runs `body` once; `Break(label)` inside leaves it early.
    Block { label: Label, body: Block },
    /// Runs `body` forever; `Break(label)` leaves, `Continue(label)` restarts.
    Loop { label: Label, body: Block },
    Break(Label),
    Continue(Label),
    Return(Operand),
    /// A runtime error: the program stops with `kind` at `loc` (a `Str`:
    /// a constant, or the caller's location in a stdlib function).
    Fail { kind: FailKind, loc: Operand },
}

#[derive(Clone, Debug)]
pub enum Operand {
    Var(VarId),
    Const(Const),
}

#[derive(Clone, Debug)]
pub enum Const {
    Int(i64),
    Float(f64),
    Bool(bool),
    Unit,
    /// A static `Str` object.
    Str(StrIdx),
    /// A type index, passed to the runtime.
    Type(TypeIdx),
    /// A top-level function as a value: a static closure object.
    Func(FuncIdx),
}

#[derive(Clone, Debug)]
pub enum Rvalue {
    Use(Operand),
    Unary(UnaryOp, Operand),
    /// Integer arithmetic fails at `loc` (as in `Fail`) on overflow or
    /// division by zero.
    Binary { op: BinaryOp, lhs: Operand, rhs: Operand, loc: Operand },
    Call { func: FuncIdx, args: Vec<Operand> },
    CallExtern { func: ExternIdx, args: Vec<Operand> },
    /// Calls a closure: its code with the closure object first.
    CallClosure { callee: Operand, args: Vec<Operand> },
    /// A new object of `words` words, initialised by the `Init`s that follow.
    Alloc { words: u32 },
    /// A word of an object, in the representation of the variable it goes to.
    Load { object: Operand, index: u32 },
    /// A closure for `func` (an [`Abi::Closure`] function) capturing values.
    Closure { func: FuncIdx, captures: Vec<Operand> },
    ListLen(Operand),
    /// Element `index` (in range: the caller checked) of a list.
    ListItem { list: Operand, index: Operand },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// Checked: `-Int.MIN` overflows.
    IntNeg,
    FloatNeg,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    // Checked Int arithmetic.
    IntAdd,
    IntSub,
    IntMul,
    IntDiv,
    IntRem,
    /// Unchecked: loop counters that cannot overflow.
    IntAddWrapping,
    FloatAdd,
    FloatSub,
    FloatMul,
    FloatDiv,
    /// Int, Bool and Unit comparisons (signed).
    IntEq,
    IntNe,
    IntLt,
    IntLe,
    IntGt,
    IntGe,
    FloatEq,
    FloatNe,
    FloatLt,
    FloatLe,
    FloatGt,
    FloatGe,
}

impl BinaryOp {
    /// Whether it gives a Bool.
    pub fn is_comparison(self) -> bool {
        use BinaryOp::*;
        matches!(self, IntEq | IntNe | IntLt | IntLe | IntGt | IntGe | FloatEq | FloatNe | FloatLt | FloatLe | FloatGt | FloatGe)
    }
}
