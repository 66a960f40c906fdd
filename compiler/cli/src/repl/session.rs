//! A REPL session: what the user has defined, and how one input becomes
//! a program. Each input is compiled anew with the program it was started
//! with, the session's `fn`s and `type`s, and a function that receives the
//! session's bindings and runs the input:
//!
//! ```text
//! type DlReplSession = { x: Int, ys: List<Int> }
//! fn dl_repl_input(session: DlReplSession) {
//!   var x = session.x          (a `var` stays assignable)
//!   let ys = session.ys
//!   <the input; its last expression becomes `let dl_repl_value = (…)`>
//!   (dl_repl_value, x, ys, <new bindings…>, ())
//! }
//! ```
//!
//! The result's words are the bindings' new values; they live in the
//! session thread's region, which is never reset, and the compiled code of
//! every input is kept, so closures made by one input work in the next.
//! Nothing is re-run: an input runs once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dlc_core::check::typed::FnId;
use dlc_core::check::types::Type;
use dlc_core::diagnostic::Diagnostic;
use dlc_core::ir::Entries;
use dlc_core::source::{SourceFile, SourceMap, Span};
use dlc_core::syntax::ast::{self, PatternKind, StmtKind};
use dlc_core::syntax::token::Token;
use dlvm::service::interactive;
use dlvm::service::{Instance, StoreFile};

use crate::jit::{self, Loaded};

/// The name of the generated program, in locations.
const INPUT: &str = "input";

/// A value the session remembers.
struct Binding {
    name: String,
    /// Its type as source text: the session record's field type.
    ty: String,
    mutable: bool,
    value: u64,
}

/// A `fn` or `type` the user declared.
struct Decl {
    is_type: bool,
    name: String,
    text: String,
}

/// Names for completion: globals, and each module's functions.
#[derive(Default, Clone)]
pub struct Names {
    pub globals: Vec<String>,
    pub modules: Vec<(String, Vec<String>)>,
}

pub struct Session {
    /// The program it was started with (`dlc repl app.dl`): name and text.
    program: Option<(String, String)>,
    db: Option<PathBuf>,
    decls: Vec<Decl>,
    bindings: Vec<Binding>,
    thread: interactive::Session,
    /// The code of every input so far (values may point into it).
    kept: Vec<Loaded>,
    color: bool,
    pub names: Names,
}

/// What an input was, for the generated program.
enum Kind {
    Decl { is_type: bool, name: String },
    Statements,
}

impl Session {
    pub fn start(color: bool) -> Result<Session, String> {
        let thread = interactive::Session::start().map_err(|e| format!("cannot start the session's thread: {e}"))?;
        let mut session = Session { program: None, db: None, decls: Vec::new(), bindings: Vec::new(), thread, kept: Vec::new(), color, names: Names::default() };
        session.refresh_names();
        Ok(session)
    }

