//! Static data and glue code: string literals as `Str` objects, the type
//! table, a static closure (and its trampoline) for every top-level function
//! used as a value, and the C `main` that hands the program to the runtime.

use cranelift_codegen::ir::{types, AbiParam, InstBuilder, MemFlagsData};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::{DataDescription, DataId, Linkage, Module as _};
use dlc_core::ir::{Abi, FuncIdx, Repr, StrIdx};

use crate::{signature, Context};

type Result<T> = std::result::Result<T, String>;

/// The static `Str` of a literal: `[len, ptr = self + 24, buf = 0, bytes…]`.
pub(crate) fn string(cx: &mut Context, idx: StrIdx) -> Result<DataId> {
    if let Some(id) = cx.strings[idx.0 as usize] {
        return Ok(id);
    }
    let id = cx
        .object
        .declare_data(&format!("dl_str{}", idx.0), Linkage::Local, false, false)
        .map_err(|e| format!("cannot declare a string: {e}"))?;
    let text = cx.program.strings[idx.0 as usize].as_bytes();
    let mut bytes = Vec::with_capacity(24 + text.len() + 8);
    bytes.extend((text.len() as u64).to_le_bytes());
    bytes.extend([0; 16]);
    bytes.extend(text);
    bytes.resize(bytes.len().next_multiple_of(8), 0);
    let mut desc = DataDescription::new();
    desc.define(bytes.into_boxed_slice());
    desc.set_align(8);
    let this = cx.object.declare_data_in_data(id, &mut desc);
    desc.write_data_addr(8, this, 24);
    cx.object.define_data(id, &desc).map_err(|e| format!("cannot define a string: {e}"))?;
    cx.strings[idx.0 as usize] = Some(id);
    Ok(id)
}

/// The static closure object `[trampoline]` of a top-level function.
pub(crate) fn closure_of(cx: &mut Context, func: FuncIdx) -> Result<DataId> {
    if let Some(&id) = cx.closures.get(&func) {
        return Ok(id);
    }
    let f = &cx.program.functions[func.0 as usize];
    let types = &cx.program.types;
    let sig = signature(&cx.object, Abi::Closure, std::iter::once(Repr::Word).chain(f.params.iter().map(|&p| types.repr(f.var(p).ty))), types.repr(f.ret));
    let trampoline = cx
        .object
        .declare_function(&format!("dl_fn{}_closure", func.0), Linkage::Local, &sig)
        .map_err(|e| format!("cannot declare a trampoline: {e}"))?;
    let id = cx
        .object
        .declare_data(&format!("dl_fn{}_value", func.0), Linkage::Local, false, false)
        .map_err(|e| format!("cannot declare a closure: {e}"))?;
    let mut desc = DataDescription::new();
    desc.define(vec![0u8; 8].into_boxed_slice());
    desc.set_align(8);
    let code = cx.object.declare_func_in_data(trampoline, &mut desc);
    desc.write_function_addr(0, code);
    cx.object.define_data(id, &desc).map_err(|e| format!("cannot define a closure: {e}"))?;
    cx.closures.insert(func, id);
    cx.trampolines.insert(func, trampoline);
    Ok(id)
}

/// Everything defined once per program, after its functions.
pub(crate) fn define_all(cx: &mut Context) -> Result<()> {
    let mut pending: Vec<(FuncIdx, cranelift_module::FuncId)> = cx.trampolines.iter().map(|(&f, &id)| (f, id)).collect();
    pending.sort();
    for (func, id) in pending {
        define_trampoline(cx, func, id)?;
    }
    let table = type_table(cx)?;
    define_main(cx, table)
}

/// A closure-ABI function that calls `func` directly: `(closure, words…) -> word`.
fn define_trampoline(cx: &mut Context, func: FuncIdx, id: cranelift_module::FuncId) -> Result<()> {
    let f = &cx.program.functions[func.0 as usize];
    let types = &cx.program.types;
    let params: Vec<Repr> = f.params.iter().map(|&p| types.repr(f.var(p).ty)).collect();
    let ret = types.repr(f.ret);
    let mut ctx = cx.object.make_context();
    ctx.func.signature = signature(&cx.object, Abi::Closure, std::iter::once(Repr::Word).chain(params.iter().copied()), ret);
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
    let callee = cx.object.declare_func_in_func(cx.functions[func.0 as usize], b.func);
    let call = b.ins().call(callee, &args);
    let mut result = b.inst_results(call)[0];
    if ret == Repr::Float {
        result = b.ins().bitcast(types::I64, MemFlagsData::new(), result);
    }
    b.ins().return_(&[result]);
    b.seal_all_blocks();
    b.finalize(cx.object.isa().frontend_config());
    cx.object.define_function(id, &mut ctx).map_err(|e| format!("cannot compile a trampoline: {e:?}"))?;
    Ok(())
}

fn type_table(cx: &mut Context) -> Result<DataId> {
    let id = cx
        .object
        .declare_data("dl_type_table", Linkage::Local, false, false)
        .map_err(|e| format!("cannot declare the type table: {e}"))?;
    let bytes: Vec<u8> = cx.program.type_table.iter().flat_map(|w| w.to_le_bytes()).collect();
    let mut desc = DataDescription::new();
    desc.define(bytes.into_boxed_slice());
    desc.set_align(8);
    cx.object.define_data(id, &desc).map_err(|e| format!("cannot define the type table: {e}"))?;
    Ok(id)
}

/// C `main(argc, argv)`: `return dl_run_main(type_table, program_main, argc, argv)`.
fn define_main(cx: &mut Context, table: DataId) -> Result<()> {
    let Some(program_main) = cx.program.main else {
        return Ok(());
    };
    let mut sig = cx.object.make_signature();
    sig.params.extend([AbiParam::new(types::I32), AbiParam::new(types::I64)]);
    sig.returns.push(AbiParam::new(types::I32));
    let id = cx.object.declare_function("main", Linkage::Export, &sig).map_err(|e| format!("cannot declare main: {e}"))?;
    let mut run_sig = cx.object.make_signature();
    run_sig.params.extend([types::I64, types::I64, types::I32, types::I64].map(AbiParam::new));
    run_sig.returns.push(AbiParam::new(types::I32));
    let run = cx
        .object
        .declare_function("dl_run_main", Linkage::Import, &run_sig)
        .map_err(|e| format!("cannot declare dl_run_main: {e}"))?;

    let mut ctx = cx.object.make_context();
    ctx.func.signature = sig;
    let mut builder_cx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut ctx.func, &mut builder_cx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let (argc, argv) = (b.block_params(entry)[0], b.block_params(entry)[1]);
    let table_gv = cx.object.declare_data_in_func(table, b.func);
    let table_addr = b.ins().symbol_value(types::I64, table_gv);
    let main_ref = cx.object.declare_func_in_func(cx.functions[program_main.0 as usize], b.func);
    let main_addr = b.ins().func_addr(types::I64, main_ref);
    let run_ref = cx.object.declare_func_in_func(run, b.func);
    let call = b.ins().call(run_ref, &[table_addr, main_addr, argc, argv]);
    let status = b.inst_results(call)[0];
    b.ins().return_(&[status]);
    b.seal_all_blocks();
    b.finalize(cx.object.isa().frontend_config());
    cx.object.define_function(id, &mut ctx).map_err(|e| format!("cannot compile main: {e:?}"))?;
    Ok(())
}
