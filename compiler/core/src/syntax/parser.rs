//! The parser: tokens to [`ast::Module`], driving the lalrpop grammar in
//! `grammar.lalrpop`. It never fails and never panics: it returns every
//! declaration it could read and a diagnostic for every syntax error.
//!
//! Three things happen around the generated parser:
//! - a pre-scan rejects input nested so deeply (brackets, or long operator
//!   chains) that the recursive passes after us could overflow the stack;
//! - the token stream is cut into top-level declarations and each one is
//!   parsed on its own, so an error in one declaration's header cannot make
//!   the statements of its body look like broken declarations;
//! - lalrpop's errors become [`Diagnostic`]s worded for people.

use lalrpop_util::{ErrorRecovery, ParseError};

use super::ast;
use super::lexer::{SpannedToken, lex};
use super::token::Token;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, Span};

// Generated code: clippy's style lints (e.g. `&mut Vec` parameters) do not apply.
lalrpop_util::lalrpop_mod!(
    #[allow(clippy::all)]
    grammar,
    "/syntax/grammar.rs"
);

/// Parses one file. Lexer diagnostics come first, then syntax errors in
/// source order.
pub fn parse(text: &str, file: FileId) -> (ast::Module, Vec<Diagnostic>) {
    let (tokens, mut diagnostics) = lex(text, file);
    if let Err(too_deep) = check_nesting(&tokens, file) {
        diagnostics.push(too_deep);
        return (ast::Module::default(), diagnostics);
    }

    let parser = grammar::ItemsParser::new();
    let mut reporter = Reporter { text, file, tokens: &tokens, diagnostics: Vec::new(), last_at: None };
    let mut items = Vec::new();
    for chunk in item_chunks(&tokens) {
        let mut recovered = Vec::new();
        let mut from_actions = Vec::new();
        let result = parser.parse(file, &mut recovered, &mut from_actions, chunk.tokens.iter().cloned());
        let first_new = reporter.diagnostics.len();
        let mut aftermath = Aftermath { tokens: chunk.tokens, unclosed: [0; 3], resumed_at: None };
        for Recovered { error, start, end } in recovered {
            if !aftermath.is_echo(&error.error) {
                reporter.report(error.error, chunk.end);
            }
            aftermath.recovered(start, end);
        }
        match result {
            Ok(chunk_items) => items.extend(chunk_items),
            Err(error) if aftermath.is_echo(&error) => {}
            Err(error) => reporter.report(error, chunk.end),
        }
        reporter.diagnostics.extend(from_actions);
        // Recovered errors, the final one and E0103s interleave in the source.
        reporter.diagnostics[first_new..].sort_by_key(|d| d.primary_span().map(|s| s.start));
    }
    diagnostics.append(&mut reporter.diagnostics);
    (ast::Module { items }, diagnostics)
}

// ───────────────────────── Helpers for the grammar ─────────────────────────

fn binary(op: ast::BinaryOp, lhs: ast::Expr, rhs: ast::Expr, span: Span) -> ast::Expr {
    ast::Expr { kind: ast::ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, span }
}

/// The parts of `"head{first}mid{e}…tail"`, without empty text parts.
fn string_parts(head: String, first: ast::Expr, rest: Vec<(String, ast::Expr)>, tail: String) -> Vec<ast::StrPart> {
    let mut parts = Vec::with_capacity(2 * rest.len() + 3);
    let text = |parts: &mut Vec<ast::StrPart>, s: String| {
        if !s.is_empty() {
            parts.push(ast::StrPart::Text(s));
        }
    };
    text(&mut parts, head);
    parts.push(ast::StrPart::Expr(first));
    for (middle, expr) in rest {
        text(&mut parts, middle);
        parts.push(ast::StrPart::Expr(expr));
    }
    text(&mut parts, tail);
    parts
}

/// A string literal where the grammar requires a plain one (cron schedule,
/// test name), before that requirement is checked.
enum StringLiteral {
    Plain(String, Span),
    Interpolated(Vec<ast::StrPart>, Span),
}

/// Accepts a plain string; reports an interpolated one (E0103) and keeps
/// its literal text so the declaration survives.
fn plain_str_lit(literal: StringLiteral, what: &str, diagnostics: &mut Vec<Diagnostic>) -> ast::StrLit {
    match literal {
        StringLiteral::Plain(value, span) => ast::StrLit { value, span },
        StringLiteral::Interpolated(parts, span) => {
            diagnostics.push(
                Diagnostic::error(Code::PlainStringRequired, format!("{what} must be a plain string"))
                    .label(span, "this string has an interpolation")
                    .hint("remove the `{…}`, or write `\\{` for a literal brace"),
            );
            let value = parts
                .into_iter()
                .filter_map(|part| match part {
                    ast::StrPart::Text(text) => Some(text),
                    ast::StrPart::Expr(_) => None,
                })
                .collect();
            ast::StrLit { value, span }
        }
    }
}

/// An error the grammar recovered from, with the source range it skipped.
struct Recovered {
    error: ErrorRecovery<usize, Token, &'static str>,
    start: usize,
    end: usize,
}

/// The end of a list pattern: a last item, or `..rest` / `..`.
enum ListTail {
    Item(ast::Pattern),
    Rest(Option<ast::Ident>),
}

// ───────────────────────────── Nesting limit ─────────────────────────────

/// Deeper brackets than this are rejected (E0104).
const MAX_BRACKET_DEPTH: usize = 256;
/// An upper bound on the depth of the tree an expression can produce:
/// brackets plus chained operators (`a + b + …` nests one level per `+`).
const MAX_TREE_DEPTH: usize = 512;