    /// Loads a program: its definitions and stores are in scope from now
    /// on; the session's own definitions are forgotten.
    pub fn load(&mut self, path: &Path, db: Option<PathBuf>) -> Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let name = path.display().to_string();
        let db = db.unwrap_or_else(|| path.with_extension("db"));
        let previous = (self.program.replace((name, text)), self.db.replace(db));
        self.reset();
        if let Err(message) = self.compile(&Kind::Statements, "").map(|_| ()) {
            (self.program, self.db) = previous;
            return Err(message);
        }
        self.refresh_names();
        Ok(())
    }

    /// Forgets every binding and declaration of the session.
    pub fn reset(&mut self) {
        self.decls.clear();
        self.bindings.clear();
    }

    /// Runs one complete input: what to print, or the error.
    pub fn eval(&mut self, input: &str) -> Result<String, String> {
        match classify(input)? {
            None => Ok(String::new()),
            Some(Kind::Decl { is_type, name }) => self.declare(is_type, name, input),
            Some(Kind::Statements) => self.run(input),
        }
    }

    /// `:type e`: the type of an expression, without running it.
    pub fn type_of(&mut self, input: &str) -> Result<String, String> {
        let compiled = self.compile(&Kind::Statements, input)?;
        Ok(compiled.types.first().cloned().unwrap_or_default())
    }

    fn declare(&mut self, is_type: bool, name: String, input: &str) -> Result<String, String> {
        let old = self.decls.iter().position(|d| d.is_type == is_type && d.name == name);
        let removed = old.map(|i| self.decls.remove(i));
        self.decls.push(Decl { is_type, name: name.clone(), text: input.trim().to_string() });
        let compiled = match self.compile(&Kind::Decl { is_type, name: name.clone() }, "") {
            Ok(compiled) => compiled,
            Err(message) => {
                self.decls.pop();
                if let (Some(i), Some(d)) = (old, removed) {
                    self.decls.insert(i, d);
                }
                return Err(message);
            }
        };
        self.refresh_names();
        if is_type {
            // Values of the old type cannot be used as values of the new one.
            let before = self.bindings.len();
            self.bindings.retain(|b| !mentions(&b.ty, &name));
            let dropped = before - self.bindings.len();
            let note = if old.is_some() && dropped > 0 { format!(" (redefined: {dropped} binding(s) of the old type forgotten)") } else { String::new() };
            return Ok(format!("type {name}{note}"));
        }
        Ok(format!("{name} : {}", compiled.declared.unwrap_or_default()))
    }

    fn run(&mut self, input: &str) -> Result<String, String> {
        let compiled = self.compile(&Kind::Statements, input)?;
        let Some((code, ret)) = compiled.loaded.entries.first().copied() else { return Err("internal error: no input function".into()) };
        let program = Arc::clone(&compiled.loaded.program);
        let path = self.db.clone();
        let session: Vec<u64> = self.bindings.iter().map(|b| b.value).collect();
        let code = code as usize;
        // Each input its own instance: the store file is opened for it and
        // closed after, so that the next input's program can open it.
        let ran = self.thread.run(move || -> Result<(Vec<u64>, Vec<String>), String> {
            let secrets = program.secrets.iter().map(|n| std::env::var(n).unwrap_or_default()).collect();
            let file = path.as_deref().map_or(StoreFile::Memory, StoreFile::Path);
            let instance = Instance::start(Arc::clone(&program), secrets, file)?;
            // SAFETY: the input function of this program, and the session's
            // values, of the types its record declares.
            let result = unsafe { interactive::call_input(&instance, code as *const u8, &session) };
            instance.close();
            let result = result.map_err(|message| instance.redact(&message))?;
            let items = interactive::tuple_items(program.types, ret);
            let words: Vec<u64> = (0..items.len()).map(|i| unsafe { dlvm::value::field(result, i) }).collect();
            let shown = words.iter().zip(&items).map(|(&w, &t)| unsafe { interactive::show(program.types, w, t) }).collect();
            Ok((words, shown))
        })?;
        let (words, shown) = ran.map_err(|message| format!("error: {}", relocate_message(&message, &compiled.generated, &compiled.map, self.program.as_ref().map(|(name, _)| name.as_str()))))?;
        self.kept.push(compiled.loaded);
        // words: the value, the old bindings, the new ones, then `()`.
        let old = self.bindings.len();
        for (binding, &word) in self.bindings.iter_mut().zip(&words[1..]) {
            binding.value = word;
        }
        let mut printed = Vec::new();
        for (i, (name, mutable)) in compiled.new_bindings.iter().enumerate() {
            let at = 1 + old + i;
            let (ty, value) = (compiled.types[at].clone(), words[at]);
            printed.push(format!("{name} : {ty} = {}", shown[at]));
            self.bindings.retain(|b| &b.name != name);
            self.bindings.push(Binding { name: name.clone(), ty, mutable: *mutable, value });
        }
        if compiled.has_value && compiled.types[0] != "Unit" {
            printed.push(format!("{} : {}", shown[0], compiled.types[0]));
        }
        self.refresh_names();
        Ok(printed.join("\n"))
    }

    /// Generates, checks and compiles the program for an input.
    fn compile(&mut self, kind: &Kind, input: &str) -> Result<Compiled, String> {
        let generated = self.generate(kind, input);
        let color = self.color;
        let text = generated.text.clone();
        let compiled = std::thread::Builder::new()
            .stack_size(dlc_core::STACK_SIZE)
            .spawn(move || -> Result<(Option<Result<Loaded, String>>, Option<Output>, Vec<Diagnostic>, SourceMap), String> {
                let compilation = dlc_core::compile(INPUT, &text);
                if compilation.has_errors() {
                    let Compilation { diagnostics, sources, .. } = compilation;
                    return Ok((None, None, diagnostics, sources));
                }
                let typed = compilation.program.as_ref().ok_or("internal error: no program")?;
                let input_fn = typed.functions.iter().position(|f| f.module.is_none() && f.name == "dl_repl_input").map(|i| FnId(i as u32));
                let output = Output::of(typed, input_fn);
                let entries = Entries { functions: input_fn.into_iter().collect(), ..Entries::default() };
                let loaded = jit::compile(&compilation, &entries, jit::Speed::FastCompile);
                match loaded {
                    Ok(loaded) => {
                        let Compilation { sources, .. } = compilation;
                        Ok((Some(loaded), Some(output), Vec::new(), sources))
                    }
                    Err(diagnostics) => {
                        let Compilation { sources, .. } = compilation;
                        Ok((None, None, diagnostics, sources))
                    }
                }
            })
            .map_err(|e| format!("cannot start the compiler: {e}"))?
            .join()
            .map_err(|_| "internal compiler error: the compiler panicked".to_string())??;
        let (loaded, output, diagnostics, sources) = compiled;
        if !diagnostics.is_empty() {
            return Err(render(&diagnostics, &sources, &generated.map, self.program.as_ref(), color));
        }
        let loaded = loaded.ok_or("internal error: nothing compiled")?.map_err(|e| format!("internal compiler error: {e}"))?;
        let output = output.unwrap_or_default();
        let declared = match kind {
            Kind::Decl { is_type: false, name } => output.functions.iter().find(|(n, _)| n == name).map(|(_, t)| t.clone()),
            _ => None,
        };
        self.names = output.names;
        Ok(Compiled { loaded, types: output.types, new_bindings: generated.new_bindings, has_value: generated.has_value, declared, map: generated.map, generated: generated.text })
    }

    /// The program for an input (see the module documentation).
    fn generate(&self, kind: &Kind, input: &str) -> Generated {
        let mut text = String::new();
        if let Some((_, program)) = &self.program {
            text.push_str(program);
            text.push('\n');
        }
        for decl in &self.decls {
            text.push_str(&decl.text);
            text.push('\n');
        }
        if let Kind::Decl { .. } = kind {
            return Generated { text, map: InputMap::default(), new_bindings: Vec::new(), has_value: false };
        }
        let parameter = if self.bindings.is_empty() {
            String::new()
        } else {
            let fields: Vec<String> = self.bindings.iter().map(|b| format!("{}: {}", b.name, b.ty)).collect();
            text.push_str(&format!("type DlReplSession = {{ {} }}\n", fields.join(", ")));
            "session: DlReplSession".to_string()
        };
        text.push_str(&format!("fn dl_repl_input({parameter}) {{\n"));
        for b in &self.bindings {
            text.push_str(&format!("  {} {} = session.{}\n", if b.mutable { "var" } else { "let" }, b.name, b.name));
        }
        let shape = shape(input);
        let start = text.len();
        let mut map = InputMap { start, input_len: input.len(), insert_at: None, insert_len: 0 };
        let value_prefix = "let dl_repl_value = (\n";
        match shape.last_expr {
            Some(at) => {
                text.push_str(&input[..at]);
                text.push_str(value_prefix);
                text.push_str(&input[at..]);
                text.push_str("\n)\n");
                map.insert_at = Some(at);
                map.insert_len = value_prefix.len();
            }
            None => {
                text.push_str(input);
                text.push_str("\nlet dl_repl_value = ()\n");
            }
        }
        let mut result = vec!["dl_repl_value".to_string()];
        result.extend(self.bindings.iter().map(|b| b.name.clone()));
        result.extend(shape.bindings.iter().map(|(n, _)| n.clone()));
        result.push("()".into());
        text.push_str(&format!("  ({})\n}}\n", result.join(", ")));
        Generated { text, map, new_bindings: shape.bindings, has_value: shape.last_expr.is_some() }
    }

    fn refresh_names(&mut self) {
        let mut globals: Vec<String> = self.bindings.iter().map(|b| b.name.clone()).collect();
        globals.extend(self.names.globals.iter().cloned());
        globals.sort();
        globals.dedup();
        self.names.globals = globals;
    }
}

