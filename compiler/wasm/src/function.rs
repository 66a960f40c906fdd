//! One IR function to a Wasm function: variables become locals, structured
//! control maps one to one onto Wasm's blocks and loops, checked
//! arithmetic branches to a call of the runtime's `fail`.
//!
//! Every word is an `i64`; an address is its low 32 bits (`i32.wrap_i64`).

use dl_abi::{FailKind, Repr};
use dlc_core::ir::{self, Abi, BinaryOp, Const, FuncIdx, Label, Operand, Rvalue, Stmt, UnaryOp};
use wasm_encoder::{BlockType, Function, InstructionSink, MemArg, MemArgTarget, ValType};

use crate::runtime::Primitive;
use crate::{val_type, Callee, Linker, Part, HEAP_GLOBAL, Result};

/// Translates one IR function of `part`.
pub(crate) fn translate<'p>(linker: &mut Linker<'p>, part: Part, f: &'p ir::Function) -> Result<Function> {
    let module = linker.module(part);
    let types = &module.types;
    let n_params = f.params.len() as u32;
    let mut locals: Vec<u32> = vec![u32::MAX; f.vars.len()];
    let mut extra: Vec<ValType> = Vec::new();
    // Parameters are the first locals; a closure's arrive as words, so a
    // `Float` one gets a local of its own, converted on entry.
    let mut converted = Vec::new();
    for (i, &p) in f.params.iter().enumerate() {
        let repr = types.repr(f.var(p).ty);
        if f.abi == Abi::Closure && repr == Repr::Float {
            locals[p.0 as usize] = n_params + extra.len() as u32;
            extra.push(ValType::F64);
            converted.push((i as u32, locals[p.0 as usize]));
        } else {
            locals[p.0 as usize] = i as u32;
        }
    }
    for (i, var) in f.vars.iter().enumerate() {
        if locals[i] == u32::MAX {
            locals[i] = n_params + extra.len() as u32;
            extra.push(val_type(types.repr(var.ty)));
        }
    }
    let scratch = n_params + extra.len() as u32;
    extra.extend([ValType::I64, ValType::I64]);
    let mut body = Function::new_with_locals_types(extra);
    let mut reads = vec![0u32; f.vars.len()];
    let mut uses = Vec::new();
    crate::walk::block(&f.body, &mut uses);
    for u in uses {
        if let crate::walk::Use::Read(v) = u {
            reads[v.0 as usize] += 1;
        }
    }
    let mut t = Translator { linker, part, f, locals, scratch, controls: Vec::new(), reads };
    {
        let mut sink = body.instructions();
        for (param, local) in converted {
            sink.local_get(param).f64_reinterpret_i64().local_set(local);
        }
    }
    t.block(&mut body, &f.body)?;
    body.instructions().unreachable().end();
    Ok(body)
}

/// The closure-ABI function behind a top-level function used as a value:
/// `(closure, words…) -> word`, calling it directly.
pub(crate) fn trampoline(linker: &mut Linker<'_>, part: Part, func: FuncIdx) -> (u32, Function) {
    let module = linker.module(part);
    let f = &module.functions[func.0 as usize];
    let (params, result) = crate::signature(module, f);
    let ty = linker.type_index(&vec![ValType::I64; params.len() + 1], &[ValType::I64]);
    let mut body = Function::new([]);
    let mut sink = body.instructions();
    for (i, param) in params.iter().enumerate() {
        sink.local_get(i as u32 + 1);
        if *param == ValType::F64 {
            sink.f64_reinterpret_i64();
        }
    }
    sink.call(linker.function_index(part, func));
    if result == ValType::F64 {
        sink.i64_reinterpret_f64();
    }
    sink.end();
    (ty, body)
}

/// What `br` inside a label reaches: its end, or a loop's head.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Control {
    Exit(Label),
    Head(Label),
    Other,
}

struct Translator<'a, 'p> {
    linker: &'a mut Linker<'p>,
    part: Part,
    f: &'p ir::Function,
    locals: Vec<u32>,
    /// Two `i64` locals for intermediate results.
    scratch: u32,
    controls: Vec<Control>,
    /// How often each variable is read.
    reads: Vec<u32>,
}

