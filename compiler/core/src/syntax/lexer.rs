//! The lexer: source text to [`Token`]s. logos recognises the plain tokens;
//! this module adds what a regular lexer cannot do alone: strings with
//! nested interpolations, route paths, and the newline rule of the brief
//! (a newline ends a statement unless the line obviously continues).

use logos::Logos;

use super::token::Token;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, Span};

/// A token with its byte range, as lalrpop consumes it.
pub type SpannedToken = (usize, Token, usize);

#[derive(Logos, Clone, Copy, Debug, PartialEq)]
#[logos(skip r"[ \t\r\f]+")]
#[logos(skip(r"//[^\n]*", allow_greedy = true))]
enum Raw {
    #[token("type")]
    Type,
    #[token("fn")]
    Fn,
    #[token("extern")]
    Extern,
    #[token("let")]
    Let,
    #[token("var")]
    Var,
    #[token("if")]
    If,
    #[token("else")]
    Else,
    #[token("match")]
    Match,
    #[token("for")]
    For,
    #[token("in")]
    In,
    #[token("while")]
    While,
    #[token("return")]
    Return,
    #[token("break")]
    Break,
    #[token("continue")]
    Continue,
    #[token("store")]
    Store,
    #[token("route")]
    Route,
    #[token("cron")]
    Cron,
    #[token("secret")]
    Secret,
    #[token("cors")]
    Cors,
    #[token("test")]
    Test,
    #[token("assert")]
    Assert,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[regex("[a-z][A-Za-z0-9_]*|_[A-Za-z0-9_]+")]
    Ident,
    #[regex("[A-Z][A-Za-z0-9_]*")]
    UpperIdent,
    #[regex("[0-9][0-9_]*")]
    Int,
    #[regex(r"[0-9][0-9_]*\.[0-9][0-9_]*([eE][+-]?[0-9]+)?|[0-9][0-9_]*[eE][+-]?[0-9]+")]
    Float,
    #[regex("@[a-z][a-z_]*")]
    Attribute,
    #[token("\"")]
    Quote,
    #[token("\n")]
    Newline,
    #[token(";")]
    Semi,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token(",")]
    Comma,
    #[token(":")]
    Colon,
    #[token(".")]
    Dot,
    #[token("..")]
    DotDot,
    #[token("=")]
    Eq,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    LtEq,
    #[token(">")]
    Gt,
    #[token(">=")]
    GtEq,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("++")]
    PlusPlus,
    #[token("&&")]
    AndAnd,
    #[token("||")]
    OrOr,
    #[token("!")]
    Bang,
    #[token("|>")]
    Pipe,
    #[token("|")]
    Bar,
    #[token("->")]
    Arrow,
    #[token("=>")]
    FatArrow,
    #[token("?")]
    Question,
    #[token("_")]
    Underscore,
}

/// Lexes one file. Never fails: errors become diagnostics and the token
/// stream stays usable, so the parser can report more.
pub fn lex(text: &str, file: FileId) -> (Vec<SpannedToken>, Vec<Diagnostic>) {
    let mut lexer = Lexer { raw: Raw::lexer(text), file, tokens: Vec::new(), diagnostics: Vec::new(), interpolations: Vec::new() };
    lexer.run();
    let tokens = apply_newline_rule(lexer.tokens);
    (tokens, lexer.diagnostics)
}

struct Lexer<'s> {
    raw: logos::Lexer<'s, Raw>,
    file: FileId,
    tokens: Vec<SpannedToken>,
    diagnostics: Vec<Diagnostic>,
    /// One entry per open `{…}` interpolation: its `{` offset and how many
    /// ordinary braces are open inside it.
    interpolations: Vec<(usize, u32)>,
}

/// How a piece of string text ended.
enum StringEnd {
    Quote,
    Interpolation,
    Unterminated,
}

