//! The Wasm backend: the IR ([`dlc_core::ir`]) to one self-contained
//! WebAssembly module — the program, and its runtime, which is written in
//! Distlang (`std-targets/wasm/runtime/`) and compiled by the same pipeline
//! over a few primitives this backend emits inline (the `Mem` module).
//!
//! - [`runtime`] compiles the runtime and says which of its functions
//!   implements which runtime symbol;
//! - [`function`] translates IR functions, statement by statement (the
//!   same file as `compiler/native`'s);
//! - [`data`] lays out the static data: string literals, the type table,
//!   the closure objects of top-level functions.
//!
//! Values keep the native layouts (`dl_abi`): one 64-bit word each, a
//! pointer being a 32-bit address zero-extended. The module imports a few
//! host functions (`dl.*`: output, errors, time, float text) and exports
//! `memory` and `heap_base`, `main` if the program has one, and for a
//! service what its host needs: `descriptor` (native's layout, code words
//! as slots of the exported `table`), `alloc` and the `heap` pointer, which
//! the host resets after each invocation. Pure: bytes out.

mod data;
mod function;
pub mod runtime;

use std::collections::HashMap;

use dlc_core::ir::{self, Abi, FuncIdx, Repr};
use wasm_encoder::{
    CodeSection, ConstExpr, CustomSection, ElementSection, Elements, EntityType, ExportKind, ExportSection,
    FunctionSection, GlobalSection, GlobalType, ImportSection, MemorySection, MemoryType, NameMap, NameSection,
    RefType, TableSection, TableType, TypeSection, ValType,
};

pub use runtime::Runtime;
use runtime::Host;

type Result<T> = std::result::Result<T, String>;

/// Why a program did not compile to Wasm.
#[derive(Debug)]
pub enum Error {
    /// It uses something the Wasm runtime does not provide yet: its name.
    Unsupported(String),
    /// A bug in `dlc` (or in the runtime's sources).
    Internal(String),
}

/// Compiles a lowered program, with the runtime (`runtime::embedded()`,
/// or a working copy), into a Wasm module.
pub fn compile(program: &ir::Module, runtime: &Runtime) -> std::result::Result<Vec<u8>, Error> {
    let missing: Vec<&str> = program
        .externs
        .iter()
        .map(|e| e.symbol.as_str())
        .filter(|s| runtime::Primitive::of(s).is_none() && runtime.implementation(s).is_none())
        .collect();
    if let Some(symbol) = missing.first() {
        return Err(Error::Unsupported(unsupported(symbol)));
    }
    Linker::new(program, runtime).and_then(Linker::finish).map_err(Error::Internal)
}

/// Which IR module a function or literal belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Part {
    Runtime,
    Program,
}

/// What an extern call becomes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Callee {
    /// A function of the module, by Wasm index.
    Function(u32),
    /// A primitive of the `Mem` module, emitted inline.
    Primitive(runtime::Primitive),
}

/// The two IR modules being made into one Wasm module, and the index
/// spaces they share.
pub(crate) struct Linker<'p> {
    pub program: &'p ir::Module,
    pub runtime: &'p Runtime,
    types: TypeSection,
    type_indices: HashMap<(Vec<ValType>, Vec<ValType>), u32>,
    /// Wasm function index of each IR function, per part; `None` for the
    /// runtime's functions the program does not reach (left out).
    indices: HashMap<Part, Vec<Option<u32>>>,
    /// Extern index → what it calls, per part.
    pub callees: HashMap<Part, Vec<Callee>>,
    /// Functions the backend adds (trampolines), after the IR's.
    extra: Vec<Extra>,
    next_function: u32,
    /// Table slots of closure code, by Wasm function index.
    pub table: Vec<u32>,
    table_slots: HashMap<u32, u32>,
    pub data: data::Data,
    /// Static closures of top-level functions used as values.
    closures: HashMap<(Part, FuncIdx), u32>,
    /// The runtime's `alloc` (every `Alloc` calls it).
    pub alloc: u32,
    /// The runtime's `fail(kind, loc)`.
    pub fail: u32,
}

