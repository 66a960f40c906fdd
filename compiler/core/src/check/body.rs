//! Bodies: name resolution and type inference for the code of functions,
//! routes, crons and tests, producing the typed tree. Types flow both ways:
//! every expression is checked against an expected type (often a fresh
//! variable), which also tells anonymous functions their parameter types.

use std::rc::Rc;

use super::typed::{self, Arm, Body, Expr, ExprKind, FnId, Local, LocalId, Pattern, PatternKind, Stmt};
use super::types::{Type, TypeDefKind, TypeId, join_words};
use super::{BodyState, Checker, Deferred, JsonUse, TypeName};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::{self, BinaryOp, ExprKind as E, Literal, StmtKind, UnaryOp};

/// What kind of body is being checked: it decides what `?` may do.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum BodyKind {
    Fn,
    Route,
    Cron,
    Test,
}

impl BodyKind {
    fn noun(self) -> &'static str {
        match self {
            BodyKind::Fn => "function",
            BodyKind::Route => "route",
            BodyKind::Cron => "cron",
            BodyKind::Test => "test",
        }
    }
}

/// The state of one body being checked.
pub(super) struct Cx {
    module: usize,
    kind: BodyKind,
    generics: Vec<Rc<str>>,
    json_params: Vec<bool>,
    locals: Vec<Local>,
    scopes: Vec<Vec<(String, LocalId)>>,
    /// The body itself, then one frame per enclosing anonymous function.
    frames: Vec<Frame>,
}

struct Frame {
    /// Locals numbered below this are declared outside the frame.
    first_local: u32,
    captures: Vec<LocalId>,
    ret: Type,
    /// Where the return type was written, for `?` errors.
    ret_span: Option<Span>,
    /// In an anonymous function whose result type a `?` decided: where.
    try_span: Option<Span>,
    loops: u32,
}

impl Cx {
    fn new(module: usize, kind: BodyKind, generics: &[typed::Generic], ret: Type, ret_span: Option<Span>) -> Cx {
        Cx {
            module,
            kind,
            generics: generics.iter().map(|g| Rc::from(g.name.as_str())).collect(),
            json_params: generics.iter().map(|g| g.json).collect(),
            locals: Vec::new(),
            scopes: vec![Vec::new()],
            frames: vec![Frame { first_local: 0, captures: Vec::new(), ret, ret_span, try_span: None, loops: 0 }],
        }
    }

    fn declare(&mut self, name: &ast::Ident, ty: Type, mutable: bool) -> LocalId {
        let id = LocalId(self.locals.len() as u32);
        self.locals.push(Local { name: name.name.clone(), ty, mutable, span: name.span });
        if let Some(scope) = self.scopes.last_mut() {
            scope.push((name.name.clone(), id));
        }
        id
    }

    fn lookup(&self, name: &str) -> Option<LocalId> {
        self.scopes.iter().rev().flat_map(|s| s.iter().rev()).find(|(n, _)| n == name).map(|(_, id)| *id)
    }

    /// Records that `id` is used here: a local from outside an anonymous
    /// function is captured by it.
    fn use_local(&mut self, id: LocalId) {
        for frame in self.frames.iter_mut().skip(1) {
            if id.0 < frame.first_local && !frame.captures.contains(&id) {
                frame.captures.push(id);
            }
        }
    }

    fn is_captured_here(&self, id: LocalId) -> bool {
        self.frames.last().is_some_and(|f| id.0 < f.first_local)
    }

    fn frame(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("a body always has its own frame")
    }

    fn visible_names(&self) -> Vec<&str> {
        self.scopes.iter().flat_map(|s| s.iter().map(|(n, _)| n.as_str())).collect()
    }

    fn finish(self, value: Expr) -> Body {
        Body { locals: self.locals, value }
    }
}

/// An argument of a call: still to check, or already checked (a method
/// call's receiver, a pipe's left side).
enum Arg<'e> {
    Ast(&'e ast::Expr),
    Typed(Expr),
}

/// What a name in an expression refers to.
enum Named {
    Local(LocalId),
    Fn(FnId),
    Store(typed::StoreId),
    Secret(typed::SecretId),
    Constructor(TypeId, usize),
    Module,
    Type,
    Unknown,
}

fn expr(kind: ExprKind, ty: Type, span: Span) -> Expr {
    Expr { kind, ty, span }
}

fn error_expr(span: Span) -> Expr {
    expr(ExprKind::Error, Type::Error, span)
}

