//! Static data and glue code: string literals as `Str` objects, the type
//! table, a static closure (and its trampoline) for every top-level function
//! used as a value, and the C `main` that hands the program to the runtime.

use cranelift_codegen::ir::{types, AbiParam, InstBuilder, MemFlagsData};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::{DataDescription, DataId, Linkage, Module};
use dlc_core::ir::{Abi, FuncIdx, Repr, StrIdx};

use crate::{signature, Context};

type Result<T> = std::result::Result<T, String>;

/// The static `Str` of a literal of the program.
pub(crate) fn string<M: Module>(cx: &mut Context<'_, M>, idx: StrIdx) -> Result<DataId> {
    if let Some(id) = cx.strings[idx.0 as usize] {
        return Ok(id);
    }
    let program = cx.program;
    let id = literal(cx, &format!("dl_str{}", idx.0), &program.strings[idx.0 as usize])?;
    cx.strings[idx.0 as usize] = Some(id);
    Ok(id)
}

/// A static `Str`: `[len, ptr = self + 24, buf = 0, bytes…]`.
fn literal<M: Module>(cx: &mut Context<'_, M>, symbol: &str, text: &str) -> Result<DataId> {
    let id = cx.module.declare_data(symbol, Linkage::Local, false, false).map_err(|e| format!("cannot declare a string: {e}"))?;
    let text = text.as_bytes();
    let mut bytes = Vec::with_capacity(24 + text.len() + 8);
    bytes.extend((text.len() as u64).to_le_bytes());
    bytes.extend([0; 16]);
    bytes.extend(text);
    bytes.resize(bytes.len().next_multiple_of(8), 0);
    let mut desc = DataDescription::new();
    desc.define(bytes.into_boxed_slice());
    desc.set_align(8);
    let this = cx.module.declare_data_in_data(id, &mut desc);
    desc.write_data_addr(8, this, 24);
    cx.module.define_data(id, &desc).map_err(|e| format!("cannot define a string: {e}"))?;
    Ok(id)
}

/// The static closure object `[trampoline]` of a top-level function.
pub(crate) fn closure_of<M: Module>(cx: &mut Context<'_, M>, func: FuncIdx) -> Result<DataId> {
    if let Some(&id) = cx.closures.get(&func) {
        return Ok(id);
    }
    let f = &cx.program.functions[func.0 as usize];
    let types = &cx.program.types;
    let sig = signature(&cx.module, Abi::Closure, std::iter::once(Repr::Word).chain(f.params.iter().map(|&p| types.repr(f.var(p).ty))), types.repr(f.ret));
    let trampoline = cx
        .module
        .declare_function(&format!("dl_fn{}_closure", func.0), Linkage::Local, &sig)
        .map_err(|e| format!("cannot declare a trampoline: {e}"))?;
    let id = cx
        .module
        .declare_data(&format!("dl_fn{}_value", func.0), Linkage::Local, false, false)
        .map_err(|e| format!("cannot declare a closure: {e}"))?;
    let mut desc = DataDescription::new();
    desc.define(vec![0u8; 8].into_boxed_slice());
    desc.set_align(8);
    let code = cx.module.declare_func_in_data(trampoline, &mut desc);
    desc.write_function_addr(0, code);
    cx.module.define_data(id, &desc).map_err(|e| format!("cannot define a closure: {e}"))?;
    cx.closures.insert(func, id);
    cx.trampolines.insert(func, trampoline);
    Ok(id)
}

/// The data a host starts a program from.
pub(crate) struct Statics {
    pub type_table: DataId,
    pub descriptor: Option<DataId>,
}

/// Everything defined once per program, after its functions: the
/// trampolines, the type table and (when `descriptor`) the descriptor.
pub(crate) fn define_all<M: Module>(cx: &mut Context<'_, M>, descriptor: bool) -> Result<Statics> {
    let mut pending: Vec<(FuncIdx, cranelift_module::FuncId)> = cx.trampolines.iter().map(|(&f, &id)| (f, id)).collect();
    pending.sort();
    for (func, id) in pending {
        define_trampoline(cx, func, id)?;
    }
    let type_table = type_table(cx)?;
    let descriptor = if descriptor { Some(service_descriptor(cx)?) } else { None };
    Ok(Statics { type_table, descriptor })
}

/// A closure-ABI function that calls `func` directly: `(closure, words…) -> word`.
fn define_trampoline<M: Module>(cx: &mut Context<'_, M>, func: FuncIdx, id: cranelift_module::FuncId) -> Result<()> {
    let f = &cx.program.functions[func.0 as usize];
    let types = &cx.program.types;
    let params: Vec<Repr> = f.params.iter().map(|&p| types.repr(f.var(p).ty)).collect();
    let ret = types.repr(f.ret);
    let mut ctx = cx.module.make_context();
    ctx.func.signature = signature(&cx.module, Abi::Closure, std::iter::once(Repr::Word).chain(params.iter().copied()), ret);
    let mut builder_cx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut ctx.func, &mut builder_cx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let words: Vec<_> = b.block_params(entry)[1..].to_vec();
    let args: Vec<_> = words
        .iter()
        .zip(&params)
        .map(|(&w, &r)| if r == Repr::Float { b.ins().bitcast(types::F64, MemFlagsData::new(), w) } else { w })
        .collect();
    let callee = cx.module.declare_func_in_func(cx.functions[func.0 as usize], b.func);
    let call = b.ins().call(callee, &args);
    let mut result = b.inst_results(call)[0];
    if ret == Repr::Float {
        result = b.ins().bitcast(types::I64, MemFlagsData::new(), result);
    }
    b.ins().return_(&[result]);
    b.seal_all_blocks();
    b.finalize(cx.module.isa().frontend_config());
    cx.module.define_function(id, &mut ctx).map_err(|e| format!("cannot compile a trampoline: {e:?}"))?;
    Ok(())
}