impl Lexer<'_> {
    fn run(&mut self) {
        while let Some(raw) = self.raw.next() {
            let span = self.raw.span();
            let Ok(raw) = raw else {
                let c = self.raw.slice().chars().next().unwrap_or('?');
                self.error(Code::UnexpectedChar, span.clone(), format!("unexpected character `{}`", c.escape_debug()), "this character cannot start a token");
                continue;
            };
            match raw {
                Raw::Quote => self.string(span.start, true),
                Raw::LBrace => {
                    if let Some((_, depth)) = self.interpolations.last_mut() {
                        *depth += 1;
                    }
                    self.push(span, Token::LBrace);
                }
                Raw::RBrace => match self.interpolations.last_mut() {
                    Some((_, 0)) => {
                        self.interpolations.pop();
                        self.string(span.start, false);
                    }
                    Some((_, depth)) => {
                        *depth -= 1;
                        self.push(span, Token::RBrace);
                    }
                    None => self.push(span, Token::RBrace),
                },
                Raw::Newline => {
                    self.close_interpolations(span.start);
                    self.push(span, Token::Sep);
                }
                Raw::Int => {
                    let digits = self.raw.slice().replace('_', "");
                    let value = digits.parse::<i64>().unwrap_or_else(|_| {
                        self.error(Code::InvalidNumber, span.clone(), "integer literal out of range", "an Int is 64 bits: at most 9223372036854775807");
                        0
                    });
                    self.push(span, Token::Int(value));
                }
                Raw::Float => {
                    let digits = self.raw.slice().replace('_', "");
                    let value = digits.parse::<f64>().ok().filter(|x| x.is_finite()).unwrap_or_else(|| {
                        self.error(Code::InvalidNumber, span.clone(), "float literal out of range", "a Float is a 64-bit IEEE double");
                        0.0
                    });
                    self.push(span, Token::Float(value));
                }
                Raw::Ident => {
                    let name = self.raw.slice().to_string();
                    self.push(span, Token::Ident(name));
                    self.route_path();
                }
                Raw::UpperIdent => {
                    let name = self.raw.slice().to_string();
                    self.push(span, Token::UpperIdent(name));
                    self.route_path();
                }
                Raw::Attribute => {
                    let name = self.raw.slice()[1..].to_string();
                    self.push(span, Token::Attribute(name));
                }
                other => self.push(span, fixed(other)),
            }
        }
        let end = self.raw.source().len();
        self.close_interpolations(end);
    }

    fn push(&mut self, span: std::ops::Range<usize>, token: Token) {
        self.tokens.push((span.start, token, span.end));
    }

    fn error(&mut self, code: Code, span: std::ops::Range<usize>, title: impl Into<String>, label: &str) {
        let span = Span::new(self.file, span.start, span.end);
        self.diagnostics.push(Diagnostic::error(code, title).label(span, label));
    }

    /// An interpolation still open at a newline or the end of the file.
    fn close_interpolations(&mut self, at: usize) {
        while let Some((open, _)) = self.interpolations.pop() {
            self.diagnostics.push(
                Diagnostic::error(Code::UnterminatedInterpolation, "unterminated interpolation")
                    .label(Span::new(self.file, open, open + 1), "this `{` opens an interpolation that is never closed")
                    .hint("close it with `}`, or write `\\{` for a literal brace"),
            );
            self.tokens.push((at, Token::StrTail(String::new()), at));
        }
    }

    /// After `route METHOD`, the path is one token up to the next space.
    fn route_path(&mut self) {
        let n = self.tokens.len();
        if n < 2 || self.tokens[n - 2].1 != Token::Route {
            return;
        }
        let rest = self.raw.remainder();
        let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        let path: String = rest[skipped..].chars().take_while(|c| !c.is_whitespace() && *c != '{').collect();
        if path.is_empty() {
            return;
        }
        let start = self.raw.span().end + skipped;
        self.raw.bump(skipped + path.len());
        let end = start + path.len();
        self.tokens.push((start, Token::Path(path), end));
    }

    /// Scans string text after a `"` (`opening`) or after the `}` closing an
    /// interpolation, and emits the matching string token.
    fn string(&mut self, start: usize, opening: bool) {
        let (text, end) = self.string_text();
        let stop = self.raw.span().end;
        let token = match (&end, opening) {
            (StringEnd::Interpolation, true) => Token::StrHead(text),
            (StringEnd::Interpolation, false) => Token::StrMiddle(text),
            (_, true) => Token::Str(text),
            (_, false) => Token::StrTail(text),
        };
        self.tokens.push((start, token, stop));
        match end {
            StringEnd::Interpolation => self.interpolations.push((stop - 1, 0)),
            StringEnd::Unterminated => {
                self.diagnostics.push(
                    Diagnostic::error(Code::UnterminatedString, "unterminated string")
                        .label(Span::new(self.file, start, stop), "this string has no closing `\"`")
                        .hint("strings end on the line they start; write `\\n` for a line break"),
                );
            }
            StringEnd::Quote => {}
        }
    }

    /// Reads string text up to `"`, `{` or the end of the line, resolving
    /// escapes; consumes the terminator (but not a newline).
    fn string_text(&mut self) -> (String, StringEnd) {
        let rest = self.raw.remainder();
        let base = self.raw.span().end;
        let mut text = String::new();
        let mut chars = rest.char_indices().peekable();
        let mut consumed = rest.len();
        let mut end = StringEnd::Unterminated;
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    consumed = i + 1;
                    end = StringEnd::Quote;
                    break;
                }
                '{' => {
                    consumed = i + 1;
                    end = StringEnd::Interpolation;
                    break;
                }
                '\n' => {
                    consumed = i;
                    break;
                }
                '\\' => {
                    let Some(&(j, e)) = chars.peek() else { continue };
                    if e == '\n' {
                        continue;
                    }
                    chars.next();
                    match e {
                        'n' => text.push('\n'),
                        't' => text.push('\t'),
                        'r' => text.push('\r'),
                        '0' => text.push('\0'),
                        '"' | '\\' | '{' | '}' => text.push(e),
                        'u' => match unicode_escape(&rest[j + 1..]) {
                            Some((ch, len)) => {
                                text.push(ch);
                                for _ in 0..len {
                                    chars.next();
                                }
                            }
                            None => {
                                // Drop a malformed `{…}` with the `\u`, so its `{` opens no interpolation.
                                let after = &rest[j + 1..];
                                let braces = match after.strip_prefix('{') {
                                    Some(body) => body.find(['}', '"', '\n']).filter(|&k| body[k..].starts_with('}')).map_or(0, |k| k + 2),
                                    None => 0,
                                };
                                for _ in after[..braces].chars() {
                                    chars.next();
                                }
                                let end = base + j + e.len_utf8() + braces;
                                self.escape_error(base + i, end, "invalid unicode escape", "write `\\u{…}` with 1 to 6 hex digits of a Unicode scalar value");
                            }
                        },
                        _ => self.escape_error(base + i, base + j + e.len_utf8(), &format!("unknown escape `\\{}`", e.escape_debug()), "the escapes are \\n \\t \\r \\0 \\\" \\\\ \\{ \\} and \\u{…}"),
                    }
                }
                _ => text.push(c),
            }
        }
        self.raw.bump(consumed);
        (text, end)
    }

    fn escape_error(&mut self, start: usize, end: usize, title: &str, hint: &str) {
        self.diagnostics.push(Diagnostic::error(Code::InvalidEscape, title).label(Span::new(self.file, start, end), "here").hint(hint));
    }
}

