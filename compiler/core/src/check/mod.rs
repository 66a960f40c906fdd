//! The checker: from parsed modules to the typed program and its manifest.
//!
//! It runs in passes over all modules at once (the stdlib's and the
//! program's): collect type names, resolve type definitions, collect
//! function signatures and the program's stores, secrets and entry points
//! (`decls`), check every body with inference (`body`), then solve what was
//! deferred and write solved types back (`finish`), check patterns
//! (`patterns`), keep the functions for tests out of everything but tests
//! (`test_only`) and infer store effects into the manifest (`effects`).

mod body;
mod decls;
mod effects;
mod finish;
mod patterns;
mod test_only;
pub mod typed;
pub mod types;

use std::collections::HashMap;
use std::rc::Rc;

use crate::diagnostic::{Code, Diagnostic, closest};
use crate::manifest::Manifest;
use crate::source::Span;
use crate::syntax::ast;
use typed::{FnId, Generic, SecretId, StoreAccess, StoreId};
use types::{Mismatch, Type, TypeDefs, TypeId, Unifier};

/// One parsed file handed to the checker.
pub struct ParsedModule {
    /// The stdlib module's name (`List`); `None` for the prelude and the
    /// user's program, whose names are global.
    pub name: Option<String>,
    pub ast: ast::Module,
    pub is_stdlib: bool,
    /// Where the parser reported errors: the checker avoids judging what
    /// the parser may have dropped.
    pub syntax_errors: Vec<Span>,
}

