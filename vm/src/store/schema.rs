//! A store's schema: the canonical description of its value type that is
//! recorded with the data, its text form, and the compatibility check
//! between a recorded schema and the program's type, which yields the
//! `Plan` that reads rows written under the recorded schema as values of
//! the program's type.
//!
//! A schema is a graph of nodes (types refer to each other, so recursive
//! types are finite), numbered in the order a breadth-first walk from the
//! value type (node 0) first meets them. Its text form, one node a line:
//!
//! ```text
//! distlang-schema 1
//! 0 record Todo title:1 done:2 tags:3 due:4
//! 1 String
//! 2 Bool
//! 3 List 1
//! 4 enum Option Some(5) None()
//! 5 Int
//! ```
//!
//! Other node kinds: `Float`, `Dict V`, `Tuple A B …` (`Tuple` alone is
//! `Unit`). Names are written with every byte outside `[A-Za-z0-9_]` as
//! `%XX`.

use std::collections::HashMap;
use std::fmt::Write;

use crate::types::{Ty, TypeIdx, Types};
use crate::value::Word;

const HEADER: &str = "distlang-schema 1";

/// A node's index in its `Schema`.
pub type NodeIdx = u32;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Int,
    Float,
    Bool,
    Str,
    List(NodeIdx),
    Dict(NodeIdx),
    /// The empty tuple is `Unit`.
    Tuple(Vec<NodeIdx>),
    Record {
        name: String,
        fields: Vec<(String, NodeIdx)>,
    },
    Enum {
        name: String,
        variants: Vec<(String, Vec<NodeIdx>)>,
    },
}

/// A value type as recorded: node 0 is the value type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schema {
    pub nodes: Vec<Node>,
}

impl Schema {
    /// The schema of type `root` of the program; `Err` with the name of the
    /// type if it contains a function (which cannot be stored).
    pub fn of_type(types: &Types, root: TypeIdx) -> Result<Schema, String> {
        let mut index: HashMap<TypeIdx, NodeIdx> = HashMap::new();
        let mut order: Vec<TypeIdx> = Vec::new();
        let mut nodes: Vec<Node> = Vec::new();
        let mut visit = |ty: TypeIdx, order: &mut Vec<TypeIdx>| -> NodeIdx {
            *index.entry(ty).or_insert_with(|| {
                order.push(ty);
                order.len() as NodeIdx - 1
            })
        };
        visit(root, &mut order);
        let mut next = 0;
        while next < order.len() {
            let ty = order[next];
            next += 1;
            let node = match types.get(ty) {
                Ty::Int => Node::Int,
                Ty::Float => Node::Float,
                Ty::Bool => Node::Bool,
                Ty::Str => Node::Str,
                Ty::List(e) => Node::List(visit(*e, &mut order)),
                Ty::Dict(v) => Node::Dict(visit(*v, &mut order)),
                Ty::Tuple(items) => Node::Tuple(items.iter().map(|t| visit(*t, &mut order)).collect()),
                Ty::Record { name, fields, .. } => Node::Record {
                    name: name.to_string(),
                    fields: fields.iter().map(|(f, t)| (f.to_string(), visit(*t, &mut order))).collect(),
                },
                Ty::Enum { name, variants, .. } => Node::Enum {
                    name: name.to_string(),
                    variants: variants
                        .iter()
                        .map(|v| (v.name.to_string(), v.fields.iter().map(|t| visit(*t, &mut order)).collect()))
                        .collect(),
                },
                Ty::Func => return Err(types.name(ty)),
            };
            nodes.push(node);
        }
        Ok(Schema { nodes })
    }