/// One open bracket (or the file itself) during the nesting scan.
#[derive(Default)]
struct Level {
    is_interpolation: bool,
    /// Operators since the last `,` or `Sep` at this level.
    chained: usize,
    /// `<` not yet closed by `>`: type arguments nest across commas
    /// (`A<B, A<B, …>>`), so only a `Sep` resets these.
    angles: usize,
}

impl Level {
    fn weight(&self) -> usize {
        self.chained + self.angles
    }
}

/// Rejects input whose tree could be deep enough to overflow the stack in a
/// recursive pass (or in the tree's own `Drop`). The estimate is an upper
/// bound, up to a small factor: each open bracket and each operator in a not
/// yet finished expression may add a level; `,` and `Sep` start a sibling.
fn check_nesting(tokens: &[SpannedToken], file: FileId) -> Result<(), Diagnostic> {
    let mut levels = vec![Level::default()];
    // Always the sum of `weight()` over `levels`.
    let mut weight = 0;
    for (start, token, end) in tokens {
        let span = Span::new(file, *start, *end);
        match token {
            Token::LParen | Token::LBracket | Token::LBrace | Token::StrHead(_) => {
                levels.push(Level { is_interpolation: matches!(token, Token::StrHead(_)), ..Level::default() });
                if levels.len() - 1 > MAX_BRACKET_DEPTH {
                    return Err(Diagnostic::error(Code::TooDeep, "brackets nested too deeply")
                        .label(span, format!("this is more than {MAX_BRACKET_DEPTH} levels deep"))
                        .hint("move inner parts into `let` bindings or helper functions"));
                }
            }
            Token::RParen | Token::RBracket | Token::RBrace => {
                if levels.len() > 1 {
                    weight -= levels.pop().expect("more than one level").weight();
                }
            }
            // `}` ending an interpolation also closes brackets left open in it.
            Token::StrMiddle(_) | Token::StrTail(_) => {
                while levels.len() > 1 {
                    let level = levels.pop().expect("more than one level");
                    weight -= level.weight();
                    if level.is_interpolation {
                        break;
                    }
                }
                if matches!(token, Token::StrMiddle(_)) {
                    levels.push(Level { is_interpolation: true, ..Level::default() });
                }
            }
            _ => {
                let level = levels.last_mut().expect("the file level is never popped");
                weight -= level.weight();
                match token {
                    Token::Sep => (level.chained, level.angles) = (0, 0),
                    Token::Comma => level.chained = 0,
                    Token::Lt => level.angles += 1,
                    Token::Gt if level.angles > 0 => level.angles -= 1,
                    token if deepens(token) => level.chained += 1,
                    _ => {}
                }
                weight += level.weight();
                if levels.len() - 1 + weight > MAX_TREE_DEPTH {
                    return Err(Diagnostic::error(Code::TooDeep, "expression nested too deeply")
                        .label(span, format!("the expression is more than {MAX_TREE_DEPTH} levels deep here"))
                        .hint("split it with `let` bindings or helper functions"));
                }
            }
        }
    }
    Ok(())
}

/// Tokens that can nest the tree one level without a bracket (`<` is
/// counted apart, see [`Level::angles`]).
fn deepens(token: &Token) -> bool {
    use Token::*;
    matches!(
        token,
        Pipe | OrOr
            | AndAnd
            | EqEq
            | NotEq
            | LtEq
            | Gt
            | GtEq
            | PlusPlus
            | Plus
            | Minus
            | Star
            | Slash
            | Percent
            | Bang
            | Dot
            | Question
            | Else
            | Return
            | Arrow
    )
}

/// 0 for `(…)`, 1 for `[…]`, 2 for `{…}`; whether the token opens.
fn bracket(token: &Token) -> Option<(usize, bool)> {
    match token {
        Token::LParen => Some((0, true)),
        Token::LBracket => Some((1, true)),
        Token::LBrace => Some((2, true)),
        Token::RParen => Some((0, false)),
        Token::RBracket => Some((1, false)),
        Token::RBrace => Some((2, false)),
        _ => None,
    }
}

/// How many brackets of each kind the tokens open and do not close.
fn unclosed_brackets<'t>(tokens: impl Iterator<Item = &'t SpannedToken>) -> [usize; 3] {
    let mut open = Vec::new();
    for (_, token, _) in tokens {
        match bracket(token) {
            Some((kind, true)) => open.push(kind),
            Some((kind, false)) if open.last() == Some(&kind) => {
                open.pop();
            }
            _ => {}
        }
    }
    let mut counts = [0; 3];
    for kind in open {
        counts[kind] += 1;
    }
    counts
}

/// The innermost bracket still open at the end of the file, if any.
fn innermost_unclosed(tokens: &[SpannedToken]) -> Option<&SpannedToken> {
    let mut open = Vec::new();
    for token in tokens {
        match bracket(&token.1) {
            Some((_, true)) => open.push(token),
            Some((_, false)) => {
                open.pop();
            }
            None => {}
        }
    }
    open.pop()
}

// ───────────────────────────── Declarations ─────────────────────────────

/// The tokens of one top-level declaration.
struct Chunk<'t> {
    tokens: &'t [SpannedToken],
    /// The token that ended the chunk: the `Sep` after it, or the keyword of
    /// a declaration that started before this one was complete. `None` at
    /// the end of the file.
    end: Option<&'t SpannedToken>,
}

