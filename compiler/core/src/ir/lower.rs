//! Lowering of the typed program into the IR: generic functions are
//! instantiated on demand from `main` (monomorphisation), lambdas become
//! closure functions, expressions become A-normal form.

use std::collections::{HashMap, VecDeque};

use dl_abi as abi;

use super::matching;
use super::*;
use crate::check::typed::{self, ExprKind, FnId, LocalId, PatternKind, Program};
use crate::check::types::{Type, TypeDefKind, TypeId};
use crate::diagnostic::{Code, Diagnostic};
use crate::manifest::Manifest;
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::ast::{self, Literal};

/// More instances than this means polymorphic recursion (`f<T>` calling
/// `f<List<T>>`), which monomorphisation cannot finish.
const MAX_INSTANCES: usize = 20_000;
const MAX_TYPE_DEPTH: usize = 40;

/// Lowers the whole program reachable from its entry points: `fn main`,
/// routes, crons and what `entries` adds. `manifest` says which of them
/// only read stores.
pub fn lower(program: &Program, manifest: &Manifest, sources: &SourceMap, entries: &Entries) -> Result<Module, Vec<Diagnostic>> {
    let mut lowerer = Lowerer {
        program,
        sources,
        module: Module::default(),
        instances: HashMap::new(),
        queue: VecDeque::new(),
        externs: HashMap::new(),
        strings: HashMap::new(),
        errors: Vec::new(),
        // The program's file is the last one, after the stdlib's.
        user_file: sources.files().last().map(|(id, _)| id),
        values: HashMap::new(),
        hosted: entries.functions.iter().copied().collect(),
    };
    // String 0 is empty: the location of operations that cannot fail.
    lowerer.string("");
    for store in &program.stores {
        let value = lowerer.intern(&store.value);
        let indexes = store
            .indexes
            .iter()
            .map(|index| {
                use dl_abi::descriptor::{INDEX_EACH, INDEX_UNIQUE};
                let key = match index.key {
                    Type::Int => dl_abi::TypeTag::Int,
                    Type::Bool => dl_abi::TypeTag::Bool,
                    _ => dl_abi::TypeTag::String,
                };
                let flags = if index.unique { INDEX_UNIQUE } else { 0 } | if index.each { INDEX_EACH } else { 0 };
                super::IndexDecl { field: index.field.clone(), slot: index.slot, key, flags }
            })
            .collect();
        lowerer.module.stores.push(StoreDecl { name: store.name.clone(), value, indexes });
    }
    lowerer.module.secrets = program.secrets.iter().map(|s| s.name.clone()).collect();
    lowerer.module.cors = program.cors.clone();
    if entries.program {
        for (i, route) in program.routes.iter().enumerate() {
            let access = manifest.routes.get(i).map_or(Access::Writes, |r| super::access(&r.effects));
            let func = lowerer.lower_route(route);
            let path = sources.text(route.span).to_string();
            lowerer.module.routes.push(Route { method: route.method.clone(), path, func, access });
        }
        for (i, cron) in program.crons.iter().enumerate() {
            let access = manifest.crons.get(i).map_or(Access::Writes, |c| super::access(&c.effects));
            let func = lowerer.lower_unit_entry(format!("cron {}", cron.name), &cron.body, cron.span);
            lowerer.module.crons.push(Cron { name: cron.name.clone(), schedule: cron.schedule.clone(), func, access });
        }
    }
    if entries.tests {
        for test in &program.tests {
            let func = lowerer.lower_unit_entry(format!("test {:?}", test.name), &test.body, test.span);
            lowerer.module.tests.push(Test { name: test.name.clone(), func });
        }
    }
    for &id in &entries.functions {
        let idx = lowerer.instance(id, Vec::new());
        lowerer.module.entries.push(idx);
    }
    match program.main.filter(|_| entries.program) {
        Some(main) => {
            let idx = lowerer.instance(main, Vec::new());
            lowerer.module.main = Some(idx);
        }
        None if !entries.program => {}
        None if program.routes.is_empty() && program.crons.is_empty() && lowerer.module.tests.is_empty() => {
            let file = lowerer.user_file.unwrap_or_default();
            let span = Span::new(file, 0, 0);
            lowerer.errors.push(
                Diagnostic::error(Code::NothingToRun, "this program has nothing to run")
                    .label(span, "no `fn main`, route or cron in this file")
                    .hint("add `fn main() { … }` to make it a script"),
            );
        }
        None => {}
    }
    while let Some(job) = lowerer.queue.pop_front() {
        if lowerer.module.functions.len() > MAX_INSTANCES {
            let span = program.function(job.id).span;
            lowerer.unsupported(span, "polymorphic recursion (a generic function that calls itself at ever larger types)");
            break;
        }
        lowerer.lower_instance(job);
    }
    if !lowerer.errors.is_empty() {
        return Err(lowerer.errors);
    }
    let mut module = lowerer.module;
    super::inline::run(&mut module);
    module.type_table = module.types.encode(&program.types);
    Ok(module)
}

/// The runtime's symbol for an `extern fn` of the stdlib: `dl_print`,
/// `dl_String_upper`.
pub fn extern_symbol(function: &typed::Function) -> String {
    dl_abi::extern_symbol(function.module.as_deref(), &function.name)
}

struct Job {
    id: FnId,
    type_args: Vec<Type>,
    idx: FuncIdx,
}

pub(super) struct Lowerer<'p> {
    program: &'p Program,
    sources: &'p SourceMap,
    pub(super) module: Module,
    instances: HashMap<(FnId, String), FuncIdx>,
    queue: VecDeque<Job>,
    externs: HashMap<String, ExternIdx>,
    strings: HashMap<String, StrIdx>,
    errors: Vec<Diagnostic>,
    user_file: Option<FileId>,
    /// Stdlib functions as values, by instance and the location naming them.
    values: HashMap<(FuncIdx, StrIdx), FuncIdx>,
    /// [`Entries::functions`].
    hosted: std::collections::HashSet<FnId>,
}

