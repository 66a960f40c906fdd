//! The typed program: what the checker hands to every backend. Names are
//! resolved (locals to [`LocalId`]s, calls to [`FnId`]s, constructors to
//! variant indices, fields to positions), every expression carries its
//! fully solved [`Type`], and the pipe, method and UFCS sugars are gone.

use super::types::{Type, TypeDefs, TypeId};
use crate::source::Span;
use crate::syntax::ast::{BinaryOp, Literal, UnaryOp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FnId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocalId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretId(pub u32);

#[derive(Debug, Default)]
pub struct Program {
    pub types: TypeDefs,
    /// Every function: the stdlib's, then the program's.
    pub functions: Vec<Function>,
    pub stores: Vec<Store>,
    pub secrets: Vec<Secret>,
    /// The origins of `cors` (`["*"]`: any), empty without one.
    pub cors: Vec<String>,
    pub routes: Vec<Route>,
    pub crons: Vec<Cron>,
    pub tests: Vec<Test>,
    pub main: Option<FnId>,
}

impl Program {
    pub fn function(&self, id: FnId) -> &Function {
        &self.functions[id.0 as usize]
    }
}

#[derive(Debug)]
pub struct Function {
    pub name: String,
    /// The stdlib module it belongs to (`List`), or `None` for the prelude
    /// and the user's program.
    pub module: Option<String>,
    pub generics: Vec<Generic>,
    pub params: Vec<LocalId>,
    /// The declared parameter types (also for an `extern fn`, which has no
    /// locals).
    pub param_types: Vec<Type>,
    pub ret: Type,
    /// `None` for an `extern fn`, implemented by the runtime.
    pub body: Option<Body>,
    /// What an `extern fn` does to the store passed as its first argument.
    pub store_access: Option<StoreAccess>,
    /// Marked `@test_only` (`App`, `Time.advance`).
    pub test_only: bool,
    pub span: Span,
}

impl Function {
    /// `List.map`, or `slug` for a function of the program or prelude.
    pub fn qualified_name(&self) -> String {
        match &self.module {
            Some(m) => format!("{m}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generic {
    pub name: String,
    /// Carries the `Json` bound.
    pub json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreAccess {
    Reads,
    Writes,
}

/// A body's code with the table of every local it declares (parameters,
/// `let`/`var` bindings, pattern bindings, lambda parameters).
#[derive(Debug)]
pub struct Body {
    pub locals: Vec<Local>,
    pub value: Expr,
}

impl Body {
    pub fn local(&self, id: LocalId) -> &Local {
        &self.locals[id.0 as usize]
    }
}

#[derive(Clone, Debug)]
pub struct Local {
    pub name: String,
    pub ty: Type,
    pub mutable: bool,
    pub span: Span,
}

#[derive(Debug)]
pub struct Store {
    pub name: String,
    pub value: Type,
    pub indexes: Vec<StoreIndex>,
    pub span: Span,
}

/// An index of a store on one field of its record type (`unique(email)`,
/// `index(tags)`), queried with the store's `by_FIELD`.
#[derive(Clone, Debug)]
pub struct StoreIndex {
    pub field: String,
    /// The field's position in the record.
    pub slot: usize,
    /// At most one key per value (`unique`).
    pub unique: bool,
    /// The type of the values looked up: `String`, `Int` or `Bool`.
    pub key: Type,
    /// The field is a `List` of them, and each element is indexed.
    pub each: bool,
    pub span: Span,
}

impl StoreIndex {
    /// The store operation that queries it: `by_email`.
    pub fn method(&self) -> String {
        format!("by_{}", self.field)
    }
}

#[derive(Debug)]
pub struct Secret {
    pub name: String,
    pub span: Span,
}

#[derive(Debug)]
pub struct Route {
    pub method: String,
    pub path: Vec<Segment>,
    /// The `:param` and `*rest` locals in path order, then `request`.
    pub params: Vec<LocalId>,
    pub request: LocalId,
    pub body: Body,
    /// The path as written, which runtime errors in the route point to.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Static(String),
    Param(String),
    /// `*rest`: the rest of the path, possibly empty; always last.
    Rest(String),
}

#[derive(Debug)]
pub struct Cron {
    pub name: String,
    pub schedule: String,
    pub body: Body,
    pub span: Span,
}

#[derive(Debug)]
pub struct Test {
    pub name: String,
    pub body: Body,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Type,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    /// String interpolation: each part is formatted (Strings as they are,
    /// other values in literal syntax) and the results concatenated.
    Interpolate(Vec<Expr>),
    Unit,
    Local(LocalId),
    /// A function used as a value (or about to be called).
    Fn { id: FnId, type_args: Vec<Type> },
    Secret(SecretId),
    /// A store, only ever the first argument of a store operation.
    Store(StoreId),
    List(Vec<Expr>),
    Tuple(Vec<Expr>),
    /// Field values in declaration order.
    Record { ty: TypeId, fields: Vec<Expr> },
    /// `{ ..base, f: v }`: replaced fields by position.
    RecordUpdate { base: Box<Expr>, fields: Vec<(usize, Expr)> },
    /// A record field by position.
    Field { target: Box<Expr>, index: usize },
    Construct { ty: TypeId, variant: usize, args: Vec<Expr> },
    /// A direct call of a known function.
    Call { id: FnId, type_args: Vec<Type>, args: Vec<Expr> },
    /// A call of a function value.
    CallValue { callee: Box<Expr>, args: Vec<Expr> },
    Unary { op: UnaryOp, operand: Box<Expr> },
    Binary { op: BinaryOp, lhs: Box<Expr>, rhs: Box<Expr> },
    /// `e?`: unwraps `Ok`, or leaves the body with the `Err`.
    Try(Box<Expr>),
    If { cond: Box<Expr>, then: Box<Expr>, else_: Option<Box<Expr>> },
    Match { scrutinee: Box<Expr>, arms: Vec<Arm> },
    /// Statements, then the block's value (`Unit` when absent).
    Block { stmts: Vec<Stmt>, value: Option<Box<Expr>> },
    /// Captures are by value: the listed outer locals are copied in.
    Lambda { params: Vec<LocalId>, captures: Vec<LocalId>, body: Box<Expr> },
    Return(Box<Expr>),
    Break,
    Continue,
    /// Only in programs with errors; never reaches a backend.
    Error,
}

#[derive(Clone, Debug)]
pub struct Arm {
    pub pattern: Pattern,
    pub guard: Option<Expr>,
    pub body: Expr,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Stmt {
    Let { pattern: Pattern, value: Expr },
    Assign { local: LocalId, value: Expr, span: Span },
    For { pattern: Pattern, iter: Expr, body: Expr },
    While { cond: Expr, body: Expr },
    Assert { cond: Expr, span: Span },
    Expr(Expr),
}

#[derive(Clone, Debug)]
pub struct Pattern {
    pub kind: PatternKind,
    pub ty: Type,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum PatternKind {
    Wildcard,
    Bind(LocalId),
    Literal(Literal),
    Construct { ty: TypeId, variant: usize, args: Vec<Pattern> },
    Tuple(Vec<Pattern>),
    /// `[a, b, ..rest]`: `rest` is `Some(None)` for a bare `..`.
    List { items: Vec<Pattern>, rest: Option<Option<LocalId>> },
    Error,
}

/// Visits every expression, statement and pattern of a tree, in order.
/// Override what you need; call the `walk_*` functions to recurse.
pub trait Visitor {
    fn expr(&mut self, e: &Expr) {
        walk_expr(self, e);
    }
    fn stmt(&mut self, s: &Stmt) {
        walk_stmt(self, s);
    }
    fn pattern(&mut self, p: &Pattern) {
        walk_pattern(self, p);
    }
}

pub fn walk_expr<V: Visitor + ?Sized>(v: &mut V, e: &Expr) {
    match &e.kind {
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Bool(_)
        | ExprKind::Str(_)
        | ExprKind::Unit
        | ExprKind::Local(_)
        | ExprKind::Fn { .. }
        | ExprKind::Secret(_)
        | ExprKind::Store(_)
        | ExprKind::Break
        | ExprKind::Continue
        | ExprKind::Error => {}
        ExprKind::Interpolate(es)
        | ExprKind::List(es)
        | ExprKind::Tuple(es)
        | ExprKind::Record { fields: es, .. }
        | ExprKind::Construct { args: es, .. }
        | ExprKind::Call { args: es, .. } => es.iter().for_each(|e| v.expr(e)),
        ExprKind::RecordUpdate { base, fields } => {
            v.expr(base);
            fields.iter().for_each(|(_, e)| v.expr(e));
        }
        ExprKind::Field { target: e, .. }
        | ExprKind::Unary { operand: e, .. }
        | ExprKind::Try(e)
        | ExprKind::Return(e)
        | ExprKind::Lambda { body: e, .. } => v.expr(e),
        ExprKind::CallValue { callee, args } => {
            v.expr(callee);
            args.iter().for_each(|e| v.expr(e));
        }
        ExprKind::Binary { lhs, rhs, .. } => {
            v.expr(lhs);
            v.expr(rhs);
        }
        ExprKind::If { cond, then, else_ } => {
            v.expr(cond);
            v.expr(then);
            if let Some(e) = else_ {
                v.expr(e);
            }
        }
        ExprKind::Match { scrutinee, arms } => {
            v.expr(scrutinee);
            for arm in arms {
                v.pattern(&arm.pattern);
                if let Some(g) = &arm.guard {
                    v.expr(g);
                }
                v.expr(&arm.body);
            }
        }
        ExprKind::Block { stmts, value } => {
            for s in stmts {
                v.stmt(s);
            }
            if let Some(e) = value {
                v.expr(e);
            }
        }
    }
}

pub fn walk_stmt<V: Visitor + ?Sized>(v: &mut V, s: &Stmt) {
    match s {
        Stmt::Let { pattern, value } => {
            v.expr(value);
            v.pattern(pattern);
        }
        Stmt::Assign { value, .. } => v.expr(value),
        Stmt::For { pattern, iter, body } => {
            v.expr(iter);
            v.pattern(pattern);
            v.expr(body);
        }
        Stmt::While { cond, body } => {
            v.expr(cond);
            v.expr(body);
        }
        Stmt::Assert { cond, .. } => v.expr(cond),
        Stmt::Expr(e) => v.expr(e),
    }
}

pub fn walk_pattern<V: Visitor + ?Sized>(v: &mut V, p: &Pattern) {
    match &p.kind {
        PatternKind::Construct { args: ps, .. } | PatternKind::Tuple(ps) | PatternKind::List { items: ps, .. } => {
            ps.iter().for_each(|p| v.pattern(p))
        }
        PatternKind::Wildcard | PatternKind::Bind(_) | PatternKind::Literal(_) | PatternKind::Error => {}
    }
}

/// Applies `f` to every type stored in a body (expressions, patterns,
/// locals, type arguments): how the checker writes back solved types.
pub fn map_types(body: &mut Body, f: &mut dyn FnMut(&mut Type)) {
    for local in &mut body.locals {
        f(&mut local.ty);
    }
    map_expr_types(&mut body.value, f);
}

fn map_expr_types(e: &mut Expr, f: &mut dyn FnMut(&mut Type)) {
    f(&mut e.ty);
    let each = |es: &mut [Expr], f: &mut dyn FnMut(&mut Type)| {
        for e in es {
            map_expr_types(e, f);
        }
    };
    match &mut e.kind {
        ExprKind::Fn { type_args, .. } => type_args.iter_mut().for_each(&mut *f),
        ExprKind::Call { type_args, args, .. } => {
            type_args.iter_mut().for_each(&mut *f);
            each(args, f);
        }
        ExprKind::Interpolate(es)
        | ExprKind::List(es)
        | ExprKind::Tuple(es)
        | ExprKind::Record { fields: es, .. }
        | ExprKind::Construct { args: es, .. } => each(es, f),
        ExprKind::RecordUpdate { base, fields } => {
            map_expr_types(base, f);
            fields.iter_mut().for_each(|(_, e)| map_expr_types(e, f));
        }
        ExprKind::Field { target: e, .. }
        | ExprKind::Unary { operand: e, .. }
        | ExprKind::Try(e)
        | ExprKind::Return(e)
        | ExprKind::Lambda { body: e, .. } => map_expr_types(e, f),
        ExprKind::CallValue { callee, args } => {
            map_expr_types(callee, f);
            each(args, f);
        }
        ExprKind::Binary { lhs, rhs, .. } => {
            map_expr_types(lhs, f);
            map_expr_types(rhs, f);
        }
        ExprKind::If { cond, then, else_ } => {
            map_expr_types(cond, f);
            map_expr_types(then, f);
            if let Some(e) = else_ {
                map_expr_types(e, f);
            }
        }
        ExprKind::Match { scrutinee, arms } => {
            map_expr_types(scrutinee, f);
            for arm in arms {
                map_pattern_types(&mut arm.pattern, f);
                if let Some(g) = &mut arm.guard {
                    map_expr_types(g, f);
                }
                map_expr_types(&mut arm.body, f);
            }
        }
        ExprKind::Block { stmts, value } => {
            for s in stmts {
                match s {
                    Stmt::Let { pattern, value } => {
                        map_pattern_types(pattern, f);
                        map_expr_types(value, f);
                    }
                    Stmt::Assign { value, .. } | Stmt::Assert { cond: value, .. } | Stmt::Expr(value) => {
                        map_expr_types(value, f)
                    }
                    Stmt::For { pattern, iter, body } => {
                        map_pattern_types(pattern, f);
                        map_expr_types(iter, f);
                        map_expr_types(body, f);
                    }
                    Stmt::While { cond, body } => {
                        map_expr_types(cond, f);
                        map_expr_types(body, f);
                    }
                }
            }
            if let Some(e) = value {
                map_expr_types(e, f);
            }
        }
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Bool(_)
        | ExprKind::Str(_)
        | ExprKind::Unit
        | ExprKind::Local(_)
        | ExprKind::Secret(_)
        | ExprKind::Store(_)
        | ExprKind::Break
        | ExprKind::Continue
        | ExprKind::Error => {}
    }
}

fn map_pattern_types(p: &mut Pattern, f: &mut dyn FnMut(&mut Type)) {
    f(&mut p.ty);
    match &mut p.kind {
        PatternKind::Construct { args: ps, .. } | PatternKind::Tuple(ps) | PatternKind::List { items: ps, .. } => {
            ps.iter_mut().for_each(|p| map_pattern_types(p, f))
        }
        PatternKind::Wildcard | PatternKind::Bind(_) | PatternKind::Literal(_) | PatternKind::Error => {}
    }
}