/// Cuts the tokens into declarations: at a `Sep` outside brackets, and
/// before a keyword that can only start a declaration (which limits the
/// damage of an unclosed bracket to one declaration).
fn item_chunks(tokens: &[SpannedToken]) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut start = 0;
    // The kinds of the open brackets (see `bracket`).
    let mut open: Vec<usize> = Vec::new();
    for (i, (_, token, _)) in tokens.iter().enumerate() {
        if *token == Token::Sep && open.is_empty() {
            if start < i {
                chunks.push(Chunk { tokens: &tokens[start..i], end: Some(&tokens[i]) });
            }
            start = i + 1;
            continue;
        }
        let continues_header = i > start && matches!(tokens[i - 1].1, Token::Attribute(_) | Token::Extern);
        // `{ type: String }`, `e.type`: a keyword as a field name.
        let field_name = tokens.get(i + 1).is_some_and(|t| t.1 == Token::Colon) || (i > 0 && tokens[i - 1].1 == Token::Dot);
        // `{ @json("content-type") kind: String }`: an attribute inside brackets is a field's.
        let field_attribute = matches!(token, Token::Attribute(_)) && !open.is_empty();
        if starts_declaration(token) && i > start && !continues_header && !field_name && !field_attribute {
            chunks.push(Chunk { tokens: &tokens[start..i], end: Some(&tokens[i]) });
            start = i;
            open.clear();
        }
        match bracket(token) {
            Some((kind, true)) => open.push(kind),
            // A closer closes its opener and any unclosed one inside it; a
            // stray closer (no opener of its kind) is ignored.
            Some((kind, false)) => {
                if let Some(at) = open.iter().rposition(|k| *k == kind) {
                    open.truncate(at);
                }
            }
            None => {}
        }
    }
    if start < tokens.len() {
        chunks.push(Chunk { tokens: &tokens[start..], end: None });
    }
    chunks
}

/// Keywords that never appear inside a declaration's body (`fn` does: lambdas).
fn starts_declaration(token: &Token) -> bool {
    matches!(
        token,
        Token::Type | Token::Extern | Token::Store | Token::Route | Token::Cron | Token::Secret | Token::Cors | Token::Test | Token::Attribute(_)
    )
}

// ───────────────────────────── Error messages ─────────────────────────────

/// What earlier recoveries in one declaration say about its later errors.
struct Aftermath<'t> {
    /// The declaration's tokens.
    tokens: &'t [SpannedToken],
    /// Closing brackets, by kind, whose openers recovery skipped. lalrpop
    /// skips tokens without balancing brackets: after it skipped `{ 2` in
    /// `if x = 1 { 2 }`, the `}` after `2` closes the function, and the
    /// function's own `}` is an error that only echoes the first one.
    unclosed: [usize; 3],
    /// Where parsing resumed after the last recovery.
    resumed_at: Option<usize>,
}

impl Aftermath<'_> {
    fn recovered(&mut self, start: usize, end: usize) {
        let skipped = &self.tokens[self.index(start)..self.index(end)];
        for (count, unclosed) in self.unclosed.iter_mut().zip(unclosed_brackets(skipped.iter())) {
            *count += unclosed;
        }
        self.resumed_at = Some(end);
    }

    /// Whether an error is a consequence of an earlier recovery rather
    /// than a mistake of its own.
    fn is_echo(&mut self, error: &ParseError<usize, Token, &'static str>) -> bool {
        let ParseError::UnrecognizedToken { token: (at, token, _), .. } = error else { return false };
        if let Some((kind, false)) = bracket(token)
            && self.unclosed[kind] > 0
        {
            self.unclosed[kind] -= 1;
            return true;
        }
        // As in yacc: no new error until three tokens were read after a recovery.
        self.resumed_at.is_some_and(|resumed| self.index(*at) - self.index(resumed) < 3)
    }

    /// The index of the first token at or after a source offset.
    fn index(&self, offset: usize) -> usize {
        self.tokens.partition_point(|(start, _, _)| *start < offset)
    }
}

/// Turns lalrpop's errors into diagnostics, one per location.
struct Reporter<'a> {
    text: &'a str,
    file: FileId,
    tokens: &'a [SpannedToken],
    diagnostics: Vec<Diagnostic>,
    /// Where the last error was; a second error there is a cascade.
    last_at: Option<usize>,
}

