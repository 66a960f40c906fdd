//! Declarations: type names and definitions, function signatures, stores
//! and secrets — everything bodies may refer to, collected before any body
//! is checked. Also the resolution of written types (`List<Todo>`).

use std::collections::HashSet;
use std::rc::Rc;

use super::typed::{FnId, Generic, SecretId, StoreAccess, StoreId, StoreIndex};
use super::types::{FieldDefault, Type, TypeDef, TypeDefKind, TypeId};
use super::{AliasState, BodyState, Checker, FnSig, StoreInfo, TypeName};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::{self, Item, TypeBody, TypeExprKind};

/// Types built into the language rather than declared in `stdlib/`.
const BUILTIN_TYPES: &[(&str, usize)] =
    &[("Int", 0), ("Float", 0), ("Bool", 0), ("String", 0), ("Unit", 0), ("List", 1), ("Dict", 1), ("Store", 1)];

impl<'a> Checker<'a> {
    pub(super) fn collect_declarations(&mut self) {
        let accepted = self.collect_type_names();
        self.resolve_type_definitions(&accepted);
        self.check_field_defaults(&accepted);
        self.collect_functions();
        self.collect_stores_and_secrets();
    }

    /// Every item of every module, with its module and item indices.
    fn items(&self) -> Vec<(usize, usize, &'a Item)> {
        let modules: &'a [super::ParsedModule] = self.modules;
        modules
            .iter()
            .enumerate()
            .flat_map(|(m, module)| module.ast.items.iter().enumerate().map(move |(i, it)| (m, i, it)))
            .collect()
    }

    /// Registers every type name; returns the `type` items that got their
    /// name (module, item), in source order — not the rejected repeats.
    fn collect_type_names(&mut self) -> Vec<(usize, usize)> {
        let mut accepted = Vec::new();
        let modules = self.modules;
        let declared: HashSet<&str> = modules
            .iter()
            .flat_map(|m| &m.ast.items)
            .filter_map(|it| match it {
                Item::Type(t) => Some(t.name.name.as_str()),
                _ => None,
            })
            .chain(BUILTIN_TYPES.iter().map(|(n, _)| *n))
            .collect();
        let mut program_types: HashSet<&str> = HashSet::new();
        for (m, i, item) in self.items() {
            let Item::Type(decl) = item else { continue };
            let name = &decl.name.name;
            let is_module = m == self.user_module() && self.module_by_name.contains_key(name);
            let shadows = m == self.user_module()
                && !self.is_stdlib_type(name)
                && !program_types.contains(name.as_str())
                && self.type_names.contains_key(name);
            if m == self.user_module() {
                program_types.insert(name.as_str());
            }
            if shadows {
                let library = self.type_names.remove(name).expect("just checked");
                self.shadowed.insert(name.clone(), library);
            }
            if BUILTIN_TYPES.iter().any(|(n, _)| n == name) || self.type_names.contains_key(name) || is_module {
                let already = if is_module && !self.is_stdlib_type(name) {
                    format!("`{name}` is a module of the standard library")
                } else if m == self.user_module() && self.is_stdlib_type(name) {
                    format!("the standard library's `{name}` is already a type")
                } else {
                    format!("`{name}` is already a type")
                };
                self.error(
                    Diagnostic::error(Code::DuplicateDefinition, format!("the name `{name}` is already taken"))
                        .label(decl.name.span, already)
                        .hint("choose another name for this type"),
                );
                continue;
            }
            let is_alias = match &decl.body {
                TypeBody::Alias(_) => true,
                TypeBody::Variants(vs) => {
                    vs.len() == 1 && vs[0].payload.is_empty() && declared.contains(vs[0].name.name.as_str())
                }
                TypeBody::Record(_) => false,
            };
            let entry = if is_alias {
                TypeName::Alias { module: m, item: i, state: AliasState::Unresolved }
            } else {
                let params = decl.params.iter().map(|p| Rc::from(p.name.as_str())).collect();
                self.types.defs.push(TypeDef { name: name.clone(), params, kind: TypeDefKind::Record(vec![]), json_keys: vec![], defaults: vec![] });
                TypeName::Def(TypeId(self.types.defs.len() as u32 - 1))
            };
            self.type_names.insert(name.clone(), entry);
            accepted.push((m, i));
        }
        let find = |name: &str| match self.type_names.get(name) {
            Some(TypeName::Def(id)) => Some(*id),
            _ => None,
        };
        self.known.option = find("Option");
        self.known.result = find("Result");
        self.known.response = find("Response");
        self.known.request = find("Request");
        accepted
    }