struct Compiled {
    loaded: Loaded,
    /// The types of the input function's result: the value, the bindings.
    types: Vec<String>,
    new_bindings: Vec<(String, bool)>,
    has_value: bool,
    /// The type of the declared function.
    declared: Option<String>,
    map: InputMap,
    generated: String,
}

struct Generated {
    text: String,
    map: InputMap,
    new_bindings: Vec<(String, bool)>,
    has_value: bool,
}

/// What the REPL needs of a checked program.
#[derive(Default)]
struct Output {
    types: Vec<String>,
    functions: Vec<(String, String)>,
    names: Names,
}

use dlc_core::Compilation;

impl Output {
    fn of(program: &dlc_core::check::typed::Program, input: Option<FnId>) -> Output {
        let show = |t: &Type| program.types.show(t);
        let types = match input.map(|id| &program.function(id).ret) {
            Some(Type::Tuple(items)) => items.iter().map(show).collect(),
            _ => Vec::new(),
        };
        let user = |f: &&dlc_core::check::typed::Function| f.module.is_none() && !f.name.starts_with("dl_repl");
        let functions = program
            .functions
            .iter()
            .filter(user)
            .map(|f| (f.name.clone(), show(&Type::Fn(f.param_types.clone(), Box::new(f.ret.clone())))))
            .collect();
        let mut globals: Vec<String> = program.functions.iter().filter(user).map(|f| f.name.clone()).collect();
        globals.extend(program.stores.iter().map(|s| s.name.clone()));
        globals.extend(program.secrets.iter().map(|s| s.name.clone()));
        globals.extend(program.types.defs.iter().map(|d| d.name.clone()).filter(|n| !n.starts_with("DlRepl")));
        let mut modules: Vec<(String, Vec<String>)> = Vec::new();
        for f in &program.functions {
            if let Some(m) = &f.module {
                match modules.iter_mut().find(|(name, _)| name == m) {
                    Some((_, fns)) => fns.push(f.name.clone()),
                    None => modules.push((m.clone(), vec![f.name.clone()])),
                }
            }
        }
        globals.extend(modules.iter().map(|(m, _)| m.clone()));
        Output { types, functions, names: Names { globals, modules } }
    }
}