/// A word at `offset` from the address on the stack.
fn mem(offset: u32) -> MemArg {
    mem_bytes(offset, 3)
}

/// `align`: log2 of the access's alignment.
fn mem_bytes(offset: u32, align: u32) -> MemArg {
    MemArg { offset: u64::from(offset), align, target: MemArgTarget::Memory(0), ordering: None }
}

impl<'p> Translator<'_, 'p> {
    fn module(&self) -> &'p ir::Module {
        self.linker.module(self.part)
    }

    fn repr(&self, var: ir::VarId) -> Repr {
        self.module().types.repr(self.f.var(var).ty)
    }

    fn depth(&self, target: Control) -> u32 {
        let from_top = self.controls.iter().rev().position(|&c| c == target);
        from_top.expect("a break inside its label") as u32
    }

    fn block(&mut self, out: &mut Function, stmts: &[Stmt]) -> Result<()> {
        let mut i = 0;
        while i < stmts.len() {
            // A comparison read only by the `if` right after it is that
            // `if`'s condition: no Bool word stored and reloaded (which
            // Liftoff, running code before it is optimised, would do).
            if let (Stmt::Let(var, Rvalue::Binary { op, lhs, rhs, .. }), Some(Stmt::If { cond: Operand::Var(c), then, else_ })) =
                (&stmts[i], stmts.get(i + 1))
                && c == var
                && self.reads[var.0 as usize] == 1
                && op.is_comparison()
            {
                self.comparison(out, *op, lhs, rhs)?;
                self.if_(out, then, else_)?;
                i += 2;
                continue;
            }
            self.stmt(out, &stmts[i])?;
            i += 1;
        }
        Ok(())
    }

    /// `if` on the `i32` on the stack.
    fn if_(&mut self, out: &mut Function, then: &[Stmt], else_: &[Stmt]) -> Result<()> {
        out.instructions().if_(BlockType::Empty);
        self.controls.push(Control::Other);
        self.block(out, then)?;
        if !else_.is_empty() {
            out.instructions().else_();
            self.block(out, else_)?;
        }
        self.controls.pop();
        out.instructions().end();
        Ok(())
    }

    fn stmt(&mut self, out: &mut Function, stmt: &Stmt) -> Result<()> {
        match stmt {
            Stmt::Let(var, rvalue) => {
                let got = self.rvalue(out, rvalue)?;
                let want = self.repr(*var);
                match got {
                    Some(got) => convert(&mut out.instructions(), got, want),
                    None => {
                        out.instructions().i64_const(0);
                    }
                }
                out.instructions().local_set(self.locals[var.0 as usize]);
            }
            Stmt::Do(rvalue) => {
                if self.rvalue(out, rvalue)?.is_some() {
                    out.instructions().drop();
                }
            }
            Stmt::Init { object, index, value } => {
                self.address(out, object)?;
                self.operand(out, value, Repr::Word)?;
                out.instructions().i64_store(mem(index * 8));
            }
            Stmt::If { cond, then, else_ } => {
                self.operand(out, cond, Repr::Word)?;
                out.instructions().i32_wrap_i64();
                self.if_(out, then, else_)?;
            }
            Stmt::Switch { on, cases, default } => {
                // A chain of comparisons: the cases are a few enum tags.
                for (value, body) in cases {
                    self.operand(out, on, Repr::Word)?;
                    out.instructions().i64_const(*value).i64_eq().if_(BlockType::Empty);
                    self.controls.push(Control::Other);
                    self.block(out, body)?;
                    out.instructions().else_();
                }
                self.block(out, default)?;
                for _ in cases {
                    self.controls.pop();
                    out.instructions().end();
                }
            }
            Stmt::Block { label, body } => {
                out.instructions().block(BlockType::Empty);
                self.controls.push(Control::Exit(*label));
                self.block(out, body)?;
                self.controls.pop();
                out.instructions().end();
            }
            Stmt::Loop { label, body } => {
                out.instructions().block(BlockType::Empty).loop_(BlockType::Empty);
                self.controls.extend([Control::Exit(*label), Control::Head(*label)]);
                self.block(out, body)?;
                let head = self.depth(Control::Head(*label));
                out.instructions().br(head);
                self.controls.truncate(self.controls.len() - 2);
                out.instructions().end().end();
            }
            Stmt::Break(label) => {
                let depth = self.depth(Control::Exit(*label));
                out.instructions().br(depth);
            }
            Stmt::Continue(label) => {
                let depth = self.depth(Control::Head(*label));
                out.instructions().br(depth);
            }
            Stmt::Return(value) => {
                let repr = match self.f.abi {
                    Abi::Direct => self.module().types.repr(self.f.ret),
                    Abi::Closure => Repr::Word,
                };
                self.operand(out, value, repr)?;
                out.instructions().return_();
            }
            Stmt::Fail { kind, loc } => self.fail(out, *kind, loc)?,
        }
        Ok(())
    }

    /// Calls the runtime's `fail(kind, loc)`, which does not return.
    fn fail(&mut self, out: &mut Function, kind: FailKind, loc: &Operand) -> Result<()> {
        out.instructions().i64_const(kind as i64);
        self.operand(out, loc, Repr::Word)?;
        out.instructions().call(self.linker.fail).unreachable();
        Ok(())
    }

    /// Fails with `kind` when the `i32` on the stack is true.
    fn fail_if(&mut self, out: &mut Function, kind: FailKind, loc: &Operand) -> Result<()> {
        out.instructions().if_(BlockType::Empty);
        self.controls.push(Control::Other);
        self.fail(out, kind, loc)?;
        self.controls.pop();
        out.instructions().end();
        Ok(())
    }

    /// Pushes the value of `rvalue`; its representation, or `None` when
    /// it pushes nothing (a call that returns nothing).
    fn rvalue(&mut self, out: &mut Function, rvalue: &Rvalue) -> Result<Option<Repr>> {
        let module = self.module();
        Ok(Some(match rvalue {
            Rvalue::Use(operand) => {
                let repr = self.operand_repr(operand);
                self.operand(out, operand, repr)?;
                repr
            }
            Rvalue::Unary(op, operand) => match op {
                UnaryOp::FloatNeg => {
                    self.operand(out, operand, Repr::Float)?;
                    out.instructions().f64_neg();
                    Repr::Float
                }
                UnaryOp::Not => {
                    self.operand(out, operand, Repr::Word)?;
                    out.instructions().i64_const(1).i64_xor();
                    Repr::Word
                }
                UnaryOp::IntNeg => {
                    self.operand(out, operand, Repr::Word)?;
                    out.instructions().i64_const(i64::MIN).i64_eq();
                    self.fail_if(out, FailKind::Overflow, &Operand::Const(Const::Str(self.f.loc)))?;
                    out.instructions().i64_const(0);
                    self.operand(out, operand, Repr::Word)?;
                    out.instructions().i64_sub();
                    Repr::Word
                }
            },
            Rvalue::Binary { op, lhs, rhs, loc } => self.binary(out, *op, lhs, rhs, loc)?,
            Rvalue::Call { func, args } => {
                let callee = &module.functions[func.0 as usize];
                for (arg, &param) in args.iter().zip(&callee.params) {
                    let repr = match callee.abi {
                        Abi::Direct => module.types.repr(callee.var(param).ty),
                        Abi::Closure => Repr::Word,
                    };
                    self.operand(out, arg, repr)?;
                }
                out.instructions().call(self.linker.function_index(self.part, *func));
                match callee.abi {
                    Abi::Direct => module.types.repr(callee.ret),
                    Abi::Closure => Repr::Word,
                }
            }
            Rvalue::CallExtern { func, args } => {
                let ext = &module.externs[func.0 as usize];
                match self.linker.callees[&self.part][func.0 as usize] {
                    Callee::Function(index) => {
                        for (arg, &repr) in args.iter().zip(&ext.params) {
                            self.operand(out, arg, repr)?;
                        }
                        out.instructions().call(index);
                        // The Distlang function returns `()` as a word.
                        match ext.ret {
                            Some(repr) => repr,
                            None => {
                                out.instructions().drop();
                                return Ok(None);
                            }
                        }
                    }
                    Callee::Primitive(primitive) => return self.primitive(out, primitive, args),
                }
            }
            Rvalue::CallClosure { callee, args } => {
                self.operand(out, callee, Repr::Word)?;
                for arg in args {
                    self.operand(out, arg, Repr::Word)?;
                }
                self.address(out, callee)?;
                out.instructions().i64_load(mem(0)).i32_wrap_i64();
                let ty = self.linker.type_index(&vec![ValType::I64; args.len() + 1], &[ValType::I64]);
                out.instructions().call_indirect(0, ty);
                Repr::Word
            }
            Rvalue::Alloc { words } => {
                out.instructions().i64_const(i64::from(*words) * 8).call(self.linker.alloc);
                Repr::Word
            }
            Rvalue::Load { object, index } => {
                self.address(out, object)?;
                out.instructions().i64_load(mem(index * 8));
                Repr::Word
            }
            Rvalue::Closure { func, captures } => {
                let object = self.scratch + 1;
                let index = self.linker.function_index(self.part, *func);
                let slot = self.linker.table_slot(index);
                out.instructions()
                    .i64_const(8 * (1 + captures.len() as i64))
                    .call(self.linker.alloc)
                    .local_tee(object)
                    .i32_wrap_i64()
                    .i64_const(i64::from(slot))
                    .i64_store(mem(0));
                for (i, capture) in captures.iter().enumerate() {
                    out.instructions().local_get(object).i32_wrap_i64();
                    self.operand(out, capture, Repr::Word)?;
                    out.instructions().i64_store(mem(8 * (1 + i as u32)));
                }
                out.instructions().local_get(object);
                Repr::Word
            }
            Rvalue::ListLen(list) => {
                self.address(out, list)?;
                out.instructions().i64_load(mem(0));
                Repr::Word
            }
            Rvalue::ListItem { list, index } => {
                self.address(out, list)?;
                out.instructions().i64_load(mem(8));
                self.operand(out, index, Repr::Word)?;
                out.instructions().i64_const(3).i64_shl().i64_add().i32_wrap_i64().i64_load(mem(0));
                Repr::Word
            }
        }))
    }

    fn primitive(&mut self, out: &mut Function, primitive: Primitive, args: &[Operand]) -> Result<Option<Repr>> {
        let (params, result) = primitive.signature();
        let addressed = matches!(
            primitive,
            Primitive::Load | Primitive::Store | Primitive::LoadByte | Primitive::StoreByte | Primitive::LoadU32
        );
        for (i, (arg, &repr)) in args.iter().zip(params).enumerate() {
            if i == 0 && addressed {
                self.address(out, arg)?;
            } else if primitive == Primitive::Copy {
                self.address(out, arg)?;
            } else {
                self.operand(out, arg, repr)?;
            }
        }
        let mut sink = out.instructions();
        match primitive {
            Primitive::Same(from, to) => convert(&mut sink, from, to),
            Primitive::Load => {
                sink.i64_load(mem(0));
            }
            Primitive::Store => {
                sink.i64_store(mem(0));
            }
            Primitive::LoadByte => {
                sink.i64_load8_u(mem_bytes(0, 0));
            }
            Primitive::StoreByte => {
                sink.i64_store8(mem_bytes(0, 0));
            }
            Primitive::LoadU32 => {
                sink.i64_load32_u(mem_bytes(0, 2));
            }
            Primitive::Copy => {
                sink.memory_copy(0, 0);
            }
            Primitive::Heap => {
                sink.global_get(HEAP_GLOBAL).i64_extend_i32_u();
            }
            Primitive::SetHeap => {
                sink.i32_wrap_i64().global_set(HEAP_GLOBAL);
            }
            Primitive::HeapBase => {
                sink.global_get(HEAP_GLOBAL + 1).i64_extend_i32_u();
            }
            Primitive::TypeTable => {
                sink.global_get(HEAP_GLOBAL + 2).i64_extend_i32_u();
            }
            Primitive::Descriptor => {
                sink.global_get(HEAP_GLOBAL + 3).i64_extend_i32_u();
            }
            Primitive::State => {
                sink.i64_const(i64::from(crate::data::STATE));
            }
            Primitive::Pages => {
                sink.memory_size(0).i64_extend_i32_u();
            }
            Primitive::Grow => {
                sink.i32_wrap_i64().memory_grow(0).i64_extend_i32_s();
            }
            Primitive::And => {
                sink.i64_and();
            }
            Primitive::Or => {
                sink.i64_or();
            }
            Primitive::Xor => {
                sink.i64_xor();
            }
            Primitive::Shl => {
                sink.i64_shl();
            }
            Primitive::ShrU => {
                sink.i64_shr_u();
            }
            Primitive::Add => {
                sink.i64_add();
            }
            Primitive::Mul => {
                sink.i64_mul();
            }
            Primitive::LtU => {
                sink.i64_lt_u().i64_extend_i32_u();
            }
            Primitive::Sqrt => {
                sink.f64_sqrt();
            }
            Primitive::Floor => {
                sink.f64_floor();
            }
            Primitive::Ceil => {
                sink.f64_ceil();
            }
            Primitive::Trunc => {
                sink.f64_trunc();
            }
            Primitive::FloatToInt => {
                sink.i64_trunc_sat_f64_s();
            }
            Primitive::IntToFloat => {
                sink.f64_convert_i64_s();
            }
            Primitive::Host(host) => {
                sink.call(host.index());
            }
        }
        Ok(result)
    }

    fn binary(&mut self, out: &mut Function, op: BinaryOp, a: &Operand, b: &Operand, loc: &Operand) -> Result<Repr> {
        use BinaryOp as B;
        let r = self.scratch;
        match op {
            B::IntAdd | B::IntSub | B::IntMul if let Some((x, lo, hi)) = constant_operand_range(op, a, b) => {
                // One operand is a constant: the other must lie in `lo..=hi`,
                // one unsigned comparison of `x - lo`.
                if (lo, hi) != (i64::MIN, i64::MAX) {
                    self.operand(out, x, Repr::Word)?;
                    out.instructions().i64_const(lo).i64_sub().i64_const(hi.wrapping_sub(lo)).i64_gt_u();
                    self.fail_if(out, FailKind::Overflow, loc)?;
                }
                self.operand(out, a, Repr::Word)?;
                self.operand(out, b, Repr::Word)?;
                let mut sink = out.instructions();
                match op {
                    B::IntAdd => sink.i64_add(),
                    B::IntSub => sink.i64_sub(),
                    _ => sink.i64_mul(),
                };
            }
            B::IntAdd | B::IntSub => {
                // Overflow iff the sign of the result is wrong:
                // add: (a ^ r) & (b ^ r) < 0; sub: (a ^ b) & (a ^ r) < 0.
                self.operand(out, a, Repr::Word)?;
                self.operand(out, b, Repr::Word)?;
                if op == B::IntAdd {
                    out.instructions().i64_add().local_set(r);
                    self.operand(out, a, Repr::Word)?;
                    out.instructions().local_get(r).i64_xor();
                    self.operand(out, b, Repr::Word)?;
                } else {
                    out.instructions().i64_sub().local_set(r);
                    self.operand(out, a, Repr::Word)?;
                    self.operand(out, b, Repr::Word)?;
                    out.instructions().i64_xor();
                    self.operand(out, a, Repr::Word)?;
                }
                out.instructions().local_get(r).i64_xor().i64_and().i64_const(0).i64_lt_s();
                self.fail_if(out, FailKind::Overflow, loc)?;
                out.instructions().local_get(r);
            }
            B::IntMul => {
                // No overflow when both fit in 32 bits; else check that
                // dividing the product gives the factor back.
                for x in [a, b] {
                    self.operand(out, x, Repr::Word)?;
                    out.instructions().i32_wrap_i64().i64_extend_i32_s();
                    self.operand(out, x, Repr::Word)?;
                    out.instructions().i64_eq();
                }
                out.instructions().i32_and().if_(BlockType::Result(ValType::I32)).i32_const(0).else_();
                self.operand(out, a, Repr::Word)?;
                out.instructions().i64_const(-1).i64_eq().if_(BlockType::Result(ValType::I32));
                self.operand(out, b, Repr::Word)?;
                out.instructions().i64_const(i64::MIN).i64_eq().else_();
                self.operand(out, a, Repr::Word)?;
                out.instructions().i64_eqz().if_(BlockType::Result(ValType::I32)).i32_const(0).else_();
                self.operand(out, a, Repr::Word)?;
                self.operand(out, b, Repr::Word)?;
                out.instructions().i64_mul();
                self.operand(out, a, Repr::Word)?;
                out.instructions().i64_div_s();
                self.operand(out, b, Repr::Word)?;
                out.instructions().i64_ne().end().end().end();
                self.fail_if(out, FailKind::Overflow, loc)?;
                self.operand(out, a, Repr::Word)?;
                self.operand(out, b, Repr::Word)?;
                out.instructions().i64_mul();
            }
            B::IntDiv | B::IntRem => {
                // A constant divisor needs only the checks it can fail.
                let divisor = match b {
                    Operand::Const(Const::Int(n)) => Some(*n),
                    _ => None,
                };
                if divisor.is_none_or(|n| n == 0) {
                    self.operand(out, b, Repr::Word)?;
                    out.instructions().i64_eqz();
                    self.fail_if(out, FailKind::DivisionByZero, loc)?;
                }
                if op == B::IntDiv && divisor.is_none_or(|n| n == -1) {
                    // `Int.MIN / -1` is the one quotient that does not fit.
                    self.operand(out, a, Repr::Word)?;
                    out.instructions().i64_const(i64::MIN).i64_eq();
                    self.operand(out, b, Repr::Word)?;
                    out.instructions().i64_const(-1).i64_eq().i32_and();
                    self.fail_if(out, FailKind::Overflow, loc)?;
                }
                self.operand(out, a, Repr::Word)?;
                self.operand(out, b, Repr::Word)?;
                // Wasm's `rem_s` gives 0 for `Int.MIN % -1`, as native does.
                if op == B::IntDiv {
                    out.instructions().i64_div_s();
                } else {
                    out.instructions().i64_rem_s();
                }
            }
            B::IntAddWrapping => {
                self.operand(out, a, Repr::Word)?;
                self.operand(out, b, Repr::Word)?;
                out.instructions().i64_add();
            }
            B::FloatAdd | B::FloatSub | B::FloatMul | B::FloatDiv => {
                self.operand(out, a, Repr::Float)?;
                self.operand(out, b, Repr::Float)?;
                let mut sink = out.instructions();
                match op {
                    B::FloatAdd => sink.f64_add(),
                    B::FloatSub => sink.f64_sub(),
                    B::FloatMul => sink.f64_mul(),
                    _ => sink.f64_div(),
                };
                return Ok(Repr::Float);
            }
            B::IntEq | B::IntNe | B::IntLt | B::IntLe | B::IntGt | B::IntGe | B::FloatEq | B::FloatNe | B::FloatLt | B::FloatLe | B::FloatGt | B::FloatGe => {
                self.comparison(out, op, a, b)?;
                out.instructions().i64_extend_i32_u();
            }
        }
        Ok(Repr::Word)
    }

    /// Pushes a comparison's `i32`.
    fn comparison(&mut self, out: &mut Function, op: BinaryOp, a: &Operand, b: &Operand) -> Result<()> {
        use BinaryOp as B;
        let floats = matches!(op, B::FloatEq | B::FloatNe | B::FloatLt | B::FloatLe | B::FloatGt | B::FloatGe);
        let repr = if floats { Repr::Float } else { Repr::Word };
        self.operand(out, a, repr)?;
        self.operand(out, b, repr)?;
        let mut sink = out.instructions();
        match op {
            B::IntEq => sink.i64_eq(),
            B::IntNe => sink.i64_ne(),
            B::IntLt => sink.i64_lt_s(),
            B::IntLe => sink.i64_le_s(),
            B::IntGt => sink.i64_gt_s(),
            B::IntGe => sink.i64_ge_s(),
            B::FloatEq => sink.f64_eq(),
            B::FloatNe => sink.f64_ne(),
            B::FloatLt => sink.f64_lt(),
            B::FloatLe => sink.f64_le(),
            B::FloatGt => sink.f64_gt(),
            B::FloatGe => sink.f64_ge(),
            _ => unreachable!("{op:?} is not a comparison"),
        };
        Ok(())
    }

    fn operand_repr(&self, operand: &Operand) -> Repr {
        match operand {
            Operand::Var(v) => self.repr(*v),
            Operand::Const(Const::Float(_)) => Repr::Float,
            Operand::Const(_) => Repr::Word,
        }
    }

    /// Pushes an object's address (`i32`).
    fn address(&mut self, out: &mut Function, operand: &Operand) -> Result<()> {
        self.operand(out, operand, Repr::Word)?;
        out.instructions().i32_wrap_i64();
        Ok(())
    }

    /// Pushes an operand in `repr`.
    fn operand(&mut self, out: &mut Function, operand: &Operand, repr: Repr) -> Result<()> {
        let natural = self.operand_repr(operand);
        match operand {
            Operand::Var(v) => {
                out.instructions().local_get(self.locals[v.0 as usize]);
            }
            Operand::Const(c) => {
                let word = match c {
                    Const::Int(n) => *n,
                    Const::Float(x) => {
                        out.instructions().f64_const((*x).into());
                        convert(&mut out.instructions(), natural, repr);
                        return Ok(());
                    }
                    Const::Bool(b) => i64::from(*b),
                    Const::Unit => 0,
                    Const::Str(s) => {
                        let text = &self.module().strings[s.0 as usize];
                        i64::from(self.linker.data.string(text))
                    }
                    // (The runtime has none: `Runtime::compile` checks.)
                    Const::Type(t) => i64::from(t.0),
                    Const::Func(f) => i64::from(self.linker.closure_of(self.part, *f)?),
                };
                out.instructions().i64_const(word);
            }
        }
        convert(&mut out.instructions(), natural, repr);
        Ok(())
    }
}