    fn is_stdlib_type(&self, name: &str) -> bool {
        BUILTIN_TYPES.iter().any(|(n, _)| *n == name) || ["Option", "Result", "Response", "Request"].contains(&name)
    }

    fn resolve_type_definitions(&mut self, accepted: &[(usize, usize)]) {
        let modules = self.modules;
        for &(m, i) in accepted {
            let Item::Type(decl) = &modules[m].ast.items[i] else { continue };
            let params: Vec<Rc<str>> = decl.params.iter().map(|p| Rc::from(p.name.as_str())).collect();
            self.check_unique(decl.params.iter(), Code::DuplicateDefinition, "type parameter", "defined");
            let id = match self.type_name(m, &decl.name.name) {
                Some(TypeName::Def(id)) => *id,
                // Resolve now, so that errors in unused aliases are reported too.
                Some(TypeName::Alias { state: AliasState::Unresolved, .. }) => {
                    self.resolve_alias(&decl.name.name, m, i);
                    continue;
                }
                _ => continue,
            };
            let kind = match &decl.body {
                TypeBody::Record(fields) => {
                    self.check_unique(fields.iter().map(|f| &f.name), Code::DuplicateField, "field", "declared");
                    self.types.defs[id.0 as usize].json_keys = self.json_keys(fields);
                    TypeDefKind::Record(
                        fields.iter().map(|f| (f.name.name.clone(), self.resolve_type(m, &f.ty, &params))).collect(),
                    )
                }
                TypeBody::Variants(variants) => {
                    let mut resolved = Vec::new();
                    for (index, v) in variants.iter().enumerate() {
                        let payload = v.payload.iter().map(|t| self.resolve_type(m, t, &params)).collect();
                        resolved.push((v.name.name.clone(), payload));
                        let is_module = self.module_by_name.contains_key(&v.name.name);
                        if self.constructors.contains_key(&v.name.name) || is_module {
                            self.error(
                                Diagnostic::error(
                                    Code::DuplicateDefinition,
                                    format!("the constructor `{}` is defined twice", v.name.name),
                                )
                                .label(v.name.span, "a constructor with this name already exists")
                                .hint("constructor names are global: rename this variant"),
                            );
                        } else {
                            self.constructors.insert(v.name.name.clone(), (id, index));
                        }
                    }
                    TypeDefKind::Enum(resolved)
                }
                TypeBody::Alias(_) => unreachable!("aliases are not definitions"),
            };
            self.types.defs[id.0 as usize].kind = kind;
        }
    }

    /// Each record field's default, once every type (and constructor) is
    /// known: a constant of the field's type, kept with its JSON text.
    fn check_field_defaults(&mut self, accepted: &[(usize, usize)]) {
        let modules = self.modules;
        for &(m, i) in accepted {
            let Item::Type(decl) = &modules[m].ast.items[i] else { continue };
            let TypeBody::Record(fields) = &decl.body else { continue };
            let Some(TypeName::Def(id)) = self.type_name(m, &decl.name.name).cloned() else { continue };
            let mut defaults = Vec::new();
            for (index, f) in fields.iter().enumerate() {
                let Some(value) = &f.default else { continue };
                let Some((_, ty)) = self.types.get(id).fields().get(index).cloned() else { continue };
                match self.constant_json(value, &ty) {
                    Ok(json) => defaults.push(FieldDefault { field: f.name.name.clone(), value: Some(value.clone()), json }),
                    Err(why) => {
                        // Still a default, so literals that leave the field out say nothing more.
                        defaults.push(FieldDefault { field: f.name.name.clone(), value: None, json: String::new() });
                        let shown = self.types.show(&ty);
                        self.error(
                            Diagnostic::error(Code::InvalidDefault, format!("the default of `{}` is not a constant `{shown}`", f.name.name))
                                .label(value.span, why)
                                .hint("a default is a literal of the field's type: a number, `true`, a plain string, `None`, `Some(…)`, `[…]` or a constructor without payload"),
                        );
                    }
                }
            }
            self.types.defs[id.0 as usize].defaults = defaults;
        }
    }