impl Reporter<'_> {
    fn report(&mut self, error: ParseError<usize, Token, &'static str>, chunk_end: Option<&SpannedToken>) {
        let diagnostic = match error {
            ParseError::UnrecognizedToken { token, expected } => self.unexpected(&token, &expected),
            // The grammar ran out of tokens before the end of the file: the
            // declaration stopped at a line break or at the next declaration.
            ParseError::UnrecognizedEof { expected, .. } if chunk_end.is_some() => self.unexpected(chunk_end.expect("checked"), &expected),
            ParseError::UnrecognizedEof { location, expected } => self.end_of_file(location, &expected),
            ParseError::ExtraToken { token } => {
                let title = self.found(&token);
                Diagnostic::error(Code::UnexpectedToken, title).label(self.token_span(&token), "nothing more was expected here")
            }
            ParseError::InvalidToken { location } => {
                Diagnostic::error(Code::UnexpectedToken, "invalid token").label(Span::new(self.file, location, location), "here")
            }
            ParseError::User { error } => Diagnostic::error(Code::UnexpectedToken, error).label(Span::new(self.file, 0, 0), "here"),
        };
        let at = diagnostic.primary_span().map(|span| span.start as usize);
        if at.is_some() && at == self.last_at {
            return;
        }
        self.last_at = at;
        self.diagnostics.push(diagnostic);
    }

    fn unexpected(&self, token: &SpannedToken, expected: &[String]) -> Diagnostic {
        let mut diagnostic = Diagnostic::error(Code::UnexpectedToken, self.found(token))
            .label(self.token_span(token), format!("expected {}", describe_expected(expected)));
        let expects = |name: &str| expected.iter().any(|e| e == name);
        if token.1 == Token::Eq && expects("\"==\"") {
            diagnostic = diagnostic.hint("to compare two values, write `==`; `=` only assigns to a `var`");
        }
        // `"{"a": 1}"`: JSON in a string, its `{` read as an interpolation.
        if expects("StrMiddle") || expects("StrTail") {
            diagnostic = diagnostic.hint("`{` in a string starts an interpolation; write `\\{` for a literal brace, as in `\"\\{\\\"a\\\": 1}\"`");
        }
        // `{ x: 1 }` read as a block whose first statement is `x`.
        if token.1 == Token::Colon && expects("\"=\"") {
            diagnostic = diagnostic.hint(
                "a record literal is written `Name { field: value }`; \
                 in the head of `if`, `while`, `match` or `for`, put it in parentheses",
            );
        }
        diagnostic
    }

    fn end_of_file(&self, location: usize, expected: &[String]) -> Diagnostic {
        let at = Span::new(self.file, location, location);
        let mut diagnostic =
            Diagnostic::error(Code::UnexpectedEof, "unexpected end of file").label(at, format!("expected {}", describe_expected(expected)));
        if let Some(open) = innermost_unclosed(self.tokens) {
            diagnostic = diagnostic.label(self.token_span(open), format!("this {} is never closed", open.1));
        }
        diagnostic
    }

    /// The title: "unexpected `x`".
    fn found(&self, (start, token, end): &SpannedToken) -> String {
        let source = self.text.get(*start..*end).unwrap_or("");
        match token {
            Token::Sep if source == ";" => "unexpected `;`".into(),
            Token::Sep => "unexpected end of line".into(),
            Token::Str(_) | Token::StrHead(_) => "unexpected string".into(),
            // These start with the `}` that closes an interpolation.
            Token::StrMiddle(_) | Token::StrTail(_) => "unexpected `}`".into(),
            Token::Path(path) => format!("unexpected path `{path}`"),
            Token::Ident(_) | Token::UpperIdent(_) | Token::Int(_) | Token::Float(_) => format!("unexpected `{source}`"),
            other => format!("unexpected {other}"),
        }
    }

    fn token_span(&self, (start, token, end): &SpannedToken) -> Span {
        match token {
            // Point at the `}`, not at the rest of the string.
            Token::StrMiddle(_) | Token::StrTail(_) if end > start => Span::new(self.file, *start, start + 1),
            _ => Span::new(self.file, *start, *end),
        }
    }
}

/// How many alternatives a label lists before it stops.
const MAX_EXPECTED: usize = 6;

// Classes of terminals, named as lalrpop reports them (quoted ones keep
// their quotes), separated by spaces.
const EXPRESSION_START: &str =
    r#"Int Float Str StrHead Ident UpperIdent "(" "[" "{" "if" "match" "fn" "true" "false" "-" "!" "return" "break" "continue""#;
const STATEMENT_START: &str = r#""let" "var" "for" "while" "assert""#;
const PATTERN_START: &str = r#""_" Ident UpperIdent Int Float Str "-" "(" "[" "true" "false""#;
const TYPE_START: &str = r#"Ident UpperIdent "(" "fn""#;
const DECLARATION_START: &str = r#""type" "fn" "extern" "store" "route" "cron" "secret" "cors" "test" Attribute"#;
const OPERATOR: &str = r#""|>" "||" "&&" "==" "!=" "<" "<=" ">" ">=" "++" "+" "-" "*" "/" "%" "." "(" "?""#;

/// "`:`, a name or the end of the statement (a newline or `;`)": the
/// expected terminals in words, with whole classes (an expression, a
/// pattern, …) named once instead of token by token.
fn describe_expected(expected: &[String]) -> String {
    let mut left: Vec<&str> = expected.iter().map(String::as_str).collect();
    let has = |left: &[&str], name: &str| left.contains(&name);
    let mut words: Vec<String> = Vec::new();
    let mut take_class = |left: &mut Vec<&str>, class: &str, word: &str| {
        left.retain(|name| !class.split(' ').any(|member| member == *name));
        words.push(word.to_string());
    };

    if has(&left, "\"let\"") {
        take_class(&mut left, &format!("{STATEMENT_START} {EXPRESSION_START}"), "a statement");
    } else if has(&left, "\"match\"") {
        take_class(&mut left, EXPRESSION_START, "an expression");
    }
    if has(&left, "\"_\"") {
        take_class(&mut left, PATTERN_START, "a pattern");
    }
    if has(&left, "\"route\"") {
        take_class(&mut left, DECLARATION_START, "a declaration (`fn`, `type`, `store`, `route`, `cron`, `secret`, `cors` or `test`)");
    }
    if has(&left, "\"fn\"") && has(&left, "\"(\"") && has(&left, "UpperIdent") {
        take_class(&mut left, TYPE_START, "a type");
    }
    if has(&left, "\"+\"") && has(&left, "\"*\"") {
        take_class(&mut left, OPERATOR, "an operator");
    }

    // The end of the statement reads best last.
    let ends_statement = has(&left, "Sep");
    for name in left.into_iter().filter(|name| *name != "Sep") {
        let word = terminal_in_words(name);
        if !words.contains(&word) {
            words.push(word);
        }
    }
    if ends_statement {
        words.push(terminal_in_words("Sep"));
    }
    join_alternatives(&words)
}