/// Parses the `{XXXX}` after `\u`; returns the char and the bytes used.
fn unicode_escape(rest: &str) -> Option<(char, usize)> {
    let body = rest.strip_prefix('{')?;
    let close = body.find('}')?;
    let hex = &body[..close];
    if hex.is_empty() || hex.len() > 6 {
        return None;
    }
    let ch = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
    Some((ch, close + 2))
}

fn fixed(raw: Raw) -> Token {
    match raw {
        Raw::Type => Token::Type,
        Raw::Fn => Token::Fn,
        Raw::Extern => Token::Extern,
        Raw::Let => Token::Let,
        Raw::Var => Token::Var,
        Raw::If => Token::If,
        Raw::Else => Token::Else,
        Raw::Match => Token::Match,
        Raw::For => Token::For,
        Raw::In => Token::In,
        Raw::While => Token::While,
        Raw::Return => Token::Return,
        Raw::Break => Token::Break,
        Raw::Continue => Token::Continue,
        Raw::Store => Token::Store,
        Raw::Route => Token::Route,
        Raw::Cron => Token::Cron,
        Raw::Secret => Token::Secret,
        Raw::Cors => Token::Cors,
        Raw::Test => Token::Test,
        Raw::Assert => Token::Assert,
        Raw::True => Token::True,
        Raw::False => Token::False,
        Raw::Semi => Token::Sep,
        Raw::LParen => Token::LParen,
        Raw::RParen => Token::RParen,
        Raw::LBracket => Token::LBracket,
        Raw::RBracket => Token::RBracket,
        Raw::LBrace => Token::LBrace,
        Raw::RBrace => Token::RBrace,
        Raw::Comma => Token::Comma,
        Raw::Colon => Token::Colon,
        Raw::Dot => Token::Dot,
        Raw::DotDot => Token::DotDot,
        Raw::Eq => Token::Eq,
        Raw::EqEq => Token::EqEq,
        Raw::NotEq => Token::NotEq,
        Raw::Lt => Token::Lt,
        Raw::LtEq => Token::LtEq,
        Raw::Gt => Token::Gt,
        Raw::GtEq => Token::GtEq,
        Raw::Plus => Token::Plus,
        Raw::Minus => Token::Minus,
        Raw::Star => Token::Star,
        Raw::Slash => Token::Slash,
        Raw::Percent => Token::Percent,
        Raw::PlusPlus => Token::PlusPlus,
        Raw::AndAnd => Token::AndAnd,
        Raw::OrOr => Token::OrOr,
        Raw::Bang => Token::Bang,
        Raw::Pipe => Token::Pipe,
        Raw::Bar => Token::Bar,
        Raw::Arrow => Token::Arrow,
        Raw::FatArrow => Token::FatArrow,
        Raw::Question => Token::Question,
        Raw::Underscore => Token::Underscore,
        // Tokens with data or special handling never reach here.
        Raw::Ident | Raw::UpperIdent | Raw::Int | Raw::Float | Raw::Attribute | Raw::Quote | Raw::Newline => Token::Sep,
    }
}