impl<'p> Lowerer<'p> {
    /// Reports a construct the backend cannot compile yet.
    pub(super) fn unsupported(&mut self, span: Span, what: &str) {
        self.errors.push(
            Diagnostic::error(Code::Unsupported, format!("not supported by `dlc build` yet: {what}"))
                .label(span, "cannot be compiled yet"),
        );
    }

    pub(super) fn string(&mut self, text: &str) -> StrIdx {
        if let Some(&idx) = self.strings.get(text) {
            return idx;
        }
        let idx = StrIdx(self.module.strings.len() as u32);
        self.module.strings.push(text.to_string());
        self.strings.insert(text.to_string(), idx);
        idx
    }

    /// Whether `id` is a stdlib function: its instances take the location
    /// of their caller as a last, hidden parameter, and report their runtime
    /// errors there (the user's call, not a line of the embedded stdlib).
    /// A function a host calls itself ([`Entries::functions`]) takes only
    /// its declared parameters.
    fn takes_caller(&self, id: FnId) -> bool {
        Some(self.program.function(id).span.file) != self.user_file && !self.hosted.contains(&id)
    }

    /// The `file:line:col` string of a span.
    pub(super) fn loc(&mut self, span: Span) -> StrIdx {
        let text = self.sources.location(span).to_string();
        self.string(&text)
    }

    pub(super) fn intern(&mut self, ty: &Type) -> TypeIdx {
        self.module.types.intern(ty, &self.program.types)
    }

    pub(super) fn runtime(&mut self, f: abi::RuntimeFn) -> ExternIdx {
        self.extern_fn(f.symbol, f.params, f.ret)
    }

    /// The extern for `symbol`, declared on first use.
    fn extern_fn(&mut self, symbol: &str, params: &[Repr], ret: Option<Repr>) -> ExternIdx {
        if let Some(&idx) = self.externs.get(symbol) {
            return idx;
        }
        let idx = ExternIdx(self.module.externs.len() as u32);
        self.module.externs.push(Extern { symbol: symbol.to_string(), params: params.to_vec(), ret });
        self.externs.insert(symbol.to_string(), idx);
        idx
    }

    /// The function for `id` at these (concrete) type arguments, queued for
    /// lowering on first use.
    fn instance(&mut self, id: FnId, type_args: Vec<Type>) -> FuncIdx {
        let key = (id, format!("{type_args:?}"));
        if let Some(&idx) = self.instances.get(&key) {
            return idx;
        }
        let function = self.program.function(id);
        let mut name = function.qualified_name();
        if !type_args.is_empty() {
            let args: Vec<String> = type_args.iter().map(|t| self.program.types.show(t)).collect();
            name = format!("{name}<{}>", args.join(", "));
        }
        let loc = self.loc(function.span);
        let ret = self.intern(&function.ret.instantiate(&type_args));
        let idx = self.reserve(name, Abi::Direct, ret, loc);
        self.instances.insert(key, idx);
        self.queue.push_back(Job { id, type_args, idx });
        idx
    }

    /// A placeholder function, filled in when its body is lowered.
    fn reserve(&mut self, name: String, abi: Abi, ret: TypeIdx, loc: StrIdx) -> FuncIdx {
        let idx = FuncIdx(self.module.functions.len() as u32);
        self.module.functions.push(Function { name, abi, params: Vec::new(), ret, vars: Vec::new(), body: Vec::new(), loc });
        idx
    }

    /// A route as a function `(params: List<String>, request) -> Response`:
    /// its path parameters are taken from the list, and a value that is not
    /// a `Response` is answered as `json(value)`.
    fn lower_route(&mut self, route: &'p typed::Route) -> FuncIdx {
        let response = Type::Named(self.prelude_type("Response"), Vec::new());
        let ret = self.intern(&response);
        let loc = self.loc(route.span);
        let idx = self.reserve(format!("route {} {}", route.method, self.sources.text(route.span)), Abi::Direct, ret, loc);
        let mut fb = FnBuilder::new(self, Vec::new(), &route.body.locals);
        fb.entry = Entry::Route;
        let params = fb.new_var("params", &Type::List(Box::new(Type::String)));
        let request = fb.local_var(route.request);
        for (i, &local) in route.params.iter().filter(|&&p| p != route.request).enumerate() {
            let var = fb.local_var(local);
            fb.emit(Stmt::Let(var, Rvalue::ListItem { list: Operand::Var(params), index: Operand::Const(Const::Int(i as i64)) }));
        }
        let value = fb.expr(&route.body.value);
        let value_ty = fb.concrete(&route.body.value.ty);
        let answer = if value_ty == response {
            value
        } else {
            let json = fb.lw.prelude_fn("json");
            fb.call(json, vec![value_ty], vec![value], route.span, &response)
        };
        fb.finish(idx, vec![params, request], answer);
        idx
    }

    /// A cron as a function `() -> Unit`.
    /// A cron or a test: a `() -> Unit` function in which `?` fails the run.
    fn lower_unit_entry(&mut self, name: String, body: &'p typed::Body, span: Span) -> FuncIdx {
        let ret = self.intern(&Type::UNIT);
        let loc = self.loc(span);
        let idx = self.reserve(name, Abi::Direct, ret, loc);
        let mut fb = FnBuilder::new(self, Vec::new(), &body.locals);
        fb.entry = Entry::Cron;
        let value = fb.expr(&body.value);
        fb.finish(idx, Vec::new(), value);
        idx
    }

    /// A type of the prelude, by name (`Response`).
    fn prelude_type(&self, name: &str) -> TypeId {
        let index = self.program.types.defs.iter().position(|d| d.name == name).expect("the prelude declares it");
        TypeId(index as u32)
    }

    /// A function of the prelude or of a stdlib module, by name.
    pub(super) fn stdlib_fn(&self, module: Option<&str>, name: &str) -> FnId {
        let index = self
            .program
            .functions
            .iter()
            .position(|f| f.module.as_deref() == module && f.name == name)
            .expect("the stdlib declares it");
        FnId(index as u32)
    }