    /// `value` as JSON text, if it is a constant of type `ty`; else why not.
    fn constant_json(&self, value: &ast::Expr, ty: &Type) -> Result<String, String> {
        use ast::ExprKind as E;
        let not = || Err(format!("not a constant `{}`", self.types.show(ty)));
        match (&value.kind, ty) {
            (E::Int(n), Type::Int) => Ok(n.to_string()),
            (E::Float(x), Type::Float) => Ok(format!("{x:?}")),
            (E::Unary { op: ast::UnaryOp::Neg, operand }, Type::Int | Type::Float) => match &operand.kind {
                E::Int(_) | E::Float(_) => Ok(format!("-{}", self.constant_json(operand, ty)?)),
                _ => not(),
            },
            (E::Bool(b), Type::Bool) => Ok(b.to_string()),
            (E::Str(parts), Type::String) => match parts.as_slice() {
                [] => Ok("\"\"".into()),
                [ast::StrPart::Text(text)] => Ok(serde_json::Value::from(text.as_str()).to_string()),
                _ => Err("an interpolated string is not a constant".into()),
            },
            (E::List(items), Type::List(elem)) => {
                let items: Result<Vec<String>, String> = items.iter().map(|item| self.constant_json(item, elem)).collect();
                Ok(format!("[{}]", items?.join(",")))
            }
            (E::Name(name), Type::Named(id, _)) => match self.constructors.get(&name.name) {
                Some(&(ty_id, variant)) if ty_id == *id && self.types.get(ty_id).variants()[variant].1.is_empty() => {
                    // `None` is JSON `null`; any other payload-free variant its name.
                    if Some(ty_id) == self.known.option { Ok("null".into()) } else { Ok(serde_json::Value::from(name.name.as_str()).to_string()) }
                }
                _ => not(),
            },
            (E::Call { callee, args: values }, Type::Named(id, args)) if Some(*id) == self.known.option => match (&callee.kind, values.as_slice()) {
                // `Some(None)` would read back as `None`.
                (E::Name(name), [inner]) if name.name == "Some" && !matches!(&args[0], Type::Named(o, _) if Some(*o) == self.known.option) => {
                    self.constant_json(inner, &args[0])
                }
                _ => not(),
            },
            _ => not(),
        }
    }

    /// The fields `@json("key")` maps, checking the attributes and that no
    /// two fields share a key.
    fn json_keys(&mut self, fields: &[ast::FieldDecl]) -> Vec<(String, String)> {
        let mut mapped = Vec::new();
        let mut keys = Vec::new();
        for f in fields {
            let mut key: Option<&ast::StrLit> = None;
            for attr in &f.attributes {
                let (what, why) = match (attr.name.as_str(), &attr.argument, key) {
                    ("json", Some(arg), None) => {
                        key = Some(arg);
                        continue;
                    }
                    ("json", Some(_), Some(_)) => ("the field has two JSON keys", "a field has one JSON key"),
                    ("json", None, _) => ("`@json` needs the key", "expected a string in parentheses after `@json`"),
                    (name, ..) => (&*format!("the attribute `@{name}` is not allowed here"), "a record field's only attribute is `@json(\"key\")`"),
                };
                self.error(
                    Diagnostic::error(Code::InvalidAttribute, what)
                        .label(attr.span, why)
                        .hint("write `@json(\"content-type\")` before a field to give it a JSON key that is not its name"),
                );
            }
            match key {
                Some(k) => {
                    mapped.push((f.name.name.clone(), k.value.clone()));
                    keys.push(ast::Ident { name: k.value.clone(), span: k.span });
                }
                None => keys.push(f.name.clone()),
            }
        }
        // Without a mapping the keys are the names, already checked.
        if !mapped.is_empty() {
            self.check_unique(keys.iter(), Code::DuplicateField, "JSON key", "used");
        }
        mapped
    }