/// Reinterprets the value on the stack between a word and a float.
fn convert(sink: &mut InstructionSink<'_>, from: Repr, to: Repr) {
    match (from, to) {
        (Repr::Word, Repr::Float) => {
            sink.f64_reinterpret_i64();
        }
        (Repr::Float, Repr::Word) => {
            sink.i64_reinterpret_f64();
        }
        _ => {}
    }
}

/// When one operand of a checked `+`, `-` or `*` is a constant: the other
/// operand and the range of its values for which the result fits an Int.
fn constant_operand_range<'o>(op: BinaryOp, a: &'o Operand, b: &'o Operand) -> Option<(&'o Operand, i64, i64)> {
    let constant = |o: &Operand| match o {
        Operand::Const(Const::Int(n)) => Some(i128::from(*n)),
        _ => None,
    };
    let (min, max) = (i128::from(i64::MIN), i128::from(i64::MAX));
    let (x, c, constant_first) = match (constant(a), constant(b)) {
        (_, Some(c)) => (a, c, false),
        (Some(c), None) => (b, c, true),
        (None, None) => return None,
    };
    let (lo, hi) = match op {
        BinaryOp::IntAdd => (min - c, max - c),
        BinaryOp::IntSub if constant_first => (c - max, c - min),
        BinaryOp::IntSub => (min + c, max + c),
        _ if c == 0 => (min, max),
        _ if c > 0 => (ceil_div(min, c), floor_div(max, c)),
        _ => (ceil_div(max, c), floor_div(min, c)),
    };
    Some((x, lo.clamp(min, max) as i64, hi.clamp(min, max) as i64))
}

fn floor_div(a: i128, b: i128) -> i128 {
    let q = a / b;
    if a % b != 0 && (a < 0) != (b < 0) { q - 1 } else { q }
}

fn ceil_div(a: i128, b: i128) -> i128 {
    let q = a / b;
    if a % b != 0 && (a < 0) == (b < 0) { q + 1 } else { q }
}