    fn prelude_fn(&self, name: &str) -> FnId {
        self.stdlib_fn(None, name)
    }

    fn lower_instance(&mut self, job: Job) {
        let program = self.program;
        let function = program.function(job.id);
        if job.type_args.iter().any(|t| depth(t) > MAX_TYPE_DEPTH) {
            self.unsupported(function.span, "polymorphic recursion (a generic function that calls itself at ever larger types)");
            return;
        }
        let idx = job.idx;
        let takes_caller = self.takes_caller(job.id);
        let mut fb = FnBuilder::new(self, job.type_args, &[]);
        let caller = takes_caller.then(|| fb.new_var("caller", &Type::String));
        match &function.body {
            Some(body) => {
                fb.locals = &body.locals;
                let mut params: Vec<VarId> = function.params.iter().map(|&p| fb.local_var(p)).collect();
                params.extend(caller);
                fb.caller = caller;
                let value = fb.expr(&body.value);
                fb.finish(idx, params, value);
            }
            None => {
                // An extern used as a function value: a function that calls it.
                let (mut params, args) = fb.forwarding(&function.param_types);
                params.extend(caller);
                fb.caller = caller;
                let type_args = fb.subst.clone();
                let value = fb.extern_call(job.id, &type_args, args, function.span, &function.ret.instantiate(&type_args));
                fb.finish(idx, params, value);
            }
        }
    }
}

impl Lowerer<'_> {
    /// Function `id` at `type_args` as a value named at `span`: a stdlib
    /// function, which takes its caller's location, is wrapped in a
    /// function that passes `span`'s.
    fn function_value(&mut self, id: FnId, type_args: Vec<Type>, span: Span) -> FuncIdx {
        let func = self.instance(id, type_args.clone());
        if !self.takes_caller(id) {
            return func;
        }
        let loc = self.loc(span);
        if let Some(&wrapper) = self.values.get(&(func, loc)) {
            return wrapper;
        }
        let function = self.program.function(id);
        let (name, ret) = {
            let callee = &self.module.functions[func.0 as usize];
            (format!("{}@{}", callee.name, self.module.strings[loc.0 as usize]), callee.ret)
        };
        let wrapper = self.reserve(name, Abi::Direct, ret, loc);
        self.values.insert((func, loc), wrapper);
        let mut fb = FnBuilder::new(self, type_args.clone(), &[]);
        let (params, mut args) = fb.forwarding(&function.param_types);
        args.push(Operand::Const(Const::Str(loc)));
        let value = fb.assign(&function.ret.instantiate(&type_args), Rvalue::Call { func, args });
        fb.finish(wrapper, params, value);
        wrapper
    }
}

fn depth(ty: &Type) -> usize {
    match ty {
        Type::List(t) | Type::Dict(t) | Type::Store(t) => 1 + depth(t),
        Type::Tuple(ts) | Type::Named(_, ts) => 1 + ts.iter().map(depth).max().unwrap_or(0),
        Type::Fn(ps, r) => 1 + ps.iter().map(depth).max().unwrap_or(0).max(depth(r)),
        _ => 0,
    }
}

/// Lowers one function body (or lambda) into a [`Function`].
pub(super) struct FnBuilder<'a, 'p> {
    pub(super) lw: &'a mut Lowerer<'p>,
    /// The type arguments of the instance being lowered.
    subst: Vec<Type>,
    locals: &'p [typed::Local],
    vars: Vec<Var>,
    local_vars: HashMap<LocalId, VarId>,
    /// Statements being built; the last is the current block.
    blocks: Vec<Block>,
    /// Labels of the enclosing loops, innermost last.
    loops: Vec<Label>,
    next_label: u32,
    /// What `?` does with an `Err`.
    entry: Entry,
    /// In a stdlib function (or a lambda inside one): the hidden parameter
    /// holding its caller's location, where its runtime errors are reported.
    caller: Option<VarId>,
}

/// The kind of body being lowered, for `?`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// A function or lambda: `?` returns the `Err`.
    Function,
    /// `?` answers `400 {"error": message}`.
    Route,
    /// A cron or a test: `?` fails the run with the message.
    Cron,
}

impl<'a, 'p> FnBuilder<'a, 'p> {
    fn new(lw: &'a mut Lowerer<'p>, subst: Vec<Type>, locals: &'p [typed::Local]) -> Self {
        FnBuilder {
            lw,
            subst,
            locals,
            vars: Vec::new(),
            local_vars: HashMap::new(),
            blocks: vec![Vec::new()],
            loops: Vec::new(),
            next_label: 0,
            entry: Entry::Function,
            caller: None,
        }
    }

    /// Parameters of `types` for a function that only forwards them: the
    /// variables, and the same as arguments.
    fn forwarding(&mut self, types: &[Type]) -> (Vec<VarId>, Vec<Operand>) {
        let params: Vec<VarId> = types.iter().enumerate().map(|(i, ty)| self.new_var(format!("p{i}"), ty)).collect();
        let args = params.iter().map(|&v| Operand::Var(v)).collect();
        (params, args)
    }

    fn finish(mut self, idx: FuncIdx, params: Vec<VarId>, value: Operand) {
        // A `Unit` function may end with a value it drops.
        let ret = self.lw.module.functions[idx.0 as usize].ret;
        let value = if self.lw.module.types.get(ret).is_unit() { Operand::Const(Const::Unit) } else { value };
        self.emit(Stmt::Return(value));
        let function = &mut self.lw.module.functions[idx.0 as usize];
        function.params = params;
        function.vars = self.vars;
        function.body = self.blocks.pop().unwrap_or_default();
    }

    // --- building blocks -------------------------------------------------

    pub(super) fn emit(&mut self, stmt: Stmt) {
        if let Some(block) = self.blocks.last_mut() {
            block.push(stmt);
        }
    }

    /// Runs `f` with a fresh current block and returns what it emitted.
    pub(super) fn block(&mut self, f: impl FnOnce(&mut Self)) -> Block {
        self.blocks.push(Vec::new());
        f(self);
        self.blocks.pop().unwrap_or_default()
    }