fn terminal_in_words(name: &str) -> String {
    if let Some(symbol) = name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        return format!("`{symbol}`");
    }
    match name {
        "Ident" => "a name",
        "UpperIdent" => "a capitalised name",
        "Int" => "an integer",
        "Float" => "a float",
        "Str" | "StrHead" => "a string",
        "StrMiddle" | "StrTail" => "`}` to close the interpolation",
        "Path" => "a route path like `/todos/:id`",
        "Attribute" => "an attribute",
        "Sep" => "the end of the statement (a newline or `;`)",
        other => other,
    }
    .to_string()
}

/// "a", "a or b", "a, b or c"; long lists are cut.
fn join_alternatives(words: &[String]) -> String {
    match words {
        [] => "something else".to_string(),
        [one] => one.clone(),
        _ if words.len() > MAX_EXPECTED => format!("{}, …", words[..MAX_EXPECTED].join(", ")),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ast::{ExprKind, Item, PatternKind, StmtKind, StrPart};

    /// The brief's §2 program, as the conformance suite keeps it.
    const TASTE: &str = include_str!("../../../../lang-tests/check-pass/brief-taste.dl");

    fn parse_ok(src: &str) -> ast::Module {
        let (module, diagnostics) = parse(src, FileId(0));
        assert!(diagnostics.is_empty(), "unexpected diagnostics for {src:?}: {diagnostics:#?}");
        module
    }

    /// The statements of the body of the first item, a `fn`.
    fn body(src: &str) -> Vec<ast::Stmt> {
        match parse_ok(src).items.into_iter().next() {
            Some(Item::Fn(f)) => f.body.expect("a body").stmts,
            other => panic!("expected a fn, got {other:?}"),
        }
    }

    /// One expression, parsed as the only statement of a function body.
    fn expr(src: &str) -> ast::Expr {
        match body(&format!("fn main() {{\n{src}\n}}")).as_slice() {
            [ast::Stmt { kind: StmtKind::Expr(e), .. }] => e.clone(),
            other => panic!("expected one expression statement, got {other:?}"),
        }
    }

    /// A compact, parenthesised rendering to check the tree's shape.
    fn sexp(e: &ast::Expr) -> String {
        let list = |items: &[ast::Expr]| items.iter().map(sexp).collect::<Vec<_>>().join(" ");
        match &e.kind {
            ExprKind::Int(n) => n.to_string(),
            ExprKind::Float(x) => format!("{x:?}"),
            ExprKind::Bool(b) => b.to_string(),
            ExprKind::Unit => "()".into(),
            ExprKind::Str(parts) => {
                let parts: Vec<String> = parts
                    .iter()
                    .map(|p| match p {
                        StrPart::Text(t) => format!("{t:?}"),
                        StrPart::Expr(e) => sexp(e),
                    })
                    .collect();
                format!("(str {})", parts.join(" "))
            }
            ExprKind::Name(n) => n.name.clone(),
            ExprKind::List(items) => format!("[{}]", list(items)),
            ExprKind::Tuple(items) => format!("(tuple {})", list(items)),
            ExprKind::Record { name, fields } => {
                let fields: Vec<String> = fields.iter().map(|f| format!("{}={}", f.name.name, sexp(&f.value))).collect();
                format!("({} {{{}}})", name.name, fields.join(" "))
            }
            ExprKind::RecordUpdate { base, fields } => {
                let fields: Vec<String> = fields.iter().map(|f| format!("{}={}", f.name.name, sexp(&f.value))).collect();
                format!("(update {} {{{}}})", sexp(base), fields.join(" "))
            }
            ExprKind::Field { target, name } => format!("(. {} {})", sexp(target), name.name),
            ExprKind::Call { callee, args } => format!("(call {} {})", sexp(callee), list(args)).replace(" )", ")"),
            ExprKind::MethodCall { receiver, method, args } => {
                format!("(.{} {} {})", method.name, sexp(receiver), list(args)).replace(" )", ")")
            }
            ExprKind::Pipe { lhs, rhs } => format!("(|> {} {})", sexp(lhs), sexp(rhs)),
            ExprKind::Unary { op, operand } => format!("({} {})", if *op == ast::UnaryOp::Neg { "-" } else { "!" }, sexp(operand)),
            ExprKind::Binary { op, lhs, rhs } => format!("({} {} {})", op.symbol(), sexp(lhs), sexp(rhs)),
            ExprKind::Try(inner) => format!("(? {})", sexp(inner)),
            ExprKind::If { cond, then, else_ } => match else_ {
                Some(e) => format!("(if {} {} {})", sexp(cond), block(then), sexp(e)),
                None => format!("(if {} {})", sexp(cond), block(then)),
            },
            ExprKind::Match { scrutinee, arms } => format!("(match {} {})", sexp(scrutinee), arms.len()),
            ExprKind::Block(b) => block(b),
            ExprKind::Lambda { params, body, .. } => {
                let params: Vec<&str> = params.iter().map(|p| p.name.name.as_str()).collect();
                format!("(fn [{}] {})", params.join(" "), block(body))
            }
            ExprKind::Return(value) => value.as_ref().map_or("(return)".into(), |v| format!("(return {})", sexp(v))),
            ExprKind::Break => "break".into(),
            ExprKind::Continue => "continue".into(),
            ExprKind::Error => "<error>".into(),
        }
    }

    fn block(b: &ast::Block) -> String {
        let stmts: Vec<String> = b
            .stmts
            .iter()
            .map(|s| match &s.kind {
                StmtKind::Expr(e) => sexp(e),
                other => format!("{other:?}").split([' ', '{', '(']).next().unwrap_or("").to_string(),
            })
            .collect();
        format!("{{{}}}", stmts.join("; "))
    }

    fn pattern(p: &ast::Pattern) -> String {
        let list = |items: &[ast::Pattern]| items.iter().map(pattern).collect::<Vec<_>>().join(", ");
        match &p.kind {
            PatternKind::Wildcard => "_".into(),
            PatternKind::Bind(name) => name.name.clone(),
            PatternKind::Literal(literal) => format!("{literal:?}"),
            PatternKind::Constructor { name, args } if args.is_empty() => name.name.clone(),
            PatternKind::Constructor { name, args } => format!("{}({})", name.name, list(args)),
            PatternKind::Tuple(items) => format!("({})", list(items)),
            PatternKind::List { items, rest } => {
                let rest = match rest {
                    None => String::new(),
                    Some(None) => "..".into(),
                    Some(Some(name)) => format!("..{}", name.name),
                };
                let all: Vec<String> = items.iter().map(pattern).chain((!rest.is_empty()).then_some(rest)).collect();
                format!("[{}]", all.join(", "))
            }
            PatternKind::Error => "<error>".into(),
        }
    }

    fn codes(src: &str) -> Vec<&'static str> {
        parse(src, FileId(0)).1.iter().map(|d| d.code.as_str()).collect()
    }

    #[test]
    fn the_brief_program_parses_cleanly() {
        let module = parse_ok(TASTE);
        let kinds: Vec<&str> = module
            .items
            .iter()
            .map(|item| match item {
                Item::Type(_) => "type",
                Item::Fn(_) => "fn",
                Item::Store(_) => "store",
                Item::Route(_) => "route",
                Item::Cron(_) => "cron",
                Item::Secret(_) => "secret",
                Item::Cors(_) => "cors",
                Item::Test(_) => "test",
            })
            .collect();
        assert_eq!(kinds, ["type", "type", "store", "route", "route", "route", "cron", "fn", "test"]);

        // Spans cover the source text they stand for.
        let text = |span: Span| &TASTE[span.range()];
        let Item::Route(route) = &module.items[4] else { panic!() };
        assert_eq!((route.method.name.as_str(), text(route.path_span)), ("GET", "/todos/:id"));
        assert!(text(route.span).starts_with("route GET /todos/:id {") && text(route.span).ends_with("  }\n}"));
        let Item::Cron(cron) = &module.items[6] else { panic!() };
        assert_eq!((cron.schedule.value.as_str(), text(cron.schedule.span)), ("0 3 * * *", "\"0 3 * * *\""));
        let Item::Fn(slug) = &module.items[7] else { panic!() };
        let StmtKind::Expr(pipe) = &slug.body.as_ref().unwrap().stmts[0].kind else { panic!() };
        assert_eq!(text(pipe.span), r#"s |> String.lower |> String.replace(" ", "-")"#);
        assert_eq!(sexp(pipe), r#"(|> (|> s (. String lower)) (.replace String (str " ") (str "-")))"#);
    }

    #[test]
    fn the_brief_language_core_snippets_parse() {
        let module = parse_ok(
            r#"type Point = { x: Int, y: Int, }
type Shape = Circle(Float) | Rect(Float, Float) | Empty
type Id = String
type Pairs<T> = List<(T, T)>
type Handler = fn(Int, String) -> Result<(), String>
@reads
extern fn get<T: Json>(name: String) -> Option<T>
fn first<T>(xs: List<T>) -> Option<T>
secret API_KEY
fn main() {
  let p = Point { x: 1, y: 2 }
  var q = { ..p, x: 3 }; q = { ..q }
  let (a, b): (Int, Float) = (1, 2.5,)
  while a < 10 { print("{a}") }
  debug(p.x + q.y)
}"#,
        );
        let types: Vec<_> = module.items[..5]
            .iter()
            .map(|item| match item {
                Item::Type(t) => match &t.body {
                    ast::TypeBody::Record(fields) => format!("record {}", fields.len()),
                    ast::TypeBody::Variants(vs) => format!("variants {}", vs.len()),
                    ast::TypeBody::Alias(_) => "alias".to_string(),
                },
                _ => panic!("{item:?}"),
            })
            .collect();
        assert_eq!(types, ["record 2", "variants 3", "variants 1", "alias", "alias"]);
        let Item::Fn(get) = &module.items[5] else { panic!() };
        assert!(get.is_extern && get.body.is_none() && get.attributes[0].name == "reads");
        assert_eq!(get.generics[0].bounds[0].name, "Json");
        let Item::Fn(main) = &module.items[8] else { panic!() };
        assert!(matches!(main.body.as_ref().unwrap().stmts[1].kind, StmtKind::Let { mutable: true, .. }));
        assert!(matches!(main.body.as_ref().unwrap().stmts[2].kind, StmtKind::Assign { .. }));
    }

    #[test]
    fn operator_precedence() {
        let cases = [
            ("a + b * c", "(+ a (* b c))"),
            ("a - b - c", "(- (- a b) c)"),
            ("x |> f(a) == y", "(|> x (== (call f a) y))"),
            ("a || b && c == d ++ e + -f", "(|| a (&& b (== c (++ d (+ e (- f))))))"),
            ("!a.b(c)?.d", "(! (. (? (.b a c)) d))"),
            ("xs |> List.map(f) |> List.sum", "(|> (|> xs (.map List f)) (. List sum))"),
            ("return a |> f", "(return (|> a f))"),
            ("(a + b) * c", "(* (+ a b) c)"),
            ("f(a, (b, c), [d],)(e)", "(call (call f a (tuple b c) [d]) e)"),
        ];
        for (src, want) in cases {
            assert_eq!(sexp(&expr(src)), want, "{src}");
        }
        // Comparisons do not chain.
        assert_eq!(codes("fn f() { a < b < c }"), ["E0100"]);
    }

    #[test]
    fn braces_after_an_if_while_match_or_for_head_open_the_body() {
        assert_eq!(sexp(&expr("if x == Empty { 1 } else { 2 }")), "(if (== x Empty) {1} {2})");
        assert_eq!(sexp(&expr("if a { 1 } else if b { 2 } else { 3 }")), "(if a {1} (if b {2} {3}))");
        assert_eq!(sexp(&expr("match Shape { Empty => 0 }")), "(match Shape 1)");
        // Inside brackets, calls and lambdas the full grammar is back.
        assert_eq!(
            sexp(&expr("if List.any(xs, fn(x) { x > 1 }) { Point { x } }")),
            "(if (.any List xs (fn [x] {(> x 1)})) {(Point {x=x})})"
        );
        assert_eq!(sexp(&expr("if p == (Point { x: 1 }) { }")), "(if (== p (Point {x=1})) {})");
        let stmts = body("fn f() {\n for k in Keys { }\n while Busy { }\n}");
        assert!(matches!(&stmts[0].kind, StmtKind::For { iter, .. } if sexp(iter) == "Keys"));
        assert!(matches!(&stmts[1].kind, StmtKind::While { cond, .. } if sexp(cond) == "Busy"));
    }

    #[test]
    fn string_interpolation() {
        assert_eq!(sexp(&expr(r#""a {f("x {y}")} b""#)), r#"(str "a " (call f (str "x " y)) " b")"#);
        assert_eq!(sexp(&expr(r#""{a}{b + 1}""#)), "(str a (+ b 1))");
        assert_eq!(sexp(&expr(r#""{Point { x: 1 }}""#)), "(str (Point {x=1}))");
        assert_eq!(sexp(&expr(r#""""#)), r#"(str "")"#);

        // Where a plain string is required, an interpolated one is E0103.
        let (module, diagnostics) = parse("test \"adds {n}\" { }\ncron c \"{x}\" { }", FileId(0));
        assert_eq!(diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(), [Code::PlainStringRequired; 2]);
        assert_eq!(diagnostics[0].primary_span().unwrap().range(), 5..15);
        assert_eq!(module.items.len(), 2);
    }

    #[test]
    fn match_arms_guards_and_patterns() {
        let e = expr(
            r#"match xs {
  [] => 0,
  [x] if x > 0 => x
  [x, ..rest] => 1, [_, ..] => 2
  [..rest] => 3,
  (a, -1, -2.5, "s", true, ()) => 4,
  Some(Rect(w, h)) => w,
  None => return,
}"#,
        );
        let ExprKind::Match { arms, .. } = e.kind else { panic!() };
        let pats: Vec<String> = arms.iter().map(|arm| pattern(&arm.pattern)).collect();
        assert_eq!(
            pats,
            [
                "[]",
                "[x]",
                "[x, ..rest]",
                "[_, ..]",
                "[..rest]",
                "(a, Int(-1), Float(-2.5), Str(\"s\"), Bool(true), Unit)",
                "Some(Rect(w, h))",
                "None",
            ]
        );
        assert!(arms[1].guard.is_some() && arms[0].guard.is_none());
    }

    #[test]
    fn lambdas() {
        assert_eq!(sexp(&expr("List.map(xs, fn(x) { x * 2 })")), "(.map List xs (fn [x] {(* x 2)}))");
        let ExprKind::Lambda { params, ret, .. } = expr("fn(x: Int, y) -> Int { x + y }").kind else { panic!() };
        assert!(params[0].ty.is_some() && params[1].ty.is_none() && ret.is_some());
    }

    #[test]
    fn newlines_continue_or_end_statements() {
        let stmts = body("fn f() {\n  let s = xs\n    |> List.map(g)\n    |> List.sum\n  let t = a +\n    b\n  t\n}");
        assert_eq!(stmts.len(), 3);
        let StmtKind::Let { value, .. } = &stmts[0].kind else { panic!() };
        assert_eq!(sexp(value), "(|> (|> xs (.map List g)) (. List sum))");
        let StmtKind::Let { value, .. } = &stmts[1].kind else { panic!() };
        assert_eq!(sexp(value), "(+ a b)");
    }

    #[test]
    fn recovery_reports_each_broken_statement() {
        let src = "fn f() {\n  let = 1\n  let y = 2\n  g(1 2)\n}\nfn h() { 1 }";
        let (module, diagnostics) = parse(src, FileId(0));
        assert_eq!(diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(), [Code::UnexpectedToken; 2]);
        assert_eq!(diagnostics[0].title, "unexpected `=`");
        assert_eq!(diagnostics[0].labels[0].message, "expected a pattern");
        assert_eq!(diagnostics[1].title, "unexpected `2`");
        assert_eq!(module.items.len(), 2);
        let Item::Fn(f) = &module.items[0] else { panic!() };
        let kinds: Vec<_> = f.body.as_ref().unwrap().stmts.iter().map(|s| matches!(s.kind, StmtKind::Error)).collect();
        assert_eq!(kinds, [true, false, true]);
    }

    #[test]
    fn one_mistake_gives_one_diagnostic() {
        // An error in a header must not make the body's statements look
        // like broken declarations.
        let src = "fn f(a: Int b: Int) {\n  let x = 1\n  let y = 2\n}\nstore s: Int";
        let (module, diagnostics) = parse(src, FileId(0));
        assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
        assert_eq!(diagnostics[0].title, "unexpected `b`");
        assert_eq!(diagnostics[0].labels[0].message, "expected `)` or `,`");
        assert!(matches!(module.items.as_slice(), [Item::Store(_)]));

        // Recovery inside a body skips brackets unbalanced; the echoes of
        // that are not reported, and the next declaration survives.
        for src in [
            "fn f() {\n  if x = 1 { 2 }\n}\nfn g() { 1 }",
            "fn f() {\n  let p = Point { x: 1\n  p\n}\nfn g() { 1 }",
            "fn f() {\n  if p == Point { x: 1 } { 1 }\n}\nfn g() { 1 }",
            "fn f() {\n  let y = h(x,\n}\nfn g() { 1 }",
            "fn f() {\n  match x {\n    A => h(1 2, 3)\n    B => 4\n  }\n}\nfn g() { 1 }",
        ] {
            let (module, diagnostics) = parse(src, FileId(0));
            assert_eq!(diagnostics.len(), 1, "{src}: {diagnostics:#?}");
            assert_eq!(module.items.len(), 2, "{src}");
        }
    }

    #[test]
    fn error_messages_name_what_was_expected() {
        let first = |src: &str| {
            let (_, d) = parse(src, FileId(0));
            let d = d.into_iter().next().expect("an error");
            (d.code.as_str(), d.title, d.labels[0].message.clone())
        };
        assert_eq!(first("store todos Todo"), ("E0100", "unexpected `Todo`".into(), "expected `:`".into()));
        assert_eq!(first("store todos\nfn f() {}"), ("E0100", "unexpected end of line".into(), "expected `:`".into()));
        assert_eq!(first("fn f() { let x = }"), ("E0100", "unexpected `}`".into(), "expected an expression".into()));
        assert_eq!(
            first("fn f() { x y }"),
            ("E0100", "unexpected `y`".into(), "expected an operator, `}`, `=` or the end of the statement (a newline or `;`)".into())
        );
        assert_eq!(first("let x = 1").2, "expected a declaration (`fn`, `type`, `store`, `route`, `cron`, `secret`, `cors` or `test`)");
        assert_eq!(first("route GET {}").2, "expected a route path like `/todos/:id`");
        let (_, d) = parse("fn f() {\n  if x { 1 ", FileId(0));
        assert_eq!((d.len(), d[0].code, d[0].title.as_str()), (1, Code::UnexpectedEof, "unexpected end of file"));
        assert_eq!(d[0].labels[1].message, "this `{` is never closed");
    }

    #[test]
    fn deep_nesting_is_one_error_not_a_stack_overflow() {
        let deep = format!("fn f() {{ {}1{} }}", "(".repeat(300), ")".repeat(300));
        let (module, diagnostics) = parse(&deep, FileId(0));
        assert!(module.items.is_empty());
        assert_eq!(diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(), [Code::TooDeep]);

        let long = format!("fn f() {{ 1{} }}", " + 1".repeat(100_000));
        assert_eq!(codes(&long), ["E0104"]);
        let types = format!("store s: {}Int{}", "A<B, ".repeat(5_000), ">".repeat(5_000));
        assert_eq!(codes(&types), ["E0104"]);
        // Long but flat is fine: siblings do not nest.
        parse_ok(&format!("fn f() {{ [{}] }}", "1 + 1, ".repeat(10_000)));
    }

    #[test]
    fn no_input_makes_it_panic() {
        // Every prefix of a valid program.
        for end in (0..=TASTE.len()).filter(|&i| TASTE.is_char_boundary(i)) {
            let (_, diagnostics) = parse(&TASTE[..end], FileId(0));
            for d in &diagnostics {
                assert!(d.labels.iter().all(|l| l.span.end as usize <= end), "{d:?}");
            }
        }
        // Token soup from a fixed pseudo-random sequence.
        let pieces = [
            "fn",
            "(",
            ")",
            "{",
            "}",
            "[",
            "]",
            "x",
            "T",
            "1",
            "\"s {",
            "}\"",
            "\n",
            ";",
            ",",
            ":",
            "=",
            "=>",
            "|>",
            "match",
            "if",
            "else",
            "..",
            "-",
            "?",
            "route GET /a",
            "type",
            "|",
            "<",
            ">",
            "let",
            "@reads",
            "return",
            "for",
            "in",
            "_",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..2_000 {
            let mut src = String::new();
            for _ in 0..(seed % 40) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                src.push_str(pieces[(seed % pieces.len() as u64) as usize]);
                src.push(' ');
            }
            let _ = parse(&src, FileId(0));
        }
    }

    /// The keywords are listed in the lexer, the grammar's `Keyword` rule and
    /// spec/lexical.md: each word the spec lists is a keyword token and a field name.
    #[test]
    fn every_keyword_of_the_spec_is_lexed_as_one_and_is_a_field_name() {
        let spec = include_str!("../../../../spec/lexical.md");
        let block = spec.split("Keywords are reserved and are never names:").nth(1).expect("the keyword list");
        let words: Vec<&str> = block.split("```").nth(1).expect("a code block").split_whitespace().skip(1).collect();
        assert!(words.len() > 20, "{words:?}");
        for word in words {
            let (tokens, _) = crate::syntax::lexer::lex(word, FileId(0));
            assert!(!matches!(tokens[0].1, Token::Ident(_)), "`{word}` is lexed as a name");
            let module = parse_ok(&format!("type E = {{ {word}: Int }}"));
            let Some(Item::Type(ast::TypeDecl { body: ast::TypeBody::Record(fields), .. })) = module.items.first() else {
                panic!("`{word}`: not a record type");
            };
            assert_eq!(fields[0].name.name, word);
        }
    }
}