    /// The text form (see the module documentation).
    pub fn to_text(&self) -> String {
        let mut out = String::from(HEADER);
        out.push('\n');
        for (i, node) in self.nodes.iter().enumerate() {
            let _ = write!(out, "{i} ");
            match node {
                Node::Int => out.push_str("Int"),
                Node::Float => out.push_str("Float"),
                Node::Bool => out.push_str("Bool"),
                Node::Str => out.push_str("String"),
                Node::List(e) => {
                    let _ = write!(out, "List {e}");
                }
                Node::Dict(v) => {
                    let _ = write!(out, "Dict {v}");
                }
                Node::Tuple(items) => {
                    out.push_str("Tuple");
                    for t in items {
                        let _ = write!(out, " {t}");
                    }
                }
                Node::Record { name, fields } => {
                    out.push_str("record ");
                    push_name(&mut out, name);
                    for (f, t) in fields {
                        out.push(' ');
                        push_name(&mut out, f);
                        let _ = write!(out, ":{t}");
                    }
                }
                Node::Enum { name, variants } => {
                    out.push_str("enum ");
                    push_name(&mut out, name);
                    for (v, payload) in variants {
                        out.push(' ');
                        push_name(&mut out, v);
                        out.push('(');
                        for (j, t) in payload.iter().enumerate() {
                            if j > 0 {
                                out.push(',');
                            }
                            let _ = write!(out, "{t}");
                        }
                        out.push(')');
                    }
                }
            }
            out.push('\n');
        }
        out
    }

    /// Parses the text form; `Err` says what is wrong.
    pub fn parse(text: &str) -> Result<Schema, String> {
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(format!("not a schema (expected the line `{HEADER}`)"));
        }
        let mut nodes = Vec::new();
        for (i, line) in lines.enumerate() {
            let bad = || format!("bad schema line {}: {line:?}", i + 2);
            let mut words = line.split(' ');
            if words.next().and_then(|w| w.parse::<usize>().ok()) != Some(i) {
                return Err(bad());
            }
            let index = |w: &str| w.parse::<NodeIdx>().map_err(|_| bad());
            let node = match words.next() {
                Some("Int") => Node::Int,
                Some("Float") => Node::Float,
                Some("Bool") => Node::Bool,
                Some("String") => Node::Str,
                Some("List") => Node::List(index(words.next().ok_or_else(bad)?)?),
                Some("Dict") => Node::Dict(index(words.next().ok_or_else(bad)?)?),
                Some("Tuple") => Node::Tuple(words.by_ref().map(index).collect::<Result<_, _>>()?),
                Some("record") => {
                    let name = read_name(words.next().ok_or_else(bad)?).ok_or_else(bad)?;
                    let mut fields = Vec::new();
                    for w in words.by_ref() {
                        let (f, t) = w.split_once(':').ok_or_else(bad)?;
                        fields.push((read_name(f).ok_or_else(bad)?, index(t)?));
                    }
                    Node::Record { name, fields }
                }
                Some("enum") => {
                    let name = read_name(words.next().ok_or_else(bad)?).ok_or_else(bad)?;
                    let mut variants = Vec::new();
                    for w in words.by_ref() {
                        let (v, rest) = w.split_once('(').ok_or_else(bad)?;
                        let payload = rest.strip_suffix(')').ok_or_else(bad)?;
                        let payload = if payload.is_empty() {
                            Vec::new()
                        } else {
                            payload.split(',').map(index).collect::<Result<_, _>>()?
                        };
                        variants.push((read_name(v).ok_or_else(bad)?, payload));
                    }
                    Node::Enum { name, variants }
                }
                _ => return Err(bad()),
            };
            if words.next().is_some() {
                return Err(bad());
            }
            nodes.push(node);
        }
        let count = nodes.len() as NodeIdx;
        let refs_ok = nodes.iter().all(|n| match n {
            Node::List(t) | Node::Dict(t) => *t < count,
            Node::Tuple(items) => items.iter().all(|t| *t < count),
            Node::Record { fields, .. } => fields.iter().all(|(_, t)| *t < count),
            Node::Enum { variants, .. } => variants.iter().all(|(_, p)| p.iter().all(|t| *t < count)),
            _ => true,
        });
        if nodes.is_empty() || !refs_ok {
            return Err("bad schema: a type refers to a missing node".to_string());
        }
        Ok(Schema { nodes })
    }

    /// Node `n` as a programmer writes the type (`List<Int>`, `Option<Todo>`).
    pub fn name(&self, n: NodeIdx) -> String {
        let mut out = String::new();
        self.write_name(&mut out, n, 0);
        out
    }

    fn write_name(&self, out: &mut String, n: NodeIdx, depth: usize) {
        if depth > 16 {
            out.push('…');
            return;
        }
        let list = |out: &mut String, items: &[NodeIdx]| {
            for (i, t) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                self.write_name(out, *t, depth + 1);
            }
        };
        match &self.nodes[n as usize] {
            Node::Int => out.push_str("Int"),
            Node::Float => out.push_str("Float"),
            Node::Bool => out.push_str("Bool"),
            Node::Str => out.push_str("String"),
            Node::List(e) => {
                out.push_str("List<");
                self.write_name(out, *e, depth + 1);
                out.push('>');
            }
            Node::Dict(v) => {
                out.push_str("Dict<");
                self.write_name(out, *v, depth + 1);
                out.push('>');
            }
            Node::Tuple(items) if items.is_empty() => out.push_str("Unit"),
            Node::Tuple(items) => {
                out.push('(');
                list(out, items);
                out.push(')');
            }
            Node::Record { name, .. } => out.push_str(name),
            Node::Enum { name, variants } => {
                out.push_str(name);
                if let Some(payload) = option_payload(name, variants) {
                    out.push('<');
                    self.write_name(out, payload, depth + 1);
                    out.push('>');
                }
            }
        }
    }
}