/// Where the input sits in the generated program: from `start`, with
/// `insert_len` bytes inserted at `insert_at` (input offsets).
#[derive(Default, Clone, Copy)]
struct InputMap {
    start: usize,
    input_len: usize,
    insert_at: Option<usize>,
    insert_len: usize,
}

impl InputMap {
    /// The input offset of a generated offset, if it is in the input.
    fn to_input(&self, at: usize) -> Option<usize> {
        let offset = at.checked_sub(self.start)?;
        let offset = match self.insert_at {
            Some(insert) if offset >= insert + self.insert_len => offset - self.insert_len,
            Some(insert) if offset >= insert => insert,
            _ => offset,
        };
        (offset <= self.input_len).then_some(offset)
    }
}

/// The statements' shape: the names `let`/`var` bind at the top level,
/// and where the last statement starts if it is an expression.
struct Shape {
    bindings: Vec<(String, bool)>,
    last_expr: Option<usize>,
}

fn shape(input: &str) -> Shape {
    const HEADER: &str = "fn dl_repl_probe() {\n";
    let probe = format!("{HEADER}{input}\n}}\n");
    let (module, _) = dlc_core::syntax::parser::parse(&probe, dlc_core::source::FileId::default());
    let stmts = module.items.iter().find_map(|item| match item {
        ast::Item::Fn(f) => f.body.as_ref().map(|b| b.stmts.clone()),
        _ => None,
    });
    let stmts = stmts.unwrap_or_default();
    let mut bindings = Vec::new();
    for stmt in &stmts {
        if let StmtKind::Let { mutable, pattern, .. } = &stmt.kind {
            let mut names = Vec::new();
            bound_names(pattern, &mut names);
            for name in names {
                bindings.retain(|(n, _): &(String, bool)| n != &name);
                bindings.push((name, *mutable));
            }
        }
    }
    // An input that closes the probe's brace early is not statements: its
    // "last statement" may lie outside it.
    let last_expr = match stmts.last() {
        Some(stmt) if matches!(stmt.kind, StmtKind::Expr(_)) => {
            (stmt.span.start as usize).checked_sub(HEADER.len()).filter(|&at| at < input.len() && input.is_char_boundary(at))
        }
        _ => None,
    };
    Shape { bindings, last_expr }
}

fn bound_names(pattern: &ast::Pattern, out: &mut Vec<String>) {
    match &pattern.kind {
        PatternKind::Bind(name) => out.push(name.name.clone()),
        PatternKind::Constructor { args, .. } | PatternKind::Tuple(args) => args.iter().for_each(|p| bound_names(p, out)),
        PatternKind::List { items, rest } => {
            items.iter().for_each(|p| bound_names(p, out));
            if let Some(Some(rest)) = rest {
                out.push(rest.name.clone());
            }
        }
        PatternKind::Wildcard | PatternKind::Literal(_) | PatternKind::Error => {}
    }
}

