//! Effect inference: which stores each route, cron, test and `main` reads
//! and writes, through every function it calls or refers to, and the
//! manifest built from it. A store operation is an `extern fn` marked
//! `@reads` or `@writes` in `stdlib/store.dl`; a function value counts as a
//! call (it may be called), so the result is a sound over-approximation.

use std::collections::BTreeSet;

use super::typed::{Body, Expr, ExprKind, FnId, Program, Segment, StoreAccess, StoreId, Visitor, walk_expr};
use super::types::{Type, TypeDefKind};
use crate::manifest::{self, Effects, Manifest, Schema};

#[derive(Clone, Default, PartialEq)]
struct Touches {
    reads: BTreeSet<StoreId>,
    writes: BTreeSet<StoreId>,
    /// Indexes read (`users.by_email(v)`), by store and position.
    indexes: BTreeSet<(StoreId, i64)>,
}

impl Touches {
    fn extend(&mut self, other: &Touches) {
        self.reads.extend(&other.reads);
        self.writes.extend(&other.writes);
        self.indexes.extend(&other.indexes);
    }
}

/// What one body does directly: its store operations and the functions it
/// calls or refers to.
#[derive(Default)]
struct Direct {
    touches: Touches,
    calls: BTreeSet<FnId>,
}

struct Collect<'p> {
    program: &'p Program,
    direct: Direct,
}

impl Visitor for Collect<'_> {
    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Call { id, args, .. } => {
                self.direct.calls.insert(*id);
                if let (Some(access), Some(ExprKind::Store(store))) =
                    (self.program.function(*id).store_access, args.first().map(|a| &a.kind))
                {
                    match access {
                        StoreAccess::Reads => self.direct.touches.reads.insert(*store),
                        StoreAccess::Writes => self.direct.touches.writes.insert(*store),
                    };
                    // `index_get` and `index_page` take the index's position second.
                    if self.program.function(*id).name.starts_with("index_")
                        && let Some(ExprKind::Int(index)) = args.get(1).map(|a| &a.kind)
                    {
                        self.direct.touches.indexes.insert((*store, *index));
                    }
                }
            }
            ExprKind::Fn { id, .. } => {
                self.direct.calls.insert(*id);
            }
            _ => {}
        }
        walk_expr(self, e);
    }
}

fn direct(program: &Program, body: &Body) -> Direct {
    let mut c = Collect { program, direct: Direct::default() };
    c.expr(&body.value);
    c.direct
}

/// Builds the manifest of a checked program.
pub fn manifest(program: &Program) -> Manifest {
    let directs: Vec<Direct> =
        program.functions.iter().map(|f| f.body.as_ref().map(|b| direct(program, b)).unwrap_or_default()).collect();
    // Fixpoint: a function touches what it touches directly and what every
    // function it calls touches.
    let mut touches: Vec<Touches> = directs.iter().map(|d| d.touches.clone()).collect();
    loop {
        let mut changed = false;
        for (i, d) in directs.iter().enumerate() {
            let mut t = touches[i].clone();
            for callee in &d.calls {
                t.extend(&touches[callee.0 as usize]);
            }
            if t != touches[i] {
                touches[i] = t;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let effects = |body: &Body| {
        let d = direct(program, body);
        let mut t = d.touches;
        for callee in &d.calls {
            t.extend(&touches[callee.0 as usize]);
        }
        let names = |set: &BTreeSet<StoreId>| {
            let mut names: Vec<String> = set.iter().map(|s| program.stores[s.0 as usize].name.clone()).collect();
            names.sort();
            names
        };
        let mut indexes: Vec<String> = t
            .indexes
            .iter()
            .map(|(s, i)| {
                let store = &program.stores[s.0 as usize];
                format!("{}.{}", store.name, store.indexes[*i as usize].field)
            })
            .collect();
        indexes.sort();
        Effects { reads: names(&t.reads), writes: names(&t.writes), indexes }
    };
    Manifest {
        routes: program
            .routes
            .iter()
            .map(|r| manifest::Route {
                method: r.method.clone(),
                path: path_text(&r.path),
                params: r
                    .path
                    .iter()
                    .filter_map(|s| match s {
                        Segment::Param(n) | Segment::Rest(n) => Some(n.clone()),
                        Segment::Static(_) => None,
                    })
                    .collect(),
                effects: effects(&r.body),
            })
            .collect(),
        stores: program
            .stores
            .iter()
            .map(|s| manifest::Store {
                name: s.name.clone(),
                schema: schema(program, &s.value, &mut Vec::new()),
                indexes: s.indexes.iter().map(|i| manifest::Index { field: i.field.clone(), unique: i.unique }).collect(),
            })
            .collect(),
        crons: program
            .crons
            .iter()
            .map(|c| manifest::Cron { name: c.name.clone(), schedule: c.schedule.clone(), effects: effects(&c.body) })
            .collect(),
        secrets: program.secrets.iter().map(|s| s.name.clone()).collect(),
        cors: program.cors.clone(),
        tests: program.tests.iter().map(|t| t.name.clone()).collect(),
        main: program.main.is_some(),
    }
}

pub fn path_text(path: &[Segment]) -> String {
    if path.is_empty() {
        return "/".into();
    }
    path.iter()
        .map(|s| match s {
            Segment::Static(s) => format!("/{s}"),
            Segment::Param(n) => format!("/:{n}"),
            Segment::Rest(n) => format!("/*{n}"),
        })
        .collect()
}

/// The schema of a stored type; `expanding` holds the named types being
/// described, so that recursive types end in a [`Schema::Ref`].
fn schema(program: &Program, ty: &Type, expanding: &mut Vec<String>) -> Schema {
    let mut sub = |t: &Type| Box::new(schema(program, t, expanding));
    match ty {
        Type::Int => Schema::Int,
        Type::Float => Schema::Float,
        Type::Bool => Schema::Bool,
        Type::String => Schema::String,
        Type::List(t) => Schema::List(sub(t)),
        Type::Dict(t) => Schema::Dict(sub(t)),
        Type::Tuple(ts) if ts.is_empty() => Schema::Unit,
        Type::Tuple(ts) => Schema::Tuple(ts.iter().map(|t| schema(program, t, expanding)).collect()),
        Type::Named(id, args) => {
            let def = program.types.get(*id);
            match (def.name.as_str(), args.as_slice()) {
                ("Option", [t]) => return Schema::Option(sub(t)),
                ("Result", [t, e]) => return Schema::Result(sub(t), sub(e)),
                _ => {}
            }
            let name = program.types.show(ty);
            if expanding.contains(&name) {
                return Schema::Ref(name);
            }
            expanding.push(name.clone());
            let described = match &def.kind {
                TypeDefKind::Record(fields) => Schema::Record {
                    name,
                    fields: fields
                        .iter()
                        .map(|(n, t)| (n.clone(), schema(program, &t.instantiate(args), expanding)))
                        .collect(),
                },
                TypeDefKind::Enum(variants) => Schema::Enum {
                    name,
                    variants: variants
                        .iter()
                        .map(|(n, ts)| (n.clone(), ts.iter().map(|t| schema(program, &t.instantiate(args), expanding)).collect()))
                        .collect(),
                },
            };
            expanding.pop();
            described
        }
        // Stores hold only encodable types (E0503 rejects the rest).
        Type::Fn(..) | Type::Store(_) | Type::Param(..) | Type::Var(_) | Type::Error => Schema::Unit,
    }
}
