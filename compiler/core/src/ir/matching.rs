//! `match` compiled to a decision tree: each value is tested at most once on
//! every path (a `switch` on an enum's tag, an `if` on a literal or a list's
//! length), the tree's leaves pick an arm, and the arms' bodies follow, each
//! emitted once.
//!
//! The tree is built from a matrix of rows (one per arm, in order), each a
//! list of tests "the value at this path matches this pattern", as in
//! Maranget's *Compiling pattern matching to good decision trees* (2008),
//! taking the first row's first test as the next one to make.

use std::collections::HashMap;

use super::lower::FnBuilder;
use super::*;
use crate::check::typed::{Arm, LocalId, Pattern, PatternKind};
use crate::check::types::Type;
use crate::source::Span;
use crate::syntax::ast::{BinaryOp as AstOp, Literal};

/// Beyond this many leaves, a match is reported instead of compiled.
const MAX_LEAVES: usize = 20_000;

/// Where a value sits inside the scrutinee.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Step {
    /// A word of an object: a tuple's field `i` or an enum's payload `i + 1`.
    Word(u32),
    /// A list's element.
    Item(u32),
    /// A list without its first `n` elements.
    Rest(u32),
}

type Path = Vec<Step>;

#[derive(Clone)]
struct Row<'t> {
    tests: Vec<(Path, &'t Pattern)>,
    binds: Vec<(LocalId, Path)>,
    arm: usize,
}

struct Match<'t> {
    arms: &'t [Arm],
    arm_var: VarId,
    decided: Label,
    loc: Operand,
    span: Span,
    leaves: usize,
}

/// What a `match` examines.
pub(super) enum Scrutinee {
    Value(Operand),
    /// A tuple written in place, as its fields' values (never built).
    Fields(Vec<Operand>),
}

pub(super) fn lower_match(
    fb: &mut FnBuilder,
    scrutinee: Scrutinee,
    arms: &[Arm],
    result_ty: &Type,
    span: Span,
) -> Operand {
    let arm_var = fb.new_var("arm", &Type::Int);
    let decided = fb.label();
    let loc = fb.loc(span);
    let mut m = Match { arms, arm_var, decided, loc, span, leaves: 0 };
    let rows = arms.iter().enumerate().map(|(arm, a)| Row { tests: vec![(Vec::new(), &a.pattern)], binds: Vec::new(), arm }).collect();
    let mut values = HashMap::new();
    match scrutinee {
        Scrutinee::Value(value) => {
            values.insert(Vec::new(), value);
        }
        Scrutinee::Fields(fields) => {
            for (i, field) in fields.into_iter().enumerate() {
                values.insert(vec![Step::Word(i as u32)], field);
            }
        }
    }
    let tree = fb.block(|fb| compile(fb, &mut m, rows, values));
    fb.emit(Stmt::Block { label: decided, body: tree });

    let result = fb.new_var("", result_ty);
    let mut cases = Vec::new();
    for (k, arm) in arms.iter().enumerate() {
        let body = fb.block(|fb| {
            let v = fb.expr(&arm.body);
            fb.emit(Stmt::Let(result, Rvalue::Use(v)));
        });
        cases.push((k as i64, body));
    }
    let default = vec![Stmt::Fail { kind: FailKind::Unreachable, loc: m.loc }];
    fb.emit(Stmt::Switch { on: Operand::Var(arm_var), cases, default });
    Operand::Var(result)
}

