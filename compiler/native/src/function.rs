//! One IR function to Cranelift IR: variables become `Variable`s (SSA is
//! cranelift-frontend's job), structured control becomes blocks and jumps,
//! checked arithmetic branches to cold blocks that call `dl_fail`.

use std::collections::HashMap;

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, AbiParam, Block, InstBuilder, MemFlagsData, TrapCode, Value};
use cranelift_codegen::Context as ClifContext;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Switch, Variable};
use cranelift_module::Module;
use dlc_core::ir::{self, Abi, BinaryOp, Const, FailKind, Label, Operand, Repr, Rvalue, Stmt, UnaryOp};

use crate::{clif_type, signature, Context};

/// Translates one IR function into Cranelift IR, ready to compile (which
/// `lib.rs` does for all of them at once, in parallel).
pub(crate) fn translate<'p, M: Module>(cx: &mut Context<'p, M>, f: &'p ir::Function) -> Result<ClifContext> {
    let program = cx.program;
    let mut ctx = cx.module.make_context();
    ctx.func.signature =
        signature(&cx.module, f.abi, f.params.iter().map(|&p| program.types.repr(f.var(p).ty)), program.types.repr(f.ret));
    let mut builder_cx = FunctionBuilderContext::new();
    {
        let builder = FunctionBuilder::new(&mut ctx.func, &mut builder_cx);
        let mut t = Translator { cx, f, builder, vars: Vec::new(), labels: HashMap::new(), terminated: false };
        t.body()?;
        t.builder.seal_all_blocks();
        t.builder.finalize(cx.module.isa().frontend_config());
    }
    Ok(ctx)
}

struct Translator<'a, 'p, 'b, M: Module> {
    cx: &'a mut Context<'p, M>,
    f: &'p ir::Function,
    builder: FunctionBuilder<'b>,
    vars: Vec<Variable>,
    /// Where `break` and `continue` of each label jump.
    labels: HashMap<Label, (Block, Option<Block>)>,
    /// The current block has its terminator; code that follows is dead and
    /// goes to a fresh block.
    terminated: bool,
}

type Result<T> = std::result::Result<T, String>;

use dl_abi::stack::{MARGIN as STACK_MARGIN, SIZE as STACK_SIZE};