/// The payload type of the prelude's `Option` (an enum named `Option` with
/// `Some(T)` and `None`), else `None`.
fn option_payload(name: &str, variants: &[(String, Vec<NodeIdx>)]) -> Option<NodeIdx> {
    match variants {
        [(some, p), (none, q)]
            if name == "Option" && some == "Some" && none == "None" && p.len() == 1 && q.is_empty() =>
        {
            Some(p[0])
        }
        _ => None,
    }
}

fn push_name(out: &mut String, name: &str) {
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

fn read_name(word: &str) -> Option<String> {
    let bytes = word.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = word.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b if b.is_ascii_alphanumeric() || b == b'_' => {
                out.push(b);
                i += 1;
            }
            _ => return None,
        }
    }
    if out.is_empty() {
        return None;
    }
    String::from_utf8(out).ok()
}

// ---- compatibility ----

/// A plan node's index in its `Plan`.
pub type PlanIdx = u32;

/// How to read a value written under a recorded schema as a value of the
/// program's type: one node per (recorded node, program type) pair met.
pub enum Step {
    Int,
    Float,
    Bool,
    Str,
    List(PlanIdx),
    Dict(PlanIdx),
    Tuple(Box<[PlanIdx]>),
    /// The recorded fields in their recorded order, each with its word in
    /// the program's record (`width` words); the `missing` words (new
    /// fields) are their default (JSON text, of the field's type) or `None`.
    Record {
        width: usize,
        fields: Box<[(usize, PlanIdx)]>,
        missing: Box<[(usize, Option<(Box<str>, TypeIdx)>)]>,
    },
    /// Per recorded tag: the program's tag and the payload.
    Enum {
        variants: Box<[(Word, Box<[PlanIdx]>)]>,
        option: bool,
    },
}

pub struct Plan {
    pub steps: Vec<Step>,
    /// Per step: every value's encoding takes at least one byte (so a list
    /// of `n` of them takes at least `n`), or possibly none (`Unit`).
    pub nonempty: Vec<bool>,
}

/// Where an incompatibility is, and what it is.
struct Diff {
    /// `tags[]`, `meta.created`, `shape.Rect.1`; empty for the value type.
    path: String,
    kind: DiffKind,
}

enum DiffKind {
    Retyped { was: String, now: String },
    FieldRemoved,
    FieldNotOption { ty: String },
    VariantRemoved { enum_name: String, variant: String },
    VariantArity { enum_name: String, variant: String, was: usize, now: usize },
}

