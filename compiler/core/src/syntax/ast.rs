//! The syntax tree, exactly as written (no names resolved, no types).
//! Every node carries its [`Span`]; the checker turns this into the typed
//! tree of `check::typed`.

use crate::source::Span;

#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// One parsed file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Module {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Type(TypeDecl),
    Fn(FnDecl),
    Store(StoreDecl),
    Route(RouteDecl),
    Cron(CronDecl),
    Secret(SecretDecl),
    Cors(CorsDecl),
    Test(TestDecl),
}

/// `type Name<A, B> = …`
#[derive(Clone, Debug, PartialEq)]
pub struct TypeDecl {
    pub name: Ident,
    pub params: Vec<Ident>,
    pub body: TypeBody,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TypeBody {
    /// `{ x: Int, y: Int }`
    Record(Vec<FieldDecl>),
    /// `A(Int) | B | C(String, Bool)`. A lone payload-free variant whose name
    /// is a type (`type Id = String`) is an alias; the checker decides.
    Variants(Vec<VariantDecl>),
    /// `type Pairs = List<(Int, Int)>` — any type that cannot be a variant.
    Alias(TypeExpr),
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldDecl {
    /// `@json("content-type")`; the checker allows only `@json`.
    pub attributes: Vec<FieldAttribute>,
    pub name: Ident,
    pub ty: TypeExpr,
    /// `views: Int = 0`: a constant used where the field is not given.
    pub default: Option<Expr>,
}

/// `@name` or `@name("argument")` before a record field.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldAttribute {
    pub name: String,
    pub argument: Option<StrLit>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VariantDecl {
    pub name: Ident,
    pub payload: Vec<TypeExpr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TypeExprKind {
    /// `Int`, `List<T>`, `Result<T, E>`, `T`
    Named { name: Ident, args: Vec<TypeExpr> },
    /// `(A, B)`; `()` is the empty tuple, i.e. `Unit`.
    Tuple(Vec<TypeExpr>),
    /// `fn(A, B) -> C`
    Fn { params: Vec<TypeExpr>, ret: Box<TypeExpr> },
}

/// `T` or `T: Json` in `fn f<T: Json>(…)`.
#[derive(Clone, Debug, PartialEq)]
pub struct GenericParam {
    pub name: Ident,
    pub bounds: Vec<Ident>,
}

/// `@reads`, `@writes` (standard library only).
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FnDecl {
    pub attributes: Vec<Attribute>,
    /// `extern fn`: implemented by the runtime (standard library only).
    pub is_extern: bool,
    pub name: Ident,
    pub generics: Vec<GenericParam>,
    pub params: Vec<Param>,
    pub ret: Option<TypeExpr>,
    /// `None` for `extern fn`.
    pub body: Option<Block>,
    pub span: Span,
}

/// A parameter of a function or lambda; lambdas may omit the type.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub ty: Option<TypeExpr>,
}

/// `store name: T unique(f) index(g, h)`
#[derive(Clone, Debug, PartialEq)]
pub struct StoreDecl {
    pub name: Ident,
    pub ty: TypeExpr,
    pub indexes: Vec<StoreIndex>,
    pub span: Span,
}

/// `unique(f, …)` or `index(f, …)` after a store's type: an index on each
/// field named.
#[derive(Clone, Debug, PartialEq)]
pub struct StoreIndex {
    /// `unique` or `index` (anything else is the checker's error).
    pub kind: Ident,
    pub fields: Vec<Ident>,
    pub span: Span,
}

/// `route METHOD /path/:param/*rest { … }`
#[derive(Clone, Debug, PartialEq)]
pub struct RouteDecl {
    pub method: Ident,
    /// The path as written; the checker splits and validates it.
    pub path: String,
    pub path_span: Span,
    pub body: Block,
    pub span: Span,
}

/// `cron name "schedule" { … }`
#[derive(Clone, Debug, PartialEq)]
pub struct CronDecl {
    pub name: Ident,
    pub schedule: StrLit,
    pub body: Block,
    pub span: Span,
}

/// `secret NAME`
#[derive(Clone, Debug, PartialEq)]
pub struct SecretDecl {
    pub name: Ident,
    pub span: Span,
}

/// `cors "*"` or `cors ["https://app.example.com", …]`: the origins whose
/// pages may call the routes (`listed`: written as a list).
#[derive(Clone, Debug, PartialEq)]
pub struct CorsDecl {
    pub origins: Vec<StrLit>,
    pub listed: bool,
    pub span: Span,
}

/// `test "name" { … }`
#[derive(Clone, Debug, PartialEq)]
pub struct TestDecl {
    pub name: StrLit,
    pub body: Block,
    pub span: Span,
}

/// A plain string literal (no interpolation); `span` includes the quotes.
#[derive(Clone, Debug, PartialEq)]
pub struct StrLit {
    pub value: String,
    pub span: Span,
}

/// `{ stmt; stmt; expr }` — its value is the last statement's, if that is
/// an expression statement, else `()`.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// `let p = e`, `let p: T = e`, `var x = e`
    /// (Rare parts are boxed: the parser moves these nodes often.)
    Let { mutable: bool, pattern: Pattern, ty: Option<Box<TypeExpr>>, value: Expr },
    /// `x = e`
    Assign { target: Ident, value: Expr },
    /// `for p in e { … }`
    For { pattern: Pattern, iter: Expr, body: Block },
    /// `while c { … }`
    While { cond: Expr, body: Block },
    /// `assert e`
    Assert(Expr),
    Expr(Expr),
    /// Produced by error recovery; the error is already reported.
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Bool(bool),
    /// `()`
    Unit,
    /// A string; interpolated parts alternate with literal text.
    Str(Vec<StrPart>),
    /// A variable, function, constructor, store, secret or module name.
    Name(Ident),
    List(Vec<Expr>),
    /// `(a, b)`, at least two elements.
    Tuple(Vec<Expr>),
    /// `Point { x: 1, y: 2 }`; `Point { x, y }` is shorthand for `x: x`.
    Record { name: Ident, fields: Vec<FieldInit> },
    /// `{ ..base, x: 3 }`
    RecordUpdate { base: Box<Expr>, fields: Vec<FieldInit> },
    /// `e.name` — a field, or (before a call) a module member like `String.upper`.
    Field { target: Box<Expr>, name: Ident },
    /// `f(a, b)`
    Call { callee: Box<Expr>, args: Vec<Expr> },
    /// `e.name(a, b)` — a method call, or a module-qualified call such as
    /// `String.upper(s)` (the receiver is then a module name).
    MethodCall { receiver: Box<Expr>, method: Ident, args: Vec<Expr> },
    /// `lhs |> rhs`
    Pipe { lhs: Box<Expr>, rhs: Box<Expr> },
    Unary { op: UnaryOp, operand: Box<Expr> },
    Binary { op: BinaryOp, lhs: Box<Expr>, rhs: Box<Expr> },
    /// `e?`
    Try(Box<Expr>),
    /// `if c { … } else …`; `else_` is a `Block` or another `If` expression.
    If { cond: Box<Expr>, then: Block, else_: Option<Box<Expr>> },
    Match { scrutinee: Box<Expr>, arms: Vec<MatchArm> },
    Block(Block),
    /// `fn(x, y: Int) -> T { … }`
    Lambda { params: Vec<Param>, ret: Option<Box<TypeExpr>>, body: Block },
    Return(Option<Box<Expr>>),
    Break,
    Continue,
    /// Produced by error recovery; the error is already reported.
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StrPart {
    Text(String),
    Expr(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldInit {
    pub name: Ident,
    pub value: Expr,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MatchArm {
    pub pattern: Pattern,
    pub guard: Option<Expr>,
    pub body: Expr,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Concat,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
            BinaryOp::Concat => "++",
            BinaryOp::Eq => "==",
            BinaryOp::NotEq => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::And => "&&",
            BinaryOp::Or => "||",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    pub kind: PatternKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PatternKind {
    /// `_`
    Wildcard,
    /// `x` (a lower-case name)
    Bind(Ident),
    /// `1`, `-1`, `2.5`, `"a"`, `true`, `()`
    Literal(Literal),
    /// `None`, `Some(x)`, `Rect(w, h)` (an upper-case name)
    Constructor { name: Ident, args: Vec<Pattern> },
    /// `(a, b)`
    Tuple(Vec<Pattern>),
    /// `[]`, `[a, b]`, `[x, ..rest]`, `[x, ..]`; `rest` is `Some(None)` for `..`.
    List { items: Vec<Pattern>, rest: Option<Option<Ident>> },
    /// Produced by error recovery.
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    Unit,
}