/// A function the backend adds: its index, type, body and name.
struct Extra {
    index: u32,
    ty: u32,
    body: wasm_encoder::Function,
    name: String,
}

/// Global indices.
pub(crate) const HEAP_GLOBAL: u32 = 0;

impl<'p> Linker<'p> {
    fn new(program: &'p ir::Module, runtime: &'p Runtime) -> Result<Linker<'p>> {
        let mut linker = Linker {
            program,
            runtime,
            types: TypeSection::new(),
            type_indices: HashMap::new(),
            indices: HashMap::new(),
            callees: HashMap::new(),
            extra: Vec::new(),
            next_function: 0,
            table: Vec::new(),
            table_slots: HashMap::new(),
            data: data::Data::new(),
            closures: HashMap::new(),
            alloc: 0,
            fail: 0,
        };
        linker.next_function = Host::ALL.len() as u32;
        for (part, keep) in [(Part::Runtime, runtime_used(program, runtime)), (Part::Program, vec![true; program.functions.len()])] {
            let indices = keep
                .into_iter()
                .map(|kept| {
                    kept.then(|| {
                        linker.next_function += 1;
                        linker.next_function - 1
                    })
                })
                .collect();
            linker.indices.insert(part, indices);
        }
        for part in [Part::Runtime, Part::Program] {
            let callees = linker.module(part).externs.iter().map(|e| linker.resolve(part, e)).collect::<Result<_>>()?;
            linker.callees.insert(part, callees);
        }
        linker.alloc = linker.runtime_function(dl_abi::ALLOC)?;
        linker.fail = linker.runtime_function(dl_abi::FAIL)?;
        Ok(linker)
    }

    pub fn module(&self, part: Part) -> &'p ir::Module {
        match part {
            Part::Runtime => &self.runtime.module,
            Part::Program => self.program,
        }
    }

    /// The Wasm index of an IR function (of one that is left out, a
    /// number no call is ever made with: only kept functions are translated).
    pub fn function_index(&self, part: Part, func: FuncIdx) -> u32 {
        self.indices[&part][func.0 as usize].unwrap_or(u32::MAX)
    }

    /// The runtime's implementation of `f`, checked against its signature.
    fn runtime_function(&self, f: dl_abi::RuntimeFn) -> Result<u32> {
        match self.runtime.implementation(f.symbol) {
            Some(func) => Ok(self.function_index(Part::Runtime, func)),
            None => Err(format!("the Wasm runtime has no `{}`", f.symbol)),
        }
    }

    fn resolve(&self, part: Part, ext: &ir::Extern) -> Result<Callee> {
        if let Some(primitive) = runtime::Primitive::of(&ext.symbol) {
            if part == Part::Program {
                return Err(format!("`{}` is the runtime's own", ext.symbol));
            }
            return Ok(Callee::Primitive(primitive));
        }
        let Some(func) = self.runtime.implementation(&ext.symbol) else {
            return Err(unsupported(&ext.symbol));
        };
        let f = &self.runtime.module.functions[func.0 as usize];
        let types = &self.runtime.module.types;
        let params: Vec<Repr> = f.params.iter().map(|&p| types.repr(f.var(p).ty)).collect();
        let ret = types.repr(f.ret);
        if params != ext.params || ext.ret.is_some_and(|r| r != ret) {
            return Err(format!(
                "the Wasm runtime's `{}` takes {params:?} -> {ret:?}, but is called with {:?} -> {:?}",
                ext.symbol, ext.params, ext.ret
            ));
        }
        Ok(Callee::Function(self.function_index(Part::Runtime, func)))
    }

    /// The index of a function type, added on first use.
    pub fn type_index(&mut self, params: &[ValType], results: &[ValType]) -> u32 {
        let key = (params.to_vec(), results.to_vec());
        if let Some(&idx) = self.type_indices.get(&key) {
            return idx;
        }
        let idx = self.types.len();
        self.types.ty().function(params.iter().copied(), results.iter().copied());
        self.type_indices.insert(key, idx);
        idx
    }

    /// The type of an IR function.
    pub fn function_type(&mut self, part: Part, func: FuncIdx) -> u32 {
        let module = self.module(part);
        let f = &module.functions[func.0 as usize];
        let (params, result) = signature(module, f);
        self.type_index(&params, &[result])
    }

    /// The table slot of a function called through a closure or named by
    /// the descriptor. Slot 0 stays empty, as address 0 does, so that 0
    /// is never code.
    pub fn table_slot(&mut self, index: u32) -> u32 {
        if let Some(&slot) = self.table_slots.get(&index) {
            return slot;
        }
        let slot = self.table.len() as u32 + 1;
        self.table.push(index);
        self.table_slots.insert(index, slot);
        slot
    }

    /// The address of the static closure `[code]` of a top-level function
    /// used as a value; its code is a trampoline with the closure ABI.
    pub fn closure_of(&mut self, part: Part, func: FuncIdx) -> Result<u32> {
        if let Some(&address) = self.closures.get(&(part, func)) {
            return Ok(address);
        }
        let index = self.next_function;
        self.next_function += 1;
        let name = format!("{}.value", self.module(part).functions[func.0 as usize].name);
        let (ty, body) = function::trampoline(self, part, func);
        self.extra.push(Extra { index, ty, body, name });
        let slot = self.table_slot(index);
        let address = self.data.words(&[u64::from(slot)]);
        self.closures.insert((part, func), address);
        Ok(address)
    }

    fn finish(mut self) -> Result<Vec<u8>> {
        let mut imports = ImportSection::new();
        for host in Host::ALL {
            let (params, results) = host.signature();
            let ty = self.type_index(&params, &results);
            imports.import("dl", host.name(), EntityType::Function(ty));
        }
        let mut functions = FunctionSection::new();
        let mut code = CodeSection::new();
        let mut names = NameMap::new();
        for (i, _) in Host::ALL.iter().enumerate() {
            names.append(i as u32, Host::ALL[i].name());
        }
        for part in [Part::Runtime, Part::Program] {
            let module = self.module(part);
            for (i, f) in module.functions.iter().enumerate() {
                let func = FuncIdx(i as u32);
                if self.indices[&part][i].is_none() {
                    continue;
                }
                let ty = self.function_type(part, func);
                functions.function(ty);
                let body = function::translate(&mut self, part, f)?;
                code.function(&body);
                // A program function's name carries its location, which the
                // host reports a stack overflow at (`std-targets/wasm/node/host.mjs`).
                let name = match part {
                    Part::Program => format!("{}@{}", f.name, module.strings[f.loc.0 as usize]),
                    Part::Runtime => f.name.clone(),
                };
                names.append(self.function_index(part, func), &name);
            }
        }
        // Trampolines, made while translating their users, come last.
        for extra in std::mem::take(&mut self.extra) {
            functions.function(extra.ty);
            code.function(&extra.body);
            names.append(extra.index, &extra.name);
        }

        let type_table = self.data.u32s(&self.program.type_table);
        let descriptor = self.program.is_service().then(|| data::service_descriptor(&mut self));
        let heap_base = self.data.end().next_multiple_of(16);
        let pages = u64::from(heap_base).div_ceil(65536) + 16;

        let mut tables = TableSection::new();
        let slots = self.table.len() as u64 + 1;
        tables.table(TableType { element_type: RefType::FUNCREF, table64: false, minimum: slots, maximum: Some(slots), shared: false });
        let mut memories = MemorySection::new();
        memories.memory(MemoryType { minimum: pages, maximum: Some(65536), memory64: false, shared: false, page_size_log2: None });
        let mut globals = GlobalSection::new();
        let mutable_i32 = GlobalType { val_type: ValType::I32, mutable: true, shared: false };
        let constant_i32 = GlobalType { val_type: ValType::I32, mutable: false, shared: false };
        // HEAP_GLOBAL: the next free byte; then the heap's start, the type
        // table and a service's descriptor (0 for a script).
        globals.global(mutable_i32, &ConstExpr::i32_const(heap_base as i32));
        globals.global(constant_i32, &ConstExpr::i32_const(heap_base as i32));
        globals.global(constant_i32, &ConstExpr::i32_const(type_table as i32));
        globals.global(constant_i32, &ConstExpr::i32_const(descriptor.unwrap_or(0) as i32));
        let mut exports = ExportSection::new();
        exports.export("memory", ExportKind::Memory, 0);
        exports.export("heap_base", ExportKind::Global, 1);
        if let Some(main) = self.program.main {
            exports.export("main", ExportKind::Func, self.function_index(Part::Program, main));
        }
        // A service's host finds its entry points through the descriptor
        // (code words are table slots), builds their arguments with
        // `alloc`, and resets `heap` to `heap_base` after each invocation.
        if descriptor.is_some() {
            // The runtime's state words, which a host keeps beside the data
            // (`Id.new`'s clock, so that keys stay ordered across restarts).
            globals.global(constant_i32, &ConstExpr::i32_const(crate::data::STATE as i32));
            exports.export("state", ExportKind::Global, 4);
            exports.export("descriptor", ExportKind::Global, 3);
            exports.export("type_table", ExportKind::Global, 2);
            exports.export("heap", ExportKind::Global, HEAP_GLOBAL);
            exports.export("table", ExportKind::Table, 0);
            exports.export("alloc", ExportKind::Func, self.alloc);
        }
        let mut elements = ElementSection::new();
        if !self.table.is_empty() {
            elements.active(Some(0), &ConstExpr::i32_const(1), Elements::Functions(self.table.clone().into()));
        }
        let data = self.data.section();

        let mut module = wasm_encoder::Module::new();
        module.section(&self.types);
        module.section(&imports);
        module.section(&functions);
        module.section(&tables);
        module.section(&memories);
        module.section(&globals);
        module.section(&exports);
        module.section(&elements);
        module.section(&code);
        module.section(&data);
        let mut name_section = NameSection::new();
        name_section.functions(&names);
        module.section(&name_section);
        module.section(&CustomSection { name: "distlang".into(), data: env!("CARGO_PKG_VERSION").as_bytes().into() });
        Ok(module.finish())
    }
}

