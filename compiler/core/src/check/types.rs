//! Types and their inference: the [`Type`] representation shared with the
//! typed tree, user type definitions, and the unification table that
//! solves inference variables.

use std::fmt::Write as _;
use std::rc::Rc;

/// Index of a record or enum definition in [`TypeDefs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeId(pub u32);

/// A type. After checking, the typed tree holds no [`Type::Var`]; a
/// [`Type::Param`] is a generic parameter of the enclosing function (or, in
/// a [`TypeDef`], of the type being defined).
#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    Int,
    Float,
    Bool,
    String,
    List(Box<Type>),
    Dict(Box<Type>),
    /// A declared store holding values of this type; never a first-class value.
    Store(Box<Type>),
    /// `Unit` is the empty tuple.
    Tuple(Vec<Type>),
    /// A record or enum, with its type arguments.
    Named(TypeId, Vec<Type>),
    Fn(Vec<Type>, Box<Type>),
    /// A generic parameter: its index among the declaring item's
    /// parameters, and its name for messages.
    Param(u32, Rc<str>),
    /// An inference variable, solved by unification.
    Var(u32),
    /// The type of an erroneous expression: unifies with everything, so one
    /// mistake is reported once.
    Error,
}

impl Type {
    pub const UNIT: Type = Type::Tuple(Vec::new());

    pub fn is_unit(&self) -> bool {
        matches!(self, Type::Tuple(ts) if ts.is_empty())
    }

    /// Calls `f` on this type and every type inside it.
    pub fn any(&self, f: &mut impl FnMut(&Type) -> bool) -> bool {
        if f(self) {
            return true;
        }
        match self {
            Type::List(t) | Type::Dict(t) | Type::Store(t) => t.any(f),
            Type::Tuple(ts) | Type::Named(_, ts) => ts.iter().any(|t| t.any(f)),
            Type::Fn(ps, r) => ps.iter().any(|t| t.any(f)) || r.any(f),
            Type::Int | Type::Float | Type::Bool | Type::String | Type::Param(..) | Type::Var(_) | Type::Error => {
                false
            }
        }
    }

    pub fn has_error(&self) -> bool {
        self.any(&mut |t| matches!(t, Type::Error))
    }

    /// Replaces every `Param(i)` with `args[i]`.
    pub fn instantiate(&self, args: &[Type]) -> Type {
        if args.is_empty() {
            return self.clone();
        }
        self.map(&mut |t| match t {
            Type::Param(i, _) => args.get(*i as usize).cloned(),
            _ => None,
        })
    }

    /// Rebuilds the type bottom-up, replacing any node for which `f` answers.
    pub fn map(&self, f: &mut impl FnMut(&Type) -> Option<Type>) -> Type {
        if let Some(t) = f(self) {
            return t;
        }
        match self {
            Type::List(t) => Type::List(Box::new(t.map(f))),
            Type::Dict(t) => Type::Dict(Box::new(t.map(f))),
            Type::Store(t) => Type::Store(Box::new(t.map(f))),
            Type::Tuple(ts) => Type::Tuple(ts.iter().map(|t| t.map(f)).collect()),
            Type::Named(id, ts) => Type::Named(*id, ts.iter().map(|t| t.map(f)).collect()),
            Type::Fn(ps, r) => Type::Fn(ps.iter().map(|t| t.map(f)).collect(), Box::new(r.map(f))),
            other => other.clone(),
        }
    }
}

/// A record or enum declared with `type` (in the program or the stdlib).
#[derive(Clone, Debug)]
pub struct TypeDef {
    pub name: String,
    pub params: Vec<Rc<str>>,
    pub kind: TypeDefKind,
    /// Record fields mapped by `@json("key")` to a key that is not their name.
    pub json_keys: Vec<(String, String)>,
    /// Record fields with a default (`views: Int = 0`).
    pub defaults: Vec<FieldDefault>,
}

/// A record field's default: the constant as written (checked again where a
/// record literal leaves the field out) and as JSON text (what the runtime
/// reads where a JSON object or an older stored row lacks the field).
#[derive(Clone, Debug)]
pub struct FieldDefault {
    pub field: String,
    /// `None` for a default already reported as invalid.
    pub value: Option<crate::syntax::ast::Expr>,
    pub json: String,
}