impl Checker<'_> {
    pub(super) fn check_bodies(&mut self) {
        for id in 0..self.fns.len() {
            self.check_fn(FnId(id as u32));
        }
        let user = self.user_module();
        let modules = self.modules;
        for item in &modules[user].ast.items {
            match item {
                ast::Item::Route(route) => self.check_route(route),
                ast::Item::Cron(cron) => self.check_cron(cron),
                ast::Item::Test(test) => self.check_test(test),
                _ => {}
            }
        }
    }

    /// Checks a function's body once; called early, on demand, when a call
    /// needs the return type of a function whose return type is omitted.
    fn check_fn(&mut self, id: FnId) {
        let sig = &self.fns[id.0 as usize];
        if sig.state != BodyState::Unchecked {
            return;
        }
        let (m, i) = sig.decl;
        let modules = self.modules;
        let ast::Item::Fn(decl) = &modules[m].ast.items[i] else { unreachable!("signatures come from fn items") };
        let Some(block) = &decl.body else {
            self.fns[id.0 as usize].state = BodyState::Done;
            return;
        };
        self.fns[id.0 as usize].state = BodyState::InProgress;
        let sig = &self.fns[id.0 as usize];
        let mut cx = Cx::new(sig.module, BodyKind::Fn, &sig.generics, sig.ret.clone(), decl.ret.as_ref().map(|t| t.span));
        let params: Vec<(ast::Ident, Type)> = sig.params.clone();
        for (name, ty) in &params {
            cx.declare(name, ty.clone(), false);
        }
        let ret = cx.frames[0].ret.clone();
        // A `Unit` function, or `main` without a written result type, drops
        // its body's value (spec/types.md, discarded values).
        let value = if ret.is_unit() || (Some(id) == self.main && decl.ret.is_none()) {
            self.block_any(&mut cx, block)
        } else {
            self.block(&mut cx, block, &ret)
        };
        self.bodies[id.0 as usize] = Some(cx.finish(value));
        self.fns[id.0 as usize].state = BodyState::Done;
    }

    fn check_route(&mut self, route: &ast::RouteDecl) {
        let (path, params) = self.route_path(route);
        let ret = self.unifier.fresh();
        let mut cx = Cx::new(self.user_module(), BodyKind::Route, &[], ret.clone(), None);
        let mut locals: Vec<LocalId> = params.iter().map(|p| cx.declare(p, Type::String, false)).collect();
        let request_ty = self.known.request.map_or(Type::Error, |id| Type::Named(id, vec![]));
        let request = cx.declare(&ast::Ident { name: "request".into(), span: route.method.span }, request_ty, false);
        locals.push(request);
        let value = self.block(&mut cx, &route.body, &ret);
        let tail = tail_span(&route.body);
        self.deferred.push(Deferred::Json { ty: ret, span: tail, what: JsonUse::RouteResult, json_params: vec![] });
        let method = route.method.name.clone();
        self.routes.push(typed::Route { method, path, params: locals, request, body: cx.finish(value), span: route.path_span });
    }

    fn check_cron(&mut self, cron: &ast::CronDecl) {
        // An interpolated schedule (E0103) has no text to validate.
        if !self.modules[self.user_module()].syntax_errors.contains(&cron.schedule.span) {
            self.check_schedule(&cron.schedule);
        }
        if let Some(first) = self.crons.iter().find(|c| c.name == cron.name.name) {
            let first = first.span;
            self.error(
                Diagnostic::error(Code::DuplicateDefinition, format!("the cron `{}` is defined twice", cron.name.name))
                    .label(cron.name.span, "defined again here")
                    .label(first, "first defined here")
                    .hint("cron names must be unique: `--run-cron NAME` picks one"),
            );
        }
        let value = self.entry_body(BodyKind::Cron, &cron.body);
        self.crons.push(typed::Cron {
            name: cron.name.name.clone(),
            schedule: cron.schedule.value.trim().to_string(),
            body: value,
            span: cron.name.span,
        });
    }

    fn check_test(&mut self, test: &ast::TestDecl) {
        if let Some(first) = self.tests.iter().find(|t| t.name == test.name.value) {
            let first = first.span;
            self.error(
                Diagnostic::error(Code::DuplicateTest, format!("two tests are named \"{}\"", test.name.value))
                    .label(test.name.span, "this name is taken")
                    .label(first, "by this test")
                    .hint("give every test its own name, so its result line says which one failed"),
            );
        }
        let body = self.entry_body(BodyKind::Test, &test.body);
        self.tests.push(typed::Test { name: test.name.value.clone(), body, span: test.name.span });
    }

    fn entry_body(&mut self, kind: BodyKind, block: &ast::Block) -> Body {
        let ret = self.unifier.fresh();
        let mut cx = Cx::new(self.user_module(), kind, &[], ret, None);
        let value = self.block_any(&mut cx, block);
        cx.finish(value)
    }

    // ───────────────────────────── Blocks and statements ─────────────────────────────

    fn block(&mut self, cx: &mut Cx, block: &ast::Block, expected: &Type) -> Expr {
        self.block_inner(cx, block, Some(expected))
    }

    /// Checks a block whose value is dropped (a loop body, a cron): its
    /// value may have any type, and so may the branches of a final `if`.
    fn block_any(&mut self, cx: &mut Cx, block: &ast::Block) -> Expr {
        self.block_inner(cx, block, None)
    }

    /// `expected` is `None` when the block's value is dropped.
    fn block_inner(&mut self, cx: &mut Cx, block: &ast::Block, expected: Option<&Type>) -> Expr {
        cx.scopes.push(Vec::new());
        let mut stmts = Vec::new();
        let mut value = None;
        let last = block.stmts.len().checked_sub(1);
        for (i, stmt) in block.stmts.iter().enumerate() {
            match (&stmt.kind, expected) {
                (StmtKind::Expr(e), Some(expected)) if Some(i) == last => {
                    value = Some(Box::new(self.expr(cx, e, expected)))
                }
                _ => {
                    if let Some(s) = self.stmt(cx, stmt) {
                        stmts.push(s);
                    }
                }
            }
        }
        cx.scopes.pop();
        // A statement the parser skipped may have been the value.
        let skipped = block.stmts.iter().any(|s| matches!(s.kind, StmtKind::Error));
        let ty = match expected {
            Some(expected) => {
                if value.is_none() && !skipped {
                    self.expect(expected, &Type::UNIT, tail_span(block));
                }
                expected.clone()
            }
            None => Type::UNIT,
        };
        expr(ExprKind::Block { stmts, value }, ty, block.span)
    }

    /// An expression whose value is dropped: the branches of an `if` or
    /// `match` need not agree.
    fn discarded(&mut self, cx: &mut Cx, e: &ast::Expr) -> Expr {
        match &e.kind {
            E::If { cond, then, else_ } => {
                let cond = self.expr(cx, cond, &Type::Bool);
                let then = self.block_any(cx, then);
                let else_ = else_.as_ref().map(|e| Box::new(self.discarded(cx, e)));
                expr(ExprKind::If { cond: Box::new(cond), then: Box::new(then), else_ }, Type::UNIT, e.span)
            }
            E::Match { scrutinee, arms } => self.match_(cx, scrutinee, arms, None, e.span),
            E::Block(block) => self.block_any(cx, block),
            _ => {
                let value = self.expr_any(cx, e);
                let in_route = matches!(cx.kind, BodyKind::Route);
                self.deferred.push(Deferred::Dropped { ty: value.ty.clone(), span: e.span, in_route });
                value
            }
        }
    }

    fn match_(&mut self, cx: &mut Cx, scrutinee: &ast::Expr, arms: &[ast::MatchArm], expected: Option<&Type>, span: Span) -> Expr {
        let scrutinee = self.expr_any(cx, scrutinee);
        let arms = arms
            .iter()
            .map(|arm| {
                cx.scopes.push(Vec::new());
                let pattern = self.pattern(cx, &arm.pattern, &scrutinee.ty, false);
                let guard = arm.guard.as_ref().map(|g| self.expr(cx, g, &Type::Bool));
                let body = match expected {
                    Some(t) => self.expr(cx, &arm.body, t),
                    None => self.discarded(cx, &arm.body),
                };
                cx.scopes.pop();
                Arm { pattern, guard, body, span: arm.span }
            })
            .collect();
        let ty = expected.cloned().unwrap_or(Type::UNIT);
        expr(ExprKind::Match { scrutinee: Box::new(scrutinee), arms }, ty, span)
    }

    fn stmt(&mut self, cx: &mut Cx, stmt: &ast::Stmt) -> Option<Stmt> {
        Some(match &stmt.kind {
            StmtKind::Let { mutable, pattern, ty, value } => {
                let declared = match ty {
                    Some(t) => self.resolve_type(cx.module, t, &cx.generics.clone()),
                    None => self.unifier.fresh(),
                };
                let value = self.expr(cx, value, &declared);
                let pattern = self.pattern(cx, pattern, &declared, *mutable);
                Stmt::Let { pattern, value }
            }
            StmtKind::Assign { target, value } => self.assign(cx, target, value, stmt.span),
            StmtKind::For { pattern, iter, body } => {
                let iter = self.expr_any(cx, iter);
                let element = self.element_type(&iter);
                cx.scopes.push(Vec::new());
                let pattern = self.pattern(cx, pattern, &element, false);
                cx.frame().loops += 1;
                let body = self.block_any(cx, body);
                cx.frame().loops -= 1;
                cx.scopes.pop();
                Stmt::For { pattern, iter, body }
            }
            StmtKind::While { cond, body } => {
                let cond = self.expr(cx, cond, &Type::Bool);
                cx.frame().loops += 1;
                let body = self.block_any(cx, body);
                cx.frame().loops -= 1;
                Stmt::While { cond, body }
            }
            StmtKind::Assert(cond) => Stmt::Assert { cond: self.expr(cx, cond, &Type::Bool), span: stmt.span },
            StmtKind::Expr(e) => Stmt::Expr(self.discarded(cx, e)),
            StmtKind::Error => return None,
        })
    }

    fn assign(&mut self, cx: &mut Cx, target: &ast::Ident, value: &ast::Expr, span: Span) -> Stmt {
        let Some(local) = cx.lookup(&target.name) else {
            let value = self.expr_any(cx, value);
            let what = match self.resolve_name(cx, &target.name) {
                Named::Fn(_) => "a function",
                Named::Store(_) => "a store",
                Named::Secret(_) => "a secret",
                Named::Constructor(..) => "a constructor",
                _ => {
                    self.unknown_name(cx, target);
                    return Stmt::Expr(value);
                }
            };
            self.error(
                Diagnostic::error(Code::AssignToImmutable, format!("cannot assign to `{}`", target.name))
                    .label(target.span, format!("`{}` is {what}, not a variable", target.name))
                    .hint(format!("declare a variable with `var {} = …` to hold the value", target.name)),
            );
            return Stmt::Expr(value);
        };
        let info = cx.locals[local.0 as usize].clone();
        if !info.mutable {
            self.error(
                Diagnostic::error(Code::AssignToImmutable, format!("cannot assign twice to `{}`", target.name))
                    .label(target.span, "assigned here")
                    .label(info.span, "declared immutable here")
                    .hint(format!("declare it with `var {}` to make it a mutable variable", target.name)),
            );
        } else if cx.is_captured_here(local) {
            self.error(
                Diagnostic::error(Code::AssignToImmutable, format!("cannot assign to `{}` inside an anonymous function", target.name))
                    .label(target.span, "assigned here")
                    .label(info.span, "declared outside the function here")
                    .hint("anonymous functions capture variables by value; return the new value instead, or use `List.fold`"),
            );
        }
        cx.use_local(local);
        let value = self.expr(cx, value, &info.ty);
        Stmt::Assign { local, value, span }
    }

    /// The element type of what `for` iterates over: a List.
    fn element_type(&mut self, iter: &Expr) -> Type {
        match self.unifier.shallow(&iter.ty) {
            Type::List(t) => *t,
            Type::Error => Type::Error,
            Type::Var(_) => {
                let t = self.unifier.fresh();
                let _ = self.unifier.unify(&iter.ty, &Type::List(Box::new(t.clone())));
                t
            }
            other => {
                let shown = self.show(&other);
                let hint = match other {
                    Type::Dict(_) => "iterate over `Dict.keys(d)` or `Dict.entries(d)`",
                    Type::String => "iterate over `String.chars(s)` or `String.split(s, sep)`",
                    _ => "`for` iterates over a List; `List.range(a, b)` counts from a to b - 1",
                };
                self.error(
                    Diagnostic::error(Code::TypeMismatch, "`for` needs a List")
                        .label(iter.span, format!("expected `List<_>`, found `{shown}`"))
                        .hint(hint),
                );
                Type::Error
            }
        }
    }

    // ───────────────────────────── Expressions ─────────────────────────────

    /// Checks `e` against `expected`, reporting a mismatch at `e`.
    fn expr(&mut self, cx: &mut Cx, e: &ast::Expr, expected: &Type) -> Expr {
        let typed = self.infer(cx, e, expected);
        if typed.ty.has_error() {
            // An error absorbs what is expected of it, silently.
            let _ = self.unifier.unify(expected, &typed.ty);
        } else {
            self.expect(expected, &typed.ty, e.span);
        }
        typed
    }

    /// Checks `e` with nothing expected of its type.
    fn expr_any(&mut self, cx: &mut Cx, e: &ast::Expr) -> Expr {
        let t = self.unifier.fresh();
        self.expr(cx, e, &t)
    }

    fn infer(&mut self, cx: &mut Cx, e: &ast::Expr, expected: &Type) -> Expr {
        let span = e.span;
        match &e.kind {
            E::Int(n) => expr(ExprKind::Int(*n), Type::Int, span),
            E::Float(x) => expr(ExprKind::Float(*x), Type::Float, span),
            E::Bool(b) => expr(ExprKind::Bool(*b), Type::Bool, span),
            E::Unit => expr(ExprKind::Unit, Type::UNIT, span),
            E::Str(parts) => self.string(cx, parts, span),
            E::Name(name) => self.name(cx, name),
            E::List(items) => {
                let element = match self.unifier.shallow(expected) {
                    Type::List(t) => *t,
                    _ => self.unifier.fresh(),
                };
                let items = items.iter().map(|i| self.expr(cx, i, &element)).collect();
                expr(ExprKind::List(items), Type::List(Box::new(element)), span)
            }
            E::Tuple(items) => {
                let hints = match self.unifier.shallow(expected) {
                    Type::Tuple(ts) if ts.len() == items.len() => ts,
                    _ => items.iter().map(|_| self.unifier.fresh()).collect(),
                };
                let items: Vec<Expr> = items.iter().zip(&hints).map(|(i, h)| self.expr(cx, i, h)).collect();
                let ty = Type::Tuple(items.iter().map(|i| i.ty.clone()).collect());
                expr(ExprKind::Tuple(items), ty, span)
            }
            E::Record { name, fields } => self.record(cx, name, fields, span),
            E::RecordUpdate { base, fields } => self.record_update(cx, base, fields, expected, span),
            E::Field { target, name } => self.field(cx, target, name, span),
            E::Call { callee, args } => {
                let args = args.iter().map(Arg::Ast).collect();
                self.call(cx, callee, args, span)
            }
            E::MethodCall { receiver, method, args } => {
                let args = args.iter().map(Arg::Ast).collect();
                self.method_call(cx, receiver, method, args, span)
            }
            E::Pipe { lhs, rhs } => self.pipe(cx, lhs, rhs, span),
            E::Unary { op, operand } => {
                let (operand, ty) = match op {
                    UnaryOp::Not => {
                        let operand = self.expr_any(cx, operand);
                        match self.unifier.shallow(&operand.ty) {
                            Type::Bool | Type::Error => {}
                            Type::Var(_) => {
                                let _ = self.unifier.unify(&operand.ty, &Type::Bool);
                            }
                            other => {
                                let shown = self.show(&other);
                                self.error(
                                    Diagnostic::error(Code::OperatorType, format!("`!` works on Bool, not `{shown}`"))
                                        .label(span, format!("this negates a `{shown}`"))
                                        .hint("compare instead, e.g. `n == 0`"),
                                );
                            }
                        }
                        (operand, Type::Bool)
                    }
                    UnaryOp::Neg => {
                        let operand = self.expr_any(cx, operand);
                        self.deferred.push(Deferred::Numeric { ty: operand.ty.clone(), span: operand.span, op: "-" });
                        let ty = operand.ty.clone();
                        (operand, ty)
                    }
                };
                expr(ExprKind::Unary { op: *op, operand: Box::new(operand) }, ty, span)
            }
            E::Binary { op, lhs, rhs } => self.binary(cx, *op, lhs, rhs, span),
            E::Try(operand) => self.try_(cx, operand, span),
            E::If { cond, then, else_ } => {
                let cond = self.expr(cx, cond, &Type::Bool);
                match else_ {
                    Some(else_) => {
                        let then = self.block(cx, then, expected);
                        let else_ = self.expr(cx, else_, expected);
                        let kind = ExprKind::If { cond: Box::new(cond), then: Box::new(then), else_: Some(Box::new(else_)) };
                        expr(kind, expected.clone(), span)
                    }
                    None => {
                        let then = self.block_any(cx, then);
                        expr(ExprKind::If { cond: Box::new(cond), then: Box::new(then), else_: None }, Type::UNIT, span)
                    }
                }
            }
            E::Match { scrutinee, arms } => self.match_(cx, scrutinee, arms, Some(expected), span),
            E::Block(block) => self.block(cx, block, expected),
            E::Lambda { params, ret, body } => self.lambda(cx, params, ret.as_deref(), body, expected, span),
            E::Return(value) => {
                let ret = cx.frame().ret.clone();
                let value = match value {
                    Some(v) => self.expr(cx, v, &ret),
                    None => {
                        self.expect(&ret, &Type::UNIT, span);
                        expr(ExprKind::Unit, Type::UNIT, span)
                    }
                };
                expr(ExprKind::Return(Box::new(value)), self.unifier.fresh(), span)
            }
            E::Break | E::Continue => {
                let word = if matches!(e.kind, E::Break) { "break" } else { "continue" };
                if cx.frame().loops == 0 {
                    let mut d = Diagnostic::error(Code::MisplacedControl, format!("`{word}` outside of a loop"))
                        .label(span, format!("`{word}` needs an enclosing `for` or `while`"));
                    if cx.frames.len() > 1 {
                        d = d.hint("an anonymous function is not part of the loop around it; `return` leaves the function");
                    }
                    self.error(d);
                    return error_expr(span);
                }
                let kind = if word == "break" { ExprKind::Break } else { ExprKind::Continue };
                expr(kind, self.unifier.fresh(), span)
            }
            E::Error => error_expr(span),
        }
    }

    fn string(&mut self, cx: &mut Cx, parts: &[ast::StrPart], span: Span) -> Expr {
        if let [ast::StrPart::Text(s)] = parts {
            return expr(ExprKind::Str(s.clone()), Type::String, span);
        }
        if parts.is_empty() {
            return expr(ExprKind::Str(String::new()), Type::String, span);
        }
        let parts = parts
            .iter()
            .map(|p| match p {
                ast::StrPart::Text(s) => expr(ExprKind::Str(s.clone()), Type::String, span),
                ast::StrPart::Expr(e) => self.expr_any(cx, e),
            })
            .collect();
        expr(ExprKind::Interpolate(parts), Type::String, span)
    }

    fn resolve_name(&self, cx: &Cx, name: &str) -> Named {
        if let Some(local) = cx.lookup(name) {
            return Named::Local(local);
        }
        // The module's own names (for the program: its functions, stores and
        // secrets) come before the prelude's.
        if let Some(&id) = self.module_fns[cx.module].get(name) {
            return Named::Fn(id);
        }
        if cx.module == self.user_module() {
            if let Some(&id) = self.store_names.get(name) {
                return Named::Store(id);
            }
            if let Some(&id) = self.secret_names.get(name) {
                return Named::Secret(id);
            }
        }
        if let Some(id) = self.lookup_fn(cx.module, name) {
            return Named::Fn(id);
        }
        if let Some(&(ty, variant)) = self.constructors.get(name) {
            return Named::Constructor(ty, variant);
        }
        if self.module_by_name.contains_key(name) {
            return Named::Module;
        }
        if self.type_names.contains_key(name) {
            return Named::Type;
        }
        Named::Unknown
    }

    fn name(&mut self, cx: &mut Cx, name: &ast::Ident) -> Expr {
        let span = name.span;
        match self.resolve_name(cx, &name.name) {
            Named::Local(id) => {
                cx.use_local(id);
                expr(ExprKind::Local(id), cx.locals[id.0 as usize].ty.clone(), span)
            }
            Named::Fn(id) => self.fn_value(cx, id, span),
            Named::Secret(id) => expr(ExprKind::Secret(id), Type::String, span),
            Named::Constructor(ty, variant) => self.constructor_value(cx, ty, variant, name),
            Named::Store(_) => {
                self.error(
                    Diagnostic::error(Code::StoreAsValue, format!("the store `{}` is not a value", name.name))
                        .label(span, "a store can only be used to call its operations")
                        .hint(format!("call an operation: `{0}.get(key)`, `{0}.values()`, `{0}.insert(value)`…", name.name)),
                );
                error_expr(span)
            }
            Named::Module => {
                self.error(
                    Diagnostic::error(Code::UnknownName, format!("`{}` is a module, not a value", name.name))
                        .label(span, "used as a value here")
                        .hint(format!("call one of its functions, like `{}.f(x)`", name.name)),
                );
                error_expr(span)
            }
            Named::Type => {
                self.error(
                    Diagnostic::error(Code::UnknownName, format!("`{}` is a type, not a value", name.name))
                        .label(span, "used as a value here")
                        .hint(format!("build a record with `{} {{ field: value }}`", name.name)),
                );
                error_expr(span)
            }
            Named::Unknown => {
                self.unknown_name(cx, name);
                error_expr(span)
            }
        }
    }

    fn unknown_name(&mut self, cx: &Cx, name: &ast::Ident) {
        let mut candidates = cx.visible_names();
        candidates.extend(self.visible_fn_names(cx.module));
        if cx.module == self.user_module() {
            candidates.extend(self.store_names.keys().map(String::as_str));
            candidates.extend(self.secret_names.keys().map(String::as_str));
        }
        candidates.extend(self.constructors.keys().map(String::as_str));
        // `Circel(1.0)`: a capitalised name that is not all capitals (a
        // secret) reads as a constructor.
        let constructor = name.name.starts_with(char::is_uppercase) && name.name.contains(char::is_lowercase);
        let mut d = if constructor {
            Diagnostic::error(Code::UnknownConstructor, format!("unknown constructor `{}`", name.name))
                .label(name.span, "no enum has this variant")
        } else {
            Diagnostic::error(Code::UnknownName, format!("unknown name `{}`", name.name))
                .label(name.span, "not found in this scope")
        };
        if let Some(hint) = Self::did_you_mean(&name.name, candidates) {
            d = d.hint(hint);
        }
        self.error(d);
    }

    /// A function used as a value, instantiated afresh.
    fn fn_value(&mut self, cx: &Cx, id: FnId, span: Span) -> Expr {
        let (type_args, params, ret) = self.instantiate(cx, id, span);
        expr(ExprKind::Fn { id, type_args }, Type::Fn(params, Box::new(ret)), span)
    }

    /// Fresh type arguments for a use of function `id`, and its parameter
    /// and return types under them. A function whose return type is omitted
    /// has its body checked first.
    fn instantiate(&mut self, cx: &Cx, id: FnId, span: Span) -> (Vec<Type>, Vec<Type>, Type) {
        if matches!(self.fns[id.0 as usize].ret, Type::Var(_)) {
            self.check_fn(id);
        }
        let count = self.fns[id.0 as usize].generics.len();
        let type_args: Vec<Type> = (0..count).map(|_| self.unifier.fresh()).collect();
        for (i, t) in type_args.iter().enumerate() {
            let generic = &self.fns[id.0 as usize].generics[i];
            if generic.json {
                let what = JsonUse::TypeArg { callee: self.qualified_name(id), generic: generic.name.clone() };
                // The caller's own `Json`-bounded parameters satisfy the bound.
                let json_params = cx.json_params.clone();
                self.deferred.push(Deferred::Json { ty: t.clone(), span, what, json_params });
            }
        }
        let sig = &self.fns[id.0 as usize];
        let params = sig.params.iter().map(|(_, t)| t.instantiate(&type_args)).collect();
        let ret = self.unifier.resolve(&sig.ret).instantiate(&type_args);
        (type_args, params, ret)
    }

    fn qualified_name(&self, id: FnId) -> String {
        let sig = &self.fns[id.0 as usize];
        match &self.modules[sig.module].name {
            Some(m) => format!("{m}.{}", sig.name),
            None => sig.name.clone(),
        }
    }

    // ───────────────────────────── Calls ─────────────────────────────

    fn call(&mut self, cx: &mut Cx, callee: &ast::Expr, args: Vec<Arg>, span: Span) -> Expr {
        if let E::Name(name) = &callee.kind {
            match self.resolve_name(cx, &name.name) {
                Named::Fn(id) => return self.call_known(cx, id, args, span),
                Named::Constructor(ty, variant) => return self.construct(cx, ty, variant, name, args, span),
                _ => {}
            }
        }
        if let E::Field { target, name } = &callee.kind
            && let Some(m) = self.module_name(cx, target)
        {
            return self.call_module(cx, m, name, args, span);
        }
        let callee = self.expr_any(cx, callee);
        self.call_value(cx, callee, args, span)
    }

    /// Reports `target` if it is a capitalised name that is nothing at all,
    /// used as in `Strng.upper(s)`: an unknown module.
    fn unknown_module(&mut self, cx: &Cx, target: &ast::Expr) -> bool {
        let E::Name(n) = &target.kind else { return false };
        if !n.name.starts_with(char::is_uppercase) || !matches!(self.resolve_name(cx, &n.name), Named::Unknown) {
            return false;
        }
        let mut d = Diagnostic::error(Code::UnknownName, format!("unknown module `{}`", n.name))
            .label(n.span, "no module has this name");
        if let Some(hint) = Self::did_you_mean(&n.name, self.module_by_name.keys().map(String::as_str)) {
            d = d.hint(hint);
        }
        self.error(d);
        true
    }

    /// `target` when it names a stdlib module (and no local hides it).
    fn module_name(&self, cx: &Cx, target: &ast::Expr) -> Option<usize> {
        match &target.kind {
            E::Name(n) if cx.lookup(&n.name).is_none() => self.module_by_name.get(&n.name).copied(),
            _ => None,
        }
    }

    fn call_module(&mut self, cx: &mut Cx, module: usize, name: &ast::Ident, args: Vec<Arg>, span: Span) -> Expr {
        match self.module_fn(cx.module, module, &name.name) {
            Some(id) => self.call_known(cx, id, args, span),
            None => {
                self.unknown_module_fn(module, name, None);
                self.check_args_alone(cx, args);
                error_expr(span)
            }
        }
    }

    fn unknown_module_fn(&mut self, module: usize, name: &ast::Ident, receiver: Option<&Type>) {
        let module_name = self.modules[module].name.clone().unwrap_or_default();
        let candidates: Vec<&str> =
            self.module_fns[module].iter().filter(|(_, id)| !self.fns[id.0 as usize].private).map(|(n, _)| n.as_str()).collect();
        let mut d = Diagnostic::error(Code::UnknownFunction, format!("`{module_name}` has no function `{}`", name.name))
            .label(name.span, match receiver {
                Some(t) => format!("not a function of `{}`", self.show(t)),
                None => format!("not found in `{module_name}`"),
            });
        if let Some(hint) = Self::did_you_mean(&name.name, candidates) {
            d = d.hint(hint);
        }
        self.error(d);
    }

    /// Checks arguments of a call that could not be resolved, for their own errors.
    fn check_args_alone(&mut self, cx: &mut Cx, args: Vec<Arg>) {
        for arg in args {
            if let Arg::Ast(a) = arg {
                self.expr_any(cx, a);
            }
        }
    }

    fn call_known(&mut self, cx: &mut Cx, id: FnId, args: Vec<Arg>, span: Span) -> Expr {
        let (type_args, params, ret) = self.instantiate(cx, id, span);
        if args.len() != params.len() {
            let plural = if params.len() == 1 { "" } else { "s" };
            let name = self.qualified_name(id);
            let found = args.len();
            self.check_args_alone(cx, args);
            // Its type arguments stay unknown: not also "cannot infer".
            for t in &type_args {
                let _ = self.unifier.unify(t, &Type::Error);
            }
            self.error(
                Diagnostic::error(Code::ArgumentCount, format!("wrong number of arguments to `{name}`"))
                    .label(span, format!("expected {} argument{plural}, found {found}", params.len()))
                    .label(self.fns[id.0 as usize].span, "defined here")
                    .hint(self.signature(id)),
            );
            return error_expr(span);
        }
        let mut typed_args = Vec::with_capacity(args.len());
        for (i, (arg, param)) in args.into_iter().zip(&params).enumerate() {
            let typed = match arg {
                Arg::Typed(e) => {
                    self.expect(param, &e.ty, e.span);
                    e
                }
                Arg::Ast(a) if i == 0 && matches!(param, Type::Store(_)) => self.store_arg(cx, a, param),
                Arg::Ast(a) => self.expr(cx, a, param),
            };
            typed_args.push(typed);
        }
        expr(ExprKind::Call { id, type_args, args: typed_args }, ret, span)
    }

    /// The first argument of a store operation: a store's name.
    fn store_arg(&mut self, cx: &mut Cx, a: &ast::Expr, param: &Type) -> Expr {
        if let Some(store) = self.store_ref(cx, a) {
            self.expect(param, &store.ty, a.span);
            return store;
        }
        self.error(
            Diagnostic::error(Code::TypeMismatch, "expected a store")
                .label(a.span, "not the name of a store")
                .hint("store operations take a declared store: `store todos: Todo` then `todos.get(key)`"),
        );
        self.expr_any(cx, a);
        error_expr(a.span)
    }

    /// `e` as a reference to a store, if it names one.
    fn store_ref(&self, cx: &Cx, e: &ast::Expr) -> Option<Expr> {
        let E::Name(n) = &e.kind else { return None };
        let Named::Store(id) = self.resolve_name(cx, &n.name) else { return None };
        let ty = Type::Store(Box::new(self.stores[id.0 as usize].value.clone()));
        Some(expr(ExprKind::Store(id), ty, e.span))
    }

    fn signature(&self, id: FnId) -> String {
        let sig = &self.fns[id.0 as usize];
        let params: Vec<String> =
            sig.params.iter().map(|(n, t)| format!("{}: {}", n.name, self.show(t))).collect();
        format!("`{}` is `fn({}) -> {}`", self.qualified_name(id), params.join(", "), self.show(&sig.ret))
    }

    fn call_value(&mut self, cx: &mut Cx, callee: Expr, args: Vec<Arg>, span: Span) -> Expr {
        let (params, ret) = match self.unifier.shallow(&callee.ty) {
            Type::Fn(params, ret) => (params, *ret),
            Type::Error => {
                self.check_args_alone(cx, args);
                return error_expr(span);
            }
            Type::Var(_) => {
                let params: Vec<Type> = args.iter().map(|_| self.unifier.fresh()).collect();
                let ret = self.unifier.fresh();
                let _ = self.unifier.unify(&callee.ty, &Type::Fn(params.clone(), Box::new(ret.clone())));
                (params, ret)
            }
            other => {
                let shown = self.show(&other);
                self.error(
                    Diagnostic::error(Code::NotCallable, format!("`{shown}` is not a function"))
                        .label(callee.span, "called here, but it is not a function"),
                );
                self.check_args_alone(cx, args);
                return error_expr(span);
            }
        };
        if params.len() != args.len() {
            let shown = self.show(&callee.ty);
            self.error(
                Diagnostic::error(Code::ArgumentCount, "wrong number of arguments")
                    .label(span, format!("expected {} arguments, found {}", params.len(), args.len()))
                    .hint(format!("the function's type is `{shown}`")),
            );
            self.check_args_alone(cx, args);
            return error_expr(span);
        }
        let args = args
            .into_iter()
            .zip(&params)
            .map(|(arg, param)| match arg {
                Arg::Typed(e) => {
                    self.expect(param, &e.ty, e.span);
                    e
                }
                Arg::Ast(a) => self.expr(cx, a, param),
            })
            .collect();
        expr(ExprKind::CallValue { callee: Box::new(callee), args }, ret, span)
    }

    /// `receiver.method(args)`: a module function (`String.upper(s)`), a
    /// store operation, the receiver type's module function, or a function
    /// in scope taking the receiver first.
    fn method_call(&mut self, cx: &mut Cx, receiver: &ast::Expr, method: &ast::Ident, mut args: Vec<Arg>, span: Span) -> Expr {
        if let Some(m) = self.module_name(cx, receiver) {
            return self.call_module(cx, m, method, args, span);
        }
        if self.unknown_module(cx, receiver) {
            self.check_args_alone(cx, args);
            return error_expr(span);
        }
        let receiver = match self.store_ref(cx, receiver) {
            Some(store) => store,
            None => self.expr_any(cx, receiver),
        };
        if let ExprKind::Store(store) = receiver.kind
            && let Some(i) = self.stores[store.0 as usize].indexes.iter().position(|x| x.method() == method.name)
        {
            return self.index_lookup(cx, receiver, store, i, args, span);
        }
        let receiver_ty = self.unifier.shallow(&receiver.ty);
        if receiver_ty == Type::Error {
            self.check_args_alone(cx, args);
            return error_expr(span);
        }
        let in_module = self.module_of(&receiver_ty).and_then(|m| self.module_fn(cx.module, m, &method.name));
        let id = in_module.or_else(|| self.lookup_fn(cx.module, &method.name));
        match id {
            Some(id) => {
                args.insert(0, Arg::Typed(receiver));
                self.call_known(cx, id, args, span)
            }
            None if matches!(receiver_ty, Type::Var(_)) => {
                self.cannot_infer(receiver.span, &format!("call `.{}()` on it", method.name));
                self.check_args_alone(cx, args);
                error_expr(span)
            }
            None => {
                let field = self.record_field(&receiver_ty, &method.name);
                match self.module_of(&receiver_ty) {
                    Some(m) => self.unknown_module_fn(m, method, Some(&receiver_ty)),
                    None => {
                        let shown = self.show(&receiver_ty);
                        let mut d = Diagnostic::error(Code::UnknownFunction, format!("no function `{}` for `{shown}`", method.name))
                            .label(method.span, format!("`{shown}` has no function `{}`", method.name));
                        let candidates = self.visible_fn_names(cx.module);
                        if let Some(hint) = Self::did_you_mean(&method.name, candidates) {
                            d = d.hint(hint);
                        }
                        self.error(d);
                    }
                }
                if let (ExprKind::Store(store), Some(field)) = (&receiver.kind, method.name.strip_prefix("by_")) {
                    let info = &self.stores[store.0 as usize];
                    let hint = format!("to look entries up by `{field}`, index it: `store {}: … index({field})`", info.name);
                    let last = self.diagnostics.len() - 1;
                    self.diagnostics[last].hint = Some(hint);
                }
                if field.is_some() {
                    let last = self.diagnostics.len() - 1;
                    self.diagnostics[last].hint =
                        Some(format!("`{}` is a field holding a function: call it with `(x.{0})(…)`", method.name));
                }
                self.check_args_alone(cx, args);
                error_expr(span)
            }
        }
    }

    /// `users.by_email(v)` on a unique index (`Option<(String, T)>`) or
    /// `articles.by_tags(v, scan)` on another (`Page<T>`): the stdlib's
    /// private `index_get` or `index_page`, given the index's position.
    fn index_lookup(&mut self, cx: &mut Cx, receiver: Expr, store: typed::StoreId, i: usize, args: Vec<Arg>, span: Span) -> Expr {
        let info = &self.stores[store.0 as usize];
        let index = info.indexes[i].clone();
        let call = format!("{}.{}", info.name, index.method());
        let (operation, params, arity) = if index.unique { ("index_get", "value", 1) } else { ("index_page", "value, scan", 2) };
        if args.len() != arity {
            let found = args.len();
            self.check_args_alone(cx, args);
            self.error(
                Diagnostic::error(Code::ArgumentCount, format!("wrong number of arguments to `{call}`"))
                    .label(span, format!("expected `{call}({params})`, found {found} argument{}", if found == 1 { "" } else { "s" }))
                    .label(index.span, "the index")
                    .hint(if index.unique {
                        format!("`{call}(v)` is the entry whose `{}` is `v`, if any", index.field)
                    } else {
                        format!("`{call}(v, Scan {{ limit: 20 }})` is a page of the entries whose `{}` holds `v`", index.field)
                    }),
            );
            return error_expr(span);
        }
        let mut args = args.into_iter();
        let value = match args.next() {
            Some(Arg::Ast(a)) => self.expr(cx, a, &index.key),
            Some(Arg::Typed(e)) => {
                self.expect(&index.key, &e.ty, e.span);
                e
            }
            None => error_expr(span),
        };
        let position = expr(ExprKind::Int(i as i64), Type::Int, span);
        let module = self.module_by_name["Store"];
        let id = self.module_fns[module][operation];
        let call = [Arg::Typed(receiver), Arg::Typed(position), Arg::Typed(value)].into_iter().chain(args).collect();
        self.call_known(cx, id, call, span)
    }

    /// `lhs |> rhs`: `f(lhs)`, `f(lhs, a)`, `M.f(lhs, a)`, or a call of the
    /// function value `rhs`.
    fn pipe(&mut self, cx: &mut Cx, lhs: &ast::Expr, rhs: &ast::Expr, span: Span) -> Expr {
        match &rhs.kind {
            E::Call { callee, args } => {
                let args = std::iter::once(lhs).chain(args).map(Arg::Ast).collect();
                self.call(cx, callee, args, span)
            }
            // `x |> M.f(a)` is `M.f(x, a)`; `x |> y.m(a)` is `y.m(x, a)`.
            E::MethodCall { receiver, method, args } => {
                let args = std::iter::once(lhs).chain(args).map(Arg::Ast).collect();
                self.method_call(cx, receiver, method, args, span)
            }
            // `call` resolves a function name and `M.f` alike.
            E::Name(_) => self.call(cx, rhs, vec![Arg::Ast(lhs)], span),
            E::Field { target, .. } if self.module_name(cx, target).is_some() => {
                self.call(cx, rhs, vec![Arg::Ast(lhs)], span)
            }
            _ => {
                let lhs = self.expr_any(cx, lhs);
                let callee = self.expr_any(cx, rhs);
                self.call_value(cx, callee, vec![Arg::Typed(lhs)], span)
            }
        }
    }

    /// A constructor named without arguments: the value itself (`Empty`),
    /// or for one with a payload the function that builds it
    /// (`Circle: fn(Float) -> Shape`), as a lambda over its fields.
    fn constructor_value(&mut self, cx: &mut Cx, ty: TypeId, variant: usize, name: &ast::Ident) -> Expr {
        let span = name.span;
        let def = self.types.get(ty);
        if def.variants()[variant].1.is_empty() {
            return self.construct(cx, ty, variant, name, Vec::new(), span);
        }
        let type_args: Vec<Type> = def.params.iter().map(|_| self.unifier.fresh()).collect();
        let payload: Vec<Type> = def.variants()[variant].1.iter().map(|t| t.instantiate(&type_args)).collect();
        let result = Type::Named(ty, type_args);
        // Names no program can write, in a scope of their own.
        cx.scopes.push(Vec::new());
        let params: Vec<LocalId> = (0..payload.len())
            .map(|i| cx.declare(&ast::Ident { name: format!("{}.{i}", name.name), span }, payload[i].clone(), false))
            .collect();
        cx.scopes.pop();
        let args = params.iter().zip(&payload).map(|(&p, t)| expr(ExprKind::Local(p), t.clone(), span)).collect();
        let body = expr(ExprKind::Construct { ty, variant, args }, result.clone(), span);
        let lambda = ExprKind::Lambda { params, captures: Vec::new(), body: Box::new(body) };
        expr(lambda, Type::Fn(payload, Box::new(result)), span)
    }

    fn construct(&mut self, cx: &mut Cx, ty: TypeId, variant: usize, name: &ast::Ident, args: Vec<Arg>, span: Span) -> Expr {
        let def = self.types.get(ty);
        let type_args: Vec<Type> = def.params.iter().map(|_| self.unifier.fresh()).collect();
        let payload: Vec<Type> = def.variants()[variant].1.iter().map(|t| t.instantiate(&type_args)).collect();
        if payload.len() != args.len() {
            let hint = match payload.len() {
                0 => format!("`{}` carries no value: write just `{}`", name.name, name.name),
                n => format!("write `{}({})`", name.name, vec!["…"; n].join(", ")),
            };
            self.error(
                Diagnostic::error(Code::ArgumentCount, format!("wrong number of values for `{}`", name.name))
                    .label(span, format!("expected {}, found {}", payload.len(), args.len()))
                    .hint(hint),
            );
            self.check_args_alone(cx, args);
            return error_expr(span);
        }
        let args = args
            .into_iter()
            .zip(&payload)
            .map(|(arg, t)| match arg {
                Arg::Ast(a) => self.expr(cx, a, t),
                Arg::Typed(e) => {
                    self.expect(t, &e.ty, e.span);
                    e
                }
            })
            .collect();
        expr(ExprKind::Construct { ty, variant, args }, Type::Named(ty, type_args), span)
    }

    fn lambda(&mut self, cx: &mut Cx, params: &[ast::Param], ret: Option<&ast::TypeExpr>, body: &ast::Block, expected: &Type, span: Span) -> Expr {
        let (hint_params, hint_ret) = match self.unifier.shallow(expected) {
            Type::Fn(ps, r) if ps.len() == params.len() => (Some(ps), Some(*r)),
            _ => (None, None),
        };
        let generics = cx.generics.clone();
        let mut param_types = Vec::new();
        for (i, p) in params.iter().enumerate() {
            let hinted = hint_params.as_ref().map(|ps| ps[i].clone());
            let ty = match (&p.ty, hinted) {
                (Some(t), Some(h)) => {
                    let t = self.resolve_type(cx.module, t, &generics);
                    self.expect(&h, &t, p.name.span);
                    t
                }
                (Some(t), None) => self.resolve_type(cx.module, t, &generics),
                (None, Some(h)) => h,
                (None, None) => self.unifier.fresh(),
            };
            param_types.push(ty);
        }
        let ret_ty = match (ret, hint_ret) {
            (Some(t), _) => self.resolve_type(cx.module, t, &generics),
            (None, Some(h)) => h,
            (None, None) => self.unifier.fresh(),
        };
        cx.frames.push(Frame {
            first_local: cx.locals.len() as u32,
            captures: Vec::new(),
            ret: ret_ty.clone(),
            ret_span: ret.map(|t| t.span),
            try_span: None,
            loops: 0,
        });
        cx.scopes.push(Vec::new());
        let param_ids = params.iter().zip(&param_types).map(|(p, t)| cx.declare(&p.name, t.clone(), false)).collect();
        // A lambda returning `Unit` drops its body's value, as a `Unit` function does.
        let reported = self.diagnostics.len();
        let body = if self.unifier.shallow(&ret_ty).is_unit() { self.block_any(cx, body) } else { self.block(cx, body, &ret_ty) };
        cx.scopes.pop();
        let frame = cx.frames.pop().expect("pushed above");
        // `?` made this function return a `Result`, which its body then is
        // not: say that `?` leaves the anonymous function.
        if let (Some(at), Some(d)) = (frame.try_span, self.diagnostics[reported..].iter_mut().find(|d| d.code == Code::TypeMismatch)) {
            d.labels.push(crate::diagnostic::Label { span: at, message: "this `?` returns from the anonymous function, not the one around it".into() });
            d.hint = Some("end the anonymous function with `Ok(…)`, or handle the `Err` inside it with `match`".into());
        }
        let ty = Type::Fn(param_types, Box::new(ret_ty));
        expr(ExprKind::Lambda { params: param_ids, captures: frame.captures, body: Box::new(body) }, ty, span)
    }

    // ───────────────────────────── Records and fields ─────────────────────────────

    fn record_type(&mut self, module: usize, name: &ast::Ident) -> Option<TypeId> {
        match self.type_name(module, &name.name).cloned() {
            Some(TypeName::Def(id)) if matches!(self.types.get(id).kind, TypeDefKind::Record(_)) => Some(id),
            Some(TypeName::Alias { .. }) => {
                let t = ast::TypeExpr {
                    kind: ast::TypeExprKind::Named { name: name.clone(), args: vec![] },
                    span: name.span,
                };
                match self.resolve_type(module, &t, &[]) {
                    Type::Named(id, _) if matches!(self.types.get(id).kind, TypeDefKind::Record(_)) => Some(id),
                    _ => None,
                }
            }
            Some(TypeName::Def(_)) => {
                self.error(
                    Diagnostic::error(Code::UnknownType, format!("`{}` is an enum, not a record", name.name))
                        .label(name.span, "cannot be built with `{ … }`")
                        .hint("build an enum value with one of its constructors"),
                );
                None
            }
            None => {
                let candidates: Vec<&str> = self
                    .type_names
                    .iter()
                    .filter(|(_, t)| matches!(t, TypeName::Def(id) if matches!(self.types.get(*id).kind, TypeDefKind::Record(_))))
                    .map(|(n, _)| n.as_str())
                    .collect();
                let mut d = Diagnostic::error(Code::UnknownType, format!("unknown record type `{}`", name.name))
                    .label(name.span, "no record type has this name");
                if let Some(hint) = Self::did_you_mean(&name.name, candidates) {
                    d = d.hint(hint);
                }
                self.error(d);
                None
            }
        }
    }

    fn record(&mut self, cx: &mut Cx, name: &ast::Ident, inits: &[ast::FieldInit], span: Span) -> Expr {
        let Some(id) = self.record_type(cx.module, name) else {
            for init in inits {
                self.expr_any(cx, &init.value);
            }
            return error_expr(span);
        };
        let def = self.types.get(id);
        let type_args: Vec<Type> = def.params.iter().map(|_| self.unifier.fresh()).collect();
        let mut values: Vec<Option<Expr>> = vec![None; def.fields().len()];
        for (index, value) in self.field_inits(cx, id, &type_args, inits) {
            values[index] = Some(value);
        }
        // A field left out takes its default, checked here as written.
        for index in 0..values.len() {
            let def = self.types.get(id);
            let (name, field_ty) = &def.fields()[index];
            if let (None, Some(default)) = (&values[index], def.default(name)) {
                let (value, field_ty) = (default.value.clone(), field_ty.instantiate(&type_args));
                values[index] = Some(match value {
                    Some(value) => self.expr(cx, &value, &field_ty),
                    None => error_expr(span),
                });
            }
        }
        let missing: Vec<String> = self
            .types
            .get(id)
            .fields()
            .iter()
            .zip(&values)
            .filter(|(_, v)| v.is_none())
            .map(|((n, _), _)| format!("`{n}`"))
            .collect();
        if !missing.is_empty() {
            let s = if missing.len() == 1 { "" } else { "s" };
            self.error(
                Diagnostic::error(Code::MissingField, format!("missing field{s} {} in `{}`", join_words(&missing), name.name))
                    .label(span, format!("this `{}` needs {}", name.name, join_words(&missing)))
                    .hint("every field must be given; to copy the rest from another record write `{ ..other, field: value }`"),
            );
            return error_expr(span);
        }
        let fields = values.into_iter().map(|v| v.unwrap_or_else(|| error_expr(span))).collect();
        expr(ExprKind::Record { ty: id, fields }, Type::Named(id, type_args), span)
    }

    /// Checks `f: value` initialisers against a record's fields, reporting
    /// unknown and repeated fields; returns (field index, value).
    fn field_inits(&mut self, cx: &mut Cx, id: TypeId, args: &[Type], inits: &[ast::FieldInit]) -> Vec<(usize, Expr)> {
        let mut out: Vec<(usize, Expr)> = Vec::new();
        let mut seen: Vec<&ast::Ident> = Vec::new();
        for init in inits {
            let Some(index) = self.types.get(id).fields().iter().position(|(n, _)| *n == init.name.name) else {
                self.unknown_field(id, &init.name);
                self.expr_any(cx, &init.value);
                continue;
            };
            if let Some(first) = seen.iter().find(|s| s.name == init.name.name) {
                let first = first.span;
                self.error(
                    Diagnostic::error(Code::DuplicateField, format!("the field `{}` is given twice", init.name.name))
                        .label(init.name.span, "given again here")
                        .label(first, "first given here"),
                );
            }
            seen.push(&init.name);
            let field_ty = self.types.get(id).fields()[index].1.instantiate(args);
            let value = self.expr(cx, &init.value, &field_ty);
            out.push((index, value));
        }
        out
    }

    fn unknown_field(&mut self, id: TypeId, name: &ast::Ident) {
        let def = self.types.get(id);
        let candidates: Vec<&str> = def.fields().iter().map(|(n, _)| n.as_str()).collect();
        let hint = Self::did_you_mean(&name.name, candidates.iter().copied())
            .unwrap_or_else(|| format!("`{}` has the fields {}", def.name, join_words(&candidates.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>())));
        let d = Diagnostic::error(Code::UnknownField, format!("`{}` has no field `{}`", def.name, name.name))
            .label(name.span, "unknown field")
            .hint(hint);
        self.error(d);
    }

    fn record_update(&mut self, cx: &mut Cx, base: &ast::Expr, inits: &[ast::FieldInit], expected: &Type, span: Span) -> Expr {
        let base = self.expr(cx, base, expected);
        let (id, args) = match self.unifier.shallow(&base.ty) {
            Type::Named(id, args) if matches!(self.types.get(id).kind, TypeDefKind::Record(_)) => (id, args),
            Type::Error => return error_expr(span),
            Type::Var(_) => {
                self.cannot_infer(base.span, "update its fields");
                return error_expr(span);
            }
            other => {
                let shown = self.show(&other);
                self.error(
                    Diagnostic::error(Code::TypeMismatch, "`{ ..base }` needs a record")
                        .label(base.span, format!("expected a record, found `{shown}`")),
                );
                return error_expr(span);
            }
        };
        let updates = self.field_inits(cx, id, &args, inits);
        let ty = base.ty.clone();
        expr(ExprKind::RecordUpdate { base: Box::new(base), fields: updates }, ty, span)
    }

    pub(super) fn record_field(&self, ty: &Type, name: &str) -> Option<(usize, Type)> {
        match ty {
            Type::Named(id, args) => {
                let fields = self.types.get(*id).fields();
                fields.iter().position(|(n, _)| n == name).map(|i| (i, fields[i].1.instantiate(args)))
            }
            _ => None,
        }
    }

    fn field(&mut self, cx: &mut Cx, target: &ast::Expr, name: &ast::Ident, span: Span) -> Expr {
        if let Some(m) = self.module_name(cx, target) {
            return match self.module_fn(cx.module, m, &name.name) {
                Some(id) if self.fns[id.0 as usize].store_access.is_some() => {
                    self.error(
                        Diagnostic::error(Code::StoreAsValue, format!("`Store.{}` is not a value", name.name))
                            .label(span, "store operations can only be called")
                            .hint(format!("call it on a store: `items.{}(…)`", name.name)),
                    );
                    error_expr(span)
                }
                Some(id) => self.fn_value(cx, id, span),
                None => {
                    self.unknown_module_fn(m, name, None);
                    error_expr(span)
                }
            };
        }
        if self.unknown_module(cx, target) {
            return error_expr(span);
        }
        let target = self.expr_any(cx, target);
        let mut ty = self.unifier.shallow(&target.ty);
        if let Type::Var(_) = ty {
            // The only record with this field decides, as in `fn(t) { t.done }`.
            let owners: Vec<TypeId> = (0..self.types.defs.len() as u32)
                .map(TypeId)
                .filter(|id| self.types.get(*id).fields().iter().any(|(n, _)| *n == name.name))
                .collect();
            if let [id] = owners[..] {
                let args = self.types.get(id).params.iter().map(|_| self.unifier.fresh()).collect();
                ty = Type::Named(id, args);
                let _ = self.unifier.unify(&target.ty, &ty);
            } else {
                self.cannot_infer(target.span, &format!("read its field `{}`", name.name));
                return error_expr(span);
            }
        }
        if ty == Type::Error {
            return error_expr(span);
        }
        match self.record_field(&ty, &name.name) {
            Some((index, field_ty)) => expr(ExprKind::Field { target: Box::new(target), index }, field_ty, span),
            None => {
                match &ty {
                    Type::Named(id, _) if matches!(self.types.get(*id).kind, TypeDefKind::Record(_)) => {
                        self.unknown_field(*id, name);
                    }
                    _ => {
                        let shown = self.show(&ty);
                        let mut d = Diagnostic::error(Code::UnknownField, format!("`{shown}` has no fields"))
                            .label(name.span, format!("no field `{}` on `{shown}`", name.name));
                        if let Some(m) = self.module_of(&ty)
                            && self.module_fn(cx.module, m, &name.name).is_some()
                        {
                            d = d.hint(format!("`{}` is a function: call it with `.{}()`", name.name, name.name));
                        }
                        self.error(d);
                    }
                }
                error_expr(span)
            }
        }
    }

    fn cannot_infer(&mut self, span: Span, to: &str) {
        self.error(
            Diagnostic::error(Code::CannotInfer, "cannot infer the type of this value")
                .label(span, format!("its type must be known to {to}"))
                .hint("add a type annotation, e.g. `let x: Todo = …` or `fn(t: Todo) { … }`"),
        );
    }

    // ───────────────────────────── Operators ─────────────────────────────

    fn binary(&mut self, cx: &mut Cx, op: BinaryOp, lhs: &ast::Expr, rhs: &ast::Expr, span: Span) -> Expr {
        let (lhs, rhs, ty) = match op {
            BinaryOp::And | BinaryOp::Or => {
                let lhs = self.expr(cx, lhs, &Type::Bool);
                let rhs = self.expr(cx, rhs, &Type::Bool);
                (lhs, rhs, Type::Bool)
            }
            _ => {
                let lhs = self.expr_any(cx, lhs);
                let (rhs, same) = self.operand(cx, op, &lhs, rhs);
                // After a reported mismatch, the result is an error, not a second one.
                let ty = if same { lhs.ty.clone() } else { Type::Error };
                let (operands, op_span) = (ty.clone(), lhs.span.to(rhs.span));
                let symbol = op.symbol();
                let (deferred, result) = match op {
                    BinaryOp::Concat => (Deferred::Concat { ty: operands, span: op_span }, ty),
                    BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
                        (Deferred::Numeric { ty: operands, span: op_span, op: symbol }, ty)
                    }
                    _ => (Deferred::Comparable { ty: operands, span: op_span, op: symbol }, Type::Bool),
                };
                self.deferred.push(deferred);
                (lhs, rhs, result)
            }
        };
        expr(ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, ty, span)
    }

    /// The right operand of a binary operator, which must have the left's type.
    /// Also tells whether the two types agree.
    fn operand(&mut self, cx: &mut Cx, op: BinaryOp, lhs: &Expr, rhs: &ast::Expr) -> (Expr, bool) {
        let rhs = self.infer(cx, rhs, &lhs.ty);
        if rhs.ty.has_error() || self.unifier.unify(&lhs.ty, &rhs.ty).is_ok() {
            return (rhs, true);
        }
        let (l, r) = (self.show(&lhs.ty), self.show(&rhs.ty));
        let mut d = Diagnostic::error(Code::TypeMismatch, format!("`{}` needs two operands of the same type", op.symbol()))
            .label(rhs.span, format!("expected `{l}`, found `{r}`"))
            .label(lhs.span, format!("this is `{l}`"));
        if let Some(hint) = conversion(&l, &r) {
            d = d.hint(hint);
        }
        self.error(d);
        (rhs, false)
    }

    fn try_(&mut self, cx: &mut Cx, operand: &ast::Expr, span: Span) -> Expr {
        let operand = self.expr_any(cx, operand);
        let (ok, err) = match self.unifier.shallow(&operand.ty) {
            Type::Named(id, args) if Some(id) == self.known.result && args.len() == 2 => (args[0].clone(), args[1].clone()),
            Type::Var(_) => {
                let (ok, err) = (self.unifier.fresh(), self.unifier.fresh());
                let _ = self.unifier.unify(&operand.ty, &self.result(ok.clone(), err.clone()));
                (ok, err)
            }
            Type::Error => return error_expr(span),
            other => {
                let shown = self.show(&other);
                let mut d = Diagnostic::error(Code::InvalidTry, "`?` needs a `Result`")
                    .label(operand.span, format!("this is `{shown}`, not a `Result`"));
                if self.is_named(&other, self.known.option) {
                    d = d.hint("for an Option, use `match` or `Option.unwrap_or(o, default)`");
                }
                self.error(d);
                return error_expr(span);
            }
        };
        // Inside an anonymous function, `?` returns from that function.
        let kind = if cx.frames.len() > 1 { BodyKind::Fn } else { cx.kind };
        let ret_span = cx.frame().ret_span;
        match kind {
            BodyKind::Fn => {
                let ret = cx.frame().ret.clone();
                match self.unifier.shallow(&ret) {
                    Type::Named(id, args) if Some(id) == self.known.result && args.len() == 2 => {
                        if self.unifier.unify(&args[1], &err).is_err() {
                            let (fe, oe) = (self.show(&args[1]), self.show(&err));
                            let mut d = Diagnostic::error(Code::TypeMismatch, "`?` would return the wrong error type")
                                .label(span, format!("this error is `{oe}`"));
                            if let Some(r) = ret_span {
                                d = d.label(r, format!("but the function returns errors of type `{fe}`"));
                            }
                            self.error(d.hint("convert the error first with `Result.map_err(r, f)`"));
                        }
                    }
                    Type::Var(_) => {
                        let any = self.unifier.fresh();
                        let _ = self.unifier.unify(&ret, &self.result(any, err));
                        if cx.frames.len() > 1 {
                            cx.frame().try_span = Some(span);
                        }
                    }
                    Type::Error => {}
                    other => {
                        let shown = self.show(&other);
                        let mut d = Diagnostic::error(Code::InvalidTry, "`?` can only be used in a function that returns `Result`")
                            .label(span, "this `?` would return an `Err` early");
                        if let Some(r) = ret_span {
                            d = d.label(r, format!("but the function returns `{shown}`"));
                        }
                        self.error(d.hint("return a `Result`, or handle the error with `match`"));
                    }
                }
            }
            // A route sends an `Err(response)` as it is.
            BodyKind::Route if self.is_named(&self.unifier.shallow(&err), self.known.response) => {}
            entry => {
                if self.unifier.unify(&err, &Type::String).is_err() {
                    let shown = self.show(&err);
                    let (needs, what) = match entry {
                        BodyKind::Route => (
                            "`Result<_, String>` or `Result<_, Response>`",
                            "a route answers an `Err(message)` with a `400`, an `Err(response)` with that response",
                        ),
                        _ => ("`Result<_, String>`", "the run fails with the `Err`'s message"),
                    };
                    self.error(
                        Diagnostic::error(Code::TypeMismatch, format!("`?` in a {} needs {needs}", entry.noun()))
                            .label(span, format!("this error is `{shown}`, not `String`"))
                            .hint(format!("{what}; convert the error with `Result.map_err(r, f)`")),
                    );
                }
            }
        }
        expr(ExprKind::Try(Box::new(operand)), ok, span)
    }

    // ───────────────────────────── Patterns ─────────────────────────────

    fn pattern(&mut self, cx: &mut Cx, p: &ast::Pattern, ty: &Type, mutable: bool) -> Pattern {
        let mut bound = Vec::new();
        self.pattern_inner(cx, p, ty, mutable, &mut bound)
    }

    fn pattern_inner(&mut self, cx: &mut Cx, p: &ast::Pattern, ty: &Type, mutable: bool, bound: &mut Vec<ast::Ident>) -> Pattern {
        use ast::PatternKind as P;
        let span = p.span;
        let pat = |kind, ty: &Type| Pattern { kind, ty: ty.clone(), span };
        match &p.kind {
            P::Wildcard => pat(PatternKind::Wildcard, ty),
            P::Bind(name) => {
                self.bind(cx, name, ty, mutable, bound);
                let id = LocalId(cx.locals.len() as u32 - 1);
                pat(PatternKind::Bind(id), ty)
            }
            P::Literal(lit) => {
                let lit_ty = match lit {
                    Literal::Int(_) => Type::Int,
                    Literal::Float(_) => Type::Float,
                    Literal::Str(_) => Type::String,
                    Literal::Bool(_) => Type::Bool,
                    Literal::Unit => Type::UNIT,
                };
                self.pattern_type(ty, &lit_ty, span);
                pat(PatternKind::Literal(lit.clone()), ty)
            }
            P::Constructor { name, args } => {
                let Some(&(id, variant)) = self.constructors.get(&name.name) else {
                    let candidates: Vec<&str> = self.constructors.keys().map(String::as_str).collect();
                    let mut d = Diagnostic::error(Code::UnknownConstructor, format!("unknown constructor `{}`", name.name))
                        .label(name.span, "no enum has this variant");
                    if let Some(hint) = Self::did_you_mean(&name.name, candidates) {
                        d = d.hint(hint);
                    }
                    self.error(d);
                    for a in args {
                        self.pattern_inner(cx, a, &Type::Error, mutable, bound);
                    }
                    return pat(PatternKind::Error, ty);
                };
                let def = self.types.get(id);
                let type_args: Vec<Type> = def.params.iter().map(|_| self.unifier.fresh()).collect();
                let payload: Vec<Type> = def.variants()[variant].1.iter().map(|t| t.instantiate(&type_args)).collect();
                self.pattern_type(ty, &Type::Named(id, type_args), span);
                if payload.len() != args.len() {
                    self.error(
                        Diagnostic::error(Code::PatternArity, format!("`{}` has {} field(s), but the pattern has {}", name.name, payload.len(), args.len()))
                            .label(span, format!("expected {} pattern(s) inside `{}`", payload.len(), name.name))
                            .hint(match payload.len() {
                                0 => format!("write just `{}`", name.name),
                                n => format!("write `{}({})`, using `_` for values you ignore", name.name, vec!["_"; n].join(", ")),
                            }),
                    );
                    // The patterns present still bind, to the leading payload types.
                    for (i, a) in args.iter().enumerate() {
                        let t = payload.get(i).cloned().unwrap_or(Type::Error);
                        self.pattern_inner(cx, a, &t, mutable, bound);
                    }
                    return pat(PatternKind::Error, ty);
                }
                let args = args.iter().zip(&payload).map(|(a, t)| self.pattern_inner(cx, a, t, mutable, bound)).collect();
                pat(PatternKind::Construct { ty: id, variant, args }, ty)
            }
            P::Tuple(items) => {
                let types: Vec<Type> = match self.unifier.shallow(ty) {
                    Type::Tuple(ts) if ts.len() == items.len() => ts,
                    _ => {
                        let ts: Vec<Type> = items.iter().map(|_| self.unifier.fresh()).collect();
                        self.pattern_type(ty, &Type::Tuple(ts.clone()), span);
                        ts
                    }
                };
                let items = items.iter().zip(&types).map(|(i, t)| self.pattern_inner(cx, i, t, mutable, bound)).collect();
                pat(PatternKind::Tuple(items), ty)
            }
            P::List { items, rest } => {
                let element = match self.unifier.shallow(ty) {
                    Type::List(t) => *t,
                    _ => {
                        let t = self.unifier.fresh();
                        self.pattern_type(ty, &Type::List(Box::new(t.clone())), span);
                        t
                    }
                };
                let items = items.iter().map(|i| self.pattern_inner(cx, i, &element, mutable, bound)).collect();
                let rest = rest.as_ref().map(|r| {
                    r.as_ref().map(|name| {
                        self.bind(cx, name, &Type::List(Box::new(element.clone())), mutable, bound);
                        LocalId(cx.locals.len() as u32 - 1)
                    })
                });
                pat(PatternKind::List { items, rest }, ty)
            }
            P::Error => pat(PatternKind::Error, ty),
        }
    }

    fn bind(&mut self, cx: &mut Cx, name: &ast::Ident, ty: &Type, mutable: bool, bound: &mut Vec<ast::Ident>) {
        if let Some(first) = bound.iter().find(|b| b.name == name.name) {
            self.error(
                Diagnostic::error(Code::DuplicateDefinition, format!("`{}` is bound twice in this pattern", name.name))
                    .label(name.span, "bound again here")
                    .label(first.span, "first bound here"),
            );
        }
        bound.push(name.clone());
        cx.declare(name, ty.clone(), mutable);
    }

    /// A pattern of type `found` matched against a value of type `value`.
    fn pattern_type(&mut self, value: &Type, found: &Type, span: Span) {
        if self.unifier.unify(value, found).is_err() {
            let (v, f) = (self.show(value), self.show(found));
            self.error(
                Diagnostic::error(Code::TypeMismatch, "this pattern cannot match the value")
                    .label(span, format!("the pattern is `{f}`, but the value is `{v}`")),
            );
        }
    }

    // ───────────────────────────── Declarations with bodies ─────────────────────────────

    /// Splits and validates a route path; returns its segments and the
    /// identifiers of its parameters.
    fn route_path(&mut self, route: &ast::RouteDecl) -> (Vec<typed::Segment>, Vec<ast::Ident>) {
        const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];
        let method = &route.method;
        if !METHODS.contains(&method.name.as_str()) {
            let upper = method.name.to_uppercase();
            let hint = if METHODS.contains(&upper.as_str()) {
                format!("methods are written in capitals: `{upper}`")
            } else {
                "the methods are GET, POST, PUT, PATCH and DELETE".to_string()
            };
            self.error(
                Diagnostic::error(Code::InvalidMethod, format!("`{}` is not an HTTP method a route can take", method.name))
                    .label(method.span, "unknown method")
                    .hint(hint),
            );
        }
        let path = &route.path;
        let base = route.path_span.start as usize;
        let at = |start: usize, len: usize| Span::new(route.path_span.file, base + start, base + start + len.max(1));
        let mut segments = Vec::new();
        let mut params: Vec<ast::Ident> = Vec::new();
        if !path.starts_with('/') {
            self.error(
                Diagnostic::error(Code::InvalidRoutePath, "a route path starts with `/`")
                    .label(route.path_span, "this path does not")
                    .hint(format!("write `/{}`", path.trim_start_matches('/'))),
            );
            return (segments, params);
        }
        let mut offset = 1;
        let parts: Vec<&str> = if path == "/" { vec![] } else { path[1..].split('/').collect() };
        let count = parts.len();
        for (i, part) in parts.into_iter().enumerate() {
            let span = at(offset, part.len());
            offset += part.len() + 1;
            let problem = if part.is_empty() {
                Some(("an empty segment", "remove the extra `/`".to_string()))
            } else if let Some(name) = part.strip_prefix(':').or_else(|| part.strip_prefix('*')) {
                let is_rest = part.starts_with('*');
                if !is_name(name) {
                    Some(("a parameter needs a lower-case name that is not a keyword", format!("write `{}id`", &part[..1])))
                } else if name == "request" {
                    self.error(
                        Diagnostic::error(Code::DuplicateParam, "the path parameter `request` would hide the request")
                            .label(span, "`request` is already bound in every route")
                            .hint("give the parameter another name"),
                    );
                    None
                } else if is_rest && i + 1 != count {
                    Some(("`*rest` must be the last segment", "move it to the end of the path".to_string()))
                } else {
                    if let Some(first) = params.iter().find(|p| p.name == name) {
                        let first = first.span;
                        self.error(
                            Diagnostic::error(Code::DuplicateParam, format!("the path parameter `{name}` appears twice"))
                                .label(span, "bound again here")
                                .label(first, "first bound here")
                                .hint("give each parameter its own name"),
                        );
                    }
                    let ident = ast::Ident { name: name.to_string(), span };
                    params.push(ident);
                    segments.push(if is_rest { typed::Segment::Rest(name.into()) } else { typed::Segment::Param(name.into()) });
                    None
                }
            } else if !part.chars().all(|c| c.is_ascii_alphanumeric() || "-._~%@!$&'()+,;=".contains(c)) {
                Some(("a character that cannot appear in a path", "use letters, digits, `-`, `_`, `.` and `~`".to_string()))
            } else {
                segments.push(typed::Segment::Static(part.to_string()));
                None
            };
            if let Some((what, hint)) = problem {
                self.error(
                    Diagnostic::error(Code::InvalidRoutePath, format!("invalid route path `{path}`"))
                        .label(span, what)
                        .hint(hint),
                );
            }
        }
        let shape = |segments: &[typed::Segment]| -> Vec<String> {
            segments
                .iter()
                .map(|s| match s {
                    typed::Segment::Static(s) => s.clone(),
                    typed::Segment::Param(_) => ":".into(),
                    typed::Segment::Rest(_) => "*".into(),
                })
                .collect()
        };
        if let Some(first) = self.routes.iter().find(|r| r.method == method.name && shape(&r.path) == shape(&segments)) {
            let first = first.span;
            self.error(
                Diagnostic::error(Code::DuplicateRoute, format!("two routes answer `{} {path}`", method.name))
                    .label(route.path_span, "this route")
                    .label(first, "has the same method and path as this one")
                    .hint("merge the two handlers, or change one path; parameter names do not tell paths apart"),
            );
        }
        (segments, params)
    }

    fn check_schedule(&mut self, schedule: &ast::StrLit) {
        let text = schedule.value.trim();
        // The string's contents start after its opening quote.
        let inner = |start: usize, len: usize| {
            let s = schedule.span.start as usize + 1 + start;
            Span::new(schedule.span.file, s, s + len.max(1))
        };
        let fail = |c: &mut Self, span: Span, label: String, hint: &str| {
            c.error(
                Diagnostic::error(Code::InvalidCron, format!("invalid cron schedule \"{}\"", schedule.value))
                    .label(span, label)
                    .hint(hint.to_string()),
            );
        };
        const FORM: &str = "five fields `minute hour day-of-month month day-of-week` in UTC, e.g. \"0 3 * * *\", or @hourly, @daily, @weekly";
        if text.starts_with('@') {
            if !matches!(text, "@hourly" | "@daily" | "@weekly") {
                fail(self, inner(0, schedule.value.len()), "unknown shorthand".into(), "the shorthands are @hourly, @daily and @weekly");
            }
            return;
        }
        let fields: Vec<(usize, &str)> = field_offsets(&schedule.value);
        if fields.len() != 5 {
            let label = format!("{} field{}, expected 5", fields.len(), if fields.len() == 1 { "" } else { "s" });
            fail(self, inner(0, schedule.value.len()), label, FORM);
            return;
        }
        let letters_where_numbers_belong = fields[..3].iter().any(|(_, f)| f.chars().any(|c| c.is_ascii_alphabetic()));
        if !letters_where_numbers_belong && text.parse::<croner::Cron>().is_ok() {
            return;
        }
        // Invalid: find the field to point at.
        const NAMES: [&str; 5] = ["minute", "hour", "day of month", "month", "day of week"];
        for (i, (offset, field)) in fields.iter().enumerate() {
            let mut probe = ["*"; 5];
            probe[i] = field;
            if field.chars().any(|c| c.is_ascii_alphabetic()) && i < 3 || probe.join(" ").parse::<croner::Cron>().is_err() {
                fail(self, inner(*offset, field.len()), format!("not a valid {}", NAMES[i]), FORM);
                return;
            }
        }
        if text.parse::<croner::Cron>().is_err() {
            fail(self, inner(0, schedule.value.len()), "this schedule never runs".into(), FORM);
        }
    }
}

/// Whitespace-separated fields of a schedule with their byte offsets.
fn field_offsets(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices().chain([(s.len(), ' ')]) {
        match (c.is_whitespace(), start) {
            (true, Some(st)) => {
                out.push((st, &s[st..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    out
}

/// Whether `s` lexes as one lower-case name (not a keyword).
fn is_name(s: &str) -> bool {
    let (tokens, errors) = crate::syntax::lexer::lex(s, crate::source::FileId(0));
    errors.is_empty() && matches!(tokens.as_slice(), [(_, crate::syntax::token::Token::Ident(_), _)])
}

/// The span of a block's value (its last statement), or of the block.
fn tail_span(block: &ast::Block) -> Span {
    block.stmts.last().map_or(block.span, |s| s.span)
}

fn conversion(l: &str, r: &str) -> Option<&'static str> {
    match (l, r) {
        ("Int", "Float") | ("Float", "Int") => {
            Some("Int and Float never mix implicitly: convert with `Int.to_float(n)` or `Float.to_int(x)`")
        }
        ("String", _) | (_, "String") => Some("to build text from values, use interpolation: `\"{a}{b}\"`"),
        _ => None,
    }
}