    pub(super) fn label(&mut self) -> Label {
        self.next_label += 1;
        Label(self.next_label - 1)
    }

    pub(super) fn concrete(&self, ty: &Type) -> Type {
        ty.instantiate(&self.subst)
    }

    pub(super) fn type_idx(&mut self, ty: &Type) -> TypeIdx {
        let ty = self.concrete(ty);
        self.lw.intern(&ty)
    }

    /// A new variable of a (possibly generic) type.
    pub(super) fn new_var(&mut self, name: impl Into<String>, ty: &Type) -> VarId {
        let ty = self.type_idx(ty);
        self.var_of(name, ty)
    }

    pub(super) fn var_of(&mut self, name: impl Into<String>, ty: TypeIdx) -> VarId {
        self.vars.push(Var { name: name.into(), ty });
        VarId(self.vars.len() as u32 - 1)
    }

    /// The variable of a source local, made on first mention.
    pub(super) fn local_var(&mut self, id: LocalId) -> VarId {
        if let Some(&v) = self.local_vars.get(&id) {
            return v;
        }
        let local = &self.locals[id.0 as usize];
        let v = self.new_var(local.name.clone(), &local.ty);
        self.local_vars.insert(id, v);
        v
    }

    /// Evaluates `rvalue` into a new variable of type `ty`.
    pub(super) fn assign(&mut self, ty: &Type, rvalue: Rvalue) -> Operand {
        let v = self.new_var("", ty);
        self.emit(Stmt::Let(v, rvalue));
        Operand::Var(v)
    }

    /// A placeholder value for code after `return`, `break` or a failure,
    /// which never runs but must be well typed.
    fn unreachable_value(&mut self, ty: &Type) -> Operand {
        match self.concrete(ty) {
            Type::Float => Operand::Const(Const::Float(0.0)),
            _ => Operand::Const(Const::Int(0)),
        }
    }

    pub(super) fn load(&mut self, object: Operand, index: u32, ty: &Type) -> Operand {
        self.assign(ty, Rvalue::Load { object, index })
    }

    /// A new object holding `words`.
    fn object(&mut self, ty: &Type, words: Vec<Operand>) -> Operand {
        let object = self.assign(ty, Rvalue::Alloc { words: words.len() as u32 });
        for (index, value) in words.into_iter().enumerate() {
            self.emit(Stmt::Init { object: object.clone(), index: index as u32, value });
        }
        object
    }

    /// A call of one of the runtime's helpers, which take every value as a
    /// word (`vm/README.md`).
    pub(super) fn runtime_call(&mut self, f: abi::RuntimeFn, args: Vec<Operand>, ret: &Type) -> Operand {
        debug_assert_eq!(f.params.len(), args.len(), "{}", f.symbol);
        let func = self.lw.runtime(f);
        self.assign(ret, Rvalue::CallExtern { func, args })
    }

    /// Where a runtime error of the code at `span` is reported: there, or,
    /// in the stdlib, at the caller's location.
    pub(super) fn loc(&mut self, span: Span) -> Operand {
        match self.caller {
            Some(caller) => Operand::Var(caller),
            None => Operand::Const(Const::Str(self.lw.loc(span))),
        }
    }

    // --- expressions -----------------------------------------------------