/// Which bracket a token opens, for the newline rule.
#[derive(Clone, Copy, PartialEq)]
enum Open {
    Paren,
    Brace,
    Interpolation,
}

/// Keeps only the separators that end a statement: a newline is dropped
/// inside `(…)`, `[…]` and interpolations, after a token that cannot end an
/// expression, before a token that continues one, and around braces;
/// runs of separators collapse into one.
fn apply_newline_rule(tokens: Vec<SpannedToken>) -> Vec<SpannedToken> {
    let mut out: Vec<SpannedToken> = Vec::with_capacity(tokens.len());
    let mut open: Vec<Open> = Vec::new();
    for i in 0..tokens.len() {
        let token = &tokens[i].1;
        match token {
            Token::LParen | Token::LBracket => open.push(Open::Paren),
            Token::LBrace => open.push(Open::Brace),
            Token::StrHead(_) => open.push(Open::Interpolation),
            Token::RParen | Token::RBracket | Token::RBrace => {
                open.pop();
            }
            Token::StrMiddle(_) | Token::StrTail(_) => {
                while let Some(o) = open.pop() {
                    if o == Open::Interpolation {
                        break;
                    }
                }
                if matches!(token, Token::StrMiddle(_)) {
                    open.push(Open::Interpolation);
                }
            }
            Token::Sep => {
                let inside_parens = matches!(open.last(), Some(Open::Paren | Open::Interpolation));
                let after = out.last().is_none_or(|(_, t, _)| continues_after(t));
                let before = tokens[i + 1..].iter().find(|(_, t, _)| *t != Token::Sep).is_none_or(|(_, t, _)| continues_before(t));
                if inside_parens || after || before {
                    continue;
                }
            }
            _ => {}
        }
        out.push(tokens[i].clone());
    }
    out
}

/// A line ending in one of these tokens continues on the next line.
fn continues_after(token: &Token) -> bool {
    use Token::*;
    matches!(
        token,
        Sep | LParen | LBracket | LBrace | Comma | Colon | Dot | DotDot | Eq | EqEq | NotEq | Lt | LtEq | GtEq | Plus | Minus | Star | Slash | Percent | PlusPlus | AndAnd | OrOr | Bang | Pipe | Bar | Arrow | FatArrow | Attribute(_)
    )
}

/// A line starting with one of these tokens continues the previous line.
/// (`}`, `)` and `]` are here because a separator before them is noise.)
fn continues_before(token: &Token) -> bool {
    use Token::*;
    matches!(token, Pipe | Dot | AndAnd | OrOr | PlusPlus | Else | Bar | Arrow | RBrace | RParen | RBracket)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> String {
        let (tokens, diags) = lex(src, FileId(0));
        assert!(diags.is_empty(), "{diags:?}");
        tokens.iter().map(|(_, t, _)| t.to_string()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn newlines_end_statements_unless_the_line_continues() {
        assert_eq!(kinds("let a = 1\nlet b = a\n  |> f"), "`let` `a` `=` `1` the end of the statement `let` `b` `=` `a` `|>` `f`");
        assert_eq!(kinds("f(\n a,\n b\n)"), "`f` `(` `a` `,` `b` `)`");
        assert_eq!(kinds("{\n a\n\n b\n}"), "`{` `a` the end of the statement `b` `}`");
        assert_eq!(kinds("a +\n b"), "`a` `+` `b`");
        assert_eq!(kinds("if c { a }\nelse { b }"), "`if` `c` `{` `a` `}` `else` `{` `b` `}`");
    }

    #[test]
    fn strings_with_nested_interpolations() {
        let (tokens, diags) = lex(r#""a {f("x {y}")} \{b}""#, FileId(0));
        assert!(diags.is_empty());
        let t: Vec<Token> = tokens.into_iter().map(|t| t.1).collect();
        assert_eq!(
            t,
            vec![
                Token::StrHead("a ".into()),
                Token::Ident("f".into()),
                Token::LParen,
                Token::StrHead("x ".into()),
                Token::Ident("y".into()),
                Token::StrTail("".into()),
                Token::RParen,
                Token::StrTail(" {b}".into()),
            ]
        );
    }

    #[test]
    fn route_paths_are_one_token() {
        assert_eq!(kinds("route GET /todos/:id/*rest {"), "`route` `GET` the path `/todos/:id/*rest` `{`");
    }

    #[test]
    fn errors_do_not_stop_the_lexer() {
        let (tokens, diags) = lex("let s = \"abc\nlet t = 1 # 2", FileId(0));
        let codes: Vec<_> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, vec![Code::UnterminatedString, Code::UnexpectedChar]);
        assert!(tokens.iter().any(|t| t.1 == Token::Int(2)));
    }
}
