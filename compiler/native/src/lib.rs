//! The native backend: the IR ([`dlc_core::ir`]) to a relocatable object
//! file with Cranelift, ready to be linked with the runtime (`vm/`).
//!
//! - [`function`] translates IR functions, statement by statement;
//! - [`data`] emits the static data: string literals, the type table, the
//!   closure objects of top-level functions and the C `main`.
//!
//! Pure: bytes in memory out; writing and linking them is the CLI's job.

mod data;
mod function;

use std::collections::HashMap;

use cranelift_codegen::ir::{types, AbiParam, Signature};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_module::{DataId, FuncId, Linkage, Module as _};
use cranelift_object::{ObjectBuilder, ObjectModule};
use dlc_core::ir::{self, Abi, FuncIdx, Repr};

/// Compiles a lowered program to an object file defining C `main`.
pub fn compile(program: &ir::Module) -> Result<Vec<u8>, String> {
    let isa = native_isa()?;
    let builder = ObjectBuilder::new(isa, "distlang", cranelift_module::default_libcall_names())
        .map_err(|e| format!("cannot create the object file: {e}"))?;
    let mut cx = Context::new(ObjectModule::new(builder), program)?;
    for (i, f) in program.functions.iter().enumerate() {
        function::define(&mut cx, FuncIdx(i as u32), f)?;
    }
    data::define_all(&mut cx)?;
    let product = cx.object.finish();
    product.emit().map_err(|e| format!("cannot write the object file: {e}"))
}

/// The host's ISA with the settings of ahead-of-time code: optimised, and
/// position-independent so that it links into a PIE.
fn native_isa() -> Result<OwnedTargetIsa, String> {
    let mut flags = settings::builder();
    let set = |flags: &mut settings::Builder, name: &str, value: &str| {
        flags.set(name, value).map_err(|e| format!("cranelift setting {name}: {e}"))
    };
    set(&mut flags, "opt_level", "speed")?;
    set(&mut flags, "is_pic", "true")?;
    let isa = cranelift_native::builder().map_err(|e| format!("this machine is not supported by Cranelift: {e}"))?;
    isa.finish(settings::Flags::new(flags)).map_err(|e| format!("cannot configure Cranelift: {e}"))
}

/// What the translation of every function shares: the object being built
/// and the symbols declared in it so far.
pub(crate) struct Context<'p> {
    pub object: ObjectModule,
    pub program: &'p ir::Module,
    pub functions: Vec<FuncId>,
    pub externs: HashMap<String, FuncId>,
    pub strings: Vec<Option<DataId>>,
    /// Static closure objects of functions used as values, and the
    /// closure-ABI trampolines they point to.
    pub closures: HashMap<FuncIdx, DataId>,
    pub trampolines: HashMap<FuncIdx, FuncId>,
}

impl<'p> Context<'p> {
    fn new(mut object: ObjectModule, program: &'p ir::Module) -> Result<Self, String> {
        let mut functions = Vec::new();
        for (i, f) in program.functions.iter().enumerate() {
            let sig = signature(&object, f.abi, f.params.iter().map(|&p| program.types.repr(f.var(p).ty)), program.types.repr(f.ret));
            let id = object
                .declare_function(&format!("dl_fn{i}"), Linkage::Local, &sig)
                .map_err(|e| format!("cannot declare {}: {e}", f.name))?;
            functions.push(id);
        }
        Ok(Context {
            object,
            program,
            functions,
            externs: HashMap::new(),
            strings: vec![None; program.strings.len()],
            closures: HashMap::new(),
            trampolines: HashMap::new(),
        })
    }

    /// A runtime function, declared on first use.
    pub fn extern_func(&mut self, symbol: &str, params: &[Repr], ret: Option<Repr>) -> Result<FuncId, String> {
        if let Some(&id) = self.externs.get(symbol) {
            return Ok(id);
        }
        let mut sig = self.object.make_signature();
        sig.params.extend(params.iter().map(|&r| AbiParam::new(clif_type(r))));
        sig.returns.extend(ret.map(|r| AbiParam::new(clif_type(r))));
        let id = self
            .object
            .declare_function(symbol, Linkage::Import, &sig)
            .map_err(|e| format!("cannot declare {symbol}: {e}"))?;
        self.externs.insert(symbol.to_string(), id);
        Ok(id)
    }
}

/// The Cranelift signature of an IR function.
pub(crate) fn signature(object: &ObjectModule, abi: Abi, params: impl Iterator<Item = Repr>, ret: Repr) -> Signature {
    let mut sig = object.make_signature();
    match abi {
        Abi::Direct => {
            sig.params.extend(params.map(|r| AbiParam::new(clif_type(r))));
            sig.returns.push(AbiParam::new(clif_type(ret)));
        }
        // Every argument and the result as a word; the closure object is
        // already the first parameter.
        Abi::Closure => {
            sig.params.extend(params.map(|_| AbiParam::new(types::I64)));
            sig.returns.push(AbiParam::new(types::I64));
        }
    }
    sig
}

pub(crate) fn clif_type(repr: Repr) -> types::Type {
    match repr {
        Repr::Word => types::I64,
        Repr::Float => types::F64,
    }
}