fn compile<'t>(fb: &mut FnBuilder, m: &mut Match<'t>, mut rows: Vec<Row<'t>>, mut values: HashMap<Path, Operand>) {
    m.leaves += 1;
    if m.leaves > MAX_LEAVES {
        if m.leaves == MAX_LEAVES + 1 {
            fb.lw.unsupported(m.span, "a `match` this complex (split it into smaller ones)");
        }
        return;
    }
    for row in &mut rows {
        normalize(fb, row, &mut values);
    }
    let Some(first) = rows.first() else {
        fb.emit(Stmt::Fail { kind: FailKind::Unreachable, loc: m.loc.clone() });
        return;
    };
    let Some((path, pattern)) = first.tests.first().cloned() else {
        leaf(fb, m, rows, values);
        return;
    };
    let value = values[&path].clone();
    match &pattern.kind {
        PatternKind::Construct { .. } => {
            let tag = fb.load(value, 0, &Type::Int);
            let mut variants = Vec::new();
            for row in &rows {
                if let Some(PatternKind::Construct { variant, .. }) = test_at(row, &path).map(|p| &p.kind)
                    && !variants.contains(variant)
                {
                    variants.push(*variant);
                }
            }
            let mut cases = Vec::new();
            for &variant in &variants {
                let mut values = values.clone();
                let payload = fb.variant_types(&pattern.ty, variant);
                let rows = specialize(&rows, &path, |p| match &p.kind {
                    PatternKind::Construct { variant: v, args, .. } if *v == variant => Some(
                        args.iter().enumerate().map(|(i, a)| (child(&path, Step::Word(1 + i as u32)), a)).collect(),
                    ),
                    _ => None,
                });
                let body = fb.block(|fb| {
                    for (i, ty) in payload.iter().enumerate() {
                        let field = fb.load(values[&path].clone(), 1 + i as u32, ty);
                        values.insert(child(&path, Step::Word(1 + i as u32)), field);
                    }
                    compile(fb, m, rows, values.clone());
                });
                cases.push((variant as i64, body));
            }
            let all_covered = variants.len() >= fb.variant_count(&pattern.ty);
            let default = if all_covered {
                vec![Stmt::Fail { kind: FailKind::Unreachable, loc: m.loc.clone() }]
            } else {
                let rest: Vec<Row> = rows.iter().filter(|r| test_at(r, &path).is_none()).cloned().collect();
                fb.block(|fb| compile(fb, m, rest, values.clone()))
            };
            fb.emit(Stmt::Switch { on: tag, cases, default });
        }
        PatternKind::Literal(literal) => {
            let literal = literal.clone();
            let constant = literal_operand(fb, &literal);
            let cond = fb.compare(AstOp::Eq, value, constant, &literal.ir_type(), m.loc.clone());
            let same = |p: &Pattern| matches!(&p.kind, PatternKind::Literal(l) if same_literal(l, &literal));
            let then_rows = specialize(&rows, &path, |p| same(p).then(Vec::new));
            let else_rows: Vec<Row> = rows.iter().filter(|r| !test_at(r, &path).is_some_and(same)).cloned().collect();
            let then = fb.block(|fb| compile(fb, m, then_rows, values.clone()));
            let else_ = fb.block(|fb| compile(fb, m, else_rows, values.clone()));
            fb.emit(Stmt::If { cond, then, else_ });
        }
        PatternKind::List { items, rest } => {
            let (n, has_rest) = (items.len(), rest.is_some());
            let shape = |p: &Pattern| matches!(&p.kind, PatternKind::List { items, rest } if items.len() == n && rest.is_some() == has_rest);
            let len = fb.assign(&Type::Int, Rvalue::ListLen(value.clone()));
            let op = if has_rest { BinaryOp::IntGe } else { BinaryOp::IntEq };
            let cond = fb.assign(&Type::Bool, Rvalue::Binary { op, lhs: len.clone(), rhs: Operand::Const(Const::Int(n as i64)), loc: m.loc.clone() });
            // Rows of another shape keep their test: it is made again below.
            let then_rows: Vec<Row> = rows
                .iter()
                .map(|row| match test_index(row, &path) {
                    Some(i) if shape(row.tests[i].1) => {
                        let mut row = row.clone();
                        let (_, p) = row.tests.remove(i);
                        if let PatternKind::List { items, rest } = &p.kind {
                            for (j, item) in items.iter().enumerate() {
                                row.tests.push((child(&path, Step::Item(j as u32)), item));
                            }
                            if let Some(Some(local)) = rest {
                                row.binds.push((*local, child(&path, Step::Rest(n as u32))));
                            }
                        }
                        row
                    }
                    _ => row.clone(),
                })
                .collect();
            let else_rows: Vec<Row> = rows.iter().filter(|r| !test_at(r, &path).is_some_and(shape)).cloned().collect();
            let list_ty = pattern.ty.clone();
            let elem = match fb.concrete(&list_ty) {
                Type::List(elem) => *elem,
                _ => Type::UNIT,
            };
            let then = fb.block(|fb| {
                let mut values = values.clone();
                for j in 0..n {
                    let item = fb.assign(&elem, Rvalue::ListItem { list: value.clone(), index: Operand::Const(Const::Int(j as i64)) });
                    values.insert(child(&path, Step::Item(j as u32)), item);
                }
                if has_rest {
                    let start = Operand::Const(Const::Int(n as i64));
                    let rest = fb.list_slice(value.clone(), start, len.clone(), &list_ty, m.span);
                    values.insert(child(&path, Step::Rest(n as u32)), rest);
                }
                compile(fb, m, then_rows, values);
            });
            let else_ = fb.block(|fb| compile(fb, m, else_rows, values.clone()));
            fb.emit(Stmt::If { cond, then, else_ });
        }
        // `normalize` removed every irrefutable test.
        _ => {}
    }
}