impl<M: Module> Translator<'_, '_, '_, M> {
    fn repr(&self, var: ir::VarId) -> Repr {
        self.cx.program.types.repr(self.f.var(var).ty)
    }

    fn body(&mut self) -> Result<()> {
        let f = self.f;
        for (i, var) in f.vars.iter().enumerate() {
            let ty = clif_type(self.cx.program.types.repr(var.ty));
            self.vars.push(self.builder.declare_var(ty));
            debug_assert_eq!(self.vars[i].as_u32() as usize, i);
        }
        let entry = self.builder.create_block();
        self.builder.append_block_params_for_function_params(entry);
        self.builder.switch_to_block(entry);
        let params: Vec<Value> = self.builder.block_params(entry).to_vec();
        for (&param, &value) in f.params.iter().zip(&params) {
            let value = match f.abi {
                Abi::Direct => value,
                Abi::Closure => self.convert(value, self.repr(param)),
            };
            self.builder.def_var(self.vars[param.0 as usize], value);
        }
        self.stack_check()?;
        self.block(&f.body)
    }

    /// Fails with "stack overflow" when little stack is left. Compiled code
    /// runs on the runtime's invocation threads, whose stacks are
    /// `STACK_SIZE` bytes aligned to `STACK_SIZE` (`dl_abi::stack`), so
    /// the stack left is the stack pointer modulo `STACK_SIZE`.
    fn stack_check(&mut self) -> Result<()> {
        let sp = self.builder.ins().get_stack_pointer(types::I64);
        let left = self.builder.ins().band_imm_u(sp, (STACK_SIZE - 1) as i64);
        let low = self.builder.ins().icmp_imm_u(IntCC::UnsignedLessThan, left, STACK_MARGIN as i64);
        self.fail_if(low, FailKind::StackOverflow, &Operand::Const(Const::Str(self.f.loc)))
    }

    // --- blocks and control ---------------------------------------------

    /// Makes sure instructions go to a reachable-looking block.
    fn live(&mut self) {
        if self.terminated {
            let block = self.builder.create_block();
            self.builder.switch_to_block(block);
            self.terminated = false;
        }
    }

    fn jump(&mut self, target: Block) {
        if !self.terminated {
            self.builder.ins().jump(target, &[]);
            self.terminated = true;
        }
    }

    fn start(&mut self, block: Block) {
        self.builder.switch_to_block(block);
        self.terminated = false;
    }

    fn block(&mut self, stmts: &[Stmt]) -> Result<()> {
        for stmt in stmts {
            self.stmt(stmt)?;
        }
        Ok(())
    }

    fn stmt(&mut self, stmt: &Stmt) -> Result<()> {
        self.live();
        match stmt {
            Stmt::Let(var, rvalue) => {
                let repr = self.repr(*var);
                let value = self.rvalue(rvalue, repr)?;
                self.builder.def_var(self.vars[var.0 as usize], value);
            }
            Stmt::Do(rvalue) => {
                self.rvalue(rvalue, Repr::Word)?;
            }
            Stmt::Init { object, index, value } => {
                let object = self.operand(object)?;
                let value = self.word(value)?;
                self.builder.ins().store(MemFlagsData::trusted(), value, object, (*index * 8) as i32);
            }
            Stmt::If { cond, then, else_ } => {
                let cond = self.operand(cond)?;
                let (then_block, else_block, merge) =
                    (self.builder.create_block(), self.builder.create_block(), self.builder.create_block());
                self.builder.ins().brif(cond, then_block, &[], else_block, &[]);
                self.start(then_block);
                self.block(then)?;
                self.jump(merge);
                self.start(else_block);
                self.block(else_)?;
                self.jump(merge);
                self.start(merge);
            }
            Stmt::Switch { on, cases, default } => {
                let on = self.operand(on)?;
                let merge = self.builder.create_block();
                let default_block = self.builder.create_block();
                let mut switch = Switch::new();
                let blocks: Vec<Block> = cases.iter().map(|_| self.builder.create_block()).collect();
                for ((value, _), &block) in cases.iter().zip(&blocks) {
                    switch.set_entry(*value as u64 as u128, block);
                }
                switch.emit(&mut self.builder, on, default_block);
                for ((_, body), &block) in cases.iter().zip(&blocks) {
                    self.start(block);
                    self.block(body)?;
                    self.jump(merge);
                }
                self.start(default_block);
                self.block(default)?;
                self.jump(merge);
                self.start(merge);
            }
            Stmt::Block { label, body } => {
                let exit = self.builder.create_block();
                self.labels.insert(*label, (exit, None));
                self.block(body)?;
                self.jump(exit);
                self.start(exit);
            }
            Stmt::Loop { label, body } => {
                let (head, exit) = (self.builder.create_block(), self.builder.create_block());
                self.labels.insert(*label, (exit, Some(head)));
                self.jump(head);
                self.start(head);
                self.block(body)?;
                self.jump(head);
                self.start(exit);
            }
            Stmt::Break(label) => {
                let (exit, _) = self.labels[label];
                self.jump(exit);
            }
            Stmt::Continue(label) => {
                if let (_, Some(head)) = self.labels[label] {
                    self.jump(head);
                }
            }
            Stmt::Return(value) => {
                let value = match self.f.abi {
                    Abi::Direct => {
                        let repr = self.cx.program.types.repr(self.f.ret);
                        let v = self.operand(value)?;
                        self.convert(v, repr)
                    }
                    Abi::Closure => self.word(value)?,
                };
                self.builder.ins().return_(&[value]);
                self.terminated = true;
            }
            Stmt::Fail { kind, loc } => {
                self.call_fail(*kind, loc)?;
            }
        }
        Ok(())
    }

    /// Calls `dl_fail(kind, loc)`, which does not return.
    fn call_fail(&mut self, kind: FailKind, loc: &Operand) -> Result<()> {
        let fail = self.cx.runtime_func(dl_abi::FAIL)?;
        let fail = self.cx.module.declare_func_in_func(fail, self.builder.func);
        let kind = self.builder.ins().iconst(types::I64, kind as i64);
        let loc = self.operand(loc)?;
        self.builder.ins().call(fail, &[kind, loc]);
        self.builder.ins().trap(TrapCode::unwrap_user(1));
        self.terminated = true;
        Ok(())
    }

    /// Branches to a cold block that fails when `cond` is true.
    fn fail_if(&mut self, cond: Value, kind: FailKind, loc: &Operand) -> Result<()> {
        let (fail, ok) = (self.builder.create_block(), self.builder.create_block());
        self.builder.set_cold_block(fail);
        self.builder.ins().brif(cond, fail, &[], ok, &[]);
        self.start(fail);
        self.call_fail(kind, loc)?;
        self.start(ok);
        Ok(())
    }

    // --- values ----------------------------------------------------------

    /// The value of `rvalue` in `repr` (words loaded from objects or
    /// returned by closures are reinterpreted as floats where needed).
    fn rvalue(&mut self, rvalue: &Rvalue, repr: Repr) -> Result<Value> {
        let value = match rvalue {
            Rvalue::Use(operand) => self.operand(operand)?,
            Rvalue::Unary(op, operand) => {
                let v = self.operand(operand)?;
                match op {
                    UnaryOp::FloatNeg => self.builder.ins().fneg(v),
                    UnaryOp::Not => {
                        let one = self.builder.ins().iconst(types::I64, 1);
                        self.builder.ins().bxor(v, one)
                    }
                    UnaryOp::IntNeg => {
                        let zero = self.builder.ins().iconst(types::I64, 0);
                        let (r, overflow) = self.builder.ins().ssub_overflow(zero, v);
                        self.fail_if(overflow, FailKind::Overflow, &Operand::Const(Const::Str(self.f.loc)))?;
                        r
                    }
                }
            }
            Rvalue::Binary { op, lhs, rhs, loc } => {
                let (a, b) = (self.operand(lhs)?, self.operand(rhs)?);
                self.binary(*op, a, b, loc)?
            }
            Rvalue::Call { func, args } => {
                let callee = &self.cx.program.functions[func.0 as usize];
                let params: Vec<Repr> = callee.params.iter().map(|&p| self.cx.program.types.repr(callee.var(p).ty)).collect();
                let mut values = Vec::new();
                for (arg, repr) in args.iter().zip(params) {
                    let v = self.operand(arg)?;
                    values.push(self.convert(v, repr));
                }
                let id = self.cx.functions[func.0 as usize];
                let func_ref = self.cx.module.declare_func_in_func(id, self.builder.func);
                let call = self.builder.ins().call(func_ref, &values);
                self.builder.inst_results(call)[0]
            }
            Rvalue::CallExtern { func, args } => {
                let ext = &self.cx.program.externs[func.0 as usize];
                let mut values = Vec::new();
                for (arg, &repr) in args.iter().zip(&ext.params) {
                    let v = self.operand(arg)?;
                    values.push(self.convert(v, repr));
                }
                let id = self.cx.extern_func(&ext.symbol, &ext.params, ext.ret)?;
                let func_ref = self.cx.module.declare_func_in_func(id, self.builder.func);
                let call = self.builder.ins().call(func_ref, &values);
                match self.builder.inst_results(call).first() {
                    Some(&v) => v,
                    None => self.builder.ins().iconst(types::I64, 0),
                }
            }
            Rvalue::CallClosure { callee, args } => {
                let closure = self.operand(callee)?;
                let code = self.builder.ins().load(types::I64, MemFlagsData::trusted(), closure, 0);
                let mut values = vec![closure];
                for arg in args {
                    values.push(self.word(arg)?);
                }
                let mut sig = self.cx.module.make_signature();
                sig.params.extend(values.iter().map(|_| AbiParam::new(types::I64)));
                sig.returns.push(AbiParam::new(types::I64));
                let sig = self.builder.import_signature(sig);
                let call = self.builder.ins().call_indirect(sig, code, &values);
                self.builder.inst_results(call)[0]
            }
            Rvalue::Alloc { words } => self.alloc(i64::from(*words) * 8)?,
            Rvalue::Load { object, index } => {
                let object = self.operand(object)?;
                self.builder.ins().load(types::I64, MemFlagsData::trusted(), object, (*index * 8) as i32)
            }
            Rvalue::Closure { func, captures } => {
                let object = self.alloc(8 * (1 + captures.len() as i64))?;
                let id = self.cx.functions[func.0 as usize];
                let func_ref = self.cx.module.declare_func_in_func(id, self.builder.func);
                let code = self.builder.ins().func_addr(types::I64, func_ref);
                self.builder.ins().store(MemFlagsData::trusted(), code, object, 0);
                for (i, capture) in captures.iter().enumerate() {
                    let v = self.word(capture)?;
                    self.builder.ins().store(MemFlagsData::trusted(), v, object, 8 * (1 + i as i32));
                }
                object
            }
            Rvalue::ListLen(list) => {
                let list = self.operand(list)?;
                self.builder.ins().load(types::I64, MemFlagsData::trusted(), list, 0)
            }
            Rvalue::ListItem { list, index } => {
                let list = self.operand(list)?;
                let index = self.operand(index)?;
                let items = self.builder.ins().load(types::I64, MemFlagsData::trusted(), list, 8);
                let offset = self.builder.ins().ishl_imm_u(index, 3);
                let address = self.builder.ins().iadd(items, offset);
                self.builder.ins().load(types::I64, MemFlagsData::trusted(), address, 0)
            }
        };
        Ok(self.convert(value, repr))
    }

    fn alloc(&mut self, bytes: i64) -> Result<Value> {
        let alloc = self.cx.runtime_func(dl_abi::ALLOC)?;
        let alloc = self.cx.module.declare_func_in_func(alloc, self.builder.func);
        let size = self.builder.ins().iconst(types::I64, bytes);
        let call = self.builder.ins().call(alloc, &[size]);
        Ok(self.builder.inst_results(call)[0])
    }

    fn binary(&mut self, op: BinaryOp, a: Value, b: Value, loc: &Operand) -> Result<Value> {
        use BinaryOp as B;
        let value = match op {
            B::IntAdd | B::IntSub | B::IntMul => {
                let (r, overflow) = match op {
                    B::IntAdd => self.builder.ins().sadd_overflow(a, b),
                    B::IntSub => self.builder.ins().ssub_overflow(a, b),
                    _ => self.builder.ins().smul_overflow(a, b),
                };
                self.fail_if(overflow, FailKind::Overflow, loc)?;
                r
            }
            B::IntDiv | B::IntRem => {
                let zero = self.builder.ins().icmp_imm_s(IntCC::Equal, b, 0);
                self.fail_if(zero, FailKind::DivisionByZero, loc)?;
                let minus_one = self.builder.ins().icmp_imm_s(IntCC::Equal, b, -1);
                if op == B::IntDiv {
                    // `Int.MIN / -1` is the one quotient that does not fit.
                    let min = self.builder.ins().icmp_imm_s(IntCC::Equal, a, i64::MIN);
                    let overflow = self.builder.ins().band(min, minus_one);
                    self.fail_if(overflow, FailKind::Overflow, loc)?;
                    self.builder.ins().sdiv(a, b)
                } else {
                    // `x % -1` is 0, as `x % 1`, without the hardware trap on `Int.MIN`.
                    let one = self.builder.ins().iconst(types::I64, 1);
                    let divisor = self.builder.ins().select(minus_one, one, b);
                    self.builder.ins().srem(a, divisor)
                }
            }
            B::IntAddWrapping => self.builder.ins().iadd(a, b),
            B::FloatAdd => self.builder.ins().fadd(a, b),
            B::FloatSub => self.builder.ins().fsub(a, b),
            B::FloatMul => self.builder.ins().fmul(a, b),
            B::FloatDiv => self.builder.ins().fdiv(a, b),
            B::IntEq | B::IntNe | B::IntLt | B::IntLe | B::IntGt | B::IntGe => {
                let cc = match op {
                    B::IntEq => IntCC::Equal,
                    B::IntNe => IntCC::NotEqual,
                    B::IntLt => IntCC::SignedLessThan,
                    B::IntLe => IntCC::SignedLessThanOrEqual,
                    B::IntGt => IntCC::SignedGreaterThan,
                    _ => IntCC::SignedGreaterThanOrEqual,
                };
                let flag = self.builder.ins().icmp(cc, a, b);
                self.builder.ins().uextend(types::I64, flag)
            }
            B::FloatEq | B::FloatNe | B::FloatLt | B::FloatLe | B::FloatGt | B::FloatGe => {
                let cc = match op {
                    B::FloatEq => FloatCC::Equal,
                    B::FloatNe => FloatCC::NotEqual,
                    B::FloatLt => FloatCC::LessThan,
                    B::FloatLe => FloatCC::LessThanOrEqual,
                    B::FloatGt => FloatCC::GreaterThan,
                    _ => FloatCC::GreaterThanOrEqual,
                };
                let flag = self.builder.ins().fcmp(cc, a, b);
                self.builder.ins().uextend(types::I64, flag)
            }
        };
        Ok(value)
    }

    fn operand(&mut self, operand: &Operand) -> Result<Value> {
        Ok(match operand {
            Operand::Var(v) => self.builder.use_var(self.vars[v.0 as usize]),
            Operand::Const(c) => match c {
                Const::Int(n) => self.builder.ins().iconst(types::I64, *n),
                Const::Float(x) => self.builder.ins().f64const(*x),
                Const::Bool(b) => self.builder.ins().iconst(types::I64, i64::from(*b)),
                Const::Unit => self.builder.ins().iconst(types::I64, 0),
                Const::Type(t) => self.builder.ins().iconst(types::I64, i64::from(t.0)),
                Const::Str(s) => self.string(*s)?,
                Const::Func(f) => {
                    let data = crate::data::closure_of(self.cx, *f)?;
                    let gv = self.cx.module.declare_data_in_func(data, self.builder.func);
                    self.builder.ins().symbol_value(types::I64, gv)
                }
            },
        })
    }

    fn string(&mut self, idx: ir::StrIdx) -> Result<Value> {
        let data = crate::data::string(self.cx, idx)?;
        let gv = self.cx.module.declare_data_in_func(data, self.builder.func);
        Ok(self.builder.ins().symbol_value(types::I64, gv))
    }

    /// An operand as a word (a `Float` as its bits).
    fn word(&mut self, operand: &Operand) -> Result<Value> {
        let v = self.operand(operand)?;
        Ok(self.convert(v, Repr::Word))
    }

    /// Reinterprets a value's bits between a word and a float if needed.
    fn convert(&mut self, value: Value, repr: Repr) -> Value {
        let want = clif_type(repr);
        if self.builder.func.dfg.value_type(value) == want {
            value
        } else {
            self.builder.ins().bitcast(want, MemFlagsData::new(), value)
        }
    }
}
