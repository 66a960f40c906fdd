//! Inlining of small functions, the one optimisation above the backends:
//! Cranelift does not inline, and calls dominate small-function code (the
//! stdlib's wrappers, `fib`). A call `v = f(args)` of a small direct
//! function becomes a labelled block holding `f`'s body, its parameters
//! bound to the arguments and each `return x` turned into `v = x; break`.
//!
//! Callees are handled before their callers, so what a callee inlined comes
//! with it (`object` brings `alloc`'s bump along); a callee that grew too
//! big is inlined as it was before this pass instead. A function calling
//! itself inlines its pre-pass body, so recursion is unrolled exactly once.

use super::*;

/// Callees with at most this many statements (counted recursively) are
/// inlined.
const MAX_CALLEE_SIZE: usize = 16;
/// A function stops growing by inlining past this size.
const MAX_CALLER_SIZE: usize = 400;

pub(super) fn run(module: &mut Module) {
    let small = |f: &Function| (f.abi == Abi::Direct && size(&f.body) <= MAX_CALLEE_SIZE).then(|| f.clone());
    let mut inlinable: Vec<Option<Function>> = module.functions.iter().map(small).collect();
    for func in callees_first(module) {
        let function = &mut module.functions[func.0 as usize];
        let mut inliner = Inliner {
            originals: &inlinable,
            vars: std::mem::take(&mut function.vars),
            next_label: max_label(&function.body).map_or(0, |l| l + 1),
            budget: MAX_CALLER_SIZE.saturating_sub(size(&function.body)),
        };
        let body = std::mem::take(&mut function.body);
        function.body = inliner.block(body);
        function.vars = inliner.vars;
        if let Some(grown) = small(function) {
            inlinable[func.0 as usize] = Some(grown);
        }
    }
}

/// Every function, each after the functions it calls (but for cycles).
fn callees_first(module: &Module) -> Vec<FuncIdx> {
    fn calls(block: &Block, out: &mut Vec<FuncIdx>) {
        for stmt in block {
            match stmt {
                Stmt::Let(_, Rvalue::Call { func, .. }) | Stmt::Do(Rvalue::Call { func, .. }) => out.push(*func),
                Stmt::If { then, else_, .. } => {
                    calls(then, out);
                    calls(else_, out);
                }
                Stmt::Switch { cases, default, .. } => {
                    cases.iter().for_each(|(_, b)| calls(b, out));
                    calls(default, out);
                }
                Stmt::Block { body, .. } | Stmt::Loop { body, .. } => calls(body, out),
                _ => {}
            }
        }
    }
    // An iterative depth-first search, emitting a function once all its
    // callees are emitted or on the path to it.
    let n = module.functions.len();
    let mut seen = vec![false; n];
    let mut order = Vec::with_capacity(n);
    for root in 0..n {
        if seen[root] {
            continue;
        }
        seen[root] = true;
        let mut stack = vec![(root, Vec::new(), false)];
        while let Some((f, pending, expanded)) = stack.last_mut() {
            if !*expanded {
                *expanded = true;
                calls(&module.functions[*f].body, pending);
            }
            match pending.pop() {
                Some(callee) if !seen[callee.0 as usize] => {
                    seen[callee.0 as usize] = true;
                    stack.push((callee.0 as usize, Vec::new(), false));
                }
                Some(_) => {}
                None => {
                    order.push(FuncIdx(*f as u32));
                    stack.pop();
                }
            }
        }
    }
    order
}

struct Inliner<'a> {
    originals: &'a [Option<Function>],
    vars: Vec<Var>,
    next_label: u32,
    /// Statements this function may still gain.
    budget: usize,
}

impl<'a> Inliner<'a> {
    fn block(&mut self, block: Block) -> Block {
        let mut out = Vec::with_capacity(block.len());
        for stmt in block {
            match stmt {
                Stmt::Let(target, Rvalue::Call { func, args }) => match self.callee(func) {
                    Some(callee) => out.push(self.inline(callee, args, Some(target))),
                    None => out.push(Stmt::Let(target, Rvalue::Call { func, args })),
                },
                Stmt::Do(Rvalue::Call { func, args }) => match self.callee(func) {
                    Some(callee) => out.push(self.inline(callee, args, None)),
                    None => out.push(Stmt::Do(Rvalue::Call { func, args })),
                },
                Stmt::If { cond, then, else_ } => out.push(Stmt::If { cond, then: self.block(then), else_: self.block(else_) }),
                Stmt::Switch { on, cases, default } => {
                    let cases = cases.into_iter().map(|(v, b)| (v, self.block(b))).collect();
                    out.push(Stmt::Switch { on, cases, default: self.block(default) });
                }
                Stmt::Block { label, body } => out.push(Stmt::Block { label, body: self.block(body) }),
                Stmt::Loop { label, body } => out.push(Stmt::Loop { label, body: self.block(body) }),
                other => out.push(other),
            }
        }
        out
    }

    fn callee(&mut self, func: FuncIdx) -> Option<&'a Function> {
        let originals: &'a [Option<Function>] = self.originals;
        let callee = originals[func.0 as usize].as_ref()?;
        let cost = size(&callee.body);
        if cost > self.budget {
            return None;
        }
        self.budget -= cost;
        Some(callee)
    }

    /// `callee`'s body in a block of its own, with fresh variables and labels.
    fn inline(&mut self, callee: &Function, args: Vec<Operand>, target: Option<VarId>) -> Stmt {
        let var_base = self.vars.len() as u32;
        self.vars.extend(callee.vars.iter().cloned());
        let label_base = self.next_label;
        let exit = Label(label_base + max_label(&callee.body).map_or(0, |l| l + 1));
        self.next_label = exit.0 + 1;
        let renamer = Renamer { var_base, label_base, exit, target };
        let mut body: Block =
            callee.params.iter().zip(args).map(|(&p, arg)| Stmt::Let(renamer.var(p), Rvalue::Use(arg))).collect();
        renamer.extend(&mut body, &callee.body);
        Stmt::Block { label: exit, body }
    }
}