impl Diff {
    fn message(&self) -> String {
        let at = |what: &str| {
            if self.path.is_empty() { what.to_string() } else { format!("{what} `{}`", self.path) }
        };
        match &self.kind {
            DiffKind::Retyped { was, now } if self.path.is_empty() => {
                format!("the value type was {was}, is now {now}")
            }
            DiffKind::Retyped { was, now } => format!("{} was {was}, is now {now}", at("field")),
            DiffKind::FieldRemoved => format!("{} was removed", at("field")),
            DiffKind::FieldNotOption { ty } => format!(
                "{} is new and of type {ty}, which is not an Option and has no default (the stored values have no value for it)",
                at("field")
            ),
            DiffKind::VariantRemoved { enum_name, variant } if self.path.is_empty() => {
                format!("variant `{variant}` of {enum_name} was removed")
            }
            DiffKind::VariantRemoved { enum_name, variant } => {
                format!("variant `{variant}` of {enum_name} was removed (at `{}`)", self.path)
            }
            DiffKind::VariantArity { enum_name, variant, was, now } => {
                let fields = |n: &usize| if *n == 1 { "1 field".to_string() } else { format!("{n} fields") };
                let at = if self.path.is_empty() { String::new() } else { format!(" (at `{}`)", self.path) };
                format!("variant `{variant}` of {enum_name} had {}, now has {}{at}", fields(was), fields(now))
            }
        }
    }
}

fn join(path: &str, segment: &str) -> String {
    if path.is_empty() { segment.to_string() } else { format!("{path}.{segment}") }
}

struct Checker<'a> {
    old: &'a Schema,
    types: &'a Types,
    memo: HashMap<(NodeIdx, TypeIdx), PlanIdx>,
    steps: Vec<Option<Step>>,
}

impl Checker<'_> {
    fn retyped(&self, path: &str, node: NodeIdx, ty: TypeIdx) -> Diff {
        Diff { path: path.to_string(), kind: DiffKind::Retyped { was: self.old.name(node), now: self.types.name(ty) } }
    }

    /// Checks a part that is not a user record or enum (a list's elements,
    /// a tuple's items, an option's payload): a type change there is
    /// reported as a change of the enclosing type at `path`.
    fn inner(
        &mut self,
        path: &str,
        inner_path: &str,
        at: (NodeIdx, TypeIdx),
        node: NodeIdx,
        ty: TypeIdx,
    ) -> Result<PlanIdx, Diff> {
        match self.check(inner_path, node, ty) {
            Err(Diff { path: p, kind: DiffKind::Retyped { .. } }) if p == inner_path => {
                Err(self.retyped(path, at.0, at.1))
            }
            other => other,
        }
    }

    fn check(&mut self, path: &str, node: NodeIdx, ty: TypeIdx) -> Result<PlanIdx, Diff> {
        if let Some(&p) = self.memo.get(&(node, ty)) {
            return Ok(p);
        }
        let me = self.steps.len() as PlanIdx;
        self.memo.insert((node, ty), me);
        self.steps.push(None);
        let old = self.old;
        let types = self.types;
        let step = match (&old.nodes[node as usize], types.get(ty)) {
            (Node::Int, Ty::Int) => Step::Int,
            (Node::Float, Ty::Float) => Step::Float,
            (Node::Bool, Ty::Bool) => Step::Bool,
            (Node::Str, Ty::Str) => Step::Str,
            (Node::List(e), Ty::List(f)) => Step::List(self.inner(path, &format!("{path}[]"), (node, ty), *e, *f)?),
            (Node::Dict(e), Ty::Dict(f)) => Step::Dict(self.inner(path, &format!("{path}{{}}"), (node, ty), *e, *f)?),
            (Node::Tuple(a), Ty::Tuple(b)) if a.len() == b.len() => {
                let mut items = Vec::with_capacity(a.len());
                for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
                    items.push(self.inner(path, &join(path, &i.to_string()), (node, ty), *x, *y)?);
                }
                Step::Tuple(items.into())
            }
            (Node::Record { fields: old_fields, .. }, Ty::Record { fields: new_fields, defaults, .. }) => {
                let mut fields = Vec::with_capacity(old_fields.len());
                for (name, t) in old_fields {
                    let field_path = join(path, name);
                    let Some(slot) = new_fields.iter().position(|(f, _)| **f == **name) else {
                        return Err(Diff { path: field_path, kind: DiffKind::FieldRemoved });
                    };
                    fields.push((slot, self.check(&field_path, *t, new_fields[slot].1)?));
                }
                let mut missing = Vec::new();
                for (slot, (name, t)) in new_fields.iter().enumerate() {
                    if old_fields.iter().any(|(f, _)| **f == **name) {
                        continue;
                    }
                    let default = defaults[slot].clone().map(|text| (text, *t));
                    if default.is_none() && !matches!(types.get(*t), Ty::Enum { option: true, .. }) {
                        return Err(Diff {
                            path: join(path, name),
                            kind: DiffKind::FieldNotOption { ty: types.name(*t) },
                        });
                    }
                    missing.push((slot, default));
                }
                Step::Record { width: new_fields.len(), fields: fields.into(), missing: missing.into() }
            }
            (
                Node::Enum { name: old_name, variants: old_variants },
                Ty::Enum { variants: new_variants, option, .. },
            ) => {
                let is_option = *option && option_payload(old_name, old_variants).is_some();
                let mut variants = Vec::with_capacity(old_variants.len());
                for (vname, payload) in old_variants {
                    let Some(tag) = new_variants.iter().position(|v| *v.name == **vname) else {
                        return Err(Diff {
                            path: path.to_string(),
                            kind: DiffKind::VariantRemoved { enum_name: old_name.clone(), variant: vname.clone() },
                        });
                    };
                    let new_payload = &new_variants[tag].fields;
                    if new_payload.len() != payload.len() {
                        return Err(Diff {
                            path: path.to_string(),
                            kind: DiffKind::VariantArity {
                                enum_name: old_name.clone(),
                                variant: vname.clone(),
                                was: payload.len(),
                                now: new_payload.len(),
                            },
                        });
                    }
                    let mut items = Vec::with_capacity(payload.len());
                    for (i, (x, y)) in payload.iter().zip(new_payload.iter()).enumerate() {
                        items.push(if is_option {
                            self.inner(path, path, (node, ty), *x, *y)?
                        } else {
                            self.check(&join(path, &format!("{vname}.{i}")), *x, *y)?
                        });
                    }
                    variants.push((tag as Word, items.into()));
                }
                Step::Enum { variants: variants.into(), option: *option }
            }
            _ => return Err(self.retyped(path, node, ty)),
        };
        self.steps[me as usize] = Some(step);
        Ok(me)
    }
}

