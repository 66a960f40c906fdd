//! `dlc repl [FILE] [--db PATH]`: an interactive session (rustyline) or,
//! when stdin is not a terminal, one result per complete input read from
//! it, with no prompt and no colour. The language of inputs, the
//! commands and the printing are in `spec/repl.md`.

mod session;

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Editor, Helper, Highlighter, Hinter};

use dlc_core::syntax::token::Token;
use session::{Names, Session};

const HELP: &str = "\\
Enter an expression to see its value and type, or `let`, `var`, `fn` and
`type` to define (a later definition shadows an earlier one). An open
bracket or a trailing operator continues the input on the next line.
  :type EXPR   the type of EXPR, without running it
  :load FILE   load a program: its definitions and store (FILE.db)
  :reset       forget everything defined in this session
  :help        this text
  :quit        leave (also Ctrl-D)";

/// Runs the REPL; the exit status.
pub fn run(file: Option<&Path>, db: Option<PathBuf>, color: bool) -> u8 {
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let mut session = match Session::start(color && interactive) {
        Ok(session) => session,
        Err(message) => {
            eprintln!("error: {message}");
            return 2;
        }
    };
    if let Some(file) = file
        && let Err(message) = session.load(file, db)
    {
        eprintln!("{message}");
        return 1;
    }
    if interactive { interactive_loop(session) } else { piped(session) }
}

/// What a line of input is for the session.
enum Step {
    Quit,
    Output(String),
}

fn step(session: &mut Session, input: &str) -> Step {
    let trimmed = input.trim();
    let result = match trimmed.split_once(char::is_whitespace).unwrap_or((trimmed, "")) {
        (":quit" | ":q", _) => return Step::Quit,
        (":help" | ":h", _) => Ok(HELP.to_string()),
        (":reset", _) => {
            session.reset();
            Ok("session reset".to_string())
        }
        (":type" | ":t", expr) => session.type_of(expr),
        (":load", file) => session.load(Path::new(file.trim()), None).map(|()| format!("loaded {}", file.trim())),
        (command, _) if command.starts_with(':') => Err(format!("error: unknown command `{command}` (:help lists them)")),
        // A panic here is a bug in dlc: report it, keep the session.
        _ => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| session.eval(input)))
            .unwrap_or_else(|_| Err("error: internal error in dlc (a bug: please report the input)".to_string())),
    };
    Step::Output(match result {
        Ok(text) => text,
        Err(text) => text.trim_end().to_string(),
    })
}

fn piped(mut session: Session) -> u8 {
    let stdin = std::io::stdin();
    let mut pending = String::new();
    let mut out = std::io::stdout();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        pending.push_str(&line);
        pending.push('\n');
        if !is_complete(&pending) {
            continue;
        }
        let input = std::mem::take(&mut pending);
        match step(&mut session, &input) {
            Step::Quit => return 0,
            Step::Output(text) if text.is_empty() => {}
            Step::Output(text) => {
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            }
        }
    }
    if !pending.trim().is_empty()
        && let Step::Output(text) = step(&mut session, &pending)
        && !text.is_empty()
    {
        let _ = writeln!(out, "{text}");
    }
    0
}

fn interactive_loop(mut session: Session) -> u8 {
    let mut editor: Editor<Input, _> = match Editor::new() {
        Ok(editor) => editor,
        Err(e) => {
            eprintln!("error: cannot start the line editor: {e}");
            return 2;
        }
    };
    editor.set_helper(Some(Input { names: session.names.clone() }));
    let history = history_file();
    if let Some(history) = &history {
        let _ = editor.load_history(history);
    }
    println!("Distlang {} — :help for help, :quit to leave", env!("CARGO_PKG_VERSION"));
    loop {
        match editor.readline("> ") {
            Ok(input) => {
                let _ = editor.add_history_entry(input.as_str());
                match step(&mut session, &input) {
                    Step::Quit => break,
                    Step::Output(text) if text.is_empty() => {}
                    Step::Output(text) => println!("{text}"),
                }
                if let Some(helper) = editor.helper_mut() {
                    helper.names = session.names.clone();
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(_) => break,
        }
    }
    if let Some(history) = &history {
        if let Some(dir) = history.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.save_history(history);
    }
    0
}

/// `$XDG_DATA_HOME/dlc/repl-history`, or `~/.local/share/dlc/repl-history`.
fn history_file() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))?;
    Some(data.join("dlc/repl-history"))
}

/// Whether an input is complete: every bracket closed and no trailing
/// operator or comma (then the next line continues it).
fn is_complete(input: &str) -> bool {
    let (tokens, _) = dlc_core::syntax::lexer::lex(input, dlc_core::source::FileId::default());
    let mut depth: i64 = 0;
    let mut last = None;
    for (_, token, _) in &tokens {
        match token {
            Token::LParen | Token::LBracket | Token::LBrace => depth += 1,
            Token::RParen | Token::RBracket | Token::RBrace => depth -= 1,
            Token::Sep => continue,
            _ => {}
        }
        last = Some(token);
    }
    let trailing = matches!(
        last,
        Some(Token::Comma | Token::Plus | Token::Minus | Token::Star | Token::Slash | Token::Percent | Token::PlusPlus | Token::AndAnd | Token::OrOr | Token::Pipe | Token::Eq | Token::EqEq | Token::NotEq | Token::Lt | Token::LtEq | Token::Gt | Token::GtEq | Token::Arrow | Token::FatArrow)
    );
    depth <= 0 && !trailing && !unterminated_string(input)
}

/// An open string literal (its closing quote on a later line).
fn unterminated_string(input: &str) -> bool {
    let (_, errors) = dlc_core::syntax::lexer::lex(input, dlc_core::source::FileId::default());
    errors.iter().any(|d| d.code == dlc_core::diagnostic::Code::UnterminatedString)
}

/// The line editor's helper: continuation and completion.
#[derive(Helper, Highlighter, Hinter)]
struct Input {
    names: Names,
}

impl Validator for Input {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if is_complete(ctx.input()) { ValidationResult::Valid(None) } else { ValidationResult::Incomplete })
    }
}

impl Completer for Input {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before.rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.')).map_or(0, |i| i + 1);
        let word = &before[start..];
        let pair = |text: String| Pair { display: text.clone(), replacement: text };
        let candidates: Vec<Pair> = match word.rsplit_once('.') {
            Some((module, member)) => self
                .names
                .modules
                .iter()
                .filter(|(m, _)| m == module)
                .flat_map(|(_, fns)| fns.iter().filter(|f| f.starts_with(member)).map(|f| pair(format!("{module}.{f}"))))
                .collect(),
            None => self.names.globals.iter().filter(|n| n.starts_with(word)).map(|n| pair(n.clone())).collect(),
        };
        Ok((start, candidates))
    }
}