/// Which of the runtime's functions the program reaches: from its externs
/// and what the backend calls itself (`alloc`, `fail`), through calls,
/// closures and function values. The rest is left out of the module.
fn runtime_used(program: &ir::Module, runtime: &Runtime) -> Vec<bool> {
    let module = &runtime.module;
    let mut used = vec![false; module.functions.len()];
    let symbols = program.externs.iter().map(|e| e.symbol.as_str()).chain([dl_abi::ALLOC.symbol, dl_abi::FAIL.symbol]);
    let mut pending: Vec<FuncIdx> = symbols.filter_map(|s| runtime.implementation(s)).collect();
    while let Some(func) = pending.pop() {
        if std::mem::replace(&mut used[func.0 as usize], true) {
            continue;
        }
        let mut uses = Vec::new();
        walk::block(&module.functions[func.0 as usize].body, &mut uses);
        for u in uses {
            match u {
                walk::Use::Function(f) => pending.push(f),
                walk::Use::Extern(e) => pending.extend(runtime.implementation(&module.externs[e.0 as usize].symbol)),
                walk::Use::Type | walk::Use::TypeTo(_) | walk::Use::Read(_) => {}
            }
        }
    }
    used
}

/// The functions, externs and variables IR code uses.
pub(crate) mod walk {
    use dlc_core::ir::{Const, ExternIdx, FuncIdx, Operand, Rvalue, Stmt, VarId};