/// A declaration (`fn name`, `type Name`), statements, or nothing.
fn classify(input: &str) -> Result<Option<Kind>, String> {
    let (tokens, _) = dlc_core::syntax::lexer::lex(input, dlc_core::source::FileId::default());
    let mut words = tokens.iter().map(|t| &t.1).filter(|t| !matches!(t, Token::Sep));
    let (first, second) = (words.next(), words.next());
    Ok(match (first, second) {
        (None, _) => None,
        (Some(Token::Fn), Some(Token::Ident(name))) => Some(Kind::Decl { is_type: false, name: name.clone() }),
        (Some(Token::Type), Some(Token::UpperIdent(name))) => Some(Kind::Decl { is_type: true, name: name.clone() }),
        (Some(t @ (Token::Store | Token::Route | Token::Cron | Token::Secret | Token::Test | Token::Extern | Token::Attribute(_))), _) => {
            return Err(format!("{t} declarations belong in a program file: write it there and start `dlc repl FILE`, or `:load FILE`"));
        }
        _ => Some(Kind::Statements),
    })
}

/// Whether a type's text names `ty`.
fn mentions(text: &str, ty: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric() && c != '_').any(|word| word == ty)
}

/// Diagnostics rendered against the program and the input, each as its
/// own file: the program comes first in the generated text, so its
/// offsets are its own; the input's are moved back to the input's.
fn render(diagnostics: &[Diagnostic], sources: &SourceMap, map: &InputMap, program: Option<&(String, String)>, color: bool) -> String {
    let Some((user, generated)) = sources.files().last() else { return String::new() };
    let input_text = reassemble(generated.text.get(map.start..).unwrap_or(""), map);
    let mut local = SourceMap::default();
    for (id, file) in sources.files().filter(|(id, _)| *id != user) {
        let added = local.add(file.clone());
        debug_assert_eq!(added, id);
    }
    let (name, text) = program.map_or((INPUT, ""), |(name, text)| (name.as_str(), text.as_str()));
    let program_file = local.add(SourceFile::new(name, text));
    let input_file = local.add(SourceFile::new(INPUT, input_text));
    let moved: Vec<Diagnostic> = diagnostics
        .iter()
        .cloned()
        .map(|mut d| {
            for label in d.labels.iter_mut().filter(|l| l.span.file == user) {
                let (start, end) = (label.span.start as usize, label.span.end as usize);
                label.span = match (map.to_input(start), map.to_input(end)) {
                    (Some(start), Some(end)) => Span::new(input_file, start, end.max(start)),
                    _ if end <= text.len() => Span::new(program_file, start, end),
                    // Generated code around the input (a bug if it is ever wrong).
                    _ => Span::new(input_file, 0, 0),
                };
            }
            d
        })
        .collect();
    dlc_core::diagnostic::render(&moved, &local, color)
}

/// The input's text, from the generated text that starts with it.
fn reassemble(generated: &str, map: &InputMap) -> String {
    let len = map.input_len + map.insert_len;
    let region = generated.get(..len.min(generated.len())).unwrap_or("");
    match map.insert_at {
        Some(at) => format!("{}{}", &region[..at.min(region.len())], region.get(at + map.insert_len..).unwrap_or("")),
        None => region.to_string(),
    }
}

/// A runtime error's `input:LINE:COL` locations (in the generated
/// program) made relative to the input.
fn relocate_message(message: &str, generated: &str, map: &InputMap, program: Option<&str>) -> String {
    let input = SourceFile::new(INPUT, reassemble(generated.get(map.start..).unwrap_or(""), map));
    let marker = format!("{INPUT}:");
    let mut out = String::new();
    let mut rest = message;
    while let Some(at) = rest.find(&marker) {
        out.push_str(&rest[..at + marker.len()]);
        rest = &rest[at + marker.len()..];
        let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
        let line_len = digits(rest);
        let col_len = rest[line_len..].strip_prefix(':').map_or(0, digits);
        if line_len == 0 || col_len == 0 {
            continue;
        }
        let (line, col): (usize, usize) = (rest[..line_len].parse().unwrap_or(0), rest[line_len + 1..line_len + 1 + col_len].parse().unwrap_or(0));
        let offset = generated.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum::<usize>()
            + generated.split_inclusive('\n').nth(line.saturating_sub(1)).map_or(0, |l| l.chars().take(col.saturating_sub(1)).map(char::len_utf8).sum());
        if let Some(local) = map.to_input(offset) {
            let (l, c) = input.line_col(local);
            out.push_str(&format!("{l}:{c}"));
            rest = &rest[line_len + 1 + col_len..];
        } else if let Some(program) = program.filter(|_| offset < map.start) {
            // The program comes first: its lines are the generated ones.
            out.truncate(out.len() - marker.len());
            out.push_str(&format!("{program}:"));
        }
    }
    out.push_str(rest);
    out
}
