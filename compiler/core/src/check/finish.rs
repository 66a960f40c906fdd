//! After every body is checked: the deferred checks that needed solved
//! types, then the solved types written back into the typed tree, which
//! becomes the [`typed::Program`].

use super::typed::{self, LocalId};
use super::types::Type;
use super::{Checker, Deferred, JsonUse};
use crate::diagnostic::{Code, Diagnostic};

impl Checker<'_> {
    pub(super) fn finish(&mut self) -> typed::Program {
        self.check_deferred();
        // Nothing constrains what is still unsolved: `Unit` is as good as any.
        let zonk = |c: &Self, t: &mut Type| c.unifier.zonk(t, &Type::UNIT);
        let mut functions = Vec::with_capacity(self.fns.len());
        for (i, sig) in self.fns.iter().enumerate() {
            let mut body = self.bodies[i].take();
            if let Some(body) = &mut body {
                typed::map_types(body, &mut |t| zonk(self, t));
            }
            functions.push(typed::Function {
                name: sig.name.clone(),
                module: self.modules[sig.module].name.clone(),
                generics: sig.generics.clone(),
                params: (0..sig.params.len() as u32).map(LocalId).collect(),
                param_types: sig.params.iter().map(|(_, t)| t.clone()).collect(),
                ret: {
                    let mut ret = sig.ret.clone();
                    zonk(self, &mut ret);
                    ret
                },
                body,
                store_access: sig.store_access,
                test_only: sig.test_only,
                span: sig.span,
            });
        }
        let mut routes = std::mem::take(&mut self.routes);
        let mut crons = std::mem::take(&mut self.crons);
        let mut tests = std::mem::take(&mut self.tests);
        let bodies = routes
            .iter_mut()
            .map(|r| &mut r.body)
            .chain(crons.iter_mut().map(|c| &mut c.body))
            .chain(tests.iter_mut().map(|t| &mut t.body));
        for body in bodies {
            typed::map_types(body, &mut |t| zonk(self, t));
        }
        typed::Program {
            types: std::mem::take(&mut self.types),
            functions,
            stores: self
                .stores
                .iter()
                .map(|s| typed::Store { name: s.name.clone(), value: s.value.clone(), indexes: s.indexes.clone(), span: s.span })
                .collect(),
            secrets: std::mem::take(&mut self.secrets),
            cors: std::mem::take(&mut self.cors),
            routes,
            crons,
            tests,
            main: self.main,
        }
    }

    fn check_deferred(&mut self) {
        let deferred = std::mem::take(&mut self.deferred);
        // Operators first: their defaults (Int for arithmetic, String for
        // `++`) may decide the types the other checks look at.
        for d in &deferred {
            match d {
                Deferred::Numeric { ty, span, op } => match self.unifier.shallow(ty) {
                    Type::Int | Type::Float | Type::Error => {}
                    Type::Var(_) => {
                        let _ = self.unifier.unify(ty, &Type::Int);
                    }
                    other => {
                        let shown = self.show(&other);
                        let mut d = Diagnostic::error(Code::OperatorType, format!("`{op}` works on Int and Float, not `{shown}`"))
                            .label(*span, format!("these are `{shown}`"));
                        if *op == "+" && (other == Type::String || matches!(other, Type::List(_))) {
                            d = d.hint("concatenate with `++`");
                        }
                        self.error(d);
                    }
                },
                Deferred::Concat { ty, span } => match self.unifier.shallow(ty) {
                    Type::String | Type::List(_) | Type::Error => {}
                    Type::Var(_) => {
                        let _ = self.unifier.unify(ty, &Type::String);
                    }
                    other => {
                        let shown = self.show(&other);
                        let mut d = Diagnostic::error(Code::OperatorType, format!("`++` joins Strings or Lists, not `{shown}`"))
                            .label(*span, format!("these are `{shown}`"));
                        if matches!(other, Type::Int | Type::Float) {
                            d = d.hint("add numbers with `+`, or build text with interpolation: `\"{a}{b}\"`");
                        }
                        self.error(d);
                    }
                },
                _ => {}
            }
        }
        for d in &deferred {
            match d {
                Deferred::Comparable { ty, span, op } => {
                    let ty = self.unifier.resolve(ty);
                    if ty.any(&mut |t| matches!(t, Type::Fn(..))) {
                        let shown = self.show(&ty);
                        self.error(
                            Diagnostic::error(Code::NotComparable, format!("`{op}` cannot compare functions"))
                                .label(*span, format!("these are `{shown}`"))
                                .hint("compare the results of calling them instead"),
                        );
                    }
                }
                Deferred::Json { ty, span, what, json_params } => {
                    let ty = self.unifier.resolve(ty);
                    if let (Type::Var(_), JsonUse::TypeArg { callee, generic }) = (&ty, what) {
                        self.error(
                            Diagnostic::error(Code::CannotInfer, format!("cannot infer the type `{generic}` of `{callee}`"))
                                .label(*span, "the type to decode or encode is not known here")
                                .hint("annotate the result, e.g. `let todo: Todo = request.json()?`"),
                        );
                        let _ = self.unifier.unify(&ty, &Type::Error);
                        continue;
                    }
                    if let JsonUse::RouteResult = what
                        && self.is_named(&ty, self.known.response)
                    {
                        continue;
                    }
                    let Some(bad) = self.types.not_json(&ty, &|i| json_params.get(i as usize).copied().unwrap_or(false))
                    else {
                        continue;
                    };
                    let shown = self.show(&ty);
                    let d = match what {
                        JsonUse::RouteResult => Diagnostic::error(Code::NotJson, "a route must answer a `Response` or a JSON value")
                            .label(*span, format!("this is `{shown}`, which cannot be sent as JSON"))
                            .hint("answer with `json(v)`, `text(s)`, `status(code, body)`, or a value of records, lists and scalars"),
                        JsonUse::TypeArg { callee, .. } => {
                            let d = Diagnostic::error(Code::NotJson, format!("`{callee}` needs a JSON-encodable value"))
                                .label(*span, format!("`{}` cannot be encoded as JSON", self.show(&bad)));
                            match &bad {
                                Type::Param(_, name) => d.hint(format!("add the bound to the type parameter: `<{name}: Json>`")),
                                _ => d.hint("functions and stores have no JSON form"),
                            }
                        }
                    };
                    self.error(d);
                }
                Deferred::Dropped { ty, span, in_route } => {
                    let ty = self.unifier.resolve(ty);
                    let (what, hint) = if self.is_named(&ty, self.known.response) {
                        let hint = if *in_route {
                            "`return` it to answer with it, or write `let _ = …` to drop it on purpose"
                        } else {
                            "check it (`assert r.status == 200`), or write `let _ = …` to drop it on purpose"
                        };
                        ("Response", hint)
                    } else if self.is_named(&ty, self.known.result) {
                        ("Result", "handle its `Err` with `?` or `match`, or write `let _ = …` to drop it on purpose")
                    } else {
                        continue;
                    };
                    self.error(
                        Diagnostic::error(Code::UnusedResult, format!("this `{what}` is computed and then dropped"))
                            .label(*span, format!("a `{}` that nothing uses", self.show(&ty)))
                            .hint(hint),
                    );
                }
                _ => {}
            }
        }
    }
}