/// Turns irrefutable tests into bindings (or nothing) and splits tuples
/// into tests on their fields, loading those fields.
fn normalize<'t>(fb: &mut FnBuilder, row: &mut Row<'t>, values: &mut HashMap<Path, Operand>) {
    let mut i = 0;
    while i < row.tests.len() {
        let (path, pattern) = row.tests[i].clone();
        match &pattern.kind {
            PatternKind::Wildcard | PatternKind::Error | PatternKind::Literal(Literal::Unit) => {
                row.tests.remove(i);
            }
            PatternKind::Bind(local) => {
                row.binds.push((*local, path));
                row.tests.remove(i);
            }
            PatternKind::Tuple(items) => {
                row.tests.remove(i);
                for (j, item) in items.iter().enumerate() {
                    let path = child(&path, Step::Word(j as u32));
                    if !values.contains_key(&path) {
                        let parent = values[&row_parent(&path)].clone();
                        let field = fb.load(parent, j as u32, &item.ty);
                        values.insert(path.clone(), field);
                    }
                    row.tests.insert(i + j, (path, item));
                }
            }
            _ => i += 1,
        }
    }
}

/// The first row matched: bind its variables, check its guard, pick its arm.
fn leaf<'t>(fb: &mut FnBuilder, m: &mut Match<'t>, mut rows: Vec<Row<'t>>, values: HashMap<Path, Operand>) {
    let row = rows.remove(0);
    for (local, path) in &row.binds {
        let var = fb.local_var(*local);
        fb.emit(Stmt::Let(var, Rvalue::Use(values[path].clone())));
    }
    let choose = vec![Stmt::Let(m.arm_var, Rvalue::Use(Operand::Const(Const::Int(row.arm as i64)))), Stmt::Break(m.decided)];
    match &m.arms[row.arm].guard {
        None => choose.into_iter().for_each(|s| fb.emit(s)),
        Some(guard) => {
            let cond = fb.expr(guard);
            let else_ = fb.block(|fb| compile(fb, m, rows, values));
            fb.emit(Stmt::If { cond, then: choose, else_ });
        }
    }
}

fn child(path: &Path, step: Step) -> Path {
    let mut path = path.clone();
    path.push(step);
    path
}

fn row_parent(path: &Path) -> Path {
    path[..path.len() - 1].to_vec()
}

fn test_index(row: &Row, path: &Path) -> Option<usize> {
    row.tests.iter().position(|(p, _)| p == path)
}

fn test_at<'t>(row: &Row<'t>, path: &Path) -> Option<&'t Pattern> {
    test_index(row, path).map(|i| row.tests[i].1)
}

/// The rows that can still match once the value at `path` is known to match
/// a test: a row testing `path` is kept (with `matched`'s sub-tests in place
/// of that test) when `matched` accepts its pattern and dropped otherwise; a
/// row not testing `path` is kept as it is.
fn specialize<'t>(rows: &[Row<'t>], path: &Path, matched: impl Fn(&'t Pattern) -> Option<Vec<(Path, &'t Pattern)>>) -> Vec<Row<'t>> {
    rows.iter()
        .filter_map(|row| match test_index(row, path) {
            None => Some(row.clone()),
            Some(i) => matched(row.tests[i].1).map(|sub| {
                let mut row = row.clone();
                row.tests.splice(i..=i, sub);
                row
            }),
        })
        .collect()
}

fn literal_operand(fb: &mut FnBuilder, literal: &Literal) -> Operand {
    Operand::Const(match literal {
        Literal::Int(n) => Const::Int(*n),
        Literal::Float(x) => Const::Float(*x),
        Literal::Bool(b) => Const::Bool(*b),
        Literal::Str(s) => Const::Str(fb.lw.string(s)),
        Literal::Unit => Const::Unit,
    })
}

fn same_literal(a: &Literal, b: &Literal) -> bool {
    match (a, b) {
        (Literal::Int(x), Literal::Int(y)) => x == y,
        (Literal::Float(x), Literal::Float(y)) => x == y,
        (Literal::Str(x), Literal::Str(y)) => x == y,
        (Literal::Bool(x), Literal::Bool(y)) => x == y,
        (Literal::Unit, Literal::Unit) => true,
        _ => false,
    }
}