    pub(super) fn expr(&mut self, e: &typed::Expr) -> Operand {
        match &e.kind {
            ExprKind::Int(n) => Operand::Const(Const::Int(*n)),
            ExprKind::Float(x) => Operand::Const(Const::Float(*x)),
            ExprKind::Bool(b) => Operand::Const(Const::Bool(*b)),
            ExprKind::Unit => Operand::Const(Const::Unit),
            ExprKind::Str(s) => Operand::Const(Const::Str(self.lw.string(s))),
            ExprKind::Interpolate(parts) => self.interpolate(parts),
            ExprKind::Local(id) => Operand::Var(self.local_var(*id)),
            ExprKind::Fn { id, type_args } => {
                let type_args: Vec<Type> = type_args.iter().map(|t| self.concrete(t)).collect();
                Operand::Const(Const::Func(self.lw.function_value(*id, type_args, e.span)))
            }
            ExprKind::Secret(id) => self.runtime_call(abi::SECRET, vec![Operand::Const(Const::Int(i64::from(id.0)))], &Type::String),
            // A store is its index in `Module::stores`.
            ExprKind::Store(id) => Operand::Const(Const::Int(i64::from(id.0))),
            ExprKind::List(items) => {
                let items: Vec<Operand> = items.iter().map(|i| self.expr(i)).collect();
                self.list(&e.ty, items)
            }
            ExprKind::Tuple(items) if items.is_empty() => Operand::Const(Const::Unit),
            ExprKind::Tuple(items) | ExprKind::Record { fields: items, .. } => {
                let words = items.iter().map(|i| self.expr(i)).collect();
                self.object(&e.ty, words)
            }
            ExprKind::RecordUpdate { base, fields } => {
                let base = self.expr(base);
                let field_types = self.field_types(&e.ty);
                let mut words: Vec<Option<Operand>> = vec![None; field_types.len()];
                for (index, value) in fields {
                    words[*index] = Some(self.expr(value));
                }
                let words = words
                    .into_iter()
                    .zip(&field_types)
                    .enumerate()
                    .map(|(i, (w, ty))| w.unwrap_or_else(|| self.load(base.clone(), i as u32, ty)))
                    .collect();
                self.object(&e.ty, words)
            }
            ExprKind::Field { target, index } => {
                let target = self.expr(target);
                self.load(target, *index as u32, &e.ty)
            }
            ExprKind::Construct { variant, args, .. } => {
                let mut words = vec![Operand::Const(Const::Int(*variant as i64))];
                words.extend(args.iter().map(|a| self.expr(a)));
                self.object(&e.ty, words)
            }
            ExprKind::Call { id, type_args, args } => {
                let args: Vec<Operand> = args.iter().map(|a| self.expr(a)).collect();
                let type_args: Vec<Type> = type_args.iter().map(|t| self.concrete(t)).collect();
                self.call(*id, type_args, args, e.span, &e.ty)
            }
            ExprKind::CallValue { callee, args } => {
                let callee = self.expr(callee);
                let args = args.iter().map(|a| self.expr(a)).collect();
                self.assign(&e.ty, Rvalue::CallClosure { callee, args })
            }
            ExprKind::Unary { op, operand } => {
                let value = self.expr(operand);
                // A negative literal is a constant, not a checked `0 - n`.
                if let (ast::UnaryOp::Neg, Operand::Const(Const::Int(n))) = (op, &value)
                    && let Some(negated) = n.checked_neg()
                {
                    return Operand::Const(Const::Int(negated));
                }
                let op = match op {
                    ast::UnaryOp::Not => UnaryOp::Not,
                    ast::UnaryOp::Neg if self.concrete(&e.ty) == Type::Float => UnaryOp::FloatNeg,
                    ast::UnaryOp::Neg => UnaryOp::IntNeg,
                };
                let v = self.new_var("", &e.ty);
                let loc = self.loc(e.span);
                match op {
                    // `-x` is `0 - x`, so that overflow is checked in one place.
                    UnaryOp::IntNeg => self.emit(Stmt::Let(
                        v,
                        Rvalue::Binary { op: BinaryOp::IntSub, lhs: Operand::Const(Const::Int(0)), rhs: value, loc },
                    )),
                    _ => self.emit(Stmt::Let(v, Rvalue::Unary(op, value))),
                }
                Operand::Var(v)
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, e),
            ExprKind::Try(inner) => {
                let result = self.expr(inner);
                let tag = self.load(result.clone(), 0, &Type::Int);
                let is_err = self.int_ne0(tag);
                let entry = self.entry;
                let then = self.block(|fb| match entry {
                    // `Err(e)` has the same representation in every `Result`.
                    Entry::Function => fb.emit(Stmt::Return(result.clone())),
                    Entry::Route => {
                        let response = Type::Named(fb.lw.prelude_type("Response"), Vec::new());
                        let answer = if matches!(&inner.ty, Type::Named(_, args) if args.get(1) == Some(&response)) {
                            fb.load(result.clone(), 1, &response)
                        } else {
                            let message = fb.load(result.clone(), 1, &Type::String);
                            fb.bad_request(message, e.span)
                        };
                        fb.emit(Stmt::Return(answer));
                    }
                    Entry::Cron => {
                        let message = fb.load(result.clone(), 1, &Type::String);
                        let loc = fb.loc(e.span);
                        let fail = fb.lw.runtime(abi::FAIL_MESSAGE);
                        fb.emit(Stmt::Do(Rvalue::CallExtern { func: fail, args: vec![message, loc] }));
                    }
                });
                self.emit(Stmt::If { cond: is_err, then, else_: Vec::new() });
                self.load(result, 1, &e.ty)
            }
            ExprKind::If { cond, then, else_ } => {
                let cond = self.expr(cond);
                let result = self.new_var("", &e.ty);
                let then = self.block(|fb| {
                    let v = fb.expr(then);
                    fb.emit(Stmt::Let(result, Rvalue::Use(v)));
                });
                let else_ = self.block(|fb| {
                    let v = match else_ {
                        Some(else_) => fb.expr(else_),
                        None => Operand::Const(Const::Unit),
                    };
                    fb.emit(Stmt::Let(result, Rvalue::Use(v)));
                });
                self.emit(Stmt::If { cond, then, else_ });
                Operand::Var(result)
            }
            ExprKind::Match { scrutinee, arms } => {
                let scrutinee = match &scrutinee.kind {
                    // `match (x, y)` whose arms all take the tuple apart matches
                    // the fields, never building the tuple. Each field is copied,
                    // so a guard assigning `x` cannot change what later arms see.
                    ExprKind::Tuple(items)
                        if !items.is_empty()
                            && arms.iter().all(|a| matches!(a.pattern.kind, PatternKind::Tuple(_) | PatternKind::Wildcard)) =>
                    {
                        let fields = items.iter().map(|i| (self.expr(i), &i.ty)).collect::<Vec<_>>();
                        matching::Scrutinee::Fields(fields.into_iter().map(|(v, ty)| self.assign(ty, Rvalue::Use(v))).collect())
                    }
                    _ => matching::Scrutinee::Value(self.expr(scrutinee)),
                };
                matching::lower_match(self, scrutinee, arms, &e.ty, e.span)
            }
            ExprKind::Block { stmts, value } => {
                for stmt in stmts {
                    self.stmt(stmt);
                }
                match value {
                    Some(value) => self.expr(value),
                    None => Operand::Const(Const::Unit),
                }
            }
            ExprKind::Lambda { params, captures, body } => self.lambda(params, captures, body, &e.ty, e.span),
            ExprKind::Return(value) => {
                let value = self.expr(value);
                self.emit(Stmt::Return(value));
                self.unreachable_value(&e.ty)
            }
            ExprKind::Break | ExprKind::Continue => {
                let label = *self.loops.last().expect("the checker allows break only in loops");
                let stmt = if matches!(e.kind, ExprKind::Break) { Stmt::Break(label) } else { Stmt::Continue(label) };
                self.emit(stmt);
                self.unreachable_value(&e.ty)
            }
            ExprKind::Error => {
                self.lw.unsupported(e.span, "an erroneous expression reached code generation");
                self.unreachable_value(&e.ty)
            }
        }
    }

    fn int_ne0(&mut self, value: Operand) -> Operand {
        self.assign(&Type::Bool, Rvalue::Binary { op: BinaryOp::IntNe, lhs: value, rhs: Operand::Const(Const::Int(0)), loc: no_loc() })
    }

