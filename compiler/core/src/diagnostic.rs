//! Diagnostics as data: every error the compiler reports is a [`Diagnostic`]
//! with a [`Code`], a title, labelled spans and an optional hint. Rendering
//! (ariadne) is a separate, pure step in [`render`].

use crate::source::{SourceMap, Span};

/// Every diagnostic code the compiler can emit, with a one-line summary.
/// `spec/errors.md` documents each one and `lang-tests/` pins each one with a
/// check-fail test; a test asserts that all three lists agree.
macro_rules! codes {
    ($($variant:ident = $code:literal : $summary:literal,)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

codes! {
    // Lexical
    UnexpectedChar = "E0001": "a character that cannot start any token",
    UnterminatedString = "E0002": "a string literal without its closing quote",
    InvalidEscape = "E0003": "an unknown escape sequence in a string",
    InvalidNumber = "E0004": "a number literal that is malformed or out of range",
    UnterminatedInterpolation = "E0005": "a `{` in a string without its closing `}`",
    // Syntax
    UnexpectedToken = "E0100": "a token the grammar does not allow here",
    UnexpectedEof = "E0101": "the file ends in the middle of a construct",
    InvalidRoutePath = "E0102": "a malformed route path",
    PlainStringRequired = "E0103": "an interpolated string where a plain one is required",
    TooDeep = "E0104": "brackets or expressions nested too deeply",
    // Names
    UnknownName = "E0200": "a name that is not defined",
    UnknownType = "E0201": "a type name that is not defined",
    UnknownField = "E0202": "a field the record type does not have",
    UnknownFunction = "E0203": "a function the module or type does not have",
    DuplicateDefinition = "E0204": "two definitions with the same name",
    DuplicateRoute = "E0205": "two routes with the same method and path",
    AssignToImmutable = "E0206": "assignment to a `let` binding or a parameter",
    UnknownConstructor = "E0207": "a constructor that no enum declares",
    StoreAsValue = "E0208": "a store used other than as the receiver of a store operation",
    MissingField = "E0209": "a record literal without all of its fields",
    DuplicateField = "E0210": "a field given twice",
    TestOnly = "E0211": "a function for tests (`App`, `Time.advance`) used outside a test",
    // Types
    TypeMismatch = "E0300": "a value whose type is not the one expected",
    ArgumentCount = "E0301": "a call with the wrong number of arguments",
    TypeArgumentCount = "E0302": "a type with the wrong number of type arguments",
    NotCallable = "E0303": "a call of something that is not a function",
    CannotInfer = "E0304": "a type the checker cannot infer without an annotation",
    OperatorType = "E0305": "an operator applied to types it does not support",
    InvalidTry = "E0306": "`?` outside a function returning `Result`, or on a non-`Result`",
    NotJson = "E0307": "a value that cannot be JSON-encoded where JSON is needed",
    MissingAnnotation = "E0308": "a function parameter without a type annotation",
    MisplacedControl = "E0309": "`return`, `break` or `continue` where it has no meaning",
    InfiniteType = "E0310": "a type that would have to contain itself",
    NotComparable = "E0311": "functions compared with `==` or ordered",
    UnusedResult = "E0312": "a `Response` or `Result` computed as a statement and not used",
    InvalidDefault = "E0313": "a field default that is not a constant of the field's type",
    // Patterns
    NonExhaustive = "E0400": "a `match` that does not cover every value",
    RefutablePattern = "E0401": "a pattern that can fail where it must always match",
    UnreachableArm = "W0402": "a `match` arm that no value can reach",
    PatternArity = "E0403": "a constructor pattern with the wrong number of fields",
    // Declarations
    InvalidCron = "E0500": "an invalid cron schedule",
    InvalidMethod = "E0501": "a route method other than GET, POST, PUT, PATCH, DELETE",
    DuplicateParam = "E0502": "a route path parameter bound twice",
    NotStorable = "E0503": "a store whose value type cannot be stored",
    InvalidAttribute = "E0504": "an attribute that is unknown or not allowed here",
    InvalidMain = "E0505": "a `main` with parameters or a non-Unit result",
    DuplicateTest = "E0506": "two tests with the same name",
    InvalidExtern = "E0507": "an `extern fn` outside the standard library, or one with a body",
    InvalidCors = "E0508": "a second `cors` declaration, or an origin that is not `scheme://host[:port]`",
    InvalidIndex = "E0509": "a store index that is unknown, repeated, or on a field that cannot be indexed",
    // Code generation (`dlc build`)
    Unsupported = "E0600": "a construct the backend cannot compile yet",
    NothingToRun = "E0601": "an executable built from a program with nothing to run",
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub title: String,
    /// The first label is the primary one: it locates the diagnostic.
    pub labels: Vec<Label>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, title: impl Into<String>) -> Diagnostic {
        Diagnostic { code, severity: Severity::Error, title: title.into(), labels: vec![], hint: None }
    }

    pub fn warning(code: Code, title: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, title) }
    }

    pub fn label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label { span, message: message.into() });
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    pub fn primary_span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.span)
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// "Did you mean" support: the candidate closest to `name`, if close enough.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            let same = ca.eq_ignore_ascii_case(cb);
            row[j + 1] = (prev + usize::from(!same)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Renders diagnostics with ariadne into a string (no IO: callers print it).
pub fn render(diagnostics: &[Diagnostic], sources: &SourceMap, color: bool) -> String {
    use ariadne::{Color, Config, Label as ALabel, Report, ReportKind};
    if diagnostics.is_empty() {
        return String::new();
    }

    let mut cache = ariadne::sources(sources.files().map(|(_, f)| (f.name.clone(), f.text.clone())));
    let mut out = Vec::new();
    for d in diagnostics {
        let kind = match d.severity {
            Severity::Error => ReportKind::Error,
            Severity::Warning => ReportKind::Warning,
        };
        let at = |span: Span| (sources.get(span.file).name.clone(), char_range(sources, span));
        let mut report = Report::build(kind, at(d.primary_span().unwrap_or_default()))
            .with_config(Config::default().with_color(color))
            .with_code(d.code.as_str())
            .with_message(&d.title);
        // The primary label's file first, each file's labels in source
        // order: ariadne starts a new section, headed by the primary
        // label's location, whenever a label goes back up the file.
        let primary = d.primary_span().unwrap_or_default().file;
        let mut labels: Vec<(usize, &Label)> = d.labels.iter().enumerate().collect();
        labels.sort_by_key(|(_, label)| (label.span.file != primary, label.span.file, label.span.start));
        for (i, label) in labels {
            let mut l = ALabel::new(at(label.span)).with_message(&label.message);
            if color {
                l = l.with_color(if i == 0 { Color::Red } else { Color::Blue });
            }
            report = report.with_label(l);
        }
        if let Some(hint) = &d.hint {
            report = report.with_help(hint);
        }
        // Writing into a Vec cannot fail.
        let _ = report.finish().write(&mut cache, &mut out);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// ariadne counts columns in characters; our spans are bytes.
fn char_range(sources: &SourceMap, span: Span) -> std::ops::Range<usize> {
    let text = &sources.get(span.file).text;
    let to_chars = |b: usize| text.get(..b.min(text.len())).map_or(b, |s| s.chars().count());
    let start = to_chars(span.start as usize);
    start..to_chars(span.end as usize).max(start)
}