    pub enum Use {
        Function(FuncIdx),
        Extern(ExternIdx),
        /// A type index: code that needs the type table…
        Type,
        /// …or one passed to this extern (which a primitive ignores).
        TypeTo(ExternIdx),
        /// A variable's value.
        Read(VarId),
    }

    pub fn block(stmts: &[Stmt], uses: &mut Vec<Use>) {
        for stmt in stmts {
            match stmt {
                Stmt::Let(_, r) | Stmt::Do(r) => rvalue(r, uses),
                Stmt::Init { object, value, .. } => operands([object, value], uses),
                Stmt::If { cond, then, else_ } => {
                    operand(cond, uses);
                    block(then, uses);
                    block(else_, uses);
                }
                Stmt::Switch { on, cases, default } => {
                    operand(on, uses);
                    cases.iter().for_each(|(_, b)| block(b, uses));
                    block(default, uses);
                }
                Stmt::Block { body, .. } | Stmt::Loop { body, .. } => block(body, uses),
                Stmt::Return(op) | Stmt::Fail { loc: op, .. } => operand(op, uses),
                Stmt::Break(_) | Stmt::Continue(_) => {}
            }
        }
    }

    fn rvalue(r: &Rvalue, uses: &mut Vec<Use>) {
        match r {
            Rvalue::Use(op) | Rvalue::Unary(_, op) | Rvalue::ListLen(op) | Rvalue::Load { object: op, .. } => operand(op, uses),
            Rvalue::Binary { lhs, rhs, loc, .. } => operands([lhs, rhs, loc], uses),
            Rvalue::Call { func, args } => {
                uses.push(Use::Function(*func));
                operands(args, uses);
            }
            Rvalue::CallExtern { func, args } => {
                uses.push(Use::Extern(*func));
                for arg in args {
                    match arg {
                        Operand::Const(Const::Type(_)) => uses.push(Use::TypeTo(*func)),
                        _ => operand(arg, uses),
                    }
                }
            }
            Rvalue::CallClosure { callee, args } => {
                operand(callee, uses);
                operands(args, uses);
            }
            Rvalue::Closure { func, captures } => {
                uses.push(Use::Function(*func));
                operands(captures, uses);
            }
            Rvalue::ListItem { list, index } => operands([list, index], uses),
            Rvalue::Alloc { .. } => {}
        }
    }

