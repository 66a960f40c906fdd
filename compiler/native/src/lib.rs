//! The native backend: the IR ([`dlc_core::ir`]) to machine code with
//! Cranelift, by one translation generic over the Cranelift module:
//!
//! - [`compile`]: a relocatable object file (`cranelift-object`), ready to
//!   be linked with the runtime (`vm/`) into an executable;
//! - [`jit`]: code in this process's memory (`cranelift-jit`), calling the
//!   runtime linked into the host, for `dlc test`, `dlc repl` and `dlc run --jit`.
//!
//! - [`function`] translates IR functions, statement by statement;
//! - [`data`] emits the static data: string literals, the type table, the
//!   closure objects of top-level functions, the service descriptor and
//!   the C `main`.
//!
//! Pure: bytes (or code) in memory out; writing and linking them is the CLI's job.

mod data;
mod function;

use std::collections::HashMap;

use cranelift_codegen::ir::{types, AbiParam, Signature};
use cranelift_codegen::isa::{OwnedTargetIsa, TargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{DataId, FuncId, Linkage, Module};
use cranelift_object::{ObjectBuilder, ObjectModule};
use dlc_core::ir::{self, Abi, FuncIdx, Repr};

/// Compiles a lowered program to an object file defining C `main`.
pub fn compile(program: &ir::Module) -> Result<Vec<u8>, String> {
    let isa = native_isa(true, true)?;
    let builder = ObjectBuilder::new(isa, "distlang", cranelift_module::default_libcall_names())
        .map_err(|e| format!("cannot create the object file: {e}"))?;
    let mut cx = Context::new(ObjectModule::new(builder), program)?;
    define_functions(&mut cx)?;
    let statics = data::define_all(&mut cx, program.is_service())?;
    data::define_main(&mut cx, statics)?;
    let product = cx.module.finish();
    product.emit().map_err(|e| format!("cannot write the object file: {e}"))
}

/// A program compiled into this process: its code stays mapped as long as
/// this value lives (closures and strings of the program point into it).
pub struct Jitted {
    _module: JITModule,
    /// The type table, as `dl_run_main` receives it.
    pub type_table: *const u32,
    /// The service descriptor (`vm/README.md`), emitted for every program.
    pub descriptor: *const u64,
    functions: Vec<*const u8>,
}

// SAFETY: the code and data are immutable once finalized; the module only
// owns their memory.
unsafe impl Send for Jitted {}
unsafe impl Sync for Jitted {}

impl Jitted {
    /// Gives the code's memory back (dropping a `Jitted` keeps it mapped).
    ///
    /// # Safety
    /// Nothing calls the code or reads its data any more.
    pub unsafe fn free(self) {
        // SAFETY: the caller's contract.
        unsafe { self._module.free_memory() }
    }
}

impl Jitted {
    /// The address of a function of the program (for a host's own entry points).
    pub fn function(&self, idx: FuncIdx) -> *const u8 {
        self.functions[idx.0 as usize]
    }
}

/// Whether to spend compile time on faster code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speed {
    /// Cranelift's `speed`: what `dlc build` and `dlc run --jit` do.
    FastCode,
    /// Cranelift's `none`: code that runs once or a few times (tests, REPL
    /// inputs), where compiling is most of the time.
    FastCompile,
}

/// Compiles a lowered program into this process. `runtime` gives the
/// address of each runtime symbol the code calls (`dlvm::symbols`); a
/// symbol it lacks is an error here, not a crash later.
pub fn jit(program: &ir::Module, runtime: &HashMap<&'static str, *const u8>, speed: Speed) -> Result<Jitted, String> {
    let isa = native_isa(false, speed == Speed::FastCode)?;
    let mut builder = JITBuilder::with_isa(isa, cranelift_module::default_libcall_names());
    builder.symbols(runtime.iter().map(|(&name, &ptr)| (name, ptr)));
    let mut cx = Context::new(JITModule::new(builder), program)?;
    define_functions(&mut cx)?;
    let statics = data::define_all(&mut cx, true)?;
    if let Some(missing) = cx.externs.keys().find(|symbol| !runtime.contains_key(symbol.as_str())) {
        return Err(format!("the runtime linked into dlc has no `{missing}`"));
    }
    cx.module.finalize_definitions().map_err(|e| format!("cannot finish the program's code: {e}"))?;
    let functions = cx.functions.iter().map(|&id| cx.module.get_finalized_function(id)).collect();
    let type_table = cx.module.get_finalized_data(statics.type_table).0.cast();
    let descriptor = statics.descriptor.map_or(std::ptr::null(), |d| cx.module.get_finalized_data(d).0.cast());
    Ok(Jitted { _module: cx.module, type_table, descriptor, functions })
}

/// Translates every function, compiles them on every core, and defines
/// them in the module. (Compiling is most of a build's time, and each
/// function compiles alone.)
fn define_functions<M: Module>(cx: &mut Context<'_, M>) -> Result<(), String> {
    let program = cx.program;
    let mut translated = Vec::with_capacity(program.functions.len());
    for (i, f) in program.functions.iter().enumerate() {
        translated.push((cx.functions[i], f.name.as_str(), function::translate(cx, f)?));
    }
    let threads = std::thread::available_parallelism().map_or(1, usize::from).min(translated.len().max(1));
    let chunk = translated.len().div_ceil(threads).max(1);
    let mut parts = Vec::new();
    while !translated.is_empty() {
        let rest = translated.split_off(chunk.min(translated.len()));
        parts.push(std::mem::replace(&mut translated, rest));
    }
    let isa = cx.module.isa();
    // Each context is dropped once compiled, so its memory serves the next.
    let compiled: Vec<Result<Compiled, String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = parts
            .into_iter()
            .map(|part| scope.spawn(move || part.into_iter().map(|(id, name, mut ctx)| compile_one(isa, id, name, &mut ctx)).collect::<Vec<_>>()))
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_else(|_| vec![Err("the code generator panicked".to_string())])).collect()
    });
    for function in compiled {
        let function = function?;
        cx.module
            .define_function_bytes(function.id, function.alignment, &function.code, &function.relocs)
            .map_err(|e| format!("cannot define {}: {e:?}", function.name))?;
    }
    Ok(())
}