#[derive(Clone, Debug)]
pub enum TypeDefKind {
    Record(Vec<(String, Type)>),
    Enum(Vec<(String, Vec<Type>)>),
}

impl TypeDef {
    /// The default of a record field, if it has one.
    pub fn default(&self, field: &str) -> Option<&FieldDefault> {
        self.defaults.iter().find(|d| d.field == field)
    }

    /// The key a record field has in JSON: its name unless `@json` maps it.
    pub fn json_key<'a>(&'a self, field: &'a str) -> &'a str {
        self.json_keys.iter().find(|(f, _)| f == field).map_or(field, |(_, key)| key)
    }

    pub fn fields(&self) -> &[(String, Type)] {
        match &self.kind {
            TypeDefKind::Record(fields) => fields,
            TypeDefKind::Enum(_) => &[],
        }
    }

    pub fn variants(&self) -> &[(String, Vec<Type>)] {
        match &self.kind {
            TypeDefKind::Enum(variants) => variants,
            TypeDefKind::Record(_) => &[],
        }
    }
}

/// All record and enum definitions, indexed by [`TypeId`]; the stdlib's
/// `Option`, `Result`, `Response` and `Request` among them.
#[derive(Clone, Debug, Default)]
pub struct TypeDefs {
    pub defs: Vec<TypeDef>,
}

impl TypeDefs {
    pub fn get(&self, id: TypeId) -> &TypeDef {
        &self.defs[id.0 as usize]
    }

    /// The type written as a user would write it; `_` for unsolved variables.
    pub fn show(&self, ty: &Type) -> String {
        let mut out = String::new();
        self.write(&mut out, ty);
        out
    }

    fn write(&self, out: &mut String, ty: &Type) {
        let list = |out: &mut String, ts: &[Type]| {
            for (i, t) in ts.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                self.write(out, t);
            }
        };
        match ty {
            Type::Int => out.push_str("Int"),
            Type::Float => out.push_str("Float"),
            Type::Bool => out.push_str("Bool"),
            Type::String => out.push_str("String"),
            Type::List(t) | Type::Dict(t) | Type::Store(t) => {
                out.push_str(match ty {
                    Type::List(_) => "List<",
                    Type::Dict(_) => "Dict<",
                    _ => "Store<",
                });
                self.write(out, t);
                out.push('>');
            }
            Type::Tuple(ts) if ts.is_empty() => out.push_str("Unit"),
            Type::Tuple(ts) => {
                out.push('(');
                list(out, ts);
                out.push(')');
            }
            Type::Named(id, args) => {
                out.push_str(&self.get(*id).name);
                if !args.is_empty() {
                    out.push('<');
                    list(out, args);
                    out.push('>');
                }
            }
            Type::Fn(params, ret) => {
                out.push_str("fn(");
                list(out, params);
                out.push_str(") -> ");
                self.write(out, ret);
            }
            Type::Param(_, name) => out.push_str(name),
            Type::Var(_) | Type::Error => out.push('_'),
        }
    }

    /// Whether values of this type can be JSON-encoded (and stored). A
    /// parameter qualifies when `json_param` says it carries the `Json` bound.
    /// Returns the offending part of the type when it does not.
    pub fn not_json(&self, ty: &Type, json_param: &dyn Fn(u32) -> bool) -> Option<Type> {
        let mut seen = Vec::new();
        self.not_json_inner(ty, json_param, &mut seen)
    }

    fn not_json_inner(&self, ty: &Type, json_param: &dyn Fn(u32) -> bool, seen: &mut Vec<Type>) -> Option<Type> {
        match ty {
            Type::Int | Type::Float | Type::Bool | Type::String | Type::Error | Type::Var(_) => None,
            Type::List(t) | Type::Dict(t) => self.not_json_inner(t, json_param, seen),
            Type::Tuple(ts) => ts.iter().find_map(|t| self.not_json_inner(t, json_param, seen)),
            Type::Param(i, _) => (!json_param(*i)).then(|| ty.clone()),
            Type::Fn(..) | Type::Store(_) => Some(ty.clone()),
            Type::Named(id, args) => {
                // Recursive types (`Tree<T>`) are encodable if one unfolding is.
                if seen.contains(ty) {
                    return None;
                }
                seen.push(ty.clone());
                let def = self.get(*id);
                let members: Vec<Type> = match &def.kind {
                    TypeDefKind::Record(fields) => fields.iter().map(|(_, t)| t.instantiate(args)).collect(),
                    TypeDefKind::Enum(variants) => {
                        variants.iter().flat_map(|(_, ts)| ts.iter().map(|t| t.instantiate(args))).collect()
                    }
                };
                members.iter().find_map(|t| self.not_json_inner(t, json_param, seen))
            }
        }
    }
}