/// Moves a callee's statements into the caller's numbering.
struct Renamer {
    var_base: u32,
    label_base: u32,
    exit: Label,
    target: Option<VarId>,
}

impl Renamer {
    fn var(&self, v: VarId) -> VarId {
        VarId(v.0 + self.var_base)
    }

    fn label(&self, l: Label) -> Label {
        Label(l.0 + self.label_base)
    }

    fn block(&self, block: &Block) -> Block {
        let mut out = Vec::with_capacity(block.len());
        self.extend(&mut out, block);
        out
    }

    fn extend(&self, out: &mut Block, block: &Block) {
        for stmt in block {
            match stmt {
                // `return x` leaves the inlined body with its value.
                Stmt::Return(value) => {
                    let value = self.operand(value);
                    out.push(match self.target {
                        Some(target) => Stmt::Let(target, Rvalue::Use(value)),
                        None => Stmt::Do(Rvalue::Use(value)),
                    });
                    out.push(Stmt::Break(self.exit));
                }
                other => out.push(self.stmt(other)),
            }
        }
    }

    fn stmt(&self, stmt: &Stmt) -> Stmt {
        match stmt {
            Stmt::Let(v, r) => Stmt::Let(self.var(*v), self.rvalue(r)),
            Stmt::Do(r) => Stmt::Do(self.rvalue(r)),
            Stmt::Init { object, index, value } => {
                Stmt::Init { object: self.operand(object), index: *index, value: self.operand(value) }
            }
            Stmt::If { cond, then, else_ } => {
                Stmt::If { cond: self.operand(cond), then: self.block(then), else_: self.block(else_) }
            }
            Stmt::Switch { on, cases, default } => Stmt::Switch {
                on: self.operand(on),
                cases: cases.iter().map(|(v, b)| (*v, self.block(b))).collect(),
                default: self.block(default),
            },
            Stmt::Block { label, body } => Stmt::Block { label: self.label(*label), body: self.block(body) },
            Stmt::Loop { label, body } => Stmt::Loop { label: self.label(*label), body: self.block(body) },
            Stmt::Break(l) => Stmt::Break(self.label(*l)),
            Stmt::Continue(l) => Stmt::Continue(self.label(*l)),
            // `extend` turns every `return` into an assignment and a break
            // before it reaches here.
            Stmt::Return(_) => Stmt::Break(self.exit),
            Stmt::Fail { kind, loc } => Stmt::Fail { kind: *kind, loc: self.operand(loc) },
        }
    }

    fn operand(&self, operand: &Operand) -> Operand {
        match operand {
            Operand::Var(v) => Operand::Var(self.var(*v)),
            Operand::Const(c) => Operand::Const(c.clone()),
        }
    }

    fn operands(&self, operands: &[Operand]) -> Vec<Operand> {
        operands.iter().map(|o| self.operand(o)).collect()
    }

    fn rvalue(&self, rvalue: &Rvalue) -> Rvalue {
        match rvalue {
            Rvalue::Use(o) => Rvalue::Use(self.operand(o)),
            Rvalue::Unary(op, o) => Rvalue::Unary(*op, self.operand(o)),
            Rvalue::Binary { op, lhs, rhs, loc } => {
                Rvalue::Binary { op: *op, lhs: self.operand(lhs), rhs: self.operand(rhs), loc: self.operand(loc) }
            }
            Rvalue::Call { func, args } => Rvalue::Call { func: *func, args: self.operands(args) },
            Rvalue::CallExtern { func, args } => Rvalue::CallExtern { func: *func, args: self.operands(args) },
            Rvalue::CallClosure { callee, args } => {
                Rvalue::CallClosure { callee: self.operand(callee), args: self.operands(args) }
            }
            Rvalue::Alloc { words } => Rvalue::Alloc { words: *words },
            Rvalue::Load { object, index } => Rvalue::Load { object: self.operand(object), index: *index },
            Rvalue::Closure { func, captures } => Rvalue::Closure { func: *func, captures: self.operands(captures) },
            Rvalue::ListLen(l) => Rvalue::ListLen(self.operand(l)),
            Rvalue::ListItem { list, index } => Rvalue::ListItem { list: self.operand(list), index: self.operand(index) },
        }
    }
}

/// Statements, counted recursively.
fn size(block: &Block) -> usize {
    block
        .iter()
        .map(|s| {
            1 + match s {
                Stmt::If { then, else_, .. } => size(then) + size(else_),
                Stmt::Switch { cases, default, .. } => cases.iter().map(|(_, b)| size(b)).sum::<usize>() + size(default),
                Stmt::Block { body, .. } | Stmt::Loop { body, .. } => size(body),
                _ => 0,
            }
        })
        .sum()
}

fn max_label(block: &Block) -> Option<u32> {
    block
        .iter()
        .filter_map(|s| match s {
            Stmt::If { then, else_, .. } => max_label(then).max(max_label(else_)),
            Stmt::Switch { cases, default, .. } => cases.iter().filter_map(|(_, b)| max_label(b)).max().max(max_label(default)),
            Stmt::Block { label, body } | Stmt::Loop { label, body } => Some(label.0).max(max_label(body)),
            _ => None,
        })
        .max()
}