    /// A list of `items`, allocated by the runtime and filled in place.
    fn list(&mut self, ty: &Type, items: Vec<Operand>) -> Operand {
        let list = self.runtime_call(abi::LIST_ALLOC, vec![Operand::Const(Const::Int(items.len() as i64))], ty);
        if !items.is_empty() {
            let storage = self.load(list.clone(), 1, &Type::Int);
            for (index, value) in items.into_iter().enumerate() {
                self.emit(Stmt::Init { object: storage.clone(), index: index as u32, value });
            }
        }
        list
    }

    /// The field types of a record or tuple type, in order.
    pub(super) fn field_types(&self, ty: &Type) -> Vec<Type> {
        match self.concrete(ty) {
            Type::Tuple(items) => items,
            Type::Named(id, args) => match &self.lw.program.types.get(id).kind {
                TypeDefKind::Record(fields) => fields.iter().map(|(_, t)| t.instantiate(&args)).collect(),
                TypeDefKind::Enum(_) => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// The payload types of an enum variant.
    pub(super) fn variant_types(&self, ty: &Type, variant: usize) -> Vec<Type> {
        match self.concrete(ty) {
            Type::Named(id, args) => match &self.lw.program.types.get(id).kind {
                TypeDefKind::Enum(variants) => {
                    variants.get(variant).map(|(_, ts)| ts.iter().map(|t| t.instantiate(&args)).collect()).unwrap_or_default()
                }
                TypeDefKind::Record(_) => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    pub(super) fn variant_count(&self, ty: &Type) -> usize {
        match self.concrete(ty) {
            Type::Named(id, _) => self.lw.program.types.get(id).variants().len(),
            _ => 0,
        }
    }

    /// The `400` a route answers when `?` meets `Err(message)`:
    /// `{"error": message}` as JSON.
    fn bad_request(&mut self, message: Operand, span: Span) -> Operand {
        let encode = self.lw.stdlib_fn(Some("Json"), "encode");
        let quoted = self.extern_call(encode, &[Type::String], vec![message], span, &Type::String);
        let open = Operand::Const(Const::Str(self.lw.string("{\"error\":")));
        let close = Operand::Const(Const::Str(self.lw.string("}")));
        let body = self.runtime_call(abi::STR_CONCAT, vec![open, quoted], &Type::String);
        let body = self.runtime_call(abi::STR_CONCAT, vec![body, close], &Type::String);
        let pair_ty = Type::Tuple(vec![Type::String, Type::String]);
        let name = Operand::Const(Const::Str(self.lw.string("content-type")));
        let value = Operand::Const(Const::Str(self.lw.string("application/json")));
        let header = self.object(&pair_ty, vec![name, value]);
        let headers = self.list(&Type::List(Box::new(pair_ty)), vec![header]);
        let response = Type::Named(self.lw.prelude_type("Response"), Vec::new());
        self.object(&response, vec![Operand::Const(Const::Int(400)), headers, body])
    }

    /// `List.slice(list, start, end)`.
    pub(super) fn list_slice(&mut self, list: Operand, start: Operand, end: Operand, list_ty: &Type, span: Span) -> Operand {
        let slice = self.lw.stdlib_fn(Some("List"), "slice");
        let elem = match self.concrete(list_ty) {
            Type::List(elem) => *elem,
            _ => Type::UNIT,
        };
        self.extern_call(slice, &[elem], vec![list, start, end], span, list_ty)
    }

    fn interpolate(&mut self, parts: &[typed::Expr]) -> Operand {
        let mut text: Option<Operand> = None;
        for part in parts {
            let value = self.expr(part);
            text = Some(if self.concrete(&part.ty) == Type::String {
                match text {
                    None => value,
                    Some(prefix) => self.runtime_call(abi::STR_CONCAT, vec![prefix, value], &Type::String),
                }
            } else {
                // Formatted straight onto the text so far: no string of its own.
                let ty = Operand::Const(Const::Type(self.type_idx(&part.ty)));
                let prefix = text.unwrap_or_else(|| Operand::Const(Const::Str(self.lw.string(""))));
                self.runtime_call(abi::FORMAT_INTO, vec![prefix, value, ty], &Type::String)
            });
        }
        text.unwrap_or_else(|| Operand::Const(Const::Str(self.lw.string(""))))
    }

    fn call(&mut self, id: FnId, type_args: Vec<Type>, mut args: Vec<Operand>, span: Span, ty: &Type) -> Operand {
        let function = self.lw.program.function(id);
        if function.body.is_some() {
            if self.lw.takes_caller(id) {
                args.push(self.loc(span));
            }
            let func = self.lw.instance(id, type_args);
            return self.assign(ty, Rvalue::Call { func, args });
        }
        self.extern_call(id, &type_args, args, span, ty)
    }

    /// A call of an `extern fn`: `dl_<Module>_<name>(args…, types…, loc)`.
    pub(super) fn extern_call(&mut self, id: FnId, type_args: &[Type], mut args: Vec<Operand>, span: Span, ty: &Type) -> Operand {
        let program = self.lw.program;
        let function = program.function(id);
        let symbol = extern_symbol(function);
        // Generic parameters cross as words whatever they are instantiated with.
        let mut params: Vec<Repr> =
            function.param_types.iter().map(|t| if *t == Type::Float { Repr::Float } else { Repr::Word }).collect();
        for arg in type_args {
            args.push(Operand::Const(Const::Type(self.lw.intern(arg))));
            params.push(Repr::Word);
        }
        args.push(self.loc(span));
        params.push(Repr::Word);
        let ret = match &function.ret {
            t if t.is_unit() => None,
            Type::Float => Some(Repr::Float),
            _ => Some(Repr::Word),
        };
        let func = self.lw.extern_fn(&symbol, &params, ret);
        self.assign(ty, Rvalue::CallExtern { func, args })
    }

    fn binary(&mut self, op: ast::BinaryOp, lhs: &typed::Expr, rhs: &typed::Expr, e: &typed::Expr) -> Operand {
        use ast::BinaryOp as B;
        if matches!(op, B::And | B::Or) {
            // Short circuit: `a && b` is `if a { b } else { false }`.
            let result = self.new_var("", &Type::Bool);
            let a = self.expr(lhs);
            self.emit(Stmt::Let(result, Rvalue::Use(a)));
            let rest = self.block(|fb| {
                let b = fb.expr(rhs);
                fb.emit(Stmt::Let(result, Rvalue::Use(b)));
            });
            let (then, else_) = if op == B::And { (rest, Vec::new()) } else { (Vec::new(), rest) };
            self.emit(Stmt::If { cond: Operand::Var(result), then, else_ });
            return Operand::Var(result);
        }
        let operand_ty = self.concrete(&lhs.ty);
        let a = self.expr(lhs);
        let b = self.expr(rhs);
        let loc = self.loc(e.span);
        let float = operand_ty == Type::Float;
        let arith = |int, flt| if float { flt } else { int };
        let simple = match op {
            B::Add => Some(arith(BinaryOp::IntAdd, BinaryOp::FloatAdd)),
            B::Sub => Some(arith(BinaryOp::IntSub, BinaryOp::FloatSub)),
            B::Mul => Some(arith(BinaryOp::IntMul, BinaryOp::FloatMul)),
            B::Div => Some(arith(BinaryOp::IntDiv, BinaryOp::FloatDiv)),
            B::Rem if !float => Some(BinaryOp::IntRem),
            _ => None,
        };
        if let Some(op) = simple {
            return self.assign(&e.ty, Rvalue::Binary { op, lhs: a, rhs: b, loc });
        }
        match op {
            B::Rem => {
                // C's `fmod`: the remainder with the sign of the dividend, as for Int.
                let fmod = self.lw.runtime(abi::FLOAT_REM);
                self.assign(&Type::Float, Rvalue::CallExtern { func: fmod, args: vec![a, b] })
            }
            B::Concat if operand_ty == Type::String => self.runtime_call(abi::STR_CONCAT, vec![a, b], &e.ty),
            B::Concat => self.runtime_call(abi::LIST_CONCAT, vec![a, b], &e.ty),
            _ => self.compare(op, a, b, &operand_ty, loc),
        }
    }

    /// `assert cond`: when it fails, `dl_assert_failed` reports the
    /// condition as written and, for a comparison, both sides' values.
    /// (It never returns.)
    fn assert(&mut self, cond: &typed::Expr, span: Span) {
        use ast::BinaryOp as B;
        let loc = self.loc(span);
        let written = self.lw.sources.text(cond.span).to_string();
        let written = Operand::Const(Const::Str(self.lw.string(&written)));
        let (holds, sides) = match &cond.kind {
            ExprKind::Binary { op: op @ (B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq), lhs, rhs } => {
                let ty = self.concrete(&lhs.ty);
                let a = self.expr(lhs);
                let b = self.expr(rhs);
                let cond_loc = self.loc(cond.span);
                (self.compare(*op, a.clone(), b.clone(), &ty, cond_loc), Some((a, b, ty)))
            }
            _ => (self.expr(cond), None),
        };
        let failed = self.block(|fb| {
            // One call on the cold path: the runtime formats both sides.
            let (left, right, ty) = match sides {
                Some((a, b, ty)) => (a, b, Operand::Const(Const::Type(fb.type_idx(&ty)))),
                None => (Operand::Const(Const::Int(0)), Operand::Const(Const::Int(0)), Operand::Const(Const::Int(-1))),
            };
            let report = fb.lw.runtime(abi::ASSERT_FAILED);
            fb.emit(Stmt::Do(Rvalue::CallExtern { func: report, args: vec![written, left, right, ty, loc] }));
        });
        self.emit(Stmt::If { cond: holds, then: Vec::new(), else_: failed });
    }

    /// `==`, `!=`, `<`, `<=`, `>`, `>=` on two values of type `ty`.
    pub(super) fn compare(&mut self, op: ast::BinaryOp, a: Operand, b: Operand, ty: &Type, loc: Operand) -> Operand {
        use ast::BinaryOp as B;
        let int_op = |op| match op {
            B::Eq => BinaryOp::IntEq,
            B::NotEq => BinaryOp::IntNe,
            B::Lt => BinaryOp::IntLt,
            B::LtEq => BinaryOp::IntLe,
            B::Gt => BinaryOp::IntGt,
            _ => BinaryOp::IntGe,
        };
        let (op, a, b) = match ty {
            Type::Int | Type::Bool => (int_op(op), a, b),
            Type::Tuple(items) if items.is_empty() => (int_op(op), a, b),
            Type::Float => {
                let op = match op {
                    B::Eq => BinaryOp::FloatEq,
                    B::NotEq => BinaryOp::FloatNe,
                    B::Lt => BinaryOp::FloatLt,
                    B::LtEq => BinaryOp::FloatLe,
                    B::Gt => BinaryOp::FloatGt,
                    _ => BinaryOp::FloatGe,
                };
                (op, a, b)
            }
            Type::String if matches!(op, B::Eq | B::NotEq) => {
                let eq = self.runtime_call(abi::STR_EQ, vec![a, b], &Type::Bool);
                (int_op(op), eq, Operand::Const(Const::Bool(true)))
            }
            Type::String => {
                let order = self.runtime_call(abi::STR_CMP, vec![a, b], &Type::Int);
                (int_op(op), order, Operand::Const(Const::Int(0)))
            }
            _ => {
                let ty = Operand::Const(Const::Type(self.lw.intern(ty)));
                if matches!(op, B::Eq | B::NotEq) {
                    let eq = self.runtime_call(abi::EQ, vec![a, b, ty, loc.clone()], &Type::Bool);
                    (int_op(op), eq, Operand::Const(Const::Bool(true)))
                } else {
                    let order = self.runtime_call(abi::CMP, vec![a, b, ty, loc.clone()], &Type::Int);
                    (int_op(op), order, Operand::Const(Const::Int(0)))
                }
            }
        };
        self.assign(&Type::Bool, Rvalue::Binary { op, lhs: a, rhs: b, loc })
    }

    fn lambda(&mut self, params: &[LocalId], captures: &[LocalId], body: &typed::Expr, ty: &Type, span: Span) -> Operand {
        let Type::Fn(_, ret) = self.concrete(ty) else {
            self.lw.unsupported(span, "a lambda without a function type");
            return self.unreachable_value(ty);
        };
        let mut captured: Vec<Operand> = captures.iter().map(|&c| Operand::Var(self.local_var(c))).collect();
        // A lambda in the stdlib reports its errors where its function was called.
        captured.extend(self.caller.map(Operand::Var));
        let ret = self.lw.intern(&ret);
        let loc = self.lw.loc(span);
        let name = format!("{}.lambda{}", "closure", self.lw.module.functions.len());
        let idx = self.lw.reserve(name, Abi::Closure, ret, loc);
        let subst = self.subst.clone();
        let locals = self.locals;
        let mut inner = FnBuilder::new(self.lw, subst, locals);
        let env = inner.var_of("closure", ret);
        // The closure object's type is never inspected; any word type does.
        inner.vars[env.0 as usize].ty = inner.lw.intern(&Type::Int);
        let mut param_vars = vec![env];
        param_vars.extend(params.iter().map(|&p| inner.local_var(p)));
        for (i, &capture) in captures.iter().enumerate() {
            let var = inner.local_var(capture);
            inner.emit(Stmt::Let(var, Rvalue::Load { object: Operand::Var(env), index: 1 + i as u32 }));
        }
        if self.caller.is_some() {
            let caller = inner.new_var("caller", &Type::String);
            inner.emit(Stmt::Let(caller, Rvalue::Load { object: Operand::Var(env), index: 1 + captures.len() as u32 }));
            inner.caller = Some(caller);
        }
        let value = inner.expr(body);
        inner.finish(idx, param_vars, value);
        self.assign(ty, Rvalue::Closure { func: idx, captures: captured })
    }

    // --- statements ------------------------------------------------------

    fn stmt(&mut self, stmt: &typed::Stmt) {
        match stmt {
            // `let (a, b) = (x, y)` binds each field's value: the tuple is never built.
            typed::Stmt::Let { pattern: typed::Pattern { kind: PatternKind::Tuple(patterns), .. }, value: typed::Expr { kind: ExprKind::Tuple(items), .. } }
                if !items.is_empty() =>
            {
                let values: Vec<Operand> = items.iter().map(|i| self.expr(i)).collect();
                for (pattern, value) in patterns.iter().zip(values) {
                    self.bind(pattern, value);
                }
            }
            typed::Stmt::Let { pattern, value } => {
                let value = self.expr(value);
                self.bind(pattern, value);
            }
            typed::Stmt::Assign { local, value, .. } => {
                let value = self.expr(value);
                let var = self.local_var(*local);
                self.emit(Stmt::Let(var, Rvalue::Use(value)));
            }
            typed::Stmt::For { pattern, iter, body } => {
                let list = self.expr(iter);
                let len = self.assign(&Type::Int, Rvalue::ListLen(list.clone()));
                let index = self.new_var("i", &Type::Int);
                self.emit(Stmt::Let(index, Rvalue::Use(Operand::Const(Const::Int(0)))));
                let label = self.label();
                self.loops.push(label);
                let elem = pattern.ty.clone();
                let body = self.block(|fb| {
                    let more = fb.assign(
                        &Type::Bool,
                        Rvalue::Binary { op: BinaryOp::IntLt, lhs: Operand::Var(index), rhs: len, loc: no_loc() },
                    );
                    fb.emit(Stmt::If { cond: more, then: Vec::new(), else_: vec![Stmt::Break(label)] });
                    let item = fb.assign(&elem, Rvalue::ListItem { list, index: Operand::Var(index) });
                    fb.emit(Stmt::Let(
                        index,
                        Rvalue::Binary {
                            op: BinaryOp::IntAddWrapping,
                            lhs: Operand::Var(index),
                            rhs: Operand::Const(Const::Int(1)),
                            loc: no_loc(),
                        },
                    ));
                    fb.bind(pattern, item);
                    fb.expr(body);
                });
                self.loops.pop();
                self.emit(Stmt::Loop { label, body });
            }
            typed::Stmt::While { cond, body } => {
                let label = self.label();
                self.loops.push(label);
                let body = self.block(|fb| {
                    let c = fb.expr(cond);
                    fb.emit(Stmt::If { cond: c, then: Vec::new(), else_: vec![Stmt::Break(label)] });
                    fb.expr(body);
                });
                self.loops.pop();
                self.emit(Stmt::Loop { label, body });
            }
            typed::Stmt::Assert { cond, span } => self.assert(cond, *span),
            typed::Stmt::Expr(e) => {
                self.expr(e);
            }
        }
    }

    /// Binds an irrefutable pattern (of `let` or `for`) to a value.
    fn bind(&mut self, pattern: &typed::Pattern, value: Operand) {
        match &pattern.kind {
            PatternKind::Bind(local) => {
                let var = self.local_var(*local);
                self.emit(Stmt::Let(var, Rvalue::Use(value)));
            }
            PatternKind::Tuple(items) => {
                for (i, item) in items.iter().enumerate() {
                    if !matches!(item.kind, PatternKind::Wildcard) {
                        let field = self.load(value.clone(), i as u32, &item.ty);
                        self.bind(item, field);
                    }
                }
            }
            PatternKind::Construct { args, .. } => {
                for (i, arg) in args.iter().enumerate() {
                    let field = self.load(value.clone(), 1 + i as u32, &arg.ty);
                    self.bind(arg, field);
                }
            }
            PatternKind::Wildcard | PatternKind::Literal(_) | PatternKind::List { .. } | PatternKind::Error => {}
        }
    }
}

impl Literal {
    pub(super) fn ir_type(&self) -> Type {
        match self {
            Literal::Int(_) => Type::Int,
            Literal::Float(_) => Type::Float,
            Literal::Str(_) => Type::String,
            Literal::Bool(_) => Type::Bool,
            Literal::Unit => Type::UNIT,
        }
    }
}