    fn operands<'a>(ops: impl IntoIterator<Item = &'a Operand>, uses: &mut Vec<Use>) {
        ops.into_iter().for_each(|op| operand(op, uses));
    }

    fn operand(op: &Operand, uses: &mut Vec<Use>) {
        match op {
            Operand::Const(Const::Func(f)) => uses.push(Use::Function(*f)),
            Operand::Const(Const::Type(_)) => uses.push(Use::Type),
            Operand::Var(v) => uses.push(Use::Read(*v)),
            _ => {}
        }
    }
}

/// The Wasm types of a function's parameters and result.
pub(crate) fn signature(module: &ir::Module, f: &ir::Function) -> (Vec<ValType>, ValType) {
    let types = &module.types;
    match f.abi {
        Abi::Direct => (f.params.iter().map(|&p| val_type(types.repr(f.var(p).ty))).collect(), val_type(types.repr(f.ret))),
        // The closure object, then every argument as a word; a word back.
        Abi::Closure => (vec![ValType::I64; f.params.len()], ValType::I64),
    }
}

pub(crate) fn val_type(repr: Repr) -> ValType {
    match repr {
        Repr::Word => ValType::I64,
        Repr::Float => ValType::F64,
    }
}

/// What a runtime symbol is to a user: `List.sort`, `print`, `++`.
fn unsupported(symbol: &str) -> String {
    let name = symbol.strip_prefix("dl_").unwrap_or(symbol);
    match name.split_once('_') {
        Some((module, function)) if module.starts_with(char::is_uppercase) => format!("{module}.{function}"),
        _ => name.to_string(),
    }
}