    /// Reports every name that repeats an earlier one: `the {what} `x` is
    /// {verb} twice`, labelled at both.
    fn check_unique<'i>(&mut self, names: impl Iterator<Item = &'i ast::Ident>, code: Code, what: &str, verb: &str) {
        let mut seen: Vec<&ast::Ident> = Vec::new();
        for name in names {
            if let Some(first) = seen.iter().find(|s| s.name == name.name) {
                let d = Diagnostic::error(code, format!("the {what} `{}` is {verb} twice", name.name))
                    .label(name.span, format!("{verb} again here"))
                    .label(first.span, format!("first {verb} here"));
                self.error(d);
            } else {
                seen.push(name);
            }
        }
    }

    /// Resolves a written type in `module`, where `generics` are in scope.
    pub(super) fn resolve_type(&mut self, module: usize, texpr: &ast::TypeExpr, generics: &[Rc<str>]) -> Type {
        match &texpr.kind {
            TypeExprKind::Tuple(items) => Type::Tuple(items.iter().map(|t| self.resolve_type(module, t, generics)).collect()),
            TypeExprKind::Fn { params, ret } => Type::Fn(
                params.iter().map(|t| self.resolve_type(module, t, generics)).collect(),
                Box::new(self.resolve_type(module, ret, generics)),
            ),
            TypeExprKind::Named { name, args } => {
                let resolved_args: Vec<Type> = args.iter().map(|t| self.resolve_type(module, t, generics)).collect();
                if let Some(i) = generics.iter().position(|g| **g == *name.name) {
                    if !args.is_empty() {
                        self.arity_error(texpr.span, &name.name, 0, args.len());
                    }
                    return Type::Param(i as u32, generics[i].clone());
                }
                if let Some((_, arity)) = BUILTIN_TYPES.iter().find(|(n, _)| *n == name.name) {
                    if name.name == "Store" && !self.modules[module].is_stdlib {
                        self.error(
                            Diagnostic::error(Code::UnknownType, "`Store` cannot be written as a type")
                                .label(name.span, "stores are declared, not passed around")
                                .hint("declare a store with `store name: T` and call its operations directly"),
                        );
                        return Type::Error;
                    }
                    if resolved_args.len() != *arity {
                        self.arity_error(texpr.span, &name.name, *arity, resolved_args.len());
                        return Type::Error;
                    }
                    let mut a = resolved_args.into_iter();
                    let mut arg = || Box::new(a.next().unwrap_or(Type::Error));
                    return match name.name.as_str() {
                        "Int" => Type::Int,
                        "Float" => Type::Float,
                        "Bool" => Type::Bool,
                        "String" => Type::String,
                        "Unit" => Type::UNIT,
                        "List" => Type::List(arg()),
                        "Dict" => Type::Dict(arg()),
                        _ => Type::Store(arg()),
                    };
                }
                match self.type_name(module, &name.name).cloned() {
                    Some(TypeName::Def(id)) => {
                        let arity = self.types.get(id).params.len();
                        if resolved_args.len() != arity {
                            self.arity_error(texpr.span, &name.name, arity, resolved_args.len());
                            return Type::Error;
                        }
                        Type::Named(id, resolved_args)
                    }
                    Some(TypeName::Alias { module: m, item, state }) => {
                        let (params, target) = match state {
                            AliasState::Resolved(params, target) => (params, target),
                            AliasState::Resolving => {
                                self.error(
                                    Diagnostic::error(Code::InfiniteType, format!("the type alias `{}` refers to itself", name.name))
                                        .label(name.span, "used inside its own definition")
                                        .hint("a recursive type needs a record or enum: `type Tree = Leaf | Node(List<Tree>)`"),
                                );
                                return Type::Error;
                            }
                            AliasState::Unresolved => self.resolve_alias(&name.name, m, item),
                        };
                        if resolved_args.len() != params.len() {
                            self.arity_error(texpr.span, &name.name, params.len(), resolved_args.len());
                            return Type::Error;
                        }
                        target.instantiate(&resolved_args)
                    }
                    None => {
                        let mut d = Diagnostic::error(Code::UnknownType, format!("unknown type `{}`", name.name))
                            .label(name.span, "no type has this name");
                        let candidates: Vec<&str> = self
                            .type_names
                            .keys()
                            .map(String::as_str)
                            .chain(BUILTIN_TYPES.iter().map(|(n, _)| *n))
                            .chain(generics.iter().map(|g| &**g))
                            .collect();
                        if let Some(hint) = Self::did_you_mean(&name.name, candidates) {
                            d = d.hint(hint);
                        } else if name.name.chars().next().is_some_and(char::is_lowercase) {
                            d = d.hint("type names start with an upper-case letter");
                        }
                        self.error(d);
                        Type::Error
                    }
                }
            }
        }
    }

    fn resolve_alias(&mut self, name: &str, module: usize, item: usize) -> (Vec<Rc<str>>, Type) {
        let modules = self.modules;
        let Item::Type(decl) = &modules[module].ast.items[item] else { unreachable!("aliases come from type items") };
        let set = |c: &mut Self, state| {
            let names = if c.sees_shadowed(module, name) { &mut c.shadowed } else { &mut c.type_names };
            if let Some(TypeName::Alias { state: s, .. }) = names.get_mut(name) {
                *s = state;
            }
        };
        set(self, AliasState::Resolving);
        let params: Vec<Rc<str>> = decl.params.iter().map(|p| Rc::from(p.name.as_str())).collect();
        let target = match &decl.body {
            TypeBody::Alias(t) => self.resolve_type(module, t, &params),
            TypeBody::Variants(vs) => {
                let t = ast::TypeExpr {
                    kind: TypeExprKind::Named { name: vs[0].name.clone(), args: vec![] },
                    span: vs[0].span,
                };
                self.resolve_type(module, &t, &params)
            }
            TypeBody::Record(_) => Type::Error,
        };
        set(self, AliasState::Resolved(params.clone(), target.clone()));
        (params, target)
    }

    fn arity_error(&mut self, span: Span, name: &str, expected: usize, found: usize) {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        self.error(
            Diagnostic::error(Code::TypeArgumentCount, format!("wrong number of type arguments for `{name}`"))
                .label(span, format!("expected {expected} type argument{}, found {found}", plural(expected)))
                .hint(match expected {
                    0 => format!("`{name}` takes no type arguments"),
                    _ => format!("write `{name}<{}>`", vec!["…"; expected].join(", ")),
                }),
        );
    }

    fn collect_functions(&mut self) {
        for (m, i, item) in self.items() {
            let Item::Fn(decl) = item else { continue };
            let is_stdlib = self.modules[m].is_stdlib;
            let id = FnId(self.fns.len() as u32);
            self.check_extern_and_attributes(decl, is_stdlib);
            self.check_unique(decl.generics.iter().map(|g| &g.name), Code::DuplicateDefinition, "type parameter", "defined");
            self.check_unique(decl.params.iter().map(|p| &p.name), Code::DuplicateDefinition, "parameter", "defined");
            let names: Vec<Rc<str>> = decl.generics.iter().map(|g| Rc::from(g.name.name.as_str())).collect();
            let generics = decl
                .generics
                .iter()
                .map(|g| {
                    for bound in g.bounds.iter().filter(|b| b.name != "Json") {
                        self.error(
                            Diagnostic::error(Code::UnknownType, format!("unknown bound `{}`", bound.name))
                                .label(bound.span, "not a bound")
                                .hint("the only bound is `Json`: `fn f<T: Json>(value: T)`"),
                        );
                    }
                    Generic { name: g.name.name.clone(), json: g.bounds.iter().any(|b| b.name == "Json") }
                })
                .collect();
            let params = decl
                .params
                .iter()
                .map(|p| {
                    let ty = match &p.ty {
                        Some(t) => self.resolve_type(m, t, &names),
                        None => {
                            self.error(
                                Diagnostic::error(Code::MissingAnnotation, format!("the parameter `{}` needs a type", p.name.name))
                                    .label(p.name.span, "add a type annotation here")
                                    .hint(format!("write `{}: Type`; only anonymous functions infer parameter types", p.name.name)),
                            );
                            Type::Error
                        }
                    };
                    (p.name.clone(), ty)
                })
                .collect();
            let ret = match &decl.ret {
                Some(t) => self.resolve_type(m, t, &names),
                None if decl.body.is_none() => Type::UNIT,
                None => self.unifier.fresh(),
            };
            let store_access = decl.attributes.iter().find_map(|a| match a.name.as_str() {
                "reads" => Some(StoreAccess::Reads),
                "writes" => Some(StoreAccess::Writes),
                _ => None,
            });
            let test_only = decl.attributes.iter().any(|a| a.name == "test_only");
            let private = decl.attributes.iter().any(|a| a.name == "private");
            let sig = FnSig {
                name: decl.name.name.clone(),
                module: m,
                generics,
                params,
                ret,
                store_access,
                test_only,
                private,
                decl: (m, i),
                state: BodyState::Unchecked,
                span: decl.name.span,
            };
            if m == self.user_module() && decl.name.name == "main" {
                self.check_main(decl, &sig);
                self.main = Some(id);
            }
            if let Some(&first) = self.module_fns[m].get(&decl.name.name) {
                let first_span = self.fns[first.0 as usize].span;
                self.error(
                    Diagnostic::error(Code::DuplicateDefinition, format!("the function `{}` is defined twice", decl.name.name))
                        .label(decl.name.span, "defined again here")
                        .label(first_span, "first defined here")
                        .hint("rename one of them; functions are not overloaded"),
                );
            } else {
                self.module_fns[m].insert(decl.name.name.clone(), id);
            }
            self.fns.push(sig);
            self.bodies.push(None);
        }
    }

    fn check_extern_and_attributes(&mut self, decl: &ast::FnDecl, is_stdlib: bool) {
        if decl.is_extern && !is_stdlib {
            self.error(
                Diagnostic::error(Code::InvalidExtern, "`extern fn` is reserved for the standard library")
                    .label(decl.name.span, "declared `extern` here")
                    .hint("write the function's body in Distlang"),
            );
        } else if decl.is_extern && decl.body.is_some() {
            self.error(
                Diagnostic::error(Code::InvalidExtern, "an `extern fn` cannot have a body")
                    .label(decl.name.span, "the runtime implements this function"),
            );
        } else if !decl.is_extern && decl.body.is_none() {
            self.error(
                Diagnostic::error(Code::InvalidExtern, format!("the function `{}` has no body", decl.name.name))
                    .label(decl.name.span, "expected `{ … }` after the signature"),
            );
        }
        for attr in &decl.attributes {
            let first_is_store =
                decl.params.first().and_then(|p| p.ty.as_ref()).is_some_and(|t| matches!(&t.kind, TypeExprKind::Named { name, .. } if name.name == "Store"));
            let why = match attr.name.as_str() {
                _ if !is_stdlib => "attributes are reserved for the standard library",
                "reads" | "writes" if !decl.is_extern || !first_is_store => {
                    "`@reads` and `@writes` mark `extern fn`s whose first parameter is a `Store`"
                }
                "reads" | "writes" | "test_only" | "private" => continue,
                _ => "the known attributes are `@reads`, `@writes`, `@test_only` and `@private`",
            };
            self.error(
                Diagnostic::error(Code::InvalidAttribute, format!("the attribute `@{}` is not allowed here", attr.name))
                    .label(attr.span, why)
                    .hint("remove the attribute: store effects are inferred from the code"),
            );
        }
    }

    fn check_main(&mut self, decl: &ast::FnDecl, sig: &FnSig) {
        if let Some(p) = decl.params.first() {
            self.error(
                Diagnostic::error(Code::InvalidMain, "`main` takes no parameters")
                    .label(p.name.span, "remove this parameter")
                    .hint("command-line arguments are not passed to `main`"),
            );
        }
        let unit = match &decl.ret {
            None => {
                let _ = self.unifier.unify(&sig.ret, &Type::UNIT);
                true
            }
            Some(_) => sig.ret.is_unit() || sig.ret == Type::Error,
        };
        if !unit {
            let span = decl.ret.as_ref().map_or(decl.name.span, |t| t.span);
            self.error(
                Diagnostic::error(Code::InvalidMain, "`main` must return `Unit`")
                    .label(span, format!("`main` returns `{}` here", self.show(&sig.ret)))
                    .hint("remove the return type; print results with `print` or `debug`"),
            );
        }
    }

    /// The program's one `cors` declaration: `"*"` alone, or origins.
    fn collect_cors(&mut self, decl: &ast::CorsDecl) {
        if let Some(first) = self.cors_span {
            self.error(
                Diagnostic::error(Code::InvalidCors, "`cors` is declared twice")
                    .label(decl.span, "declared again here")
                    .label(first, "first declared here")
                    .hint("list every origin in one declaration: `cors [\"https://a.example\", \"https://b.example\"]`"),
            );
            return;
        }
        self.cors_span = Some(decl.span);
        let syntax_errors = &self.modules[self.user_module()].syntax_errors;
        let mut origins = Vec::new();
        for origin in &decl.origins {
            // An interpolated origin (E0103) has no text to check.
            if syntax_errors.contains(&origin.span) {
                continue;
            }
            let problem = match origin.value.as_str() {
                "*" if decl.listed => Some((
                    "`*` cannot be listed with origins".to_string(),
                    "`*` in a list",
                    "`*` allows every origin, so it stands alone: `cors \"*\"`".to_string(),
                )),
                "*" => None,
                text => origin_problem(text)
                    .map(|hint| (format!("\"{text}\" is not a CORS origin"), "not `*` or `scheme://host[:port]`", hint)),
            };
            match problem {
                Some((title, label, hint)) => self.error(Diagnostic::error(Code::InvalidCors, title).label(origin.span, label).hint(hint)),
                None if origins.contains(&origin.value) => {}
                None => origins.push(origin.value.clone()),
            }
        }
        if decl.origins.is_empty() {
            self.error(
                Diagnostic::error(Code::InvalidCors, "`cors` lists no origin")
                    .label(decl.span, "an empty list allows nothing")
                    .hint("name the origins whose pages may call the routes, or remove the declaration"),
            );
        }
        self.cors = origins;
    }

    /// The indexes declared after a store's type (`unique(email)`,
    /// `index(author, tags)`), each on a field of its record type holding a
    /// `String`, `Int` or `Bool`, or a `List` of them (`index` only).
    fn store_indexes(&mut self, decl: &ast::StoreDecl, value: &Type) -> Vec<StoreIndex> {
        let mut indexes: Vec<StoreIndex> = Vec::new();
        for clause in &decl.indexes {
            let unique = match clause.kind.name.as_str() {
                "unique" => true,
                "index" => false,
                other => {
                    self.error(
                        Diagnostic::error(Code::InvalidIndex, format!("`{other}` is not a kind of store index"))
                            .label(clause.kind.span, "expected `unique` or `index`")
                            .hint("`unique(email)` allows one key per value; `index(author)` any number"),
                    );
                    continue;
                }
            };
            if clause.fields.is_empty() {
                self.error(
                    Diagnostic::error(Code::InvalidIndex, format!("`{}()` names no field", clause.kind.name))
                        .label(clause.span, "an index needs a field")
                        .hint(format!("name the fields to look entries up by: `{}(email)`", clause.kind.name)),
                );
            }
            for field in &clause.fields {
                if indexes.iter().any(|i| i.field == field.name) {
                    self.error(
                        Diagnostic::error(Code::InvalidIndex, format!("`{}` is indexed twice", field.name))
                            .label(field.span, "already indexed")
                            .hint("a field has one index: `unique` or `index`"),
                    );
                } else if let Some(index) = self.store_index(decl, value, field, unique) {
                    indexes.push(index);
                }
            }
        }
        indexes
    }

    /// The index of `field`, or its error (reported here).
    fn store_index(&mut self, decl: &ast::StoreDecl, value: &Type, field: &ast::Ident, unique: bool) -> Option<StoreIndex> {
        if *value == Type::Error {
            return None;
        }
        let Some((slot, ty)) = self.record_field(value, &field.name) else {
            let shown = self.show(value);
            let (label, hint) = match value {
                Type::Named(id, _) if self.types.get(*id).variants().is_empty() => {
                    let fields = self.types.get(*id).fields().iter().map(|(n, _)| n.as_str());
                    let hint = Self::did_you_mean(&field.name, fields).unwrap_or_else(|| "index a field of the store's record type".to_string());
                    (format!("`{shown}` has no field `{}`", field.name), hint)
                }
                _ => (format!("`{shown}` is not a record"), "only a store of records has fields to index".to_string()),
            };
            self.error(
                Diagnostic::error(Code::InvalidIndex, format!("the store `{}` cannot be indexed by `{}`", decl.name.name, field.name))
                    .label(field.span, label)
                    .hint(hint),
            );
            return None;
        };
        let scalar = |t: &Type| matches!(t, Type::String | Type::Int | Type::Bool);
        let (key, each) = match ty {
            t if scalar(&t) => (t, false),
            Type::List(elem) if scalar(&elem) && !unique => (*elem, true),
            Type::List(elem) if scalar(&elem) => {
                self.error(
                    Diagnostic::error(Code::InvalidIndex, format!("`{}` cannot have a unique index", field.name))
                        .label(field.span, "a list holds any number of values")
                        .hint(format!("index each of its elements with `index({})`", field.name)),
                );
                return None;
            }
            other => {
                self.error(
                    Diagnostic::error(Code::InvalidIndex, format!("`{}` cannot be indexed", field.name))
                        .label(field.span, format!("a field of type `{}`", self.show(&other)))
                        .hint("index a `String`, `Int` or `Bool` field, or a `List` of them"),
                );
                return None;
            }
        };
        Some(StoreIndex { field: field.name.clone(), slot, unique, key, each, span: field.span })
    }

    fn collect_stores_and_secrets(&mut self) {
        let user = self.user_module();
        let modules = self.modules;
        for item in &modules[user].ast.items {
            match item {
                Item::Store(decl) => {
                    let value = self.resolve_type(user, &decl.ty, &[]);
                    if let Some(bad) = self.types.not_json(&value, &|_| false) {
                        self.error(
                            Diagnostic::error(Code::NotStorable, format!("the store `{}` cannot hold `{}`", decl.name.name, self.show(&value)))
                                .label(decl.ty.span, format!("`{}` cannot be stored", self.show(&bad)))
                                .hint("stored values are encoded like JSON: use records, enums, lists and scalars, not functions"),
                        );
                    }
                    let indexes = self.store_indexes(decl, &value);
                    if self.defined_value(&decl.name, user) {
                        continue;
                    }
                    self.store_names.insert(decl.name.name.clone(), StoreId(self.stores.len() as u32));
                    self.stores.push(StoreInfo { name: decl.name.name.clone(), value, indexes, span: decl.name.span });
                }
                Item::Secret(decl) => {
                    if self.constructors.contains_key(&decl.name.name) || self.module_by_name.contains_key(&decl.name.name) {
                        self.error(
                            Diagnostic::error(Code::DuplicateDefinition, format!("`{}` is defined twice", decl.name.name))
                                .label(decl.name.span, "a constructor or module already has this name")
                                .hint("secrets are usually written in capitals: `secret API_KEY`"),
                        );
                        continue;
                    }
                    if self.defined_value(&decl.name, user) {
                        continue;
                    }
                    self.secret_names.insert(decl.name.name.clone(), SecretId(self.secrets.len() as u32));
                    self.secrets.push(super::typed::Secret { name: decl.name.name.clone(), span: decl.name.span });
                }
                Item::Cors(decl) => self.collect_cors(decl),
                _ => {}
            }
        }
    }

    /// Reports `name` if a function, store, secret or constructor of the
    /// program already has it.
    fn defined_value(&mut self, name: &ast::Ident, module: usize) -> bool {
        let first = self
            .module_fns[module]
            .get(&name.name)
            .map(|f| self.fns[f.0 as usize].span)
            .or_else(|| self.store_names.get(&name.name).map(|s| self.stores[s.0 as usize].span))
            .or_else(|| self.secret_names.get(&name.name).map(|s| self.secrets[s.0 as usize].span));
        let Some(other) = first else { return false };
        // Functions are collected before stores: report whichever comes second.
        let (first, again) = if other.start < name.span.start { (other, name.span) } else { (name.span, other) };
        self.error(
            Diagnostic::error(Code::DuplicateDefinition, format!("`{}` is defined twice", name.name))
                .label(again, "defined again here")
                .label(first, "first defined here")
                .hint("functions, stores and secrets share one namespace: rename one of them"),
        );
        true
    }
}

/// Why `text` is not an origin as browsers send it (`https://app.example.com`,
/// `http://localhost:5173`): a hint, or `None` if it is one.
fn origin_problem(text: &str) -> Option<String> {
    let Some((scheme, rest)) = text.split_once("://") else {
        return Some("an origin is a scheme, `://` and a host, e.g. `https://app.example.com`".to_string());
    };
    if scheme != "http" && scheme != "https" {
        return Some("browsers send `http://` or `https://` origins".to_string());
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    if rest.contains('/') {
        return Some(format!("an origin has no path: `{scheme}://{}`", rest.split('/').next().unwrap_or_default()));
    }
    let host_ok = !host.is_empty() && host.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if !host_ok {
        return Some("a host is lower-case letters, digits, `.` and `-`, as browsers send it".to_string());
    }
    if port.is_some_and(|p| !p.parse::<u16>().is_ok_and(|n| n > 0)) {
        return Some("a port is a number from 1 to 65535".to_string());
    }
    None
}