pub struct Checked {
    pub program: Option<typed::Program>,
    pub manifest: Option<Manifest>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Checks the stdlib modules and the program together. The prelude must be
/// the first module and the program the last.
pub fn check(modules: &[ParsedModule]) -> Checked {
    let mut checker = Checker::new(modules);
    checker.collect_declarations();
    checker.check_bodies();
    let program = checker.finish();
    // A `match` whose broken arms the parser dropped would look non-exhaustive.
    let judge_coverage = modules.iter().all(|m| m.syntax_errors.is_empty());
    patterns::check(&program, judge_coverage, &mut checker.diagnostics);
    test_only::check(&program, &mut checker.diagnostics);
    let manifest = effects::manifest(&program);
    Checked { program: Some(program), manifest: Some(manifest), diagnostics: checker.diagnostics }
}

/// A function's signature, known before any body is checked.
struct FnSig {
    name: String,
    module: usize,
    generics: Vec<Generic>,
    params: Vec<(ast::Ident, Type)>,
    /// A variable until the body is checked when the return type is omitted.
    ret: Type,
    store_access: Option<StoreAccess>,
    /// `@test_only`: callable only in a `test` body (`App`, `Time.advance`).
    test_only: bool,
    /// `@private`: a helper of the standard library, which the program
    /// cannot reach.
    private: bool,
    decl: (usize, usize),
    state: BodyState,
    span: Span,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyState {
    Unchecked,
    InProgress,
    Done,
}

struct StoreInfo {
    name: String,
    value: Type,
    indexes: Vec<typed::StoreIndex>,
    span: Span,
}

/// A `type` name: a record or enum, or an alias resolved on first use.
#[derive(Clone)]
enum TypeName {
    Def(TypeId),
    Alias { module: usize, item: usize, state: AliasState },
}

#[derive(Clone)]
enum AliasState {
    Unresolved,
    Resolving,
    Resolved(Vec<Rc<str>>, Type),
}

/// A check that needs solved types, run after every body is checked.
enum Deferred {
    /// Operands of `+ - * / %` and unary `-`: Int or Float.
    Numeric { ty: Type, span: Span, op: &'static str },
    /// Operands of `++`: String or List.
    Concat { ty: Type, span: Span },
    /// Operands of `==`, `<`, …: no functions inside.
    Comparable { ty: Type, span: Span, op: &'static str },
    /// A type argument with the `Json` bound, or a value that must be
    /// encodable (a route's result).
    Json { ty: Type, span: Span, what: JsonUse, json_params: Vec<bool> },
    /// A statement's value, dropped: not a `Response` or a `Result`
    /// (`in_route`: where `return` would answer with it).
    Dropped { ty: Type, span: Span, in_route: bool },
}

enum JsonUse {
    /// The type parameter `generic` of the call of `callee`.
    TypeArg { callee: String, generic: String },
    RouteResult,
}

struct Checker<'a> {
    modules: &'a [ParsedModule],
    diagnostics: Vec<Diagnostic>,
    types: TypeDefs,
    /// The types the program sees by name.
    type_names: HashMap<String, TypeName>,
    /// Types of the standard library's modules that a program type of the
    /// same name hides from the program; the standard library still sees
    /// them, so a new library type never breaks a program that had the name.
    shadowed: HashMap<String, TypeName>,
    /// Where each record or enum was declared, for "did you mean" and spans.
    constructors: HashMap<String, (TypeId, usize)>,
    unifier: Unifier,
    fns: Vec<FnSig>,
    bodies: Vec<Option<typed::Body>>,
    /// Per module: its functions by name.
    module_fns: Vec<HashMap<String, FnId>>,
    module_by_name: HashMap<String, usize>,
    stores: Vec<StoreInfo>,
    store_names: HashMap<String, StoreId>,
    secrets: Vec<typed::Secret>,
    cors: Vec<String>,
    /// Where the `cors` declaration is, once one is seen.
    cors_span: Option<Span>,
    secret_names: HashMap<String, SecretId>,
    routes: Vec<typed::Route>,
    crons: Vec<typed::Cron>,
    tests: Vec<typed::Test>,
    main: Option<FnId>,
    deferred: Vec<Deferred>,
    /// Well-known stdlib types, found by name after collection.
    known: Known,
}

#[derive(Default)]
struct Known {
    option: Option<TypeId>,
    result: Option<TypeId>,
    response: Option<TypeId>,
    request: Option<TypeId>,
}

impl<'a> Checker<'a> {
    fn new(modules: &'a [ParsedModule]) -> Checker<'a> {
        let module_by_name =
            modules.iter().enumerate().filter_map(|(i, m)| m.name.clone().map(|n| (n, i))).collect();
        Checker {
            modules,
            diagnostics: Vec::new(),
            types: TypeDefs::default(),
            type_names: HashMap::new(),
            shadowed: HashMap::new(),
            constructors: HashMap::new(),
            unifier: Unifier::default(),
            fns: Vec::new(),
            bodies: Vec::new(),
            module_fns: vec![HashMap::new(); modules.len()],
            module_by_name,
            stores: Vec::new(),
            store_names: HashMap::new(),
            secrets: Vec::new(),
            cors: Vec::new(),
            cors_span: None,
            secret_names: HashMap::new(),
            routes: Vec::new(),
            crons: Vec::new(),
            tests: Vec::new(),
            main: None,
            deferred: Vec::new(),
            known: Known::default(),
        }
    }

    fn user_module(&self) -> usize {
        self.modules.len() - 1
    }

    /// What `name` means as a type in `module`.
    fn type_name(&self, module: usize, name: &str) -> Option<&TypeName> {
        if self.sees_shadowed(module, name) { self.shadowed.get(name) } else { self.type_names.get(name) }
    }

    /// Whether `name` in `module` is a library type the program shadows
    /// (the standard library still sees its own).
    fn sees_shadowed(&self, module: usize, name: &str) -> bool {
        module != self.user_module() && self.shadowed.contains_key(name)
    }

    fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn show(&self, ty: &Type) -> String {
        self.types.show(&self.unifier.resolve(ty))
    }

    /// Unifies `found` with `expected`, reporting a mismatch at `span`.
    fn expect(&mut self, expected: &Type, found: &Type, span: Span) -> bool {
        match self.unifier.unify(expected, found) {
            Ok(()) => true,
            Err(Mismatch::Shape) => {
                let (e, f) = (self.show(expected), self.show(found));
                let mut d = Diagnostic::error(Code::TypeMismatch, "mismatched types")
                    .label(span, format!("expected `{e}`, found `{f}`"));
                if let Some(hint) = conversion_hint(&e, &f) {
                    d = d.hint(hint);
                } else if self.is_named(&self.unifier.shallow(expected), self.known.response)
                    && self.types.not_json(&self.unifier.resolve(found), &|_| true).is_none()
                {
                    d = d.hint("answer with it as JSON: `json(value)` (once a route answers a `Response` anywhere, every answer must be one)");
                }
                self.error(d);
                false
            }
            Err(Mismatch::Infinite) => {
                let (e, f) = (self.show(expected), self.show(found));
                self.error(
                    Diagnostic::error(Code::InfiniteType, "this type would have to contain itself")
                        .label(span, format!("`{f}` cannot be the same type as `{e}`"))
                        .hint("add type annotations to say which type you mean"),
                );
                false
            }
        }
    }

    /// The function `name` as seen from `module`: the module's own, then the
    /// prelude's.
    fn lookup_fn(&self, module: usize, name: &str) -> Option<FnId> {
        self.module_fns[module].get(name).copied().or_else(|| self.module_fn(module, 0, name))
    }

    /// The function `name` of `module` as reached from `from` (`M.f`, a
    /// method, a prelude function): `None` if it has none, or a private one
    /// and `from` is the program (private functions are the stdlib's own).
    fn module_fn(&self, from: usize, module: usize, name: &str) -> Option<FnId> {
        let id = *self.module_fns[module].get(name)?;
        (!self.fns[id.0 as usize].private || from != self.user_module()).then_some(id)
    }

    /// Functions visible by plain name from `module`, for "did you mean".
    fn visible_fn_names(&self, module: usize) -> Vec<&str> {
        let prelude = self.module_fns[0].keys().filter(|name| self.module_fn(module, 0, name).is_some());
        self.module_fns[module].keys().chain(prelude).map(String::as_str).collect()
    }

    /// The stdlib module holding the functions of a type (`List` for
    /// `List<Int>`), which method calls `x.f()` search.
    fn module_of(&self, ty: &Type) -> Option<usize> {
        let name = match ty {
            Type::Int => "Int",
            Type::Float => "Float",
            Type::String => "String",
            Type::List(_) => "List",
            Type::Dict(_) => "Dict",
            Type::Store(_) => "Store",
            Type::Named(id, _) => match self.types.get(*id).name.as_str() {
                n @ ("Option" | "Result" | "Request" | "Response") => n,
                _ => return None,
            },
            _ => return None,
        };
        self.module_by_name.get(name).copied()
    }

    fn result(&self, t: Type, e: Type) -> Type {
        self.known.result.map_or(Type::Error, |id| Type::Named(id, vec![t, e]))
    }

    fn is_named(&self, ty: &Type, known: Option<TypeId>) -> bool {
        matches!(ty, Type::Named(id, _) if Some(*id) == known)
    }

    /// "did you mean `x`?" for a name among candidates.
    fn did_you_mean<'n>(name: &str, candidates: impl IntoIterator<Item = &'n str>) -> Option<String> {
        closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
    }
}

/// A hint for the common mix-ups between scalar types.
fn conversion_hint(expected: &str, found: &str) -> Option<&'static str> {
    Some(match (expected, found) {
        ("Float", "Int") => "Int and Float never mix implicitly: convert with `Int.to_float(n)` or write `1.0`",
        ("Int", "Float") => "Int and Float never mix implicitly: convert with `Float.to_int(x)` or `Float.round(x)`",
        ("String", "Int") => "turn a number into text with `Int.to_string(n)` or interpolation `\"{n}\"`",
        ("String", "Float") => "turn a number into text with `Float.to_string(x)` or interpolation `\"{x}\"`",
        ("Int", "String") => "parse text with `String.to_int(s)`, which returns an `Option<Int>`",
        _ => return None,
    })
}