/// Why two types failed to unify.
pub enum Mismatch {
    /// Different shapes.
    Shape,
    /// A variable would have to contain itself.
    Infinite,
}

/// The inference variables of one compilation and their solutions.
#[derive(Default)]
pub struct Unifier {
    solutions: Vec<Option<Type>>,
}

impl Unifier {
    pub fn fresh(&mut self) -> Type {
        self.solutions.push(None);
        Type::Var(self.solutions.len() as u32 - 1)
    }

    /// Follows solved variables at the top of `ty` only.
    pub fn shallow(&self, ty: &Type) -> Type {
        let mut ty = ty;
        while let Type::Var(v) = ty {
            match &self.solutions[*v as usize] {
                Some(t) => ty = t,
                None => break,
            }
        }
        ty.clone()
    }

    /// Substitutes every solved variable; unsolved ones stay.
    pub fn resolve(&self, ty: &Type) -> Type {
        ty.map(&mut |t| match t {
            Type::Var(v) => self.solutions[*v as usize].as_ref().map(|s| self.resolve(s)),
            _ => None,
        })
    }

    /// Substitutes every solved variable and replaces unsolved ones with
    /// `default`, in place; types without variables are left untouched.
    pub fn zonk(&self, ty: &mut Type, default: &Type) {
        if ty.any(&mut |t| matches!(t, Type::Var(_))) {
            *ty = self.resolve(ty).map(&mut |t| matches!(t, Type::Var(_)).then(|| default.clone()));
        }
    }

    pub fn unify(&mut self, a: &Type, b: &Type) -> Result<(), Mismatch> {
        // Identical terms unify as they are: the common case, without copying.
        if a == b {
            return Ok(());
        }
        let (a, b) = (self.shallow(a), self.shallow(b));
        match (&a, &b) {
            (Type::Var(x), Type::Var(y)) if x == y => Ok(()),
            (Type::Var(v), other) | (other, Type::Var(v)) => {
                if self.occurs(*v, other) {
                    return Err(Mismatch::Infinite);
                }
                self.solutions[*v as usize] = Some(other.clone());
                Ok(())
            }
            (Type::Error, _) | (_, Type::Error) => Ok(()),
            (Type::Int, Type::Int) | (Type::Float, Type::Float) | (Type::Bool, Type::Bool) => Ok(()),
            (Type::String, Type::String) => Ok(()),
            (Type::List(x), Type::List(y)) | (Type::Dict(x), Type::Dict(y)) | (Type::Store(x), Type::Store(y)) => {
                self.unify(x, y)
            }
            (Type::Tuple(xs), Type::Tuple(ys)) if xs.len() == ys.len() => self.unify_all(xs, ys),
            (Type::Named(x, xs), Type::Named(y, ys)) if x == y => self.unify_all(xs, ys),
            (Type::Fn(xs, xr), Type::Fn(ys, yr)) if xs.len() == ys.len() => {
                self.unify_all(xs, ys)?;
                self.unify(xr, yr)
            }
            (Type::Param(x, _), Type::Param(y, _)) if x == y => Ok(()),
            _ => Err(Mismatch::Shape),
        }
    }

    fn unify_all(&mut self, xs: &[Type], ys: &[Type]) -> Result<(), Mismatch> {
        // Unify every pair even after a failure, so later pairs still inform
        // inference; report the first failure.
        let mut result = Ok(());
        for (x, y) in xs.iter().zip(ys) {
            let r = self.unify(x, y);
            if result.is_ok() {
                result = r;
            }
        }
        result
    }

    fn occurs(&self, v: u32, ty: &Type) -> bool {
        self.resolve(ty).any(&mut |t| matches!(t, Type::Var(w) if *w == v))
    }
}

/// `a, b and c` for messages.
pub fn join_words(words: &[String]) -> String {
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push_str(if i + 1 == words.len() { " and " } else { ", " });
        }
        let _ = write!(out, "{w}");
    }
    out
}