/// Whether data written under `old` can be read as values of type `ty`:
/// the plan to read it, or the message naming the first difference that
/// forbids it (a field removed or retyped, a variant removed, a new field
/// that is not an `Option`).
pub fn plan(old: &Schema, types: &Types, ty: TypeIdx) -> Result<Plan, String> {
    let mut checker = Checker { old, types, memo: HashMap::new(), steps: Vec::new() };
    checker.check("", 0, ty).map_err(|d| d.message())?;
    // Every step is filled in once the check of the value type succeeds.
    let steps: Vec<Step> = checker
        .steps
        .into_iter()
        .collect::<Option<_>>()
        .ok_or_else(|| "internal error: incomplete schema plan".to_string())?;
    let nonempty = nonempty_steps(&steps);
    Ok(Plan { steps, nonempty })
}

/// The least fixpoint of "the encoding takes at least one byte": a tuple or
/// record does exactly when one of its parts does.
fn nonempty_steps(steps: &[Step]) -> Vec<bool> {
    let mut nonempty: Vec<bool> = steps.iter().map(|s| !matches!(s, Step::Tuple(_) | Step::Record { .. })).collect();
    loop {
        let mut changed = false;
        for (i, step) in steps.iter().enumerate() {
            if nonempty[i] {
                continue;
            }
            let now = match step {
                Step::Tuple(items) => items.iter().any(|p| nonempty[*p as usize]),
                Step::Record { fields, .. } => fields.iter().any(|(_, p)| nonempty[*p as usize]),
                _ => true,
            };
            if now {
                nonempty[i] = true;
                changed = true;
            }
        }
        if !changed {
            return nonempty;
        }
    }
}