fn type_table<M: Module>(cx: &mut Context<'_, M>) -> Result<DataId> {
    let id = cx
        .module
        .declare_data("dl_type_table", Linkage::Local, false, false)
        .map_err(|e| format!("cannot declare the type table: {e}"))?;
    let bytes: Vec<u8> = cx.program.type_table.iter().flat_map(|w| w.to_le_bytes()).collect();
    let mut desc = DataDescription::new();
    desc.define(bytes.into_boxed_slice());
    desc.set_align(8);
    cx.module.define_data(id, &desc).map_err(|e| format!("cannot define the type table: {e}"))?;
    Ok(id)
}

/// The descriptor of a service, which `dl_run_program` reads (layout in
/// `vm/README.md`): all words, counts first, then the entries.
fn service_descriptor<M: Module>(cx: &mut Context<'_, M>) -> Result<DataId> {
    use dlc_core::ir::DescriptorWord as Word;
    let words = cx.program.descriptor();
    let id = cx
        .module
        .declare_data("dl_service", Linkage::Local, false, false)
        .map_err(|e| format!("cannot declare the service descriptor: {e}"))?;
    let mut desc = DataDescription::new();
    let mut bytes = Vec::with_capacity(words.len() * 8);
    let mut relocations = Vec::new();
    for (i, word) in words.into_iter().enumerate() {
        match word {
            Word::Int(n) => bytes.extend(n.to_le_bytes()),
            other => {
                bytes.extend([0; 8]);
                relocations.push((i, other));
            }
        }
    }
    desc.define(bytes.into_boxed_slice());
    desc.set_align(8);
    for (n, (i, word)) in relocations.into_iter().enumerate() {
        let offset = (i * 8) as u32;
        match word {
            Word::Text(text) => {
                let text = literal(cx, &format!("dl_service_str{n}"), text)?;
                let gv = cx.module.declare_data_in_data(text, &mut desc);
                desc.write_data_addr(offset, gv, 0);
            }
            Word::Code(func) => {
                let func = cx.module.declare_func_in_data(cx.functions[func.0 as usize], &mut desc);
                desc.write_function_addr(offset, func);
            }
            Word::Int(_) => {}
        }
    }
    cx.module.define_data(id, &desc).map_err(|e| format!("cannot define the service descriptor: {e}"))?;
    Ok(id)
}

/// C `main(argc, argv)`: `return dl_run_main(type_table, program_main, argc,
/// argv)` for a script, `dl_run_program(type_table, service, argc, argv)`
/// for a service (`ir::Module::is_service`), which needs the server runtime.
pub(crate) fn define_main<M: Module>(cx: &mut Context<'_, M>, statics: Statics) -> Result<()> {
    let (table, service) = (statics.type_table, statics.descriptor);
    let program_main = match (cx.program.main, service) {
        (Some(main), None) => Some(main),
        (None, None) => return Ok(()),
        (_, Some(_)) => None,
    };
    let mut sig = cx.module.make_signature();
    sig.params.extend([AbiParam::new(types::I32), AbiParam::new(types::I64)]);
    sig.returns.push(AbiParam::new(types::I32));
    let id = cx.module.declare_function("main", Linkage::Export, &sig).map_err(|e| format!("cannot declare main: {e}"))?;
    let mut run_sig = cx.module.make_signature();
    run_sig.params.extend([types::I64, types::I64, types::I32, types::I64].map(AbiParam::new));
    run_sig.returns.push(AbiParam::new(types::I32));
    let runner = if service.is_some() { dl_abi::entry::RUN_PROGRAM } else { dl_abi::entry::RUN_MAIN };
    let run = cx.module.declare_function(runner, Linkage::Import, &run_sig).map_err(|e| format!("cannot declare {runner}: {e}"))?;

    let mut ctx = cx.module.make_context();
    ctx.func.signature = sig;
    let mut builder_cx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut ctx.func, &mut builder_cx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let (argc, argv) = (b.block_params(entry)[0], b.block_params(entry)[1]);
    let table_gv = cx.module.declare_data_in_func(table, b.func);
    let table_addr = b.ins().symbol_value(types::I64, table_gv);
    let main_addr = match (program_main, service) {
        (Some(main), _) => {
            let main_ref = cx.module.declare_func_in_func(cx.functions[main.0 as usize], b.func);
            b.ins().func_addr(types::I64, main_ref)
        }
        (None, Some(service)) => {
            let gv = cx.module.declare_data_in_func(service, b.func);
            b.ins().symbol_value(types::I64, gv)
        }
        (None, None) => b.ins().iconst(types::I64, 0),
    };
    let run_ref = cx.module.declare_func_in_func(run, b.func);
    let call = b.ins().call(run_ref, &[table_addr, main_addr, argc, argv]);
    let status = b.inst_results(call)[0];
    b.ins().return_(&[status]);
    b.seal_all_blocks();
    b.finalize(cx.module.isa().frontend_config());
    cx.module.define_function(id, &mut ctx).map_err(|e| format!("cannot compile main: {e:?}"))?;
    Ok(())
}
