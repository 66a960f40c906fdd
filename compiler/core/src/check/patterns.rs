//! Pattern checks on the typed tree: `match` must be exhaustive (E0400),
//! `let` and `for` patterns must be irrefutable (E0401), and arms no value
//! can reach are reported (W0402). The algorithm is Maranget's usefulness
//! ("Warnings for pattern matching", JFP 2007), with a step budget so that
//! adversarial patterns cannot make the checker hang.

use super::typed::{Expr, ExprKind, Pattern, PatternKind, Program, Stmt, Visitor, walk_expr, walk_stmt};
use super::types::{Type, TypeDefKind, TypeDefs};
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::ast::Literal;

/// `judge_coverage` is false when syntax errors may have dropped arms.
pub fn check(program: &Program, judge_coverage: bool, diagnostics: &mut Vec<Diagnostic>) {
    let mut checker = PatternChecker { types: &program.types, judge_coverage, diagnostics };
    let bodies = program
        .functions
        .iter()
        .filter_map(|f| f.body.as_ref())
        .chain(program.routes.iter().map(|r| &r.body))
        .chain(program.crons.iter().map(|c| &c.body))
        .chain(program.tests.iter().map(|t| &t.body));
    for body in bodies {
        checker.expr(&body.value);
    }
}

struct PatternChecker<'a> {
    types: &'a TypeDefs,
    judge_coverage: bool,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl Visitor for PatternChecker<'_> {
    fn expr(&mut self, e: &Expr) {
        if let ExprKind::Match { scrutinee, arms } = &e.kind {
            self.check_match(scrutinee, arms);
        }
        walk_expr(self, e);
    }

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Let { pattern, .. } => self.check_irrefutable(pattern, "let"),
            Stmt::For { pattern, .. } => self.check_irrefutable(pattern, "for"),
            _ => {}
        }
        walk_stmt(self, s);
    }
}

impl PatternChecker<'_> {
    fn check_match(&mut self, scrutinee: &Expr, arms: &[super::typed::Arm]) {
        // A pattern with errors is already reported; judging coverage with it would mislead.
        if arms.iter().any(|a| has_error(&a.pattern)) || scrutinee.ty.has_error() {
            return;
        }
        let mut space = Space { types: self.types, budget: BUDGET };
        let mut rows: Vec<Vec<Pat>> = Vec::new();
        for arm in arms {
            let pat = space.lower(&arm.pattern);
            let ty = [arm.pattern.ty.clone()];
            if space.useful(&rows, std::slice::from_ref(&pat), &ty).is_none() && space.budget > 0 {
                self.diagnostics.push(
                    Diagnostic::warning(Code::UnreachableArm, "unreachable match arm")
                        .label(arm.pattern.span, "no value reaches this arm")
                        .hint("the arms above already match every value this pattern matches; remove it or move it up"),
                );
            }
            if arm.guard.is_none() {
                rows.push(vec![pat]);
            }
        }
        let ty = [scrutinee.ty.clone()];
        if let Some(witness) = space.useful(&rows, &[Pat::Wild], &ty)
            && space.budget > 0
            && self.judge_coverage
        {
            let missing = space.show(&witness[0]);
            let mut d = Diagnostic::error(Code::NonExhaustive, format!("this `match` does not cover `{missing}`"))
                .label(scrutinee.span, format!("`{missing}` is not matched"));
            d = if arms.iter().any(|a| a.guard.is_some()) {
                d.hint(format!("arms with `if` guards do not count as covering; add an arm for `{missing}` or `_ => …`"))
            } else {
                if missing == "_" {
                    d.hint("add an arm `_ => …` for the values the other arms leave out")
                } else {
                    d.hint(format!("add an arm `{missing} => …`, or `_ => …` for every other value"))
                }
            };
            self.diagnostics.push(d);
        }
    }

    fn check_irrefutable(&mut self, pattern: &Pattern, keyword: &str) {
        if has_error(pattern) {
            return;
        }
        let mut space = Space { types: self.types, budget: BUDGET };
        let row = vec![space.lower(pattern)];
        if let Some(witness) = space.useful(&[row], &[Pat::Wild], std::slice::from_ref(&pattern.ty))
            && space.budget > 0
        {
            let missing = space.show(&witness[0]);
            self.diagnostics.push(
                Diagnostic::error(Code::RefutablePattern, format!("this `{keyword}` pattern does not match every value"))
                    .label(pattern.span, format!("`{missing}` is not matched"))
                    .hint("use `match` to handle every case"),
            );
        }
    }
}

