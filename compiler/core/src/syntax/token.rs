//! The tokens the parser consumes, after the lexer has resolved strings,
//! route paths and the newline rule.

use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum Token {
    // Keywords
    Type,
    Fn,
    Extern,
    Let,
    Var,
    If,
    Else,
    Match,
    For,
    In,
    While,
    Return,
    Break,
    Continue,
    Store,
    Route,
    Cron,
    Secret,
    Cors,
    Test,
    Assert,
    True,
    False,
    // Names and literals
    /// `lower_case` names: variables, functions, fields, stores.
    Ident(String),
    /// `UpperCase` names: types, constructors, modules, secrets.
    UpperIdent(String),
    Int(i64),
    Float(f64),
    /// A string without interpolation, escapes resolved.
    Str(String),
    /// `"text{` — the text before the first interpolation.
    StrHead(String),
    /// `}text{` — text between two interpolations.
    StrMiddle(String),
    /// `}text"` — the text after the last interpolation.
    StrTail(String),
    /// The path of a route, as written: `/todos/:id/*rest`.
    Path(String),
    /// `@name` before a declaration.
    Attribute(String),
    // Punctuation
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Colon,
    Dot,
    DotDot,
    Eq,
    EqEq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    PlusPlus,
    AndAnd,
    OrOr,
    Bang,
    Pipe,
    Bar,
    Arrow,
    FatArrow,
    Question,
    Underscore,
    /// The end of a statement: a significant newline or a `;`.
    Sep,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Token::Ident(name) | Token::UpperIdent(name) => return write!(f, "`{name}`"),
            Token::Int(n) => return write!(f, "`{n}`"),
            Token::Float(x) => return write!(f, "`{x:?}`"),
            Token::Str(_) | Token::StrHead(_) => "a string",
            Token::StrMiddle(_) | Token::StrTail(_) => "the rest of a string",
            Token::Path(p) => return write!(f, "the path `{p}`"),
            Token::Attribute(a) => return write!(f, "`@{a}`"),
            Token::Sep => "the end of the statement",
            other => return write!(f, "`{}`", other.symbol()),
        };
        f.write_str(s)
    }
}

impl Token {
    /// The source text of a fixed token (keywords and punctuation).
    pub fn symbol(&self) -> &'static str {
        match self {
            Token::Type => "type",
            Token::Fn => "fn",
            Token::Extern => "extern",
            Token::Let => "let",
            Token::Var => "var",
            Token::If => "if",
            Token::Else => "else",
            Token::Match => "match",
            Token::For => "for",
            Token::In => "in",
            Token::While => "while",
            Token::Return => "return",
            Token::Break => "break",
            Token::Continue => "continue",
            Token::Store => "store",
            Token::Route => "route",
            Token::Cron => "cron",
            Token::Secret => "secret",
            Token::Cors => "cors",
            Token::Test => "test",
            Token::Assert => "assert",
            Token::True => "true",
            Token::False => "false",
            Token::LParen => "(",
            Token::RParen => ")",
            Token::LBracket => "[",
            Token::RBracket => "]",
            Token::LBrace => "{",
            Token::RBrace => "}",
            Token::Comma => ",",
            Token::Colon => ":",
            Token::Dot => ".",
            Token::DotDot => "..",
            Token::Eq => "=",
            Token::EqEq => "==",
            Token::NotEq => "!=",
            Token::Lt => "<",
            Token::LtEq => "<=",
            Token::Gt => ">",
            Token::GtEq => ">=",
            Token::Plus => "+",
            Token::Minus => "-",
            Token::Star => "*",
            Token::Slash => "/",
            Token::Percent => "%",
            Token::PlusPlus => "++",
            Token::AndAnd => "&&",
            Token::OrOr => "||",
            Token::Bang => "!",
            Token::Pipe => "|>",
            Token::Bar => "|",
            Token::Arrow => "->",
            Token::FatArrow => "=>",
            Token::Question => "?",
            Token::Underscore => "_",
            Token::Sep => ";",
            _ => "",
        }
    }
}