/// One function's machine code, ready to be placed in the module.
struct Compiled {
    id: FuncId,
    name: String,
    alignment: u64,
    code: Vec<u8>,
    relocs: Vec<cranelift_module::ModuleReloc>,
}

fn compile_one(isa: &dyn TargetIsa, id: FuncId, name: &str, ctx: &mut cranelift_codegen::Context) -> Result<Compiled, String> {
    let mut control = cranelift_codegen::control::ControlPlane::default();
    ctx.compile(isa, &mut control).map_err(|e| format!("cannot compile {name}: {:?}", e.inner))?;
    // As `Module::define_function` does, but on this thread.
    let code = ctx.compiled_code().ok_or_else(|| format!("cannot compile {name}: no code"))?;
    let alignment = u64::from(code.buffer.alignment);
    let bytes = code.code_buffer().to_vec();
    let relocs = code.buffer.relocs().iter().map(|r| cranelift_module::ModuleReloc::from_mach_reloc(r, &ctx.func, id)).collect();
    Ok(Compiled { id, name: name.to_string(), alignment, code: bytes, relocs })
}

/// The host's ISA. Ahead-of-time code is position-independent so that it
/// links into a PIE; cranelift-jit refuses PIC, so JIT code is not.
fn native_isa(pic: bool, optimise: bool) -> Result<OwnedTargetIsa, String> {
    let mut flags = settings::builder();
    let set = |flags: &mut settings::Builder, name: &str, value: &str| {
        flags.set(name, value).map_err(|e| format!("cranelift setting {name}: {e}"))
    };
    set(&mut flags, "opt_level", if optimise { "speed" } else { "none" })?;
    // The single-pass allocator compiles a fifth faster (`dl-bench tests`).
    set(&mut flags, "regalloc_algorithm", if optimise { "backtracking" } else { "single_pass" })?;
    // The verifier checks our translation: a tenth of the compile time,
    // worth it in dlc's own (debug) tests, not in a user's build.
    set(&mut flags, "enable_verifier", if cfg!(debug_assertions) { "true" } else { "false" })?;
    set(&mut flags, "is_pic", if pic { "true" } else { "false" })?;
    let isa = cranelift_native::builder().map_err(|e| format!("this machine is not supported by Cranelift: {e}"))?;
    isa.finish(settings::Flags::new(flags)).map_err(|e| format!("cannot configure Cranelift: {e}"))
}

/// What the translation of every function shares: the Cranelift module
/// being built and the symbols declared in it so far.
pub(crate) struct Context<'p, M: Module> {
    pub module: M,
    pub program: &'p ir::Module,
    pub functions: Vec<FuncId>,
    pub externs: HashMap<String, FuncId>,
    pub strings: Vec<Option<DataId>>,
    /// Static closure objects of functions used as values, and the
    /// closure-ABI trampolines they point to.
    pub closures: HashMap<FuncIdx, DataId>,
    pub trampolines: HashMap<FuncIdx, FuncId>,
}

impl<'p, M: Module> Context<'p, M> {
    fn new(mut module: M, program: &'p ir::Module) -> Result<Self, String> {
        let mut functions = Vec::new();
        for (i, f) in program.functions.iter().enumerate() {
            let sig = signature(&module, f.abi, f.params.iter().map(|&p| program.types.repr(f.var(p).ty)), program.types.repr(f.ret));
            let id = module
                .declare_function(&format!("dl_fn{i}"), Linkage::Local, &sig)
                .map_err(|e| format!("cannot declare {}: {e}", f.name))?;
            functions.push(id);
        }
        Ok(Context {
            module,
            program,
            functions,
            externs: HashMap::new(),
            strings: vec![None; program.strings.len()],
            closures: HashMap::new(),
            trampolines: HashMap::new(),
        })
    }

    /// A function of the runtime ABI, declared on first use.
    pub fn runtime_func(&mut self, f: dl_abi::RuntimeFn) -> Result<FuncId, String> {
        self.extern_func(f.symbol, f.params, f.ret)
    }

    /// A runtime function, declared on first use.
    pub fn extern_func(&mut self, symbol: &str, params: &[Repr], ret: Option<Repr>) -> Result<FuncId, String> {
        if let Some(&id) = self.externs.get(symbol) {
            return Ok(id);
        }
        let mut sig = self.module.make_signature();
        sig.params.extend(params.iter().map(|&r| AbiParam::new(clif_type(r))));
        sig.returns.extend(ret.map(|r| AbiParam::new(clif_type(r))));
        let id = self
            .module
            .declare_function(symbol, Linkage::Import, &sig)
            .map_err(|e| format!("cannot declare {symbol}: {e}"))?;
        self.externs.insert(symbol.to_string(), id);
        Ok(id)
    }
}

/// The Cranelift signature of an IR function.
pub(crate) fn signature(module: &impl Module, abi: Abi, params: impl Iterator<Item = Repr>, ret: Repr) -> Signature {
    let mut sig = module.make_signature();
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