/// Usefulness steps allowed per check; beyond it the check gives up
/// silently (no false errors) rather than run for a long time.
const BUDGET: usize = 200_000;

#[derive(Clone, Debug, PartialEq)]
enum Pat {
    Wild,
    Ctor(Ctor, Vec<Pat>),
}

#[derive(Clone, Debug, PartialEq)]
enum Ctor {
    Variant(usize, String),
    Bool(bool),
    Tuple(usize),
    Nil,
    Cons,
    Literal(String),
}

struct Space<'a> {
    types: &'a TypeDefs,
    budget: usize,
}

impl Space<'_> {
    fn lower(&self, p: &Pattern) -> Pat {
        match &p.kind {
            PatternKind::Wildcard | PatternKind::Bind(_) | PatternKind::Error => Pat::Wild,
            PatternKind::Literal(Literal::Bool(b)) => Pat::Ctor(Ctor::Bool(*b), vec![]),
            PatternKind::Literal(Literal::Unit) => Pat::Ctor(Ctor::Tuple(0), vec![]),
            PatternKind::Literal(lit) => Pat::Ctor(Ctor::Literal(literal_text(lit)), vec![]),
            PatternKind::Construct { ty, variant, args } => {
                let name = self.types.get(*ty).variants()[*variant].0.clone();
                Pat::Ctor(Ctor::Variant(*variant, name), args.iter().map(|a| self.lower(a)).collect())
            }
            PatternKind::Tuple(items) => Pat::Ctor(Ctor::Tuple(items.len()), items.iter().map(|i| self.lower(i)).collect()),
            PatternKind::List { items, rest } => {
                let tail = if rest.is_some() { Pat::Wild } else { Pat::Ctor(Ctor::Nil, vec![]) };
                items.iter().rev().fold(tail, |tail, item| Pat::Ctor(Ctor::Cons, vec![self.lower(item), tail]))
            }
        }
    }

    /// Every constructor of `ty` with its field types, or `None` when the
    /// type has infinitely many values (numbers, strings) or only wildcards
    /// can match it (records, functions).
    fn signature(&self, ty: &Type) -> Option<Vec<(Ctor, Vec<Type>)>> {
        match ty {
            Type::Bool => Some(vec![(Ctor::Bool(false), vec![]), (Ctor::Bool(true), vec![])]),
            Type::Tuple(ts) => Some(vec![(Ctor::Tuple(ts.len()), ts.clone())]),
            Type::List(t) => Some(vec![(Ctor::Nil, vec![]), (Ctor::Cons, vec![(**t).clone(), ty.clone()])]),
            Type::Named(id, args) => match &self.types.get(*id).kind {
                TypeDefKind::Enum(variants) => Some(
                    variants
                        .iter()
                        .enumerate()
                        .map(|(i, (name, payload))| {
                            (Ctor::Variant(i, name.clone()), payload.iter().map(|t| t.instantiate(args)).collect())
                        })
                        .collect(),
                ),
                TypeDefKind::Record(_) => None,
            },
            _ => None,
        }
    }

    fn fields_of(&self, ty: &Type, ctor: &Ctor, arity: usize) -> Vec<Type> {
        self.signature(ty)
            .and_then(|sig| sig.into_iter().find(|(c, _)| c == ctor).map(|(_, ts)| ts))
            .unwrap_or_else(|| vec![Type::Error; arity])
    }

    /// A vector of values matched by `v` but by no row of `rows`, if any.
    fn useful(&mut self, rows: &[Vec<Pat>], v: &[Pat], tys: &[Type]) -> Option<Vec<Pat>> {
        if self.budget == 0 {
            return None;
        }
        self.budget -= 1;
        let Some((head, rest)) = v.split_first() else {
            return rows.is_empty().then(Vec::new);
        };
        let ty = tys.first().cloned().unwrap_or(Type::Error);
        match head {
            Pat::Ctor(ctor, args) => {
                let fields = self.fields_of(&ty, ctor, args.len());
                let w = self.useful_ctor(rows, ctor, args.len(), &fields, args, rest, &tys[1..])?;
                Some(w)
            }
            Pat::Wild => {
                let used: Vec<&Ctor> = rows
                    .iter()
                    .filter_map(|r| match r.first() {
                        Some(Pat::Ctor(c, _)) => Some(c),
                        _ => None,
                    })
                    .collect();
                let signature = self.signature(&ty);
                if let Some(sig) = &signature
                    && !used.is_empty()
                    && sig.iter().all(|(c, _)| used.contains(&c))
                {
                    for (ctor, fields) in sig {
                        let wilds = vec![Pat::Wild; fields.len()];
                        if let Some(w) = self.useful_ctor(rows, ctor, fields.len(), fields, &wilds, rest, &tys[1..]) {
                            return Some(w);
                        }
                    }
                    return None;
                }
                let default: Vec<Vec<Pat>> =
                    rows.iter().filter(|r| matches!(r.first(), Some(Pat::Wild))).map(|r| r[1..].to_vec()).collect();
                let mut w = self.useful(&default, rest, &tys[1..])?;
                let missing = match signature {
                    Some(sig) if !used.is_empty() => sig
                        .into_iter()
                        .find(|(c, _)| !used.contains(&c))
                        .map_or(Pat::Wild, |(c, fields)| Pat::Ctor(c, vec![Pat::Wild; fields.len()])),
                    _ => Pat::Wild,
                };
                w.insert(0, missing);
                Some(w)
            }
        }
    }

    /// Usefulness of `ctor(args) rest` against the rows specialised by `ctor`.
    #[allow(clippy::too_many_arguments)]
    fn useful_ctor(
        &mut self,
        rows: &[Vec<Pat>],
        ctor: &Ctor,
        arity: usize,
        fields: &[Type],
        args: &[Pat],
        rest: &[Pat],
        rest_tys: &[Type],
    ) -> Option<Vec<Pat>> {
        let specialised: Vec<Vec<Pat>> = rows
            .iter()
            .filter_map(|r| match r.first() {
                Some(Pat::Ctor(c, sub)) if c == ctor => Some(sub.iter().chain(&r[1..]).cloned().collect()),
                Some(Pat::Wild) => Some(std::iter::repeat_n(Pat::Wild, arity).chain(r[1..].iter().cloned()).collect()),
                _ => None,
            })
            .collect();
        let v: Vec<Pat> = args.iter().chain(rest).cloned().collect();
        let tys: Vec<Type> = fields.iter().chain(rest_tys).cloned().collect();
        let mut w = self.useful(&specialised, &v, &tys)?;
        let rest_w = w.split_off(arity.min(w.len()));
        let mut out = vec![Pat::Ctor(ctor.clone(), w)];
        out.extend(rest_w);
        Some(out)
    }

    /// A witness as Distlang source.
    fn show(&self, p: &Pat) -> String {
        match p {
            Pat::Wild => "_".into(),
            Pat::Ctor(Ctor::Bool(b), _) => b.to_string(),
            Pat::Ctor(Ctor::Literal(s), _) => s.clone(),
            Pat::Ctor(Ctor::Tuple(0), _) => "()".into(),
            Pat::Ctor(Ctor::Tuple(_), items) => {
                format!("({})", items.iter().map(|i| self.show(i)).collect::<Vec<_>>().join(", "))
            }
            Pat::Ctor(Ctor::Variant(_, name), args) if args.is_empty() => name.clone(),
            Pat::Ctor(Ctor::Variant(_, name), args) => {
                format!("{name}({})", args.iter().map(|a| self.show(a)).collect::<Vec<_>>().join(", "))
            }
            Pat::Ctor(Ctor::Nil | Ctor::Cons, _) => {
                let mut items = Vec::new();
                let mut node = p;
                loop {
                    match node {
                        Pat::Ctor(Ctor::Cons, parts) if parts.len() == 2 => {
                            items.push(self.show(&parts[0]));
                            node = &parts[1];
                        }
                        Pat::Ctor(Ctor::Nil, _) => break,
                        _ => {
                            items.push("..".into());
                            break;
                        }
                    }
                }
                format!("[{}]", items.join(", "))
            }
        }
    }
}

fn literal_text(lit: &Literal) -> String {
    match lit {
        Literal::Int(n) => n.to_string(),
        Literal::Float(x) => format!("{x:?}"),
        Literal::Str(s) => format!("{s:?}"),
        Literal::Bool(b) => b.to_string(),
        Literal::Unit => "()".into(),
    }
}

fn has_error(p: &Pattern) -> bool {
    p.ty.has_error()
        || match &p.kind {
            PatternKind::Error => true,
            PatternKind::Construct { args: ps, .. } | PatternKind::Tuple(ps) | PatternKind::List { items: ps, .. } => {
                ps.iter().any(has_error)
            }
            PatternKind::Wildcard | PatternKind::Bind(_) | PatternKind::Literal(_) => false,
        }
}
